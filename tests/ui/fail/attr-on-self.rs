use traced::traced;

struct Cart;

impl Cart {
    #[traced]
    fn total(#[attr] &self) -> u32 {
        0
    }
}

fn main() {}
