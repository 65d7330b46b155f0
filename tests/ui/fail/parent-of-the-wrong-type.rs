use traced::traced;

#[traced(parent = id)]
fn handle(id: u64) {}

fn main() {}
