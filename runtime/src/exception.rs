//! How a panic is recorded on a span, by traced functions and the
//! integrations alike.

use std::any::Any;

use opentelemetry::KeyValue;
use opentelemetry::trace::{SpanRef, Status};

/// A panic unwinding through `span`: status Error with the panic message,
/// an `exception` event and `error.type = "panic"`.
pub(crate) fn record_panic(span: &SpanRef<'_>, payload: &(dyn Any + Send)) {
    let message = panic_message(payload);
    span.set_attribute(KeyValue::new("error.type", "panic"));
    span.add_event(
        "exception",
        vec![
            KeyValue::new("exception.type", "panic"),
            KeyValue::new("exception.message", message.clone()),
        ],
    );
    span.set_status(Status::error(message));
}

/// The message of a `panic!`: its text for the usual payloads.
fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(message) = payload.downcast_ref::<&'static str>() {
        (*message).to_owned()
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else {
        "Box<dyn Any>".to_owned()
    }
}
