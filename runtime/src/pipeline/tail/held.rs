//! The spans of undecided traces, by trace id, with what each has shown so
//! far and what they weigh. Traces come out in arrival order (for the memory
//! budget and the maximum hold) or in the order they settle (a local root
//! ended, plus the grace).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use opentelemetry::trace::{Event, Link, TraceId};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::trace::SpanData;

use super::summary::{Summary, is_local_root};

#[derive(Debug, Default)]
pub(super) struct Held {
    traces: HashMap<TraceId, Trace>,
    /// By arrival number.
    arrivals: BTreeMap<u64, TraceId>,
    /// By the time a trace settles, then arrival number.
    settling: BTreeMap<(Instant, u64), TraceId>,
    arrived: u64,
    bytes: usize,
}

/// One undecided trace.
#[derive(Debug)]
pub(super) struct Trace {
    pub(super) trace_id: TraceId,
    pub(super) spans: Vec<SpanData>,
    pub(super) summary: Summary,
    arrival: u64,
    first_seen: Instant,
    /// `grace` after its last local root was seen to end.
    settles_at: Option<Instant>,
    bytes: usize,
}

impl Trace {
    /// Whether no local root of it has ended yet.
    pub(super) fn root_running(&self) -> bool {
        self.settles_at.is_none()
    }
}

impl Held {
    pub(super) fn add(&mut self, span: SpanData, now: Instant, grace: Duration) {
        let trace_id = span.span_context.trace_id();
        let bytes = footprint(&span);
        let Held {
            traces,
            arrivals,
            settling,
            arrived,
            ..
        } = self;
        let trace = traces.entry(trace_id).or_insert_with(|| {
            *arrived += 1;
            arrivals.insert(*arrived, trace_id);
            Trace {
                trace_id,
                spans: Vec::new(),
                summary: Summary::default(),
                arrival: *arrived,
                first_seen: now,
                settles_at: None,
                bytes: 0,
            }
        });
        trace.summary.add(&span);
        if is_local_root(&span) {
            let settles_at = now + grace;
            if let Some(before) = trace.settles_at.replace(settles_at) {
                settling.remove(&(before, trace.arrival));
            }
            settling.insert((settles_at, trace.arrival), trace_id);
        }
        trace.spans.push(span);
        trace.bytes += bytes;
        self.bytes += bytes;
    }

    /// Bytes the held spans take, roughly.
    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }

    /// The trace due first at `now`, if any: settled, or held for
    /// `max_hold`.
    pub(super) fn take_due(&mut self, now: Instant, max_hold: Duration) -> Option<Trace> {
        let settled = self
            .settling
            .first_key_value()
            .filter(|((at, _), _)| *at <= now)
            .map(|(_, trace_id)| *trace_id);
        let held_too_long = || {
            self.arrivals
                .first_key_value()
                .map(|(_, trace_id)| *trace_id)
                .filter(|trace_id| {
                    self.traces
                        .get(trace_id)
                        .is_some_and(|trace| trace.first_seen + max_hold <= now)
                })
        };
        let trace_id = settled.or_else(held_too_long)?;
        self.remove(trace_id)
    }

    /// The trace that arrived first.
    pub(super) fn take_oldest(&mut self) -> Option<Trace> {
        let trace_id = *self.arrivals.first_key_value()?.1;
        self.remove(trace_id)
    }

    /// When the next trace falls due, if any is held.
    pub(super) fn next_due(&self, max_hold: Duration) -> Option<Instant> {
        let settles = self.settling.first_key_value().map(|((at, _), _)| *at);
        let oldest = self
            .arrivals
            .first_key_value()
            .and_then(|(_, trace_id)| self.traces.get(trace_id))
            .map(|trace| trace.first_seen + max_hold);
        settles.into_iter().chain(oldest).min()
    }

    fn remove(&mut self, trace_id: TraceId) -> Option<Trace> {
        let trace = self.traces.remove(&trace_id)?;
        self.arrivals.remove(&trace.arrival);
        if let Some(at) = trace.settles_at {
            self.settling.remove(&(at, trace.arrival));
        }
        self.bytes -= trace.bytes;
        Some(trace)
    }
}

/// What a span keeps in memory, roughly: its `SpanData`, its vectors, and
/// the text of its string attributes.
fn footprint(span: &SpanData) -> usize {
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
    use std::borrow::Cow;
    use std::time::SystemTime;

    use opentelemetry::InstrumentationScope;
    use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceState};
    use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};

    use super::*;

    fn span(trace: u128, id: u64, parent: u64) -> SpanData {
        let now = SystemTime::now();
        SpanData {
            span_context: SpanContext::new(
                TraceId::from(trace),
                SpanId::from(id),
                TraceFlags::SAMPLED,
                false,
                TraceState::NONE,
            ),
            parent_span_id: SpanId::from(parent),
            parent_span_is_remote: false,
            span_kind: SpanKind::Internal,
            name: Cow::Borrowed("work"),
            start_time: now,
            end_time: now,
            attributes: Vec::new(),
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: Status::Unset,
            instrumentation_scope: InstrumentationScope::default(),
        }
    }

    const GRACE: Duration = Duration::from_secs(1);
    const MAX_HOLD: Duration = Duration::from_secs(30);

    #[test]
    fn a_trace_settles_grace_after_its_last_local_root() {
        let mut held = Held::default();
        let start = Instant::now();
        held.add(span(1, 2, 1), start, GRACE);
        assert_eq!(held.next_due(MAX_HOLD), Some(start + MAX_HOLD));
        held.add(span(1, 1, 0), start, GRACE);
        assert_eq!(held.next_due(MAX_HOLD), Some(start + GRACE));
        let later = start + Duration::from_millis(500);
        held.add(span(1, 3, 0), later, GRACE);
        assert!(held.take_due(start + GRACE, MAX_HOLD).is_none());
        let trace = held.take_due(later + GRACE, MAX_HOLD).expect("settled");
        assert_eq!(trace.spans.len(), 3);
        assert!(!trace.root_running());
        assert_eq!(held.bytes(), 0);
        assert_eq!(held.next_due(MAX_HOLD), None);
    }

    #[test]
    fn a_trace_whose_root_never_ends_is_due_after_the_maximum_hold() {
        let mut held = Held::default();
        let start = Instant::now();
        held.add(span(1, 2, 1), start, GRACE);
        assert!(held.take_due(start + MAX_HOLD - GRACE, MAX_HOLD).is_none());
        let trace = held
            .take_due(start + MAX_HOLD, MAX_HOLD)
            .expect("held too long");
        assert!(trace.root_running());
    }

    #[test]
    fn traces_come_out_oldest_first_and_their_bytes_with_them() {
        let mut held = Held::default();
        let now = Instant::now();
        for trace in 1..=3 {
            held.add(span(trace, 1, 0), now, GRACE);
            held.add(span(trace, 2, 1), now, GRACE);
        }
        let each = held.bytes() / 3;
        assert!(each >= 2 * size_of::<SpanData>(), "{each}");
        let order: Vec<TraceId> = std::iter::from_fn(|| held.take_oldest())
            .map(|trace| trace.trace_id)
            .collect();
        assert_eq!(order, [1, 2, 3].map(TraceId::from));
        assert_eq!(held.bytes(), 0);
    }
}
