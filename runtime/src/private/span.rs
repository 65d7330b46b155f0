use std::any::Any;
use std::borrow::Cow;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use opentelemetry::baggage::BaggageExt;
use opentelemetry::global::BoxedTracer;
use opentelemetry::trace::{SpanBuilder, SpanRef, TraceContextExt, Tracer};
use opentelemetry::{Context, ContextGuard, Key, KeyValue, Value};

use super::outcome::ErrorRef;
use crate::dispatch::{self, Target};
use crate::pipeline::{self, Attributes, CallSite, Links, Parent, Started};

/// What the parent context decides before any provider is asked.
struct ParentState {
    /// Telemetry is suppressed there: no span.
    suppressed: bool,
    /// Its span is valid and not sampled.
    unsampled: bool,
}

impl ParentState {
    #[inline]
    fn of(cx: &Context) -> ParentState {
        let span = cx.span();
        let parent = span.span_context();
        ParentState {
            suppressed: cx.is_telemetry_suppressed(),
            unsampled: parent.is_valid() && !parent.is_sampled(),
        }
    }
}

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
    /// Starts the span of `site`. `links` and `attributes` run only when a span
    /// is made (and `attributes` only when it records).
    #[inline]
    pub fn start<L, A>(site: &'static CallSite, parent: Parent<'_>, links: L, attributes: A) -> Span
    where
        L: FnOnce(&mut Links),
        A: FnOnce(&mut Attributes),
    {
        match dispatch::target() {
            Target::Off => Span::without_span(parent),
            Target::Native(shared) => {
                match pipeline::start(shared, site, parent, links, attributes) {
                    Started::Recording(cx) => Span {
                        state: State::Native(cx),
                    },
                    Started::NotRecording(cx) => Span {
                        state: State::Inherited(cx),
                    },
                    Started::Nothing => Span::without_span(parent),
                }
            }
            Target::Foreign => {
                // One look at the current context serves the decision and
                // the new span's base.
                let current = match parent {
                    Parent::Explicit(cx) => cx.clone(),
                    Parent::Current | Parent::Root => Context::current(),
                };
                let parent_state = match parent {
                    Parent::Root => ParentState {
                        suppressed: current.is_telemetry_suppressed(),
                        unsampled: false,
                    },
                    Parent::Explicit(_) | Parent::Current => ParentState::of(&current),
                };
                if parent_state.suppressed
                    || parent_state.unsampled && dispatch::foreign_drops_unsampled()
                {
                    return Span::without_span(parent);
                }
                match dispatch::foreign_tracer(site) {
                    Some(tracer) => {
                        start_foreign(&tracer, site, parent, current, links, attributes)
                    }
                    None => Span::without_span(parent),
                }
            }
        }
    }

    /// No span of ours (nothing installed, a suppressed or unsampled parent):
    /// the body still runs in its parent's context, which carries the
    /// parent's decision. An explicit parent is made current; the current
    /// context already is.
    #[inline]
    fn without_span(parent: Parent<'_>) -> Span {
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

    /// For a future: with no context of its own, the one current at the call
    /// is carried into every poll, so that what the body starts or spawns
    /// stays in the caller's trace (and decision), wherever it is polled. A
    /// context with no span, no baggage and no suppression has nothing to
    /// carry, and attaching it on every poll would cost more than the rest of
    /// the call.
    #[inline]
    pub(crate) fn or_current_context(self) -> Span {
        match self.state {
            State::Off => Context::map_current(|cx| {
                let carries = cx.has_active_span()
                    || cx.is_telemetry_suppressed()
                    || !cx.baggage().is_empty();
                Span {
                    state: if carries {
                        State::Inherited(cx.clone())
                    } else {
                        State::Off
                    },
                }
            }),
            _ => self,
        }
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

/// The `code.*` attributes every span carries.
fn site_attributes(site: &'static CallSite) -> Vec<KeyValue> {
    Vec::from([
        KeyValue::new(Key::from_static_str("code.function.name"), site.function),
        KeyValue::new(Key::from_static_str("code.file.path"), site.file),
        KeyValue::new(
            Key::from_static_str("code.line.number"),
            i64::from(site.line),
        ),
    ])
}

/// A span of the installed provider, through this call site's cached tracer.
#[inline(never)]
fn start_foreign<L, A>(
    tracer: &BoxedTracer,
    site: &'static CallSite,
    parent: Parent<'_>,
    base_cx: Context,
    links: L,
    attributes: A,
) -> Span
where
    L: FnOnce(&mut Links),
    A: FnOnce(&mut Attributes),
{
    let mut link_sink = Links::default();
    links(&mut link_sink);
    let parent_cx = matches!(parent, Parent::Root).then(Context::new);
    let mut builder = SpanBuilder::from_name(Cow::Borrowed(site.name))
        .with_kind(site.kind.to_otel())
        .with_attributes(site_attributes(site));
    if !link_sink.is_empty() {
        builder = builder.with_links(link_sink.into_links());
    }
    let mut span = tracer.build_with_context(builder, parent_cx.as_ref().unwrap_or(&base_cx));
    // Attributes go on the span before it is shared: no lock.
    let recording = opentelemetry::trace::Span::is_recording(&span);
    if recording {
        let mut sink = Attributes::list();
        attributes(&mut sink);
        let attributes = sink.into_list();
        if !attributes.is_empty() {
            opentelemetry::trace::Span::set_attributes(&mut span, attributes);
        }
    }
    Span {
        state: State::Span(base_cx.with_span(span), recording),
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

/// Writes the outcome of a call (error, return value) to its span.
#[derive(Debug)]
pub enum Recorder<'a> {
    Off,
    Span(SpanRef<'a>),
}

impl Recorder<'_> {
    #[inline]
    pub fn is_on(&self) -> bool {
        matches!(self, Recorder::Span(_))
    }

    /// `Err` of any `Result`: status Error, an `exception` event and `error.type`.
    #[cold]
    pub fn error(&self, error: ErrorRef<'_>) {
        let Recorder::Span(span) = self else { return };
        crate::span_error::record_error(span, error.type_name(), error.message());
    }

    /// `ret`: the return value (the `Ok` value of a `Result`) as `return`.
    pub fn ret(&self, value: Option<Value>) {
        if let (Recorder::Span(span), Some(value)) = (self, value) {
            span.set_attribute(KeyValue::new("return", value));
        }
    }
}
