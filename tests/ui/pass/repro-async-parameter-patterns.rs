#![deny(unused_variables, unused_mut)]

use traced::traced;

struct Path<T>(T);

/// Names a pattern binds are visible to `attrs(..)`, sync and async.
#[traced(attrs(order.id = id))]
async fn handler(Path(id): Path<u64>) -> u64 {
    id
}

#[traced(attrs(order.id = id))]
fn sync_handler(Path(id): Path<u64>) -> u64 {
    id
}

#[traced]
async fn ref_mut_binding((ref mut total, step): (u64, u64)) -> u64 {
    *total += step;
    *total
}

#[traced]
async fn cfg_removed(#[cfg(any())] gone: u64, kept: u64) -> u64 {
    kept
}

#[traced]
async fn lint_on_a_parameter(#[allow(unused_variables)] ignored: u64, mut count: u64) -> u64 {
    count += 1;
    count
}

fn main() {
    drop(handler(Path(1)));
    assert_eq!(sync_handler(Path(2)), 2);
    drop(ref_mut_binding((1, 2)));
    drop(cfg_removed(3));
    drop(lint_on_a_parameter(4, 5));
}
