//! A span an integration has started and must end exactly once.

use opentelemetry::Context;
use opentelemetry::trace::TraceContextExt;

/// Holds the context of a started span until the work it measures is done:
/// whoever [`take`](OpenSpan::take)s it records the outcome and ends it. If
/// the holder is dropped first (the caller gave up on a response, a client
/// went away), the span gets a `cancelled` event and ends there.
#[derive(Debug)]
pub(crate) struct OpenSpan(Option<Context>);

impl OpenSpan {
    pub(crate) fn new(cx: Context) -> Self {
        OpenSpan(Some(cx))
    }

    /// The span's context, while it is still open.
    pub(crate) fn context(&self) -> Option<&Context> {
        self.0.as_ref()
    }

    /// Takes the span out to finish it.
    pub(crate) fn take(&mut self) -> Option<Context> {
        self.0.take()
    }

    /// Gives back a span taken out but not finished yet.
    pub(crate) fn put_back(&mut self, cx: Context) {
        self.0 = Some(cx);
    }
}

impl Drop for OpenSpan {
    fn drop(&mut self) {
        if let Some(cx) = self.0.take() {
            cx.span().add_event("cancelled", Vec::new());
            cx.span().end();
        }
    }
}
