//! The one thread that drains every lane, turns records into `SpanData` and
//! sends them to the sinks: in batches of `max_batch`, at least every
//! `schedule_delay`, at once for immediate sinks, and whenever a flush asks.
//! With tail sampling, spans go through the [`TailSampler`] first, and a
//! kept trace joins a batch whole.

use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SpanData;

use super::PipelineCore;
use super::clock::WallClock;
use super::convert::span_data;
use super::sink::{Sink, TraceDecision};
use super::tail::{Decided, HeldSpan, TailSampler};
use crate::sync::MutexExt;

/// When batches leave.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Batching {
    pub(crate) max_batch: usize,
    pub(crate) schedule_delay: Duration,
}

/// How long the thread sleeps when nothing wakes it, with and without an
/// immediate sink.
const IMMEDIATE_WAKE: Duration = Duration::from_millis(20);
const BATCHED_WAKE: Duration = Duration::from_millis(200);

/// Why a flush or shutdown did not complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FlushError {
    /// The deadline passed first.
    Timeout(Duration),
    /// An exporter failed.
    Export(String),
}

impl fmt::Display for FlushError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlushError::Timeout(waited) => write!(f, "not done after {waited:?}"),
            FlushError::Export(error) => write!(f, "export failed: {error}"),
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
    error: Option<String>,
    shutdown_requested: Option<Instant>,
    stopped: bool,
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

/// The export thread of one pipeline.
#[derive(Debug)]
pub(crate) struct ExportThread {
    control: Arc<Control>,
    thread: Thread,
}

impl ExportThread {
    pub(crate) fn start(
        shared: &'static PipelineCore,
        mut sinks: Vec<Box<dyn Sink>>,
        resource: &Resource,
        batching: Batching,
        tail: Option<TailSampler>,
        on_wake: Option<fn()>,
    ) -> ExportThread {
        for sink in &mut sinks {
            sink.set_resource(resource);
        }
        let control = Arc::new(Control::default());
        let worker = Worker {
            shared,
            immediate: sinks.iter().any(|sink| sink.immediate()),
            sinks,
            clock: WallClock::new(),
            batching,
            // Made on the export thread, which frees it once exported.
            pending: Vec::new(),
            last_export: Instant::now(),
            control: Arc::clone(&control),
            tail,
            on_wake,
        };
        let handle = thread::Builder::new()
            .name("traced-export".into())
            .spawn(move || worker.run())
            .expect("spawning the span export thread");
        let thread = handle.thread().clone();
        shared.queue.set_exporter(thread.clone());
        ExportThread { control, thread }
    }

    /// Exports every span queued before this call; with `sinks`, the sinks
    /// flush too (the console prints traces still open).
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
        let mut state = self.control.wait(deadline, started, |state| {
            state.flush_done >= ticket || state.stopped
        })?;
        match state.error.take() {
            Some(error) => Err(FlushError::Export(error)),
            None => Ok(()),
        }
    }

    /// Exports what is queued, shuts the sinks down and stops the thread.
    pub(crate) fn shutdown(self, deadline: Instant) -> Result<(), FlushError> {
        let started = Instant::now();
        self.control.lock().shutdown_requested = Some(deadline);
        self.thread.unpark();
        let mut state = self
            .control
            .wait(deadline, started, |state| state.stopped)?;
        match state.error.take() {
            Some(error) => Err(FlushError::Export(error)),
            None => Ok(()),
        }
    }
}

struct Worker {
    shared: &'static PipelineCore,
    sinks: Vec<Box<dyn Sink>>,
    immediate: bool,
    clock: WallClock,
    batching: Batching,
    pending: Vec<SpanData>,
    last_export: Instant,
    control: Arc<Control>,
    tail: Option<TailSampler>,
    on_wake: Option<fn()>,
}

