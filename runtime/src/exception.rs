//! How a panic is recorded on a span, by traced functions and the
//! integrations alike.

use std::any::Any;

use opentelemetry::KeyValue;
use opentelemetry::trace::{SpanRef, Status};

use crate::logs::{Exception, PanicException, record_exception};

/// A panic unwinding through `span`: status Error and `error.type = "panic"`,
/// and the exception as a span event, a log record or both (per the
/// exception signal); with the payload at hand (where the panic was caught),
/// its message is the description and `exception.message`.
pub(crate) fn record_panic(span: &SpanRef<'_>, payload: Option<&(dyn Any + Send)>) {
    span.set_attribute(KeyValue::new("error.type", "panic"));
    let panic = payload.map(PanicException::of);
    let exception = match &panic {
        Some(panic) => panic.exception(),
        None => Exception {
            type_name: "panic",
            message: "panic",
            stacktrace: None,
        },
    };
    if record_exception(span.span_context(), &exception) {
        span.add_event("exception", exception.attributes());
    }
    span.set_status(Status::error(exception.message.to_owned()));
}
