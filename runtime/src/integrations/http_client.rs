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
//! semantic conventions ask of client spans. A request dropped before its
//! response head (the caller stopped waiting) ends its span with an event
//! `cancelled` and `error.type = "cancelled"`. `url.full`, the method and the
//! host are cut to 2 KiB ([`HttpClientLayer::max_attribute_bytes`]), so a
//! URL built from what a caller sent cannot make the span large.
//!
//! # Baggage
//!
//! By default every request carries the caller's baggage, as it carries the
//! trace context. Baggage often holds tenant or user ids: to keep it inside
//! your own services, name the hosts that may have it with
//! [`HttpClientLayer::baggage_only_to`]; other hosts still receive the trace
//! context, without the baggage.

use std::fmt::Display;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use opentelemetry::KeyValue;
use opentelemetry::trace::{SpanBuilder, SpanKind};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use super::client_call::ClientCall;
use super::in_flight::{Answer, InFlight};
use super::options::{ClientOptions, client_options};
use super::request_span;
use super::semconv::{self, Authority};
use super::value_cap::ValueCap;

/// Layer that gives every outgoing request a CLIENT span and propagates its
/// context; see the [module docs](self).
#[derive(Clone, Debug, Default)]
pub struct HttpClientLayer {
    options: ClientOptions,
}

impl HttpClientLayer {
    /// The layer.
    pub fn new() -> Self {
        HttpClientLayer::default()
    }

    client_options!(HttpClientLayer);
}

impl<S> Layer<S> for HttpClientLayer {
    type Service = HttpClientService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpClientService {
            inner,
            options: self.options.clone(),
        }
    }
}

/// The service [`HttpClientLayer`] wraps around a client.
#[derive(Clone, Debug)]
pub struct HttpClientService<S> {
    inner: S,
    options: ClientOptions,
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
        let server = Authority::of_request(request.uri(), request.headers());
        let builder = span_builder(&request, server.clone(), self.options.cap);
        let cx = request_span::start_client(
            builder,
            &self.options.baggage,
            server.as_ref().map(|server| server.host.as_str()),
            request.headers_mut(),
        );
        ResponseFuture {
            inner: InFlight::call(ClientCall::new(cx), || self.inner.call(request)),
        }
    }
}

pin_project! {
    /// The response future of [`HttpClientService`].
    #[derive(Debug)]
    pub struct ResponseFuture<F> {
        #[pin]
        inner: InFlight<F, ClientCall>,
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<http::Response<ResBody>, E>>,
    E: Display,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<Self::Output> {
        self.project().inner.poll(task)
    }
}

impl<ResBody, E: Display> Answer<Result<http::Response<ResBody>, E>> for ClientCall {
    type Output = Result<http::Response<ResBody>, E>;

    fn answered(self, answer: Self::Output) -> Self::Output {
        match &answer {
            Ok(response) => self.responded(response.status(), response.version()),
            Err(error) => self.failed(std::any::type_name::<E>(), error.to_string()),
        }
        answer
    }
}

/// The span of `request`, each value taken from the request cut to `cap`.
fn span_builder<B>(
    request: &http::Request<B>,
    server: Option<Authority>,
    cap: ValueCap,
) -> SpanBuilder {
    let mut attributes = Vec::with_capacity(6);
    semconv::method_attributes(request.method(), cap, &mut attributes);
    if let Some(url) = semconv::full_url(request.uri()) {
        attributes.push(KeyValue::new("url.full", cap.string(url)));
    }
    if let Some(server) = server {
        server.push(cap, &mut attributes);
    }
    SpanBuilder::from_name(semconv::span_method(request.method()))
        .with_kind(SpanKind::Client)
        .with_attributes(attributes)
}
