use traced::traced;

#[traced(nmae = "load")]
fn load() {}

fn main() {}
