//! The Rust services of the cross-language test (`tests/cross_language.rs`),
//! one per process so that each exports under its own `service.name`.
//!
//! ```text
//! cross_language_service ledger   serves gRPC `ledger.Ledger/Reserve` and HTTP `GET /balance/{item}`
//! cross_language_service front    serves HTTP `GET /checkout/{item}`: reserves the item on the
//!                                 ledger over gRPC, then asks the pricing service (Python) for a quote
//! ```
//!
//! Both configure tracing from the environment (`OTEL_SERVICE_NAME`,
//! `OTEL_EXPORTER_OTLP_ENDPOINT`, ...) with `traced::init()`, print their
//! addresses on the first line of stdout, and shut down, flushing every span,
//! when stdin closes. The front reads `LEDGER_GRPC` and `PRICING_URL`.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use anyhow::Context as _;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use tokio::io::AsyncReadExt;
use tonic::body::Body;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::server::NamedService;
use tonic::transport::{Channel, Endpoint, Server};
use tonic::{Request, Response, Status};
use tonic_prost::ProstCodec;
use tower::{ServiceBuilder, service_fn};
use traced::integrations::grpc::GrpcService;
use traced::integrations::{GrpcClientLayer, GrpcServerLayer, HttpServerLayer, TracingMiddleware};
use traced::opentelemetry::Context;
use traced::opentelemetry::baggage::BaggageExt;
use traced::traced;

#[derive(Clone, PartialEq, prost::Message)]
struct ReserveRequest {
    #[prost(uint64, tag = "1")]
    item: u64,
}

#[derive(Clone, PartialEq, prost::Message)]
struct ReserveReply {
    #[prost(string, tag = "1")]
    note: String,
}

const RESERVE: &str = "/ledger.Ledger/Reserve";

fn main() -> anyhow::Result<()> {
    let role = std::env::args().nth(1).unwrap_or_default();
    let guard = traced::init().context("configuring tracing from the environment")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let served = runtime.block_on(async {
        match role.as_str() {
            "ledger" => ledger().await,
            "front" => front().await,
            other => anyhow::bail!("unknown role {other:?}: expected `ledger` or `front`"),
        }
    });
    drop(runtime);
    drop(guard);
    served
}

/// Resolves when stdin reaches its end: the test's signal to stop.
async fn stdin_closed() {
    let mut sink = Vec::new();
    let _ = tokio::io::stdin().read_to_end(&mut sink).await;
}

async fn listen() -> anyhow::Result<(tokio::net::TcpListener, SocketAddr)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    Ok((listener, address))
}

/// The first line of stdout: where this service listens.
fn announce(line: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}")?;
    stdout.flush()
}

fn tenant() -> String {
    Context::current()
        .baggage()
        .get("tenant")
        .map_or_else(|| "nobody".to_owned(), ToString::to_string)
}

// ---- ledger ----

#[traced(attrs(tenant = tenant()))]
fn reserve(#[attr] item: u64) -> String {
    format!("reserved {item} for {}", tenant())
}

#[traced(attrs(tenant = tenant()))]
async fn balance(#[attr] item: u64) -> String {
    tokio::task::yield_now().await;
    format!("balance of {item} for {}", tenant())
}

async fn reserve_call(request: Request<ReserveRequest>) -> Result<Response<ReserveReply>, Status> {
    let note = reserve(request.into_inner().item);
    Ok(Response::new(ReserveReply { note }))
}

#[derive(Clone)]
struct LedgerServer;

impl NamedService for LedgerServer {
    const NAME: &'static str = "ledger.Ledger";
}

impl tower::Service<http::Request<Body>> for LedgerServer {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        if request.uri().path() != RESERVE {
            return Box::pin(async { Ok(Status::unimplemented("no such method").into_http()) });
        }
        Box::pin(async move {
            let mut grpc = tonic::server::Grpc::new(ProstCodec::default());
            Ok(grpc.unary(service_fn(reserve_call), request).await)
        })
    }
}

async fn ledger() -> anyhow::Result<()> {
    let (grpc_listener, grpc_address) = listen().await?;
    let (http_listener, http_address) = listen().await?;
    announce(&format!("grpc={grpc_address} http={http_address}"))?;

    let grpc = Server::builder()
        .layer(GrpcServerLayer::new())
        .add_service(LedgerServer)
        .serve_with_incoming_shutdown(
            tonic::transport::server::TcpIncoming::from(grpc_listener),
            stdin_closed(),
        );
    let app = Router::new()
        .route(
            "/balance/{item}",
            get(|Path(item): Path<u64>| balance(item)),
        )
        .layer(HttpServerLayer::new());
    let http = axum::serve(http_listener, app).with_graceful_shutdown(stdin_closed());
    let (grpc, http) = tokio::join!(grpc, http);
    grpc?;
    http?;
    Ok(())
}

// ---- front ----

#[derive(Clone)]
struct Front {
    ledger: tonic::client::Grpc<GrpcService<Channel>>,
    pricing: String,
    http: ClientWithMiddleware,
}

async fn checkout(
    State(front): State<Front>,
    Path(item): Path<u64>,
) -> Result<String, (StatusCode, String)> {
    let failed = |error: String| (StatusCode::BAD_GATEWAY, error);
    let mut ledger = front.ledger;
    ledger
        .ready()
        .await
        .map_err(|error| failed(error.to_string()))?;
    let reserved = ledger
        .unary(
            Request::new(ReserveRequest { item }),
            PathAndQuery::from_static(RESERVE),
            ProstCodec::<ReserveRequest, ReserveReply>::default(),
        )
        .await
        .map_err(|status| failed(status.to_string()))?
        .into_inner()
        .note;
    let quote = front
        .http
        .get(format!("{}/quote/{item}", front.pricing))
        .send()
        .await
        .map_err(|error| failed(error.to_string()))?
        .text()
        .await
        .map_err(|error| failed(error.to_string()))?;
    Ok(format!("{reserved}; {quote}"))
}

async fn front() -> anyhow::Result<()> {
    let ledger_uri = std::env::var("LEDGER_GRPC").context("LEDGER_GRPC")?;
    let pricing = std::env::var("PRICING_URL").context("PRICING_URL")?;
    let endpoint = Endpoint::from_shared(ledger_uri).context("LEDGER_GRPC is not a URI")?;
    let channel = ServiceBuilder::new()
        .layer(GrpcClientLayer::new().server(endpoint.uri()))
        .service(endpoint.connect_lazy());
    let front = Front {
        ledger: tonic::client::Grpc::new(channel),
        pricing,
        http: ClientBuilder::new(reqwest::Client::new())
            .with(TracingMiddleware::new())
            .build(),
    };
    let app = Router::new()
        .route("/checkout/{item}", get(checkout))
        .with_state(front)
        .layer(HttpServerLayer::new());
    let (listener, address) = listen().await?;
    announce(&format!("http={address}"))?;
    axum::serve(listener, app)
        .with_graceful_shutdown(stdin_closed())
        .await?;
    Ok(())
}
