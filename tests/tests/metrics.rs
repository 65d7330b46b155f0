//! Metrics end to end: a traced program's RED metrics, its own instruments
//! and the pipeline's health, read back from a real collector (rotel) over
//! gRPC and HTTP/protobuf, and the console's table at shutdown. Each
//! program runs in a child process configured by the environment alone.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use traced::opentelemetry::trace::{Span as _, SpanKind, Status, Tracer as _};
use traced::opentelemetry::{KeyValue, global};
use traced::traced;
use traced_peers::{Collector, ReceivedMetric, ReceivedPoint};

use traced_tests::child::{in_child, rerun};

#[derive(Debug, thiserror::Error)]
#[error("out of stock")]
struct OutOfStock;

#[traced]
fn reserve(n: u32) -> Result<u32, OutOfStock> {
    if n.is_multiple_of(3) {
        return Err(OutOfStock);
    }
    Ok(n)
}

#[traced(kind = server, metrics = false)]
fn health() -> &'static str {
    "ok"
}

/// A span through the OpenTelemetry API that lasted exactly `lasted`.
fn timed(
    name: &'static str,
    kind: SpanKind,
    attributes: Vec<KeyValue>,
    lasted: Duration,
    failed: bool,
) {
    let tracer = global::tracer("shop");
    let start = SystemTime::now();
    let mut span = tracer
        .span_builder(name)
        .with_kind(kind)
        .with_start_time(start)
        .with_attributes(attributes)
        .start(&tracer);
    if failed {
        span.set_status(Status::error("server error"));
    }
    span.end_with_timestamp(start + lasted);
}

fn request(status: i64) -> Vec<KeyValue> {
    let mut attributes = vec![
        KeyValue::new("http.request.method", "GET"),
        KeyValue::new("url.scheme", "http"),
        KeyValue::new("http.route", "/articles/{id}"),
        KeyValue::new("url.path", "/articles/7"),
        KeyValue::new("http.response.status_code", status),
    ];
    if status >= 500 {
        attributes.push(KeyValue::new("error.type", status.to_string()));
    }
    attributes
}

/// The program of the first tests: requests of known durations, one
/// failed, ten calls of `reserve` (four fail), health checks left out, and
/// a counter of the application's own.
fn shop() {
    for ms in [3, 4, 7, 30, 300, 3_000, 30_000] {
        timed(
            "GET /articles/{id}",
            SpanKind::Server,
            request(200),
            Duration::from_millis(ms),
            false,
        );
    }
    timed(
        "GET /articles/{id}",
        SpanKind::Server,
        request(503),
        Duration::from_millis(20),
        true,
    );
    for n in 0..10 {
        let _ = reserve(n);
    }
    for _ in 0..5 {
        health();
    }
    let orders = global::meter("shop").u64_counter("orders.placed").build();
    for _ in 0..3 {
        orders.add(2, &[KeyValue::new("payment", "card")]);
    }
}

/// The last collection of metric `name`.
fn latest<'a>(metrics: &'a [ReceivedMetric], name: &str) -> &'a ReceivedMetric {
    metrics
        .iter()
        .rev()
        .find(|metric| metric.name == name)
        .unwrap_or_else(|| panic!("no {name} in {metrics:#?}"))
}

fn point<'a>(metric: &'a ReceivedMetric, key: &str, value: &str) -> &'a ReceivedPoint {
    metric
        .points
        .iter()
        .find(|point| point.attribute(key) == Some(value))
        .unwrap_or_else(|| panic!("no {key}={value} in {metric:#?}"))
}

fn value(point: &ReceivedPoint) -> i64 {
    point
        .value
        .as_deref()
        .and_then(|v| v.parse().ok())
        .expect("an integer value")
}

fn endpoint_env(collector: &Collector, protocol: &str) -> Vec<(&'static str, String)> {
    let endpoint = match protocol {
        "grpc" => collector.grpc_endpoint(),
        _ => collector.http_endpoint(),
    };
    vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol.to_owned()),
        ("OTEL_SERVICE_NAME", "shop".to_owned()),
        // One collection, at shutdown.
        ("OTEL_METRIC_EXPORT_INTERVAL", "3600000".to_owned()),
    ]
}

