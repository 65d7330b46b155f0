//! The provider and tracer: sampling and span start.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use opentelemetry::trace::{
    Link, SpanContext, SpanId, SpanKind, TraceContextExt, TraceFlags, TraceId, TraceState, Tracer,
    TracerProvider,
};
use opentelemetry::{Context, InstrumentationScope, KeyValue};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Sampler, SamplingDecision, ShouldSample, SpanExporter, SpanLimits};

use super::batch::{BatchSettings, Queue};
use super::ids;
use super::span::LeanSpan;

/// What the lean pipeline is built from: the same pieces an SDK provider is.
#[derive(Debug)]
pub(crate) struct LeanSettings {
    pub(crate) resource: Resource,
    pub(crate) sampler: Sampler,
    pub(crate) limits: SpanLimits,
    /// `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`; applied on the export thread.
    pub(crate) max_attribute_value_length: Option<usize>,
    pub(crate) batch: BatchSettings,
}

impl Default for LeanSettings {
    fn default() -> Self {
        LeanSettings {
            resource: Resource::builder_empty().build(),
            sampler: Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
            limits: SpanLimits::default(),
            max_attribute_value_length: None,
            batch: BatchSettings::default(),
        }
    }
}

/// A tracer provider whose spans are batched to one `SpanExporter`. Cheap to
/// clone; the export thread stops when [`shutdown`](Self::shutdown) is called
/// or the last clone (and the last span) is gone.
#[derive(Clone)]
pub(crate) struct LeanTracerProvider {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(super) sampler: Sampler,
    pub(super) limits: SpanLimits,
    pub(super) queue: Queue,
}

impl fmt::Debug for LeanTracerProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LeanTracerProvider")
            .field("sampler", &self.inner.sampler)
            .field("limits", &self.inner.limits)
            .field("dropped_spans", &self.inner.queue.dropped())
            .finish()
    }
}

/// The outcome of sampling, before anything is allocated for the span.
#[derive(Debug)]
pub(crate) struct Sampled {
    parent: Option<(SpanId, bool)>,
    trace_id: TraceId,
    decision: SamplingDecision,
    attributes: Vec<KeyValue>,
    trace_state: TraceState,
    flags: TraceFlags,
}

impl Sampled {
    pub(crate) fn is_recording(&self) -> bool {
        !matches!(self.decision, SamplingDecision::Drop)
    }

    pub(crate) fn has_parent(&self) -> bool {
        self.parent.is_some()
    }
}

