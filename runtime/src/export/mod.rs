//! Exporters: where finished spans, log records and metrics go (OTLP, the
//! console waterfall and its table of calls per span name), and the
//! counting of what was delivered.

mod console;
mod delivery;
mod meter_reader;
#[cfg(feature = "otlp")]
mod otlp;
#[cfg(feature = "otlp")]
mod otlp_connection;
#[cfg(feature = "otlp")]
mod otlp_grpc_spans;
#[cfg(feature = "otlp")]
mod otlp_http_spans;
#[cfg(feature = "otlp")]
mod otlp_metrics;
#[cfg(feature = "otlp")]
mod otlp_retry;
#[cfg(feature = "otlp")]
mod otlp_span_sink;
#[cfg(feature = "otlp")]
mod span_protobuf;
mod waterfall;

pub(crate) use console::{
    ConsoleInstruments, ConsoleLogs, ConsoleSink, LineSink, Output, RedTable, TraceLogs,
};
#[cfg(feature = "otlp")]
pub(crate) use delivery::CountExported;
pub(crate) use delivery::Delivery;
pub use delivery::{DeliveryReport, LogDeliveryReport};
pub(crate) use meter_reader::MeterReader;
#[cfg(feature = "otlp")]
pub(crate) use otlp::{ExportRuntime, otlp_log_exporter, otlp_span_exporter};
#[cfg(feature = "otlp")]
pub(crate) use otlp_metrics::{MetricsClient, OtlpMetricSink, SpanExporterHealth};
#[cfg(feature = "otlp")]
pub(crate) use otlp_span_sink::OtlpSpanSink;
