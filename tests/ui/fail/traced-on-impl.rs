use traced::traced;

struct Cart;

#[traced]
impl Cart {
    fn total(&self) -> u32 {
        0
    }
}

fn main() {}
