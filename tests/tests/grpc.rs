//! gRPC integration end to end: an axum service A, traced by the HTTP server
//! layer, calls a tonic service B on loopback through the gRPC client layer;
//! B is traced by the gRPC server layer. One unary and one server-streaming
//! method, successful and failing.
//!
//! The service is written against tonic's building blocks with hand-written
//! prost messages, as generated code would be, so the tests need no `protoc`.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use tonic::body::Body;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::server::NamedService;
use tonic::transport::{Channel, Endpoint, Server};
use tonic::{Code, Request, Response, Status};
use tonic_prost::ProstCodec;
use tower::{ServiceBuilder, service_fn};
use traced::integrations::grpc::GrpcService;
use traced::integrations::{GrpcClientLayer, GrpcServerLayer, HttpServerLayer};
use traced::opentelemetry::trace::{SpanKind, Status as SpanStatus, TraceContextExt, TraceId};
use traced::opentelemetry::{Context, Value};
use traced::testing::{FinishedSpan, capture_async};
use traced::traced;
use traced_tests::{assert_child, attribute as attr, span_named as find, spans_of};

// ---- the protocol: package `demo`, service `Echo` ----

#[derive(Clone, PartialEq, prost::Message)]
struct SayRequest {
    #[prost(string, tag = "1")]
    name: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct SayReply {
    #[prost(string, tag = "1")]
    message: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct CountRequest {
    #[prost(uint32, tag = "1")]
    up_to: u32,
    /// The item at which the stream fails with DATA_LOSS, if any.
    #[prost(uint32, optional, tag = "2")]
    fail_at: Option<u32>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct CountReply {
    #[prost(uint32, tag = "1")]
    value: u32,
}

const SAY: &str = "/demo.Echo/Say";
const COUNT: &str = "/demo.Echo/Count";
const WATCH: &str = "/demo.Echo/Watch";

// ---- service B ----

#[traced]
async fn greet(#[attr] name: &str) -> Result<String, Status> {
    tokio::task::yield_now().await;
    match name {
        "" => Err(Status::invalid_argument("name is empty")),
        "crash" => Err(Status::internal("greeter crashed")),
        "panic" => panic!("greeter panicked"),
        name => Ok(format!("hello {name}")),
    }
}

#[traced]
fn count_item(#[attr] value: u32, fail_at: Option<u32>) -> Result<CountReply, Status> {
    if fail_at == Some(value) {
        return Err(Status::data_loss(format!("lost item {value}")));
    }
    Ok(CountReply { value })
}

async fn say(request: Request<SayRequest>) -> Result<Response<SayReply>, Status> {
    let message = greet(&request.into_inner().name).await?;
    Ok(Response::new(SayReply { message }))
}

type CountStream = Pin<Box<dyn tokio_stream::Stream<Item = Result<CountReply, Status>> + Send>>;

async fn count(request: Request<CountRequest>) -> Result<Response<CountStream>, Status> {
    let CountRequest { up_to, fail_at } = request.into_inner();
    // Each item is produced while the response streams, under B's span.
    let items = (1..=up_to).map(move |value| count_item(value, fail_at));
    Ok(Response::new(Box::pin(tokio_stream::iter(items))))
}

/// One value, then nothing until the caller gives up.
async fn watch(_request: Request<CountRequest>) -> Result<Response<CountStream>, Status> {
    let first = tokio_stream::iter([Ok(CountReply { value: 1 })]);
    Ok(Response::new(Box::pin(tokio_stream::StreamExt::chain(
        first,
        tokio_stream::pending(),
    ))))
}

/// What generated server code does: route by path, decode, call, encode.
/// `DemoServer<false>` is `demo.Echo`; `DemoServer<true>` is a health
/// service, as `grpc.health.v1.Health` is polled. The router sends each only
/// the calls for its name.
#[derive(Clone)]
struct DemoServer<const HEALTH: bool>;

const ECHO: DemoServer<false> = DemoServer;
const HEALTH: DemoServer<true> = DemoServer;

impl NamedService for DemoServer<false> {
    const NAME: &'static str = "demo.Echo";
}

impl NamedService for DemoServer<true> {
    const NAME: &'static str = "grpc.health.v1.Health";
}

const HEALTH_CHECK: &str = "/grpc.health.v1.Health/Check";

/// The health check: runs `greet`, and answers whether tracing was
/// suppressed.
async fn check(_request: Request<SayRequest>) -> Result<Response<SayReply>, Status> {
    let greeting = greet("health").await?;
    let message = format!("{greeting}, suppressed={}", traced::is_suppressed());
    Ok(Response::new(SayReply { message }))
}

impl<const HEALTH: bool> tower::Service<http::Request<Body>> for DemoServer<HEALTH> {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        match request.uri().path() {
            SAY => Box::pin(async move {
                let mut grpc = tonic::server::Grpc::new(ProstCodec::default());
                Ok(grpc.unary(service_fn(say), request).await)
            }),
            HEALTH_CHECK => Box::pin(async move {
                let mut grpc = tonic::server::Grpc::new(ProstCodec::default());
                Ok(grpc.unary(service_fn(check), request).await)
            }),
            COUNT => Box::pin(async move {
                let mut grpc = tonic::server::Grpc::new(ProstCodec::default());
                Ok(grpc.server_streaming(service_fn(count), request).await)
            }),
            WATCH => Box::pin(async move {
                let mut grpc = tonic::server::Grpc::new(ProstCodec::default());
                Ok(grpc.server_streaming(service_fn(watch), request).await)
            }),
            // What generated code answers for a method it does not have.
            _ => Box::pin(async { Ok(Status::unimplemented("").into_http()) }),
        }
    }
}

async fn serve_b() -> SocketAddr {
    serve_b_with(GrpcServerLayer::new()).await
}

/// B, with its health service, behind `layer`.
async fn serve_b_with(layer: GrpcServerLayer) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        Server::builder()
            .layer(layer)
            .add_service(HEALTH)
            .add_service(ECHO)
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener))
            .await
            .unwrap();
    });
    address
}

