//! traced's encoding against opentelemetry-otlp's: the same spans make the
//! same bytes as opentelemetry-proto's types encoded by prost, and decode to
//! the same request.

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use opentelemetry::trace::{
    Event, Link, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{Array, InstrumentationScope, KeyValue, StringValue, Value};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
use prost::Message;

use super::SpanBatch;

mod records;

/// What opentelemetry-otlp sends for `spans` of `resource`.
pub(super) fn reference(spans: &[SpanData], resource: &Resource) -> Vec<u8> {
    let resource = ResourceAttributesWithSchema::from(resource);
    ExportTraceServiceRequest {
        resource_spans: group_spans_by_resource_and_scope(spans.to_vec(), &resource),
    }
    .encode_to_vec()
}

fn encoded(spans: &[SpanData], resource: &Resource) -> Vec<u8> {
    let mut batch = SpanBatch::default();
    batch.set_resource(resource);
    encode(&mut batch, spans)
}

fn encode(batch: &mut SpanBatch, spans: &[SpanData]) -> Vec<u8> {
    for span in spans {
        batch.add_span(span);
    }
    batch.finish(Vec::new())
}

fn context(trace: u128, span: u64, sampled: bool, remote: bool, state: TraceState) -> SpanContext {
    let flags = if sampled {
        TraceFlags::SAMPLED
    } else {
        TraceFlags::default()
    };
    SpanContext::new(
        TraceId::from(trace),
        SpanId::from(span),
        flags,
        remote,
        state,
    )
}

fn at(nanos: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_nanos(nanos)
}

/// A span with nothing but its ids, times and scope.
fn bare(span: u64, scope: &InstrumentationScope) -> SpanData {
    SpanData {
        span_context: context(7, span, true, false, TraceState::NONE),
        parent_span_id: SpanId::INVALID,
        parent_span_is_remote: false,
        span_kind: SpanKind::Internal,
        name: Cow::Borrowed("bare"),
        start_time: at(1_700_000_000_000_000_000),
        end_time: at(1_700_000_000_000_100_000),
        attributes: Vec::new(),
        dropped_attributes_count: 0,
        events: SpanEvents::default(),
        links: SpanLinks::default(),
        status: Status::Unset,
        instrumentation_scope: scope.clone(),
    }
}

/// Every kind of value, arrays of each, long and empty strings, negative
/// numbers.
pub(super) fn every_value() -> Vec<KeyValue> {
    vec![
        KeyValue::new("flag", true),
        KeyValue::new("off", false),
        KeyValue::new("count", 42_i64),
        KeyValue::new("zero", 0_i64),
        KeyValue::new("negative", -5_i64),
        KeyValue::new("largest", i64::MAX),
        KeyValue::new("ratio", 0.5),
        KeyValue::new("no.ratio", 0.0),
        KeyValue::new("text", "hello"),
        KeyValue::new("empty", ""),
        KeyValue::new("long", "x".repeat(300)),
        // A pair of 127 bytes (every length in one byte) and one of 128.
        KeyValue::new("b", "y".repeat(120)),
        KeyValue::new("c", "z".repeat(121)),
        KeyValue::new("unicode", "grüße, 世界"),
        KeyValue::new("", "an empty key"),
        KeyValue::new("bools", Value::Array(Array::Bool(vec![true, false]))),
        KeyValue::new("ints", Value::Array(Array::I64(vec![1, -1, 0, 1 << 40]))),
        KeyValue::new(
            "floats",
            Value::Array(Array::F64(vec![1.5, -0.0, f64::MAX])),
        ),
        KeyValue::new(
            "strings",
            Value::Array(Array::String(vec![
                StringValue::from("a"),
                StringValue::from(""),
                StringValue::from("b".repeat(200)),
            ])),
        ),
        KeyValue::new("no.ints", Value::Array(Array::I64(Vec::new()))),
    ]
}

/// A batch using every field of a span, from three scopes in turn.
fn full_batch() -> Vec<SpanData> {
    let plain = InstrumentationScope::builder("plain").build();
    let versioned = InstrumentationScope::builder("my-crate")
        .with_version("1.2.3")
        .with_schema_url("https://opentelemetry.io/schemas/1.30.0")
        .with_attributes([KeyValue::new("scope.attr", 1_i64)])
        .build();
    let unnamed = InstrumentationScope::builder("").build();
    let state = TraceState::from_key_value([("vendor", "value"), ("other", "1")]).unwrap();
    let mut spans = Vec::new();
    for n in 0..9_u64 {
        let scope = match n % 3 {
            0 => &plain,
            1 => &versioned,
            _ => &unnamed,
        };
        let mut span = bare(n + 1, scope);
        span.name = Cow::Owned(format!("span {n}"));
        span.span_kind = [
            SpanKind::Internal,
            SpanKind::Server,
            SpanKind::Client,
            SpanKind::Producer,
            SpanKind::Consumer,
        ][n as usize % 5]
            .clone();
        span.status = match n % 3 {
            0 => Status::Unset,
            1 => Status::Ok,
            _ => Status::error(format!("failure {n}")),
        };
        if n % 2 == 1 {
            span.parent_span_id = SpanId::from(100 + n);
            span.parent_span_is_remote = n % 4 == 1;
        }
        if n == 4 {
            span.span_context = context(8, 40, false, false, state.clone());
            span.status = Status::error("");
        }
        if n >= 3 {
            span.attributes = every_value();
            span.dropped_attributes_count = n as u32;
        }
        if n >= 5 {
            span.events.events = vec![
                Event::new("plain event", at(1_700_000_000_000_050_000), Vec::new(), 0),
                Event::new("exception", at(1_700_000_000_000_060_000), every_value(), 2),
                Event::new("", SystemTime::UNIX_EPOCH, vec![KeyValue::new("k", "v")], 0),
            ];
            span.events.dropped_count = 3;
            span.links.links = vec![
                Link::new(context(9, 90, true, true, state.clone()), every_value(), 1),
                Link::new(
                    context(10, 91, false, false, TraceState::NONE),
                    Vec::new(),
                    0,
                ),
            ];
            span.links.dropped_count = 4;
        }
        if n == 8 {
            span.name = Cow::Borrowed("");
            span.start_time = SystemTime::UNIX_EPOCH;
        }
        spans.push(span);
    }
    spans
}

pub(super) fn resource() -> Resource {
    Resource::builder_empty()
        .with_service_name("checkout")
        .with_attributes([
            KeyValue::new("deployment.environment.name", "test"),
            KeyValue::new("host.cpus", 2_i64),
        ])
        .with_schema_url(
            Vec::<KeyValue>::new(),
            "https://opentelemetry.io/schemas/1.29.0",
        )
        .build()
}

#[test]
fn every_field_encodes_as_opentelemetry_otlp_encodes_it() {
    let spans = full_batch();
    let resource = resource();
    let ours = encoded(&spans, &resource);
    assert_eq!(ours, reference(&spans, &resource));
    let decoded = ExportTraceServiceRequest::decode(ours.as_slice()).expect("valid protobuf");
    let scope_spans = &decoded.resource_spans[0].scope_spans;
    assert_eq!(scope_spans.len(), 3, "one group per scope");
    assert_eq!(
        scope_spans
            .iter()
            .map(|group| group.spans.len())
            .collect::<Vec<_>>(),
        [3, 3, 3]
    );
}

#[test]
fn a_bare_span_and_an_empty_resource_encode_alike() {
    let scope = InstrumentationScope::builder("s").build();
    let spans = vec![bare(1, &scope)];
    let empty = Resource::builder_empty().build();
    assert_eq!(encoded(&spans, &empty), reference(&spans, &empty));
}

#[test]
fn an_empty_batch_encodes_alike() {
    let resource = resource();
    assert_eq!(encoded(&[], &resource), reference(&[], &resource));
}

#[test]
fn a_large_batch_encodes_alike() {
    // Lengths of several bytes at every level.
    let scope = InstrumentationScope::builder("bulk")
        .with_version("0.1.0")
        .build();
    let spans: Vec<SpanData> = (0..3_000_u64)
        .map(|n| {
            let mut span = bare(n + 1, &scope);
            span.attributes = every_value();
            span
        })
        .collect();
    let resource = resource();
    let ours = encoded(&spans, &resource);
    assert!(ours.len() > 1 << 21, "{} bytes", ours.len());
    assert_eq!(ours, reference(&spans, &resource));
}

#[test]
fn one_encoder_keeps_nothing_of_the_previous_batch() {
    let resource = resource();
    let mut encoder = SpanBatch::default();
    encoder.set_resource(&resource);
    let full = full_batch();
    let scope = InstrumentationScope::builder("other").build();
    let small = vec![bare(1, &scope), bare(2, &scope)];
    for batch in [&full, &small, &full[3..5].to_vec(), &small] {
        assert_eq!(encode(&mut encoder, batch), reference(batch, &resource));
        assert_eq!((encoder.len(), encoder.bytes()), (0, 0), "emptied");
    }
}

#[test]
fn a_new_resource_replaces_the_old() {
    let scope = InstrumentationScope::builder("s").build();
    let spans = vec![bare(1, &scope)];
    let mut encoder = SpanBatch::default();
    encoder.set_resource(&resource());
    let other = Resource::builder_empty().with_service_name("other").build();
    encoder.set_resource(&other);
    assert_eq!(encode(&mut encoder, &spans), reference(&spans, &other));
}