fn run(test: &str, env: &[(&'static str, String)]) -> std::process::Output {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    rerun(test, &env)
}

#[test]
fn red_metrics_have_exact_counts_buckets_and_errors_over_both_protocols() {
    if in_child() {
        let guard = traced::init().expect("init");
        shop();
        guard.shutdown().expect("delivered");
        return;
    }
    for protocol in ["grpc", "http/protobuf"] {
        let collector = Collector::start();
        run(
            "red_metrics_have_exact_counts_buckets_and_errors_over_both_protocols",
            &endpoint_env(&collector, protocol),
        );
        let metrics = collector.wait_for_metrics(Duration::from_secs(20), |metrics| {
            metrics.iter().any(|metric| metric.name == "orders.placed")
                && metrics
                    .iter()
                    .any(|m| m.name == "http.server.request.duration")
        });

        let requests = latest(&metrics, "http.server.request.duration");
        assert_eq!(requests.service_name, "shop", "{protocol}");
        assert_eq!(requests.scope_name, "traced");
        assert_eq!(requests.unit, "s");
        assert_eq!(requests.data_type, "Histogram");
        assert_eq!(requests.temporality, "AGGREGATION_TEMPORALITY_CUMULATIVE");
        assert_eq!(requests.points.len(), 2, "{requests:#?}");
        let ok = point(requests, "http.response.status_code", "Int(200)");
        assert_eq!(ok.attribute("http.request.method"), Some("Str(GET)"));
        assert_eq!(ok.attribute("http.route"), Some("Str(/articles/{id})"));
        assert_eq!(ok.attribute("url.scheme"), Some("Str(http)"));
        assert_eq!(
            ok.attribute("url.path"),
            None,
            "not an attribute of the metric"
        );
        assert_eq!(ok.attribute("error.type"), None);
        assert_eq!(
            ok.bounds,
            [
                0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0
            ]
        );
        // 3 and 4 ms, 7 ms, 30 ms, 300 ms, 3 s, 30 s.
        assert_eq!(
            ok.bucket_counts,
            [2, 1, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1]
        );
        assert_eq!(ok.count, Some(7));
        assert!((ok.sum.unwrap() - 33.344).abs() < 1e-6, "{ok:#?}");
        assert_eq!((ok.min, ok.max), (Some(0.003), Some(30.0)));
        let failed = point(requests, "http.response.status_code", "Int(503)");
        assert_eq!(failed.attribute("error.type"), Some("Str(503)"));
        assert_eq!(failed.count, Some(1));
        assert_eq!(failed.bucket_counts[2], 1, "20 ms: the 25 ms bucket");
        // Every span is exported, so every exemplar is one of them.
        assert!(!ok.exemplars.is_empty());

        let calls = latest(&metrics, "function.calls");
        assert_eq!(calls.monotonic, Some(true));
        let reserved_ok = point(calls, "result", "Str(ok)");
        let reserved_failed = point(calls, "result", "Str(error)");
        assert_eq!((value(reserved_ok), value(reserved_failed)), (6, 4));
        for reserved in [reserved_ok, reserved_failed] {
            assert_eq!(reserved.attribute("span.name"), Some("Str(reserve)"));
            assert_eq!(reserved.attribute("function"), Some("Str(reserve)"));
            assert_eq!(reserved.attribute("module"), Some("Str(metrics)"));
            assert_eq!(
                reserved.attribute("span.kind"),
                Some("Str(SPAN_KIND_INTERNAL)")
            );
        }
        assert!(
            reserved_failed
                .attribute("error.type")
                .is_some_and(|error| error.contains("OutOfStock")),
            "{reserved_failed:#?}"
        );
        assert_eq!(
            calls.points.len(),
            2,
            "health checks are left out: {calls:#?}"
        );
        let durations = latest(&metrics, "function.calls.duration");
        let counted: u64 = durations.points.iter().filter_map(|p| p.count).sum();
        assert_eq!(counted, 10);

        let orders = latest(&metrics, "orders.placed");
        assert_eq!(orders.scope_name, "shop");
        assert_eq!(orders.service_name, "shop");
        assert_eq!(value(point(orders, "payment", "Str(card)")), 6);

        // 8 requests, 10 reserves and 5 health checks: all processed.
        let processed = latest(&metrics, "otel.sdk.processor.span.processed");
        let done: Vec<i64> = processed
            .points
            .iter()
            .filter(|point| point.attribute("error.type").is_none())
            .map(value)
            .collect();
        assert_eq!(done, [23]);
        let exported = latest(&metrics, "otel.sdk.exporter.span.exported");
        assert!(
            exported
                .points
                .iter()
                .all(|point| point.attribute("otel.component.type").is_some())
        );
        latest(&metrics, "otel.sdk.processor.span.queue.capacity");
        latest(&metrics, "otel.sdk.exporter.metric_data_point.exported");
    }
}

#[derive(Debug, thiserror::Error)]
#[error("card declined")]
struct Declined;

#[traced]
fn charge(n: u32) -> Result<(), Declined> {
    if n.is_multiple_of(10) {
        Err(Declined)
    } else {
        Ok(())
    }
}

#[traced(root)]
fn checkout(n: u32) -> Result<(), Declined> {
    charge(n)
}

#[test]
fn exemplars_open_only_traces_that_tail_sampling_kept() {
    if in_child() {
        let guard = traced::init().expect("init");
        for n in 0..200 {
            let _ = checkout(n);
        }
        guard.shutdown().expect("delivered");
        return;
    }
    let collector = Collector::start();
    let mut env = endpoint_env(&collector, "grpc");
    env.push(("TRACED_TAIL_SAMPLING", "on".to_owned()));
    run("exemplars_open_only_traces_that_tail_sampling_kept", &env);
    let spans = collector.wait_for(Duration::from_secs(20), |spans| spans.len() >= 40);
    let kept: HashSet<&str> = spans.iter().map(|span| span.trace_id.as_str()).collect();
    assert_eq!(
        kept.len(),
        20,
        "the failed checkouts are kept, the rest dropped"
    );
    let metrics = collector.wait_for_metrics(Duration::from_secs(20), |metrics| {
        metrics
            .iter()
            .any(|metric| metric.name == "function.calls.duration")
    });
    // Every call is counted, kept or dropped.
    let calls = latest(&metrics, "function.calls");
    let checkouts: i64 = calls
        .points
        .iter()
        .filter(|point| point.attribute("span.name") == Some("Str(checkout)"))
        .map(value)
        .sum();
    assert_eq!(checkouts, 200);
    let durations = latest(&metrics, "function.calls.duration");
    let exemplars: Vec<&str> = durations
        .points
        .iter()
        .flat_map(|point| &point.exemplars)
        .map(|exemplar| exemplar.trace_id.as_str())
        .collect();
    assert!(!exemplars.is_empty(), "{durations:#?}");
    for trace_id in &exemplars {
        assert!(
            kept.contains(trace_id),
            "exemplar of dropped trace {trace_id}"
        );
    }
    let succeeded = durations
        .points
        .iter()
        .filter(|point| point.attribute("result") == Some("Str(ok)"));
    for point in succeeded {
        assert!(
            point.exemplars.is_empty(),
            "no successful trace was kept: {point:#?}"
        );
    }
}

#[test]
fn series_past_the_limit_overflow_and_the_cap_is_reported() {
    if in_child() {
        let guard = traced::init().expect("init");
        for n in 0..30 {
            let name: &'static str = Box::leak(format!("step {n}").into_boxed_str());
            timed(
                name,
                SpanKind::Internal,
                Vec::new(),
                Duration::from_millis(1),
                false,
            );
        }
        guard.shutdown().expect("delivered");
        return;
    }
    let collector = Collector::start();
    let mut env = endpoint_env(&collector, "http/protobuf");
    env.push(("TRACED_METRICS_CARDINALITY_LIMIT", "10".to_owned()));
    let output = run(
        "series_past_the_limit_overflow_and_the_cap_is_reported",
        &env,
    );
    let metrics = collector.wait_for_metrics(Duration::from_secs(20), |metrics| {
        metrics.iter().any(|metric| metric.name == "function.calls")
    });
    let calls = latest(&metrics, "function.calls");
    assert_eq!(
        calls.points.len(),
        10,
        "the limit counts the overflow series"
    );
    let overflow = point(calls, "otel.metric.overflow", "Bool(true)");
    assert_eq!(value(overflow), 21);
    assert_eq!(overflow.attributes.len(), 1);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "traced: metric function.calls.duration reached its cardinality limit of 10 series"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "21 spans were counted under otel.metric.overflow=true in function.calls.duration"
        ),
        "{stderr}"
    );
}