impl LeanTracerProvider {
    /// Starts the export thread. Fails only when the thread cannot be spawned.
    pub(crate) fn new<E: SpanExporter + 'static>(
        settings: LeanSettings,
        exporter: E,
    ) -> std::io::Result<Self> {
        let queue = Queue::start(
            exporter,
            &settings.resource,
            settings.batch,
            settings.max_attribute_value_length,
        )?;
        Ok(LeanTracerProvider {
            inner: Arc::new(Inner {
                sampler: settings.sampler,
                limits: settings.limits,
                queue,
            }),
        })
    }

    /// Spans lost so far because the export queue was full.
    pub(crate) fn dropped_spans(&self) -> u64 {
        self.inner.queue.dropped()
    }

    /// Exports every span finished before this call.
    pub(crate) fn force_flush(&self) -> OTelSdkResult {
        self.inner.queue.force_flush()
    }

    /// Exports what is queued, shuts the exporter down and stops the export
    /// thread. Spans started afterwards do not record.
    pub(crate) fn shutdown(&self) -> OTelSdkResult {
        self.inner.queue.shutdown()
    }

    /// Whether the sampler follows the parent's decision when there is one.
    pub(crate) fn samples_by_parent(&self) -> bool {
        matches!(self.inner.sampler, Sampler::ParentBased(_))
    }

    /// The sampling decision for a span under `parent_cx`; `None` when
    /// telemetry is suppressed there or the provider is shut down.
    #[inline]
    pub(crate) fn sample(
        &self,
        parent_cx: &Context,
        name: &str,
        kind: &SpanKind,
        attributes: &[KeyValue],
        links: &[Link],
    ) -> Option<Sampled> {
        if parent_cx.is_telemetry_suppressed() || self.inner.queue.is_shut_down() {
            return None;
        }
        let parent = parent_cx.span();
        let parent_sc = parent.span_context();
        let (parent, trace_id, flags) = if parent_sc.is_valid() {
            (
                Some((parent_sc.span_id(), parent_sc.is_remote())),
                parent_sc.trace_id(),
                parent_sc.trace_flags(),
            )
        } else {
            (None, ids::trace_id(), TraceFlags::default())
        };
        if parent.is_some()
            && !flags.is_sampled()
            && matches!(self.inner.sampler, Sampler::ParentBased(_))
        {
            // What `ParentBased` decides for an unsampled parent, without
            // building its result: the common case of an unsampled trace.
            return Some(Sampled {
                parent,
                trace_id,
                decision: SamplingDecision::Drop,
                attributes: Vec::new(),
                trace_state: parent_sc.trace_state().clone(),
                flags,
            });
        }
        let result = self.inner.sampler.should_sample(
            Some(parent_cx),
            trace_id,
            name,
            kind,
            attributes,
            links,
        );
        Some(Sampled {
            parent,
            trace_id,
            decision: result.decision,
            attributes: result.attributes,
            trace_state: result.trace_state,
            flags,
        })
    }

    /// The span context of a span `sample` dropped: valid, not sampled, so
    /// that what runs beneath and what is called downstream inherit the
    /// decision and the trace.
    #[inline]
    pub(crate) fn unsampled_context(&self, sampled: Sampled) -> SpanContext {
        SpanContext::new(
            sampled.trace_id,
            ids::span_id(),
            sampled.flags.with_sampled(false),
            false,
            sampled.trace_state,
        )
    }

    /// Starts the span `sample` decided on.
    #[inline]
    pub(crate) fn start(
        &self,
        sampled: Sampled,
        scope: &InstrumentationScope,
        name: Cow<'static, str>,
        kind: SpanKind,
        attributes: Vec<KeyValue>,
        links: Vec<Link>,
    ) -> LeanSpan {
        let span_id = ids::span_id();
        let flags = match sampled.decision {
            SamplingDecision::RecordAndSample => sampled.flags.with_sampled(true),
            SamplingDecision::RecordOnly | SamplingDecision::Drop => {
                sampled.flags.with_sampled(false)
            }
        };
        let context =
            SpanContext::new(sampled.trace_id, span_id, flags, false, sampled.trace_state);
        if matches!(sampled.decision, SamplingDecision::Drop) {
            return LeanSpan::non_recording(context);
        }
        let (parent_span_id, parent_is_remote) = sampled.parent.unwrap_or((SpanId::INVALID, false));
        LeanSpan::recording(
            context,
            &self.inner,
            super::span::Start {
                parent_span_id,
                parent_is_remote,
                kind,
                name,
                attributes,
                sampler_attributes: sampled.attributes,
                links,
                scope: scope.clone(),
            },
        )
    }
}

impl TracerProvider for LeanTracerProvider {
    type Tracer = LeanTracer;

    fn tracer_with_scope(&self, scope: InstrumentationScope) -> LeanTracer {
        LeanTracer {
            provider: self.clone(),
            scope,
        }
    }
}

/// A tracer of the lean provider for one instrumentation scope.
#[derive(Clone, Debug)]
pub(crate) struct LeanTracer {
    provider: LeanTracerProvider,
    scope: InstrumentationScope,
}

impl Tracer for LeanTracer {
    type Span = LeanSpan;

    fn build_with_context(
        &self,
        builder: opentelemetry::trace::SpanBuilder,
        parent_cx: &Context,
    ) -> LeanSpan {
        let kind = builder.span_kind.unwrap_or(SpanKind::Internal);
        let attributes = builder.attributes.unwrap_or_default();
        let links = builder.links.unwrap_or_default();
        let Some(sampled) =
            self.provider
                .sample(parent_cx, &builder.name, &kind, &attributes, &links)
        else {
            return LeanSpan::non_recording(SpanContext::empty_context());
        };
        let mut span =
            self.provider
                .start(sampled, &self.scope, builder.name, kind, attributes, links);
        if let Some(start) = builder.start_time {
            span.set_start_time(start);
        }
        for event in builder.events.into_iter().flatten() {
            opentelemetry::trace::Span::add_event_with_timestamp(
                &mut span,
                event.name,
                event.timestamp,
                event.attributes,
            );
        }
        span
    }
}
