//! HTTP integrations end to end: two real axum services on loopback, A calling
//! B through the reqwest integration, and the tower client layer over
//! hyper-util's client.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use traced::integrations::{HttpClientLayer, HttpServerLayer, TracingMiddleware, Trust};
use traced::opentelemetry::baggage::BaggageExt;
use traced::opentelemetry::trace::{SpanKind, Status, TraceContextExt, TraceId};
use traced::opentelemetry::{Context, KeyValue, Value};
use traced::testing::{FinishedSpan, capture_async, finished_spans};
use traced::traced;
use traced_tests::{assert_child, attribute as attr, span_named as find, spans_of};

// ---- service B: the one that does the work ----

#[traced]
async fn load_user(#[attr("user.id")] id: u64) -> Result<String, std::io::Error> {
    let name = query_name(id).await?;
    Ok(format!("{name} (tenant {})", tenant()))
}

#[traced(kind = client, attrs(db.system.name = "sqlite"))]
async fn query_name(id: u64) -> Result<&'static str, std::io::Error> {
    tokio::task::yield_now().await;
    match id {
        7 => Ok("alice"),
        _ => Err(std::io::Error::other("no such user")),
    }
}

fn tenant() -> String {
    Context::current()
        .baggage()
        .get("tenant")
        .map_or_else(|| "none".to_owned(), ToString::to_string)
}

async fn user(Path(id): Path<u64>) -> Result<String, StatusCode> {
    load_user(id)
        .await
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)
}

fn service_b(trust: Trust) -> Router {
    Router::new()
        .route("/users/{id}", get(user))
        .route("/missing/{id}", get(|| async { StatusCode::NOT_FOUND }))
        .route("/boom", get(|| async { StatusCode::INTERNAL_SERVER_ERROR }))
        .route("/stuck", get(std::future::pending::<()>))
        .route(
            "/sampled",
            get(|| async { traced::current::span_context().is_sampled().to_string() }),
        )
        .route(
            "/panic",
            get(|| async {
                if tenant() != "never" {
                    panic!("handler gave up");
                }
                "unreachable"
            }),
        )
        .layer(HttpServerLayer::new().trust(trust))
}

// ---- service A: forwards to B through the reqwest integration ----

#[derive(Clone)]
struct Upstream {
    base: String,
    client: ClientWithMiddleware,
}

async fn forward(
    State(upstream): State<Upstream>,
    Path(path): Path<String>,
) -> (StatusCode, String) {
    let url = format!("{}/{path}", upstream.base);
    match upstream.client.get(url).send().await {
        Ok(response) => {
            let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
            (status, response.text().await.unwrap_or_default())
        }
        Err(error) => (StatusCode::BAD_GATEWAY, error.to_string()),
    }
}

fn traced_client(user_agent: &str) -> ClientWithMiddleware {
    let client = reqwest::Client::builder()
        .user_agent(user_agent)
        .build()
        .unwrap();
    ClientBuilder::new(client)
        .with(TracingMiddleware::new())
        .build()
}

fn service_a(b: SocketAddr) -> Router {
    let upstream = Upstream {
        base: format!("http://{b}"),
        client: traced_client("service-a/1.0"),
    };
    Router::new()
        .route("/forward/{*path}", get(forward))
        .with_state(upstream)
        .layer(HttpServerLayer::new())
}

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    address
}

/// A and B running, and a traced client to call A with.
async fn start_a_and_b() -> (SocketAddr, SocketAddr, ClientWithMiddleware) {
    let b = serve(service_b(Trust::Continue)).await;
    let a = serve(service_a(b)).await;
    (a, b, traced_client("tests/1.0"))
}

// ---- reading the finished spans ----

