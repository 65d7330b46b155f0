use traced::{traced_impl, untraced};

struct Cart;

#[traced_impl]
impl Cart {
    #[untraced(reason = "hot")]
    fn total(&self) -> u32 {
        0
    }
}

#[untraced(always)]
fn free() {}

fn main() {}
