//! The lean provider against real exporters: the SDK's in-memory exporter and
//! the OTLP exporter over a real socket.

use std::borrow::Cow;
use std::io::Read;
use std::net::TcpListener;
use std::time::Duration;

use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer, TracerProvider};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{InMemorySpanExporter, Sampler};

use super::{BatchSettings, LeanSettings, LeanTracerProvider};

fn provider(sampler: Sampler) -> (LeanTracerProvider, InMemorySpanExporter) {
    let exporter = InMemorySpanExporter::default();
    let settings = LeanSettings {
        sampler,
        ..LeanSettings::default()
    };
    let provider = LeanTracerProvider::new(settings, exporter.clone()).unwrap();
    (provider, exporter)
}

#[test]
fn spans_reach_the_exporter_with_parent_attributes_events_and_status() {
    let (provider, exporter) = provider(Sampler::AlwaysOn);
    let tracer = provider.tracer("lean-test");
    tracer.in_span("outer", |cx| {
        cx.span().set_attribute(KeyValue::new("answer", 42));
        let inner = tracer
            .span_builder(Cow::Borrowed("inner"))
            .with_kind(SpanKind::Client)
            .start(&tracer);
        let cx = Context::current_with_span(inner);
        cx.span()
            .add_event("cache miss", vec![KeyValue::new("key", "k1")]);
        cx.span().set_status(Status::error("boom"));
        cx.span().set_status(Status::Unset);
    });
    provider.force_flush().unwrap();
    let spans = exporter.get_finished_spans().unwrap();
    assert_eq!(spans.len(), 2);
    let inner = spans.iter().find(|span| span.name == "inner").unwrap();
    let outer = spans.iter().find(|span| span.name == "outer").unwrap();
    assert_eq!(inner.parent_span_id, outer.span_context.span_id());
    assert_eq!(inner.span_context.trace_id(), outer.span_context.trace_id());
    assert!(inner.span_context.is_sampled());
    assert_eq!(inner.span_kind, SpanKind::Client);
    assert_eq!(inner.status, Status::error("boom"));
    assert_eq!(inner.events.len(), 1);
    assert_eq!(inner.events[0].name, "cache miss");
    assert!(inner.end_time >= inner.start_time);
    assert_eq!(outer.attributes, vec![KeyValue::new("answer", 42)]);
    assert_eq!(outer.instrumentation_scope.name(), "lean-test");
    provider.shutdown().unwrap();
}

#[test]
fn sampled_out_spans_propagate_but_are_not_exported() {
    let (provider, exporter) = provider(Sampler::ParentBased(Box::new(Sampler::AlwaysOff)));
    let tracer = provider.tracer("lean-test");
    tracer.in_span("dropped", |cx| {
        let span = cx.span();
        assert!(!span.is_recording());
        assert!(span.span_context().is_valid());
        assert!(!span.span_context().is_sampled());
        tracer.in_span("child", |child| {
            assert_eq!(
                child.span().span_context().trace_id(),
                span.span_context().trace_id()
            );
        });
    });
    provider.force_flush().unwrap();
    assert!(exporter.get_finished_spans().unwrap().is_empty());
    provider.shutdown().unwrap();
}

#[test]
fn suppressed_context_makes_no_span() {
    let (provider, exporter) = provider(Sampler::AlwaysOn);
    let tracer = provider.tracer("lean-test");
    let cx = Context::new().with_telemetry_suppressed();
    let span = tracer.start_with_context("quiet", &cx);
    assert!(!opentelemetry::trace::Span::span_context(&span).is_valid());
    drop(span);
    provider.force_flush().unwrap();
    assert!(exporter.get_finished_spans().unwrap().is_empty());
    provider.shutdown().unwrap();
}

#[test]
fn attribute_and_event_limits_count_what_they_drop() {
    let exporter = InMemorySpanExporter::default();
    let mut settings = LeanSettings::default();
    settings.limits.max_attributes_per_span = 2;
    settings.limits.max_events_per_span = 1;
    let provider = LeanTracerProvider::new(settings, exporter.clone()).unwrap();
    provider.tracer("lean-test").in_span("limited", |cx| {
        for i in 0..5 {
            cx.span().set_attribute(KeyValue::new(format!("k{i}"), i));
            cx.span().add_event(format!("e{i}"), Vec::new());
        }
    });
    provider.force_flush().unwrap();
    let spans = exporter.get_finished_spans().unwrap();
    assert_eq!(spans[0].attributes.len(), 2);
    assert_eq!(spans[0].dropped_attributes_count, 3);
    assert_eq!(spans[0].events.len(), 1);
    assert_eq!(spans[0].events.dropped_count, 4);
    provider.shutdown().unwrap();
}

#[test]
fn long_values_are_truncated_on_export() {
    let exporter = InMemorySpanExporter::default();
    let settings = LeanSettings {
        max_attribute_value_length: Some(4),
        ..LeanSettings::default()
    };
    let provider = LeanTracerProvider::new(settings, exporter.clone()).unwrap();
    provider.tracer("lean-test").in_span("long", |cx| {
        cx.span().set_attribute(KeyValue::new("text", "abcdefgh"));
    });
    provider.force_flush().unwrap();
    let spans = exporter.get_finished_spans().unwrap();
    assert_eq!(spans[0].attributes, vec![KeyValue::new("text", "abcd")]);
    provider.shutdown().unwrap();
}

#[test]
fn spans_started_after_shutdown_do_not_record() {
    let (provider, exporter) = provider(Sampler::AlwaysOn);
    provider.shutdown().unwrap();
    assert!(provider.shutdown().is_err());
    let span = provider.tracer("lean-test").start("late");
    assert!(!opentelemetry::trace::Span::is_recording(&span));
    assert!(exporter.get_finished_spans().unwrap_or_default().is_empty());
}

/// A collector that accepts connections and never answers: the exporter
/// blocks, the queue fills, and every further span is dropped and counted
/// instead of piling up in memory or blocking the caller.
#[test]
fn a_stalled_collector_bounds_the_queue_and_counts_drops() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}/v1/traces", listener.local_addr().unwrap());
    let stall = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut sink = Vec::new();
        let _ = stream.read_to_end(&mut sink);
    });
    use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(endpoint)
        .with_timeout(Duration::from_secs(2))
        .with_headers(Default::default())
        .build()
        .unwrap();
    let settings = LeanSettings {
        batch: BatchSettings {
            max_queue_size: 8,
            scheduled_delay: Duration::from_millis(1),
            max_export_batch_size: 1,
            export_timeout: Duration::from_secs(2),
        },
        ..LeanSettings::default()
    };
    let provider = LeanTracerProvider::new(settings, exporter).unwrap();
    let tracer = provider.tracer("lean-test");
    tracer.in_span("first", |_| {});
    std::thread::sleep(Duration::from_millis(200));
    for _ in 0..1000 {
        tracer.in_span("stalled", |_| {});
    }
    let dropped = provider.dropped_spans();
    // At most the queue (8) and the span being exported are kept.
    assert!(dropped >= 1000 - 8 - 1, "dropped {dropped}");
    drop(provider);
    drop(tracer);
    drop(stall);
}
