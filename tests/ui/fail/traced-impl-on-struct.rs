use traced::traced_impl;

#[traced_impl]
struct Cart;

fn main() {}
