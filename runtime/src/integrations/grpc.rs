//! SERVER and CLIENT spans for tonic gRPC calls, unary and streaming.
//!
//! ```no_run
//! # async fn run(routes: tonic::service::Routes) -> Result<(), Box<dyn std::error::Error>> {
//! use traced::integrations::{GrpcClientLayer, GrpcServerLayer};
//!
//! // Server: one layer for every service it hosts.
//! tonic::transport::Server::builder()
//!     .layer(GrpcServerLayer::new())
//!     .add_routes(routes)
//!     .serve("127.0.0.1:50051".parse()?)
//!     .await?;
//!
//! // Client: wrap the channel, then hand it to the generated client
//! // (`GreeterClient::new(channel)`).
//! let channel = tonic::transport::Endpoint::from_static("http://127.0.0.1:50051")
//!     .connect()
//!     .await?;
//! let channel = tower::ServiceBuilder::new().layer(GrpcClientLayer::new()).service(channel);
//! # let _ = channel;
//! # Ok(()) }
//! ```
//!
//! Spans are named `package.Service/Method` and carry `rpc.system = grpc`,
//! `rpc.service`, `rpc.method`, `rpc.grpc.status_code`, `server.address` and
//! `server.port`. On the server, a call to a service or method the server
//! does not have (a scanner trying paths, an outdated client) is named
//! `grpc`, with `rpc.service` and `rpc.method` set to `_OTHER`, so request
//! paths never become span names; it is recognised by the answer tonic gives
//! it (`UNIMPLEMENTED` with no message, before any response message). The status code is read from the response headers or, for
//! calls that stream, from the trailers: a span ends when its response stream
//! ends, so a server-streaming call is timed to its last message. A stream
//! dropped before its end ends the span with an event `cancelled` and
//! `error.type = "cancelled"`. `rpc.service`, `rpc.method` (and so span
//! names) and `server.address` are cut to 2 KiB
//! ([`GrpcServerLayer::max_attribute_bytes`],
//! [`GrpcClientLayer::max_attribute_bytes`]).
//!
//! A handler that panics ends its span with status Error and an `exception`
//! event carrying the panic message; the panic keeps unwinding.
//!
//! [`GrpcServerLayer::skip_services`] (a health service polled every few
//! seconds) and [`GrpcServerLayer::skip_if`] leave calls out: a skipped call
//! gets no span and runs with tracing suppressed, as under
//! [`traced::suppress`](crate::suppress).
//!
//! Status Error follows the semantic conventions: on the server for
//! `UNKNOWN`, `DEADLINE_EXCEEDED`, `UNIMPLEMENTED`, `INTERNAL`, `UNAVAILABLE`
//! and `DATA_LOSS` (the others are the caller's mistakes); on the client for
//! every code but `OK`.
//!
//! Code that works with `tonic::Request` directly can use the metadata as a
//! carrier: `traced::propagation::inject(request.metadata_mut())`.

use std::fmt::Display;
use std::task::{Context as TaskContext, Poll};

use opentelemetry::KeyValue;
use opentelemetry::trace::{SpanBuilder, SpanKind};
use tonic::metadata::{KeyAndValueRef, MetadataKey, MetadataMap, MetadataValue};
use tower_layer::Layer;
use tower_service::Service;

use super::body::TracedBody;
use super::exchange::Exchange;
use super::grpc_call::{GrpcCall, OTHER, UNKNOWN_METHOD};
use super::options::{ClientOptions, ServerOptions, client_options, server_options};
use super::request_span;
pub use super::response_future::ResponseFuture;
use super::semconv::Authority;
use super::value_cap::ValueCap;
use crate::propagation::Carrier;

impl Carrier for MetadataMap {
    fn get(&self, key: &str) -> Option<&str> {
        MetadataMap::get(self, key).and_then(|value| value.to_str().ok())
    }

    fn set(&mut self, key: &str, value: String) {
        if let (Ok(key), Ok(value)) = (
            MetadataKey::from_bytes(key.as_bytes()),
            MetadataValue::try_from(value.as_str()),
        ) {
            self.insert(key, value);
        }
    }

