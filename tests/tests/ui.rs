//! Compile-time behaviour of the macros: every mistake is a precise error
//! under the offending tokens (`ui/fail`), every signature shape compiles and
//! runs (`ui/pass`). Bless with `TRYBUILD=overwrite` and review the diff.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("ui/pass/*.rs");
    cases.compile_fail("ui/fail/*.rs");
}
