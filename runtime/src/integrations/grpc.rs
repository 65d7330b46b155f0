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
//! dropped before its end ends the span with an event `cancelled`.
//!
//! A handler that panics ends its span with status Error and an `exception`
//! event carrying the panic message; the panic keeps unwinding.
//!
//! Status Error follows the semantic conventions: on the server for
//! `UNKNOWN`, `DEADLINE_EXCEEDED`, `UNIMPLEMENTED`, `INTERNAL`, `UNAVAILABLE`
//! and `DATA_LOSS` (the others are the caller's mistakes); on the client for
//! every code but `OK`.
//!
//! Code that works with `tonic::Request` directly can use the metadata as a
//! carrier: `traced::propagation::inject(request.metadata_mut())`.

use std::fmt::Display;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use opentelemetry::trace::{SpanBuilder, SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};
use pin_project_lite::pin_project;
use tonic::Code;
use tonic::metadata::{KeyAndValueRef, MetadataKey, MetadataMap, MetadataValue};
use tower_layer::Layer;
use tower_service::Service;

use super::baggage_hosts::BaggageHosts;
use super::body::{BodyEnd, TracedBody};
use super::semconv;
use super::trust::{self, Trust};
use crate::propagation::{self, Carrier};

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

/// Which end of a call a span stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Server,
    Client,
}

impl Side {
    fn is_error(self, code: Code) -> bool {
        match self {
            Side::Client => code != Code::Ok,
            Side::Server => matches!(
                code,
                Code::Unknown
                    | Code::DeadlineExceeded
                    | Code::Unimplemented
                    | Code::Internal
                    | Code::Unavailable
                    | Code::DataLoss
            ),
        }
    }
}

/// Layer for `tonic::transport::Server::builder().layer(..)`: a SERVER span
/// per call; see the [module docs](self). What a caller's context may decide
/// at a public edge, and which [`Trust`] to choose, is in the table of the
/// [HTTP server layer](super::http_server#trusting-the-callers-context).
#[derive(Clone, Copy, Debug, Default)]
pub struct GrpcServerLayer {
    trust: Trust,
}

impl GrpcServerLayer {
    /// A layer that continues the caller's trace.
    pub fn new() -> Self {
        GrpcServerLayer::default()
    }

    /// How far to trust the context calls arrive with: continue it (the
    /// default) or start a new trace linked to it.
    pub fn trust(mut self, trust: Trust) -> Self {
        self.trust = trust;
        self
    }
}

impl<S> Layer<S> for GrpcServerLayer {
    type Service = GrpcService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcService {
            inner,
            side: Side::Server,
            trust: self.trust,
            server: None,
            baggage: BaggageHosts::default(),
        }
    }
}

/// Layer around a tonic `Channel` (or any gRPC client service): a CLIENT span
/// per call, its context sent in the metadata; see the [module docs](self).
#[derive(Clone, Debug, Default)]
pub struct GrpcClientLayer {
    server: Option<Authority>,
    baggage: BaggageHosts,
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
        self.server = Authority::of(uri);
        self
    }

    /// Sends baggage only to these hosts: exact names or addresses, or a
    /// domain with a leading dot (`.internal.example.com`) for every host
    /// under it. Other hosts receive the trace context without baggage. By
    /// default every host receives it.
    pub fn baggage_only_to<I, S>(mut self, hosts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.baggage = BaggageHosts::only(hosts);
        self
    }
}

impl<S> Layer<S> for GrpcClientLayer {
    type Service = GrpcService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcService {
            inner,
            side: Side::Client,
            trust: Trust::Continue,
            server: self.server.clone(),
            baggage: self.baggage.clone(),
        }
    }
}

/// `server.address` and `server.port` of a URI.
#[derive(Clone, Debug)]
struct Authority {
    host: String,
    port: Option<u16>,
}

impl Authority {
    fn of(uri: &http::Uri) -> Option<Authority> {
        let (host, port) = semconv::host_and_port(uri.authority()?.as_str())?;
        let port = port.or_else(|| semconv::default_port(uri.scheme_str().unwrap_or("http")));
        Some(Authority { host, port })
    }

    fn of_request<B>(request: &http::Request<B>) -> Option<Authority> {
        Authority::of(request.uri()).or_else(|| {
            let host = request.headers().get(http::header::HOST)?.to_str().ok()?;
            let (host, port) = semconv::host_and_port(host)?;
            Some(Authority { host, port })
        })
    }

