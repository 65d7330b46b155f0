//! The one thread that exports every signal. It drains every lane and sends
//! the spans to the span sinks: in batches of `max_batch`, at least every
//! `schedule_delay`, at once for immediate sinks, and whenever a flush asks.
//! A sink that encodes spans itself (OTLP) gets each record as it is
//! released, read in place; the others get `SpanData`, built only when one
//! of them is there. With tail sampling, spans go through the
//! [`TailSampler`] first, and a kept trace joins a batch whole. Log records
//! take the same way from their own queue ([`LogBatches`]).
//!
//! Exports run concurrently, up to a limit per sink ([`InFlight`]), each
//! batch holding its bytes against the pipeline's one memory budget until it
//! is done; a flush or shutdown waits for all of them. Telemetry is
//! suppressed on the thread, so that nothing a sink does (an instrumented
//! HTTP client, an exporter that logs) comes back to it to be exported.

use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use opentelemetry::Context;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SpanData;

use super::PipelineCore;
use super::batching::Batching;
use super::budget::{MemoryBudget, Reservation, span_data_footprint};
use super::clock::WallClock;
use super::convert::span_data;
use super::in_flight::{InFlight, SignalKind, SinkId};
use super::log_batches::{LogBatches, LogExport};
use super::metrics::RedMetrics;
use super::record::Record;
use super::sink::{Exporting, Sink, TraceDecision, describe, guarded};
use super::span_view::SpanView;
use super::tail::{Decided, HeldSpan, TailSampler};
use crate::sync::MutexExt;

/// What the export thread sends where, and how.
#[derive(Debug)]
pub(crate) struct Exports {
    pub(crate) sinks: Vec<Box<dyn Sink>>,
    pub(crate) batching: Batching,
    pub(crate) logs: Option<LogExport>,
    pub(crate) budget: Arc<MemoryBudget>,
    /// Exports in flight per sink, at most.
    pub(crate) max_concurrent_exports: usize,
    pub(crate) tail: Option<TailSampler>,
    /// The RED metrics measured from the spans, when they are on.
    pub(crate) metrics: Option<RedMetrics>,
    pub(crate) on_wake: Option<fn()>,
}

/// How long the thread sleeps when nothing wakes it, with and without an
/// immediate sink.
const IMMEDIATE_WAKE: Duration = Duration::from_millis(20);
const BATCHED_WAKE: Duration = Duration::from_millis(200);
/// The shortest sleep: a schedule delay below it (`0` included) means
/// "export what has arrived each time the thread wakes", not a busy loop.
pub(crate) const MIN_WAKE: Duration = Duration::from_millis(10);
/// How often, at most, the thread calls `on_wake`.
const ON_WAKE_EVERY: Duration = Duration::from_millis(50);

/// Why a flush or shutdown did not complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FlushError {
    /// The deadline passed first.
    Timeout(Duration),
    /// An exporter of `signal` failed.
    Export { signal: SignalKind, error: String },
}

impl fmt::Display for FlushError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlushError::Timeout(waited) => write!(f, "not done after {waited:?}"),
            FlushError::Export { error, .. } => write!(f, "export failed: {error}"),
        }
    }
}

impl std::error::Error for FlushError {}

#[derive(Debug, Default)]
struct Control {
    state: Mutex<ControlState>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct ControlState {
    flush_requested: u64,
    /// A flush also asks the sinks to flush (a drain only empties the queue).
    flush_sinks: bool,
    flush_done: u64,
    /// The first export error since the last completed flush.
    error: Option<(SignalKind, String)>,
    shutdown_requested: Option<Instant>,
    stopped: bool,
    /// Times the thread went round its loop.
    wakes: u64,
}

impl Control {
    fn lock(&self) -> MutexGuard<'_, ControlState> {
        self.state.locked()
    }

