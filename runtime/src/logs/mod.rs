//! Logs tagged with their trace: OpenTelemetry logs beside the spans.
//!
//! `traced::init()` also sets up OpenTelemetry logs: a logger provider with
//! the spans' resource, sending to the same place as the spans (OTLP to the
//! same collector, batched by `OTEL_BLRP_*` on the export thread that sends
//! the spans, within the same memory budget, every record that cannot be
//! delivered counted in the [`DeliveryReport`](crate::DeliveryReport); or
//! into the console waterfall, each line under its span), keeping records
//! from [`Config::log_level`](crate::Config::log_level) up. The guard flushes
//! and shuts it down with the spans.
//!
//! Two bridges, through the OpenTelemetry appender crates, bring your log
//! lines in:
//!
//! | feature | bridge | installed by `init()` |
//! |---|---|---|
#![cfg_attr(
    feature = "tracing",
    doc = "| `tracing` | [`tracing_layer`]: `tracing` events (opentelemetry-appender-tracing), in the layer that also records `tracing` spans | as the global subscriber, when none is set |"
)]
#![cfg_attr(
    not(feature = "tracing"),
    doc = "| `tracing` | `tracing_layer`: `tracing` events (opentelemetry-appender-tracing), in the layer that also records `tracing` spans | as the global subscriber, when none is set |"
)]
#![cfg_attr(
    feature = "log",
    doc = "| `log` | [`log_logger`]: `log` records (opentelemetry-appender-log) | as the `log` logger, when none is set |"
)]
#![cfg_attr(
    not(feature = "log"),
    doc = "| `log` | `log_logger`: `log` records (opentelemetry-appender-log) | as the `log` logger, when none is set |"
)]
//!
//! A record takes its trace id and span id from
//! `opentelemetry::Context::current()` where it is written: inside a
//! `#[traced]` function that is the function's span, across `.await`, in
//! tasks started with `traced::spawn` and threads started with
//! `traced::spawn_thread`, under `traced::init()` as under a tracer provider
//! the application installed itself.
//!
//! ```
//! # #[cfg(feature = "tracing")] {
//! #[traced::traced]
//! fn reserve(item: &str) -> Result<(), std::io::Error> {
//!     tracing::info!(item, "reserving");   // carries reserve's trace id and span id
//!     Ok(())
//! }
//!
//! let _guard = traced::Config::new().exporter(traced::Exporter::None).init()?;
//! reserve("lamp")?;
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Exceptions
//!
//! A returned `Err` or a panic sets status `Error` and `error.type` on the
//! span; the exception itself (`exception.type`, `exception.message`, and for
//! a panic `exception.stacktrace` when `RUST_BACKTRACE` is set) goes where
//! [`ExceptionSignal`](crate::ExceptionSignal) says: a span event (the
//! default), a log record correlated with the span
//! (`OTEL_SEMCONV_EXCEPTION_SIGNAL_OPT_IN=logs`), or both (`logs/dup`).
//!
//! # For users of `tracing`
//!
//! - **`#[instrument]` and libraries' spans.** With the `tracing` feature,
//!   `tracing` spans become spans of the same pipeline as `#[traced]` ones,
//!   nested both ways with them, through the same layer that turns events
//!   into log records (`traced::tracing_layer`, also reachable here as
//!   `logs::tracing_layer`, where it lived when it carried log records
//!   only). `#[traced]` makes the OpenTelemetry span directly (cheaper
//!   still, see the benchmarks) and records panics and cancellation; the two
//!   live together.
//! - **Libraries that log with `tracing`** (sqlx, hyper, tower-http, tonic):
//!   their events become log records like yours, tagged with the span that is
//!   current where they are emitted: their own span, or the `#[traced]`
//!   function they run for. Events from a library's own background tasks (a
//!   connection driver, a pool's reaper) run outside any request and carry
//!   none. Their `debug` and `trace` events are below the default level
//!   (`info`); lower it with `TRACED_LOG_LEVEL` or
//!   [`Config::log_level`](crate::Config::log_level).
//! - **Keeping your stdout lines.** Build your subscriber with both layers,
//!   before `traced::init()`:
//!
//!   ```
//!   # #[cfg(feature = "tracing")] {
//!   use tracing_subscriber::layer::SubscriberExt;
//!   use tracing_subscriber::util::SubscriberInitExt;
//!
//!   tracing_subscriber::registry()
//!       .with(traced::tracing_layer())              // spans and OpenTelemetry log records
//!       // .with(tracing_subscriber::fmt::layer())  // your stdout lines, unchanged
//!       .init();
//!   let _guard = traced::Config::new().exporter(traced::Exporter::None).init()?;
//!   # }
//!   # Ok::<(), traced::InitError>(())
//!   ```
//!
//!   A subscriber set before `init()` without the layer is left alone, and
//!   `init()` says once on stderr that its spans and events are not taken.
//!   Set yours before `init()`: `tracing` allows one global subscriber, so a
//!   subscriber set after `init()` installed its own is refused.

mod exception;
mod level;
#[cfg(feature = "log")]
mod log_bridge;
mod panic;
mod pipeline;
mod route;
#[cfg(feature = "tracing")]
mod tracing_layer;

#[cfg(feature = "testing")]
pub(crate) use exception::set_exception_signal_for_tests;
pub(crate) use exception::{Exception, record_exception};
pub(crate) use level::AtLeast;
#[cfg(feature = "log")]
pub use log_bridge::{LogLogger, log_logger};
pub(crate) use panic::PanicException;
pub(crate) use pipeline::LogPipeline;
#[cfg(feature = "testing")]
pub(crate) use route::install_tap;
#[cfg(feature = "tracing")]
pub use tracing_layer::tracing_layer;

/// The bridges of the enabled features, each installed once per process
/// unless the program set its own; `level` is the lowest severity wanted.
pub(crate) fn install_bridges(level: opentelemetry::logs::Severity) {
    #[cfg(feature = "tracing")]
    tracing_layer::install();
    #[cfg(feature = "log")]
    log_bridge::install(level);
    let _ = level;
}

/// Installs the panic hook that takes a panic's backtrace for
/// `exception.stacktrace`.
#[cfg(feature = "testing")]
pub(crate) fn install_panic_hook() {
    panic::install_hook();
}
