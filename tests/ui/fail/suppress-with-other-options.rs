use traced::traced;

#[traced(suppress, kind = server, attrs(path = "/health"))]
fn health() {}

fn main() {}
