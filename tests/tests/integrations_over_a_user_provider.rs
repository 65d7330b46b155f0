//! Integration spans (a request's, a message's) go where `#[traced]` spans
//! go: to a provider the application installed itself, when it did, and to
//! the one installed at the time of the request when it replaced another.

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http_body_util::BodyExt;
use tower::ServiceExt;
use traced::integrations::HttpServerLayer;
use traced::messaging::Message;
use traced::opentelemetry::trace::{SpanKind, TraceContextExt};
use traced::opentelemetry_sdk::trace::SpanData;
use traced::propagation::Trust;
use traced::traced;
use traced_tests::install_sdk_provider;

#[traced]
async fn item() -> &'static str {
    "an item"
}

async fn request(router: &Router) {
    let request = http::Request::get("/items/7")
        .header(http::header::HOST, "shop.example:8080")
        .body(Body::empty())
        .expect("a request");
    let response = router.clone().oneshot(request).await.expect("a response");
    assert_eq!(response.status(), http::StatusCode::OK);
    response.into_body().collect().await.expect("the body");
}

fn of_kind(spans: &[SpanData], kind: SpanKind) -> Vec<&SpanData> {
    spans.iter().filter(|span| span.span_kind == kind).collect()
}

#[tokio::test]
async fn request_and_message_spans_reach_the_provider_in_force() {
    let router = Router::new()
        .route("/items/{id}", get(item))
        .layer(HttpServerLayer::new())
        .with_state(());

    let (_first_provider, first) = install_sdk_provider();
    request(&router).await;
    let spans = first.get_finished_spans().expect("spans");
    let servers = of_kind(&spans, SpanKind::Server);
    assert_eq!(servers.len(), 1, "{spans:#?}");
    let server = servers[0];
    assert_eq!(server.name, "GET /items/{id}");
    assert_eq!(server.instrumentation_scope.name(), "traced");
    let handler = spans
        .iter()
        .find(|span| span.name == "item")
        .expect("the handler's span");
    assert_eq!(handler.parent_span_id, server.span_context.span_id());
    assert_eq!(
        handler.span_context.trace_id(),
        server.span_context.trace_id()
    );

    let mut headers: Vec<(String, Vec<u8>)> = Vec::new();
    let sent_trace = {
        let send = Message::new("kafka", "orders").send(&mut headers);
        send.context().span().span_context().trace_id()
    };
    Message::new("kafka", "orders")
        .process(&headers, Trust::Continue)
        .in_scope(|| {});
    let spans = first.get_finished_spans().expect("spans");
    let producer = of_kind(&spans, SpanKind::Producer);
    let consumer = of_kind(&spans, SpanKind::Consumer);
    assert_eq!((producer.len(), consumer.len()), (1, 1), "{spans:#?}");
    assert_eq!(producer[0].span_context.trace_id(), sent_trace);
    assert_eq!(consumer[0].span_context.trace_id(), sent_trace);
    assert_eq!(
        consumer[0].parent_span_id,
        producer[0].span_context.span_id()
    );

    // Another provider replaces the first one: the next request's spans go
    // to it, none to the first.
    let (_second_provider, second) = install_sdk_provider();
    request(&router).await;
    assert_eq!(
        of_kind(
            &second.get_finished_spans().expect("spans"),
            SpanKind::Server
        )
        .len(),
        1
    );
    assert_eq!(
        of_kind(
            &first.get_finished_spans().expect("spans"),
            SpanKind::Server
        )
        .len(),
        1
    );
}
