//! One request through a server layer or the gRPC client layer, from the call
//! of the service to the last frame of the response body: an HTTP server
//! span has all but its end from the response head; a gRPC call may still
//! learn its status from the trailers; a skipped request records nothing.

use std::any::Any;
use std::fmt::Display;

use opentelemetry::trace::TraceContextExt;
use opentelemetry::{Context, KeyValue};

#[cfg(feature = "grpc")]
use super::grpc_call::GrpcCall;
use super::in_flight::Call;

/// A request and its response, with the span they end.
#[derive(Debug)]
pub(crate) enum Exchange {
    /// An HTTP server span.
    Http(HttpSpan),
    /// A gRPC call, whose status may still come in the trailers.
    #[cfg(feature = "grpc")]
    Grpc(GrpcCall),
    /// A request the layer skips: no span; the service and the body run in
    /// this context, where tracing is suppressed.
    Skipped(Context),
}

/// An HTTP server span, and what tells a response cut off from one sent
/// whole.
#[derive(Debug)]
pub(crate) struct HttpSpan {
    cx: Context,
    /// A HEAD request: its response has no body.
    head_request: bool,
    /// A CONNECT request: a successful response has no body (a tunnel).
    connect_request: bool,
    /// The response has no body, or it has been sent to its end.
    body_done: bool,
}

impl Exchange {
    /// The exchange of an HTTP request with the `method`, whose server span
    /// is that of `cx`.
    pub(crate) fn http(cx: Context, method: &http::Method) -> Self {
        Exchange::Http(HttpSpan {
            cx,
            head_request: method == http::Method::HEAD,
            connect_request: method == http::Method::CONNECT,
            body_done: false,
        })
    }

    /// The response head arrived.
    pub(crate) fn head<B>(&mut self, response: &http::Response<B>) {
        match self {
            Exchange::Http(http) => {
                let span = http.cx.span();
                let status = response.status();
                // What HTTP sends without a body, whatever the service's
                // response holds.
                http.body_done = http.head_request
                    || status.is_informational()
                    || status == http::StatusCode::NO_CONTENT
                    || status == http::StatusCode::NOT_MODIFIED
                    || http.connect_request && status.is_success();
                span.set_attribute(KeyValue::new(
                    "http.response.status_code",
                    i64::from(status.as_u16()),
                ));
                // 4xx are the client's failures (the conventions for servers).
                if status.is_server_error() {
                    let error_type = status.as_str().to_owned();
                    crate::span_error::record(&span, error_type, status.to_string(), None);
                }
            }
            #[cfg(feature = "grpc")]
            Exchange::Grpc(call) => call.head(response),
            Exchange::Skipped(_) => {}
        }
    }

    /// The service failed with `error` instead of answering.
    pub(crate) fn service_failed<E: Display>(self, error: &E) {
        match self {
            Exchange::Http(http) => {
                let span = http.cx.span();
                crate::span_error::record(&span, "service", error.to_string(), None);
                span.end();
            }
            #[cfg(feature = "grpc")]
            Exchange::Grpc(call) => call.failed(std::any::type_name::<E>(), error.to_string()),
            Exchange::Skipped(_) => {}
        }
    }

    /// Trailers of the response body: its last frame.
    pub(crate) fn trailers(&mut self, trailers: &http::HeaderMap) {
        match self {
            Exchange::Http(http) => http.body_done = true,
            #[cfg(feature = "grpc")]
            Exchange::Grpc(call) => call.trailers(trailers),
            Exchange::Skipped(_) => {}
        }
        let _ = trailers;
    }

    /// The body's last frame was sent.
    pub(crate) fn finished(self) {
        match self {
            Exchange::Http(http) => http.cx.span().end(),
            #[cfg(feature = "grpc")]
            Exchange::Grpc(call) => call.finished(),
            Exchange::Skipped(_) => {}
        }
    }

    /// The body failed with `message`.
    pub(crate) fn body_failed(self, message: String) {
        if !matches!(self, Exchange::Skipped(_)) {
            crate::span_error::record(&self.context().span(), "body", message, None);
        }
        self.finished();
    }

    /// The body was dropped before its end was polled: `at_end` when all
    /// of it was sent all the same (the server stops asking once a body says
    /// it is at its end). Otherwise the client went away midway: the
    /// response was cut off.
    pub(crate) fn body_dropped(self, at_end: bool) {
        match self {
            Exchange::Http(http) if at_end || http.body_done => http.cx.span().end(),
            Exchange::Http(http) => super::in_flight::end_cancelled(&http.cx),
            #[cfg(feature = "grpc")]
            Exchange::Grpc(call) => call.abandoned(),
            Exchange::Skipped(_) => {}
        }
    }
}

impl Call for Exchange {
    fn context(&self) -> &Context {
        match self {
            Exchange::Http(http) => &http.cx,
            #[cfg(feature = "grpc")]
            Exchange::Grpc(call) => call.context(),
            Exchange::Skipped(cx) => cx,
        }
    }

    fn panicked(self, payload: &(dyn Any + Send)) {
        match self {
            Exchange::Http(http) => super::in_flight::end_panicked(&http.cx, payload),
            #[cfg(feature = "grpc")]
            Exchange::Grpc(call) => call.panicked(payload),
            Exchange::Skipped(_) => {}
        }
    }

    fn abandoned(self) {
        match self {
            Exchange::Http(http) => super::in_flight::end_cancelled(&http.cx),
            #[cfg(feature = "grpc")]
            Exchange::Grpc(call) => call.abandoned(),
            Exchange::Skipped(_) => {}
        }
    }
}
