//! Writing the outcome of a traced call (an `Err`, the return value) on its
//! span: one it holds, or the current one when it is the call's.

use std::any::Any;

use opentelemetry::trace::{SpanId, SpanRef, TraceContextExt};
use opentelemetry::{Context, KeyValue, Value};

use super::outcome::ErrorRef;

/// Writes the outcome of a call (error, return value) to its span.
#[derive(Debug)]
pub enum Recorder<'a> {
    Off,
    Span(SpanRef<'a>),
    /// The current span, when it is the native span with this id (the span
    /// of a [`Scope`](super::Scope)).
    Current(SpanId),
}

impl Recorder<'_> {
    #[inline]
    pub fn is_on(&self) -> bool {
        !matches!(self, Recorder::Off)
    }

    fn with_span(&self, f: impl FnOnce(&SpanRef<'_>)) {
        match self {
            Recorder::Off => {}
            Recorder::Span(span) => f(span),
            Recorder::Current(id) => {
                if let Some(cx) = current_context(*id) {
                    f(&cx.span());
                }
            }
        }
    }

    /// `Err` of any `Result`: status Error, an `exception` event and `error.type`.
    #[cold]
    pub fn error(&self, error: ErrorRef<'_>) {
        self.with_span(|span| {
            crate::span_error::record_error(span, error.type_name(), error.message());
        });
    }

    /// A panic unwinding out of the call, with its caught `payload`.
    #[cold]
    pub(super) fn panic(&self, payload: &(dyn Any + Send)) {
        self.with_span(|span| crate::span_error::record_panic(span, Some(payload)));
    }

    /// `ret`: the return value (the `Ok` value of a `Result`) as `return`.
    pub fn ret(&self, value: Option<Value>) {
        if let Some(value) = value {
            self.with_span(|span| span.set_attribute(KeyValue::new("return", value)));
        }
    }
}

/// The current context, when its span is the native span `id`.
fn current_context(id: SpanId) -> Option<Context> {
    Context::map_current(|cx| holds(cx, id).then(|| cx.clone()))
}

/// Whether `cx`'s span is the span `id`.
#[inline]
pub(super) fn holds(cx: &Context, id: SpanId) -> bool {
    cx.span().span_context().span_id() == id
}
