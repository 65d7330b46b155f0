//! Exporters: where finished spans go, and the wrappers that bound and count
//! them on the way.

mod console;
mod delivery;
#[cfg(feature = "otlp")]
mod otlp;
mod truncate;
mod waterfall;

pub(crate) use console::ConsoleProcessor;
pub(crate) use delivery::Delivery;
pub use delivery::DeliveryReport;
#[cfg(feature = "otlp")]
pub(crate) use delivery::{CountEnded, CountExported};
#[cfg(feature = "otlp")]
pub(crate) use otlp::{exporter as otlp_exporter, grpc_compression_code_cannot_override};
pub(crate) use truncate::TruncateValues;
