use traced::traced_impl;

struct Cart;

#[traced_impl]
impl Cart {
    #[traced(kind = client)]
    #[untraced]
    fn total(&self) -> u32 {
        0
    }
}

fn main() {}
