//! Real library spans over real HTTP on loopback: tower-http's `TraceLayer`
//! (level `info`) between `HttpServerLayer`'s server span and the handler's
//! `#[traced]` span, and on the calling side around traced's
//! `HttpClientLayer` over hyper-util's client, whose request carries a
//! `traceparent` inside the library span. Captured by `traced::testing` on
//! both paths, and received by a real collector (rotel) from
//! `traced::init()`.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use http_body_util::{BodyExt, Empty};
use tower::{Service, ServiceBuilder, ServiceExt};
use tower_http::trace::{DefaultMakeSpan, TraceLayer};
use traced::integrations::{HttpClientLayer, HttpServerLayer};
use traced::opentelemetry::Value;
use traced::opentelemetry::trace::SpanKind;
use traced::testing::{FinishedSpan, capture_async};
use traced::traced;
use traced_peers::Collector;
use traced_tests::child::{in_child, rerun};
use traced_tests::{assert_child, attribute, span_named, spans_of};

#[traced]
async fn lookup(item: String) -> String {
    tokio::task::yield_now().await;
    format!("{item}: 3 left")
}

async fn stock(Path(item): Path<String>) -> String {
    lookup(item).await
}

/// The service: `HttpServerLayer` outermost, tower-http's `TraceLayer`
/// inside it, the handler's `#[traced]` function inside that.
fn service() -> Router {
    Router::new()
        .route("/stock/{item}", get(stock))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(tracing::Level::INFO)),
        )
        .layer(HttpServerLayer::new())
}

async fn serve() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            service().into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    address
}

/// A `#[traced]` caller whose client stack puts tower-http's `TraceLayer`
/// (a client-side library span) around traced's `HttpClientLayer`, over
/// hyper-util's client.
#[traced]
async fn call(server: SocketAddr) -> String {
    let hyper_client =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build_http::<Empty<axum::body::Bytes>>();
    let mut client = ServiceBuilder::new()
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(tracing::Level::INFO)),
        )
        .layer(HttpClientLayer::new())
        .service(hyper_client);
    let request = http::Request::get(format!("http://{server}/stock/lamp"))
        .body(Empty::new())
        .unwrap();
    let response = client.ready().await.unwrap().call(request).await.unwrap();
    assert_eq!(response.status(), 200);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(body.to_vec()).unwrap()
}

/// The library span named `request` whose parent is `parent`.
fn request_under<'a>(spans: &'a [FinishedSpan], parent: &FinishedSpan) -> &'a FinishedSpan {
    spans
        .iter()
        .find(|span| span.name == "request" && span.parent_span_id == parent.span_context.span_id())
        .unwrap_or_else(|| {
            let names: Vec<_> = spans.iter().map(|s| (&s.name, s.parent_span_id)).collect();
            panic!("no request span under {:?} in {names:?}", parent.name)
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tower_http_spans_nest_between_traced_spans_on_both_sides() {
    let server = serve().await;
    let (body, trace_id) = capture_async(|| {
        let trace_id = traced::current::span_context().trace_id();
        async move { (call(server).await, trace_id) }
    })
    .await
    .0;
    assert_eq!(body, "lamp: 3 left");
    let spans = spans_of(trace_id, 6).await;
    assert_eq!(spans.len(), 6, "{spans:#?}");
    let call = span_named(&spans, "call", SpanKind::Internal);
    let client_library = request_under(&spans, call);
    let client = span_named(&spans, "GET", SpanKind::Client);
    let server_span = span_named(&spans, "GET /stock/{item}", SpanKind::Server);
    let server_library = request_under(&spans, server_span);
    let lookup = span_named(&spans, "lookup", SpanKind::Internal);
    // call → request (tower-http, client side) → GET (traced's client span,
    // whose traceparent the server continued) → GET /stock/{item} →
    // request (tower-http, server side) → lookup.
    assert_child(client, client_library);
    assert_child(server_span, client);
    assert_child(lookup, server_library);
    for library in [client_library, server_library] {
        assert_eq!(library.span_kind, SpanKind::Internal);
        assert_eq!(library.instrumentation_scope.name(), "tower_http");
        assert_eq!(
            attribute(library, "method"),
            Some(&Value::from("GET".to_owned()))
        );
        assert_eq!(
            attribute(library, "version"),
            Some(&Value::from("HTTP/1.1".to_owned()))
        );
    }
    assert_eq!(
        attribute(server_library, "uri"),
        Some(&Value::from("/stock/lamp".to_owned()))
    );
    assert_eq!(
        attribute(client_library, "uri"),
        Some(&Value::from(format!("http://{server}/stock/lamp")))
    );
}

#[test]
fn a_collector_receives_one_trace_with_the_library_spans_in_place() {
    const NAME: &str = "a_collector_receives_one_trace_with_the_library_spans_in_place";
    if !in_child() {
        let collector = Collector::start();
        rerun(
            NAME,
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", &collector.http_endpoint()),
                ("OTEL_SERVICE_NAME", "stock"),
            ],
        );
        let spans = collector.wait_for(Duration::from_secs(20), |spans| spans.len() >= 6);
        assert_eq!(spans.len(), 6, "{spans:#?}");
        let trace_id = &spans[0].trace_id;
        assert!(spans.iter().all(|span| &span.trace_id == trace_id));
        let by_id = |id: &Option<String>| {
            spans
                .iter()
                .find(|span| Some(&span.span_id) == id.as_ref())
                .map(|span| span.name.as_str())
        };
        let parent_of = |name: &str, kind: &str| {
            let span = spans
                .iter()
                .find(|span| span.name == name && span.kind == kind)
                .unwrap_or_else(|| panic!("no {name} {kind} in {spans:#?}"));
            by_id(&span.parent_id)
        };
        assert_eq!(parent_of("call", "SPAN_KIND_INTERNAL"), None);
        assert_eq!(parent_of("GET", "SPAN_KIND_CLIENT"), Some("request"));
        assert_eq!(
            parent_of("GET /stock/{item}", "SPAN_KIND_SERVER"),
            Some("GET")
        );
        assert_eq!(parent_of("lookup", "SPAN_KIND_INTERNAL"), Some("request"));
        let libraries: Vec<_> = spans.iter().filter(|span| span.name == "request").collect();
        assert_eq!(libraries.len(), 2);
        let mut parents: Vec<_> = libraries
            .iter()
            .map(|span| by_id(&span.parent_id).unwrap())
            .collect();
        parents.sort_unstable();
        assert_eq!(parents, ["GET /stock/{item}", "call"]);
        for library in libraries {
            assert_eq!(library.scope_name, "tower_http");
            assert_eq!(library.attribute("method"), Some("Str(GET)"));
            assert_eq!(
                library.attribute("code.module.name"),
                Some("Str(tower_http::trace::make_span)")
            );
            assert!(
                library
                    .attribute("uri")
                    .is_some_and(|uri| uri.ends_with("/stock/lamp)"))
            );
        }
        return;
    }
    let guard = traced::init().expect("init");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let server = serve().await;
        assert_eq!(call(server).await, "lamp: 3 left");
    });
    // Every task gone, the server's spans have ended; the guard sends them.
    drop(runtime);
    drop(guard);
}

#[test]
fn every_test_here_passes_on_a_user_provider() {
    traced_tests::rerun_on_a_user_provider();
}
