//! The tracer provider `traced::init()` installs globally, so that spans of
//! other OpenTelemetry instrumentation (`global::tracer(..)`, the
//! integrations, libraries) are native spans of the same pipeline.

use std::time::SystemTime;

use opentelemetry::trace::{SpanBuilder, SpanContext, SpanKind, TraceContextExt, Tracer};
use opentelemetry::{Context, InstrumentationScope, trace};

use super::PipelineCore;
use super::span::NativeSpan;
use super::start::plan_child;

/// Hands out [`NativeTracer`]s for the pipeline it was installed with.
#[derive(Clone, Copy, Debug)]
pub(crate) struct NativeTracerProvider {
    shared: &'static PipelineCore,
}

impl NativeTracerProvider {
    pub(crate) fn new(shared: &'static PipelineCore) -> Self {
        NativeTracerProvider { shared }
    }
}

impl trace::TracerProvider for NativeTracerProvider {
    type Tracer = NativeTracer;

    fn tracer_with_scope(&self, scope: InstrumentationScope) -> NativeTracer {
        NativeTracer {
            shared: self.shared,
            scope,
        }
    }
}

/// Starts native spans under one instrumentation scope.
#[derive(Debug)]
pub(crate) struct NativeTracer {
    shared: &'static PipelineCore,
    scope: InstrumentationScope,
}

impl Tracer for NativeTracer {
    type Span = NativeSpan;

    fn build_with_context(&self, builder: SpanBuilder, parent_cx: &Context) -> NativeSpan {
        let shared = self.shared;
        if parent_cx.is_telemetry_suppressed() {
            return NativeSpan::non_recording(shared, SpanContext::empty_context());
        }
        let parent_span = parent_cx.span();
        let parent = parent_span.span_context();
        let kind = builder.span_kind.clone().unwrap_or(SpanKind::Internal);
        let attributes = builder.attributes.unwrap_or_default();
        let (span_context, recording) = plan_child(
            shared,
            Some(parent_cx),
            parent,
            &builder.name,
            &kind,
            &attributes,
        );
        if !recording {
            return NativeSpan::non_recording(shared, span_context);
        }
        let mut span = NativeSpan::recording(
            shared,
            span_context,
            parent.span_id(),
            parent.is_remote(),
            None,
            (),
        );
        let limits = &shared.limits;
        let extra = span.extra();
        extra.name = Some(builder.name);
        extra.kind = Some(kind);
        extra.scope = Some(self.scope.clone());
        // Ended through `SpanRef::end`, which passes the wall clock's time,
        // such a span starts on the wall clock too.
        extra.start_time = Some(builder.start_time.unwrap_or_else(SystemTime::now));
        extra.push_attributes(attributes, limits);
        for event in builder.events.unwrap_or_default() {
            extra.push_event(event, limits);
        }
        for link in builder.links.unwrap_or_default() {
            trace::Span::add_link(&mut span, link.span_context, link.attributes);
        }
        span
    }
}
