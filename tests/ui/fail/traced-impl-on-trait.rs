use traced::traced_impl;

#[traced_impl]
trait Store {
    fn load(&self);
}

fn main() {}
