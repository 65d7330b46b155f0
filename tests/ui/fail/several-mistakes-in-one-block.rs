use traced::traced_impl;

struct Cart {
    items: Vec<u32>,
}

#[traced_impl(kind = client)]
impl Cart {
    #[traced(kind = rpc)]
    fn len(&self) -> usize {
        self.items.len()
    }

    const fn empty() -> Cart {
        Cart { items: Vec::new() }
    }

    const fn capacity(&self) -> usize {
        8
    }

    #[untraced(please)]
    fn first(&self) -> Option<&u32> {
        self.items.first()
    }

    fn area(&self, #[attr("size")] (width, height): (u32, u32)) -> u32 {
        width * height
    }

    #[traced(ret)]
    fn clear(&mut self) {
        self.items.clear();
    }

    // Still traced and type-checked: the block is emitted despite the errors.
    fn total(&self) -> u32 {
        self.items.iter().sum()
    }
}

fn main() {
    let cart = Cart::empty();
    let _: u32 = cart.total();
    let _: usize = cart.len();
}
