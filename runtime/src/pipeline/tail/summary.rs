//! What the spans of a held trace have shown so far, gathered as they arrive:
//! the facts a keep-or-drop verdict is made from.

use std::time::Duration;

use opentelemetry::trace::{SpanId, Status};
use opentelemetry_sdk::trace::SpanData;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Summary {
    /// A span has status Error, for another reason than a panic.
    pub(crate) error: bool,
    /// A span recorded a panic unwinding through it.
    pub(crate) panic: bool,
    /// A span's future was dropped before it completed.
    pub(crate) cancelled: bool,
    /// The longest a local root of the trace lasted, once one has ended.
    pub(crate) longest_root: Option<Duration>,
}

impl Summary {
    pub(crate) fn add(&mut self, span: &SpanData) {
        if matches!(span.status, Status::Error { .. }) {
            if is_panic(span) {
                self.panic = true;
            } else {
                self.error = true;
            }
        }
        if span
            .events
            .iter()
            .any(|event| event.name == CANCELLED_EVENT)
        {
            self.cancelled = true;
        }
        if is_local_root(span) {
            let lasted = span
                .end_time
                .duration_since(span.start_time)
                .unwrap_or_default();
            self.longest_root = Some(
                self.longest_root
                    .map_or(lasted, |so_far| so_far.max(lasted)),
            );
        }
    }
}

/// The event a span gets when its future is dropped before completing.
const CANCELLED_EVENT: &str = "cancelled";

/// A panic marks its span with `error.type = "panic"`.
fn is_panic(span: &SpanData) -> bool {
    span.attributes
        .iter()
        .any(|kv| kv.key.as_str() == "error.type" && kv.value.as_str() == "panic")
}

/// A span whose parent is not in this process (remote, or none): where the
/// local part of its trace starts.
pub(crate) fn is_local_root(span: &SpanData) -> bool {
    span.parent_span_id == SpanId::INVALID || span.parent_span_is_remote
}
