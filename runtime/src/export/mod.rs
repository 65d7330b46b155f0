//! Exporters: where finished spans and log records go (OTLP, the console
//! waterfall), and the counting of what was delivered.

mod console;
mod delivery;
#[cfg(feature = "otlp")]
mod otlp;
mod waterfall;

pub(crate) use console::{ConsoleLogs, ConsoleSink, LineSink, TraceLogs};
#[cfg(feature = "otlp")]
pub(crate) use delivery::CountExported;
pub(crate) use delivery::Delivery;
pub use delivery::{DeliveryReport, LogDeliveryReport};
#[cfg(feature = "otlp")]
pub(crate) use otlp::{ExportRuntime, otlp_log_exporter, otlp_span_exporter};