    fn push(self, attributes: &mut Vec<KeyValue>) {
        attributes.push(KeyValue::new("server.address", self.host));
        if let Some(port) = self.port {
            attributes.push(KeyValue::new("server.port", i64::from(port)));
        }
    }
}

/// The service [`GrpcServerLayer`] and [`GrpcClientLayer`] wrap around
/// yours.
#[derive(Clone, Debug)]
pub struct GrpcService<S> {
    inner: S,
    side: Side,
    trust: Trust,
    server: Option<Authority>,
    baggage: BaggageHosts,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for GrpcService<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Error: Display,
{
    type Response = http::Response<TracedBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<ReqBody>) -> Self::Future {
        let request_path = request.uri().path().to_owned();
        let request_path = request_path.as_str();
        let server = Authority::of_request(&request).or_else(|| self.server.clone());
        let cx = match self.side {
            Side::Server => {
                let (parent, links) = trust::resolve(request.headers(), self.trust);
                start_span(&request, server, SpanKind::Server, &parent, links)
            }
            Side::Client => {
                let host = server.as_ref().map(|server| server.host.clone());
                let cx = start_span(
                    &request,
                    server,
                    SpanKind::Client,
                    &Context::current(),
                    Vec::new(),
                );
                let outgoing = self.baggage.outgoing(&cx, host.as_deref());
                propagation::inject_context(&outgoing, request.headers_mut());
                cx
            }
        };
        let inner = {
            let _attached = cx.clone().attach();
            self.inner.call(request)
        };
        let names = match self.side {
            Side::Server => Some(rpc_names(request_path)),
            Side::Client => None,
        };
        ResponseFuture {
            inner,
            call: Some(CallEnd {
                cx,
                side: self.side,
                status: None,
                names,
            }),
        }
    }
}

pin_project! {
    /// The response future of [`GrpcService`].
    #[derive(Debug)]
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        call: Option<CallEnd>,
    }

    impl<F> PinnedDrop for ResponseFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(call) = this.project().call.take() {
                call.dropped();
            }
        }
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<http::Response<ResBody>, E>>,
    E: Display,
{
    type Output = Result<http::Response<TracedBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let polled = {
            let _attached = this.call.as_ref().map(|call| call.cx.clone().attach());
            catch_unwind(AssertUnwindSafe(|| this.inner.poll(task)))
        };
        let output = match polled {
            Ok(Poll::Ready(output)) => output,
            Ok(Poll::Pending) => return Poll::Pending,
            Err(payload) => {
                if let Some(mut call) = this.call.take() {
                    call.name_the_method(true);
                    crate::exception::record_panic(&call.cx.span(), Some(&*payload));
                    call.cx.span().end();
                }
                resume_unwind(payload)
            }
        };
        let Some(mut call) = this.call.take() else {
            panic!("`ResponseFuture` polled after completion");
        };
        match output {
            Ok(response) => {
                call.head(&response);
                Poll::Ready(Ok(
                    response.map(|body| TracedBody::new(body, BodyEnd::Grpc(call)))
                ))
            }
            Err(error) => {
                call.name_the_method(true);
                let span = call.cx.span();
                semconv::record_error(&span, std::any::type_name::<E>(), error.to_string());
                span.end();
                Poll::Ready(Err(error))
            }
        }
    }
}

/// One call in flight: what is known of its outcome until the response
/// stream ends.
#[derive(Debug)]
pub(crate) struct CallEnd {
    cx: Context,
    side: Side,
    status: Option<tonic::Status>,
    /// A server span's `rpc.service` and `rpc.method`, recorded once it is
    /// known whether the server has that method.
    names: Option<(String, String)>,
}

impl CallEnd {
    pub(crate) fn context(&self) -> &Context {
        &self.cx
    }

    /// A trailers-only response carries its status in the headers; a
    /// response that is not HTTP 200 maps to a code as the gRPC spec says.
    fn head<B>(&mut self, response: &http::Response<B>) {
        self.status = tonic::Status::from_header_map(response.headers());
        // tonic's answer to a path no service or method matches.
        let unknown = self.status.as_ref().is_some_and(|status| {
            status.code() == Code::Unimplemented && status.message().is_empty()
        });
        self.name_the_method(!unknown);
        if self.status.is_none() && response.status() != http::StatusCode::OK {
            let code = code_for_http_status(response.status());
            self.status = Some(tonic::Status::new(
                code,
                format!("HTTP status {}", response.status()),
            ));
        }
    }