// ---- service A: HTTP in, gRPC out ----

type EchoClient = tonic::client::Grpc<GrpcService<Channel>>;

async fn a_say(State(client): State<EchoClient>, Path(name): Path<String>) -> String {
    let name = if name == "-" { String::new() } else { name };
    let mut client = client;
    client.ready().await.unwrap();
    let reply = client
        .unary(
            Request::new(SayRequest { name }),
            PathAndQuery::from_static(SAY),
            ProstCodec::<SayRequest, SayReply>::default(),
        )
        .await;
    match reply {
        Ok(reply) => reply.into_inner().message,
        Err(status) => format!("{:?}", status.code()),
    }
}

/// Reads the first value of a stream that never ends, then drops it.
async fn a_watch(State(client): State<EchoClient>) -> String {
    let mut client = client;
    client.ready().await.unwrap();
    let mut stream = client
        .server_streaming(
            Request::new(CountRequest::default()),
            PathAndQuery::from_static(WATCH),
            ProstCodec::<CountRequest, CountReply>::default(),
        )
        .await
        .unwrap()
        .into_inner();
    let first = stream.message().await.unwrap().unwrap();
    first.value.to_string()
}

async fn a_count(
    State(client): State<EchoClient>,
    Path((up_to, fail_at)): Path<(u32, u32)>,
) -> String {
    let mut client = client;
    client.ready().await.unwrap();
    let request = CountRequest {
        up_to,
        fail_at: (fail_at > 0).then_some(fail_at),
    };
    let mut stream = client
        .server_streaming(
            Request::new(request),
            PathAndQuery::from_static(COUNT),
            ProstCodec::<CountRequest, CountReply>::default(),
        )
        .await
        .unwrap()
        .into_inner();
    let mut seen = Vec::new();
    loop {
        match stream.message().await {
            Ok(Some(reply)) => seen.push(reply.value.to_string()),
            Ok(None) => break,
            Err(status) => {
                seen.push(format!("{:?}", status.code()));
                break;
            }
        }
    }
    seen.join(",")
}

