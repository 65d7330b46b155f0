//! The edition 2021 limitation, pinned: if it is ever lifted, this fails and
//! the crate docs and README must change with it.

#[test]
fn ui() {
    trybuild::TestCases::new().compile_fail("ui/*.rs");
}
