//! What one collection hands to the metric sinks: plain values in the
//! shape of the OpenTelemetry metrics data model (sums, gauges, histograms
//! with exemplars), for the OTLP encoder and the console to read.
// Without OTLP, only the console's summary is read.
#![cfg_attr(not(feature = "otlp"), allow(dead_code))]

use std::time::{Duration, SystemTime};

use opentelemetry::KeyValue;
use opentelemetry::trace::{SpanId, TraceId};

/// Whether points count since the pipeline started or since the previous
/// collection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Temporality {
    Cumulative,
    Delta,
}

/// Every metric of one collection.
#[derive(Clone, Debug, Default)]
pub(crate) struct MetricsSnapshot {
    pub(crate) metrics: Vec<Metric>,
    /// Per span name, for the console's table; only when a sink asked.
    pub(crate) summary: Option<Summary>,
}

impl MetricsSnapshot {
    /// The metric named `name`, if it has points.
    #[cfg(test)]
    pub(crate) fn metric(&self, name: &str) -> Option<&Metric> {
        self.metrics.iter().find(|metric| metric.name == name)
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Metric {
    pub(crate) name: &'static str,
    pub(crate) description: &'static str,
    pub(crate) unit: &'static str,
    pub(crate) data: Data,
}

#[derive(Clone, Debug)]
pub(crate) enum Data {
    Sum {
        monotonic: bool,
        temporality: Temporality,
        points: Vec<NumberPoint>,
    },
    Histogram {
        temporality: Temporality,
        points: Vec<HistogramPoint>,
    },
}

#[derive(Clone, Debug)]
pub(crate) struct NumberPoint {
    pub(crate) attributes: Vec<KeyValue>,
    pub(crate) start: SystemTime,
    pub(crate) time: SystemTime,
    pub(crate) value: i64,
}

#[derive(Clone, Debug)]
pub(crate) struct HistogramPoint {
    pub(crate) attributes: Vec<KeyValue>,
    pub(crate) start: SystemTime,
    pub(crate) time: SystemTime,
    pub(crate) count: u64,
    /// Seconds.
    pub(crate) sum: f64,
    pub(crate) min: Option<f64>,
    pub(crate) max: Option<f64>,
    pub(crate) bounds: &'static [f64],
    pub(crate) bucket_counts: Vec<u64>,
    pub(crate) exemplars: Vec<Exemplar>,
}

/// One measured span a data point points at.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Exemplar {
    pub(crate) time: SystemTime,
    /// Seconds.
    pub(crate) value: f64,
    pub(crate) trace_id: TraceId,
    pub(crate) span_id: SpanId,
}

/// Calls, errors and latency per span name, since the pipeline started.
#[derive(Clone, Debug, Default)]
pub(crate) struct Summary {
    pub(crate) rows: Vec<SummaryRow>,
    /// Counts are estimates scaled up from a head-sampled share of calls.
    pub(crate) estimated: bool,
    /// Span names beyond the cardinality limit were counted under one row.
    pub(crate) overflowed: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SummaryRow {
    pub(crate) name: String,
    pub(crate) calls: u64,
    pub(crate) errors: u64,
    pub(crate) p50: Duration,
    pub(crate) p95: Duration,
    pub(crate) p99: Duration,
}
