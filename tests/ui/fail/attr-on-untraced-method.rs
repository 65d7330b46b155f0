use traced::traced_impl;

struct Cart;

#[traced_impl]
impl Cart {
    #[untraced]
    fn item(&self, #[attr] index: usize) -> usize {
        index
    }
}

fn main() {}
