//! Suppression: nothing under a suppressed request is traced, not even
//! outgoing client spans, and the downstream service (a real HTTP server on
//! 127.0.0.1) receives a not-sampled context and records nothing either.

use std::collections::HashMap;

use axum::extract::Path;
use axum::http::HeaderMap;
use opentelemetry::trace::{TraceContextExt, Tracer};
use traced::opentelemetry;
use traced::propagation::{extract, inject};
use traced::testing::{capture, capture_async, finished_spans};
use traced::traced;
use traced_tests::started_here_flags;

/// What the downstream service saw.
#[derive(Debug)]
struct Seen {
    traceparent: Option<String>,
    sampled: bool,
}

impl Seen {
    fn parse(body: &str) -> Seen {
        let (traceparent, sampled) = body.split_once(' ').unwrap();
        Seen {
            traceparent: (traceparent != "-").then(|| traceparent.to_owned()),
            sampled: sampled == "sampled",
        }
    }
}

#[traced(kind = server, parent = cx)]
fn downstream_work(cx: &opentelemetry::Context, #[attr] marker: &str) -> bool {
    traced::current::span_context().is_sampled()
}

/// The downstream service: continues the incoming context and answers with
/// the `traceparent` it received and whether its own span was sampled.
async fn downstream(headers: HeaderMap, Path(marker): Path<String>) -> String {
    let cx = extract(&headers);
    let sampled = downstream_work(&cx, &marker);
    let traceparent = headers
        .get("traceparent")
        .map_or("-", |v| v.to_str().unwrap());
    format!(
        "{traceparent} {}",
        if sampled { "sampled" } else { "not-sampled" }
    )
}

async fn start_downstream() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = axum::Router::new().route("/work/{marker}", axum::routing::get(downstream));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}/work")
}

#[traced(kind = client)]
async fn call(url: &str, marker: &str) -> Seen {
    let mut headers = HeaderMap::new();
    inject(&mut headers);
    let body = reqwest::Client::new()
        .get(format!("{url}/{marker}"))
        .headers(headers)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    Seen::parse(&body)
}

#[traced(kind = server)]
async fn checkout(url: &str) -> Seen {
    call(url, "checkout").await
}

#[traced(suppress)]
async fn health(url: &str, marker: &str) -> Seen {
    call(url, marker).await
}

#[traced(kind = server)]
async fn server_with_health_check(url: &str) -> Seen {
    health(url, "health-under-server").await
}

