use traced::traced_impl;

struct Cart;

#[traced_impl(name = "cart", root, parent = cx, link = cx)]
impl Cart {
    fn total(&self) -> u32 {
        0
    }
}

fn main() {}
