//! A collection of span metrics as an OTLP request: the pipeline's plain
//! values into opentelemetry-proto's messages, exemplars included (which
//! opentelemetry_sdk's metric data cannot carry).

use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue as ProtoKeyValue;
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Exemplar as ProtoExemplar, Histogram, HistogramDataPoint,
    Metric as ProtoMetric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, exemplar, metric,
    number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource as ProtoResource;
use opentelemetry_proto::transform::common::tonic::Attributes;

use crate::pipeline::{Data, Exemplar, HistogramPoint, Metric, NumberPoint, Temporality};

fn nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |since| {
        u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
    })
}

fn attributes(attributes: &[KeyValue]) -> Vec<ProtoKeyValue> {
    Attributes::from(attributes.iter().cloned()).0
}

fn temporality(temporality: Temporality) -> i32 {
    match temporality {
        Temporality::Cumulative => AggregationTemporality::Cumulative as i32,
        Temporality::Delta => AggregationTemporality::Delta as i32,
    }
}

fn number_point(point: &NumberPoint) -> NumberDataPoint {
    NumberDataPoint {
        attributes: attributes(&point.attributes),
        start_time_unix_nano: nanos(point.start),
        time_unix_nano: nanos(point.time),
        exemplars: Vec::new(),
        flags: 0,
        value: Some(number_data_point::Value::AsInt(point.value)),
    }
}

fn exemplar(exemplar: &Exemplar) -> ProtoExemplar {
    ProtoExemplar {
        filtered_attributes: Vec::new(),
        time_unix_nano: nanos(exemplar.time),
        span_id: exemplar.span_id.to_bytes().to_vec(),
        trace_id: exemplar.trace_id.to_bytes().to_vec(),
        value: Some(exemplar::Value::AsDouble(exemplar.value)),
    }
}

fn histogram_point(point: &HistogramPoint) -> HistogramDataPoint {
    HistogramDataPoint {
        attributes: attributes(&point.attributes),
        start_time_unix_nano: nanos(point.start),
        time_unix_nano: nanos(point.time),
        count: point.count,
        sum: Some(point.sum),
        bucket_counts: point.bucket_counts.clone(),
        explicit_bounds: point.bounds.to_vec(),
        exemplars: point.exemplars.iter().map(exemplar).collect(),
        flags: 0,
        min: point.min,
        max: point.max,
    }
}

/// One metric as OTLP has it.
pub(crate) fn metric(metric: &Metric) -> ProtoMetric {
    let data = match &metric.data {
        Data::Sum {
            monotonic,
            temporality: chosen,
            points,
        } => metric::Data::Sum(Sum {
            data_points: points.iter().map(number_point).collect(),
            aggregation_temporality: temporality(*chosen),
            is_monotonic: *monotonic,
        }),
        Data::Histogram {
            temporality: chosen,
            points,
        } => metric::Data::Histogram(Histogram {
            data_points: points.iter().map(histogram_point).collect(),
            aggregation_temporality: temporality(*chosen),
        }),
    };
    ProtoMetric {
        name: metric.name.to_owned(),
        description: metric.description.to_owned(),
        unit: metric.unit.to_owned(),
        metadata: Vec::new(),
        data: Some(data),
    }
}

/// The request carrying `metrics` of `resource`, under traced's own
/// instrumentation scope.
pub(crate) fn request(
    resource: &ProtoResource,
    metrics: impl IntoIterator<Item = ProtoMetric>,
) -> ExportMetricsServiceRequest {
    let scope = InstrumentationScope::builder("traced")
        .with_version(env!("CARGO_PKG_VERSION"))
        .build();
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(resource.clone()),
            scope_metrics: vec![ScopeMetrics {
                scope: Some((&scope, None).into()),
                metrics: metrics.into_iter().collect(),
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use opentelemetry::trace::{SpanId, TraceId};

    use super::*;

    #[test]
    fn a_histogram_keeps_its_buckets_bounds_and_exemplars() {
        let at = UNIX_EPOCH + Duration::from_secs(10);
        let point = HistogramPoint {
            attributes: vec![KeyValue::new("http.route", "/a")],
            start: UNIX_EPOCH + Duration::from_secs(1),
            time: at,
            count: 3,
            sum: 0.5,
            min: Some(0.1),
            max: Some(0.3),
            bounds: &[0.1, 1.0],
            bucket_counts: vec![1, 2, 0],
            exemplars: vec![Exemplar {
                time: at,
                value: 0.3,
                trace_id: TraceId::from(7),
                span_id: SpanId::from(9),
            }],
        };
        let encoded = metric(&Metric {
            name: "http.server.request.duration",
            description: "d",
            unit: "s",
            data: Data::Histogram {
                temporality: Temporality::Delta,
                points: vec![point],
            },
        });
        let Some(metric::Data::Histogram(histogram)) = encoded.data else {
            panic!("{encoded:?}")
        };
        assert_eq!(
            histogram.aggregation_temporality,
            AggregationTemporality::Delta as i32
        );
        let point = &histogram.data_points[0];
        assert_eq!(point.explicit_bounds, [0.1, 1.0]);
        assert_eq!(point.bucket_counts, [1, 2, 0]);
        assert_eq!(
            (point.count, point.sum, point.min, point.max),
            (3, Some(0.5), Some(0.1), Some(0.3))
        );
        assert_eq!(point.start_time_unix_nano, 1_000_000_000);
        let exemplar = &point.exemplars[0];
        assert_eq!(exemplar.trace_id, TraceId::from(7).to_bytes());
        assert_eq!(exemplar.span_id, SpanId::from(9).to_bytes());
        assert_eq!(exemplar.value, Some(exemplar::Value::AsDouble(0.3)));
        assert_eq!(point.attributes[0].key, "http.route");
    }
}
