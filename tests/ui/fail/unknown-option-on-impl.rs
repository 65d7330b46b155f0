use traced::traced_impl;

struct Cart;

#[traced_impl(sampled)]
impl Cart {
    fn total(&self) -> u32 {
        0
    }
}

fn main() {}
