use traced::traced_impl;

struct Health;

#[traced_impl(suppress)]
impl Health {
    #[traced(kind = server)]
    fn check(&self) -> bool {
        true
    }
}

fn main() {}
