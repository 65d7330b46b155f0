//! The spans of undecided traces, with what each has shown so far and what
//! they weigh. Each trace has a slot in a slab, found by its trace id; the
//! slots are linked in two lists, by arrival (for the memory budget and the
//! maximum hold) and by the time they settle (a local root ended, plus the
//! grace, the same for every trace: a trace whose root ends moves to the
//! back). Taking a trace out of either list is O(1), with no search.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::time::{Duration, Instant};

use opentelemetry::trace::TraceId;

use super::hash::TraceIdHash;
use super::summary::{Facts, Summary};
use super::{HeldSpan, Spans};
use crate::pipeline::budget::span_data_footprint;

/// Span lists kept for reuse at most, and the longest kept.
const SPARE_LISTS: usize = 4096;
const SPARE_CAPACITY: usize = 64;

/// What holding a trace costs besides its spans: its slot, and its entry in
/// the index (key, slot, control byte, load-factor slack).
const PER_TRACE: usize = size_of::<Slot>() + 2 * (size_of::<(TraceId, u32)>() + 1);

const NONE: u32 = u32::MAX;

#[derive(Debug, Default)]
pub(super) struct Held {
    index: HashMap<TraceId, u32, TraceIdHash>,
    slots: Vec<Slot>,
    free: Vec<u32>,
    arrivals: List,
    settling: List,
    bytes: usize,
    /// Emptied span lists of decided traces, for new traces to reuse.
    spare: Vec<Spans>,
}

/// One undecided trace.
#[derive(Debug)]
pub(super) struct Trace {
    pub(super) trace_id: TraceId,
    pub(super) spans: Spans,
    pub(super) summary: Summary,
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

    /// Whether it is a part of a trace decided before (an orphan in which no
    /// local root ended), not a trace of its own.
    pub(super) fn is_late_part(&self) -> bool {
        self.summary.orphan && self.root_running()
    }
}

#[derive(Debug)]
struct Slot {
    trace: Option<Trace>,
    arrival: Links,
    settling: Links,
}

#[derive(Clone, Copy, Debug)]
struct Links {
    prev: u32,
    next: u32,
}

