//! Capturing real spans in tests: the native pipeline `traced::init()`
//! installs, exporting to memory, and helpers to pick out one trace and
//! render it.

use std::future::Future;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use opentelemetry::trace::{Span as _, SpanId, TraceContextExt, TraceId, Tracer, TracerProvider};
use opentelemetry::{Context, global};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{InMemorySpanExporter, Sampler, SpanData};

pub use opentelemetry_sdk::trace::SpanData as FinishedSpan;

use crate::dispatch;
use crate::pipeline::sink::ExporterSink;
use crate::pipeline::{Limits, Pipeline, Settings};

/// The capturing pipeline of this process.
struct Capture {
    pipeline: Pipeline,
    exporter: InMemorySpanExporter,
}

fn capture_pipeline() -> &'static Capture {
    static CAPTURE: OnceLock<Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let exporter = InMemorySpanExporter::default();
        let settings = Settings {
            sampler: Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
            recording: true,
            limits: Limits::default(),
            resource: Resource::builder_empty()
                .with_service_name("traced-testing")
                .build(),
            sinks: vec![Box::new(ExporterSink(exporter.clone()))],
            open_spans: None,
            max_export_batch_size: 512,
            schedule_delay: Duration::from_millis(50),
            pending_budget: 256 * 1024 * 1024,
        };
        Capture {
            pipeline: Pipeline::start(settings),
            exporter,
        }
    })
}

/// Makes the capturing pipeline the one traced calls and the global tracer
/// provider use: once per process, and again whenever something else (an
/// `init()` guard that came and went, another provider) took its place.
pub fn install() {
    static INSTALLING: Mutex<()> = Mutex::new(());
    let capture = capture_pipeline();
    let _installing = INSTALLING.lock().unwrap_or_else(PoisonError::into_inner);
    if !(capture.pipeline.is_current() && dispatch::native_installed()) {
        capture.pipeline.make_current();
        dispatch::install_native(capture.pipeline.shared());
    }
}

/// Every span finished so far in this process.
pub fn finished_spans() -> Vec<SpanData> {
    let capture = capture_pipeline();
    let _ = capture
        .pipeline
        .drain(Instant::now() + Duration::from_secs(10));
    capture.exporter.get_finished_spans().unwrap_or_default()
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
    Trace { spans }
}

/// The spans of one captured trace.
#[derive(Debug, Clone)]
pub struct Trace {
    spans: Vec<SpanData>,
}

impl Trace {
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
