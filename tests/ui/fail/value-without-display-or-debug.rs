use traced::traced;

struct Opaque;

#[traced(attrs(opaque = Opaque))]
fn in_attrs() {}

#[traced]
fn on_a_parameter(#[attr] opaque: Opaque) {}

#[traced]
fn behind_a_reference(#[attr] opaque: &Opaque) {}

fn main() {}
