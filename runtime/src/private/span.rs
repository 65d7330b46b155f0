//! The span of a traced call: current while the body runs, ended when the
//! call returns, panics or is dropped, with what the call recorded on the
//! way. None of it is generic, so each traced function instantiates none of
//! it but what runs its body.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use opentelemetry::baggage::BaggageExt;
use opentelemetry::trace::TraceContextExt;
use opentelemetry::{Context, ContextGuard};

use super::recorder::Recorder;
use super::scope::Scope;
use crate::pipeline::{self, Parent, Started};

/// The span of one call of a traced function, or nothing when no span is made
/// (no provider, suppressed). Ends the span when dropped.
#[derive(Debug)]
pub struct Span {
    state: State,
}

#[derive(Debug)]
enum State {
    /// No span: nothing installed, or suppressed beneath.
    Off,
    /// A span of ours, current in this context; whether it records, known
    /// when it started (so asking takes no lock).
    Span(Context, bool),
    /// A span of the native pipeline, current in this context; it records.
    Native(Context),
    /// `suppress`: no span, but this context (telemetry suppressed) is current.
    Suppressed(Context),
    /// No span: a context made current so that what runs beneath inherits its
    /// trace and decision (an explicit parent, or for a future, the caller's).
    Inherited(Context),
}

impl Span {
    /// The span a native start settled on.
    #[inline]
    pub(super) fn native(started: Started, parent: Parent<'_>) -> Span {
        match started {
            Started::Recording(cx) => Span {
                state: State::Native(cx),
            },
            Started::NotRecording(cx) => Span {
                state: State::Inherited(cx),
            },
            Started::Nothing => Span::without_span(parent),
        }
    }

    pub(super) fn off() -> Span {
        Span { state: State::Off }
    }

    /// A span of another provider, current in `cx`; whether it records.
    #[inline]
    pub(super) fn foreign(cx: Context, recording: bool) -> Span {
        Span {
            state: State::Span(cx, recording),
        }
    }

    /// No span of ours (nothing installed, a suppressed or unsampled parent):
    /// the body still runs in its parent's context, which carries the
    /// parent's decision. An explicit parent is made current; the current
    /// context already is.
    #[inline]
    pub(super) fn without_span(parent: Parent<'_>) -> Span {
        match parent {
            Parent::Explicit(cx) => Span {
                state: State::Inherited(cx.clone()),
            },
            Parent::Current | Parent::Root => Span { state: State::Off },
        }
    }

    /// `suppress`: no span, and nothing beneath is traced. The suppressed
    /// context is attached even with no provider installed: what is injected
    /// beneath must still tell downstream services not to sample.
    #[inline]
    pub fn suppressed() -> Span {
        if Context::is_current_telemetry_suppressed() {
            return Span { state: State::Off };
        }
        Span {
            state: State::Suppressed(Context::current().with_telemetry_suppressed()),
        }
    }

    /// Makes this span current on this thread until the returned guard drops:
    /// the body of a `#[track_caller]` function runs under it, without the
    /// closure that would hide its caller's location.
    #[inline]
    pub fn enter(&self) -> Entered<'_> {
        Entered {
            span: self,
            panicking: std::thread::panicking(),
            _attached: self.context().map(|cx| cx.clone().attach()),
        }
    }

    /// Runs `f` with this span current, recording a panic that unwinds out of it.
    #[inline]
    pub fn in_scope<R>(&self, f: impl FnOnce() -> R) -> R {
        let attached = self.context().map(|cx| cx.clone().attach());
        match catch_unwind(AssertUnwindSafe(f)) {
            Ok(value) => {
                drop(attached);
                value
            }
            Err(payload) => {
                self.record_panic(Some(&*payload));
                drop(attached);
                resume_unwind(payload)
            }
        }
    }

    /// Makes this span current for the body of a synchronous call; the
    /// returned scope ends the span and detaches its context when dropped.
    #[inline(always)]
    pub fn attach(mut self) -> Scope {
        let state = std::mem::replace(&mut self.state, State::Off);
        // Nothing is left to end or free.
        std::mem::forget(self);
        match state {
            State::Off => Scope::without_span(None),
            State::Span(cx, recording) => Scope::foreign(cx, recording),
            State::Native(cx) => Scope::native(cx),
            State::Suppressed(cx) | State::Inherited(cx) => Scope::without_span(Some(cx)),
        }
    }

    /// For a future: with no context of its own, the one current at the call
    /// is carried into every poll, so that what the body starts or spawns
    /// stays in the caller's trace (and decision), wherever it is polled. A
    /// context with no span, no baggage and no suppression has nothing to
    /// carry, and attaching it on every poll would cost more than the rest of
    /// the call.
    #[inline]
    pub(crate) fn or_current_context(self) -> Span {
        match self.state {
            State::Off => Span::current_context(),
            _ => self,
        }
    }

    /// The caller's context for a future without a span of its own, when it
    /// carries something. Kept out of line: most traced futures have a span,
    /// and the look at the thread's context would grow every one of them.
    #[inline(never)]
    fn current_context() -> Span {
        Context::map_current(|cx| {
            let carries =
                cx.has_active_span() || cx.is_telemetry_suppressed() || !cx.baggage().is_empty();
            Span {
                state: if carries {
                    State::Inherited(cx.clone())
                } else {
                    State::Off
                },
            }
        })
    }

    pub(crate) fn context(&self) -> Option<&Context> {
        match &self.state {
            State::Off => None,
            State::Span(cx, _)
            | State::Native(cx)
            | State::Suppressed(cx)
            | State::Inherited(cx) => Some(cx),
        }
    }

    /// A recorder that writes to this span.
    #[inline]
    pub fn recorder(&self) -> Recorder<'_> {
        match &self.state {
            State::Span(cx, true) | State::Native(cx) => Recorder::Span(cx.span()),
            State::Span(_, false) => Recorder::Off,
            State::Off | State::Suppressed(_) | State::Inherited(_) => Recorder::Off,
        }
    }

    /// A panic unwinding out of the traced call; `payload` when it was caught.
    pub(crate) fn record_panic(&self, payload: Option<&(dyn Any + Send)>) {
        if let State::Span(cx, _) | State::Native(cx) = &self.state {
            crate::span_error::record_panic(&cx.span(), payload);
        }
    }

    pub(crate) fn record_cancelled(&self) {
        if let State::Span(cx, _) | State::Native(cx) = &self.state {
            cx.span().add_event("cancelled", Vec::new());
        }
    }
}

impl Drop for Span {
    #[inline]
    fn drop(&mut self) {
        match &self.state {
            State::Span(cx, _) => cx.span().end(),
            // `SpanRef::end` would read the wall clock; the native span reads
            // its own clock when told to end now.
            State::Native(cx) => cx.span().end_with_timestamp(pipeline::END_NOW),
            State::Off | State::Suppressed(_) | State::Inherited(_) => {}
        }
    }
}

/// A span made current by [`Span::enter`]. A panic that starts while it is
/// held marks the span Error as it unwinds past; its message is out of reach
/// without catching it.
#[derive(Debug)]
pub struct Entered<'a> {
    span: &'a Span,
    /// Already unwinding when entered (a traced call made by a `Drop` during
    /// a panic): that panic is not this call's.
    panicking: bool,
    _attached: Option<ContextGuard>,
}

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        if !self.panicking && std::thread::panicking() {
            self.span.record_panic(None);
        }
    }
}
