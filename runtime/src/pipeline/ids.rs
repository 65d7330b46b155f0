//! Trace and span ids from a per-thread generator: wyrand, one multiply per
//! 64 bits, seeded per thread from the standard library's random hasher keys.
//! Trace ids are random in all 128 bits, so roots carry W3C Level 2's
//! `random` flag.

use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

use opentelemetry::trace::{SpanId, TraceId};

thread_local! {
    static STATE: Cell<u64> = const { Cell::new(0) };
}

#[inline]
fn next() -> u64 {
    let step = |state: &Cell<u64>| {
        let mut s = state.get();
        if s == 0 {
            s = seed();
        }
        s = s.wrapping_add(0xa076_1d64_78bd_642f);
        state.set(s);
        let t = u128::from(s) * u128::from(s ^ 0xe703_7ed1_a0b4_28db);
        (t >> 64) as u64 ^ t as u64
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
    RandomState::new().hash_one((thread, std::time::Instant::now())) | 1
}

/// A new, valid span id.
#[inline]
pub(crate) fn span_id() -> SpanId {
    loop {
        let id = next();
        if id != 0 {
            return SpanId::from(id);
        }
    }
}

/// A new, valid trace id.
#[inline]
pub(crate) fn trace_id() -> TraceId {
    loop {
        let id = u128::from(next()) << 64 | u128::from(next());
        if id != 0 {
            return TraceId::from(id);
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
                .map(|_| (trace_id(), span_id()))
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
