use traced::traced;

#[traced]
trait Store {
    fn load(&self);
}

fn main() {}
