//! Exporters: where finished spans go, and the wrappers that bound and count
//! them on the way.

mod console;
mod delivery;
#[cfg(feature = "otlp")]
mod otlp;
mod truncate;
mod waterfall;

pub(crate) use console::ConsoleSink;
pub use delivery::DeliveryReport;
pub(crate) use delivery::{CountExported, Delivery};
#[cfg(feature = "otlp")]
pub(crate) use otlp::exporter as otlp_exporter;
#[cfg(feature = "otlp")]
pub(crate) use otlp::{compression as otlp_compression, grpc_metadata, grpc_runtime, http_headers};
pub(crate) use truncate::truncate_span;
pub(crate) use waterfall::LogLine;
