//! Where the export thread sends finished spans: any
//! `opentelemetry_sdk::trace::SpanExporter` (OTLP, in-memory for tests), and
//! the console; and what else a sink may be told about the spans. Every call
//! into a sink is guarded: a panic fails that call (an export, a flush, a
//! shutdown), never the export thread.

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use opentelemetry::trace::TraceId;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

use super::KeepReason;

/// A destination of the export thread. Calls block until done.
pub(crate) trait Sink: Send + fmt::Debug {
    fn export(&mut self, batch: Vec<SpanData>) -> OTelSdkResult;

    /// Whether spans go out as soon as they reach the export thread (the
    /// console) instead of in batches.
    fn immediate(&self) -> bool {
        false
    }

    fn force_flush(&mut self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown(&mut self, timeout: Duration) -> OTelSdkResult;

    fn set_resource(&mut self, resource: &Resource);

    /// Tail sampling decided trace `trace_id`.
    fn decided(&mut self, _trace_id: TraceId, _decision: TraceDecision) {}
}

/// The error of a sink that panicked while `doing` something.
pub(crate) fn panicked(doing: &str) -> OTelSdkError {
    OTelSdkError::InternalFailure(format!("the exporter panicked while {doing}"))
}

/// Runs a sink's call, turning a panic into a failure of `doing`.
pub(crate) fn guarded<T>(
    doing: &str,
    call: impl FnOnce() -> T,
    on_panic: impl FnOnce(OTelSdkError) -> T,
) -> T {
    catch_unwind(AssertUnwindSafe(call)).unwrap_or_else(|_| on_panic(panicked(doing)))
}

/// What tail sampling decided about one trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TraceDecision {
    /// Kept for this reason: its spans come in the batches that follow.
    Kept(KeepReason),
    /// Dropped: this many of its spans never come.
    Dropped { spans: usize },
}

/// Told of every recording span as it starts, on the thread that starts it:
/// for sinks that wait for every span of a trace.
pub(crate) trait SpanStarts: Send + Sync + fmt::Debug {
    fn started(&self, trace_id: TraceId);
}

/// A `SpanExporter` as a sink: its export future is driven to completion on
/// the export thread.
#[derive(Debug)]
pub(crate) struct ExporterSink<E>(pub(crate) E);

impl<E: SpanExporter> Sink for ExporterSink<E> {
    fn export(&mut self, batch: Vec<SpanData>) -> OTelSdkResult {
        let exporter = &self.0;
        futures_executor::block_on(exporter.export(batch))
    }

    fn force_flush(&mut self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn shutdown(&mut self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.0.set_resource(resource);
    }
}
