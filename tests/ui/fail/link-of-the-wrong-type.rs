use traced::traced;

#[traced(link = id)]
fn handle(id: u64) {}

fn main() {}
