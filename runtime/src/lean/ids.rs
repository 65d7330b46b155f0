//! Trace and span ids from a per-thread generator: no lock, no syscall.

use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

use opentelemetry::trace::{SpanId, TraceId};

thread_local! {
    static STATE: Cell<u64> = Cell::new(seed());
}

/// A seed that differs per thread and per process: `RandomState` carries
/// per-process random keys and advances them per instance.
fn seed() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(std::process::id().into());
    hasher.finish() | 1
}

/// splitmix64: a full-period 64-bit sequence with good mixing, enough for ids
/// (which need to be unique, not secret).
#[inline]
fn next() -> u64 {
    STATE.with(|state| {
        let current = state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        state.set(current);
        let mut z = current;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    })
}

#[inline]
pub(crate) fn span_id() -> SpanId {
    loop {
        let id = next();
        if id != 0 {
            return SpanId::from(id);
        }
    }
}

#[inline]
pub(crate) fn trace_id() -> TraceId {
    loop {
        let id = (u128::from(next()) << 64) | u128::from(next());
        if id != 0 {
            return TraceId::from(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_valid_and_distinct() {
        let spans: std::collections::HashSet<_> = (0..10_000).map(|_| span_id()).collect();
        assert_eq!(spans.len(), 10_000);
        assert!(!spans.contains(&SpanId::INVALID));
        let traces: std::collections::HashSet<_> = (0..10_000).map(|_| trace_id()).collect();
        assert_eq!(traces.len(), 10_000);
    }

    #[test]
    fn threads_draw_different_ids() {
        let here = span_id();
        let there = std::thread::spawn(span_id).join().unwrap();
        assert_ne!(here, there);
    }
}
