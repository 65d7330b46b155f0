use traced::traced_impl;

struct Cart;

#[traced_impl]
#[traced_impl(kind = client)]
impl Cart {
    fn total(&self) -> u32 {
        0
    }
}

fn main() {}
