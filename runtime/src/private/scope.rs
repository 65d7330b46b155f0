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

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use opentelemetry::trace::{SpanId, TraceContextExt};
use opentelemetry::{Context, ContextGuard};

use super::recorder::{Recorder, holds};
use crate::pipeline;

/// A span made current for the body of a synchronous call; dropping it ends
/// the span and detaches its context.
#[derive(Debug)]
pub struct Scope(Kept);

/// What a scope keeps until the call returns. Fields drop in order: a
/// native span ends before its context is detached, another provider's
/// after.
#[derive(Debug)]
enum Kept {
    /// No span of ours; a context made current, when there is one.
    Nothing { _attached: Option<ContextGuard> },
    Native {
        span: NativeEnd,
        _attached: ContextGuard,
    },
    Foreign {
        _attached: ContextGuard,
        span: ForeignEnd,
    },
}

/// Ends the native span `0`, current in the scope's context.
#[derive(Debug)]
struct NativeEnd(SpanId);

impl Drop for NativeEnd {
    #[inline]
    fn drop(&mut self) {
        // `SpanRef::end` would read the wall clock; the native span reads
        // its own clock when told to end now.
        Context::map_current(|cx| {
            if holds(cx, self.0) {
                cx.span().end_with_timestamp(pipeline::END_NOW);
            }
        });
    }
}

/// Ends a span of another provider, held in its context; whether it records.
#[derive(Debug)]
struct ForeignEnd(Context, bool);

impl Drop for ForeignEnd {
    #[inline]
    fn drop(&mut self) {
        self.0.span().end();
    }
}

impl Scope {
    /// No span of ours: `cx`, when there is one, is made current.
    #[inline]
    pub(super) fn without_span(cx: Option<Context>) -> Scope {
        Scope(Kept::Nothing {
            _attached: cx.map(Context::attach),
        })
    }

    /// A native span, current in `cx`.
    #[inline]
    pub(super) fn native(cx: Context) -> Scope {
        let id = cx.span().span_context().span_id();
        Scope(Kept::Native {
            span: NativeEnd(id),
            _attached: cx.attach(),
        })
    }

    /// A span of another provider, current in `cx`; whether it records.
    #[inline]
    pub(super) fn foreign(cx: Context, recording: bool) -> Scope {
        Scope(Kept::Foreign {
            _attached: cx.clone().attach(),
            span: ForeignEnd(cx, recording),
        })
    }

    /// Runs `f`, recording a panic that unwinds out of it; the unwinding
    /// then ends the span as it drops the scope.
    #[inline]
    pub fn run<R>(&self, f: impl FnOnce() -> R) -> R {
        match catch_unwind(AssertUnwindSafe(f)) {
            Ok(value) => value,
            Err(payload) => {
                self.recorder().panic(&*payload);
                resume_unwind(payload)
            }
        }
    }

    /// A recorder that writes to this scope's span, when it records.
    #[inline]
    pub fn recorder(&self) -> Recorder<'_> {
        match &self.0 {
            Kept::Foreign {
                span: ForeignEnd(cx, true),
                ..
            } => Recorder::Span(cx.span()),
            Kept::Native { span, .. } => Recorder::Current(span.0),
            Kept::Foreign { .. } | Kept::Nothing { .. } => Recorder::Off,
        }
    }
}
