use traced::traced;

#[traced]
fn skip(#[attr] _: (u32, u32)) {}

fn main() {}
