//! Spans over OTLP/HTTP, encoded by traced itself ([`TraceRequestEncoder`])
//! and posted with the same client, headers and TLS as the other signals.
//!
//! A batch is encoded (and compressed, when asked) where the export starts:
//! on the export thread, which made the batch and frees it. The OTLP runtime
//! only sends the bytes. Requests are retried as opentelemetry-otlp retries
//! them (a failed connection, 429, 502, 503 and 504, at most three times,
//! backing off from 100 ms to 1.6 s or as long as `Retry-After` asks), within
//! the export's deadline; the messages of a failure are opentelemetry-otlp's
//! too.

use std::io::Write as _;
use std::time::{Duration, Instant};

use opentelemetry_http::{Bytes, HttpClient, Request};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::SpanData;

use super::span_protobuf::TraceRequestEncoder;
use crate::sync::MutexExt;

/// Retries after the first attempt.
const MAX_RETRIES: usize = 3;
const FIRST_DELAY: Duration = Duration::from_millis(100);
const MAX_DELAY: Duration = Duration::from_millis(1600);
const MAX_JITTER_MS: u64 = 100;
/// The longest `Retry-After` honoured.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(600);

/// A span exporter's HTTP half: encoding and sending.
#[derive(Debug)]
pub(crate) struct HttpSpans<C> {
    client: C,
    endpoint: http::Uri,
    gzip: bool,
    deadline: Option<Duration>,
    encoder: std::sync::Mutex<TraceRequestEncoder>,
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
            encoder: std::sync::Mutex::default(),
        })
    }

    pub(crate) fn set_resource(&mut self, resource: &Resource) {
        self.encoder.locked().set_resource(resource);
    }

    /// The request body for `batch`: protobuf, gzipped when asked.
    pub(crate) fn body(&self, batch: &[SpanData]) -> Result<Bytes, OTelSdkError> {
        let encoded = self.encoder.locked().encode(batch);
        if !self.gzip {
            return Ok(Bytes::from(encoded));
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
        let started = Instant::now();
        let mut delay = FIRST_DELAY;
        let mut cap = MAX_DELAY;
        for attempt in 0.. {
            let failure = match self.post(body.clone()).await {
                Ok(()) => return Ok(()),
                Err(failure) => failure,
            };
            let wait = match failure.retry {
                Retry::No => None,
                Retry::After(asked) => {
                    let asked = asked.min(MAX_RETRY_AFTER);
                    cap = cap.max(asked);
                    Some(asked)
                }
                Retry::Backoff => Some((delay + jitter()).min(cap)),
            };
            let remaining = self.deadline.map_or(Duration::MAX, |deadline| {
                deadline.saturating_sub(started.elapsed())
            });
            match wait {
                Some(wait) if attempt < MAX_RETRIES && wait < remaining => {
                    tokio::time::sleep(wait).await;
                    delay = (delay * 2).min(cap);
                }
                _ => return Err(OTelSdkError::InternalFailure(failure.message)),
            }
        }
        unreachable!("the loop returns")
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

/// A failed attempt, and whether another may succeed.
struct Failure {
    message: String,
    retry: Retry,
}

enum Retry {
    No,
    Backoff,
    After(Duration),
}

/// Up to 100 ms, so that exporters that failed together do not retry
/// together.
fn jitter() -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| u64::from(since.subsec_nanos()));
    Duration::from_millis(nanos % (MAX_JITTER_MS + 1))
}
