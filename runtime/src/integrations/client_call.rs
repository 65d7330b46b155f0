//! The end of an outgoing request's CLIENT span, for the tower client layer
//! and the reqwest middleware alike: the response head, or the error that
//! came instead.

use opentelemetry::trace::TraceContextExt;
use opentelemetry::{Context, Value};

use super::in_flight::Call;
use super::semconv;

/// An outgoing request awaiting its response head.
#[derive(Debug)]
pub(crate) struct ClientCall(Context);

impl ClientCall {
    pub(crate) fn new(cx: Context) -> Self {
        ClientCall(cx)
    }

    /// The response head arrived: its status code and protocol version; a
    /// 4xx or 5xx fails the span.
    pub(crate) fn responded(self, status: http::StatusCode, version: http::Version) {
        let span = self.0.span();
        semconv::record_client_response(&span, status, version);
        span.end();
    }

    /// The request failed before any response (refused, timed out).
    pub(crate) fn failed(self, error_type: impl Into<Value>, message: String) {
        let span = self.0.span();
        crate::span_error::record(&span, error_type, message, None);
        span.end();
    }
}

impl Call for ClientCall {
    fn context(&self) -> &Context {
        &self.0
    }
}
