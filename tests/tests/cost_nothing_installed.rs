//! With no tracer provider installed (a library annotated with `#[traced]` in
//! an application that never set tracing up), a traced call allocates nothing
//! and evaluates no attribute expression. This binary never installs one.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};

use traced::traced;
use traced_tests::alloc::{CountingAllocator, allocations};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

static EVALUATED: AtomicUsize = AtomicUsize::new(0);

fn side_effect() -> u64 {
    EVALUATED.fetch_add(1, Ordering::SeqCst);
    1
}

#[traced(kind = client, attrs(probe = side_effect(), name = format!("{n}")))]
fn work(#[attr] n: u64) -> Result<u64, &'static str> {
    if n == 0 { Err("zero") } else { Ok(n) }
}

#[traced(ret, attrs(probe = side_effect()))]
async fn work_async(n: u64) -> u64 {
    n + 1
}

fn poll_once<F: Future>(future: F) -> Poll<F::Output> {
    let mut future = pin!(future);
    future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
}

#[test]
fn nothing_installed_costs_no_allocation_and_no_evaluation() {
    // The first call finds out that nothing is installed; the first future
    // looks at the caller's context, which sets up this thread's context
    // stack once.
    let _ = work(1);
    let _ = poll_once(work_async(1));
    let (sum, allocated) = allocations(|| {
        let mut sum = 0;
        for n in 0..1_000 {
            sum += work(n).unwrap_or(0);
            if let Poll::Ready(value) = poll_once(work_async(n)) {
                sum += value;
            }
        }
        sum
    });
    assert_eq!(sum, 2 * (0..1_000).sum::<u64>() + 1_000);
    assert_eq!(
        allocated, 0,
        "traced calls allocated with no provider installed"
    );
    assert_eq!(
        EVALUATED.load(Ordering::SeqCst),
        0,
        "attribute expressions ran"
    );
}
