//! Exporters: where finished spans go, and the wrappers that bound and count
//! them on the way.

mod console;
mod delivery;
#[cfg(feature = "otlp")]
mod otlp;
mod running_spans;
mod waterfall;

pub(crate) use console::ConsoleSink;
#[cfg(feature = "otlp")]
pub(crate) use delivery::CountExported;
pub(crate) use delivery::Delivery;
pub use delivery::DeliveryReport;
#[cfg(feature = "otlp")]
pub(crate) use otlp::{
    grpc_compression_code_cannot_override, otlp_log_exporter, otlp_span_exporter,
};
pub(crate) use waterfall::LogLine;