#[traced(root)]
fn sampled_call() {}

#[test]
fn counts_under_head_sampling_are_estimates_within_statistical_bounds() {
    const CALLS: i64 = 8000;
    if in_child() {
        let guard = traced::init().expect("init");
        for _ in 0..CALLS {
            sampled_call();
        }
        guard.shutdown().expect("delivered");
        return;
    }
    let collector = Collector::start();
    let mut env = endpoint_env(&collector, "grpc");
    env.push(("OTEL_TRACES_SAMPLER", "traceidratio".to_owned()));
    env.push(("OTEL_TRACES_SAMPLER_ARG", "0.25".to_owned()));
    run(
        "counts_under_head_sampling_are_estimates_within_statistical_bounds",
        &env,
    );
    let metrics = collector.wait_for_metrics(Duration::from_secs(20), |metrics| {
        metrics.iter().any(|metric| metric.name == "function.calls")
    });
    let estimate = value(&latest(&metrics, "function.calls").points[0]);
    // Recorded calls ~ Binomial(8000, 0.25): sd 38.7, 155 once scaled up;
    // six of them either side.
    assert!((estimate - CALLS).abs() < 6 * 155, "{estimate}");
    let recorded = (estimate / 4) as usize;
    let spans = collector.wait_for(Duration::from_secs(30), |spans| spans.len() >= recorded);
    assert_eq!(
        spans.len() * 4,
        estimate as usize,
        "each recorded span counts four times"
    );
}

