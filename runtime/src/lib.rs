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
//! | [`shutdown_signal`] | graceful shutdown of tokio services (axum's `with_graceful_shutdown`) |
//! | [`propagation`] | `inject` / `extract` over headers, metadata and message attributes |
//! | [`messaging`] | PRODUCER and CONSUMER spans for any queue |
//! | [`spawn`], [`spawn_thread`], [`FutureExt`] | carry the context into tasks and threads |
//! | [`suppress`], [`suppressed`] | trace nothing beneath, tell downstream not to sample |
//! | [`current`] | attributes, events, errors and baggage on the current span |
//! | [`logs`] | OpenTelemetry logs tagged with their span; `tracing` and `log` bridges; exceptions |
//! | [`tracing_layer`] | `tracing` spans as spans of the same trace, events as log records (feature `tracing`) |
//! | [`integrations`] | HTTP server/client, reqwest and tonic layers (features below) |
//! | [`testing`] | capture real spans in tests (feature `testing`) |
//!
//! # Features
//!
//! | feature | default | gives |
//! |---|---|---|
//! | `otlp` | yes | OTLP export over gRPC and HTTP/protobuf |
//! | `tokio` | yes | [`spawn`], [`spawn_blocking`], [`shutdown_signal`] |
//! | `tower` | | [`HttpServerLayer`], [`HttpClientLayer`] |
//! | `axum` | | route templates, original URIs and peer addresses for the server layer |
//! | `reqwest` | | [`TracingMiddleware`] for reqwest-middleware |
//! | `grpc` | | [`GrpcServerLayer`], [`GrpcClientLayer`] and the `MetadataMap` carrier |
//! | `tracing` | | `tracing` spans become spans, nested both ways with `#[traced]` ones, and events log records of the current span ([`tracing_layer`]) |
//! | `log` | | `log` records become log records of the current span ([`logs::log_logger`]) |
//! | `testing` | | [`testing::capture`] and friends, spans and log records |
//!
//! ## Seeing every item
//!
//! These pages show what the features they were built with compile. On
//! docs.rs they are built with every feature, and each item that needs one
//! carries a badge naming it ("Available on crate feature `tower` only").
//! Locally, `cargo doc -p traced --all-features --open` shows every item;
//! `cargo doc` alone builds the default features, where the names above
//! that belong to another feature lead back to this table.
//!
// Where a feature is on, its names link to its items; where it is off, to
// the table of features.
#![cfg_attr(
    any(feature = "tower", feature = "reqwest"),
    doc = "[`integrations`]: integrations"
)]
#![cfg_attr(
    not(any(feature = "tower", feature = "reqwest")),
    doc = "[`integrations`]: #features"
)]
#![cfg_attr(feature = "tokio", doc = "[`shutdown_signal`]: shutdown_signal")]
#![cfg_attr(not(feature = "tokio"), doc = "[`shutdown_signal`]: #features")]
#![cfg_attr(feature = "tokio", doc = "[`spawn`]: spawn")]
#![cfg_attr(not(feature = "tokio"), doc = "[`spawn`]: #features")]
#![cfg_attr(feature = "tokio", doc = "[`spawn_blocking`]: spawn_blocking")]
#![cfg_attr(not(feature = "tokio"), doc = "[`spawn_blocking`]: #features")]
#![cfg_attr(
    feature = "tower",
    doc = "[`HttpServerLayer`]: integrations::HttpServerLayer"
)]
#![cfg_attr(not(feature = "tower"), doc = "[`HttpServerLayer`]: #features")]
#![cfg_attr(
    feature = "tower",
    doc = "[`HttpClientLayer`]: integrations::HttpClientLayer"
)]
#![cfg_attr(not(feature = "tower"), doc = "[`HttpClientLayer`]: #features")]
#![cfg_attr(
    feature = "reqwest",
    doc = "[`TracingMiddleware`]: integrations::TracingMiddleware"
)]
#![cfg_attr(not(feature = "reqwest"), doc = "[`TracingMiddleware`]: #features")]
#![cfg_attr(
    feature = "grpc",
    doc = "[`GrpcServerLayer`]: integrations::GrpcServerLayer"
)]
#![cfg_attr(not(feature = "grpc"), doc = "[`GrpcServerLayer`]: #features")]
#![cfg_attr(
    feature = "grpc",
    doc = "[`GrpcClientLayer`]: integrations::GrpcClientLayer"
)]
#![cfg_attr(not(feature = "grpc"), doc = "[`GrpcClientLayer`]: #features")]
#![cfg_attr(feature = "tracing", doc = "[`tracing_layer`]: tracing_layer")]
#![cfg_attr(not(feature = "tracing"), doc = "[`tracing_layer`]: #features")]
#![cfg_attr(feature = "log", doc = "[`logs::log_logger`]: logs::log_logger")]
#![cfg_attr(not(feature = "log"), doc = "[`logs::log_logger`]: #features")]
#![cfg_attr(feature = "testing", doc = "[`testing`]: testing")]
#![cfg_attr(not(feature = "testing"), doc = "[`testing`]: #features")]
#![cfg_attr(feature = "testing", doc = "[`testing::capture`]: testing::capture")]
#![cfg_attr(not(feature = "testing"), doc = "[`testing::capture`]: #features")]
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
mod export;
#[cfg(unix)]
mod fork;
mod global_state;
#[cfg(feature = "tokio")]
mod graceful;
mod init;
#[cfg(any(feature = "tower", feature = "reqwest"))]
pub mod integrations;
#[cfg(feature = "tracing")]
mod library_spans;
pub mod logs;
pub mod messaging;
mod pipeline;
pub mod propagation;
#[cfg(unix)]
mod signals;
mod span_error;
mod suppress;
mod sync;
mod task;
#[cfg(feature = "testing")]
pub mod testing;

pub use config::{
    Compression, Config, ConfigError, ExceptionSignal, Exporter, Propagator, Protocol, Signal,
    TailSampling,
};
pub use export::{DeliveryReport, LogDeliveryReport};
#[cfg(feature = "tokio")]
pub use graceful::shutdown_signal;
pub use init::{ExporterError, InitError, ShutdownError, TracingGuard, flush, init};
#[cfg(feature = "tracing")]
pub use logs::tracing_layer;
/// Carries a context into a future: `fut.with_current_context()` keeps the
/// context that is current now current during every poll of `fut`;
/// `fut.with_context(cx)` does the same with `cx`. Use it for futures handed
/// to an executor (`tokio::spawn`, `join_set.spawn`, a stream), where the
/// task would otherwise start with an empty context and a new trace. See
/// `spawn` (feature `tokio`) for the shortcut.
pub use opentelemetry::context::FutureExt;
pub use pipeline::TailSamplingReport;
pub use propagation::b3::{B3Encoding, B3Propagator};
pub use propagation::jaeger::JaegerPropagator;
pub use suppress::{SuppressGuard, is_suppressed, suppress, suppressed};
pub use task::{bind, spawn_thread};
#[cfg(feature = "tokio")]
pub use task::{spawn, spawn_blocking};

#[doc(hidden)]
#[path = "private/mod.rs"]
pub mod __private;
