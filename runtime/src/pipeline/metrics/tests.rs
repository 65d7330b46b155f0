//! The metrics on real native spans, through a pipeline of its own and its
//! export thread, into a sink that keeps each collection.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use opentelemetry::trace::{
    Span as _, SpanKind, Status, TraceContextExt, TraceId, Tracer, TracerProvider as _,
};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Sampler, SpanData, SpanExporter};

use super::super::attributes::Attributes;
use super::super::links::Links;
use super::super::sink::ExporterSink;
use super::super::site::{CallSite, Kind, SiteAttribute, StaticValue};
use super::super::start::{Begun, Parent, Started, begin, finish, start};
use super::super::tail::TailPolicy;
use super::super::testing::LocalPipeline;
use super::super::values::AttrValue;
use super::snapshot::Exemplar;
use super::*;

/// Keeps every collection it is given.
#[derive(Clone, Debug, Default)]
struct Collections {
    snapshots: Arc<Mutex<Vec<MetricsSnapshot>>>,
    summary: bool,
}

impl MetricSink for Collections {
    fn export(&mut self, snapshot: &MetricsSnapshot) {
        self.snapshots.lock().unwrap().push(snapshot.clone());
    }

    fn wants_summary(&self) -> bool {
        self.summary
    }
}

impl Collections {
    fn last(&self) -> MetricsSnapshot {
        self.snapshots
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("a collection")
    }
}

/// Keeps every span exported.
#[derive(Clone, Debug, Default)]
struct Spans(Arc<Mutex<Vec<SpanData>>>);

impl SpanExporter for Spans {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.0.lock().unwrap().extend(batch);
        Ok(())
    }
}

const ALL_KINDS: [Kind; 5] = [
    Kind::Internal,
    Kind::Server,
    Kind::Client,
    Kind::Producer,
    Kind::Consumer,
];

fn settings(sink: &Collections, limit: usize, temporality: Temporality) -> MetricsSettings {
    MetricsSettings {
        interval: Duration::from_secs(3600),
        temporality,
        cardinality_limit: limit,
        kinds: ALL_KINDS.to_vec(),
        exemplars: true,
        sinks: vec![Box::new(sink.clone())],
    }
}

fn pipeline(
    sampler: Sampler,
    policy: Option<TailPolicy>,
    metrics: MetricsSettings,
) -> (LocalPipeline, Spans) {
    let spans = Spans::default();
    let pipeline = LocalPipeline::start_with_metrics(
        vec![Box::new(ExporterSink::new(spans.clone()))],
        sampler,
        policy,
        metrics,
    );
    (pipeline, spans)
}

fn always() -> Sampler {
    Sampler::ParentBased(Box::new(Sampler::AlwaysOn))
}

/// A span through the OpenTelemetry API that lasted exactly `lasted`.
fn timed_span(
    pipeline: &LocalPipeline,
    name: &'static str,
    kind: SpanKind,
    attributes: Vec<KeyValue>,
    lasted: Duration,
    failed: bool,
) -> TraceId {
    let tracer = pipeline.provider().tracer("test");
    let start = SystemTime::now();
    let mut span = tracer
        .span_builder(name)
        .with_kind(kind)
        .with_start_time(start)
        .with_attributes(attributes)
        .start(&tracer);
    if failed {
        span.set_status(Status::error("broken"));
    }
    let trace_id = span.span_context().trace_id();
    span.end_with_timestamp(start + lasted);
    trace_id
}

fn histogram<'a>(snapshot: &'a MetricsSnapshot, name: &str) -> &'a [HistogramPoint] {
    match &snapshot.metric(name).expect(name).data {
        Data::Histogram { points, .. } => points,
        other => panic!("{name} is {other:?}"),
    }
}

fn sum<'a>(snapshot: &'a MetricsSnapshot, name: &str) -> &'a [NumberPoint] {
    match &snapshot.metric(name).expect(name).data {
        Data::Sum { points, .. } => points,
        other => panic!("{name} is {other:?}"),
    }
}

