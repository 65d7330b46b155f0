//! The one memory budget of a pipeline: bytes of finished spans waiting for
//! export beyond the per-thread lanes, and of batches the exporters have not
//! finished with. Whatever would take the total over
//! it is dropped (and counted) where it is queued. And what things weigh
//! against it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use opentelemetry::trace::{Event, Link};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::trace::SpanData;

/// Bytes that may wait for export, shared by the queue and the batches in
/// flight.
#[derive(Debug)]
pub(crate) struct MemoryBudget {
    limit: usize,
    used: AtomicUsize,
}

impl MemoryBudget {
    pub(crate) fn new(limit: usize) -> Arc<MemoryBudget> {
        Arc::new(MemoryBudget {
            limit,
            used: AtomicUsize::new(0),
        })
    }

    /// The most it holds, in bytes.
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// Takes `bytes` when they fit; `false` when they would take the total
    /// over the limit.
    pub(crate) fn try_take(&self, bytes: usize) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|total| *total <= self.limit)
            })
            .is_ok()
    }

    /// Counts `bytes` that are held already, fitting or not (a batch leaving
    /// for the exporters): what is queued next gets less room.
    pub(crate) fn take_anyway(&self, bytes: usize) {
        self.used.fetch_add(bytes, Ordering::AcqRel);
    }

    /// Gives back `bytes` taken before.
    pub(crate) fn give_back(&self, bytes: usize) {
        self.used.fetch_sub(bytes, Ordering::AcqRel);
    }

    /// Bytes taken now.
    #[cfg(test)]
    pub(crate) fn used(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }
}

/// Bytes held against a budget until dropped: a batch in flight, shared by
/// the exports of every sink it goes to.
#[derive(Debug)]
pub(crate) struct Reservation {
    budget: Arc<MemoryBudget>,
    bytes: usize,
}

impl Reservation {
    /// Takes `bytes` from `budget`, fitting or not, until dropped.
    pub(crate) fn new(budget: &Arc<MemoryBudget>, bytes: usize) -> Reservation {
        budget.take_anyway(bytes);
        Reservation::adopt(budget, bytes)
    }

    /// Holds `bytes` taken from `budget` before, until dropped.
    pub(crate) fn adopt(budget: &Arc<MemoryBudget>, bytes: usize) -> Reservation {
        Reservation {
            budget: Arc::clone(budget),
            bytes,
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.give_back(self.bytes);
    }
}

/// What a converted span keeps in memory, roughly: itself, its vectors and
/// the text of its name and string attributes.
pub(crate) fn span_data_footprint(span: &SpanData) -> usize {
    let attributes = |list: &[KeyValue], capacity: usize| {
        capacity * size_of::<KeyValue>()
            + list
                .iter()
                .map(|kv| match &kv.value {
                    Value::String(text) => text.as_str().len(),
                    _ => 0,
                })
                .sum::<usize>()
    };
    let events: usize = span
        .events
        .iter()
        .map(|event| {
            size_of::<Event>() + attributes(&event.attributes, event.attributes.capacity())
        })
        .sum();
    size_of::<SpanData>()
        + span.name.len()
        + attributes(&span.attributes, span.attributes.capacity())
        + events
        + span.links.links.capacity() * size_of::<Link>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_does_not_fit_is_refused_and_reservations_crowd_it_out() {
        let budget = MemoryBudget::new(100);
        assert!(budget.try_take(60));
        assert!(!budget.try_take(41));
        assert!(budget.try_take(40));
        budget.give_back(100);
        let in_flight = Reservation::new(&budget, 150);
        assert!(!budget.try_take(1), "a batch in flight counts");
        drop(in_flight);
        assert_eq!(budget.used(), 0);
        assert!(budget.try_take(100));
    }
}
