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

/// The names of this process's threads (Linux: `/proc/self/task/*/comm`).
#[cfg(target_os = "linux")]
fn thread_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .filter_map(|task| {
            let comm = task.ok()?.path().join("comm");
            Some(std::fs::read_to_string(comm).ok()?.trim().to_owned())
        })
        .collect();
    names.sort();
    names
}

/// The threads that tracing libraries start, by their names: traced's, and
/// the OpenTelemetry SDK's (its log batch thread, say).
#[cfg(target_os = "linux")]
fn library_threads() -> Vec<String> {
    thread_names()
        .into_iter()
        .filter(|name| name.starts_with("traced-") || name.starts_with("OpenTelemetry"))
        .collect()
}

#[cfg(target_os = "linux")]
#[test]
fn repro_spans_and_logs_over_otlp_take_two_background_threads() {
    const NAME: &str = "repro_spans_and_logs_over_otlp_take_two_background_threads";
    // In a process of its own: no other test's threads come and go.
    if !traced_tests::child::in_child() {
        traced_tests::child::rerun(NAME, &[]);
        return;
    }
    let before = library_threads();
    let guard = Config::new()
        .otlp_endpoint(format!("http://127.0.0.1:{}", traced_peers::free_port()))
        .init()
        .expect("init");
    checkout();
    // A new thread carries its parent's name until it names itself: wait
    // (10 s at most) until no thread but this one carries this one's.
    let own = std::fs::read_to_string("/proc/thread-self/comm").expect("this thread's name");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while thread_names()
        .iter()
        .filter(|name| **name == own.trim())
        .count()
        > 1
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let mut started = library_threads();
    for name in &before {
        if let Some(at) = started.iter().position(|started| started == name) {
            started.remove(at);
        }
    }
    drop(guard);
    // The signal thread is started once per process, by the first init().
    started.retain(|name| name != "traced-signals");
    assert_eq!(
        started,
        ["traced-export", "traced-otlp"],
        "one export thread for spans and logs, one OTLP runtime worker"
    );
}
