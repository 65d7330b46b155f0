//! One-line OpenTelemetry distributed tracing.
//!
//! `#[traced]` turns a function (sync or async, free or method) into a span;
//! `#[traced_impl]` does the same for every method of an impl block. Spans are
//! real OpenTelemetry spans created through the global tracer provider, so they
//! interoperate with any other OpenTelemetry instrumentation.
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
//! See the crate README for the full reference of options, propagation and
//! configuration.

#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub use opentelemetry;
pub use opentelemetry_sdk;
pub use traced_macros::{traced, traced_impl, untraced};

mod config;
pub mod current;
mod dispatch;
mod export;
mod init;
#[cfg(any(feature = "tower", feature = "reqwest"))]
pub mod integrations;
pub mod messaging;
pub mod propagation;
mod suppress;
mod task;
#[cfg(feature = "testing")]
pub mod testing;

pub use config::{
    B3Encoding, B3Propagator, Compression, Config, ConfigError, Exporter, JaegerPropagator,
    Propagator, Protocol,
};
pub use export::DeliveryReport;
pub use init::{InitError, ShutdownError, TracingGuard, init};
/// Carries a context into a future: `fut.with_current_context()` makes the
/// context current now the current one during every poll of `fut`;
/// `fut.with_context(cx)` does the same with `cx`. Use it for futures handed
/// to an executor (`tokio::spawn`, `join_set.spawn`, a stream), where the
/// task would otherwise start with an empty context and a new trace. See
/// [`spawn`] for the shortcut.
pub use opentelemetry::context::FutureExt;
pub use suppress::{SuppressGuard, is_suppressed, suppress, suppressed};
pub use task::{bind, spawn_thread};
#[cfg(feature = "tokio")]
pub use task::{spawn, spawn_blocking};

#[doc(hidden)]
#[path = "private/mod.rs"]
pub mod __private;
