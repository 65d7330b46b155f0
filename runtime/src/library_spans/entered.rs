//! The OpenTelemetry contexts of the `tracing` spans entered on this thread:
//! entering a bridged span attaches its context (so `Context::current()`,
//! `#[traced]` functions, propagators and log records see it), exiting
//! detaches it. A `ContextGuard` cannot leave its thread, and neither can a
//! `tracing` span's entry, so each thread keeps its own stack.

use std::cell::RefCell;

use opentelemetry::{Context, ContextGuard};
use tracing::span::Id;

thread_local! {
    static ENTERED: RefCell<Vec<(u64, ContextGuard)>> = const { RefCell::new(Vec::new()) };
}

/// Makes `cx` current until the span `id` is exited on this thread.
#[inline]
pub(super) fn enter(id: &Id, cx: &Context) {
    let guard = cx.clone().attach();
    let entry = (id.into_u64(), guard);
    // While the thread's locals are going away there is nowhere to keep it,
    // and the context is detached at once.
    let _ = ENTERED.try_with(move |entered| entered.borrow_mut().push(entry));
}

/// Detaches what entering `id` last attached on this thread. Exits mirror
/// entries, so it is almost always the top of the stack.
#[inline]
pub(super) fn exit(id: &Id) {
    let id = id.into_u64();
    let guard = ENTERED
        .try_with(|entered| {
            let mut entered = entered.borrow_mut();
            let at = entered.iter().rposition(|(entered, _)| *entered == id)?;
            Some(entered.remove(at).1)
        })
        .ok()
        .flatten();
    // Dropped outside the borrow: detaching may drop the last handle of a
    // context, and with it code that runs anything.
    drop(guard);
}