fn attribute(attributes: &[KeyValue], key: &str) -> Option<Value> {
    attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.clone())
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn known_durations_land_in_the_conventions_buckets() {
    let sink = Collections::default();
    let (pipeline, _) = pipeline(
        always(),
        None,
        settings(&sink, 2000, Temporality::Cumulative),
    );
    let route = || {
        vec![
            KeyValue::new("http.request.method", "GET"),
            KeyValue::new("http.route", "/articles/{id}"),
            KeyValue::new("http.response.status_code", 200),
        ]
    };
    // Buckets: ≤5ms, ≤10, ≤25, ≤50, ≤75, ≤100, ≤250, ≤500, ≤750, ≤1s, ≤2.5, ≤5, ≤7.5, ≤10, more.
    for lasted in [ms(3), ms(4), ms(7), ms(30), ms(300), ms(3000), ms(30_000)] {
        timed_span(
            &pipeline,
            "GET /articles/{id}",
            SpanKind::Server,
            route(),
            lasted,
            false,
        );
    }
    pipeline.flush();
    let snapshot = sink.last();
    let points = histogram(&snapshot, "http.server.request.duration");
    assert_eq!(points.len(), 1);
    let point = &points[0];
    assert_eq!(
        point.bucket_counts,
        [2, 1, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1]
    );
    assert_eq!(point.count, 7);
    assert!((point.sum - 33.344).abs() < 1e-6, "{}", point.sum);
    assert_eq!((point.min, point.max), (Some(0.003), Some(30.0)));
    assert_eq!(point.bounds, families::REQUEST_BOUNDS);
    assert_eq!(
        attribute(&point.attributes, "http.route"),
        Some("/articles/{id}".into())
    );
    assert_eq!(
        attribute(&point.attributes, "http.response.status_code"),
        Some(Value::I64(200))
    );
    // No span of these goes to function.calls.
    assert!(snapshot.metric("function.calls").is_none());
}

#[test]
fn errors_count_apart_with_their_type() {
    let sink = Collections::default();
    let (pipeline, _) = pipeline(
        always(),
        None,
        settings(&sink, 2000, Temporality::Cumulative),
    );
    for n in 0..10 {
        let failed = n % 3 == 0;
        let attributes = if n == 0 {
            vec![KeyValue::new("error.type", "OutOfStock")]
        } else {
            Vec::new()
        };
        timed_span(
            &pipeline,
            "reserve",
            SpanKind::Internal,
            attributes,
            ms(2),
            failed,
        );
    }
    pipeline.flush();
    let snapshot = sink.last();
    let calls = sum(&snapshot, "function.calls");
    let by_error: Vec<(Option<Value>, Option<Value>, i64)> = calls
        .iter()
        .map(|point| {
            (
                attribute(&point.attributes, "result"),
                attribute(&point.attributes, "error.type"),
                point.value,
            )
        })
        .collect();
    assert_eq!(
        by_error,
        [
            (Some("error".into()), Some("OutOfStock".into()), 1),
            (Some("ok".into()), None, 6),
            (Some("error".into()), Some("_OTHER".into()), 3),
        ]
    );
    let durations = histogram(&snapshot, "function.calls.duration");
    assert_eq!(durations.iter().map(|p| p.count).sum::<u64>(), 10);
    assert_eq!(
        attribute(&durations[0].attributes, "span.name"),
        Some("reserve".into())
    );
    assert_eq!(
        attribute(&durations[0].attributes, "span.kind"),
        Some("SPAN_KIND_INTERNAL".into())
    );
}

/// The call site of a `#[traced] fn load_cart()`, as the expansion's
/// `static` holds it.
fn load_cart() -> &'static CallSite {
    Box::leak(Box::new(CallSite::new(
        "load_cart",
        Kind::Internal,
        "shop::cart::load_cart",
        "cart.rs",
        7,
        Some("shop"),
        Some("1.0.0"),
        &[],
    )))
}