fn exported_with_marker(marker: &str) -> usize {
    finished_spans()
        .iter()
        .filter(|span| {
            span.attributes
                .iter()
                .any(|kv| kv.key.as_str() == "marker" && kv.value.as_str() == marker)
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ordinary_request_is_traced_downstream() {
    let url = start_downstream().await;
    let (seen, trace) = capture_async(|| checkout(&url)).await;
    assert!(seen.sampled);
    // Sampled, and random: the trace started in this process.
    let sent = seen.traceparent.unwrap();
    assert!(
        sent.ends_with(&format!("-{}", started_here_flags(true))),
        "{sent}"
    );
    assert_eq!(trace.tree(), "checkout\n  call\n    downstream_work\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suppressed_request_is_traced_nowhere() {
    let url = start_downstream().await;
    let (seen, trace) = capture_async(|| health(&url, "health-alone")).await;
    assert!(trace.spans().is_empty(), "{}", trace.tree());
    assert!(!seen.sampled, "downstream must not sample");
    let traceparent = seen.traceparent.expect("a context is still sent");
    // Not sampled; the trace's random flag stays.
    assert!(
        traceparent.ends_with(&format!("-{}", started_here_flags(false))),
        "{traceparent}"
    );
    assert_eq!(exported_with_marker("health-alone"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suppression_under_a_traced_request_keeps_the_trace_but_unsamples_it() {
    let url = start_downstream().await;
    let (seen, trace) = capture_async(|| server_with_health_check(&url)).await;
    assert_eq!(trace.tree(), "server_with_health_check\n");
    assert!(!seen.sampled);
    let server = trace.span("server_with_health_check");
    let expected = format!(
        "00-{}-{}-{}",
        server.span_context.trace_id(),
        server.span_context.span_id(),
        started_here_flags(false)
    );
    assert_eq!(seen.traceparent.as_deref(), Some(expected.as_str()));
    assert_eq!(exported_with_marker("health-under-server"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_async_runtime_form_suppresses_a_future() {
    let url = start_downstream().await;
    let (seen, trace) =
        capture_async(|| traced::suppressed(async { call(&url, "suppressed-future").await })).await;
    assert!(trace.spans().is_empty(), "{}", trace.tree());
    assert!(!seen.sampled);
    assert_eq!(exported_with_marker("suppressed-future"), 0);
}

#[traced]
fn sync_work(#[attr] marker: &str) {}

#[test]
fn the_scope_guard_suppresses_every_kind_of_span() {
    let (headers, trace) = capture(|| {
        let _suppressed = traced::suppress();
        sync_work("guarded");
        // Another OpenTelemetry instrumentation, straight on the SDK.
        let tracer = opentelemetry::global::tracer("other-library");
        tracer.in_span("other client span", |cx| assert!(!cx.span().is_recording()));
        let mut headers: HashMap<String, String> = HashMap::new();
        inject(&mut headers);
        headers
    });
    assert!(trace.spans().is_empty(), "{}", trace.tree());
    assert_eq!(exported_with_marker("guarded"), 0);
    assert!(
        !finished_spans()
            .iter()
            .any(|span| span.name == "other client span")
    );
    assert!(headers["traceparent"].ends_with(&format!("-{}", started_here_flags(false))));

    // After the guard, tracing is back.
    let ((), trace) = capture(|| sync_work("after"));
    assert_eq!(trace.tree(), "sync_work\n");
}

#[traced]
fn publish_suppressed() -> (Vec<(String, Vec<u8>)>, String) {
    let parent = traced::current::span_context();
    let _suppressed = traced::suppress();
    let mut headers = Vec::new();
    let _send = traced::messaging::Message::new("tokio", "suppressed-queue").send(&mut headers);
    let expected = format!(
        "00-{}-{}-{}",
        parent.trace_id(),
        parent.span_id(),
        started_here_flags(false)
    );
    (headers, expected)
}

#[test]
fn messages_sent_under_suppression_make_no_span_and_are_not_sampled() {
    let ((headers, expected), trace) = capture(publish_suppressed);
    assert_eq!(trace.tree(), "publish_suppressed\n");
    let traceparent = headers
        .iter()
        .find(|(k, _)| k == "traceparent")
        .expect("injected");
    assert_eq!(std::str::from_utf8(&traceparent.1).unwrap(), expected);

    let processed = {
        let _suppressed = traced::suppress();
        let span = traced::messaging::Message::new("tokio", "suppressed-queue")
            .process(&headers, traced::propagation::Trust::Continue);
        span.in_scope(|| traced::current::span_context().is_sampled())
    };
    assert!(!processed);
    assert!(
        !finished_spans()
            .iter()
            .any(|span| span.name.starts_with("suppressed-queue"))
    );
}

#[traced]
async fn child_of_suppressed() {}

#[traced]
async fn spawns_under_suppression() {
    tokio::task::yield_now().await;
    tokio::spawn(child_of_suppressed()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repro_tasks_spawned_under_suppression_stay_suppressed() {
    traced::testing::install();
    // Called under suppression, polled on the runtime's workers.
    let handle = {
        let _suppressed = traced::suppress();
        tokio::spawn(spawns_under_suppression())
    };
    handle.await.unwrap();
    let names: Vec<_> = finished_spans().into_iter().map(|span| span.name).collect();
    assert!(
        !names
            .iter()
            .any(|name| name == "child_of_suppressed" || name == "spawns_under_suppression"),
        "spans under suppression: {names:?}"
    );
}

#[test]
fn every_test_here_passes_on_a_user_provider() {
    traced_tests::rerun_on_a_user_provider();
}
