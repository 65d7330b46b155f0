//! Shared helpers for the behaviour tests of `traced`.

pub mod alloc;
pub mod collector;

use traced::opentelemetry::trace::{Event, Status};
use traced::opentelemetry::{KeyValue, Value};
use traced::testing::FinishedSpan;

/// The value of attribute `key` on `span`.
pub fn attribute<'a>(span: &'a FinishedSpan, key: &str) -> Option<&'a Value> {
    find(&span.attributes, key)
}

/// The value of attribute `key` among `attributes`.
pub fn find<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

/// The events of `span` named `name`.
pub fn events<'a>(span: &'a FinishedSpan, name: &str) -> Vec<&'a Event> {
    span.events.iter().filter(|e| e.name == name).collect()
}

/// The status description of an errored span; panics on any other status.
pub fn error_message(span: &FinishedSpan) -> &str {
    match &span.status {
        Status::Error { description } => description,
        other => panic!("span {:?} has status {other:?}, not Error", span.name),
    }
}

/// A string attribute's text; panics when missing or not a string.
pub fn text<'a>(span: &'a FinishedSpan, key: &str) -> &'a str {
    match attribute(span, key) {
        Some(Value::String(s)) => s.as_str(),
        other => panic!(
            "attribute {key:?} of span {:?} is {other:?}, not a string",
            span.name
        ),
    }
}
