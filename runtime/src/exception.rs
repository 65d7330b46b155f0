//! How a panic is recorded on a span, by traced functions and the
//! integrations alike.

use std::any::Any;

use opentelemetry::KeyValue;
use opentelemetry::trace::{SpanRef, Status};

/// A panic unwinding through `span`: status Error, an `exception` event and
/// `error.type = "panic"`; with the payload at hand (where the panic was
/// caught), its message is the description and `exception.message`.
pub(crate) fn record_panic(span: &SpanRef<'_>, payload: Option<&(dyn Any + Send)>) {
    span.set_attribute(KeyValue::new("error.type", "panic"));
    let mut event = vec![KeyValue::new("exception.type", "panic")];
    let description = match payload.map(panic_message) {
        Some(message) => {
            event.push(KeyValue::new("exception.message", message.clone()));
            message
        }
        None => "panic".to_owned(),
    };
    span.add_event("exception", event);
    span.set_status(Status::error(description));
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
