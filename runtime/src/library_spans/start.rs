//! Starting the span of a new `tracing` span, wherever traced calls' spans
//! go: the native pipeline, or a provider the application installed. What
//! comes out is kept in the `tracing` span's extensions as a [`Bridged`].

use std::borrow::Cow;

use opentelemetry::trace::{Span as _, SpanBuilder, Status, TraceContextExt, Tracer};
use opentelemetry::{Context, Key, KeyValue};
use tracing::span::Attributes as SpanAttributes;

use super::fields::{Conventions, Fields, Shape};
use super::sites::Site;
use crate::dispatch::{self, Target};
use crate::pipeline::{self, Attributes, Parent, PipelineCore, Started};

/// What a `tracing` span carries for traced: the OpenTelemetry context its
/// body runs in, and how its span ends.
#[derive(Debug)]
pub(super) struct Bridged {
    pub(super) cx: Context,
    pub(super) span: Recorded,
}

/// The span a [`Bridged`] context holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Recorded {
    /// A recording span of the native pipeline.
    Native,
    /// A recording span of the installed provider.
    Foreign,
    /// None that records: the context only carries the parent's trace and
    /// decision (or suppression) to wherever the `tracing` span is entered.
    No,
}

impl Bridged {
    /// Whether fields recorded later reach a span.
    pub(super) fn records(&self) -> bool {
        self.span != Recorded::No
    }

    /// Ends the span, on the native pipeline's own clock for its spans.
    pub(super) fn end(&self) {
        match self.span {
            Recorded::Native => self.cx.span().end_with_timestamp(pipeline::END_NOW),
            Recorded::Foreign => self.cx.span().end(),
            Recorded::No => {}
        }
    }
}

/// The span of the new `tracing` span `attrs` under `parent`; `None` when
/// nothing records spans at all.
pub(super) fn start(attrs: &SpanAttributes<'_>, site: Site, parent: Parent<'_>) -> Option<Bridged> {
    match dispatch::target() {
        Target::Off => None,
        Target::Native(shared) => Some(start_native(shared, attrs, site, parent)),
        Target::Foreign => start_foreign(attrs, site, parent),
    }
}

/// `otel.name` and `otel.kind`, read before the span starts when the
/// callsite has them.
fn shape(attrs: &SpanAttributes<'_>, site: Site) -> Conventions {
    let mut conventions = Conventions::default();
    if site.shaped {
        attrs.record(&mut Shape(&mut conventions));
    }
    conventions
}

fn start_native(
    shared: &'static PipelineCore,
    attrs: &SpanAttributes<'_>,
    site: Site,
    parent: Parent<'_>,
) -> Bridged {
    let shaped = shape(attrs, site);
    let started = pipeline::start_library(
        shared,
        site.site,
        parent,
        pipeline::Shape {
            name: shaped.name,
            kind: shaped.kind,
        },
        |sink: &mut Attributes| {
            let mut conventions = Conventions::default();
            attrs.record(&mut Fields {
                conventions: &mut conventions,
                attribute: &mut |key, value| sink.record_keyed(key, value),
            });
            conventions.status()
        },
    );
    match started {
        Started::Recording(cx) => Bridged {
            cx,
            span: Recorded::Native,
        },
        Started::NotRecording(cx) => Bridged {
            cx,
            span: Recorded::No,
        },
        Started::Nothing => Bridged {
            cx: inherited(parent),
            span: Recorded::No,
        },
    }
}

/// The context a span that records nothing passes on: its parent's.
fn inherited(parent: Parent<'_>) -> Context {
    match parent {
        Parent::Explicit(cx) => cx.clone(),
        Parent::Current | Parent::Root => Context::current(),
    }
}

/// A span of the provider the application installed, as `#[traced]` makes
/// one there.
fn start_foreign(attrs: &SpanAttributes<'_>, site: Site, parent: Parent<'_>) -> Option<Bridged> {
    let base = inherited(parent);
    let inherit = |base| {
        Some(Bridged {
            cx: base,
            span: Recorded::No,
        })
    };
    let unsampled = !matches!(parent, Parent::Root) && {
        let span = base.span();
        let parent = span.span_context();
        parent.is_valid() && !parent.is_sampled()
    };
    if base.is_telemetry_suppressed() || unsampled && dispatch::foreign_drops_unsampled() {
        return inherit(base);
    }
    let Some(tracer) = dispatch::foreign_tracer(site.site) else {
        return inherit(base);
    };
    let mut conventions = shape(attrs, site);
    let name = conventions
        .name
        .take()
        .unwrap_or(Cow::Borrowed(site.site.name()));
    let kind = conventions
        .kind
        .take()
        .unwrap_or(opentelemetry::trace::SpanKind::Internal);
    let mut attributes: Vec<KeyValue> = site.site.code_attributes().collect();
    attrs.record(&mut Fields {
        conventions: &mut conventions,
        attribute: &mut |key, value| {
            attributes.push(KeyValue::new(Key::from_static_str(key), value))
        },
    });
    let builder = SpanBuilder::from_name(name)
        .with_kind(kind)
        .with_attributes(attributes);
    let root = matches!(parent, Parent::Root).then(Context::new);
    let mut span = tracer.build_with_context(builder, root.as_ref().unwrap_or(&base));
    let status = conventions.status();
    if status != Status::Unset {
        span.set_status(status);
    }
    let span_kind = if span.is_recording() {
        Recorded::Foreign
    } else {
        Recorded::No
    };
    Some(Bridged {
        cx: base.with_span(span),
        span: span_kind,
    })
}