async fn serve_a(b: SocketAddr) -> SocketAddr {
    let endpoint = Endpoint::from_shared(format!("http://{b}")).unwrap();
    let channel_uri = endpoint.uri();
    let channel = endpoint.connect_lazy();
    let client = tonic::client::Grpc::new(
        ServiceBuilder::new()
            .layer(GrpcClientLayer::new().server(channel_uri))
            .service(channel),
    );
    let app = Router::new()
        .route("/say/{name}", get(a_say))
        .route("/count/{up_to}/{fail_at}", get(a_count))
        .route("/watch", get(a_watch))
        .with_state(client)
        .layer(HttpServerLayer::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    address
}

// ---- reading the spans ----

/// Calls A at `path` in a new trace: A's answer and the trace id.
async fn call_a(a: SocketAddr, path: &str) -> (String, TraceId) {
    let url = format!("http://{a}{path}");
    let (output, _) = capture_async(|| {
        let trace_id = Context::current().span().span_context().trace_id();
        async move {
            let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
                .with(traced::integrations::TracingMiddleware::new())
                .build();
            let body = client.get(url).send().await.unwrap().text().await.unwrap();
            (body, trace_id)
        }
    })
    .await;
    output
}

#[track_caller]
fn assert_rpc(span: &FinishedSpan, method: &str, code: Code, b: SocketAddr) {
    let expected = [
        ("rpc.system", Value::from("grpc")),
        ("rpc.service", Value::from("demo.Echo")),
        ("rpc.method", Value::from(method.to_owned())),
        ("rpc.grpc.status_code", Value::I64(code as i64)),
        ("server.address", Value::from("127.0.0.1")),
        ("server.port", Value::I64(i64::from(b.port()))),
    ];
    for (key, value) in expected {
        assert_eq!(
            attr(span, key),
            Some(&value),
            "{key} on {:?} {:?}",
            span.span_kind,
            span.name
        );
    }
}

fn is_error(span: &FinishedSpan) -> bool {
    matches!(span.status, SpanStatus::Error { .. })
}

/// A's HTTP SERVER span, A's gRPC CLIENT span and B's gRPC SERVER span, in a
/// chain.
fn hops<'a>(spans: &'a [FinishedSpan], route: &str, rpc: &str) -> [&'a FinishedSpan; 3] {
    let a_server = find(spans, route, SpanKind::Server);
    let a_client = find(spans, rpc, SpanKind::Client);
    let b_server = find(spans, rpc, SpanKind::Server);
    assert_child(a_client, a_server);
    assert_child(b_server, a_client);
    [a_server, a_client, b_server]
}

