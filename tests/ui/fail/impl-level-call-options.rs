use traced::traced_impl;

struct Cart;

#[traced_impl(name = "cart", root, parent = traced::opentelemetry::Context::current(), link = traced::opentelemetry::Context::current())]
impl Cart {
    fn total(&self) -> u32 {
        0
    }
}

fn main() {}
