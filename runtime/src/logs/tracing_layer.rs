//! `tracing` events as OpenTelemetry log records, through
//! opentelemetry-appender-tracing, installed as a `tracing-subscriber` layer.

use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

use super::route::{Routed, RoutedLogger};
use crate::global_state::{self, Hook};

/// A `tracing-subscriber` layer that turns every `tracing` event into an
/// OpenTelemetry log record, tagged with the trace and span ids of the
/// current OpenTelemetry span (a `#[traced]` call, or any other
/// instrumentation's), for the logs pipeline of `traced::init()`.
///
/// `traced::init()` installs it by itself when no `tracing` subscriber is
/// set. To keep your own layers (a stdout fmt layer, an `EnvFilter`), add it
/// to your subscriber instead, before calling `traced::init()`:
///
/// ```
/// use tracing_subscriber::layer::SubscriberExt;
/// use tracing_subscriber::util::SubscriberInitExt;
///
/// tracing_subscriber::registry()
///     .with(traced::logs::tracing_layer())
///     // .with(tracing_subscriber::fmt::layer())   // your stdout lines, as before
///     .init();
/// let _guard = traced::Config::new().exporter(traced::Exporter::None).init()?;
///
/// #[traced::traced]
/// fn reserve(item: &str) {
///     tracing::info!(item, "reserved"); // a log record with reserve's trace and span ids
/// }
/// reserve("lamp");
/// # Ok::<(), traced::InitError>(())
/// ```
pub struct TracingLayer {
    bridge: OpenTelemetryTracingBridge<Routed, RoutedLogger>,
}

impl std::fmt::Debug for TracingLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TracingLayer").finish_non_exhaustive()
    }
}

/// The layer that turns `tracing` events into OpenTelemetry log records; see
/// [`TracingLayer`].
pub fn tracing_layer() -> TracingLayer {
    TracingLayer {
        bridge: OpenTelemetryTracingBridge::new(&Routed),
    }
}

impl<S> Layer<S> for TracingLayer
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_layer(&mut self, _subscriber: &mut S) {
        global_state::tracing_layer_added();
    }

    fn on_event(&self, event: &tracing::Event<'_>, cx: Context<'_, S>) {
        // OpenTelemetry's own diagnostics ("Global tracer provider is set", an
        // exporter's retries) are not the program's logs, and exporting them
        // could feed on itself.
        if !event.metadata().target().starts_with("opentelemetry") {
            self.bridge.on_event(event, cx);
        }
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
                "traced: a tracing subscriber is already set; add traced::logs::tracing_layer() \
                 to it for `tracing` events to become OpenTelemetry logs"
            );
        }
        set
    });
}