impl Worker {
    fn run(mut self) {
        self.pending.reserve(self.batching.max_batch);
        loop {
            let (flush_ticket, flush_sinks, shutdown) = {
                let mut state = self.control.lock();
                (
                    (state.flush_requested > state.flush_done).then_some(state.flush_requested),
                    std::mem::take(&mut state.flush_sinks),
                    state.shutdown_requested,
                )
            };
            let everything = flush_ticket.is_some() || shutdown.is_some();
            self.clock.refresh();
            if let Some(on_wake) = self.on_wake {
                on_wake();
            }
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
            if flush_sinks {
                let errors: Vec<String> = self
                    .sinks
                    .iter_mut()
                    .filter_map(|sink| sink.force_flush().err())
                    .map(|error| error.to_string())
                    .collect();
                errors.into_iter().for_each(|error| self.failed(error));
            }
            if let Some(ticket) = flush_ticket {
                self.control.lock().flush_done = ticket;
                self.control.changed.notify_all();
            }
            if let Some(deadline) = shutdown {
                let left = deadline.saturating_duration_since(Instant::now());
                let errors: Vec<String> = self
                    .sinks
                    .iter_mut()
                    .filter_map(|sink| sink.shutdown(left).err())
                    .map(|error| error.to_string())
                    .collect();
                errors.into_iter().for_each(|error| self.failed(error));
                self.control.lock().stopped = true;
                self.control.changed.notify_all();
                return;
            }
            thread::park_timeout(self.sleep());
        }
    }

    /// How long to sleep when nothing wakes the thread: until the next held
    /// trace falls due, at most.
    fn sleep(&self) -> Duration {
        let wake = if self.immediate {
            IMMEDIATE_WAKE
        } else {
            BATCHED_WAKE.min(self.batching.schedule_delay)
        };
        match self.tail.as_ref().and_then(TailSampler::next_due) {
            Some(due) => wake.min(due.saturating_duration_since(Instant::now())),
            None => wake,
        }
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
            let room = self.batching.max_batch - self.pending.len();
            let clock = &self.clock;
            let pending = &mut self.pending;
            let tail = &mut self.tail;
            let taken = self
                .shared
                .queue
                .drain(room.min(left), |mut record, give_back| {
                    if let Some(tail) = tail.as_mut().filter(|_| record.extra.is_none()) {
                        tail.admit(HeldSpan::Bare(record), clock, now);
                        return;
                    }
                    let span = span_data(&record, clock, limits);
                    if let Some(extra) = record.extra.take() {
                        give_back(extra);
                    }
                    match tail {
                        Some(tail) => tail.admit(HeldSpan::Converted(span), clock, now),
                        None => pending.push(span),
                    }
                });
            left = left.saturating_sub(taken);
            // Traces decided early (the memory budget) leave at once, and
            // their span lists serve the traces to come.
            self.release_ready();
            if self.pending.len() >= self.batching.max_batch {
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
                    if self.pending.len() + spans.len() > self.batching.max_batch {
                        self.export_pending();
                    }
                    for sink in &mut self.sinks {
                        sink.decided(trace_id, TraceDecision::Kept(reason));
                    }
                    for span in spans.converted.drain(..) {
                        self.push_pending(span);
                    }
                    for record in spans.bare.drain(..) {
                        let span = span_data(&record, &self.clock, &self.shared.limits);
                        self.push_pending(span);
                    }
                }
            }
            if let Some(tail) = &mut self.tail {
                tail.recycle(spans);
            }
        }
    }

    /// Adds a span to the pending batch, which leaves once full.
    fn push_pending(&mut self, span: SpanData) {
        self.pending.push(span);
        if self.pending.len() >= self.batching.max_batch {
            self.export_pending();
        }
    }

    fn export_pending(&mut self) {
        self.last_export = Instant::now();
        if self.pending.is_empty() {
            return;
        }
        let batch = std::mem::replace(
            &mut self.pending,
            Vec::with_capacity(self.batching.max_batch),
        );
        let Some((last, others)) = self.sinks.split_last_mut() else {
            return;
        };
        let mut errors = Vec::new();
        for sink in others {
            if let Err(error) = sink.export(batch.clone()) {
                errors.push(error.to_string());
            }
        }
        if let Err(error) = last.export(batch) {
            errors.push(error.to_string());
        }
        for error in errors {
            self.failed(error);
        }
    }

    fn failed(&self, error: String) {
        let mut state = self.control.lock();
        state.error.get_or_insert(error);
    }
}
