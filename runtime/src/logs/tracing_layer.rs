//! traced's `tracing-subscriber` layer: `tracing` spans become spans of the
//! same pipeline as `#[traced]` ones (the library-span bridge), and `tracing`
//! events OpenTelemetry log records (opentelemetry-appender-tracing), under
//! one per-layer filter that picks which spans are recorded.

use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

use super::route::{Routed, RoutedLogger};
use crate::config::{Env, library_spans_from_env, print_warnings};
use crate::global_state::{self, Hook};
use crate::library_spans::{LibrarySpanFilter, SpanBridge, filter_is_set, set_filter};

/// The `tracing-subscriber` layer through which traced takes what `tracing`
/// reports: spans become spans of the same trace as `#[traced]` functions,
/// events become OpenTelemetry log records tagged with the span they were
/// written in.
///
/// - **Spans** a filter in `RUST_LOG` syntax lets through
///   (`TRACED_LIBRARY_SPANS`, or
///   [`Config::library_spans`](crate::Config::library_spans); default
///   `info`) are recorded like `#[traced]` spans: the same sampling, limits,
///   export, tail sampling and console waterfall. A `tracing` span created
///   inside a `#[traced]` function is its child; a `#[traced]` function (or
///   any OpenTelemetry code) called inside an entered `tracing` span is that
///   span's child. Fields are attributes; `otel.name`, `otel.kind`,
///   `otel.status_code`, `otel.status_description` and `error` mean what
///   they mean to tracing-opentelemetry. A span the filter rejects costs
///   nothing beyond `tracing`'s own check, and its children nest under the
///   nearest recorded ancestor.
/// - **Events** become log records with the trace and span ids of the
///   current span, kept from
///   [`Config::log_level`](crate::Config::log_level) up.
///
/// `traced::init()` installs it by itself when no `tracing` subscriber is
/// set. To keep your own layers (a stdout fmt layer, an `EnvFilter` for
/// them), add it to your subscriber instead, before calling `traced::init()`;
/// its filter applies to this layer alone:
///
/// ```
/// use tracing_subscriber::layer::SubscriberExt;
/// use tracing_subscriber::util::SubscriberInitExt;
///
/// tracing_subscriber::registry()
///     .with(traced::tracing_layer())
///     // .with(tracing_subscriber::fmt::layer())   // your stdout lines, as before
///     .init();
/// let _guard = traced::Config::new().exporter(traced::Exporter::None).init()?;
///
/// #[tracing::instrument]
/// fn pick(item: &str) {
///     tracing::info!("picked");  // a log record of the `pick` span
/// }
///
/// #[traced::traced]
/// fn reserve(item: &str) {
///     pick(item);                // the `pick` span, a child of `reserve`
/// }
/// reserve("lamp");
/// # Ok::<(), traced::InitError>(())
/// ```
///
/// Do not add tracing-opentelemetry's layer beside it: both would record
/// every `tracing` span.
pub fn tracing_layer<S>() -> impl Layer<S> + Send + Sync + 'static
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    // The environment's filter, unless `init()` (or an earlier layer) set one.
    if !filter_is_set() {
        let env = Env::process();
        set_filter(&library_spans_from_env(&env), false);
        print_warnings(&env);
    }
    TracingBridge {
        spans: SpanBridge,
        records: OpenTelemetryTracingBridge::new(&Routed),
    }
    .with_filter(LibrarySpanFilter)
}

/// Spans and events, each to its bridge.
struct TracingBridge {
    spans: SpanBridge,
    records: OpenTelemetryTracingBridge<Routed, RoutedLogger>,
}

impl<S> Layer<S> for TracingBridge
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_layer(&mut self, _subscriber: &mut S) {
        global_state::tracing_layer_added();
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, cx: Context<'_, S>) {
        self.spans.on_new_span(attrs, id, cx);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, cx: Context<'_, S>) {
        self.spans.on_record(id, values, cx);
    }

    fn on_follows_from(&self, id: &Id, follows: &Id, cx: Context<'_, S>) {
        self.spans.on_follows_from(id, follows, cx);
    }

    fn on_event(&self, event: &Event<'_>, cx: Context<'_, S>) {
        self.spans.on_event(event, cx.clone());
        // OpenTelemetry's own diagnostics ("Global tracer provider is set", an
        // exporter's retries) are not the program's logs, and exporting them
        // could feed on itself.
        if !event.metadata().target().starts_with("opentelemetry") {
            self.records.on_event(event, cx);
        }
    }

    fn on_enter(&self, id: &Id, cx: Context<'_, S>) {
        self.spans.on_enter(id, cx);
    }

    fn on_exit(&self, id: &Id, cx: Context<'_, S>) {
        self.spans.on_exit(id, cx);
    }

    fn on_close(&self, id: Id, cx: Context<'_, S>) {
        self.spans.on_close(id, cx);
    }
}

/// Sets a subscriber holding the layer as the global default, once, unless
/// the program set one already; says so once if that one lacks the layer.
pub(crate) fn install() {
    global_state::hook_once(Hook::TracingSubscriber, || {
        let set = !tracing::dispatcher::has_been_set()
            && tracing::subscriber::set_global_default(
                tracing_subscriber::registry().with(tracing_layer()),
            )
            .is_ok();
        if !set && !global_state::tracing_layer_in_use() {
            eprintln!(
                "traced: a tracing subscriber is already set; add traced::tracing_layer() to it \
                 for `tracing` spans to become spans and `tracing` events OpenTelemetry logs"
            );
        }
        set
    });
}
