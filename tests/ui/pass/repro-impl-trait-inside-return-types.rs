use std::fmt::{Debug, Display};
use std::future::Future;

use traced::traced;

#[derive(Debug)]
struct DebugOnly;

#[traced]
fn debug_only_error(fail: bool) -> Result<impl Display, DebugOnly> {
    if fail {
        return Err(DebugOnly);
    }
    Ok(1)
}

#[traced]
async fn async_debug_only_error(fail: bool) -> Result<impl Display, DebugOnly> {
    if fail {
        return Err(DebugOnly);
    }
    Ok("ok")
}

#[traced]
fn nested(items: &[u8]) -> Option<(impl Iterator<Item = &u8>, impl Debug)> {
    Some((items.iter(), items.len()))
}

#[traced]
fn unpin_future() -> impl Future<Output = u8> + Unpin {
    std::future::ready(1)
}

fn main() {
    assert!(debug_only_error(true).is_err());
    drop(async_debug_only_error(false));
    assert_eq!(nested(&[1, 2]).map(|(items, _)| items.count()), Some(2));
    drop(unpin_future());
}
