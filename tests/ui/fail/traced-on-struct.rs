use traced::traced;

#[traced]
struct Cart;

fn main() {}
