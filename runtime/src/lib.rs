//! One-line OpenTelemetry distributed tracing.
//!
//! `#[traced]` turns a function (sync or async, free or method) into a span;
//! `#[traced_impl]` does the same for every method of an impl block. Spans are
//! real OpenTelemetry spans: while a traced body runs, its span is the current
//! span of `opentelemetry::Context`, so other OpenTelemetry instrumentation
//! nests under it, writes to it and propagates it. They go out over OTLP to
//! any collector, or print as a waterfall when there is none.
//!
//! Under [`init`], spans are recorded by traced's own pipeline: a small span
//! handle in the context, ids from a per-thread generator, the CPU's
//! time-stamp counter for times, and on end a fixed-size record in the
//! ending thread's queue, which one export thread turns into `SpanData` for
//! the exporters. Spans other OpenTelemetry code starts through the global
//! tracer go the same way. A provider the application installs itself with
//! `opentelemetry::global::set_tracer_provider` gets traced's spans through
//! the OpenTelemetry API instead.
//!
//! ```
//! use traced::traced;
//!
//! #[derive(Debug)]
//! struct Cart;
//!
//! #[traced(kind = client, attrs(db.system.name = "postgresql"))]
//! fn load_cart(#[attr] id: u64) -> Result<Cart, std::io::Error> {
//!     Ok(Cart)
//! }
//!
//! let _guard = traced::Config::new().exporter(traced::Exporter::None).init().unwrap();
//! load_cart(7).unwrap();
//! ```
//!
//! # Where things are
//!
//! | | |
//! |---|---|
//! | [`traced`], [`traced_impl`], [`untraced`] | the attributes, their options and examples |
//! | [`init`], [`Config`], [`TracingGuard`], [`flush`] | set-up from `OTEL_*` or code; flush on drop, on demand and on SIGTERM |
//! | `shutdown_signal` | graceful shutdown of tokio services (axum's `with_graceful_shutdown`) |
//! | [`propagation`] | `inject` / `extract` over headers, metadata and message attributes |
//! | [`messaging`] | PRODUCER and CONSUMER spans for any queue |
//! | `spawn`, [`spawn_thread`], [`FutureExt`] | carry the context into tasks and threads |
//! | [`suppress`], [`suppressed`] | trace nothing beneath, tell downstream not to sample |
//! | [`current`] | attributes, events, errors and baggage on the current span |
//! | [`logs`] | OpenTelemetry logs tagged with their span; `tracing` and `log` bridges; exceptions |
//! | `integrations` | HTTP server/client, reqwest and tonic layers (features below) |
//! | `testing` | capture real spans in tests (feature `testing`) |
//!
//! # Features
//!
//! | feature | default | gives |
//! |---|---|---|
//! | `otlp` | yes | OTLP export over gRPC and HTTP/protobuf |
//! | `tokio` | yes | `spawn`, `spawn_blocking`, `shutdown_signal` |
//! | `tower` | | `integrations::HttpServerLayer`, `integrations::HttpClientLayer` |
//! | `axum` | | route templates, original URIs and peer addresses for the server layer |
//! | `reqwest` | | `integrations::TracingMiddleware` for reqwest-middleware |
//! | `grpc` | | tonic layers and the `MetadataMap` carrier |
//! | `tracing` | | `tracing` events become log records of the current span (`logs::tracing_layer`) |
//! | `log` | | `log` records become log records of the current span (`logs::log_logger`) |
//! | `testing` | | `testing::capture` and friends, spans and log records |

#![cfg_attr(docsrs, feature(doc_cfg))]
// Only `signals` may use `unsafe` (two libc calls for SIGTERM and SIGINT).
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub use opentelemetry;
pub use opentelemetry_sdk;
pub use traced_macros::{traced, traced_impl, untraced};

mod config;
pub mod current;
mod dispatch;
mod exception;
mod export;
#[cfg(unix)]
mod fork;
mod global_state;
#[cfg(feature = "tokio")]
mod graceful;
mod init;
#[cfg(any(feature = "tower", feature = "reqwest"))]
pub mod integrations;
pub mod logs;
pub mod messaging;
mod pipeline;
pub mod propagation;
#[cfg(unix)]
mod signals;
mod suppress;
mod sync;
mod task;
#[cfg(feature = "testing")]
pub mod testing;

pub use config::{
    B3Encoding, B3Propagator, Compression, Config, ConfigError, ExceptionSignal, Exporter,
    JaegerPropagator, Propagator, Protocol, Signal, TailSampling,
};
pub use export::DeliveryReport;
#[cfg(feature = "tokio")]
pub use graceful::shutdown_signal;
pub use init::{ExporterError, InitError, ShutdownError, TracingGuard, flush, init};
/// Carries a context into a future: `fut.with_current_context()` keeps the
/// context that is current now current during every poll of `fut`;
/// `fut.with_context(cx)` does the same with `cx`. Use it for futures handed
/// to an executor (`tokio::spawn`, `join_set.spawn`, a stream), where the
/// task would otherwise start with an empty context and a new trace. See
/// `spawn` (feature `tokio`) for the shortcut.
pub use opentelemetry::context::FutureExt;
pub use pipeline::TailSamplingReport;
pub use suppress::{SuppressGuard, is_suppressed, suppress, suppressed};
pub use task::{bind, spawn_thread};
#[cfg(feature = "tokio")]
pub use task::{spawn, spawn_blocking};

#[doc(hidden)]
#[path = "private/mod.rs"]
pub mod __private;
