#![deny(warnings)]

use traced::traced;

/// Adds one. Docs stay on the function.
#[traced]
#[must_use]
pub fn documented(r#type: u32) -> u32 {
    r#type + 1
}

/// # Safety
/// `ptr` must be valid for reads.
#[traced]
pub unsafe fn read(ptr: *const u32) -> u32 {
    // SAFETY: the caller promises `ptr` is valid.
    unsafe { *ptr }
}

#[traced]
pub extern "C" fn callback(code: i32) -> i32 {
    code * 2
}

#[traced]
#[cfg(any())]
fn compiled_out() -> u32 {
    this_does_not_exist()
}

#[traced]
#[cfg(all())]
fn compiled_in() -> u32 {
    1
}

#[traced(attrs(r#type))]
fn r#match(#[attr] r#in: &str, r#type: u8) -> usize {
    r#in.len() + usize::from(r#type)
}

#[traced]
#[inline]
#[allow(clippy::needless_pass_by_value)]
pub(crate) fn with_other_attributes(value: String) -> usize {
    value.len()
}

fn main() {
    let value = 41;
    assert_eq!(documented(1), 2);
    // SAFETY: `value` lives for the whole call.
    assert_eq!(unsafe { read(&value) }, 41);
    assert_eq!(callback(2), 4);
    assert_eq!(compiled_in(), 1);
    assert_eq!(r#match("ab", 1), 3);
    assert_eq!(with_other_attributes(String::from("abc")), 3);
    let as_c: extern "C" fn(i32) -> i32 = callback;
    assert_eq!(as_c(1), 2);
}
