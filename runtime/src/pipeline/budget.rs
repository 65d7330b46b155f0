//! The one memory budget of a pipeline: bytes of finished spans and log
//! records waiting for export beyond the per-thread lanes, and of batches
//! the exporters have not finished with. Whatever would take the total over
//! it is dropped (and counted) where it is queued. And what things weigh
//! against it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use opentelemetry::logs::AnyValue;
use opentelemetry::trace::{Event, Link};
use opentelemetry::{InstrumentationScope, KeyValue, Value};
use opentelemetry_sdk::logs::SdkLogRecord;
use opentelemetry_sdk::trace::SpanData;

/// Bytes that may wait for export, shared by every signal's queue and the
/// batches in flight.
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

/// What a queued log record and its scope keep in memory, roughly: the
/// record, the scope, and the text and bytes of the body, the attributes and
/// the scope's name.
#[cfg_attr(not(feature = "otlp"), allow(dead_code))]
pub(crate) fn log_footprint(record: &SdkLogRecord, scope: &InstrumentationScope) -> usize {
    size_of::<SdkLogRecord>()
        + size_of::<InstrumentationScope>()
        + record.body().map_or(0, any_value_bytes)
        + record
            .attributes_iter()
            .map(|(key, value)| key.as_str().len() + any_value_bytes(value))
            .sum::<usize>()
        + scope.name().len()
        + scope.attributes().count() * size_of::<KeyValue>()
}

#[cfg_attr(not(feature = "otlp"), allow(dead_code))]
fn any_value_bytes(value: &AnyValue) -> usize {
    match value {
        AnyValue::String(text) => text.as_str().len(),
        AnyValue::Bytes(bytes) => bytes.len(),
        AnyValue::ListAny(values) => values
            .iter()
            .map(|value| size_of::<AnyValue>() + any_value_bytes(value))
            .sum(),
        AnyValue::Map(map) => map
            .iter()
            .map(|(key, value)| size_of::<AnyValue>() + key.as_str().len() + any_value_bytes(value))
            .sum(),
        _ => 0,
    }
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