/// `#[traced(kind = server, metrics = false)] fn health()`.
fn health() -> &'static CallSite {
    Box::leak(Box::new(
        CallSite::new(
            "health",
            Kind::Server,
            "shop::health",
            "health.rs",
            1,
            Some("shop"),
            None,
            &[],
        )
        .without_metrics(),
    ))
}

/// The attributes of the only `function.calls` series, as `key=value`,
/// once its count is checked.
fn the_one_function_series(snapshot: &MetricsSnapshot, count: i64) -> Vec<String> {
    let calls = sum(snapshot, "function.calls");
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].value, count);
    calls[0]
        .attributes
        .iter()
        .map(|kv| format!("{}={}", kv.key, kv.value))
        .collect()
}

/// A `#[traced]` call of `site`, as the expansion makes it; sampled out,
/// nothing is recorded.
fn traced_call(pipeline: &LocalPipeline, site: &'static CallSite) {
    if let Started::Recording(cx) = start(pipeline.shared(), site, Parent::Root) {
        cx.span().end();
    }
}

#[test]
fn traced_functions_count_per_call_site_and_opt_outs_do_not() {
    let sink = Collections::default();
    let (pipeline, spans) = pipeline(
        always(),
        None,
        settings(&sink, 2000, Temporality::Cumulative),
    );
    let (load_cart, health) = (load_cart(), health());
    for _ in 0..5 {
        traced_call(&pipeline, load_cart);
        traced_call(&pipeline, health);
    }
    pipeline.flush();
    assert_eq!(
        spans.0.lock().unwrap().len(),
        10,
        "every span is still exported"
    );
    let snapshot = sink.last();
    assert_eq!(
        the_one_function_series(&snapshot, 5),
        [
            "span.name=load_cart",
            "span.kind=SPAN_KIND_INTERNAL",
            "code.function.name=shop::cart::load_cart",
            "function=load_cart",
            "module=shop::cart",
            "result=ok",
        ]
    );
    // Without tail sampling every span may be an exemplar.
    let exemplars = &histogram(&snapshot, "function.calls.duration")[0].exemplars;
    assert!(!exemplars.is_empty());
    let exported: HashSet<_> = spans
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|span| span.span_context.span_id())
        .collect();
    assert!(exemplars.iter().all(|e| exported.contains(&e.span_id)));
}

#[test]
fn only_the_chosen_kinds_are_measured() {
    let sink = Collections::default();
    let mut metrics = settings(&sink, 2000, Temporality::Cumulative);
    metrics.kinds = vec![Kind::Server];
    let (pipeline, _) = pipeline(always(), None, metrics);
    let site = load_cart();
    traced_call(&pipeline, site);
    timed_span(
        &pipeline,
        "GET /",
        SpanKind::Server,
        Vec::new(),
        ms(1),
        false,
    );
    timed_span(
        &pipeline,
        "call",
        SpanKind::Client,
        Vec::new(),
        ms(1),
        false,
    );
    pipeline.flush();
    let snapshot = sink.last();
    let calls = sum(&snapshot, "function.calls");
    assert_eq!(calls.len(), 1);
    assert_eq!(
        attribute(&calls[0].attributes, "span.name"),
        Some("GET /".into())
    );
}

