use traced::traced;

#[traced]
fn name_value(#[attr = "user.id"] id: u64) -> u64 {
    id
}

#[traced]
fn ident_key(#[attr(user_id)] id: u64) -> u64 {
    id
}

#[traced]
fn empty_key(#[attr("")] id: u64) -> u64 {
    id
}

fn main() {}
