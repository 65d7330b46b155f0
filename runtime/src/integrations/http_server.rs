//! A SERVER span for every HTTP request, as a tower layer for axum, hyper or
//! any tower stack.
//!
//! The layer reads the caller's context from the request headers, starts a
//! SERVER span named `{method} {route}` under it and keeps the span current
//! while the handler runs, so `#[traced]` functions called by the handler nest
//! beneath it and outgoing calls carry it on. The span ends when the response
//! body has been sent.
//!
//! # With axum: where the layer goes
//!
//! The route template (`/users/{id}`, never the raw path) comes from axum's
//! `MatchedPath`, which the router only knows once it has routed the request.
//! So add the layer **to the router** (feature `axum`):
//!
//! ```
//! use axum::{Router, routing::get};
//! use traced::integrations::HttpServerLayer;
//!
//! let app: Router = Router::new()
//!     .route("/users/{id}", get(|| async { "alice" }))
//!     .layer(HttpServerLayer::new());
//! ```
//!
//! - `Router::layer` (recommended): every routed request gets `GET /users/{id}`;
//!   a request no route matches still gets a span, named `GET`, with its 404.
//! - `Router::route_layer`: only matched requests get a span.
//! - Wrapping the whole router from outside (`ServiceBuilder` around the
//!   `Router`, or a hyper service around it) runs before routing: no route is
//!   known yet, every span is named by its method alone and `http.route` is
//!   missing. Prefer `Router::layer`.
//!
//! Inside a nested router the URI has its prefix stripped; `url.path` uses
//! axum's `OriginalUri`, so it is always the path the client sent. For
//! `client.address`, serve with
//! `into_make_service_with_connect_info::<SocketAddr>()`.
//!
//! # Trusting the caller's context
//!
//! The layer reads `traceparent`, `tracestate` and `baggage` from every
//! request. Continuing them is right behind your own gateway, where callers
//! are your services; at a public edge it hands strangers some control. What
//! each [`Trust`](super::Trust) lets a caller do:
//!
//! | a caller can | `Continue` (default) | `NewRootWithLink` | `NewRootWithLinkKeepBaggage` |
//! |---|---|---|---|
//! | pick the trace your spans join | yes | no: a new trace, linked to theirs | no: a new trace, linked |
//! | force sampling (`-01`) under a parent-based sampler | yes | no: your sampler decides | no: your sampler decides |
//! | suppress recording (`-00`) | yes | no | no |
//! | inject baggage (seen by your code, sent on by every client layer) | yes | no: dropped | yes |
//!
//! Choose `Continue` for internal services, `NewRootWithLink` for anything
//! the internet reaches (public APIs, webhooks), and
//! `NewRootWithLinkKeepBaggage` behind an edge proxy of yours that sets
//! baggage while clients must not choose trace ids. The client layers can
//! also keep baggage from leaving for other hosts (`baggage_only_to`).
//!
//! # Leaving health checks out
//!
//! [`HttpServerLayer::skip_paths`] and [`HttpServerLayer::skip_if`] leave
//! requests out: a skipped request gets no span and runs with tracing
//! suppressed, as under [`traced::suppress`](crate::suppress), so nothing it
//! calls is traced and the calls it makes tell downstream services not to
//! sample.
//!
//! ```
//! use axum::{Router, routing::get};
//! use traced::integrations::HttpServerLayer;
//!
//! let app: Router = Router::new()
//!     .route("/health", get(|| async { "ok" }))
//!     .route("/users/{id}", get(|| async { "alice" }))
//!     .layer(
//!         HttpServerLayer::new()
//!             .skip_paths(["/health", "/ready"])
//!             .skip_if(|request| request.uri.path().starts_with("/internal/")),
//!     );
//! ```
//!
//! `#[traced(suppress)]` on a handler is not enough for this: the layer has
//! started the request's span before the handler runs, and suppression only
//! silences what runs beneath it.
//!
//! # With hyper or another tower stack
//!
//! The layer wraps any `Service<http::Request<B>>` answering
//! `http::Response<_>`; the response body becomes a [`TracedBody`] (map it
//! back with `Response::map` where a concrete body type is required). Without
//! a router there is no route template, and without axum's `ConnectInfo` no
//! peer address.
//!
//! # Attributes
//!
//! `http.request.method`, `http.route`, `url.path`, `url.scheme`,
//! `http.response.status_code`, `server.address`, `server.port`,
//! `user_agent.original`, `client.address`, `network.peer.address`,
//! `network.peer.port`, `network.protocol.version`, and `error.type` on
//! failures. Status is Error for 5xx responses, service errors and panics in
//! the handler (the panic keeps unwinding); 4xx answers leave it unset, as
//! the semantic conventions say for servers.
//!
//! A request that does not complete, because the server stops serving it
//! before answering or the client goes away while the response body is being
//! sent (a download cut off midway), ends its span with an event `cancelled`
//! and `error.type = "cancelled"`; its status stays unset. A response sent
//! whole, or one HTTP sends without a body (`HEAD`, 204, 304), is not
//! cancelled.
//!
//! Values taken from the request (the path, user agent, method, host, route)
//! are cut to 2 KiB, at a character boundary, whatever the caller sends:
//! [`HttpServerLayer::max_attribute_bytes`] sets another length.

use std::fmt::Display;
use std::task::{Context as TaskContext, Poll};

use opentelemetry::trace::{SpanBuilder, SpanKind};
use opentelemetry::{Context, KeyValue};
use tower_layer::Layer;
use tower_service::Service;