#[test]
fn delta_temporality_sends_each_interval_once() {
    if in_child() {
        let guard = traced::init().expect("init");
        for n in 1..=2 {
            let _ = reserve(n);
        }
        traced::flush().expect("flushed");
        let _ = reserve(4);
        guard.shutdown().expect("delivered");
        return;
    }
    let collector = Collector::start();
    let mut env = endpoint_env(&collector, "http/protobuf");
    env.push((
        "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
        "delta".to_owned(),
    ));
    run("delta_temporality_sends_each_interval_once", &env);
    let metrics = collector.wait_for_metrics(Duration::from_secs(20), |metrics| {
        metrics
            .iter()
            .filter(|metric| metric.name == "function.calls")
            .count()
            >= 2
    });
    let calls: Vec<&ReceivedMetric> = metrics
        .iter()
        .filter(|m| m.name == "function.calls")
        .collect();
    assert_eq!(calls.len(), 2, "{calls:#?}");
    for call in &calls {
        assert_eq!(call.temporality, "AGGREGATION_TEMPORALITY_DELTA");
        assert_eq!(call.points.len(), 1);
    }
    assert_eq!(value(&calls[0].points[0]), 2);
    assert_eq!(value(&calls[1].points[0]), 1);
    assert!(calls[1].points[0].start >= calls[0].points[0].time);
}

#[test]
fn metrics_without_traces_and_without_span_metrics() {
    if in_child() {
        let guard = traced::init().expect("init");
        shop();
        guard.shutdown().expect("delivered");
        return;
    }
    let collector = Collector::start();
    let mut env = endpoint_env(&collector, "grpc");
    env.push(("OTEL_TRACES_EXPORTER", "none".to_owned()));
    env.push(("OTEL_METRICS_EXPORTER", "otlp".to_owned()));
    run("metrics_without_traces_and_without_span_metrics", &env);
    let metrics = collector.wait_for_metrics(Duration::from_secs(20), |metrics| {
        metrics.iter().any(|metric| metric.name == "function.calls")
    });
    assert_eq!(
        value(point(
            latest(&metrics, "function.calls"),
            "result",
            "Str(ok)"
        )),
        6
    );
    let durations = latest(&metrics, "http.server.request.duration");
    assert!(
        durations
            .points
            .iter()
            .all(|point| point.exemplars.is_empty()),
        "no trace is exported, so none is pointed at"
    );
    assert!(collector.spans().is_empty());

    let collector = Collector::start();
    let mut env = endpoint_env(&collector, "grpc");
    env.push(("TRACED_METRICS", "off".to_owned()));
    run("metrics_without_traces_and_without_span_metrics", &env);
    let metrics = collector.wait_for_metrics(Duration::from_secs(20), |metrics| {
        metrics.iter().any(|metric| metric.name == "orders.placed")
    });
    assert!(metrics.iter().all(|metric| metric.name != "function.calls"));
    latest(&metrics, "otel.sdk.processor.span.processed");
}

#[test]
fn the_console_prints_calls_errors_and_latency_per_span_name_at_shutdown() {
    if in_child() {
        let guard = traced::init().expect("init");
        shop();
        drop(guard);
        return;
    }
    let output = run(
        "the_console_prints_calls_errors_and_latency_per_span_name_at_shutdown",
        &[("OTEL_SERVICE_NAME", "shop".to_owned())],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    let table = stderr
        .split("traced: calls, errors and latency per span name\n")
        .nth(1)
        .unwrap_or_else(|| panic!("no table in\n{stderr}"));
    let row = |name: &str| -> Vec<String> {
        table
            .lines()
            .find(|line| line.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("no {name} row in\n{table}"))
            .trim_start()
            .strip_prefix(name)
            .unwrap()
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    };
    let requests = row("GET /articles/{id}");
    assert_eq!(requests[..2], ["8", "1"], "{table}");
    let reserves = row("reserve");
    assert_eq!(reserves[..2], ["10", "4"], "{table}");
    assert!(!table.contains("health"), "{table}");
    assert!(
        stderr.contains("traced: the application's metrics\n  orders.placed{payment=card} 6"),
        "{stderr}"
    );
}
