use traced::traced_impl;

struct Cart {
    items: Vec<u32>,
}

#[traced_impl(kind = client)]
impl Cart {
    fn with_capacity(#[attr] capacity: usize) -> Cart {
        Cart {
            items: Vec::with_capacity(capacity),
        }
    }

    fn len(&self) -> usize {
        self.items.len()
    }
}

fn main() {
    let _: usize = Cart::with_capacity(4).len();
}
