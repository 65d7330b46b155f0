use traced::traced;

#[traced]
fn load(#[attr] #[attr("user.id")] id: u64) -> u64 {
    id
}

fn main() {}
