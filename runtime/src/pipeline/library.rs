//! Starting the span of a `tracing` span on the native pipeline: the same
//! decision, ids, clock and record as a `#[traced]` call's, with the
//! callsite's static data in its [`CallSite`], and what its fields chose at
//! run time (`otel.name`, `otel.kind`, a status) in the span's details.

use std::borrow::Cow;

use opentelemetry::Context;
use opentelemetry::trace::{Span as _, SpanContext, SpanKind, Status, TraceContextExt};

use super::PipelineCore;
use super::attributes::Attributes;
use super::site::CallSite;
use super::span::NativeSpan;
use super::start::{Parent, Started, plan_child};

/// A name and kind a `tracing` span's fields chose (`otel.name`,
/// `otel.kind`), in place of its callsite's.
#[derive(Debug, Default)]
pub(crate) struct Shape {
    pub(crate) name: Option<Cow<'static, str>>,
    pub(crate) kind: Option<SpanKind>,
}

/// What the look at the parent settled.
enum Planned {
    Done(Started),
    Record {
        span_context: SpanContext,
        parent: SpanContext,
    },
}

/// Starts `site`'s span under `parent`, shaped by `shape`. `fields` runs only
/// for a recording span: it records the attributes and returns the status
/// the fields set.
pub(crate) fn start_library<F>(
    shared: &'static PipelineCore,
    site: &'static CallSite,
    parent: Parent<'_>,
    shape: Shape,
    fields: F,
) -> Started
where
    F: FnOnce(&mut Attributes) -> Status,
{
    let kind = shape.kind.clone().unwrap_or_else(|| site.kind.to_otel());
    let name = shape.name.as_deref().unwrap_or(site.name);
    let planned = |cx: &Context, parent: &SpanContext, suppressed: bool| {
        if suppressed || shared.parent_based && parent.is_valid() && !parent.is_sampled() {
            return Planned::Done(Started::Nothing);
        }
        let parent_cx = Some(cx).filter(|_| parent.is_valid());
        let (span_context, recording) = plan_child(shared, parent_cx, parent, name, &kind, &[]);
        if recording {
            Planned::Record {
                span_context,
                parent: parent.clone(),
            }
        } else {
            Planned::Done(Started::NotRecording(
                cx.with_remote_span_context(span_context),
            ))
        }
    };
    let planned = match parent {
        Parent::Current => Context::map_current(|cx| {
            planned(cx, cx.span().span_context(), cx.is_telemetry_suppressed())
        }),
        Parent::Root => {
            Context::map_current(|cx| planned(cx, &SpanContext::NONE, cx.is_telemetry_suppressed()))
        }
        Parent::Explicit(cx) => planned(cx, cx.span().span_context(), cx.is_telemetry_suppressed()),
    };
    let (span_context, parent_span) = match planned {
        Planned::Done(started) => return started,
        Planned::Record {
            span_context,
            parent,
        } => (span_context, parent),
    };
    let mut attributes = Attributes::native(shared);
    let status = fields(&mut attributes);
    let mut span = NativeSpan::recording(
        shared,
        span_context,
        parent_span.span_id(),
        parent_span.is_remote(),
        Some(site),
        (),
    );
    // The fields of a `tracing` span have keys no call site knows: they are
    // all in the details.
    let (_, extra) = attributes.into_native();
    span.set_details(extra);
    if let Some(name) = shape.name {
        span.update_name(name);
    }
    if let Some(kind) = shape.kind {
        span.extra().kind = Some(kind);
    }
    if status != Status::Unset {
        span.set_status(status);
    }
    let cx = match parent {
        Parent::Explicit(cx) => cx.with_span(span),
        Parent::Current | Parent::Root => Context::current_with_span(span),
    };
    Started::Recording(cx)
}
