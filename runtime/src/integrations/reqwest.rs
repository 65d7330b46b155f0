//! A CLIENT span for every request a reqwest client sends, through
//! [`reqwest-middleware`](https://docs.rs/reqwest-middleware).
//!
//! ```
//! use reqwest_middleware::ClientBuilder;
//! use traced::integrations::TracingMiddleware;
//!
//! let client = ClientBuilder::new(reqwest::Client::new())
//!     .with(TracingMiddleware::new())
//!     .build();
//! // client.get("http://127.0.0.1:3000/users/7").send().await?
//! # let _ = client;
//! ```
//!
//! The span, named after the method, is a child of the current context and
//! its context goes out in the request headers. It ends when the response
#![cfg_attr(
    feature = "tower",
    doc = "head arrives. Attributes and status follow the [HTTP client layer](super::http_client):"
)]
#![cfg_attr(
    not(feature = "tower"),
    doc = "head arrives. Attributes and status follow the HTTP client layer (feature `tower`):"
)]
//! `http.request.method`, `url.full`
//! (credentials and credential query values redacted), `server.address`,
//! `server.port`, `http.response.status_code`, `network.protocol.version`,
//! and `error.type` with status Error for connection failures, timeouts and
//! 4xx and 5xx answers. Baggage goes to every host unless
//! [`TracingMiddleware::baggage_only_to`] names the ones that may have it. A
//! request dropped before its response head (a timeout around `send`) ends
//! its span with an event `cancelled` and `error.type = "cancelled"`.
//! `url.full`, the method and the host are cut to 2 KiB
//! ([`TracingMiddleware::max_attribute_bytes`]).

use opentelemetry::KeyValue;
use opentelemetry::trace::{SpanBuilder, SpanKind};
use reqwest_middleware::{Middleware, Next};

use super::client_call::ClientCall;
use super::in_flight::{Answer, InFlight};
use super::options::{ClientOptions, client_options};
use super::request_span;
use super::semconv;
use super::value_cap::ValueCap;

/// Middleware for `reqwest_middleware::ClientBuilder::with`; see the
/// [module docs](self).
#[derive(Clone, Debug, Default)]
pub struct TracingMiddleware {
    options: ClientOptions,
}

impl TracingMiddleware {
    /// The middleware.
    pub fn new() -> Self {
        TracingMiddleware::default()
    }

    client_options!(TracingMiddleware);
}

#[async_trait::async_trait]
impl Middleware for TracingMiddleware {
    async fn handle(
        &self,
        mut request: reqwest::Request,
        extensions: &mut http::Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let host = request.url().host_str().map(str::to_owned);
        let cx = request_span::start_client(
            span_builder(&request, self.options.cap),
            &self.options.baggage,
            host.as_deref(),
            request.headers_mut(),
        );
        InFlight::call(ClientCall::new(cx), || next.run(request, extensions)).await
    }
}

impl Answer<reqwest_middleware::Result<reqwest::Response>> for ClientCall {
    type Output = reqwest_middleware::Result<reqwest::Response>;

    fn answered(self, answer: Self::Output) -> Self::Output {
        match &answer {
            Ok(response) => self.responded(response.status(), response.version()),
            Err(error) => self.failed(error_type(error), error.to_string()),
        }
        answer
    }
}

fn error_type(error: &reqwest_middleware::Error) -> &'static str {
    match error {
        reqwest_middleware::Error::Middleware(_) => "middleware",
        reqwest_middleware::Error::Reqwest(error) if error.is_timeout() => "timeout",
        reqwest_middleware::Error::Reqwest(error) if error.is_connect() => "connect",
        reqwest_middleware::Error::Reqwest(error) if error.is_redirect() => "redirect",
        reqwest_middleware::Error::Reqwest(error) if error.is_body() => "body",
        reqwest_middleware::Error::Reqwest(error) if error.is_decode() => "decode",
        reqwest_middleware::Error::Reqwest(_) => "request",
    }
}

/// The span of `request`, each value taken from the request cut to `cap`.
fn span_builder(request: &reqwest::Request, cap: ValueCap) -> SpanBuilder {
    let url = request.url();
    let mut attributes = Vec::with_capacity(6);
    semconv::method_attributes(request.method(), cap, &mut attributes);
    attributes.push(KeyValue::new("url.full", cap.string(full_url(url))));
    if let Some(host) = url.host_str() {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        attributes.push(KeyValue::new("server.address", cap.str(host)));
    }
    if let Some(port) = url.port_or_known_default() {
        attributes.push(KeyValue::new("server.port", i64::from(port)));
    }
    SpanBuilder::from_name(semconv::span_method(request.method()))
        .with_kind(SpanKind::Client)
        .with_attributes(attributes)
}

/// `url.full` without credentials: userinfo redacted, the fragment (never
/// sent) dropped, signature query values redacted.
fn full_url(url: &reqwest::Url) -> String {
    let mut url = url.clone();
    url.set_fragment(None);
    if !url.username().is_empty() || url.password().is_some() {
        // Only fails for URLs that cannot carry credentials, which then have none.
        let _ = url.set_username("REDACTED");
        let _ = url.set_password(Some("REDACTED"));
    }
    if let Some(query) = url.query()
        && let std::borrow::Cow::Owned(redacted) = semconv::redact_query(query)
    {
        url.set_query(Some(&redacted));
    }
    url.into()
}

#[cfg(test)]
mod tests {
    use super::full_url;

    #[test]
    fn credentials_and_signatures_never_reach_url_full() {
        let url =
            reqwest::Url::parse("http://alice:secret@example.com:8080/a?sig=x&page=2#top").unwrap();
        assert_eq!(
            full_url(&url),
            "http://REDACTED:REDACTED@example.com:8080/a?sig=REDACTED&page=2"
        );
        let plain = reqwest::Url::parse("https://example.com/a?page=2").unwrap();
        assert_eq!(full_url(&plain), "https://example.com/a?page=2");
    }
}
