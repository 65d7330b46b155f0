use traced::traced;

#[traced(metrics = "off")]
fn health() {}

#[traced(metrics = no)]
fn ready() {}

fn main() {}
