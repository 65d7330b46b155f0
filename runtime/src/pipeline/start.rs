//! Starting the span of a `#[traced]` call on the native pipeline.

use opentelemetry::Context;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceState};

use super::attributes::Attributes;
use super::links::Links;
use super::site::CallSite;
use super::span::{NativeSpan, Values};
use super::span_details::SpanDetails;
use super::{PipelineCore, ids, sampling};

/// W3C Trace Context Level 2's `random` flag, which every trace this
/// pipeline starts carries: its ids are random in all 128 bits ([`ids`]).
const RANDOM_FLAG: u8 = 0x02;

/// Where a new span hangs in the trace.
#[derive(Clone, Copy, Debug)]
pub enum Parent<'a> {
    /// The current context's span (the default).
    Current,
    /// No parent: a new trace (`root`).
    Root,
    /// The span of the given context (`parent = expr`).
    Explicit(&'a Context),
}

/// A started native span, in the context to make current while it runs.
#[derive(Debug)]
pub(crate) enum Started {
    /// A recording span of ours.
    Recording(Context),
    /// A new trace that is not sampled (or nothing exports): its ids and the
    /// decision, so that what runs beneath inherits them; nothing recorded.
    NotRecording(Context),
    /// No span: telemetry is suppressed there, or an unsampled parent
    /// decides for its children (parent-based sampling).
    Nothing,
}

/// What the parent decided for a span that records: its ids and parent.
#[derive(Debug)]
pub(crate) struct Plan {
    span_context: SpanContext,
    parent_span_id: SpanId,
    parent_is_remote: bool,
}

/// What the look at the current context settled.
#[derive(Debug)]
pub(crate) enum Begun {
    /// All there is to it.
    Done(Started),
    /// A recording span, to [`finish`] once its links and attributes are
    /// recorded.
    Recording(Plan),
}

/// The new span's ids, flags and trace state, and whether it records.
#[inline]
pub(crate) fn plan_child(
    shared: &PipelineCore,
    parent_cx: Option<&Context>,
    parent: &SpanContext,
    name: &str,
    kind: &opentelemetry::trace::SpanKind,
    attributes: &[opentelemetry::KeyValue],
) -> (SpanContext, bool) {
    let valid = parent.is_valid();
    let (trace_id, span_id) = if valid {
        (parent.trace_id(), ids::span_id())
    } else {
        ids::root_ids()
    };
    let sampled = sampling::sampled(shared, parent_cx, parent, trace_id, name, kind, attributes);
    let (flags, trace_state) = if valid {
        (
            parent.trace_flags().with_sampled(sampled),
            parent.trace_state().clone(),
        )
    } else {
        (
            TraceFlags::new(RANDOM_FLAG).with_sampled(sampled),
            TraceState::NONE,
        )
    };
    let span_context = SpanContext::new(trace_id, span_id, flags, false, trace_state);
    (
        span_context,
        sampled && shared.recording && shared.is_open(),
    )
}

/// No span at all: telemetry is suppressed there, or an unsampled parent
/// decides for its children.
#[inline(always)]
fn no_span(shared: &PipelineCore, parent: &SpanContext, suppressed: bool) -> bool {
    suppressed || shared.parent_based && parent.is_valid() && !parent.is_sampled()
}

/// The ids of a new span under `parent`, and whether it records.
#[inline(never)]
fn plan(
    shared: &PipelineCore,
    site: &CallSite,
    parent_cx: Option<&Context>,
    parent: &SpanContext,
) -> (Plan, bool) {
    let (span_context, recording) = plan_child(
        shared,
        parent_cx,
        parent,
        site.name,
        &site.kind.to_otel(),
        &[],
    );
    let plan = Plan {
        span_context,
        parent_span_id: parent.span_id(),
        parent_is_remote: parent.is_remote(),
    };
    (plan, recording)
}

/// Starts `site`'s span under `parent`, for a call that records no link and
/// no attribute of its own.
#[inline]
pub(crate) fn start(
    shared: &'static PipelineCore,
    site: &'static CallSite,
    parent: Parent<'_>,
) -> Started {
    match begin(shared, site, parent) {
        Begun::Done(started) => started,
        Begun::Recording(plan) => recording(shared, site, parent, plan, (), None, None),
    }
}

/// Decides `site`'s span under `parent` with one look at the context; a
/// recording span still needs its links and attributes, which run outside
/// any borrow of the current context (they may call traced functions).
#[inline]
pub(crate) fn begin(
    shared: &'static PipelineCore,
    site: &'static CallSite,
    parent: Parent<'_>,
) -> Begun {
    let decide = |cx: &Context, parent: &SpanContext, suppressed: bool| {
        if no_span(shared, parent, suppressed) {
            return Begun::Done(Started::Nothing);
        }
        let (plan, recording) = plan(shared, site, Some(cx).filter(|_| parent.is_valid()), parent);
        if recording {
            Begun::Recording(plan)
        } else {
            Begun::Done(Started::NotRecording(
                cx.with_remote_span_context(plan.span_context),
            ))
        }
    };
    match parent {
        Parent::Current => Context::map_current(|cx| {
            decide(cx, cx.span().span_context(), cx.is_telemetry_suppressed())
        }),
        Parent::Root => {
            Context::map_current(|cx| decide(cx, &SpanContext::NONE, cx.is_telemetry_suppressed()))
        }
        Parent::Explicit(cx) => decide(cx, cx.span().span_context(), cx.is_telemetry_suppressed()),
    }
}

/// Starts the recording span `plan` of `site` with what its call recorded,
/// in the context to make current.
#[inline]
pub(crate) fn finish(
    shared: &'static PipelineCore,
    site: &'static CallSite,
    parent: Parent<'_>,
    plan: Plan,
    links: Links,
    attributes: Attributes,
) -> Started {
    let (slots, extra) = attributes.into_native();
    recording(shared, site, parent, plan, slots, extra, Some(links))
}

#[inline(always)]
fn recording<V: Values>(
    shared: &'static PipelineCore,
    site: &'static CallSite,
    parent: Parent<'_>,
    plan: Plan,
    values: V,
    extra: Option<Box<SpanDetails>>,
    links: Option<Links>,
) -> Started {
    let mut span = NativeSpan::recording(
        shared,
        plan.span_context,
        plan.parent_span_id,
        plan.parent_is_remote,
        Some(site),
        values,
    );
    span.set_details(extra);
    if let Some(links) = links.filter(|links| !links.is_empty()) {
        for link in links.into_links() {
            opentelemetry::trace::Span::add_link(&mut span, link.span_context, link.attributes);
        }
    }
    let cx = match parent {
        Parent::Explicit(cx) => cx.with_span(span),
        Parent::Current | Parent::Root => Context::current_with_span(span),
    };
    Started::Recording(cx)
}
