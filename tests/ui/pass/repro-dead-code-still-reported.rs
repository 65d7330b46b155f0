#![deny(unfulfilled_lint_expectations)]

use traced::traced;

#[expect(dead_code)]
#[traced]
fn never_called() -> u8 {
    1
}

#[expect(dead_code)]
#[traced]
async fn never_awaited() {}

fn main() {}