    /// Waits until `done` holds or `deadline` passes.
    fn wait(
        &self,
        deadline: Instant,
        started: Instant,
        done: impl Fn(&ControlState) -> bool,
    ) -> Result<MutexGuard<'_, ControlState>, FlushError> {
        let mut state = self.lock();
        loop {
            if done(&state) {
                return Ok(state);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(FlushError::Timeout(now - started));
            }
            state = self
                .changed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

impl ControlState {
    fn take_error(&mut self) -> Result<(), FlushError> {
        match self.error.take() {
            Some((signal, error)) => Err(FlushError::Export { signal, error }),
            None => Ok(()),
        }
    }
}

/// The export thread of one pipeline.
#[derive(Debug)]
pub(crate) struct ExportThread {
    control: Arc<Control>,
    thread: Thread,
}

impl ExportThread {
    pub(crate) fn start(
        shared: &'static PipelineCore,
        resource: &Resource,
        exports: Exports,
    ) -> ExportThread {
        let Exports {
            mut sinks,
            batching,
            logs,
            budget,
            max_concurrent_exports,
            tail,
            mut metrics,
            on_wake,
        } = exports;
        for sink in &mut sinks {
            sink.set_resource(resource);
        }
        if let Some(metrics) = &mut metrics {
            metrics.set_resource(resource);
        }
        let log_queue = logs.as_ref().map(|logs| Arc::clone(&logs.queue));
        let logs = logs.map(|logs| LogBatches::new(logs, resource, &budget));
        let control = Arc::new(Control::default());
        let worker_control = Arc::clone(&control);
        let handle = thread::Builder::new()
            .name("traced-export".into())
            .spawn(move || {
                Worker {
                    shared,
                    immediate: sinks.iter().any(|sink| sink.immediate()),
                    wants_span_data: sinks.iter_mut().any(|sink| sink.encoder().is_none()),
                    sinks,
                    clock: WallClock::new(),
                    batching,
                    // Made on the export thread, which frees it once exported.
                    pending: Vec::new(),
                    batched: 0,
                    pending_bytes: 0,
                    last_export: Instant::now(),
                    last_on_wake: None,
                    control: worker_control,
                    tail,
                    on_wake,
                    budget,
                    in_flight: InFlight::new(max_concurrent_exports),
                    logs,
                    metrics,
                }
                .run();
            })
            .expect("spawning the export thread");
        let thread = handle.thread().clone();
        shared.queue.set_exporter(thread.clone());
        if let Some(queue) = log_queue {
            queue.set_exporter(thread.clone());
        }
        ExportThread { control, thread }
    }

    /// Exports every span and log record queued before this call, and waits
    /// for every export in flight; with `sinks`, the sinks flush too (the
    /// console prints traces still open).
    pub(crate) fn flush(&self, deadline: Instant, sinks: bool) -> Result<(), FlushError> {
        let started = Instant::now();
        let ticket = {
            let mut state = self.control.lock();
            if state.stopped {
                return Ok(());
            }
            state.flush_requested += 1;
            state.flush_sinks |= sinks;
            state.flush_requested
        };
        self.thread.unpark();
        self.control
            .wait(deadline, started, |state| {
                state.flush_done >= ticket || state.stopped
            })?
            .take_error()
    }

    /// Exports what is queued, waits for every export in flight, shuts the
    /// sinks down and stops the thread.
    pub(crate) fn shutdown(self, deadline: Instant) -> Result<(), FlushError> {
        let started = Instant::now();
        self.control.lock().shutdown_requested = Some(deadline);
        self.thread.unpark();
        self.control
            .wait(deadline, started, |state| state.stopped)?
            .take_error()
    }

    /// Times the thread has gone round its loop so far.
    #[cfg(test)]
    pub(crate) fn wakes(&self) -> u64 {
        self.control.lock().wakes
    }
}

struct Worker {
    shared: &'static PipelineCore,
    sinks: Vec<Box<dyn Sink>>,
    immediate: bool,
    /// Whether a sink takes `SpanData`: without one, none is built.
    wants_span_data: bool,
    clock: WallClock,
    batching: Batching,
    /// The pending batch as `SpanData`, for the sinks that take it.
    pending: Vec<SpanData>,
    /// Spans in the pending batch (each encoding sink holds them encoded).
    batched: usize,
    /// What the pending `SpanData` weighs: held against the budget, with
    /// what the encoding sinks hold, once the batch leaves, until every sink
    /// is done with it.
    pending_bytes: usize,
    last_export: Instant,
    last_on_wake: Option<Instant>,
    control: Arc<Control>,
    tail: Option<TailSampler>,
    on_wake: Option<fn()>,
    budget: Arc<MemoryBudget>,
    in_flight: InFlight,
    logs: Option<LogBatches>,
    metrics: Option<RedMetrics>,
}

impl Worker {
    fn run(mut self) {
        let _suppressed = Context::enter_telemetry_suppressed_scope();
        if self.wants_span_data {
            self.pending.reserve(self.batching.max_batch);
        }
        loop {
            let (flush_ticket, flush_sinks, shutdown) = {
                let mut state = self.control.lock();
                state.wakes += 1;
                (
                    (state.flush_requested > state.flush_done).then_some(state.flush_requested),
                    std::mem::take(&mut state.flush_sinks),
                    state.shutdown_requested,
                )
            };
            let everything = flush_ticket.is_some() || shutdown.is_some();
            self.clock.refresh();
            self.call_on_wake();
            self.in_flight.poll();
            self.drain();
            // A flush decides the traces whose local root has ended without
            // waiting out their grace; only the shutdown decides the rest.
            self.release_decided(flush_sinks, shutdown.is_some());
            if everything
                || self.immediate
                || self.last_export.elapsed() >= self.batching.schedule_delay
            {
                self.export_pending();
            }
            if let Some(logs) = &mut self.logs {
                logs.work(everything, &mut self.in_flight);
            }
            if let Some(metrics) = &mut self.metrics {
                if flush_sinks {
                    metrics.flush();
                } else if shutdown.is_none() {
                    metrics.tick(Instant::now());
                }
            }
            if everything {
                self.in_flight.wait_all();
            }
            if flush_sinks {
                for sink in &mut self.sinks {
                    if let Err(error) = guarded("flushing", || sink.force_flush(), Err) {
                        failed(&self.control, SignalKind::Spans, describe(&error));
                    }
                }
            }
            self.record_failures();
            if let Some(ticket) = flush_ticket {
                self.control.lock().flush_done = ticket;
                self.control.changed.notify_all();
            }
            if let Some(deadline) = shutdown {
                if let Some(metrics) = &mut self.metrics {
                    metrics.shutdown(deadline);
                }
                self.shut_sinks_down(deadline);
                self.control.lock().stopped = true;
                self.control.changed.notify_all();
                return;
            }
            thread::park_timeout(self.sleep());
        }
    }

    /// Calls `on_wake`, at most every [`ON_WAKE_EVERY`] however often the
    /// thread wakes.
    fn call_on_wake(&mut self) {
        let Some(on_wake) = self.on_wake else {
            return;
        };
        if self
            .last_on_wake
            .is_none_or(|last| last.elapsed() >= ON_WAKE_EVERY)
        {
            self.last_on_wake = Some(Instant::now());
            on_wake();
        }
    }

    fn shut_sinks_down(&mut self, deadline: Instant) {
        let left = deadline.saturating_duration_since(Instant::now());
        for sink in &mut self.sinks {
            if let Err(error) = guarded("shutting down", || sink.shutdown(left), Err) {
                failed(&self.control, SignalKind::Spans, describe(&error));
            }
        }
        if let Some(logs) = &mut self.logs {
            for error in logs.shutdown(left) {
                failed(&self.control, SignalKind::Logs, error);
            }
        }
    }

    /// How long to sleep when nothing wakes the thread: until the next
    /// batch of log records or held trace falls due, at most, and never
    /// less than [`MIN_WAKE`].
    fn sleep(&self) -> Duration {
        let mut wake = if self.immediate {
            IMMEDIATE_WAKE
        } else {
            BATCHED_WAKE.min(self.batching.schedule_delay)
        };
        if let Some(logs) = &self.logs {
            wake = wake.min(logs.due_in());
        }
        let tail_due = self.tail.as_ref().and_then(TailSampler::next_due);
        let metrics_due = self.metrics.as_ref().map(RedMetrics::next_due);
        if let Some(due) = tail_due.into_iter().chain(metrics_due).min() {
            wake = wake.min(due.saturating_duration_since(Instant::now()));
        }
        wake.max(MIN_WAKE)
    }

    /// Takes what the lanes and the overflow hold, exporting full batches on
    /// the way; stops after what was queued when it started (and a batch
    /// more), so that a flush or shutdown is never starved by threads that
    /// keep ending spans.
    fn drain(&mut self) {
        let mut left = self.shared.queue.pending() + self.batching.max_batch;
        let limits = &self.shared.limits;
        let now = Instant::now();
        while left > 0 {
            let room = self.batching.max_batch - self.batched;
            let clock = &self.clock;
            let mut batch = Batch {
                sinks: &mut self.sinks,
                wants_span_data: self.wants_span_data,
                pending: &mut self.pending,
                batched: &mut self.batched,
                pending_bytes: &mut self.pending_bytes,
            };
            let tail = &mut self.tail;
            let metrics = &mut self.metrics;
            let taken = self
                .shared
                .queue
                .drain(room.min(left), |mut record, give_back| {
                    if let Some(metrics) = metrics {
                        // Before tail sampling: every span counts.
                        metrics.measure(&record, clock, tail.is_none());
                    }
                    if let Some(tail) = tail.as_mut().filter(|_| record.extra.is_none()) {
                        tail.admit(HeldSpan::Bare(record), clock, now);
                        return;
                    }
                    match tail {
                        // Held as `SpanData`, so that the details go back now.
                        Some(tail) => {
                            tail.admit(
                                HeldSpan::Converted(span_data(&record, clock, limits)),
                                clock,
                                now,
                            );
                        }
                        None => batch.add_record(&record, clock, limits),
                    }
                    if let Some(extra) = record.extra.take() {
                        give_back(extra);
                    }
                });
            left = left.saturating_sub(taken);
            // Traces decided early (the memory budget) leave at once, and
            // their span lists serve the traces to come.
            self.release_ready();
            if self.batched >= self.batching.max_batch {
                self.export_pending();
            }
            if taken == 0 {
                break;
            }
        }
    }

    /// Decides the traces due (for a `flush`, every trace whose local root
    /// has ended; at `shutdown`, every held trace) and lets them leave.
    fn release_decided(&mut self, flush: bool, shutdown: bool) {
        let Some(tail) = &mut self.tail else {
            return;
        };
        if shutdown {
            tail.settle_all();
        } else if flush {
            tail.settle_finished(Instant::now());
        } else {
            tail.settle(Instant::now());
        }
        self.release_ready();
    }

    /// What tail sampling has decided: kept traces join the pending batch
    /// whole, a fresh batch when they do not fit; the sinks hear of dropped
    /// ones.
    fn release_ready(&mut self) {
        let Some(tail) = &mut self.tail else {
            return;
        };
        for Decided {
            trace_id,
            kept,
            mut spans,
        } in tail.take_ready()
        {
            match kept {
                None => {
                    let decision = TraceDecision::Dropped { spans: spans.len() };
                    for sink in &mut self.sinks {
                        sink.decided(trace_id, decision);
                    }
                }
                Some(reason) => {
                    if self.batched + spans.len() > self.batching.max_batch {
                        self.export_pending();
                    }
                    for sink in &mut self.sinks {
                        sink.decided(trace_id, TraceDecision::Kept(reason));
                    }
                    for span in spans.converted.drain(..) {
                        if let Some(metrics) = &mut self.metrics {
                            metrics.kept_span(&span, &self.clock);
                        }
                        self.batch().add_span(span);
                        self.export_if_full();
                    }
                    for record in spans.bare.drain(..) {
                        if let Some(metrics) = &mut self.metrics {
                            metrics.kept_record(&record, &self.clock);
                        }
                        let (shared, clock) = (self.shared, self.clock);
                        self.batch().add_record(&record, &clock, &shared.limits);
                        self.export_if_full();
                    }
                }
            }
            if let Some(tail) = &mut self.tail {
                tail.recycle(spans);
            }
        }
    }

    /// The pending batch, to add spans to.
    fn batch(&mut self) -> Batch<'_> {
        Batch {
            sinks: &mut self.sinks,
            wants_span_data: self.wants_span_data,
            pending: &mut self.pending,
            batched: &mut self.batched,
            pending_bytes: &mut self.pending_bytes,
        }
    }

    /// Sends the pending batch once it is full.
    fn export_if_full(&mut self) {
        if self.batched >= self.batching.max_batch {
            self.export_pending();
        }
    }

    /// Hands the pending batch to every sink, each as soon as it has room
    /// for another export in flight.
    fn export_pending(&mut self) {
        self.last_export = Instant::now();
        if self.batched == 0 {
            return;
        }
        self.batched = 0;
        let batch = if self.wants_span_data {
            std::mem::replace(
                &mut self.pending,
                Vec::with_capacity(self.batching.max_batch),
            )
        } else {
            Vec::new()
        };
        let encoded: usize = self
            .sinks
            .iter_mut()
            .filter_map(|sink| sink.encoder().map(|encoder| encoder.bytes()))
            .sum();
        let held = Arc::new(Reservation::new(
            &self.budget,
            std::mem::take(&mut self.pending_bytes) + encoded,
        ));
        let last = self
            .sinks
            .iter_mut()
            .rposition(|sink| sink.encoder().is_none());
        let mut batch = Some(batch);
        for (index, sink) in self.sinks.iter_mut().enumerate() {
            let id = SinkId {
                signal: SignalKind::Spans,
                index,
            };
            self.in_flight.wait_for_room(id);
            let exporting = guarded(
                "exporting",
                || match sink.encoder() {
                    Some(encoder) => encoder.export_encoded(),
                    None => {
                        let spans = if Some(index) == last {
                            batch.take()
                        } else {
                            batch.clone()
                        };
                        sink.export(spans.unwrap_or_default())
                    }
                },
                |error| Exporting::Done(Err(error)),
            );
            self.in_flight.start(id, exporting, &held);
        }
    }

    /// Notes the failures of the exports that completed, for the next flush
    /// to return.
    fn record_failures(&mut self) {
        for (signal, error) in self.in_flight.take_failures() {
            failed(&self.control, signal, error);
        }
    }
}

/// The pending batch, as each sink holds it: encoded by the sinks that
/// encode spans themselves, as `SpanData` for the others.
struct Batch<'a> {
    sinks: &'a mut [Box<dyn Sink>],
    wants_span_data: bool,
    pending: &'a mut Vec<SpanData>,
    batched: &'a mut usize,
    pending_bytes: &'a mut usize,
}

impl Batch<'_> {
    /// Adds the span `record` says: encoded in place by the encoding sinks,
    /// built as `SpanData` only when a sink takes that.
    fn add_record(&mut self, record: &Record, clock: &WallClock, limits: &super::Limits) {
        let view = SpanView::new(record, clock, limits);
        for sink in self.sinks.iter_mut() {
            if let Some(encoder) = sink.encoder() {
                encoder.add_record(view);
            }
        }
        if self.wants_span_data {
            self.push(span_data(record, clock, limits));
        }
        *self.batched += 1;
    }

    /// Adds a span built as `SpanData`.
    fn add_span(&mut self, span: SpanData) {
        for sink in self.sinks.iter_mut() {
            if let Some(encoder) = sink.encoder() {
                encoder.add_span(&span);
            }
        }
        if self.wants_span_data {
            self.push(span);
        }
        *self.batched += 1;
    }

    fn push(&mut self, span: SpanData) {
        *self.pending_bytes += span_data_footprint(&span);
        self.pending.push(span);
    }
}

/// Keeps the first failure since the last flush, for the flush to return.
fn failed(control: &Control, signal: SignalKind, error: String) {
    control.lock().error.get_or_insert((signal, error));
}

#[cfg(test)]
mod tests;
