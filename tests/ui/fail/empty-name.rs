use traced::traced;

#[traced(name = "  ")]
fn load() {}

fn main() {}