impl Default for Links {
    fn default() -> Self {
        Links {
            prev: NONE,
            next: NONE,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct List {
    head: u32,
    tail: u32,
}

impl Default for List {
    fn default() -> Self {
        List {
            head: NONE,
            tail: NONE,
        }
    }
}

/// Which of the two lists.
#[derive(Clone, Copy, Debug)]
enum Order {
    Arrival,
    Settling,
}

impl Held {
    /// Where the trace `trace_id` is held, if it is.
    pub(super) fn slot(&self, trace_id: TraceId) -> Option<u32> {
        self.index.get(&trace_id).copied()
    }

    /// Holds `span` as the first of a trace not held yet; an `orphan` is
    /// a span that started before every decision still remembered.
    pub(super) fn open(
        &mut self,
        span: HeldSpan,
        facts: &Facts,
        now: Instant,
        grace: Duration,
        orphan: bool,
    ) {
        let trace_id = span.trace_id();
        let slot = match self.index.entry(trace_id) {
            Entry::Occupied(held) => *held.get(),
            Entry::Vacant(new) => {
                let slot = Self::slot_for(
                    &mut self.slots,
                    &mut self.free,
                    &mut self.spare,
                    trace_id,
                    now,
                    orphan,
                );
                new.insert(slot);
                self.push_back(Order::Arrival, slot);
                self.bytes += PER_TRACE;
                slot
            }
        };
        self.add_to(slot, span, facts, now, grace);
    }

    /// Adds `span` to the trace held in `slot`.
    pub(super) fn add_to(
        &mut self,
        slot: u32,
        span: HeldSpan,
        facts: &Facts,
        now: Instant,
        grace: Duration,
    ) {
        let bytes = footprint(&span);
        let trace = self.trace_mut(slot);
        trace.summary.add(facts);
        trace.spans.push(span);
        trace.bytes += bytes;
        if facts.root_lasted.is_some() {
            let was_settling = trace.settles_at.replace(now + grace).is_some();
            if was_settling {
                self.unlink(Order::Settling, slot);
            }
            self.push_back(Order::Settling, slot);
        }
        self.bytes += bytes;
    }

    /// Bytes the held spans and their bookkeeping take, roughly.
    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }

    /// The trace due first at `now`, if any: settled, or held for
    /// `max_hold`.
    pub(super) fn take_due(&mut self, now: Instant, max_hold: Duration) -> Option<Trace> {
        let settled = self.head(Order::Settling).filter(|&slot| {
            self.trace(slot)
                .settles_at
                .is_some_and(|settles_at| settles_at <= now)
        });
        let held_too_long = || {
            self.head(Order::Arrival)
                .filter(|&slot| self.trace(slot).first_seen + max_hold <= now)
        };
        let slot = settled.or_else(held_too_long)?;
        Some(self.remove(slot))
    }

    /// A trace whose local root has ended, the one that settles first, its
    /// grace over or not.
    pub(super) fn take_settling(&mut self) -> Option<Trace> {
        let slot = self.head(Order::Settling)?;
        Some(self.remove(slot))
    }

    /// The trace that arrived first.
    pub(super) fn take_oldest(&mut self) -> Option<Trace> {
        let slot = self.head(Order::Arrival)?;
        Some(self.remove(slot))
    }

    /// When the next trace falls due, if any is held.
    pub(super) fn next_due(&self, max_hold: Duration) -> Option<Instant> {
        let settles = self
            .head(Order::Settling)
            .and_then(|slot| self.trace(slot).settles_at);
        let oldest = self
            .head(Order::Arrival)
            .map(|slot| self.trace(slot).first_seen + max_hold);
        settles.into_iter().chain(oldest).min()
    }

    /// Takes back the span list of a decided trace, emptied, for reuse.
    pub(super) fn recycle(&mut self, mut spans: Spans) {
        spans.bare.clear();
        spans.converted.clear();
        if self.spare.len() < SPARE_LISTS
            && spans.bare.capacity() <= SPARE_CAPACITY
            && spans.converted.capacity() <= SPARE_CAPACITY
        {
            self.spare.push(spans);
        }
    }

    /// A slot for a trace not held yet.
    fn slot_for(
        slots: &mut Vec<Slot>,
        free: &mut Vec<u32>,
        spare: &mut Vec<Spans>,
        trace_id: TraceId,
        now: Instant,
        orphan: bool,
    ) -> u32 {
        let trace = Trace {
            trace_id,
            spans: spare.pop().unwrap_or_default(),
            summary: Summary {
                orphan,
                ..Summary::default()
            },
            first_seen: now,
            settles_at: None,
            bytes: PER_TRACE,
        };
        match free.pop() {
            Some(slot) => {
                slots[slot as usize].trace = Some(trace);
                slot
            }
            None => {
                slots.push(Slot {
                    trace: Some(trace),
                    arrival: Links::default(),
                    settling: Links::default(),
                });
                u32::try_from(slots.len() - 1).expect("fewer than 2^32 traces held")
            }
        }
    }

    fn remove(&mut self, slot: u32) -> Trace {
        self.unlink(Order::Arrival, slot);
        if self.trace(slot).settles_at.is_some() {
            self.unlink(Order::Settling, slot);
        }
        let trace = self.slots[slot as usize]
            .trace
            .take()
            .expect("a linked slot holds a trace");
        self.index.remove(&trace.trace_id);
        self.free.push(slot);
        self.bytes -= trace.bytes;
        trace
    }

    fn trace(&self, slot: u32) -> &Trace {
        self.slots[slot as usize]
            .trace
            .as_ref()
            .expect("a linked slot holds a trace")
    }

    fn trace_mut(&mut self, slot: u32) -> &mut Trace {
        self.slots[slot as usize]
            .trace
            .as_mut()
            .expect("a linked slot holds a trace")
    }

    fn list(&mut self, order: Order) -> &mut List {
        match order {
            Order::Arrival => &mut self.arrivals,
            Order::Settling => &mut self.settling,
        }
    }

    fn head(&self, order: Order) -> Option<u32> {
        let head = match order {
            Order::Arrival => self.arrivals.head,
            Order::Settling => self.settling.head,
        };
        (head != NONE).then_some(head)
    }

    fn links(&mut self, order: Order, slot: u32) -> &mut Links {
        let slot = &mut self.slots[slot as usize];
        match order {
            Order::Arrival => &mut slot.arrival,
            Order::Settling => &mut slot.settling,
        }
    }

    fn push_back(&mut self, order: Order, slot: u32) {
        let tail = self.list(order).tail;
        *self.links(order, slot) = Links {
            prev: tail,
            next: NONE,
        };
        if tail == NONE {
            self.list(order).head = slot;
        } else {
            self.links(order, tail).next = slot;
        }
        self.list(order).tail = slot;
    }

    fn unlink(&mut self, order: Order, slot: u32) {
        let Links { prev, next } = *self.links(order, slot);
        if prev == NONE {
            self.list(order).head = next;
        } else {
            self.links(order, prev).next = next;
        }
        if next == NONE {
            self.list(order).tail = prev;
        } else {
            self.links(order, next).prev = prev;
        }
        *self.links(order, slot) = Links::default();
    }
}

/// What a held span keeps in memory, roughly: itself, and for a converted
/// one its vectors and the text of its string attributes.
fn footprint(span: &HeldSpan) -> usize {
    match span {
        HeldSpan::Converted(span) => span_data_footprint(span),
        HeldSpan::Bare(_) => size_of::<super::Record>(),
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::time::SystemTime;

    use opentelemetry::InstrumentationScope;
    use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceState};
    use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};

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

    impl Held {
        fn add_span(&mut self, span: SpanData, now: Instant, grace: Duration) {
            let span = HeldSpan::Converted(span);
            let facts = Facts::of(&span, &crate::pipeline::clock::WallClock::new(), true);
            match self.slot(span.trace_id()) {
                Some(slot) => self.add_to(slot, span, &facts, now, grace),
                None => self.open(span, &facts, now, grace, false),
            }
        }
    }

    #[test]
    fn a_trace_settles_grace_after_its_last_local_root() {
        let mut held = Held::default();
        let start = Instant::now();
        held.add_span(span(1, 2, 1), start, GRACE);
        assert_eq!(held.next_due(MAX_HOLD), Some(start + MAX_HOLD));
        held.add_span(span(1, 1, 0), start, GRACE);
        assert_eq!(held.next_due(MAX_HOLD), Some(start + GRACE));
        let later = start + Duration::from_millis(500);
        held.add_span(span(2, 1, 0), later, GRACE);
        held.add_span(span(1, 3, 0), later, GRACE);
        held.add_span(span(1, 4, 3), later, GRACE);
        assert_eq!(held.next_due(MAX_HOLD), Some(later + GRACE));
        assert!(held.take_due(start + GRACE, MAX_HOLD).is_none());
        let first = held.take_due(later + GRACE, MAX_HOLD).expect("settled");
        assert_eq!(first.trace_id, TraceId::from(2), "the other settled first");
        let trace = held.take_due(later + GRACE, MAX_HOLD).expect("settled");
        assert_eq!(trace.spans.len(), 4);
        assert!(!trace.root_running());
        assert_eq!(held.bytes(), 0);
        assert_eq!(held.next_due(MAX_HOLD), None);
    }

    #[test]
    fn a_trace_whose_root_never_ends_is_due_after_the_maximum_hold() {
        let mut held = Held::default();
        let start = Instant::now();
        held.add_span(span(1, 2, 1), start, GRACE);
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
            held.add_span(span(trace, 1, 0), now, GRACE);
            held.add_span(span(trace, 2, 1), now, GRACE);
        }
        let each = held.bytes() / 3;
        assert!(each >= 2 * size_of::<SpanData>(), "{each}");
        let order: Vec<TraceId> = std::iter::from_fn(|| held.take_oldest())
            .map(|trace| trace.trace_id)
            .collect();
        assert_eq!(order, [1, 2, 3].map(TraceId::from));
        assert_eq!(held.bytes(), 0);
    }

    #[test]
    fn slots_of_traces_that_left_out_of_order_are_reused() {
        let mut held = Held::default();
        let start = Instant::now();
        // A trace that stays, behind many that come and go: the even ones
        // settle and leave, the odd ones wait for their roots.
        held.add_span(span(1, 2, 1), start, GRACE);
        for trace in 2..10_000 {
            let parent = u64::from(trace % 2 == 1);
            held.add_span(span(trace, 2, parent), start, GRACE);
            held.add_span(span(trace, 3, parent), start, GRACE);
            if trace % 2 == 0 {
                let settled = held.take_due(start + GRACE, MAX_HOLD).expect("settled");
                assert_eq!(settled.trace_id, TraceId::from(trace));
                held.recycle(settled.spans);
            }
        }
        assert_eq!(held.index.len(), 1 + 4999);
        assert!(held.slots.len() <= 1 + 5000, "{}", held.slots.len());
        let order: Vec<TraceId> = std::iter::from_fn(|| held.take_oldest())
            .map(|trace| trace.trace_id)
            .collect();
        let expected: Vec<TraceId> = std::iter::once(1)
            .chain((3..10_000).step_by(2))
            .map(TraceId::from)
            .collect();
        assert_eq!(order, expected);
    }
}
