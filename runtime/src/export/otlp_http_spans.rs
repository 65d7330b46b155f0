//! Spans over OTLP/HTTP, encoded by traced itself ([`SpanBatch`]) and
//! posted with the same client, headers and TLS as the other signals.
//!
//! A batch is encoded on the export thread as its spans are released, and
//! compressed, when asked, where its export starts, on the same thread. The
//! OTLP runtime only sends the bytes. Requests are retried as opentelemetry-otlp retries
//! them (a failed connection, 429, 502, 503 and 504: [`with_retries`]);
//! the messages of a failure are opentelemetry-otlp's too.

use std::io::Write as _;
use std::time::Duration;

use opentelemetry_http::{Bytes, HttpClient, Request};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};

use super::otlp_retry::{Failure, Retry, with_retries};
#[cfg(doc)]
use super::span_protobuf::SpanBatch;

/// A span exporter's HTTP half: compressing and sending.
#[derive(Debug)]
pub(crate) struct HttpSpans<C> {
    client: C,
    endpoint: http::Uri,
    gzip: bool,
    deadline: Option<Duration>,
}

impl<C: HttpClient> HttpSpans<C> {
    pub(crate) fn new(
        client: C,
        endpoint: &str,
        gzip: bool,
        deadline: Option<Duration>,
    ) -> Result<HttpSpans<C>, String> {
        let endpoint = endpoint
            .parse()
            .map_err(|error| format!("the endpoint {endpoint}: {error}"))?;
        Ok(HttpSpans {
            client,
            endpoint,
            gzip,
            deadline,
        })
    }

    /// The request body for an encoded request: gzipped when asked.
    pub(crate) fn body(&self, encoded: Bytes) -> Result<Bytes, OTelSdkError> {
        if !self.gzip {
            return Ok(encoded);
        }
        let mut gzip = flate2::write::GzEncoder::new(
            Vec::with_capacity(encoded.len() / 4),
            flate2::Compression::default(),
        );
        gzip.write_all(&encoded)
            .and_then(|()| gzip.finish())
            .map(Bytes::from)
            .map_err(|error| OTelSdkError::InternalFailure(format!("compressing: {error}")))
    }

    /// Posts `body`, retrying what may succeed later.
    pub(crate) async fn send(&self, body: Bytes) -> OTelSdkResult {
        with_retries(self.deadline, || self.post(body.clone())).await
    }

    async fn post(&self, body: Bytes) -> Result<(), Failure> {
        let mut request = Request::new(body);
        *request.method_mut() = http::Method::POST;
        *request.uri_mut() = self.endpoint.clone();
        let headers = request.headers_mut();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/x-protobuf"),
        );
        if self.gzip {
            headers.insert(
                http::header::CONTENT_ENCODING,
                http::HeaderValue::from_static("gzip"),
            );
        }
        let response = self.client.send_bytes(request).await.map_err(|_| Failure {
            message: "HTTP export failed: network error".to_owned(),
            retry: Retry::Backoff,
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let retry_after = response
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let retry = match status.as_u16() {
            429 | 503 => retry_after.map_or(Retry::Backoff, Retry::After),
            502 | 504 => Retry::Backoff,
            _ => Retry::No,
        };
        Err(Failure {
            message: format!("HTTP export failed with status code: {}", status.as_u16()),
            retry,
        })
    }
}
