use traced::traced;

const NAME: &str = "load";

#[traced(name = NAME)]
fn load() {}

fn main() {}
