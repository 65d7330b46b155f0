use traced::traced;

#[traced(kind = rpc)]
fn load() {}

fn main() {}