    fn get_all(&self, key: &str) -> Vec<&str> {
        MetadataMap::get_all(self, key)
            .iter()
            .map(|value| value.to_str().unwrap_or("\u{fffd}"))
            .collect()
    }

    fn keys(&self) -> Vec<&str> {
        self.iter()
            .filter_map(|entry| match entry {
                KeyAndValueRef::Ascii(key, _) => Some(key.as_str()),
                KeyAndValueRef::Binary(..) => None,
            })
            .collect()
    }
}

/// Layer for `tonic::transport::Server::builder().layer(..)`: a SERVER span
/// per call; see the [module docs](self).
#[derive(Clone, Debug, Default)]
pub struct GrpcServerLayer {
    options: ServerOptions,
}

impl GrpcServerLayer {
    /// A layer that continues the caller's trace.
    pub fn new() -> Self {
        GrpcServerLayer::default()
    }

    /// Leaves out the calls to these services, named as in the request
    /// path (`package.Service`): a health service polled every few seconds,
    /// reflection. A skipped call gets no span and runs with tracing
    /// suppressed, as under [`traced::suppress`](crate::suppress): nothing it
    /// calls is traced, and the calls it makes tell downstream services not
    /// to sample.
    ///
    /// ```
    /// let layer = traced::integrations::GrpcServerLayer::new()
    ///     .skip_services(["grpc.health.v1.Health"]);
    /// # let _ = layer;
    /// ```
    pub fn skip_services<I, S>(mut self, services: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.options.skip = self.options.skip.names(services);
        self
    }

    server_options!(GrpcServerLayer);
}

impl<S> Layer<S> for GrpcServerLayer {
    type Service = GrpcService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcService {
            inner,
            role: Role::Server(self.options.clone()),
        }
    }
}

/// Layer around a tonic `Channel` (or any gRPC client service): a CLIENT span
/// per call, its context sent in the metadata; see the [module docs](self).
#[derive(Clone, Debug, Default)]
pub struct GrpcClientLayer {
    server: Option<Authority>,
    options: ClientOptions,
}

impl GrpcClientLayer {
    /// The layer.
    pub fn new() -> Self {
        GrpcClientLayer::default()
    }

    /// The server the channel talks to, for `server.address` and
    /// `server.port`: a tonic `Channel` adds it to requests only after this
    /// layer has seen them (unless the client was built `with_origin`).
    ///
    /// ```
    /// let endpoint = tonic::transport::Endpoint::from_static("http://10.0.0.7:50051");
    /// let layer = traced::integrations::GrpcClientLayer::new().server(endpoint.uri());
    /// # let _ = layer;
    /// ```
    pub fn server(mut self, uri: &http::Uri) -> Self {
        self.server = Authority::of_uri(uri);
        self
    }

    client_options!(GrpcClientLayer);
}

impl<S> Layer<S> for GrpcClientLayer {
    type Service = GrpcService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcService {
            inner,
            role: Role::Client {
                server: self.server.clone(),
                options: self.options.clone(),
            },
        }
    }
}

/// Which end of the calls a [`GrpcService`] traces, with that end's options.
#[derive(Clone, Debug)]
enum Role {
    Server(ServerOptions),
    Client {
        /// The server when the requests do not name it.
        server: Option<Authority>,
        options: ClientOptions,
    },
}

/// The service [`GrpcServerLayer`] and [`GrpcClientLayer`] wrap around
/// yours.
#[derive(Clone, Debug)]
pub struct GrpcService<S> {
    inner: S,
    role: Role,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for GrpcService<S>
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

    fn call(&mut self, mut request: http::Request<ReqBody>) -> Self::Future {
        let exchange = match &self.role {
            Role::Server(options) => {
                let skipped;
                (skipped, request) = options.skip.skips(request, |request| {
                    method_path(request.uri().path()).map(|(service, _)| service)
                });
                if skipped {
                    Exchange::Skipped(request_span::suppressed(request.headers(), options.trust))
                } else {
                    Exchange::Grpc(server_call(&request, options))
                }
            }
            Role::Client { server, options } => {
                Exchange::Grpc(client_call(&mut request, server.as_ref(), options))
            }
        };
        ResponseFuture::new(exchange, || self.inner.call(request))
    }
}

