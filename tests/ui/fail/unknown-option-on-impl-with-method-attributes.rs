use traced::traced_impl;

struct Cart;

#[traced_impl(sampled)]
impl Cart {
    #[traced(kind = client)]
    fn total(&self, #[attr] discount: u32) -> u32 {
        discount
    }

    #[untraced]
    fn clear(&self) {}
}

fn main() {}
