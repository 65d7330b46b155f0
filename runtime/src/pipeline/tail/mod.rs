//! In-process tail sampling, on the export thread: the spans of each local
//! trace (one trace id in this process) are held until a local root of it
//! has ended plus a grace for children that end later on other tasks, then
//! kept whole, for the first reason that applies ([`TailPolicy::verdict`]), or
//! dropped. Spans that end after their trace was decided follow the decision,
//! remembered by time, at least for the maximum hold ([`decisions`]). Held
//! spans have a memory budget: over it, the oldest traces are decided early
//! on what they showed so far. A trace held for the maximum hold, its local
//! root still running (a server loop, a stream), is decided then, as slow,
//! and its later spans follow as they come. A flush decides the traces whose
//! local root has ended; the shutdown decides every held trace.
//!
//! A span that started before every decision still remembered, of a trace
//! neither held nor remembered, may be a late part of a trace whose decision
//! was forgotten (decisions take bounded memory): if no local root joins it,
//! it is judged on what it shows itself (never as slow for a root it did not
//! see) and counted as such a part, not as a trace.
//!
//! Nothing here runs on the threads that make spans: they record every span
//! as they would without it.

mod decisions;
mod hash;
mod held;
mod policy;
mod report;
mod summary;

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use opentelemetry::trace::TraceId;
use opentelemetry_sdk::trace::SpanData;

use super::clock::{Tick, WallClock};
use super::record::Record;

pub(crate) use policy::{KeepReason, TailPolicy};
pub(crate) use report::Counters;
pub use report::TailSamplingReport;
pub(crate) use summary::is_local_root;

use decisions::Decisions;
use held::{Held, Trace};
use report::Tally;
use summary::Facts;

/// A finished span on its way into the tail sampler.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // passed by value once, never stored
pub(crate) enum HeldSpan {
    /// Turned into `SpanData` as it arrived: it had an extra, which went
    /// back to its thread at once.
    Converted(SpanData),
    /// A record with no extra, turned into `SpanData` only if its trace is
    /// kept: a dropped one costs no conversion.
    Bare(Record),
}

impl HeldSpan {
    fn trace_id(&self) -> TraceId {
        match self {
            HeldSpan::Converted(span) => span.span_context.trace_id(),
            HeldSpan::Bare(record) => record.trace_id,
        }
    }

    /// Whether it started before `tick`, which was `wall` on the wall clock.
    fn started_before(&self, tick: Tick, wall: SystemTime) -> bool {
        match self {
            HeldSpan::Converted(span) => span.start_time < wall,
            HeldSpan::Bare(record) => record.start < tick,
        }
    }
}

/// The spans of one trace: records still bare, and spans converted as they
/// arrived, each kind in a list of its own so that neither takes the
/// other's room.
#[derive(Debug, Default)]
pub(crate) struct Spans {
    pub(crate) bare: Vec<Record>,
    pub(crate) converted: Vec<SpanData>,
}

impl Spans {
    pub(crate) fn len(&self) -> usize {
        self.bare.len() + self.converted.len()
    }

    fn push(&mut self, span: HeldSpan) {
        match span {
            HeldSpan::Converted(span) => self.converted.push(span),
            HeldSpan::Bare(record) => self.bare.push(record),
        }
    }

    fn one(span: HeldSpan) -> Spans {
        let mut spans = Spans::default();
        spans.push(span);
        spans
    }
}

/// Spans of one trace with their decision, ready to leave.
#[derive(Debug)]
pub(crate) struct Decided {
    pub(crate) trace_id: TraceId,
    /// Why they are kept; `None`: dropped.
    pub(crate) kept: Option<KeepReason>,
    pub(crate) spans: Spans,
}

/// The tail sampler of one pipeline, owned by its export thread.
#[derive(Debug)]
pub(crate) struct TailSampler {
    policy: TailPolicy,
    held: Held,
    decisions: Decisions,
    tally: Tally,
    counters: Arc<Counters>,
    ready: Vec<Decided>,
}