// ---- the tests ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unary_call_is_one_trace_from_http_through_grpc() {
    let b = serve_b().await;
    let a = serve_a(b).await;

    let (body, trace_id) = call_a(a, "/say/alice").await;
    assert_eq!(body, "hello alice");

    let spans = spans_of(trace_id, 5).await;
    let [a_server, a_client, b_server] = hops(&spans, "GET /say/{name}", "demo.Echo/Say");
    let caller = find(&spans, "GET", SpanKind::Client);
    assert_child(a_server, caller);
    let greet = find(&spans, "greet", SpanKind::Internal);
    assert_child(greet, b_server);
    assert_eq!(spans.len(), 5);
    for span in [a_client, b_server] {
        assert_rpc(span, "Say", Code::Ok, b);
        assert_eq!(span.status, SpanStatus::Unset);
        assert_eq!(span.instrumentation_scope.name(), "traced");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_statuses_follow_the_conventions_per_side() {
    let b = serve_b().await;
    let a = serve_a(b).await;

    // INTERNAL is the server's fault: an error on both sides.
    let (body, trace_id) = call_a(a, "/say/crash").await;
    assert_eq!(body, "Internal");
    let spans = spans_of(trace_id, 5).await;
    let [a_server, a_client, b_server] = hops(&spans, "GET /say/{name}", "demo.Echo/Say");
    for span in [a_client, b_server] {
        assert_rpc(span, "Say", Code::Internal, b);
        assert!(
            matches!(&span.status, SpanStatus::Error { description } if description == "greeter crashed"),
            "{:?}",
            span.status
        );
        assert_eq!(attr(span, "error.type"), Some(&Value::from("INTERNAL")));
    }
    assert_eq!(a_server.status, SpanStatus::Unset, "A answered 200");

    // INVALID_ARGUMENT is the caller's fault: an error for the client only.
    let (body, trace_id) = call_a(a, "/say/-").await;
    assert_eq!(body, "InvalidArgument");
    let spans = spans_of(trace_id, 5).await;
    let [_, a_client, b_server] = hops(&spans, "GET /say/{name}", "demo.Echo/Say");
    assert_rpc(a_client, "Say", Code::InvalidArgument, b);
    assert_rpc(b_server, "Say", Code::InvalidArgument, b);
    assert!(is_error(a_client));
    assert_eq!(b_server.status, SpanStatus::Unset);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_marks_its_span_and_the_callers() {
    let b = serve_b().await;
    let a = serve_a(b).await;

    let (body, trace_id) = call_a(a, "/say/panic").await;
    assert_ne!(body, "hello panic");
    let spans = spans_of(trace_id, 5).await;
    let [_, a_client, b_server] = hops(&spans, "GET /say/{name}", "demo.Echo/Say");
    assert!(
        matches!(&b_server.status, SpanStatus::Error { description } if description == "greeter panicked"),
        "{:?}",
        b_server.status
    );
    assert!(
        b_server
            .events
            .iter()
            .any(|event| event.name == "exception"),
        "{:?}",
        b_server.events
    );
    assert!(is_error(a_client), "{:?}", a_client.status);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streaming_call_ends_its_spans_when_the_stream_ends() {
    let b = serve_b().await;
    let a = serve_a(b).await;

    let (body, trace_id) = call_a(a, "/count/3/0").await;
    assert_eq!(body, "1,2,3");
    let spans = spans_of(trace_id, 7).await;
    let [_, a_client, b_server] = hops(&spans, "GET /count/{up_to}/{fail_at}", "demo.Echo/Count");
    let items: Vec<_> = spans
        .iter()
        .filter(|span| span.name == "count_item")
        .collect();
    assert_eq!(items.len(), 3);
    for item in &items {
        assert_child(item, b_server);
        assert!(item.end_time <= b_server.end_time);
        assert!(item.end_time <= a_client.end_time);
    }
    for span in [a_client, b_server] {
        assert_rpc(span, "Count", Code::Ok, b);
        assert_eq!(span.status, SpanStatus::Unset);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_failing_midway_reports_the_status_from_its_trailers() {
    let b = serve_b().await;
    let a = serve_a(b).await;

    let (body, trace_id) = call_a(a, "/count/4/3").await;
    assert_eq!(body, "1,2,DataLoss");
    let spans = spans_of(trace_id, 7).await;
    let [_, a_client, b_server] = hops(&spans, "GET /count/{up_to}/{fail_at}", "demo.Echo/Count");
    for span in [a_client, b_server] {
        assert_rpc(span, "Count", Code::DataLoss, b);
        assert!(
            matches!(&span.status, SpanStatus::Error { description } if description == "lost item 3"),
            "{:?}: {:?}",
            span.span_kind,
            span.status
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_dropped_early_ends_both_spans_as_cancelled() {
    let b = serve_b().await;
    let a = serve_a(b).await;

    let (body, trace_id) = call_a(a, "/watch").await;
    assert_eq!(body, "1");
    let spans = spans_of(trace_id, 4).await;
    let [_, a_client, b_server] = hops(&spans, "GET /watch", "demo.Echo/Watch");
    for span in [a_client, b_server] {
        assert!(
            span.events.iter().any(|event| event.name == "cancelled"),
            "{:?}: {:?}",
            span.span_kind,
            span.events
        );
        assert_eq!(
            attr(span, "rpc.grpc.status_code"),
            None,
            "no status was received"
        );
        assert_eq!(attr(span, "error.type"), Some(&Value::from("cancelled")));
        assert_eq!(span.status, SpanStatus::Unset);
    }
}

/// Calls each of `paths` of B with `name`, in a new trace through the client
/// layer: the answers and the trace id.
async fn call_b(
    b: SocketAddr,
    paths: Vec<PathAndQuery>,
    name: &str,
) -> (Vec<Result<String, Status>>, TraceId) {
    let channel = Endpoint::from_shared(format!("http://{b}"))
        .unwrap()
        .connect_lazy();
    let mut client = tonic::client::Grpc::new(
        ServiceBuilder::new()
            .layer(GrpcClientLayer::new())
            .service(channel),
    );
    let name = name.to_owned();
    let (output, _) = capture_async(|| {
        let trace_id = Context::current().span().span_context().trace_id();
        async move {
            let mut answers = Vec::new();
            for path in paths {
                client.ready().await.unwrap();
                let reply = client
                    .unary(
                        Request::new(SayRequest { name: name.clone() }),
                        path,
                        ProstCodec::<SayRequest, SayReply>::default(),
                    )
                    .await;
                answers.push(reply.map(|reply| reply.into_inner().message));
            }
            (answers, trace_id)
        }
    })
    .await;
    output
}

/// Calls each of `paths`, methods B does not have: the trace id.
async fn call_missing_methods(b: SocketAddr, paths: Vec<PathAndQuery>) -> TraceId {
    let (answers, trace_id) = call_b(b, paths, "").await;
    for answer in answers {
        assert_eq!(answer.unwrap_err().code(), Code::Unimplemented);
    }
    trace_id
}

/// A scanner trying paths: one span name for all, whatever the path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repro_unknown_services_never_become_span_names() {
    let b = serve_b().await;
    let probes = ["/scanner.Probe1/Get", "/wp-admin.X/y", "/demo.Echo/Shout"];
    let trace_id = call_missing_methods(b, probes.map(PathAndQuery::from_static).into()).await;
    let spans = spans_of(trace_id, 6).await;
    let servers: Vec<_> = spans
        .iter()
        .filter(|span| span.span_kind == SpanKind::Server)
        .collect();
    assert_eq!(servers.len(), 3);
    for span in servers {
        assert_eq!(span.name, "grpc", "{:?}", span.attributes);
        assert_eq!(attr(span, "rpc.service"), Some(&Value::from("_OTHER")));
        assert_eq!(attr(span, "rpc.method"), Some(&Value::from("_OTHER")));
    }
}

/// The health service left out: its calls have no span and nothing beneath
/// is traced, while the other services' calls are traced as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_skipped_service_has_no_span_and_nothing_beneath_is_traced() {
    let layer = GrpcServerLayer::new().skip_services(["grpc.health.v1.Health"]);
    let b = serve_b_with(layer).await;
    let paths = [HEALTH_CHECK, SAY].map(PathAndQuery::from_static).into();
    let (answers, trace_id) = call_b(b, paths, "alice").await;
    let answers: Vec<_> = answers.into_iter().map(Result::unwrap).collect();
    assert_eq!(answers, ["hello health, suppressed=true", "hello alice"]);

    // The two client spans, and Say's server span and its greet span: a
    // skipped call's spans would have ended before its reply was read.
    let spans = spans_of(trace_id, 4).await;
    let names: Vec<_> = spans
        .iter()
        .map(|span| (&span.name, &span.span_kind))
        .collect();
    assert_eq!(spans.len(), 4, "{names:?}");
    find(&spans, "grpc.health.v1.Health/Check", SpanKind::Client);
    let say = find(&spans, "demo.Echo/Say", SpanKind::Server);
    assert_child(find(&spans, "greet", SpanKind::Internal), say);
}

/// A method name as long as a caller likes: capped in the client's span, and
/// never a span name on the server, which does not have the method.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repro_a_huge_method_name_is_capped() {
    const CAP: usize = 2048;
    let b = serve_b().await;
    let method = "M".repeat(5_000);
    let path = PathAndQuery::try_from(format!("/demo.Echo/{method}")).unwrap();
    let trace_id = call_missing_methods(b, vec![path]).await;
    let spans = spans_of(trace_id, 2).await;
    let client_span = spans
        .iter()
        .find(|span| span.span_kind == SpanKind::Client)
        .expect("the client span");
    let kept = attr(client_span, "rpc.method")
        .unwrap()
        .as_str()
        .into_owned();
    assert!(kept == method[..CAP], "{} bytes kept", kept.len());
    assert_eq!(client_span.name.len(), "demo.Echo/".len() + CAP);
    let server_span = find(&spans, "grpc", SpanKind::Server);
    assert_eq!(
        attr(server_span, "rpc.method"),
        Some(&Value::from("_OTHER"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_method_is_unimplemented_and_an_unreachable_server_unavailable() {
    let b = serve_b().await;
    let endpoint = Endpoint::from_shared(format!("http://{b}")).unwrap();
    let channel_uri = endpoint.uri();
    let channel = endpoint.connect_lazy();
    let mut client = tonic::client::Grpc::new(
        ServiceBuilder::new()
            .layer(GrpcClientLayer::new().server(channel_uri))
            .service(channel),
    );
    let (result, trace_id) = {
        let (output, _) = capture_async(|| {
            let trace_id = Context::current().span().span_context().trace_id();
            async move {
                client.ready().await.unwrap();
                let result = client
                    .unary(
                        Request::new(SayRequest::default()),
                        PathAndQuery::from_static("/demo.Echo/Shout"),
                        ProstCodec::<SayRequest, SayReply>::default(),
                    )
                    .await;
                (result, trace_id)
            }
        })
        .await;
        output
    };
    assert_eq!(result.unwrap_err().code(), Code::Unimplemented);
    let spans = spans_of(trace_id, 2).await;
    let client_span = find(&spans, "demo.Echo/Shout", SpanKind::Client);
    assert_rpc(client_span, "Shout", Code::Unimplemented, b);
    assert!(is_error(client_span));
    // The server has no such method: a fixed name, never the request path.
    let server_span = find(&spans, "grpc", SpanKind::Server);
    assert_eq!(
        attr(server_span, "rpc.service"),
        Some(&Value::from("_OTHER"))
    );
    assert_eq!(
        attr(server_span, "rpc.method"),
        Some(&Value::from("_OTHER"))
    );
    assert!(is_error(server_span));

    let closed = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap()
    };
    let endpoint = Endpoint::from_shared(format!("http://{closed}")).unwrap();
    let channel_uri = endpoint.uri();
    let channel = endpoint.connect_lazy();
    let mut client = tonic::client::Grpc::new(
        ServiceBuilder::new()
            .layer(GrpcClientLayer::new().server(channel_uri))
            .service(channel),
    );
    let ((result, trace_id), _) = capture_async(|| {
        let trace_id = Context::current().span().span_context().trace_id();
        async move {
            client.ready().await.unwrap();
            let result = client
                .unary(
                    Request::new(SayRequest::default()),
                    PathAndQuery::from_static(SAY),
                    ProstCodec::<SayRequest, SayReply>::default(),
                )
                .await;
            (result, trace_id)
        }
    })
    .await;
    assert_eq!(result.unwrap_err().code(), Code::Unavailable);
    let spans = spans_of(trace_id, 1).await;
    let failed = find(&spans, "demo.Echo/Say", SpanKind::Client);
    assert!(is_error(failed), "{:?}", failed.status);
    assert_eq!(
        attr(failed, "rpc.grpc.status_code"),
        None,
        "no answer, no code"
    );
}

#[test]
fn every_test_here_passes_on_a_user_provider() {
    traced_tests::rerun_on_a_user_provider();
}
