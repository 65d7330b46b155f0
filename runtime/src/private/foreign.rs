//! Spans of a tracer provider the application installed itself, through
//! the OpenTelemetry API: a look at the parent, then the span built through
//! this call site's tracer with its `code.*` and literal attributes, then
//! the values the call records set on it before it is shared (no lock).

use std::borrow::Cow;
use std::rc::Rc;

use opentelemetry::Context;
use opentelemetry::global::{BoxedSpan, BoxedTracer};
use opentelemetry::trace::{Span as _, SpanBuilder, TraceContextExt, Tracer};

use super::span::Span;
use crate::dispatch;
use crate::pipeline::{Attributes, CallSite, Links, Parent};

/// A span waiting for its links before it is built.
#[derive(Debug)]
pub(super) struct Pending {
    tracer: Rc<BoxedTracer>,
    base_cx: Context,
    pub(super) links: Links,
}

/// A span built, taking the values its call records.
#[derive(Debug)]
pub(super) struct Built {
    base_cx: Context,
    /// The span, with the call site's attributes not yet set on it.
    attributes: Attributes,
    recording: bool,
}

/// Starts `site`'s span under `parent`, for a call that records no link and
/// no attribute of its own: the span is built in the parent's context and
/// made current in the context current now (an explicit parent's), as a
/// span started by hand would be, without a copy of either.
#[inline(never)]
pub(super) fn start(site: &'static CallSite, parent: Parent<'_>) -> Span {
    let no_span = match parent {
        Parent::Explicit(cx) => makes_no_span(cx, parent),
        Parent::Current | Parent::Root => Context::map_current(|cx| makes_no_span(cx, parent)),
    };
    if no_span {
        return Span::without_span(parent);
    }
    let Some(tracer) = dispatch::foreign_tracer(site) else {
        return Span::without_span(parent);
    };
    let span = match parent {
        Parent::Explicit(cx) => build_span(&tracer, site, parent, cx, Links::default()),
        Parent::Current | Parent::Root => {
            Context::map_current(|cx| build_span(&tracer, site, parent, cx, Links::default()))
        }
    };
    let recording = span.is_recording();
    let span = if recording && site.leading_literals() < site.attributes().len() {
        // Constants after the literals: set before the span is shared.
        match Attributes::on_span(span, site, site.leading_literals()).into_span(true) {
            Some(span) => span,
            None => return Span::without_span(parent),
        }
    } else {
        span
    };
    let cx = match parent {
        Parent::Explicit(cx) => cx.with_span(span),
        Parent::Current | Parent::Root => Context::current_with_span(span),
    };
    Span::foreign(cx, recording)
}

/// Where a call that records attributes (or links) stands after the look
/// at its parent.
#[derive(Debug)]
pub(super) enum Begun {
    /// No span.
    Settled(Span),
    /// Waiting for its links.
    Pending(Pending),
    Built(Built),
}

/// Begins `site`'s span under `parent` for a call that records attributes,
/// and links with `linked`.
#[inline(never)]
pub(super) fn begin(site: &'static CallSite, parent: Parent<'_>, linked: bool) -> Begun {
    let Some(base_cx) = base(parent) else {
        return Begun::Settled(Span::without_span(parent));
    };
    let begun = dispatch::foreign_tracer(site).map(|tracer| {
        if linked {
            Begun::Pending(Pending {
                tracer,
                base_cx,
                links: Links::default(),
            })
        } else {
            Begun::Built(build(&tracer, site, parent, base_cx, Links::default()))
        }
    });
    begun.unwrap_or_else(|| Begun::Settled(Span::without_span(parent)))
}

/// The context the new span goes into, unless the parent decides that no
/// span is made.
#[inline]
fn base(parent: Parent<'_>) -> Option<Context> {
    let base_cx = match parent {
        Parent::Explicit(cx) => cx.clone(),
        Parent::Current | Parent::Root => Context::current(),
    };
    (!makes_no_span(&base_cx, parent)).then_some(base_cx)
}

/// Whether `cx`, the context a span would start in, decides that none is
/// made: telemetry is suppressed there, or its span is valid and unsampled
/// and the provider's sampler is known to follow it.
#[inline]
fn makes_no_span(cx: &Context, parent: Parent<'_>) -> bool {
    if cx.is_telemetry_suppressed() {
        return true;
    }
    if matches!(parent, Parent::Root) || !dispatch::foreign_drops_unsampled() {
        return false;
    }
    let span = cx.span();
    let parent = span.span_context();
    parent.is_valid() && !parent.is_sampled()
}

impl Pending {
    /// Builds the span, now that its links are known.
    pub(super) fn build(self, site: &'static CallSite, parent: Parent<'_>) -> Built {
        build(&self.tracer, site, parent, self.base_cx, self.links)
    }
}

impl Built {
    /// Where the call's values go, when the span records.
    pub(super) fn attributes(&mut self) -> Option<&mut Attributes> {
        self.recording.then_some(&mut self.attributes)
    }

    /// The span, current in its context.
    pub(super) fn into_span(self) -> Span {
        let recording = self.recording;
        match self.attributes.into_span(recording) {
            Some(span) => Span::foreign(self.base_cx.with_span(span), recording),
            None => Span::off(),
        }
    }
}

/// Builds `site`'s span with what its call recorded.
fn build(
    tracer: &BoxedTracer,
    site: &'static CallSite,
    parent: Parent<'_>,
    base_cx: Context,
    links: Links,
) -> Built {
    let span = build_span(tracer, site, parent, &base_cx, links);
    let recording = span.is_recording();
    Built {
        base_cx,
        attributes: Attributes::on_span(span, site, site.leading_literals()),
        recording,
    }
}

/// Builds `site`'s span with its `code.*` attributes and the literal ones
/// declared before any other: they are part of the span's definition, as
/// its name is, and go to the builder, where the provider's sampler sees
/// them. Room is made for the rest.
#[inline]
fn build_span(
    tracer: &BoxedTracer,
    site: &'static CallSite,
    parent: Parent<'_>,
    base_cx: &Context,
    links: Links,
) -> BoxedSpan {
    let site_attributes = site.attributes();
    let mut attributes = Vec::with_capacity(3 + site_attributes.len());
    site.push_code_attributes(&mut attributes);
    site.push_leading_literals(&mut attributes);
    let builder = SpanBuilder {
        span_kind: Some(site.kind.to_otel()),
        name: Cow::Borrowed(site.name),
        start_time: None,
        attributes: Some(attributes),
        events: None,
        links: (!links.is_empty()).then(|| links.into_links()),
    };
    match parent {
        Parent::Root => tracer.build_with_context(builder, &Context::new()),
        Parent::Current | Parent::Explicit(_) => tracer.build_with_context(builder, base_cx),
    }
}