#[test]
fn exemplars_point_only_at_kept_traces_and_counts_cover_every_trace() {
    let sink = Collections::default();
    let (pipeline, spans) = pipeline(
        always(),
        Some(TailPolicy::errors_only()),
        settings(&sink, 2000, Temporality::Cumulative),
    );
    let site = load_cart();
    let mut failed = HashSet::new();
    let mut all = HashSet::new();
    for n in 0..200 {
        // Every bucket sees kept and dropped traces alike.
        let lasted = ms([1, 7, 30, 300][n % 4]);
        let trace = timed_span(
            &pipeline,
            "work",
            SpanKind::Internal,
            Vec::new(),
            lasted,
            n % 5 == 0,
        );
        all.insert(trace);
        if n % 5 == 0 {
            failed.insert(trace);
        }
        traced_call(&pipeline, site);
    }
    pipeline.flush();
    let snapshot = sink.last();
    let kept: HashSet<TraceId> = spans
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|span| span.span_context.trace_id())
        .collect();
    assert_eq!(kept, failed, "tail sampling keeps the failed traces only");
    let durations = histogram(&snapshot, "function.calls.duration");
    let counted: u64 = durations.iter().map(|point| point.count).sum();
    assert_eq!(counted, 400, "every span is counted, kept or dropped");
    let exemplars: Vec<&Exemplar> = durations.iter().flat_map(|p| &p.exemplars).collect();
    assert!(!exemplars.is_empty());
    for exemplar in &exemplars {
        assert!(
            kept.contains(&exemplar.trace_id),
            "exemplar of dropped trace {}",
            exemplar.trace_id
        );
    }
    // The failed traces' spans are exemplars of the failed series only;
    // the series of spans that never failed has none.
    let ok = durations
        .iter()
        .find(|p| {
            attribute(&p.attributes, "span.name") == Some("work".into())
                && attribute(&p.attributes, "result") == Some("ok".into())
        })
        .unwrap();
    assert!(ok.exemplars.is_empty(), "{:?}", ok.exemplars);
    assert!(all.len() == 200);
}

#[test]
fn series_past_the_limit_overflow_into_one() {
    let sink = Collections::default();
    let (pipeline, _) = pipeline(always(), None, settings(&sink, 5, Temporality::Cumulative));
    let names: Vec<&'static str> = (0..20)
        .map(|n| &*Box::leak(format!("op{n}").into_boxed_str()))
        .collect();
    for name in &names {
        timed_span(
            &pipeline,
            name,
            SpanKind::Internal,
            Vec::new(),
            ms(1),
            false,
        );
    }
    pipeline.flush();
    let snapshot = sink.last();
    let calls = sum(&snapshot, "function.calls");
    assert_eq!(calls.len(), 5);
    let overflow: Vec<&NumberPoint> = calls
        .iter()
        .filter(|p| attribute(&p.attributes, "otel.metric.overflow") == Some(Value::Bool(true)))
        .collect();
    assert_eq!(overflow.len(), 1);
    assert_eq!(overflow[0].value, 16);
    assert_eq!(overflow[0].attributes.len(), 1);
    assert_eq!(calls.iter().map(|p| p.value).sum::<i64>(), 20);
}

#[test]
fn delta_temporality_reports_each_interval_once() {
    let sink = Collections::default();
    let (pipeline, _) = pipeline(always(), None, settings(&sink, 2000, Temporality::Delta));
    timed_span(&pipeline, "a", SpanKind::Internal, Vec::new(), ms(1), false);
    timed_span(&pipeline, "b", SpanKind::Internal, Vec::new(), ms(1), false);
    pipeline.flush();
    let first = sink.last();
    assert_eq!(sum(&first, "function.calls").len(), 2);
    timed_span(&pipeline, "a", SpanKind::Internal, Vec::new(), ms(1), false);
    pipeline.flush();
    let second = sink.last();
    let calls = sum(&second, "function.calls");
    assert_eq!(calls.len(), 1, "b had no new calls");
    assert_eq!(calls[0].value, 1);
    assert!(calls[0].start > sum(&first, "function.calls")[0].start);
    let processed = sum(&second, "otel.sdk.processor.span.processed");
    assert_eq!(processed[0].value, 1, "one span since the first collection");
}

