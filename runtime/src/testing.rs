//! Capturing real spans and log records in tests: the native pipeline
//! `traced::init()` installs, exporting to memory, a capture behind traced's
//! log bridges, and helpers to pick out one trace and render it.
//!
//! Log records are captured from the `tracing` and `log` bridges (features
//! `tracing`, `log`; installed here when the program set no subscriber or
//! logger of its own) and from exceptions recorded as logs, at every
//! severity, whatever `traced::init()` is doing at the same time. With the
//! `tracing` feature, `tracing` spans the library-span filter lets through
//! (`TRACED_LIBRARY_SPANS`, `info` by default) are captured as spans, nested
//! with `#[traced]` ones.
//!
//! Captures go through the native pipeline `traced::init()` installs. With
//! `TRACED_TESTING_PROVIDER=sdk` in the environment they go through an
//! `opentelemetry_sdk` provider in the global slot instead: the path
//! `#[traced]` takes in a program that installs a provider of its own.
//!
//! The capturing pipeline goes back into place whenever a capture starts and
//! finds another one there (one `traced::init()` installed and its guard
//! removed, or a provider a test installed by hand), so captures do not
//! depend on the order tests run in. While another provider is installed,
//! spans go to it: a test that holds a `traced::init()` guard, or installs
//! its own provider, belongs in its own test binary.
//!
//! ```
//! use traced::testing::{FinishedSpanExt as _, capture};
//!
//! #[traced::traced(attrs(rows = 3))]
//! fn query() {}
//!
//! let ((), trace) = capture(query);
//! assert_eq!(trace.tree(), "query\n");
//! assert_eq!(trace.span("query").attr("rows"), Some(&3_i64.into()));
//! ```
//!
//! ```
//! # #[cfg(feature = "tracing")] {
//! #[traced::traced]
//! fn reserve(item: &str) {
//!     tracing::warn!(item, "last one");
//! }
//!
//! let (_, trace) = traced::testing::capture(|| reserve("lamp"));
//! let span = trace.span("reserve");
//! let logs = trace.logs_of(span);
//! assert_eq!(traced::testing::message(logs[0]), "last one");
//! # }
//! ```

use std::cell::Cell;
use std::future::Future;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use opentelemetry::logs::{AnyValue, Severity};
use opentelemetry::trace::{Span as _, SpanId, TraceContextExt, TraceId, Tracer, TracerProvider};
use opentelemetry::{Context, InstrumentationScope, Value, global};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::{InMemoryLogExporter, SdkLoggerProvider};
use opentelemetry_sdk::trace::{
    InMemorySpanExporter, Sampler, SdkTracer, SdkTracerProvider, SpanData,
};

pub use opentelemetry_sdk::logs::SdkLogRecord as LogRecord;
pub use opentelemetry_sdk::trace::SpanData as FinishedSpan;

use crate::pipeline::{ExporterSink, Limits, MemoryBudget, Pipeline, Settings};
use crate::sync::MutexExt;
use crate::{ExceptionSignal, dispatch, global_state};

/// Where captures record spans: the native pipeline `traced::init()`
/// installs, or (with `TRACED_TESTING_PROVIDER=sdk`) an
/// `opentelemetry_sdk` provider in the global slot, the path `#[traced]`
/// takes in a program that installs its own provider.
enum Capturer {
    Native {
        pipeline: Pipeline,
        exporter: InMemorySpanExporter,
    },
    Sdk {
        provider: SdkTracerProvider,
        exporter: InMemorySpanExporter,
    },
}

/// The variable that chooses [`Capturer::Sdk`].
const PROVIDER_VARIABLE: &str = "TRACED_TESTING_PROVIDER";

fn capturer() -> &'static Capturer {
    static CAPTURER: OnceLock<Capturer> = OnceLock::new();
    CAPTURER.get_or_init(|| {
        let exporter = InMemorySpanExporter::default();
        let sdk = std::env::var(PROVIDER_VARIABLE)
            .is_ok_and(|value| value.trim().eq_ignore_ascii_case("sdk"));
        if sdk {
            let provider = SdkTracerProvider::builder()
                .with_simple_exporter(exporter.clone())
                .build();
            return Capturer::Sdk { provider, exporter };
        }
        let settings = Settings {
            sampler: Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
            root_sampler: Some(Sampler::AlwaysOn),
            recording: true,
            limits: Limits::default(),
            resource: Resource::builder_empty()
                .with_service_name("traced-testing")
                .build(),
            sinks: vec![Box::new(ExporterSink::new(exporter.clone()))],
            span_starts: None,
            on_wake: None,
            monotonic_clock: crate::config::monotonic_clock(&crate::config::Env::process()),
            max_export_batch_size: 512,
            schedule_delay: Duration::from_millis(50),
            max_concurrent_exports: 1,
            budget: MemoryBudget::new(256 * 1024 * 1024),
            logs: None,
            max_pending_spans: None,
            tail_sampling: None,
            metrics: None,
        };
        Capturer::Native {
            pipeline: Pipeline::start(settings),
            exporter,
        }
    })
}

