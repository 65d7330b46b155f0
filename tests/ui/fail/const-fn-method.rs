use traced::traced_impl;

struct Cart;

#[traced_impl]
impl Cart {
    const fn empty() -> Cart {
        Cart
    }

    const fn total(&self) -> u32 {
        0
    }
}

fn main() {}