#[test]
fn head_sampling_scales_counts_by_the_ratio() {
    let sink = Collections {
        summary: true,
        ..Collections::default()
    };
    let (pipeline, _) = pipeline(
        Sampler::TraceIdRatioBased(0.25),
        None,
        settings(&sink, 2000, Temporality::Cumulative),
    );
    let site = load_cart();
    const CALLS: i64 = 8000;
    for _ in 0..CALLS {
        traced_call(&pipeline, site);
    }
    pipeline.flush();
    let snapshot = sink.last();
    let estimate = sum(&snapshot, "function.calls")[0].value;
    // Recorded ~ Binomial(8000, 0.25): sd 38.7 spans, 155 calls once scaled;
    // six of them either side.
    assert!((estimate - CALLS).abs() < 6 * 155, "{estimate}");
    assert_eq!(estimate % 4, 0, "each recorded span counts four times");
    let summary = snapshot.summary.expect("asked for");
    assert!(summary.estimated);
    assert_eq!(summary.rows[0].calls as i64, estimate);
}

#[test]
fn the_pipeline_reports_its_own_health() {
    let sink = Collections::default();
    let (pipeline, _) = pipeline(
        always(),
        None,
        settings(&sink, 2000, Temporality::Cumulative),
    );
    let site = load_cart();
    for _ in 0..3 {
        traced_call(&pipeline, site);
    }
    pipeline.flush();
    let snapshot = sink.last();
    let processed = sum(&snapshot, "otel.sdk.processor.span.processed");
    assert_eq!(processed[0].value, 3);
    assert_eq!(
        attribute(&processed[1].attributes, "error.type"),
        Some("queue_full".into())
    );
    assert_eq!(processed[1].value, 0);
    let capacity = sum(&snapshot, "otel.sdk.processor.span.queue.capacity")[0].value;
    assert!(capacity >= 1024, "{capacity}");
    let limit = sum(&snapshot, "traced.processor.pending.memory.limit")[0].value;
    assert_eq!(limit, 1 << 20);
}

#[test]
fn the_summary_has_calls_errors_and_percentiles_per_span_name() {
    let sink = Collections {
        summary: true,
        ..Collections::default()
    };
    let (pipeline, _) = pipeline(
        always(),
        None,
        settings(&sink, 2000, Temporality::Cumulative),
    );
    let site = load_cart();
    for n in 1..=20 {
        timed_span(
            &pipeline,
            "checkout",
            SpanKind::Server,
            Vec::new(),
            ms(n),
            n == 20,
        );
    }
    traced_call(&pipeline, site);
    pipeline.flush();
    let summary = sink.last().summary.expect("asked for");
    let checkout = &summary.rows[0];
    assert_eq!(
        (checkout.name.as_str(), checkout.calls, checkout.errors),
        ("checkout", 20, 1)
    );
    let close = |got: Duration, want: u64| {
        (got.as_secs_f64() * 1e3 - want as f64).abs() <= want as f64 * 0.04
    };
    assert!(close(checkout.p50, 10), "{:?}", checkout.p50);
    assert!(close(checkout.p95, 19), "{:?}", checkout.p95);
    assert!(close(checkout.p99, 20), "{:?}", checkout.p99);
    assert_eq!(summary.rows[1].name, "load_cart");
    assert!(!summary.estimated);
}

#[test]
fn weights_follow_the_ratio_of_new_traces() {
    assert_eq!(weight_of(sampling::Rule::Always), 1.0);
    assert_eq!(weight_of(sampling::Rule::Ask), 1.0);
    let quarter = sampling::Rule::of(Some(&Sampler::TraceIdRatioBased(0.25)));
    assert_eq!(weight_of(quarter), 4.0);
}

#[test]
fn a_kept_span_is_never_an_exemplar_of_a_series_it_was_not_measured_into() {
    let sink = Collections::default();
    let (pipeline, _) = pipeline(always(), Some(TailPolicy::errors_only()), {
        let mut metrics = settings(&sink, 2000, Temporality::Cumulative);
        metrics.kinds = vec![Kind::Server];
        metrics
    });
    // A failed internal trace is kept, but internal spans are not measured.
    timed_span(
        &pipeline,
        "internal",
        SpanKind::Internal,
        Vec::new(),
        ms(1),
        true,
    );
    pipeline.flush();
    assert!(sink.last().metric("function.calls.duration").is_none());
}

