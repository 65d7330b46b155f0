use traced::traced;

#[traced(kind = client, kind = server)]
fn load() {}

fn main() {}
