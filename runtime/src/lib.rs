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

pub use opentelemetry;
pub use opentelemetry_sdk;
pub use traced_macros::{traced, traced_impl, untraced};

mod config;
mod dispatch;
mod export;
mod init;
mod lean;
pub mod propagation;
#[cfg(feature = "testing")]
pub mod testing;

pub use config::{Config, ConfigError, Exporter};
pub use init::{InitError, ShutdownError, TracingGuard, init};

#[doc(hidden)]
#[path = "private/mod.rs"]
pub mod __private;
