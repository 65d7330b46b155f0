use traced::traced;

#[traced(attrs(id = 1, "id" = 2))]
fn twice_in_attrs() {}

#[traced(attrs(user = 1))]
fn in_attrs_and_on_a_parameter(#[attr] user: &str) -> usize {
    user.len()
}

fn main() {}
