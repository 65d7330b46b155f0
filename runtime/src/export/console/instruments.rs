//! With the console exporter, what the application records through
//! `opentelemetry::global::meter` prints once, when tracing shuts down: one
//! line per data point, as the last collection left it.

use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::metrics::data::{
    AggregatedMetrics, HistogramDataPoint, MetricData, ResourceMetrics,
};
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;

use super::Output;
use crate::sync::MutexExt;

/// Keeps the lines of the latest collection and prints them at shutdown.
pub(crate) struct ConsoleInstruments {
    latest: Mutex<Option<String>>,
    output: Output,
}

impl std::fmt::Debug for ConsoleInstruments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleInstruments").finish_non_exhaustive()
    }
}

impl ConsoleInstruments {
    pub(crate) fn new(output: Output) -> Self {
        ConsoleInstruments {
            latest: Mutex::new(None),
            output,
        }
    }
}

impl PushMetricExporter for ConsoleInstruments {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let lines = render(metrics);
        *self.latest.locked() = (!lines.is_empty()).then_some(lines);
        Ok(())
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        if let Some(lines) = self.latest.locked().take() {
            (self.output)(&format!("traced: the application's metrics\n{lines}"));
        }
        Ok(())
    }

    /// Totals since the start: what prints at shutdown is the whole run.
    fn temporality(&self) -> Temporality {
        Temporality::Cumulative
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
