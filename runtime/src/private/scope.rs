//! The span of a synchronous traced call while its body runs. A native
//! span's context is moved onto the thread's context stack, not cloned
//! there, and the span is reached through the current context: the call
//! ends it in place, which runs only the pipeline's own code (nothing that
//! could attach a context while the thread's stack is borrowed), and its
//! outcome, which may run an exporter's or a logger's code, is written
//! through a clone of the context taken then. Another provider's span runs
//! that provider's code as it ends, so its context is kept and cloned onto
//! the stack.
//!
//! A native span is looked up only as the current span with its own span
//! id: a body that leaves another context attached (a guard it returns or
//! forgets) makes the lookup miss, and the span then ends when its context
//! is dropped from the stack, as a span by hand does.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use opentelemetry::trace::{SpanId, TraceContextExt};
use opentelemetry::{Context, ContextGuard};

use super::span::Recorder;
use crate::pipeline;

/// A span made current for the body of a synchronous call; dropping it ends
/// the span and detaches its context.
#[derive(Debug)]
pub struct Scope {
    ending: Ending,
    attached: Option<ContextGuard>,
}

/// How the span of a scope ends.
#[derive(Debug)]
pub(super) enum Ending {
    /// No span of ours: nothing to end.
    Nothing,
    /// A span of another provider, ended after its context is detached;
    /// whether it records.
    Foreign(Context, bool),
    /// A native span, current in the attached context.
    Native(SpanId),
}

impl Scope {
    /// A scope over `attached` (when a context is made current) whose span
    /// ends as `ending` says.
    #[inline]
    pub(super) fn new(attached: Option<ContextGuard>, ending: Ending) -> Scope {
        Scope { ending, attached }
    }

    /// Runs `f`, recording a panic that unwinds out of it; the unwinding
    /// then ends the span as it drops the scope.
    #[inline]
    pub fn run<R>(&self, f: impl FnOnce() -> R) -> R {
        match catch_unwind(AssertUnwindSafe(f)) {
            Ok(value) => value,
            Err(payload) => {
                self.record_panic(&*payload);
                resume_unwind(payload)
            }
        }
    }

    /// A recorder that writes to this scope's span, when it records.
    #[inline]
    pub fn recorder(&self) -> Recorder<'_> {
        match &self.ending {
            Ending::Foreign(cx, true) => Recorder::Span(cx.span()),
            Ending::Native(id) => Recorder::Current(*id),
            Ending::Foreign(_, false) | Ending::Nothing => Recorder::Off,
        }
    }

    #[cold]
    fn record_panic(&self, payload: &(dyn Any + Send)) {
        match &self.ending {
            Ending::Foreign(cx, _) => crate::span_error::record_panic(&cx.span(), Some(payload)),
            Ending::Native(id) => {
                if let Some(cx) = current_context(*id) {
                    crate::span_error::record_panic(&cx.span(), Some(payload));
                }
            }
            Ending::Nothing => {}
        }
    }
}

impl Drop for Scope {
    #[inline]
    fn drop(&mut self) {
        match &self.ending {
            Ending::Nothing => {}
            // `SpanRef::end` would read the wall clock; the native span reads
            // its own clock when told to end now.
            Ending::Native(id) => Context::map_current(|cx| {
                let span = cx.span();
                if span.span_context().span_id() == *id {
                    span.end_with_timestamp(pipeline::END_NOW);
                }
            }),
            Ending::Foreign(cx, _) => {
                drop(self.attached.take());
                cx.span().end();
            }
        }
    }
}

/// The current context, when its span is the native span `id`.
pub(super) fn current_context(id: SpanId) -> Option<Context> {
    Context::map_current(|cx| (cx.span().span_context().span_id() == id).then(|| cx.clone()))
}