#[cfg(feature = "tracing")]
#[test]
fn repro_library_spans_count_under_their_name_without_an_empty_function() {
    use super::super::library::{Shape, start_library};

    let sink = Collections::default();
    let (pipeline, _) = pipeline(
        always(),
        None,
        settings(&sink, 2000, Temporality::Cumulative),
    );
    let site: &'static CallSite = Box::leak(Box::new(CallSite::library(
        "request",
        Some("src/trace.rs"),
        Some(12),
        Some("tower_http::trace"),
        "tower_http",
    )));
    for _ in 0..3 {
        let started = start_library(
            pipeline.shared(),
            site,
            Parent::Root,
            Shape::default(),
            |_| Status::Unset,
        );
        if let Started::Recording(cx) = started {
            cx.span().end();
        }
    }
    pipeline.flush();
    let snapshot = sink.last();
    assert_eq!(
        the_one_function_series(&snapshot, 3),
        [
            "span.name=request",
            "span.kind=SPAN_KIND_INTERNAL",
            "function=request",
            "result=ok",
        ]
    );
}

/// A call site of `load_cart` (as [`load_cart`]) with `attributes`.
fn load_cart_with(attributes: Vec<SiteAttribute>) -> &'static CallSite {
    Box::leak(Box::new(CallSite::new(
        "load_cart",
        Kind::Internal,
        "shop::cart::load_cart",
        "cart.rs",
        7,
        Some("shop"),
        Some("1.0.0"),
        attributes.leak(),
    )))
}

/// A `#[traced]` call of `site` that records `value` for its one recorded
/// attribute.
fn traced_call_recording(pipeline: &LocalPipeline, site: &'static CallSite, value: AttrValue<'_>) {
    let shared = pipeline.shared();
    let Begun::Recording(plan) = begin(shared, site, Parent::Root) else {
        return;
    };
    let mut attributes = Attributes::native(shared);
    attributes.record(value);
    let started = finish(
        shared,
        site,
        Parent::Root,
        plan,
        Links::default(),
        attributes,
    );
    if let Started::Recording(cx) = started {
        cx.span().end();
    }
}

#[test]
fn attributes_no_metric_reads_leave_a_call_site_in_one_series() {
    let sink = Collections::default();
    let (pipeline, _) = pipeline(
        always(),
        None,
        settings(&sink, 2000, Temporality::Cumulative),
    );
    let bare = load_cart();
    let counted = load_cart_with(vec![SiteAttribute::recorded("cart.items")]);
    let labelled = load_cart_with(vec![SiteAttribute::recorded("cart.owner")]);
    for n in 0..4 {
        traced_call(&pipeline, bare);
        traced_call_recording(&pipeline, counted, AttrValue::I64(n));
    }
    traced_call_recording(&pipeline, labelled, AttrValue::Str("ada"));
    let database = load_cart_with(vec![SiteAttribute::literal(
        "db.system.name",
        StaticValue::str("postgresql"),
    )]);
    traced_call(&pipeline, database);
    let failing = load_cart_with(vec![SiteAttribute::recorded("error.type")]);
    traced_call_recording(&pipeline, failing, AttrValue::Str("timeout"));
    pipeline.flush();
    let snapshot = sink.last();
    let calls = sum(&snapshot, "function.calls");
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(
        calls[0].value, 9,
        "bare spans and those with unread attributes"
    );
    assert_eq!(
        attribute(&calls[1].attributes, "error.type"),
        Some("timeout".into())
    );
    assert_eq!(calls[1].value, 1);
    assert_eq!(
        histogram(&snapshot, "db.client.operation.duration")[0].count,
        1,
        "a literal attribute in the call site's data is read"
    );
}
