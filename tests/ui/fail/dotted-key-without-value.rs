use traced::traced;

#[traced(attrs(db.system.name))]
fn load() {}

fn main() {}
