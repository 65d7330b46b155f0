//! One gRPC call's outcome, gathered from the response head, the trailers
//! and the end of the response stream, and recorded on its span when the
//! stream ends.

use opentelemetry::trace::TraceContextExt;
use opentelemetry::{Context, KeyValue};
use tonic::Code;

use super::in_flight::{self, Call};

/// Which end of a call a span stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
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

/// The name of a span whose method the server does not have, or whose path
/// is not `/package.Service/Method`.
pub(crate) const UNKNOWN_METHOD: &str = "grpc";
/// `rpc.service` and `rpc.method` of such a call.
pub(crate) const OTHER: &str = "_OTHER";

/// One call in flight: what is known of its outcome until the response
/// stream ends.
#[derive(Debug)]
pub(crate) struct GrpcCall {
    cx: Context,
    side: Side,
    status: Option<tonic::Status>,
    /// A server span's `rpc.service` and `rpc.method`, recorded once it is
    /// known whether the server has that method.
    names: Option<(String, String)>,
}

impl GrpcCall {
    /// A client call; its span has its names already.
    pub(crate) fn client(cx: Context) -> Self {
        GrpcCall {
            cx,
            side: Side::Client,
            status: None,
            names: None,
        }
    }

    /// A server call for the method `names` (`rpc.service`, `rpc.method`)
    /// as the request path gives them.
    pub(crate) fn server(cx: Context, names: (String, String)) -> Self {
        GrpcCall {
            cx,
            side: Side::Server,
            status: None,
            names: Some(names),
        }
    }

    /// A trailers-only response carries its status in the headers; a
    /// response that is not HTTP 200 maps to a code as the gRPC spec says.
    pub(crate) fn head<B>(&mut self, response: &http::Response<B>) {
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

    /// The service failed before answering: the span ends with its error.
    pub(crate) fn failed(mut self, error_type: &'static str, message: String) {
        self.name_the_method(true);
        let span = self.cx.span();
        crate::span_error::record(&span, error_type, message, None);
        span.end();
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

    /// Trailers of the response stream: the status, when they carry one.
    pub(crate) fn trailers(&mut self, trailers: &http::HeaderMap) {
        if let Some(status) = tonic::Status::from_header_map(trailers) {
            self.status = Some(status);
        }
    }

    /// The response stream ended: the status it ended with.
    pub(crate) fn finished(mut self) {
        self.name_the_method(true);
        let status = self
            .status
            .unwrap_or_else(|| tonic::Status::unknown("response ended without grpc-status"));
        let span = self.cx.span();
        let code = status.code();
        span.set_attribute(KeyValue::new("rpc.grpc.status_code", code as i64));
        if self.side.is_error(code) {
            crate::span_error::record(&span, code_name(code), status.message().to_owned(), None);
        }
        span.end();
    }
}

impl Call for GrpcCall {
    fn context(&self) -> &Context {
        &self.cx
    }

    fn panicked(mut self, payload: &(dyn std::any::Any + Send)) {
        self.name_the_method(true);
        in_flight::end_panicked(&self.cx, payload);
    }

    /// Abandoned before its end: with a status already known (a
    /// trailers-only answer) the call is over; else it was cancelled.
    fn abandoned(mut self) {
        if self.status.is_some() {
            return self.finished();
        }
        self.name_the_method(true);
        in_flight::end_cancelled(&self.cx);
    }
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
    fn server_errors_are_the_servers_fault_only() {
        assert!(Side::Server.is_error(Code::Internal));
        assert!(!Side::Server.is_error(Code::NotFound));
        assert!(!Side::Server.is_error(Code::InvalidArgument));
        assert!(Side::Client.is_error(Code::NotFound));
        assert!(!Side::Client.is_error(Code::Ok));
    }
}