use super::body::TracedBody;
use super::exchange::Exchange;
use super::options::{ServerOptions, server_options};
use super::request_span;
pub use super::response_future::ResponseFuture;
use super::semconv::{self, Authority};
use super::value_cap::ValueCap;

/// Layer that gives every request a SERVER span; see the [module docs](self).
#[derive(Clone, Debug, Default)]
pub struct HttpServerLayer {
    options: ServerOptions,
}

impl HttpServerLayer {
    /// A layer that continues the caller's trace.
    pub fn new() -> Self {
        HttpServerLayer::default()
    }

    /// Leaves out the requests for these paths (health checks, readiness
    /// probes): each is compared whole with the path the client sent,
    /// without its query (`/health` skips `/health?full=1`, not
    /// `/health/db`; [`skip_if`](Self::skip_if) takes any rule). A skipped
    /// request gets no span and runs with tracing suppressed, as under
    /// [`traced::suppress`](crate::suppress): nothing it calls is traced,
    /// and the requests it makes tell downstream services not to sample.
    ///
    /// ```
    /// use axum::{Router, routing::get};
    /// use traced::integrations::HttpServerLayer;
    ///
    /// let app: Router = Router::new()
    ///     .route("/health", get(|| async { "ok" }))
    ///     .route("/users/{id}", get(|| async { "alice" }))
    ///     .layer(HttpServerLayer::new().skip_paths(["/health", "/ready"]));
    /// ```
    pub fn skip_paths<I, S>(mut self, paths: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.options.skip = self.options.skip.names(paths);
        self
    }

    server_options!(HttpServerLayer);
}

impl<S> Layer<S> for HttpServerLayer {
    type Service = HttpServerService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpServerService {
            inner,
            options: self.options.clone(),
        }
    }
}

/// The service [`HttpServerLayer`] wraps around yours.
#[derive(Clone, Debug)]
pub struct HttpServerService<S> {
    inner: S,
    options: ServerOptions,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for HttpServerService<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Error: Display,
    ResBody: http_body::Body,
{
    type Response = http::Response<TracedBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let options = &self.options;
        let (skipped, request) = options
            .skip
            .skips(request, |request| Some(original_uri(request).path()));
        let exchange = if skipped {
            Exchange::Skipped(request_span::suppressed(request.headers(), options.trust))
        } else {
            let cx = start_span(&request, options);
            Exchange::http(cx, request.method())
        };
        ResponseFuture::new(exchange, || self.inner.call(request))
    }
}

fn start_span<B>(request: &http::Request<B>, options: &ServerOptions) -> Context {
    let cap = options.cap;
    let route = route(request).map(|route| cap.string(route));
    let method = semconv::span_method(request.method());
    let name = match &route {
        Some(route) => [method, " ", route].concat(),
        None => method.to_owned(),
    };
    let builder = SpanBuilder::from_name(name)
        .with_kind(SpanKind::Server)
        .with_attributes(request_attributes(request, route, cap));
    request_span::start_server(request.headers(), options.trust, builder)
}

/// The request's attributes, each value taken from the request cut to `cap`.
fn request_attributes<B>(
    request: &http::Request<B>,
    route: Option<String>,
    cap: ValueCap,
) -> Vec<KeyValue> {
    let mut attributes = Vec::with_capacity(12);
    semconv::method_attributes(request.method(), cap, &mut attributes);
    if let Some(route) = route {
        attributes.push(KeyValue::new("http.route", route));
    }
    let uri = original_uri(request);
    attributes.push(KeyValue::new("url.path", cap.str(uri.path())));
    if let Some(server) = Authority::of_request(uri, request.headers()) {
        server.push(cap, &mut attributes);
    }
    attributes.push(KeyValue::new("url.scheme", semconv::scheme(uri, cap)));
    if let Some(agent) = request
        .headers()
        .get(http::header::USER_AGENT)
        .and_then(|agent| agent.to_str().ok())
    {
        attributes.push(KeyValue::new("user_agent.original", cap.str(agent)));
    }
    if let Some(peer) = peer_address(request) {
        let address = semconv::address_text(peer.ip());
        attributes.push(KeyValue::new("client.address", address.clone()));
        attributes.push(KeyValue::new("network.peer.address", address));
        attributes.push(KeyValue::new("network.peer.port", i64::from(peer.port())));
    }
    if let Some(version) = semconv::protocol_version(request.version()) {
        attributes.push(KeyValue::new("network.protocol.version", version));
    }
    attributes
}

#[cfg(feature = "axum")]
fn route<B>(request: &http::Request<B>) -> Option<String> {
    request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|path| path.as_str().to_owned())
}

#[cfg(not(feature = "axum"))]
fn route<B>(_request: &http::Request<B>) -> Option<String> {
    None
}

/// The URI the client sent: inside a nested axum router the request's own URI
/// has the prefix stripped.
#[cfg(feature = "axum")]
fn original_uri<B>(request: &http::Request<B>) -> &http::Uri {
    request
        .extensions()
        .get::<axum::extract::OriginalUri>()
        .map_or(request.uri(), |original| &original.0)
}

#[cfg(not(feature = "axum"))]
fn original_uri<B>(request: &http::Request<B>) -> &http::Uri {
    request.uri()
}

#[cfg(feature = "axum")]
fn peer_address<B>(request: &http::Request<B>) -> Option<std::net::SocketAddr> {
    request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0)
}

#[cfg(not(feature = "axum"))]
fn peer_address<B>(_request: &http::Request<B>) -> Option<std::net::SocketAddr> {
    None
}
