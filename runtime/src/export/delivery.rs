//! Counting every span on its way out, so that what was lost (a full queue, a
//! collector that is down, a shutdown that ran out of time) is reported once,
//! with numbers, instead of per span or not at all.

#![cfg_attr(not(feature = "otlp"), allow(dead_code))]

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::sync::MutexExt;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

/// Span counts of one exporting pipeline.
#[derive(Debug, Default)]
pub(crate) struct Delivery {
    exported: AtomicU64,
    failed: AtomicU64,
    last_error: Mutex<Option<String>>,
    failure_reported: AtomicBool,
}

/// What became of the spans that ended while tracing was installed.
#[derive(Clone, Debug, PartialEq, Eq)]
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
    /// The last export error, if any.
    pub last_error: Option<String>,
}

impl DeliveryReport {
    /// Whether every ended span was delivered, or dropped by tail sampling.
    pub fn is_complete(&self) -> bool {
        self.exported + self.sampled_out == self.ended
    }
}

impl fmt::Display for DeliveryReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} of {} spans not delivered ({} in failed exports, {} dropped: queue full or \
             shutdown wait exceeded)",
            self.ended.saturating_sub(self.exported + self.sampled_out),
            self.ended,
            self.failed,
            self.dropped
        )?;
        if let Some(error) = &self.last_error {
            write!(f, "; last export error: {error}")?;
        }
        Ok(())
    }
}

impl Delivery {
    /// The report, given how many spans have ended so far (the pipeline's
    /// queue counts those) and how many of them tail sampling dropped.
    pub(crate) fn report(&self, ended: u64, sampled_out: u64) -> DeliveryReport {
        let exported = self.exported.load(Ordering::Acquire);
        let failed = self.failed.load(Ordering::Acquire);
        DeliveryReport {
            ended,
            exported,
            failed,
            dropped: ended.saturating_sub(exported + failed + sampled_out),
            sampled_out,
            last_error: self.last_error.locked().clone(),
        }
    }

    /// Spans exported, and in failed exports, so far.
    pub(crate) fn counts(&self) -> (u64, u64) {
        (
            self.exported.load(Ordering::Acquire),
            self.failed.load(Ordering::Acquire),
        )
    }

    fn record(&self, spans: u64, result: &OTelSdkResult, destination: &str, hint: Option<&str>) {
        match result {
            Ok(()) => {
                self.exported.fetch_add(spans, Ordering::AcqRel);
            }
            Err(error) => {
                self.failed.fetch_add(spans, Ordering::AcqRel);
                let error = redact_urls(&error.to_string());
                if !self.failure_reported.swap(true, Ordering::AcqRel) {
                    let hint = hint.map(|hint| format!(" ({hint})")).unwrap_or_default();
                    eprintln!(
                        "traced: exporting spans to {destination} failed: {error}{hint}; further \
                         failures are counted and reported at shutdown"
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

/// Counts the spans of each export request by its outcome, behind the batch
/// processor.
#[derive(Debug)]
pub(crate) struct CountExported<E> {
    pub(crate) inner: E,
    pub(crate) delivery: Arc<Delivery>,
    /// Where spans go, fit to print.
    pub(crate) destination: String,
    /// Advice printed with the first failure.
    pub(crate) hint: Option<String>,
}

impl<E: SpanExporter> SpanExporter for CountExported<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let spans = batch.len() as u64;
        let result = self.inner.export(batch).await;
        self.delivery
            .record(spans, &result, &self.destination, self.hint.as_deref());
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
