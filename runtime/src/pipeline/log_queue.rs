//! Log records between the threads that write them and the export thread:
//! [`QueueLogs`], a log processor, queues each record with its scope; the
//! export thread takes them in batches. The queue shares the pipeline's
//! memory budget with the spans (and, when a count is asked for, holds at
//! most that many records): past it, records are dropped, counted, and said
//! once.

// Log records reach an exporter over OTLP only, for now.
#![cfg_attr(not(feature = "otlp"), allow(dead_code))]

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::Thread;
use std::time::Duration;

use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogProcessor, SdkLogRecord};

use super::budget::{MemoryBudget, log_footprint};
use super::sink::LogEntry;
use crate::sync::MutexExt;

/// The log records waiting for the export thread.
#[derive(Debug)]
pub(crate) struct LogQueue {
    records: Mutex<VecDeque<Queued>>,
    budget: Arc<MemoryBudget>,
    /// Records it may hold, when a count was asked for.
    max_records: Option<usize>,
    /// Records queued that wake the export thread for a batch.
    wake_at: usize,
    /// Records waiting now, read without the lock: a full queue refuses a
    /// record before copying it.
    waiting: AtomicUsize,
    /// Set once the export thread was woken, cleared when it takes records:
    /// writers wake it once per batch, not once per record.
    woken: AtomicBool,
    /// Records handed to the queue while it was open: queued or dropped.
    emitted: AtomicU64,
    dropped: AtomicU64,
    drop_reported: AtomicBool,
    /// Cleared at shutdown: records written afterwards are not taken.
    open: AtomicBool,
    exporter: OnceLock<Thread>,
}

#[derive(Debug)]
struct Queued {
    entry: LogEntry,
    bytes: usize,
}

impl LogQueue {
    /// A queue whose records count against `budget`, holding at most
    /// `max_records` when given, waking the export thread once `batch`
    /// records wait.
    pub(crate) fn new(
        budget: &Arc<MemoryBudget>,
        max_records: Option<usize>,
        batch: usize,
    ) -> Arc<LogQueue> {
        Arc::new(LogQueue {
            records: Mutex::new(VecDeque::new()),
            budget: Arc::clone(budget),
            max_records,
            wake_at: batch.max(1),
            waiting: AtomicUsize::new(0),
            woken: AtomicBool::new(false),
            emitted: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            drop_reported: AtomicBool::new(false),
            open: AtomicBool::new(true),
            exporter: OnceLock::new(),
        })
    }

    pub(crate) fn set_exporter(&self, thread: Thread) {
        let _ = self.exporter.set(thread);
    }

    fn wake_exporter(&self) {
        if !self.woken.swap(true, Ordering::AcqRel)
            && let Some(thread) = self.exporter.get()
        {
            thread.unpark();
        }
    }

    /// Queues a copy of `record` for export, or drops and counts it when
    /// the budget or the count is full.
    pub(crate) fn push(&self, record: &SdkLogRecord, scope: &InstrumentationScope) {
        if !self.open.load(Ordering::Relaxed) {
            return;
        }
        self.emitted.fetch_add(1, Ordering::Relaxed);
        if let Some(max) = self
            .max_records
            .filter(|max| self.waiting.load(Ordering::Relaxed) >= *max)
        {
            return self.drop_one(Some(max));
        }
        let bytes = log_footprint(record, scope);
        if !self.budget.try_take(bytes) {
            return self.drop_one(None);
        }
        let queued = Queued {
            entry: (record.clone(), scope.clone()),
            bytes,
        };
        let mut records = self.records.locked();
        if self.max_records.is_some_and(|max| records.len() >= max) {
            drop(records);
            self.budget.give_back(bytes);
            return self.drop_one(self.max_records);
        }
        records.push_back(queued);
        let waiting = records.len();
        self.waiting.store(waiting, Ordering::Relaxed);
        drop(records);
        if waiting >= self.wake_at {
            self.wake_exporter();
        }
    }

    #[cold]
    fn drop_one(&self, full_at: Option<usize>) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
        if !self.drop_reported.swap(true, Ordering::Relaxed) {
            let bound = match full_at {
                Some(max) => format!("{max} log records"),
                None => format!(
                    "{} MiB of spans and log records",
                    self.budget.limit() / (1024 * 1024)
                ),
            };
            eprintln!(
                "traced: dropping log records: more than {bound} are waiting for export (the \
                 exporter is slower than the program or unreachable); drops are counted and \
                 reported at shutdown"
            );
        }
        self.wake_exporter();
    }

    /// Moves up to `limit` records, oldest first, into `batch`; returns the
    /// bytes they hold against the budget, which stay taken.
    pub(crate) fn take(&self, limit: usize, batch: &mut Vec<LogEntry>) -> usize {
        let mut records = self.records.locked();
        let count = limit.min(records.len());
        let mut bytes = 0;
        for queued in records.drain(..count) {
            bytes += queued.bytes;
            batch.push(queued.entry);
        }
        self.waiting.store(records.len(), Ordering::Relaxed);
        drop(records);
        self.woken.store(false, Ordering::Release);
        bytes
    }

    /// Records waiting now.
    pub(crate) fn len(&self) -> usize {
        self.records.locked().len()
    }

    /// Records handed to the queue so far: queued, taken or dropped.
    pub(crate) fn emitted(&self) -> u64 {
        self.emitted.load(Ordering::Relaxed)
    }

    /// Records dropped so far.
    #[cfg(test)]
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Takes no more records.
    pub(crate) fn close(&self) {
        self.open.store(false, Ordering::Relaxed);
    }
}

/// The log processor that hands every record to the export thread, which
/// batches and exports it with the spans.
#[derive(Debug)]
pub(crate) struct QueueLogs(pub(crate) Arc<LogQueue>);

impl LogProcessor for QueueLogs {
    fn emit(&self, record: &mut SdkLogRecord, scope: &InstrumentationScope) {
        self.0.push(record, scope);
    }

    /// The pipeline's flush sends the records queued.
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    /// The pipeline's shutdown sends the records queued; none is taken
    /// after this.
    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        self.0.close();
        Ok(())
    }
}
