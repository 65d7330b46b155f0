//! How a failure is written on a span, the same for a traced function's
//! `Err` or panic, [`current::record_error`](crate::current::record_error)
//! and the integrations: `error.type`, status Error with a description, and,
//! for an error or a panic, the exception where the exception signal says.

use std::any::Any;
use std::borrow::Cow;

use opentelemetry::trace::{SpanRef, Status};
use opentelemetry::{KeyValue, Value};

use crate::logs::{Exception, PanicException, record_exception};

/// The exception behind a failure: its type and, when known, the stack it
/// was raised on. Its message is the failure's description.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Thrown<'a> {
    pub(crate) type_name: &'a str,
    pub(crate) stacktrace: Option<&'a str>,
}

/// Writes a failure on `span`: `error.type`, status Error with
/// `description`, and the exception, if there is one, as an `exception` span
/// event, a log record or both (per the exception signal). An answer that
/// means failure (a 5xx, a gRPC status, a refused connection) throws nothing:
/// `thrown` is `None`.
pub(crate) fn record(
    span: &SpanRef<'_>,
    error_type: impl Into<Value>,
    description: impl Into<Cow<'static, str>>,
    thrown: Option<Thrown<'_>>,
) {
    let description = description.into();
    span.set_attribute(KeyValue::new("error.type", error_type));
    if let Some(thrown) = thrown {
        let exception = Exception {
            type_name: thrown.type_name,
            message: &description,
            stacktrace: thrown.stacktrace,
        };
        if record_exception(span.span_context(), &exception) {
            span.add_event("exception", exception.attributes());
        }
    }
    span.set_status(Status::error(description));
}

/// An error returned or reported: its type is `error.type` and
/// `exception.type`, its message the description.
pub(crate) fn record_error(span: &SpanRef<'_>, type_name: &'static str, message: String) {
    let thrown = Thrown {
        type_name,
        stacktrace: None,
    };
    record(span, type_name, message, Some(thrown));
}

/// A panic unwinding through `span`: `error.type = "panic"`; with the
/// payload at hand (where the panic was caught), its message is the
/// description and `exception.message`, with the stack when one was taken.
pub(crate) fn record_panic(span: &SpanRef<'_>, payload: Option<&(dyn Any + Send)>) {
    const PANIC: &str = "panic";
    let panic = payload.map(PanicException::of);
    let (message, stacktrace) = match &panic {
        Some(panic) => {
            let exception = panic.exception();
            (
                Cow::Owned(exception.message.to_owned()),
                exception.stacktrace,
            )
        }
        None => (Cow::Borrowed(PANIC), None),
    };
    let thrown = Thrown {
        type_name: PANIC,
        stacktrace,
    };
    record(span, PANIC, message, Some(thrown));
}
