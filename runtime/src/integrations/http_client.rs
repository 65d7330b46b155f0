//! A CLIENT span for every outgoing HTTP request, as a tower layer for
//! hyper-util's client or any tower HTTP client stack.
//!
//! The span, named after the method (`GET`), is a child of the current
//! context; its context is written into the request headers, so the server
//! continues the same trace. It ends when the response head arrives.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use tower::{Service, ServiceBuilder, ServiceExt};
//! use traced::integrations::HttpClientLayer;
//!
//! let hyper_client = hyper_util::client::legacy::Client::builder(
//!     hyper_util::rt::TokioExecutor::new(),
//! )
//! .build_http::<String>();
//! let mut client = ServiceBuilder::new().layer(HttpClientLayer::new()).service(hyper_client);
//!
//! let request = http::Request::get("http://127.0.0.1:3000/users/7").body(String::new())?;
//! let response = client.ready().await?.call(request).await?;
//! # Ok(()) }
//! ```
//!
//! Attributes: `http.request.method`, `url.full`, `server.address`,
//! `server.port`, `http.response.status_code`, `network.protocol.version`,
//! and `error.type` on failures. `url.full` never carries credentials:
//! userinfo becomes `REDACTED:REDACTED`, as the semantic conventions ask, and
//! the values of credential query parameters become `REDACTED` (compared
//! without regard to case: the conventions' `AWSAccessKeyId`, `Signature`,
//! `sig`, `X-Goog-Signature`, and `X-Amz-Signature`, `X-Amz-Credential`,
//! `X-Amz-Security-Token`, `access_token`, `refresh_token`, `id_token`,
//! `token`, `api_key`, `api-key`, `apikey`, `key`, `client_secret`,
//! `password`, `passwd`, `secret`, `auth`); other query parameters are kept,
//! since they identify the resource. Status is Error when the request fails
//! (connection refused, timeout) or the answer is a 4xx or 5xx, as the
//! semantic conventions ask of client spans.
//!
//! # Baggage
//!
//! By default every request carries the caller's baggage, as it carries the
//! trace context. Baggage often holds tenant or user ids: to keep it inside
//! your own services, name the hosts that may have it with
//! [`HttpClientLayer::baggage_only_to`]; other hosts still receive the trace
//! context, without the baggage.

use super::open_span::OpenSpan;
use std::fmt::Display;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use opentelemetry::trace::{SpanBuilder, SpanKind, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use super::baggage_hosts::BaggageHosts;
use super::semconv;
use crate::propagation;

/// Layer that gives every outgoing request a CLIENT span and propagates its
/// context; see the [module docs](self).
#[derive(Clone, Debug, Default)]
pub struct HttpClientLayer {
    baggage: BaggageHosts,
}

impl HttpClientLayer {
    /// The layer.
    pub fn new() -> Self {
        HttpClientLayer::default()
    }

    /// Sends baggage only to these hosts: exact names or addresses, or a
    /// domain with a leading dot (`.internal.example.com`) for every host
    /// under it. Other hosts receive the trace context without baggage. By
    /// default every host receives it.
    ///
    /// ```
    /// let layer = traced::integrations::HttpClientLayer::new()
    ///     .baggage_only_to(["orders", ".svc.cluster.local"]);
    /// # let _ = layer;
    /// ```
    pub fn baggage_only_to<I, S>(mut self, hosts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.baggage = BaggageHosts::only(hosts);
        self
    }
}

impl<S> Layer<S> for HttpClientLayer {
    type Service = HttpClientService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpClientService {
            inner,
            baggage: self.baggage.clone(),
        }
    }
}

/// The service [`HttpClientLayer`] wraps around a client.
#[derive(Clone, Debug)]
pub struct HttpClientService<S> {
    inner: S,
    baggage: BaggageHosts,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for HttpClientService<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Error: Display,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<ReqBody>) -> Self::Future {
        let cx = start_span(&request);
        let host = request_host(&request);
        let outgoing = self.baggage.outgoing(&cx, host.as_deref());
        propagation::inject_context(&outgoing, request.headers_mut());
        let inner = {
            let _attached = cx.clone().attach();
            self.inner.call(request)
        };
        ResponseFuture {
            inner,
            span: OpenSpan::new(cx),
        }
    }
}

pin_project! {
    /// The response future of [`HttpClientService`].
    #[derive(Debug)]
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        span: OpenSpan,
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<http::Response<ResBody>, E>>,
    E: Display,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let polled = {
            let _attached = this.span.context().map(|cx| cx.clone().attach());
            this.inner.poll(task)
        };
        let Poll::Ready(output) = polled else {
            return Poll::Pending;
        };
        if let Some(cx) = this.span.take() {
            let span = cx.span();
            match &output {
                Ok(response) => {
                    semconv::record_client_response(&span, response.status(), response.version())
                }
                Err(error) => {
                    semconv::record_error(&span, std::any::type_name::<E>(), error.to_string())
                }
            }
            span.end();
        }
        Poll::Ready(output)
    }
}

/// The host the request goes to, from its URI or its `Host` header.
fn request_host<B>(request: &http::Request<B>) -> Option<String> {
    if let Some(host) = request.uri().host() {
        return Some(host.to_owned());
    }
    let host = request.headers().get(http::header::HOST)?.to_str().ok()?;
    semconv::host_and_port(host).map(|(host, _)| host)
}

fn start_span<B>(request: &http::Request<B>) -> Context {
    let mut attributes = Vec::with_capacity(6);
    semconv::method_attributes(request.method(), &mut attributes);
    let uri = request.uri();
    if let Some(url) = semconv::full_url(uri) {
        attributes.push(KeyValue::new("url.full", url));
    }
    let authority = uri
        .authority()
        .map(|authority| authority.as_str())
        .or_else(|| {
            request
                .headers()
                .get(http::header::HOST)
                .and_then(|host| host.to_str().ok())
        });
    if let Some((host, port)) = authority.and_then(semconv::host_and_port) {
        attributes.push(KeyValue::new("server.address", host));
        if let Some(port) =
            port.or_else(|| semconv::default_port(uri.scheme_str().unwrap_or("http")))
        {
            attributes.push(KeyValue::new("server.port", i64::from(port)));
        }
    }
    let builder = SpanBuilder::from_name(semconv::span_method(request.method()))
        .with_kind(SpanKind::Client)
        .with_attributes(attributes);
    let parent = Context::current();
    let span = semconv::tracer().build_with_context(builder, &parent);
    parent.with_span(span)
}
