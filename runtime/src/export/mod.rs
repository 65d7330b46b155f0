//! Exporters: where finished spans go, and the wrappers that bound and count
//! them on the way.

mod console;
mod delivery;
#[cfg(feature = "otlp")]
mod otlp;
mod truncate;
mod waterfall;

pub(crate) use console::ConsoleSink;
#[cfg(feature = "otlp")]
pub(crate) use delivery::CountExported;
pub(crate) use delivery::Delivery;
pub use delivery::DeliveryReport;
#[cfg(feature = "otlp")]
pub(crate) use otlp::{
    exporter as otlp_exporter, grpc_compression_code_cannot_override,
    log_exporter as otlp_log_exporter,
};
pub(crate) use truncate::truncate_span;
pub(crate) use waterfall::LogLine;
