//! Exports under way. Each sink may have several at once, up to a limit:
//! their futures are polled on the export thread, which their completion
//! wakes, and each holds its batch's bytes against the memory budget until it
//! completes. Batches may complete in any order. A panic inside an export
//! fails that export, never the thread.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::Duration;

use opentelemetry_sdk::error::OTelSdkResult;

use super::budget::Reservation;
use super::sink::{ExportFuture, Exporting, describe, panicked};

/// Which signal a sink carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SignalKind {
    Spans,
    Logs,
}

/// One sink of the export thread: its signal and its place among that
/// signal's sinks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SinkId {
    pub(crate) signal: SignalKind,
    pub(crate) index: usize,
}

/// The longest the thread sleeps between two looks at exports in flight,
/// should a wake-up go astray.
const LOOK_AGAIN: Duration = Duration::from_millis(50);

/// The exports in flight, and the failures of those that completed.
pub(crate) struct InFlight {
    exports: Vec<Export>,
    /// Exports in flight per sink, at most.
    limit: usize,
    /// Unparks the export thread.
    waker: Waker,
    failures: Vec<(SignalKind, String)>,
}

struct Export {
    sink: SinkId,
    future: ExportFuture,
    _held: Arc<Reservation>,
}

impl std::fmt::Debug for InFlight {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InFlight")
            .field("exports", &self.exports.len())
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

impl InFlight {
    /// Exports of the calling thread (the export thread, which completions
    /// wake), at most `limit` per sink at once.
    pub(crate) fn new(limit: usize) -> InFlight {
        InFlight {
            exports: Vec::new(),
            limit: limit.max(1),
            waker: Waker::from(Arc::new(Unpark(thread::current()))),
            failures: Vec::new(),
        }
    }

    /// Takes over what `sink` made of a batch: a finished export is settled
    /// at once, an unfinished one waits here holding `held`. Wait for room
    /// first ([`InFlight::wait_for_room`]).
    pub(crate) fn start(&mut self, sink: SinkId, exporting: Exporting, held: &Arc<Reservation>) {
        match exporting {
            Exporting::Done(result) => self.settle(sink.signal, result),
            Exporting::InFlight(future) => {
                self.exports.push(Export {
                    sink,
                    future,
                    _held: Arc::clone(held),
                });
                // Polled once at once: an exporter that needs no waiting
                // (in memory, say) is done here.
                let last = self.exports.len() - 1;
                self.poll_one(last);
            }
        }
    }

    /// Settles every export that has completed.
    pub(crate) fn poll(&mut self) {
        let mut index = 0;
        while index < self.exports.len() {
            if !self.poll_one(index) {
                index += 1;
            }
        }
    }

    /// Polls export `index`; `true` when it completed (and was removed).
    fn poll_one(&mut self, index: usize) -> bool {
        let mut context = Context::from_waker(&self.waker);
        let future = &mut self.exports[index].future;
        let polled = catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(&mut context)))
            .unwrap_or_else(|_| Poll::Ready(Err(panicked("exporting"))));
        match polled {
            Poll::Ready(result) => {
                let export = self.exports.swap_remove(index);
                self.settle(export.sink.signal, result);
                true
            }
            Poll::Pending => false,
        }
    }

    fn settle(&mut self, signal: SignalKind, result: OTelSdkResult) {
        if let Err(error) = result {
            self.failures.push((signal, describe(&error)));
        }
    }

    /// Waits until `sink` may start another export.
    pub(crate) fn wait_for_room(&mut self, sink: SinkId) {
        let limit = self.limit;
        self.wait_until(|exports| {
            exports.iter().filter(|export| export.sink == sink).count() < limit
        });
    }

    /// Waits until every export has completed.
    pub(crate) fn wait_all(&mut self) {
        self.wait_until(<[Export]>::is_empty);
    }

    fn wait_until(&mut self, done: impl Fn(&[Export]) -> bool) {
        loop {
            self.poll();
            if done(&self.exports) {
                return;
            }
            thread::park_timeout(LOOK_AGAIN);
        }
    }

    /// The failures of the exports that completed since the last call.
    pub(crate) fn take_failures(&mut self) -> Vec<(SignalKind, String)> {
        std::mem::take(&mut self.failures)
    }
}
