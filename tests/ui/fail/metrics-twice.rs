use traced::traced_impl;

struct Probe;

#[traced_impl(metrics = false)]
impl Probe {
    #[traced(metrics = true, metrics = false)]
    fn check(&self) {}
}

fn main() {}
