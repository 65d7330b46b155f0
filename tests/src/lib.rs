//! Shared helpers for the behaviour tests of `traced`.

pub mod alloc;
pub mod tls;

use std::time::Duration;

use traced::opentelemetry::trace::{Event, SpanKind, Status, TraceId};
use traced::opentelemetry::{KeyValue, Value, global};
use traced::opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use traced::testing::{FinishedSpan, LogRecord, Trace, message};

/// The value of attribute `key` on `span`.
pub fn attribute<'a>(span: &'a FinishedSpan, key: &str) -> Option<&'a Value> {
    find(&span.attributes, key)
}

/// The value of attribute `key` among `attributes`.
pub fn find<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

/// The events of `span` named `name`.
pub fn events<'a>(span: &'a FinishedSpan, name: &str) -> Vec<&'a Event> {
    span.events.iter().filter(|e| e.name == name).collect()
}

/// The status description of an errored span; panics on any other status.
pub fn error_message(span: &FinishedSpan) -> &str {
    match &span.status {
        Status::Error { description } => description,
        other => panic!("span {:?} has status {other:?}, not Error", span.name),
    }
}

/// A string attribute's text; panics when missing or not a string.
pub fn text<'a>(span: &'a FinishedSpan, key: &str) -> &'a str {
    match attribute(span, key) {
        Some(Value::String(s)) => s.as_str(),
        other => panic!(
            "attribute {key:?} of span {:?} is {other:?}, not a string",
            span.name
        ),
    }
}

/// The record of `trace` whose message is `text`; panics when there is none
/// or several.
pub fn log_record<'a>(trace: &'a Trace, text: &str) -> &'a LogRecord {
    let mut found = trace.logs().iter().filter(|r| message(r) == text);
    let record = found.next().unwrap_or_else(|| {
        let all: Vec<_> = trace.logs().iter().map(message).collect();
        panic!("no record {text:?} in {all:?}")
    });
    assert!(found.next().is_none(), "several records {text:?}");
    record
}

/// Asserts that `record` carries the trace id and span id of `span`.
#[track_caller]
pub fn assert_written_in(record: &LogRecord, span: &FinishedSpan) {
    let context = record
        .trace_context()
        .expect("a record with a trace context");
    assert_eq!(context.trace_id, span.span_context.trace_id());
    assert_eq!(
        context.span_id,
        span.span_context.span_id(),
        "{:?} not written in {:?}",
        message(record),
        span.name
    );
}

/// The finished spans of `trace_id` (the capture span left out) once `count`
/// of them have finished: server spans end when their response has been sent,
/// which can be after the caller read it. Panics after 20 s.
pub async fn spans_of(trace_id: TraceId, count: usize) -> Vec<FinishedSpan> {
    let wait = async {
        loop {
            let spans: Vec<_> = traced::testing::finished_spans()
                .into_iter()
                .filter(|span| span.span_context.trace_id() == trace_id && span.name != "capture")
                .collect();
            if spans.len() >= count {
                return spans;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), wait)
        .await
        .unwrap_or_else(|_| panic!("trace {trace_id} never reached {count} spans"))
}

/// The one span of `kind` named `name` among `spans`; panics when there is
/// none or several.
pub fn span_named<'a>(spans: &'a [FinishedSpan], name: &str, kind: SpanKind) -> &'a FinishedSpan {
    let mut found = spans
        .iter()
        .filter(|span| span.name == name && span.span_kind == kind);
    let span = found.next().unwrap_or_else(|| {
        let names: Vec<_> = spans.iter().map(|s| (&s.name, &s.span_kind)).collect();
        panic!("no {kind:?} span {name:?} in {names:?}")
    });
    assert!(found.next().is_none(), "several {kind:?} spans {name:?}");
    span
}

/// Asserts that `child`'s parent is `parent`.
#[track_caller]
pub fn assert_child(child: &FinishedSpan, parent: &FinishedSpan) {
    assert_eq!(
        child.parent_span_id,
        parent.span_context.span_id(),
        "{:?} should be a child of {:?}",
        child.name,
        parent.name
    );
}

/// Installs an `opentelemetry_sdk` provider in the global slot, as an
/// application does, exporting to the returned in-memory exporter; the
/// returned clone keeps it from shutting down (and clearing its exporter)
/// when a later one replaces it.
pub fn install_sdk_provider() -> (SdkTracerProvider, InMemorySpanExporter) {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    global::set_tracer_provider(provider.clone());
    (provider, exporter)
}

/// Whether this process captures through a provider the application
/// installed itself (see [`rerun_on_a_user_provider`]).
pub fn on_a_user_provider() -> bool {
    std::env::var_os("TRACED_TESTING_PROVIDER").is_some()
}

/// The trace flags a trace started in this process is sent with: sampled or
/// not, and W3C Level 2's `random` flag where the native pipeline started
/// it (an `opentelemetry_sdk` provider does not set it).
pub fn started_here_flags(sampled: bool) -> &'static str {
    match (on_a_user_provider(), sampled) {
        (false, true) => "03",
        (false, false) => "02",
        (true, true) => "01",
        (true, false) => "00",
    }
}

/// Runs every other test of the calling test binary again, in a child
/// process whose captures go through an `opentelemetry_sdk` provider the
/// application installed itself (`TRACED_TESTING_PROVIDER=sdk`) instead of
/// the native pipeline: every behaviour holds on both paths. Call it from a
/// test named `every_test_here_passes_on_a_user_provider`.
pub fn rerun_on_a_user_provider() {
    const VARIABLE: &str = "TRACED_TESTING_PROVIDER";
    const NAME: &str = "every_test_here_passes_on_a_user_provider";
    if std::env::var_os(VARIABLE).is_some() {
        return; // the child itself
    }
    let output = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args(["--skip", NAME])
        .env(VARIABLE, "sdk")
        .output()
        .expect("running the tests again");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "on a user provider:\n{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("test result: ok") && !stdout.contains(" 0 passed"),
        "no test ran on a user provider:\n{stdout}"
    );
}

/// Running one test of the calling test binary again, in a child process of
/// its own: for tests that install process-wide state (`traced::init()`,
/// a provider of their own) or need their own environment.
pub mod child {
    use std::process::{Command, Output};

    const CHILD: &str = "TRACED_TEST_CHILD";

    /// Whether this process is such a child.
    pub fn in_child() -> bool {
        std::env::var_os(CHILD).is_some()
    }

    /// The command that runs test `name` of this binary again with `env`,
    /// and no inherited `OTEL_*`, `TRACED_*`, `NO_COLOR` or `COLUMNS`
    /// variable.
    pub fn command(name: &str, env: &[(&str, &str)]) -> Command {
        let mut command = Command::new(std::env::current_exe().expect("test binary"));
        command.args([name, "--exact", "--nocapture", "--test-threads=1"]);
        for (key, _) in std::env::vars() {
            if key.starts_with("OTEL_")
                || key.starts_with("TRACED_")
                || key == "NO_COLOR"
                || key == "COLUMNS"
            {
                command.env_remove(key);
            }
        }
        command.env(CHILD, "1").envs(env.iter().copied());
        command
    }

    /// Runs test `name` again as [`command`] says; panics with its output
    /// unless it passes.
    pub fn rerun(name: &str, env: &[(&str, &str)]) -> Output {
        let output = command(name, env).output().expect("running the child test");
        assert!(
            output.status.success(),
            "child failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }
}
