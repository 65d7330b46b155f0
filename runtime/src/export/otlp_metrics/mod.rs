//! Metrics over OTLP, both kinds through one [`MetricsClient`] built from
//! the one set of metrics export settings:
//!
//! - the span metrics, with their exemplars, from the export thread
//!   ([`OtlpMetricSink`]), encoded from the pipeline's plain values
//!   ([`encode`]), with the exporters' own health beside them;
//! - what the application records through `opentelemetry::global::meter`,
//!   aggregated by opentelemetry_sdk's meter provider, read by the same sink
//!   at each collection ([`MeterReader`]) and turned into the same messages
//!   by opentelemetry-proto.
//!
//! opentelemetry_sdk 0.33 records no exemplars and cannot be handed data
//! points that carry them, so the span metrics do not go through it; both
//! kinds leave as opentelemetry-otlp's own metrics exporter would send them.

mod client;
mod encode;

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use opentelemetry::KeyValue;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::resource::v1::Resource as ProtoResource;
use opentelemetry_sdk::Resource;
use tokio::task::JoinHandle;

pub(crate) use client::MetricsClient;

use super::{Delivery, MeterReader};
use crate::pipeline::{Data, Metric, MetricSink, MetricsSnapshot, NumberPoint, Temporality};

/// The spans a pipeline sends over OTLP, as its metric sink reports them.
#[derive(Debug)]
pub(crate) struct SpanExporterHealth {
    pub(crate) delivery: Arc<Delivery>,
    /// `otlp_grpc_span_exporter` or `otlp_http_span_exporter`.
    pub(crate) component_type: &'static str,
}

/// The export thread's metrics, sent over OTLP.
#[derive(Debug)]
pub(crate) struct OtlpMetricSink {
    client: Arc<MetricsClient>,
    /// The application's instruments.
    instruments: MeterReader,
    resource: ProtoResource,
    in_flight: Vec<JoinHandle<Result<(), String>>>,
    spans: Option<SpanExporterHealth>,
    temporality: Temporality,
    started: SystemTime,
    previous: SystemTime,
    /// Totals reported before (delta temporality): spans exported and
    /// failed, data points exported and failed.
    reported: [u64; 4],
}

impl OtlpMetricSink {
    pub(crate) fn new(
        client: Arc<MetricsClient>,
        instruments: MeterReader,
        spans: Option<SpanExporterHealth>,
        temporality: Temporality,
    ) -> Self {
        let now = SystemTime::now();
        OtlpMetricSink {
            client,
            instruments,
            resource: ProtoResource::default(),
            in_flight: Vec::new(),
            spans,
            temporality,
            started: now,
            previous: now,
            reported: [0; 4],
        }
    }

    /// `otel.sdk.exporter.span.exported` and
    /// `otel.sdk.exporter.metric_data_point.exported`, as they stand.
    fn exporter_health(&mut self) -> Vec<Metric> {
        let now = SystemTime::now();
        let previous = std::mem::replace(&mut self.previous, now);
        let (spans_exported, spans_failed) = self
            .spans
            .as_ref()
            .map_or((0, 0), |spans| spans.delivery.counts());
        let (points_exported, points_failed) = self.client.delivery().counts();
        let totals = [spans_exported, spans_failed, points_exported, points_failed];
        let (start, values) = match self.temporality {
            Temporality::Cumulative => (self.started, totals),
            Temporality::Delta => {
                let mut added = [0; 4];
                for ((added, total), reported) in
                    added.iter_mut().zip(totals).zip(&mut self.reported)
                {
                    *added = total.saturating_sub(*reported);
                    *reported = total;
                }
                (previous, added)
            }
        };
        let counter =
            |name, description, unit, component: &'static str, exported: u64, failed: u64| {
                let point = |failure: bool, value: u64| {
                    let mut attributes = vec![
                        KeyValue::new("otel.component.type", component),
                        KeyValue::new("otel.component.name", format!("{component}/0")),
                    ];
                    if failure {
                        attributes.push(KeyValue::new("error.type", "_OTHER"));
                    }
                    NumberPoint {
                        attributes,
                        start,
                        time: now,
                        value: i64::try_from(value).unwrap_or(i64::MAX),
                    }
                };
                Metric {
                    name,
                    description,
                    unit,
                    data: Data::Sum {
                        monotonic: true,
                        temporality: self.temporality,
                        points: vec![point(false, exported), point(true, failed)],
                    },
                }
            };
        let mut metrics = Vec::new();
        if let Some(spans) = &self.spans {
            metrics.push(counter(
                "otel.sdk.exporter.span.exported",
                "The number of spans for which the export has finished, either successful or \
                 failed.",
                "{span}",
                spans.component_type,
                values[0],
                values[1],
            ));
        }
        let component = if self.client.grpc() {
            "otlp_grpc_metric_exporter"
        } else {
            "otlp_http_metric_exporter"
        };
        metrics.push(counter(
            "otel.sdk.exporter.metric_data_point.exported",
            "The number of metric data points for which the export has finished, either \
             successful or failed.",
            "{data_point}",
            component,
            values[2],
            values[3],
        ));
        metrics
    }

    /// Waits for the exports in flight until `deadline`, if given.
    fn wait(&mut self, deadline: Option<Instant>) {
        for handle in self.in_flight.drain(..) {
            while !handle.is_finished() && deadline.is_none_or(|deadline| Instant::now() < deadline)
            {
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            if handle.is_finished() {
                // Its outcome is counted, and a failure said, by the client.
                let _ = futures_executor::block_on(handle);
            } else {
                handle.abort();
            }
        }
    }
}

impl MetricSink for OtlpMetricSink {
    fn export(&mut self, snapshot: &MetricsSnapshot) {
        self.in_flight.retain(|handle| !handle.is_finished());
        let health = self.exporter_health();
        let metrics = snapshot.metrics.iter().chain(&health).map(encode::metric);
        let request = encode::request(&self.resource, metrics);
        self.in_flight.push(self.client.send(request));
        if let Some(instruments) = self.instruments.read() {
            let request = ExportMetricsServiceRequest::from(&instruments);
            self.in_flight.push(self.client.send(request));
        }
    }

    fn flush(&mut self) {
        self.wait(None);
    }

    fn shutdown(&mut self, deadline: Instant) {
        self.wait(Some(deadline));
        let delivery = self.client.delivery();
        let (exported, failed) = delivery.counts();
        if failed > 0 {
            let last = delivery
                .last_error()
                .map(|error| format!("; last export error: {error}"))
                .unwrap_or_default();
            eprintln!(
                "traced: {failed} of {} metric data points not delivered{last}",
                exported + failed
            );
        }
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = resource.into();
    }
}