/// The scope name the capturing SDK provider notices, to tell whether it is
/// still the one in the global slot.
const PROBE_SCOPE: &str = "traced.testing.probe";

thread_local! {
    static PROBED: Cell<bool> = const { Cell::new(false) };
}

/// The capturing SDK provider, as it sits in the global slot.
#[derive(Debug)]
struct Capturing(SdkTracerProvider);

impl TracerProvider for Capturing {
    type Tracer = SdkTracer;

    fn tracer_with_scope(&self, scope: InstrumentationScope) -> SdkTracer {
        if scope.name() == PROBE_SCOPE {
            PROBED.set(true);
        }
        self.0.tracer_with_scope(scope)
    }
}

fn sdk_provider_installed() -> bool {
    PROBED.set(false);
    let _ = global::tracer_provider()
        .tracer_with_scope(InstrumentationScope::builder(PROBE_SCOPE).build());
    PROBED.get()
}

fn log_exporter() -> &'static InMemoryLogExporter {
    static EXPORTER: OnceLock<InMemoryLogExporter> = OnceLock::new();
    EXPORTER.get_or_init(|| {
        let exporter = InMemoryLogExporter::default();
        let provider = SdkLoggerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        crate::logs::install_tap(provider);
        crate::logs::install_bridges(Severity::Trace);
        crate::logs::install_panic_hook();
        exporter
    })
}

/// Makes the capturing pipeline the one traced calls and the global tracer
/// provider use (once per process, and again whenever something else, an
/// `init()` guard that came and went or another provider, took its place),
/// and captures every log record.
pub fn install() {
    static INSTALLING: Mutex<()> = Mutex::new(());
    let _installing = INSTALLING.locked();
    match capturer() {
        Capturer::Native { pipeline, .. } => {
            if !dispatch::native_installed(pipeline.shared()) {
                dispatch::install_native(pipeline.shared());
            }
        }
        Capturer::Sdk { provider, .. } => {
            // Under dispatch's lock: a first traced call on another thread,
            // probing the global slot at this moment, would otherwise put its
            // placeholder over the provider going in.
            let _transition = global_state::transition();
            if !sdk_provider_installed() {
                global::set_tracer_provider(Capturing(provider.clone()));
            }
        }
    }
    drop(_installing);
    log_exporter();
}

/// Every span finished so far in this process.
pub fn finished_spans() -> Vec<SpanData> {
    match capturer() {
        Capturer::Native { pipeline, exporter } => {
            let _ = pipeline.drain(Instant::now() + Duration::from_secs(10));
            exporter.get_finished_spans().unwrap_or_default()
        }
        Capturer::Sdk { exporter, .. } => exporter.get_finished_spans().unwrap_or_default(),
    }
}

/// Reading captured spans.
pub trait FinishedSpanExt {
    /// The value of attribute `key`, if the span has it.
    fn attr(&self, key: &str) -> Option<&Value>;
}

impl FinishedSpanExt for SpanData {
    fn attr(&self, key: &str) -> Option<&Value> {
        self.attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| &kv.value)
    }
}

/// Every log record written so far in this process (once [`install`]ed).
pub fn finished_logs() -> Vec<LogRecord> {
    log_exporter()
        .get_emitted_logs()
        .unwrap_or_default()
        .into_iter()
        .map(|log| log.record)
        .collect()
}