/// Runs `call` under a fresh trace with `tenant=acme` baggage and returns its
/// trace id. Server spans end when their response body has been sent, which
/// can be after the caller has read it, so [`spans_of`] waits for them.
async fn in_new_trace<F: Future>(call: impl FnOnce() -> F) -> (F::Output, TraceId) {
    let (output, _) = capture_async(|| {
        let cx = Context::current().with_baggage([KeyValue::new("tenant", "acme")]);
        let trace_id = cx.span().span_context().trace_id();
        let call = call();
        async move {
            use traced::opentelemetry::context::FutureExt;
            (call.with_context(cx).await, trace_id)
        }
    })
    .await;
    output
}

#[track_caller]
fn assert_attrs(span: &FinishedSpan, expected: &[(&str, Value)]) {
    for (key, value) in expected {
        assert_eq!(attr(span, key), Some(value), "{key} on {:?}", span.name);
    }
}

fn s(value: &str) -> Value {
    Value::from(value.to_owned())
}

fn i(value: u16) -> Value {
    Value::I64(i64::from(value))
}

// ---- the tests ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_calls_b_in_one_trace_with_every_attribute() {
    let (a, b, client) = start_a_and_b().await;

    let (body, trace_id) = in_new_trace(|| async {
        let response = client
            .get(format!("http://{a}/forward/users/7"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.text().await.unwrap()
    })
    .await;
    assert_eq!(body, "alice (tenant acme)", "baggage reaches B's handler");

    let spans = spans_of(trace_id, 6).await;
    let test_client = spans
        .iter()
        .find(|span| {
            span.span_kind == SpanKind::Client
                && !spans
                    .iter()
                    .any(|p| p.span_context.span_id() == span.parent_span_id)
        })
        .expect("the test's client span");
    let a_server = find(&spans, "GET /forward/{*path}", SpanKind::Server);
    let a_client = spans
        .iter()
        .find(|span| {
            span.span_kind == SpanKind::Client
                && span.parent_span_id == a_server.span_context.span_id()
        })
        .expect("A's client span");
    let b_server = find(&spans, "GET /users/{id}", SpanKind::Server);
    let load = find(&spans, "load_user", SpanKind::Internal);
    let query = find(&spans, "query_name", SpanKind::Client);

    assert_child(a_server, test_client);
    assert_child(a_client, a_server);
    assert_child(b_server, a_client);
    assert_child(load, b_server);
    assert_child(query, load);
    assert_eq!(spans.len(), 6, "no other span in the trace");

    assert_eq!(a_client.name, "GET");
    assert_attrs(
        a_client,
        &[
            ("http.request.method", s("GET")),
            ("url.full", s(&format!("http://{b}/users/7"))),
            ("server.address", s("127.0.0.1")),
            ("server.port", i(b.port())),
            ("http.response.status_code", i(200)),
            ("network.protocol.version", s("1.1")),
        ],
    );
    assert_eq!(a_client.status, Status::Unset);

    for (server, address, route, path, agent) in [
        (
            a_server,
            a,
            "/forward/{*path}",
            "/forward/users/7",
            "tests/1.0",
        ),
        (b_server, b, "/users/{id}", "/users/7", "service-a/1.0"),
    ] {
        assert_attrs(
            server,
            &[
                ("http.request.method", s("GET")),
                ("http.route", s(route)),
                ("url.path", s(path)),
                ("url.scheme", s("http")),
                ("http.response.status_code", i(200)),
                ("server.address", s("127.0.0.1")),
                ("server.port", i(address.port())),
                ("user_agent.original", s(agent)),
                ("client.address", s("127.0.0.1")),
                ("network.protocol.version", s("1.1")),
            ],
        );
        assert_eq!(server.status, Status::Unset);
        assert_eq!(server.instrumentation_scope.name(), "traced");
        assert!(server.instrumentation_scope.version().is_some());
    }
    assert_attrs(load, &[("user.id", Value::I64(7))]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_500_from_b_is_an_error_on_b_server_and_a_client() {
    let (a, _b, client) = start_a_and_b().await;

    let (status, trace_id) = in_new_trace(|| async {
        let response = client
            .get(format!("http://{a}/forward/boom"))
            .send()
            .await
            .unwrap();
        response.status()
    })
    .await;
    assert_eq!(status, 500);

    let spans = spans_of(trace_id, 4).await;
    let a_server = find(&spans, "GET /forward/{*path}", SpanKind::Server);
    let b_server = find(&spans, "GET /boom", SpanKind::Server);
    let a_client = spans
        .iter()
        .find(|span| {
            span.span_kind == SpanKind::Client
                && span.parent_span_id == a_server.span_context.span_id()
        })
        .expect("A's client span");
    assert_child(b_server, a_client);
    for span in [b_server, a_client] {
        assert_attrs(
            span,
            &[
                ("http.response.status_code", i(500)),
                ("error.type", s("500")),
            ],
        );
        assert!(
            matches!(&span.status, Status::Error { description } if description == "500 Internal Server Error"),
            "{:?}: {:?}",
            span.name,
            span.status
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repro_a_404_is_an_error_for_the_client_only_and_an_unmatched_path_has_no_route() {
    let (a, b, client) = start_a_and_b().await;

    let ((routed, unrouted), trace_id) = in_new_trace(|| async {
        let routed = client
            .get(format!("http://{a}/forward/missing/3"))
            .send()
            .await
            .unwrap();
        let unrouted = client
            .get(format!("http://{a}/forward/no/such/page"))
            .send()
            .await
            .unwrap();
        (routed.status(), unrouted.status())
    })
    .await;
    assert_eq!([routed, unrouted], [StatusCode::NOT_FOUND; 2]);

    let spans = spans_of(trace_id, 8).await;
    let routed = find(&spans, "GET /missing/{id}", SpanKind::Server);
    let unrouted = spans
        .iter()
        .find(|span| {
            span.span_kind == SpanKind::Server
                && attr(span, "server.port") == Some(&i(b.port()))
                && span.name != routed.name
        })
        .expect("B's span for the unmatched path");
    assert_eq!(unrouted.name, "GET", "never the raw path");
    assert_eq!(attr(unrouted, "http.route"), None);
    assert_attrs(unrouted, &[("url.path", s("/no/such/page"))]);
    assert_attrs(routed, &[("http.route", s("/missing/{id}"))]);
    for span in &spans {
        // The conventions: a 4xx is the client's failure, not the server's.
        let (status, error_type) = match span.span_kind {
            SpanKind::Client => (Status::error("404 Not Found"), Some(Value::from("404"))),
            _ => (Status::Unset, None),
        };
        assert_eq!(span.status, status, "{:?} {:?}", span.span_kind, span.name);
        assert_eq!(attr(span, "error.type"), error_type.as_ref());
        if span.span_kind != SpanKind::Internal {
            assert_eq!(attr(span, "http.response.status_code"), Some(&i(404)));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_marks_its_span_and_the_callers_client_span() {
    let (a, _b, client) = start_a_and_b().await;

    let (status, trace_id) = in_new_trace(|| async {
        client
            .get(format!("http://{a}/forward/panic"))
            .send()
            .await
            .unwrap()
            .status()
    })
    .await;
    assert_eq!(status, 502, "B dropped the connection");

    let spans = spans_of(trace_id, 4).await;
    let b_server = find(&spans, "GET /panic", SpanKind::Server);
    assert!(
        matches!(&b_server.status, Status::Error { description } if description == "handler gave up"),
        "{:?}",
        b_server.status
    );
    let exception = b_server
        .events
        .iter()
        .find(|event| event.name == "exception")
        .expect("exception event");
    assert!(
        exception
            .attributes
            .contains(&KeyValue::new("exception.message", "handler gave up"))
    );

    let a_client = spans
        .iter()
        .find(|span| {
            span.span_kind == SpanKind::Client
                && span.span_context.span_id() == b_server.parent_span_id
        })
        .expect("A's client span");
    assert!(
        matches!(a_client.status, Status::Error { .. }),
        "{:?}",
        a_client.status
    );
    assert_eq!(attr(a_client, "http.response.status_code"), None);
    assert!(attr(a_client, "error.type").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_giving_up_ends_the_server_span_as_cancelled() {
    let b = serve(service_b(Trust::Continue)).await;
    let client = ClientBuilder::new(
        reqwest::Client::builder()
            .timeout(Duration::from_millis(200))
            .build()
            .unwrap(),
    )
    .with(TracingMiddleware::new())
    .build();

    let (result, trace_id) =
        in_new_trace(|| async { client.get(format!("http://{b}/stuck")).send().await }).await;
    assert!(result.is_err());

    let spans = spans_of(trace_id, 2).await;
    let client_span = find(&spans, "GET", SpanKind::Client);
    assert_attrs(client_span, &[("error.type", s("timeout"))]);
    assert!(matches!(client_span.status, Status::Error { .. }));
    let server = find(&spans, "GET /stuck", SpanKind::Server);
    assert!(
        server.events.iter().any(|event| event.name == "cancelled"),
        "{:?}",
        server.events
    );
    assert_attrs(server, &[("error.type", s("cancelled"))]);
    assert_eq!(server.status, Status::Unset);
    assert_eq!(attr(server, "http.response.status_code"), None);
}

/// A caller that stops waiting (its own timeout around `send`) drops the
/// request: the client span ends there, as cancelled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repro_a_reqwest_request_dropped_before_its_answer_ends_as_cancelled() {
    let b = serve(service_b(Trust::Continue)).await;
    let client = traced_client("tests/1.0");

    let (gave_up, trace_id) = in_new_trace(|| async {
        let send = client.get(format!("http://{b}/stuck")).send();
        tokio::time::timeout(Duration::from_millis(100), send)
            .await
            .is_err()
    })
    .await;
    assert!(gave_up, "/stuck never answers");

    let spans = spans_of(trace_id, 1).await;
    let client_span = find(&spans, "GET", SpanKind::Client);
    assert!(
        client_span
            .events
            .iter()
            .any(|event| event.name == "cancelled"),
        "{:?}",
        client_span.events
    );
    assert_attrs(client_span, &[("error.type", s("cancelled"))]);
    assert_eq!(attr(client_span, "http.response.status_code"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suppressed_caller_makes_no_client_span_and_the_server_does_not_sample() {
    let b = serve(service_b(Trust::Continue)).await;
    let client = traced_client("tests/1.0");
    let url = format!("http://{b}/sampled");

    let ((normal, suppressed), trace_id) = in_new_trace(|| async {
        let normal = client.get(&url).send().await.unwrap().text().await.unwrap();
        let suppressed = traced::suppressed(async {
            client.get(&url).send().await.unwrap().text().await.unwrap()
        })
        .await;
        (normal, suppressed)
    })
    .await;
    assert_eq!((normal.as_str(), suppressed.as_str()), ("true", "false"));

    // Client spans end before `send` returns: the suppressed call made none.
    let spans = spans_of(trace_id, 2).await;
    let clients = spans
        .iter()
        .filter(|span| span.span_kind == SpanKind::Client)
        .count();
    assert_eq!(clients, 1, "{spans:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_refused_is_a_client_error() {
    let closed = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap()
    };
    let client = traced_client("tests/1.0");
    let (result, trace_id) = in_new_trace(|| async {
        client
            .get(format!("http://alice:secret@{closed}/x?sig=abc&page=2"))
            .send()
            .await
    })
    .await;
    assert!(result.is_err());

    let spans = spans_of(trace_id, 1).await;
    let span = find(&spans, "GET", SpanKind::Client);
    assert!(
        matches!(span.status, Status::Error { .. }),
        "{:?}",
        span.status
    );
    assert_attrs(
        span,
        &[
            ("error.type", s("connect")),
            (
                "url.full",
                // reqwest moves URL credentials into an Authorization header.
                s(&format!("http://{closed}/x?sig=REDACTED&page=2")),
            ),
            ("server.port", i(closed.port())),
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_caller_starts_a_new_trace_linked_to_it() {
    for (trust, tenant) in [
        (Trust::NewRootWithLink, "none"),
        (Trust::NewRootWithLinkKeepBaggage, "acme"),
    ] {
        let edge = serve(service_b(trust)).await;
        let client = traced_client("tests/1.0");

        let (body, trace_id) = in_new_trace(|| async {
            let response = client.get(format!("http://{edge}/users/7")).send().await;
            response.unwrap().text().await.unwrap()
        })
        .await;
        assert_eq!(body, format!("alice (tenant {tenant})"), "{trust:?}");

        let caller = find(&spans_of(trace_id, 1).await, "GET", SpanKind::Client).clone();
        let linked_to_caller = |span: &FinishedSpan| {
            span.links
                .iter()
                .any(|link| link.span_context.span_id() == caller.span_context.span_id())
        };
        let edge_span = tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                if let Some(span) = finished_spans().into_iter().find(linked_to_caller) {
                    return span;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("the edge's server span");
        assert_eq!(edge_span.name, "GET /users/{id}");
        assert_ne!(edge_span.span_context.trace_id(), trace_id, "a new trace");
        assert_eq!(
            edge_span.parent_span_id,
            traced::opentelemetry::trace::SpanId::INVALID
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outside_the_router_no_route_is_known() {
    use tower::Layer as _;

    // `axum::serve` takes `Response<axum::body::Body>`: box the traced body.
    let app = tower::ServiceExt::<axum::extract::Request>::map_response(
        HttpServerLayer::new().layer(service_b_routes()),
        |response| response.map(axum::body::Body::new),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            axum::ServiceExt::<axum::extract::Request>::into_make_service(app),
        )
        .await
        .unwrap()
    });
    let client = traced_client("tests/1.0");

    let (_, trace_id) = in_new_trace(|| async {
        client
            .get(format!("http://{address}/users/7"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    })
    .await;
    let spans = spans_of(trace_id, 4).await;
    let server = find(&spans, "GET", SpanKind::Server);
    assert_eq!(attr(server, "http.route"), None);
    assert_attrs(server, &[("url.path", s("/users/7"))]);
}

fn service_b_routes() -> Router {
    Router::new().route("/users/{id}", get(user))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tower_client_layer_traces_a_hyper_client() {
    use http_body_util::{BodyExt, Empty};
    use tower::{Service, ServiceBuilder, ServiceExt};

    let b = serve(service_b(Trust::Continue)).await;
    let hyper_client =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build_http::<Empty<axum::body::Bytes>>();
    let mut client = ServiceBuilder::new()
        .layer(HttpClientLayer::new())
        .service(hyper_client);

    let (body, trace_id) = in_new_trace(|| async {
        let request = http::Request::get(format!("http://{b}/users/7"))
            .body(Empty::new())
            .unwrap();
        let response = client.ready().await.unwrap().call(request).await.unwrap();
        assert_eq!(response.status(), 200);
        response.into_body().collect().await.unwrap().to_bytes()
    })
    .await;
    assert_eq!(body, "alice (tenant acme)");

    let spans = spans_of(trace_id, 4).await;
    let client_span = find(&spans, "GET", SpanKind::Client);
    let server = find(&spans, "GET /users/{id}", SpanKind::Server);
    assert_child(server, client_span);
    assert_attrs(
        client_span,
        &[
            ("http.request.method", s("GET")),
            ("url.full", s(&format!("http://{b}/users/7"))),
            ("server.address", s("127.0.0.1")),
            ("server.port", i(b.port())),
            ("http.response.status_code", i(200)),
        ],
    );

    let closed = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap()
    };
    let (result, trace_id) = in_new_trace(|| async {
        let request = http::Request::get(format!("http://{closed}/"))
            .body(Empty::new())
            .unwrap();
        client.ready().await.unwrap().call(request).await
    })
    .await;
    assert!(result.is_err());
    let spans = spans_of(trace_id, 1).await;
    let failed = find(&spans, "GET", SpanKind::Client);
    assert!(
        matches!(failed.status, Status::Error { .. }),
        "{:?}",
        failed.status
    );
    let error_type = attr(failed, "error.type").map(|value| value.as_str().into_owned());
    assert!(
        error_type
            .as_deref()
            .is_some_and(|t| t.starts_with("hyper_util::client::legacy::")),
        "{error_type:?}"
    );
}

// ---- what a caller sends cannot make spans large ----

/// The attribute values a span of this trace holds, with their keys.
fn string_values(spans: &[FinishedSpan]) -> Vec<(String, String)> {
    spans
        .iter()
        .flat_map(|span| &span.attributes)
        .filter_map(|kv| match &kv.value {
            Value::String(text) => Some((kv.key.to_string(), text.to_string())),
            _ => None,
        })
        .collect()
}

/// Asserts that `key` on `span` holds the first `cap` bytes of `sent`.
#[track_caller]
fn assert_cut(span: &FinishedSpan, key: &str, sent: &str, cap: usize) {
    let kept = attr(span, key).map(|value| value.as_str().into_owned());
    let kept = kept.unwrap_or_else(|| panic!("no {key} on {:?}", span.name));
    assert!(
        kept == sent[..cap],
        "{key} on {:?}: {} bytes kept of {}",
        span.name,
        kept.len(),
        sent.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repro_a_huge_user_agent_path_and_method_are_capped_on_both_sides() {
    const CAP: usize = 2048;
    let b = serve(service_b(Trust::Continue)).await;
    let agent = "A".repeat(64 * 1024);
    let path = format!("/{}", "p".repeat(60_000));
    let method = "M".repeat(5_000);
    let client = traced_client(&agent);

    let (status, trace_id) = in_new_trace(|| async {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let response = client
            .request(method, format!("http://{b}{path}"))
            .send()
            .await
            .unwrap();
        response.status()
    })
    .await;
    assert!(status.is_client_error(), "{status}");

    let spans = spans_of(trace_id, 2).await;
    let server = spans
        .iter()
        .find(|span| span.span_kind == SpanKind::Server)
        .expect("B's span");
    let client_span = spans
        .iter()
        .find(|span| span.span_kind == SpanKind::Client)
        .expect("the client span");
    assert_eq!(attr(server, "http.request.method"), Some(&s("_OTHER")));
    assert_cut(server, "url.path", &path, CAP);
    assert_cut(server, "user_agent.original", &agent, CAP);
    assert_cut(server, "http.request.method_original", &method, CAP);
    assert_cut(client_span, "url.full", &format!("http://{b}{path}"), CAP);
    assert_cut(client_span, "http.request.method_original", &method, CAP);
    for (key, value) in string_values(&spans) {
        assert!(value.len() <= CAP, "{key} keeps {} bytes", value.len());
    }
    for span in &spans {
        assert!(span.name.len() <= CAP, "{} bytes of name", span.name.len());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cap_on_request_values_is_set_per_layer() {
    let app = Router::new()
        .route("/users/{id}", get(user))
        .layer(HttpServerLayer::new().max_attribute_bytes(16));
    let b = serve(app).await;
    let client = ClientBuilder::new(
        reqwest::Client::builder()
            .user_agent("a-user-agent-of-forty-bytes-or-so/1.0.0")
            .build()
            .unwrap(),
    )
    .with(TracingMiddleware::new().max_attribute_bytes(24))
    .build();

    let (_, trace_id) = in_new_trace(|| async {
        client
            .get(format!("http://{b}/users/7?page=1"))
            .send()
            .await
            .unwrap()
            .status()
    })
    .await;

    let spans = spans_of(trace_id, 4).await;
    let server = find(&spans, "GET /users/{id}", SpanKind::Server);
    assert_attrs(
        server,
        &[
            ("user_agent.original", s("a-user-agent-of-")),
            ("http.route", s("/users/{id}")),
            ("url.path", s("/users/7")),
        ],
    );
    let client_span = find(&spans, "GET", SpanKind::Client);
    assert_cut(
        client_span,
        "url.full",
        &format!("http://{b}/users/7?page=1"),
        24,
    );
}

// ---- a response cut off is not a success ----

/// A 50 KiB download in 1 KiB chunks: the first three at once, the rest once
/// `gate` opens.
fn download_service(gate: Arc<Notify>) -> Router {
    let download = move || {
        let gate = gate.clone();
        async move {
            let chunks = tokio_stream::StreamExt::then(tokio_stream::iter(0..50), move |i| {
                let gate = gate.clone();
                async move {
                    if i == 3 {
                        gate.notified().await;
                    }
                    Ok::<_, Infallible>(axum::body::Bytes::from(vec![b'x'; 1024]))
                }
            });
            axum::body::Body::from_stream(chunks)
        }
    };
    Router::new()
        .route("/download", get(download))
        .route("/users/{id}", get(user))
        .layer(HttpServerLayer::new())
}

/// Sends `GET {path}` with the current trace context over a raw connection
/// and reads until `enough` bytes have come.
async fn raw_get(address: SocketAddr, path: &str, enough: usize) -> TcpStream {
    let mut headers = http::HeaderMap::new();
    traced::propagation::inject(&mut headers);
    let traceparent = headers["traceparent"].to_str().unwrap().to_owned();
    let mut stream = TcpStream::connect(address).await.unwrap();
    let request =
        format!("GET {path} HTTP/1.1\r\nhost: {address}\r\ntraceparent: {traceparent}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut received = 0;
    let mut buffer = [0; 4096];
    while received < enough {
        let read = stream.read(&mut buffer).await.unwrap();
        assert_ne!(read, 0, "the server closed after {received} bytes");
        received += read;
    }
    stream
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repro_a_response_cut_off_midway_is_cancelled_not_a_success() {
    let gate = Arc::new(Notify::new());
    let address = serve(download_service(gate.clone())).await;

    let ((), trace_id) = in_new_trace(|| async {
        let connection = raw_get(address, "/download", 3 * 1024).await;
        // The client goes away after 3 KiB of 50.
        connection.set_zero_linger().unwrap();
        drop(connection);
        gate.notify_one();
    })
    .await;

    let spans = spans_of(trace_id, 1).await;
    let server = find(&spans, "GET /download", SpanKind::Server);
    assert!(
        server.events.iter().any(|event| event.name == "cancelled"),
        "{:?}",
        server.events
    );
    assert_attrs(
        server,
        &[
            ("http.response.status_code", i(200)),
            ("error.type", s("cancelled")),
        ],
    );
    assert_eq!(server.status, Status::Unset);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_sent_whole_are_not_cancelled() {
    let gate = Arc::new(Notify::new());
    gate.notify_one();
    let address = serve(download_service(gate)).await;
    let client = traced_client("tests/1.0");

    let (lengths, trace_id) = in_new_trace(|| async {
        let download = client.get(format!("http://{address}/download")).send();
        let download = download.await.unwrap().bytes().await.unwrap().len();
        let user = client.get(format!("http://{address}/users/7")).send();
        let user = user.await.unwrap().bytes().await.unwrap().len();
        let head = client.head(format!("http://{address}/users/7")).send();
        let head = head.await.unwrap().bytes().await.unwrap().len();
        (download, user, head)
    })
    .await;
    assert_eq!(lengths, (50 * 1024, "alice (tenant acme)".len(), 0));

    let spans = spans_of(trace_id, 9).await;
    let servers: Vec<_> = spans
        .iter()
        .filter(|span| span.span_kind == SpanKind::Server)
        .collect();
    assert_eq!(servers.len(), 3, "{spans:#?}");
    for server in servers {
        assert!(
            server.events.is_empty(),
            "{}: {:?}",
            server.name,
            server.events
        );
        assert_eq!(attr(server, "error.type"), None, "{}", server.name);
    }
}

// ---- health checks left out ----

/// A check beneath a health endpoint: traced, unless tracing is suppressed.
#[traced]
async fn check_database() -> bool {
    tokio::task::yield_now().await;
    traced::is_suppressed()
}

/// Whether the health check ran suppressed, and whether the service it
/// calls sampled the request.
async fn health(client: ClientWithMiddleware, downstream: SocketAddr) -> String {
    let suppressed = check_database().await;
    let url = format!("http://{downstream}/sampled");
    let sampled = client.get(url).send().await.unwrap().text().await.unwrap();
    format!("suppressed={suppressed} downstream sampled={sampled}")
}

/// A service whose health and readiness checks call `downstream`, and whose
/// layer skips them and Kubernetes' probes.
fn service_with_health_checks(downstream: SocketAddr) -> Router {
    let client = traced_client("health/1.0");
    let check = get(move || health(client.clone(), downstream));
    let is_probe = |request: &http::request::Parts| {
        let agent = request.headers.get("user-agent");
        agent.is_some_and(|agent| agent.as_bytes().starts_with(b"kube-probe/"))
    };
    Router::new()
        .route("/health", check.clone())
        .route("/ready", check)
        .route("/users/{id}", get(user))
        .layer(
            HttpServerLayer::new()
                .skip_paths(["/health"])
                .skip_paths(["/ready"])
                .skip_if(is_probe),
        )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skipped_requests_have_no_span_and_nothing_beneath_is_traced() {
    let b = serve(service_b(Trust::Continue)).await;
    let a = serve(service_with_health_checks(b)).await;
    let client = traced_client("tests/1.0");
    let probe = traced_client("kube-probe/1.30");

    let (answers, trace_id) = in_new_trace(|| async {
        let get = |client: &ClientWithMiddleware, path: &str| {
            let request = client.get(format!("http://{a}{path}")).send();
            async move { request.await.unwrap().text().await.unwrap() }
        };
        [
            get(&client, "/health").await,
            get(&client, "/ready?verbose=1").await,
            get(&probe, "/users/7").await,
            get(&client, "/users/7").await,
        ]
    })
    .await;
    let skipped = "suppressed=true downstream sampled=false";
    assert_eq!(answers[..2], [skipped, skipped], "skipped paths");
    let user = "alice (tenant acme)";
    assert_eq!(
        answers[2..],
        [user, user],
        "a skipped probe keeps the baggage"
    );

    // The test's 4 client spans, and the one request not skipped: its server
    // span, load_user and query_name. A skipped request's spans would have
    // ended before its answer was read.
    let spans = spans_of(trace_id, 7).await;
    let names: Vec<_> = spans
        .iter()
        .map(|span| (&span.name, span.span_kind.clone()))
        .collect();
    assert_eq!(spans.len(), 7, "{names:?}");
    let servers: Vec<_> = spans
        .iter()
        .filter(|span| span.span_kind == SpanKind::Server)
        .collect();
    assert_eq!(servers.len(), 1, "{names:?}");
    assert_eq!(
        attr(servers[0], "user_agent.original"),
        Some(&s("tests/1.0"))
    );
    assert!(!spans.iter().any(|span| span.name == "check_database"));
    assert_eq!(
        spans.iter().filter(|span| span.name == "load_user").count(),
        1
    );
}

#[test]
fn every_test_here_passes_on_a_user_provider() {
    traced_tests::rerun_on_a_user_provider();
}
