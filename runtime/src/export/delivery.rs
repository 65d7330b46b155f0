//! Counting every span and log record on its way out, per signal, so that
//! what was lost (a full queue, a collector that is down, a shutdown that
//! ran out of time) is reported once, with numbers, instead of per item or
//! not at all.

#![cfg_attr(not(feature = "otlp"), allow(dead_code))]

use std::fmt;
#[cfg(feature = "otlp")]
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogBatch, LogExporter};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

use crate::config::{FailureHints, Signal};
use crate::pipeline::describe;
use crate::sync::MutexExt;

/// The export counts of one signal.
#[derive(Debug)]
pub(crate) struct Delivery {
    signal: Signal,
    exported: AtomicU64,
    failed: AtomicU64,
    last_error: Mutex<Option<String>>,
    failure_reported: AtomicBool,
}

/// What became of the spans and log records that ended while tracing was
/// installed, counted for those that go over OTLP.
///
/// The span counts are those of spans sent over OTLP (all zero when spans
/// go elsewhere); [`DeliveryReport::logs`] holds the log records' when they
/// go over OTLP.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeliveryReport {
    /// Spans that ended and were handed to the exporting pipeline.
    pub ended: u64,
    /// Spans the collector accepted.
    pub exported: u64,
    /// Spans in export requests that failed (collector down, refused, timed out).
    pub failed: u64,
    /// Spans dropped because the queue was full, or still queued (or held
    /// by tail sampling) when the shutdown wait ran out.
    pub dropped: u64,
    /// Spans of the traces tail sampling dropped: decided, not lost (see
    /// [`TracingGuard::tail_sampling`](crate::TracingGuard::tail_sampling)).
    pub sampled_out: u64,
    /// The last span export error, if any.
    pub last_error: Option<String>,
    /// The log records, when they go over OTLP.
    pub logs: Option<LogDeliveryReport>,
}

/// What became of the log records written at or above the log level while
/// tracing was installed: one part of a [`DeliveryReport`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogDeliveryReport {
    /// Records handed to the exporting pipeline.
    pub emitted: u64,
    /// Records the collector accepted.
    pub exported: u64,
    /// Records in export requests that failed.
    pub failed: u64,
    /// Records dropped because the pending memory was full, or still queued
    /// when the shutdown wait ran out.
    pub dropped: u64,
    /// The last log export error, if any.
    pub last_error: Option<String>,
}

impl DeliveryReport {
    /// The report of the spans counted by `spans` (of which `ended` ended
    /// and tail sampling dropped `sampled_out`), and of the log records
    /// counted by `logs` (of which `emitted` were written).
    pub(crate) fn new(
        spans: Option<(&Delivery, u64, u64)>,
        logs: Option<(&Delivery, u64)>,
    ) -> DeliveryReport {
        let (ended, exported, failed, sampled_out, last_error) = match spans {
            Some((delivery, ended, sampled_out)) => (
                ended,
                delivery.exported(),
                delivery.failed(),
                sampled_out,
                delivery.last_error(),
            ),
            None => (0, 0, 0, 0, None),
        };
        DeliveryReport {
            ended,
            exported,
            failed,
            dropped: ended.saturating_sub(exported + failed + sampled_out),
            sampled_out,
            last_error,
            logs: logs.map(|(delivery, emitted)| {
                let (exported, failed) = (delivery.exported(), delivery.failed());
                LogDeliveryReport {
                    emitted,
                    exported,
                    failed,
                    dropped: emitted.saturating_sub(exported + failed),
                    last_error: delivery.last_error(),
                }
            }),
        }
    }

    /// Whether every ended span was delivered, or dropped by tail sampling,
    /// and every log record was delivered.
    pub fn is_complete(&self) -> bool {
        self.spans_complete()
            && self
                .logs
                .as_ref()
                .is_none_or(LogDeliveryReport::is_complete)
    }

    fn spans_complete(&self) -> bool {
        self.exported + self.sampled_out == self.ended
    }
}

impl LogDeliveryReport {
    /// Whether every record was delivered.
    pub fn is_complete(&self) -> bool {
        self.exported == self.emitted
    }
}

impl fmt::Display for DeliveryReport {
    /// `N of M spans not delivered (..)` and the same for log records, each
    /// when something is missing, or what was delivered when nothing is.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let logs = self.logs.as_ref();
        let mut parts = Vec::new();
        if !self.spans_complete() {
            parts.push(undelivered(
                "spans",
                self.ended,
                self.ended.saturating_sub(self.exported + self.sampled_out),
                self.failed,
                self.dropped,
                "queue full",
                self.last_error.as_deref(),
            ));
        }
        if let Some(logs) = logs.filter(|logs| !logs.is_complete()) {
            parts.push(undelivered(
                "log records",
                logs.emitted,
                logs.emitted.saturating_sub(logs.exported),
                logs.failed,
                logs.dropped,
                "pending memory full",
                logs.last_error.as_deref(),
            ));
        }
        if parts.is_empty() {
            write!(f, "all {} spans delivered", self.exported)?;
            if let Some(logs) = logs {
                write!(f, " and all {} log records", logs.exported)?;
            }
            return Ok(());
        }
        f.write_str(&parts.join("; "))
    }
}

fn undelivered(
    what: &str,
    total: u64,
    lost: u64,
    failed: u64,
    dropped: u64,
    full: &str,
    last_error: Option<&str>,
) -> String {
    let mut text = format!(
        "{lost} of {total} {what} not delivered ({failed} in failed exports, {dropped} dropped: \
         {full} or shutdown wait exceeded)"
    );
    if let Some(error) = last_error {
        text.push_str(&format!("; last export error: {error}"));
    }
    text
}

