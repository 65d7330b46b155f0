//! With the console exporter, what the application records through
//! `opentelemetry::global::meter` prints once, when tracing shuts down: one
//! line per data point, as the last collection left it. The export thread
//! reads them with the span metrics.

use std::fmt::Write as _;
use std::time::Instant;

use opentelemetry_sdk::metrics::data::{
    AggregatedMetrics, HistogramDataPoint, MetricData, ResourceMetrics,
};

use super::super::meter_reader::MeterReader;
use super::Output;
use crate::pipeline::{MetricSink, MetricsSnapshot};

/// Reads the instruments at each collection (cumulative: what prints at
/// shutdown is the whole run) and prints the last at shutdown.
pub(crate) struct ConsoleInstruments {
    reader: MeterReader,
    latest: Option<String>,
    output: Output,
}

impl std::fmt::Debug for ConsoleInstruments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleInstruments").finish_non_exhaustive()
    }
}

impl ConsoleInstruments {
    pub(crate) fn new(reader: MeterReader, output: Output) -> Self {
        ConsoleInstruments {
            reader,
            latest: None,
            output,
        }
    }
}

impl MetricSink for ConsoleInstruments {
    fn export(&mut self, _snapshot: &MetricsSnapshot) {
        if let Some(metrics) = self.reader.read() {
            let lines = render(&metrics);
            self.latest = (!lines.is_empty()).then_some(lines);
        }
    }

    fn shutdown(&mut self, _deadline: Instant) {
        if let Some(lines) = self.latest.take() {
            (self.output)(&format!("traced: the application's metrics\n{lines}"));
        }
    }
}

fn attributes<'a>(attributes: impl Iterator<Item = &'a opentelemetry::KeyValue>) -> String {
    let pairs: Vec<String> = attributes
        .map(|kv| format!("{}={}", kv.key, kv.value))
        .collect();
    if pairs.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", pairs.join(", "))
    }
}

fn histogram_line<T: std::fmt::Display + Copy>(
    out: &mut String,
    name: &str,
    point: &HistogramDataPoint<T>,
) {
    let _ = write!(
        out,
        "  {name}{} count {} sum {}",
        attributes(point.attributes()),
        point.count(),
        point.sum()
    );
    if let (Some(min), Some(max)) = (point.min(), point.max()) {
        let _ = write!(out, " min {min} max {max}");
    }
    out.push('\n');
}

fn data_lines<T: std::fmt::Display + Copy>(out: &mut String, name: &str, data: &MetricData<T>) {
    match data {
        MetricData::Gauge(gauge) => {
            for point in gauge.data_points() {
                let _ = writeln!(
                    out,
                    "  {name}{} {}",
                    attributes(point.attributes()),
                    point.value()
                );
            }
        }
        MetricData::Sum(sum) => {
            for point in sum.data_points() {
                let _ = writeln!(
                    out,
                    "  {name}{} {}",
                    attributes(point.attributes()),
                    point.value()
                );
            }
        }
        MetricData::Histogram(histogram) => {
            for point in histogram.data_points() {
                histogram_line(out, name, point);
            }
        }
        MetricData::ExponentialHistogram(histogram) => {
            for point in histogram.data_points() {
                let _ = writeln!(
                    out,
                    "  {name}{} count {} sum {}",
                    attributes(point.attributes()),
                    point.count(),
                    point.sum()
                );
            }
        }
    }
}

/// One line per data point, each metric by name.
fn render(metrics: &ResourceMetrics) -> String {
    let mut out = String::new();
    for scope in metrics.scope_metrics() {
        for metric in scope.metrics() {
            let name = metric.name();
            match metric.data() {
                AggregatedMetrics::F64(data) => data_lines(&mut out, name, data),
                AggregatedMetrics::U64(data) => data_lines(&mut out, name, data),
                AggregatedMetrics::I64(data) => data_lines(&mut out, name, data),
            }
        }
    }
    out
}
