use traced::traced;

#[traced(ret)]
fn unit() {}

#[traced(ret)]
async fn async_unit() -> () {}

fn main() {}