impl Delivery {
    pub(crate) fn new(signal: Signal) -> Delivery {
        Delivery {
            signal,
            exported: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            last_error: Mutex::new(None),
            failure_reported: AtomicBool::new(false),
        }
    }

    /// Items exported, and in failed exports, so far.
    pub(crate) fn counts(&self) -> (u64, u64) {
        (self.exported(), self.failed())
    }

    fn exported(&self) -> u64 {
        self.exported.load(Ordering::Acquire)
    }

    fn failed(&self) -> u64 {
        self.failed.load(Ordering::Acquire)
    }

    fn last_error(&self) -> Option<String> {
        self.last_error.locked().clone()
    }

    fn record(&self, items: u64, result: &OTelSdkResult, destination: &str, hints: &FailureHints) {
        match result {
            Ok(()) => {
                self.exported.fetch_add(items, Ordering::AcqRel);
            }
            Err(error) => {
                self.failed.fetch_add(items, Ordering::AcqRel);
                let error = redact_urls(&describe(error));
                if !self.failure_reported.swap(true, Ordering::AcqRel) {
                    let hint = hints
                        .for_error(&error)
                        .map(|hint| format!(" ({hint})"))
                        .unwrap_or_default();
                    eprintln!(
                        "traced: exporting {} to {destination} failed: {error}{hint}; further \
                         failures are counted and reported at shutdown",
                        self.signal
                    );
                }
                *self.last_error.locked() = Some(error);
            }
        }
    }
}

/// Transport errors may quote the URL, credentials and all.
fn redact_urls(text: &str) -> String {
    text.split(' ')
        .map(crate::config::redact_url)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Counts the items of each export request by its outcome, in front of an
/// exporter of spans or log records.
#[derive(Debug)]
pub(crate) struct CountExported<E> {
    pub(crate) inner: E,
    pub(crate) delivery: Arc<Delivery>,
    /// Where the items go, fit to print.
    pub(crate) destination: String,
    /// Advice printed with the first failure.
    pub(crate) hints: FailureHints,
}

#[cfg(feature = "otlp")]
impl<E> CountExported<E> {
    /// `inner`, an exporter of `signal` to the collector `settings` name,
    /// counting into a delivery report of its own.
    pub(crate) fn otlp(inner: E, signal: Signal, settings: &crate::config::OtlpSettings) -> Self {
        CountExported {
            inner,
            delivery: Arc::new(Delivery::new(signal)),
            destination: crate::config::redact_url(&settings.endpoint),
            hints: FailureHints::new(settings),
        }
    }
}

#[cfg(feature = "otlp")]
impl<E> CountExported<E> {
    /// Runs `export`, of `items` items, counting them by its outcome.
    pub(crate) async fn counted(
        &self,
        items: u64,
        export: impl Future<Output = OTelSdkResult>,
    ) -> OTelSdkResult {
        let result = export.await;
        self.delivery
            .record(items, &result, &self.destination, &self.hints);
        result
    }
}

impl<E: SpanExporter> SpanExporter for CountExported<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let spans = batch.len() as u64;
        let result = self.inner.export(batch).await;
        self.delivery
            .record(spans, &result, &self.destination, &self.hints);
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

impl<E: LogExporter> LogExporter for CountExported<E> {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        let records = batch.iter().count() as u64;
        let result = self.inner.export(batch).await;
        self.delivery
            .record(records, &result, &self.destination, &self.hints);
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counted(signal: Signal, exported: u64, failed: u64, error: Option<&str>) -> Delivery {
        let delivery = Delivery::new(signal);
        delivery.exported.store(exported, Ordering::Release);
        delivery.failed.store(failed, Ordering::Release);
        *delivery.last_error.locked() = error.map(str::to_owned);
        delivery
    }

    #[test]
    fn the_report_counts_spans_and_log_records_apart() {
        let spans = counted(Signal::Traces, 90, 4, Some("refused"));
        let logs = counted(Signal::Logs, 10, 0, None);
        let report = DeliveryReport::new(Some((&spans, 100, 2)), Some((&logs, 10)));
        assert_eq!(
            (
                report.dropped,
                report.logs.as_ref().map(|logs| logs.dropped)
            ),
            (4, Some(0))
        );
        assert!(!report.is_complete());
        assert_eq!(
            report.to_string(),
            "8 of 100 spans not delivered (4 in failed exports, 4 dropped: queue full or \
             shutdown wait exceeded); last export error: refused"
        );

        let spans = counted(Signal::Traces, 3, 0, None);
        let logs = counted(Signal::Logs, 7000, 512, Some("timed out"));
        let report = DeliveryReport::new(Some((&spans, 3, 0)), Some((&logs, 10_000)));
        assert_eq!(
            report.to_string(),
            "3000 of 10000 log records not delivered (512 in failed exports, 2488 dropped: \
             pending memory full or shutdown wait exceeded); last export error: timed out"
        );

        let logs = counted(Signal::Logs, 5, 0, None);
        let report = DeliveryReport::new(Some((&spans, 3, 0)), Some((&logs, 5)));
        assert!(report.is_complete());
        assert_eq!(
            report.to_string(),
            "all 3 spans delivered and all 5 log records"
        );
    }

    #[test]
    fn log_records_alone_leave_the_span_counts_at_zero() {
        let logs = counted(Signal::Logs, 2, 1, Some("refused"));
        let report = DeliveryReport::new(None, Some((&logs, 3)));
        assert_eq!((report.ended, report.exported), (0, 0));
        assert_eq!(
            report.to_string(),
            "1 of 3 log records not delivered (1 in failed exports, 0 dropped: pending memory \
             full or shutdown wait exceeded); last export error: refused"
        );
    }
}
