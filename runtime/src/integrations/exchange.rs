//! One request a server layer or the gRPC client layer traces, from the call
//! of the service to the last frame of the response body: an HTTP server
//! span has all but its end from the response head; a gRPC call may still
//! learn its status from the trailers.

use std::any::Any;
use std::fmt::Display;

use opentelemetry::Context;
use opentelemetry::KeyValue;
use opentelemetry::trace::TraceContextExt;

#[cfg(feature = "grpc")]
use super::grpc_call::GrpcCall;
use super::in_flight::Call;

/// A request and its response, with the span they end.
#[derive(Debug)]
pub(crate) enum Exchange {
    /// An HTTP server span.
    Http(Context),
    /// A gRPC call, whose status may still come in the trailers.
    #[cfg(feature = "grpc")]
    Grpc(GrpcCall),
}

impl Exchange {
    /// The response head arrived.
    pub(crate) fn head<B>(&mut self, response: &http::Response<B>) {
        match self {
            Exchange::Http(cx) => {
                let span = cx.span();
                let status = response.status();
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
        }
    }

    /// The service failed with `error` instead of answering.
    pub(crate) fn service_failed<E: Display>(self, error: &E) {
        match self {
            Exchange::Http(cx) => {
                crate::span_error::record(&cx.span(), "service", error.to_string(), None);
                cx.span().end();
            }
            #[cfg(feature = "grpc")]
            Exchange::Grpc(call) => call.failed(std::any::type_name::<E>(), error.to_string()),
        }
    }

    /// Trailers of the response body.
    pub(crate) fn trailers(&mut self, trailers: &http::HeaderMap) {
        match self {
            Exchange::Http(_) => {}
            #[cfg(feature = "grpc")]
            Exchange::Grpc(call) => call.trailers(trailers),
        }
        let _ = trailers;
    }

    /// The body's last frame was sent.
    pub(crate) fn finished(self) {
        match self {
            Exchange::Http(cx) => cx.span().end(),
            #[cfg(feature = "grpc")]
            Exchange::Grpc(call) => call.finished(),
        }
    }

    /// The body failed with `message`.
    pub(crate) fn body_failed(self, message: String) {
        crate::span_error::record(&self.context().span(), "body", message, None);
        self.finished();
    }

    /// The body was dropped before its last frame.
    pub(crate) fn body_dropped(self) {
        match self {
            Exchange::Http(cx) => cx.span().end(),
            #[cfg(feature = "grpc")]
            Exchange::Grpc(call) => call.abandoned(),
        }
    }
}

impl Call for Exchange {
    fn context(&self) -> &Context {
        match self {
            Exchange::Http(cx) => cx,
            #[cfg(feature = "grpc")]
            Exchange::Grpc(call) => call.context(),
        }
    }

    fn panicked(self, payload: &(dyn Any + Send)) {
        match self {
            Exchange::Http(cx) => super::in_flight::end_panicked(&cx, payload),
            #[cfg(feature = "grpc")]
            Exchange::Grpc(call) => call.panicked(payload),
        }
    }

    fn abandoned(self) {
        match self {
            Exchange::Http(cx) => super::in_flight::end_cancelled(&cx),
            #[cfg(feature = "grpc")]
            Exchange::Grpc(call) => call.abandoned(),
        }
    }
}