/// The text of a record's body (strings as they are, other values in their
/// debug form), or an empty string.
pub fn message(record: &LogRecord) -> String {
    match record.body() {
        Some(AnyValue::String(text)) => text.to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

/// Sets how exceptions are recorded, for the whole process, as
/// `OTEL_SEMCONV_EXCEPTION_SIGNAL_OPT_IN` (or
/// [`Config::exception_signal`](crate::Config::exception_signal)) would.
/// `traced::init()` sets it again, and dropping its guard goes back to the
/// environment's.
pub fn set_exception_signal(signal: ExceptionSignal) {
    crate::logs::set_exception_signal_for_tests(signal);
}

/// The spans one closure produced: it runs under a fresh capture span, and
/// everything finished in that trace is returned, the capture span itself left
/// out (its children appear as roots).
pub fn capture<R>(f: impl FnOnce() -> R) -> (R, Trace) {
    let (root, cx) = capture_context();
    let result = {
        let _attached = cx.attach();
        f()
    };
    (result, collect(root))
}

/// The async form of [`capture`]: `start` is called under the capture span
/// (traced async functions start their span when called), and the future it
/// returns is awaited under it.
pub async fn capture_async<F, Fut>(start: F) -> (Fut::Output, Trace)
where
    F: FnOnce() -> Fut,
    Fut: Future,
{
    use opentelemetry::context::FutureExt;
    let (root, cx) = capture_context();
    let future = {
        let _attached = cx.clone().attach();
        start()
    };
    let result = future.with_context(cx).await;
    (result, collect(root))
}

fn capture_context() -> ((TraceId, SpanId), Context) {
    install();
    let tracer = global::tracer_provider().tracer("traced.testing");
    let span = tracer.start_with_context("capture", &Context::new());
    let sc = span.span_context().clone();
    let cx = Context::current().with_span(span);
    ((sc.trace_id(), sc.span_id()), cx)
}

fn collect((trace_id, root): (TraceId, SpanId)) -> Trace {
    let logs = finished_logs()
        .into_iter()
        .filter(|record| {
            record
                .trace_context()
                .is_some_and(|context| context.trace_id == trace_id)
        })
        .collect();
    let spans = finished_spans()
        .into_iter()
        .filter(|span| {
            span.span_context.trace_id() == trace_id && span.span_context.span_id() != root
        })
        .map(|mut span| {
            if span.parent_span_id == root {
                span.parent_span_id = SpanId::INVALID;
            }
            span
        })
        .collect();
    Trace { spans, logs }
}

/// The spans and log records of one captured trace.
#[derive(Debug, Clone)]
pub struct Trace {
    spans: Vec<SpanData>,
    logs: Vec<LogRecord>,
}

impl Trace {
    /// The log records written in this trace, in the order they were written
    /// (those written directly under the capture carry its span id).
    pub fn logs(&self) -> &[LogRecord] {
        &self.logs
    }

    /// The log records written while `span` was the current span.
    pub fn logs_of(&self, span: &SpanData) -> Vec<&LogRecord> {
        self.logs
            .iter()
            .filter(|record| {
                record
                    .trace_context()
                    .is_some_and(|context| context.span_id == span.span_context.span_id())
            })
            .collect()
    }

    /// All spans, in the order they finished.
    pub fn spans(&self) -> &[SpanData] {
        &self.spans
    }

    /// The one span named `name`; panics when there is none or several.
    pub fn span(&self, name: &str) -> &SpanData {
        let mut found = self.spans.iter().filter(|span| span.name == name);
        let span = found
            .next()
            .unwrap_or_else(|| panic!("no span named {name:?} in {:?}", self.names()));
        assert!(found.next().is_none(), "several spans named {name:?}");
        span
    }

    /// Names of all spans, in the order they finished.
    pub fn names(&self) -> Vec<&str> {
        self.spans.iter().map(|span| span.name.as_ref()).collect()
    }

    /// The parent of `span` within this trace, if any.
    pub fn parent_of(&self, span: &SpanData) -> Option<&SpanData> {
        self.spans
            .iter()
            .find(|candidate| candidate.span_context.span_id() == span.parent_span_id)
    }

    /// The tree of span names, one per line, children indented under their
    /// parent in start order: stable text for assertions and snapshots.
    pub fn tree(&self) -> String {
        let mut out = String::new();
        let mut roots: Vec<&SpanData> = self
            .spans
            .iter()
            .filter(|span| self.parent_of(span).is_none())
            .collect();
        roots.sort_by_key(|span| span.start_time);
        for root in roots {
            self.write_tree(&mut out, root, 0);
        }
        out
    }

    fn write_tree(&self, out: &mut String, span: &SpanData, depth: usize) {
        out.push_str(&"  ".repeat(depth));
        out.push_str(&span.name);
        out.push('\n');
        let mut kids: Vec<&SpanData> = self
            .spans
            .iter()
            .filter(|kid| kid.parent_span_id == span.span_context.span_id())
            .collect();
        kids.sort_by_key(|kid| kid.start_time);
        for kid in kids {
            self.write_tree(out, kid, depth + 1);
        }
    }
}
