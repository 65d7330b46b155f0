//! Trace and span ids from a per-thread generator: wyrand, one multiply per
//! 64 bits, seeded per thread from the standard library's random hasher keys,
//! the thread, the process and the time. Trace ids are random in all 128
//! bits, so roots carry W3C Level 2's `random` flag. A forked child reseeds
//! the thread that forked, whose state is a copy of its parent's.

use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

use opentelemetry::trace::{SpanId, TraceId};

thread_local! {
    static STATE: Cell<u64> = const { Cell::new(0) };
}

/// `N` random numbers from this thread's generator.
#[inline]
fn next<const N: usize>() -> [u64; N] {
    let step = |state: &Cell<u64>| {
        let mut s = state.get();
        if s == 0 {
            s = seed();
        }
        let numbers = std::array::from_fn(|_| {
            s = s.wrapping_add(0xa076_1d64_78bd_642f);
            let t = u128::from(s) * u128::from(s ^ 0xe703_7ed1_a0b4_28db);
            (t >> 64) as u64 ^ t as u64
        });
        state.set(s);
        numbers
    };
    // During thread teardown the thread-local may be gone: a fresh seed each
    // time is slower but still random.
    STATE
        .try_with(step)
        .unwrap_or_else(|_| step(&Cell::new(seed())))
}

#[cold]
fn seed() -> u64 {
    let thread = std::thread::current().id();
    let process = std::process::id();
    RandomState::new().hash_one((thread, process, std::time::Instant::now())) | 1
}

/// This thread's generator starts anew at its next id: in a forked child,
/// whose copy of the parent's state would repeat the parent's ids. Only
/// stores to a thread-local, which is safe right after fork(2).
pub(crate) fn reseed() {
    let _ = STATE.try_with(|state| state.set(0));
}

/// A new, valid span id.
#[inline]
pub(crate) fn span_id() -> SpanId {
    loop {
        let [id] = next();
        if id != 0 {
            return SpanId::from(id);
        }
    }
}

/// A new, valid trace id and the id of its first span.
#[inline]
pub(crate) fn root_ids() -> (TraceId, SpanId) {
    loop {
        let [high, low, span] = next();
        if (high | low) != 0 && span != 0 {
            return (
                TraceId::from(u128::from(high) << 64 | u128::from(low)),
                SpanId::from(span),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn ids_are_valid_and_distinct_across_threads() {
        let ids = |_| {
            (0..10_000)
                .map(|_| (root_ids().0, span_id()))
                .collect::<Vec<_>>()
        };
        let threads: Vec<_> = (0..4).map(|n| std::thread::spawn(move || ids(n))).collect();
        let mut traces = HashSet::new();
        let mut spans = HashSet::new();
        for thread in threads {
            for (trace, span) in thread.join().unwrap() {
                assert_ne!(trace, TraceId::INVALID);
                assert_ne!(span, SpanId::INVALID);
                traces.insert(trace);
                spans.insert(span);
            }
        }
        assert_eq!(traces.len(), 40_000);
        assert_eq!(spans.len(), 40_000);
    }
}
