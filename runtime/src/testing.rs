//! Capturing real spans in tests: an in-memory exporter behind the global
//! tracer provider, and helpers to pick out one trace and render it.
//!
//! The capturing provider goes back into the global slot whenever a capture
//! starts and finds another provider there (one `traced::init()` installed
//! and its guard removed, or one a test installed by hand), so captures do
//! not depend on the order tests run in. While another provider is
//! installed, spans go to it: a test that holds a `traced::init()` guard, or
//! installs its own provider, belongs in its own test binary.
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

use std::cell::Cell;
use std::future::Future;
use std::sync::{Mutex, OnceLock, PoisonError};

use opentelemetry::trace::{Span as _, SpanId, TraceContextExt, TraceId, Tracer, TracerProvider};
use opentelemetry::{Context, InstrumentationScope, Value, global};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracer, SdkTracerProvider, SpanData};

pub use opentelemetry_sdk::trace::SpanData as FinishedSpan;

/// The scope name a probe asks the global provider for: only the capturing
/// provider notices it.
const PROBE_SCOPE: &str = "traced.testing.probe";

thread_local! {
    static PROBED: Cell<bool> = const { Cell::new(false) };
}

/// The capturing provider, as it sits in the global slot.
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

/// The provider and exporter of this process, kept here so that being
/// replaced in the global slot never shuts them down.
fn capturing() -> &'static (SdkTracerProvider, InMemorySpanExporter) {
    static CAPTURING: OnceLock<(SdkTracerProvider, InMemorySpanExporter)> = OnceLock::new();
    CAPTURING.get_or_init(|| {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        (provider, exporter)
    })
}

/// Whether the global provider is the capturing one: asked for a tracer of
/// the probe scope, it notices, on this thread.
fn is_installed() -> bool {
    PROBED.set(false);
    let _ = global::tracer_provider()
        .tracer_with_scope(InstrumentationScope::builder(PROBE_SCOPE).build());
    PROBED.get()
}

/// Installs a global provider that keeps every finished span in memory, or
/// installs it again if another provider has replaced it since.
pub fn install() {
    static INSTALLING: Mutex<()> = Mutex::new(());
    if is_installed() {
        return;
    }
    let _installing = INSTALLING.lock().unwrap_or_else(PoisonError::into_inner);
    if !is_installed() {
        global::set_tracer_provider(Capturing(capturing().0.clone()));
    }
}

/// Every span finished so far in this process (while the capturing
/// provider was installed).
pub fn finished_spans() -> Vec<SpanData> {
    capturing().1.get_finished_spans().unwrap_or_default()
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
    let tracer = capturing().0.tracer("traced.testing");
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
