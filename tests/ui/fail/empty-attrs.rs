use traced::traced;

#[traced(attrs())]
fn load() {}

fn main() {}