    /// Records a server span's `rpc.service` and `rpc.method` (once): as the
    /// request named them when the server has the method, else `_OTHER`
    /// under the fixed span name.
    fn name_the_method(&mut self, known: bool) {
        let Some((service, method)) = self.names.take() else {
            return;
        };
        let span = self.cx.span();
        let (service, method) = if known {
            (service, method)
        } else {
            span.update_name(UNKNOWN_METHOD);
            (OTHER.to_owned(), OTHER.to_owned())
        };
        span.set_attribute(KeyValue::new("rpc.service", service));
        span.set_attribute(KeyValue::new("rpc.method", method));
    }

    pub(crate) fn trailers(&mut self, trailers: &http::HeaderMap) {
        if let Some(status) = tonic::Status::from_header_map(trailers) {
            self.status = Some(status);
        }
    }

    pub(crate) fn finished(mut self) {
        self.name_the_method(true);
        let status = self
            .status
            .unwrap_or_else(|| tonic::Status::unknown("response ended without grpc-status"));
        let span = self.cx.span();
        let code = status.code();
        span.set_attribute(KeyValue::new("rpc.grpc.status_code", code as i64));
        if self.side.is_error(code) {
            span.set_attribute(KeyValue::new("error.type", code_name(code)));
            span.set_status(Status::error(status.message().to_owned()));
        }
        span.end();
    }

    pub(crate) fn dropped(mut self) {
        if self.status.is_some() {
            return self.finished();
        }
        self.name_the_method(true);
        let span = self.cx.span();
        span.add_event("cancelled", Vec::new());
        span.end();
    }
}

/// The name of a span whose method the server does not have, or whose path
/// is not `/package.Service/Method`.
const UNKNOWN_METHOD: &str = "grpc";
const OTHER: &str = "_OTHER";

/// `rpc.service` and `rpc.method` from a request path.
fn rpc_names(path: &str) -> (String, String) {
    path.strip_prefix('/')
        .and_then(|path| path.split_once('/'))
        .filter(|(service, method)| {
            !service.is_empty() && !method.is_empty() && !method.contains('/')
        })
        .map_or_else(
            || (OTHER.to_owned(), OTHER.to_owned()),
            |(service, method)| (service.to_owned(), method.to_owned()),
        )
}

fn start_span<B>(
    request: &http::Request<B>,
    server: Option<Authority>,
    kind: SpanKind,
    parent: &Context,
    links: Vec<opentelemetry::trace::Link>,
) -> Context {
    let (service, method) = rpc_names(request.uri().path());
    let name = if service == OTHER {
        UNKNOWN_METHOD.to_owned()
    } else {
        format!("{service}/{method}")
    };
    let mut attributes = vec![KeyValue::new("rpc.system", "grpc")];
    // A server records these once it knows it has the method.
    if kind == SpanKind::Client {
        attributes.push(KeyValue::new("rpc.service", service));
        attributes.push(KeyValue::new("rpc.method", method));
    }
    if let Some(server) = server {
        server.push(&mut attributes);
    }
    let mut builder = SpanBuilder::from_name(name)
        .with_kind(kind)
        .with_attributes(attributes);
    if !links.is_empty() {
        builder = builder.with_links(links);
    }
    let span = semconv::tracer().build_with_context(builder, parent);
    parent.with_span(span)
}

/// <https://github.com/grpc/grpc/blob/master/doc/http-grpc-status-mapping.md>
fn code_for_http_status(status: http::StatusCode) -> Code {
    match status.as_u16() {
        400 => Code::Internal,
        401 => Code::Unauthenticated,
        403 => Code::PermissionDenied,
        404 => Code::Unimplemented,
        429 | 502..=504 => Code::Unavailable,
        _ => Code::Unknown,
    }
}

/// `error.type`: the code's name as the gRPC spec spells it.
fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn server_errors_are_the_servers_fault_only() {
        assert!(Side::Server.is_error(Code::Internal));
        assert!(!Side::Server.is_error(Code::NotFound));
        assert!(!Side::Server.is_error(Code::InvalidArgument));
        assert!(Side::Client.is_error(Code::NotFound));
        assert!(!Side::Client.is_error(Code::Ok));
    }
}
