//! Which process the engine runs in: how many forks separate it from the
//! process that loaded traced, counted in each child right after fork(2). A
//! pipeline records only in the process that started it: in a forked child
//! it has no export thread.

use std::sync::atomic::{AtomicU32, Ordering};

static FORKS: AtomicU32 = AtomicU32::new(0);

/// Forks between the process that loaded traced and this one.
#[inline]
pub(crate) fn forks() -> u32 {
    FORKS.load(Ordering::Relaxed)
}

/// Counts a fork, in the child: only an atomic, as is safe there.
pub(crate) fn count_fork() {
    FORKS.fetch_add(1, Ordering::Relaxed);
}
