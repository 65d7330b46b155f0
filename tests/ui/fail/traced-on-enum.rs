use traced::traced;

#[traced]
enum State {
    Open,
}

fn main() {}
