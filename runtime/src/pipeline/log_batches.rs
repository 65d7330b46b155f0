//! The export thread's part for log records: batches taken from the
//! [`LogQueue`], sent to every log sink when full, when the schedule delay
//! has passed, and whenever a flush asks. A batch holds its records' bytes
//! against the memory budget until every sink is done with it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use opentelemetry_sdk::Resource;

use super::batching::Batching;
use super::budget::{MemoryBudget, Reservation};
use super::in_flight::{InFlight, SignalKind, SinkId};
use super::log_queue::LogQueue;
use super::sink::{Exporting, LogEntry, LogSink, describe, guarded};

/// Where the export thread sends log records, and how it batches them.
#[derive(Debug)]
pub(crate) struct LogExport {
    pub(crate) queue: Arc<LogQueue>,
    pub(crate) sinks: Vec<Box<dyn LogSink>>,
    pub(crate) batching: Batching,
}

/// Log records on the export thread.
#[derive(Debug)]
pub(super) struct LogBatches {
    queue: Arc<LogQueue>,
    sinks: Vec<Box<dyn LogSink>>,
    batching: Batching,
    budget: Arc<MemoryBudget>,
    pending: Vec<LogEntry>,
    /// What the pending records hold against the budget.
    pending_bytes: usize,
    last_export: Instant,
}

impl LogBatches {
    pub(super) fn new(
        export: LogExport,
        resource: &Resource,
        budget: &Arc<MemoryBudget>,
    ) -> LogBatches {
        let LogExport {
            queue,
            mut sinks,
            batching,
        } = export;
        for sink in &mut sinks {
            sink.set_resource(resource);
        }
        LogBatches {
            queue,
            sinks,
            batching,
            budget: Arc::clone(budget),
            pending: Vec::new(),
            pending_bytes: 0,
            last_export: Instant::now(),
        }
    }

    /// Takes what the queue holds, sending full batches on the way, and
    /// the rest too when `everything` is asked or the schedule delay has
    /// passed. Stops after what was queued when it started (and a batch
    /// more), so that writers cannot starve the spans or a flush.
    pub(super) fn work(&mut self, everything: bool, in_flight: &mut InFlight) {
        let max_batch = self.batching.max_batch;
        let mut left = self.queue.len() + max_batch;
        while left > 0 {
            let before = self.pending.len();
            let room = max_batch.saturating_sub(before).min(left);
            self.pending_bytes += self.queue.take(room, &mut self.pending);
            let taken = self.pending.len() - before;
            left = left.saturating_sub(taken);
            if self.pending.len() >= max_batch {
                self.send(in_flight);
            }
            if taken == 0 {
                break;
            }
        }
        if everything || self.last_export.elapsed() >= self.batching.schedule_delay {
            self.send(in_flight);
        }
    }

    /// How long until the records pending are due to leave.
    pub(super) fn due_in(&self) -> Duration {
        self.batching
            .schedule_delay
            .saturating_sub(self.last_export.elapsed())
    }

    fn send(&mut self, in_flight: &mut InFlight) {
        self.last_export = Instant::now();
        if self.pending.is_empty() {
            return;
        }
        let batch = Arc::new(std::mem::replace(
            &mut self.pending,
            Vec::with_capacity(self.batching.max_batch),
        ));
        let held = Arc::new(Reservation::adopt(
            &self.budget,
            std::mem::take(&mut self.pending_bytes),
        ));
        for (index, sink) in self.sinks.iter_mut().enumerate() {
            let id = SinkId {
                signal: SignalKind::Logs,
                index,
            };
            in_flight.wait_for_room(id);
            let exporting = guarded(
                "exporting",
                || sink.export(&batch),
                |error| Exporting::Done(Err(error)),
            );
            in_flight.start(id, exporting, &held);
        }
    }

    /// Shuts every log sink down; returns their failures.
    pub(super) fn shutdown(&mut self, timeout: Duration) -> Vec<String> {
        self.sinks
            .iter_mut()
            .filter_map(|sink| guarded("shutting down", || sink.shutdown(timeout), Err).err())
            .map(|error| describe(&error))
            .collect()
    }
}
