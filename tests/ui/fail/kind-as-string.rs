use traced::traced;

#[traced(kind = "client")]
fn load() {}

fn main() {}
