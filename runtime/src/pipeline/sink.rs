//! Where the export thread sends what it batches, one sink per signal and
//! destination: spans to any `opentelemetry_sdk::trace::SpanExporter` (OTLP,
//! in-memory for tests) or the console, log records to any
//! `opentelemetry_sdk::logs::LogExporter`; and what else a span sink may be
//! told about the spans. A sink that encodes spans itself (OTLP) takes them
//! one by one as they are released ([`SpanEncoder`]), read in place from
//! their records: no `SpanData` is built for it.
//!
//! An export either finishes at once (the console) or is a future the export
//! thread polls beside the other exports in flight. Every call into a sink
//! is guarded: a panic fails that call (an export, a flush, a shutdown),
//! never the export thread.

use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::InstrumentationScope;
use opentelemetry::trace::TraceId;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::logs::{LogBatch, LogExporter, SdkLogRecord};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

use super::KeepReason;
use super::span_view::SpanView;

/// An export under way, polled on the export thread.
pub(crate) type ExportFuture = Pin<Box<dyn Future<Output = OTelSdkResult> + Send>>;

/// What a sink makes of a batch.
pub(crate) enum Exporting {
    /// Done already.
    Done(OTelSdkResult),
    /// Done when the future completes; other exports may run meanwhile.
    InFlight(ExportFuture),
}

impl fmt::Debug for Exporting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exporting::Done(result) => f.debug_tuple("Done").field(result).finish(),
            Exporting::InFlight(_) => f.write_str("InFlight"),
        }
    }
}

/// A destination of the export thread's spans.
pub(crate) trait Sink: Send + fmt::Debug {
    fn export(&mut self, batch: Vec<SpanData>) -> Exporting;

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

    /// The sink's own encoder, when it encodes spans as they are released
    /// instead of taking batches of `SpanData`.
    fn encoder(&mut self) -> Option<&mut dyn SpanEncoder> {
        None
    }
}

/// A sink's batch, encoded span by span as the export thread releases them.
pub(crate) trait SpanEncoder {
    /// Adds the span a record says; the record goes on its way after.
    fn add_record(&mut self, span: SpanView<'_>);

    /// Adds a span that was built as `SpanData` (tail sampling holds spans
    /// with details so).
    fn add_span(&mut self, span: &SpanData);

    /// What the batch encoded so far weighs.
    fn bytes(&self) -> usize;

    /// Exports the batch encoded so far; the next starts empty.
    fn export_encoded(&mut self) -> Exporting;
}

/// A log record with the scope it was written in.
pub(crate) type LogEntry = (SdkLogRecord, InstrumentationScope);

/// A destination of the export thread's log records. A batch is shared by
/// every log sink.
pub(crate) trait LogSink: Send + fmt::Debug {
    fn export(&mut self, batch: &Arc<Vec<LogEntry>>) -> Exporting;

    fn shutdown(&mut self, timeout: Duration) -> OTelSdkResult;

    fn set_resource(&mut self, resource: &Resource);
}

/// What an exporter's error says, said once: without the SDK's
/// `Operation failed: ` in front (the message it goes into says what
/// failed), and without a cause its source chain repeats
/// (`tcp connect error: tcp connect error: ..`, `invalid peer certificate:
/// UnknownIssuer: invalid peer certificate: UnknownIssuer`).
pub(crate) fn describe(error: &OTelSdkError) -> String {
    let text = match error {
        OTelSdkError::InternalFailure(reason) => reason.clone(),
        OTelSdkError::Timeout(waited) => format!("timed out after {waited:?}"),
        other => other.to_string(),
    };
    let mut said: Vec<&str> = Vec::new();
    for part in text.split(": ") {
        said.push(part);
        // A run of causes just said again is said once.
        if let Some(run) = (1..=said.len() / 2)
            .find(|&run| said[said.len() - run..] == said[said.len() - 2 * run..said.len() - run])
        {
            said.truncate(said.len() - run);
        }
    }
    said.join(": ")
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

/// A `SpanExporter` as a sink: each batch's export is a future of its own,
/// so several may be in flight (the exporter takes `&self`).
#[derive(Debug)]
pub(crate) struct ExporterSink<E> {
    exporter: Arc<E>,
}

impl<E> ExporterSink<E> {
    pub(crate) fn new(exporter: E) -> Self {
        ExporterSink {
            exporter: Arc::new(exporter),
        }
    }
}

impl<E: SpanExporter + 'static> Sink for ExporterSink<E> {
    fn export(&mut self, batch: Vec<SpanData>) -> Exporting {
        let exporter = Arc::clone(&self.exporter);
        Exporting::InFlight(Box::pin(async move { exporter.export(batch).await }))
    }

    fn force_flush(&mut self) -> OTelSdkResult {
        self.exporter.force_flush()
    }

    fn shutdown(&mut self, timeout: Duration) -> OTelSdkResult {
        self.exporter.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        // Set while the pipeline is built, before any export holds a clone.
        if let Some(exporter) = Arc::get_mut(&mut self.exporter) {
            exporter.set_resource(resource);
        }
    }
}

/// A `LogExporter` as a sink, as [`ExporterSink`] is for spans.
#[derive(Debug)]
#[cfg_attr(not(feature = "otlp"), allow(dead_code))]
pub(crate) struct LogExporterSink<E> {
    exporter: Arc<E>,
}

#[cfg_attr(not(feature = "otlp"), allow(dead_code))]
impl<E> LogExporterSink<E> {
    pub(crate) fn new(exporter: E) -> Self {
        LogExporterSink {
            exporter: Arc::new(exporter),
        }
    }
}

impl<E: LogExporter + 'static> LogSink for LogExporterSink<E> {
    fn export(&mut self, batch: &Arc<Vec<LogEntry>>) -> Exporting {
        let exporter = Arc::clone(&self.exporter);
        let batch = Arc::clone(batch);
        Exporting::InFlight(Box::pin(async move {
            let borrowed: Vec<(&SdkLogRecord, &InstrumentationScope)> = batch
                .iter()
                .map(|(record, scope)| (record, scope))
                .collect();
            exporter.export(LogBatch::new(&borrowed)).await
        }))
    }

    fn shutdown(&mut self, timeout: Duration) -> OTelSdkResult {
        self.exporter.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        if let Some(exporter) = Arc::get_mut(&mut self.exporter) {
            exporter.set_resource(resource);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use opentelemetry_sdk::error::OTelSdkError;

    use super::describe;

    #[test]
    fn repro_an_export_error_says_operation_failed_and_its_causes_once() {
        let refused = OTelSdkError::InternalFailure(
            "TonicTracesClient export failed with gRPC code: Unavailable: transport error: tcp \
             connect error: tcp connect error: Connection refused (os error 111)"
                .into(),
        );
        assert_eq!(
            describe(&refused),
            "TonicTracesClient export failed with gRPC code: Unavailable: transport error: tcp \
             connect error: Connection refused (os error 111)"
        );
        let untrusted = OTelSdkError::InternalFailure(
            "transport error: invalid peer certificate: UnknownIssuer: invalid peer certificate: \
             UnknownIssuer"
                .into(),
        );
        assert_eq!(
            describe(&untrusted),
            "transport error: invalid peer certificate: UnknownIssuer"
        );
        assert_eq!(
            describe(&OTelSdkError::Timeout(Duration::from_secs(2))),
            "timed out after 2s"
        );
    }
}
