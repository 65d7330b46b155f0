#![deny(dead_code)]

use traced::traced;

#[traced]
fn never_called() -> u8 {
    1
}

fn main() {}