impl TailSampler {
    pub(crate) fn new(policy: TailPolicy, counters: Arc<Counters>) -> Self {
        // A quarter of the held spans' budget again, for decisions.
        let decisions = Decisions::new(policy.max_hold, policy.max_memory / 4, Instant::now());
        TailSampler {
            policy,
            held: Held::default(),
            decisions,
            tally: Tally::default(),
            counters,
            ready: Vec::new(),
        }
    }

    /// A span has ended: held with its trace, or, when its trace is
    /// decided, ready to follow the decision. `clock` times a bare root.
    #[inline]
    pub(crate) fn admit(&mut self, span: HeldSpan, clock: &WallClock, now: Instant) {
        let trace_id = span.trace_id();
        let facts = Facts::of(&span, clock, self.policy.slower_than.is_some());
        // Most spans join a trace already held; the first span of a trace,
        // and one that ends after its trace was decided, go on.
        if let Some(slot) = self.held.slot(trace_id) {
            self.held.add_to(slot, span, &facts, now, self.policy.grace);
            self.keep_within_budget(now);
            return;
        }
        if let Some(kept) = self.decisions.follow(trace_id, now) {
            if kept.is_none() {
                self.tally.dropped_late(1);
            }
            self.ready.push(Decided {
                trace_id,
                kept,
                spans: Spans::one(span),
            });
            return;
        }
        let (tick, wall) = self.decisions.horizon();
        let orphan = span.started_before(tick, wall);
        self.held.open(span, &facts, now, self.policy.grace, orphan);
        self.keep_within_budget(now);
    }

    /// Over the memory budget, the oldest traces are decided early.
    fn keep_within_budget(&mut self, now: Instant) {
        while self.held.bytes() > self.policy.max_memory {
            let Some(oldest) = self.held.take_oldest() else {
                break;
            };
            if !oldest.is_late_part() {
                self.tally.decided_early();
            }
            self.decide(oldest, false, now);
        }
    }

    /// Decides every trace due at `now`.
    pub(crate) fn settle(&mut self, now: Instant) {
        while let Some(trace) = self.held.take_due(now, self.policy.max_hold) {
            let still_running = trace.root_running();
            self.decide(trace, still_running, now);
        }
    }

    /// Decides, besides those due, every trace whose local root has ended,
    /// without waiting out its grace (a flush). A trace whose local root
    /// still runs stays held: what it ends with may still keep it.
    pub(crate) fn settle_finished(&mut self, now: Instant) {
        self.settle(now);
        while let Some(trace) = self.held.take_settling() {
            self.decide(trace, false, now);
        }
    }

    /// Decides every held trace on what it showed so far (the shutdown).
    pub(crate) fn settle_all(&mut self) {
        let now = Instant::now();
        while let Some(trace) = self.held.take_oldest() {
            self.decide(trace, false, now);
        }
    }

    /// The traces and spans decided since the last call, in order; what
    /// was decided is counted for the report from here on.
    pub(crate) fn take_ready(&mut self) -> Vec<Decided> {
        self.counters.add(&mut self.tally);
        std::mem::take(&mut self.ready)
    }

    /// Takes back the span list of a decided trace once its spans have
    /// left, so that traces to come need not allocate one.
    pub(crate) fn recycle(&mut self, spans: Spans) {
        self.held.recycle(spans);
    }

    /// When the next held trace falls due.
    pub(crate) fn next_due(&self) -> Option<Instant> {
        self.held.next_due(self.policy.max_hold)
    }

    fn decide(&mut self, trace: Trace, still_running: bool, now: Instant) {
        let late_part = trace.is_late_part();
        // A late part of a forgotten trace is judged on what it shows: a
        // root it never saw is not slow. Its decision is not remembered, so
        // that its trace's root, should it still end, is judged whole.
        let kept = self
            .policy
            .verdict(trace.trace_id, &trace.summary, still_running && !late_part);
        if late_part {
            self.tally.late_part(kept, trace.spans.len());
        } else {
            self.decisions.remember(trace.trace_id, kept, now);
            self.tally.decided(kept, trace.spans.len());
        }
        self.ready.push(Decided {
            trace_id: trace.trace_id,
            kept,
            spans: trace.spans,
        });
    }
}

#[cfg(test)]
mod tests;