/// Starts the SERVER span of a call.
fn server_call<B>(request: &http::Request<B>, options: &ServerOptions) -> GrpcCall {
    let names = rpc_names(request.uri().path(), options.cap);
    let server = Authority::of_request(request.uri(), request.headers());
    let builder = span_builder(&names, SpanKind::Server, server, options.cap);
    let cx = request_span::start_server(request.headers(), options.trust, builder);
    GrpcCall::server(cx, names)
}

/// Starts the CLIENT span of a call to `configured` (unless the request
/// names its server) and sends its context in the request's metadata.
fn client_call<B>(
    request: &mut http::Request<B>,
    configured: Option<&Authority>,
    options: &ClientOptions,
) -> GrpcCall {
    let names = rpc_names(request.uri().path(), options.cap);
    let server =
        Authority::of_request(request.uri(), request.headers()).or_else(|| configured.cloned());
    let host = server.as_ref().map(|server| server.host.clone());
    let builder = span_builder(&names, SpanKind::Client, server, options.cap);
    let cx = request_span::start_client(
        builder,
        &options.baggage,
        host.as_deref(),
        request.headers_mut(),
    );
    GrpcCall::client(cx)
}

/// The service and method a request path `/package.Service/Method` names.
fn method_path(path: &str) -> Option<(&str, &str)> {
    path.strip_prefix('/')
        .and_then(|path| path.split_once('/'))
        .filter(|(service, method)| {
            !service.is_empty() && !method.is_empty() && !method.contains('/')
        })
}

/// `rpc.service` and `rpc.method` from a request path, each cut to `cap`.
fn rpc_names(path: &str, cap: ValueCap) -> (String, String) {
    method_path(path).map_or_else(
        || (OTHER.to_owned(), OTHER.to_owned()),
        |(service, method)| (cap.str(service), cap.str(method)),
    )
}

/// The span of a call to the method `names`: a client knows its method; a
/// server records it once it knows whether it has it.
fn span_builder(
    (service, method): &(String, String),
    kind: SpanKind,
    server: Option<Authority>,
    cap: ValueCap,
) -> SpanBuilder {
    let name = if service == OTHER {
        UNKNOWN_METHOD.to_owned()
    } else {
        format!("{service}/{method}")
    };
    let mut attributes = vec![KeyValue::new("rpc.system", "grpc")];
    if kind == SpanKind::Client {
        attributes.push(KeyValue::new("rpc.service", service.clone()));
        attributes.push(KeyValue::new("rpc.method", method.clone()));
    }
    if let Some(server) = server {
        server.push(cap, &mut attributes);
    }
    SpanBuilder::from_name(name)
        .with_kind(kind)
        .with_attributes(attributes)
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::TraceContextExt;

    use super::*;
    use crate::propagation;

    #[test]
    fn metadata_round_trips_a_context() {
        let mut metadata = MetadataMap::new();
        Carrier::set(
            &mut metadata,
            "traceparent",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".to_owned(),
        );
        Carrier::set(&mut metadata, "bad key", "ignored".to_owned());
        Carrier::set(&mut metadata, "baggage", "bad\nvalue".to_owned());
        assert_eq!(Carrier::keys(&metadata), vec!["traceparent"]);
        let cx = propagation::extract(&metadata);
        assert_eq!(
            cx.span().span_context().trace_id().to_string(),
            "0af7651916cd43dd8448eb211c80319c"
        );
    }

    #[test]
    fn a_repeated_traceparent_in_metadata_is_invalid() {
        let mut metadata = MetadataMap::new();
        for traceparent in [
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "00-11111111111111111111111111111111-2222222222222222-01",
        ] {
            metadata.append("traceparent", traceparent.parse().unwrap());
        }
        assert_eq!(Carrier::get_all(&metadata, "traceparent").len(), 2);
        let cx = propagation::extract(&metadata);
        assert!(!cx.span().span_context().is_valid());
    }
}
