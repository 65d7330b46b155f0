use traced::traced;

trait Store {
    #[traced]
    fn load(&self);
}

fn main() {}
