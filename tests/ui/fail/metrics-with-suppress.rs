use traced::traced;

#[traced(suppress, metrics = false)]
fn health() {}

fn main() {}
