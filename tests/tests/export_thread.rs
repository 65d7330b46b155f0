//! The export thread under `traced::init()`: what a sink does while it
//! exports (an exporter over an instrumented HTTP client, say) makes no
//! telemetry of its own.
//!
//! `init()` installs process-wide state, so the tests of this binary take
//! turns.

use std::sync::{Arc, Mutex};

use traced::opentelemetry::trace::{Span as _, Tracer as _};
use traced::opentelemetry_sdk::error::OTelSdkResult;
use traced::opentelemetry_sdk::trace::{SpanData, SpanExporter};
use traced::{Config, traced};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// An exporter that is instrumented itself, as one sending through a traced
/// or OpenTelemetry-instrumented HTTP client is: each export calls a
/// `#[traced]` function and starts a span through the global tracer.
#[derive(Clone, Debug, Default)]
struct Instrumented {
    exports: Arc<Mutex<Vec<Vec<String>>>>,
}

#[traced(kind = client)]
fn post_batch(spans: usize) -> usize {
    let mut request = traced::opentelemetry::global::tracer("http-client").start("POST /v1/traces");
    request.end();
    spans
}

impl SpanExporter for Instrumented {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        post_batch(batch.len());
        let names = batch.iter().map(|span| span.name.to_string()).collect();
        self.exports.lock().unwrap().push(names);
        Ok(())
    }
}

#[traced]
fn checkout() {}

#[test]
fn repro_an_instrumented_exporter_does_not_feed_itself() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let exporter = Instrumented::default();
    let guard = Config::new()
        .span_exporter(exporter.clone())
        .init()
        .expect("init");
    checkout();
    for _ in 0..3 {
        guard.flush().expect("flushed");
    }
    drop(guard);
    assert_eq!(
        *exporter.exports.lock().unwrap(),
        [["checkout"]],
        "one export of the one application span, and nothing of the exporter's own"
    );
}
