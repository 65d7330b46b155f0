use traced::traced_impl;

#[traced_impl]
fn load() {}

fn main() {}
