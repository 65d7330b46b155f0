//! The sampling decision for a native span: an unsampled parent decides for
//! its children when the sampler is parent-based; otherwise the configured
//! SDK sampler decides, exactly as it would for an SDK span.

use opentelemetry::trace::{SpanContext, SpanKind, TraceId};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{Sampler, SamplingDecision, ShouldSample};

use super::Shared;

/// Whether a span with this parent and trace id is sampled.
/// `RecordOnly` (which only custom samplers return) counts as not sampled:
/// nothing but export would observe such a span.
#[inline]
pub(crate) fn sampled(
    shared: &Shared,
    parent_cx: Option<&Context>,
    parent: &SpanContext,
    trace_id: TraceId,
    name: &str,
    kind: &SpanKind,
    attributes: &[KeyValue],
) -> bool {
    if parent.is_valid() && shared.parent_based {
        return parent.is_sampled();
    }
    match &shared.sampler {
        Sampler::AlwaysOn => true,
        Sampler::AlwaysOff => false,
        sampler => {
            let parent_cx = parent_cx.filter(|_| parent.is_valid());
            let result = sampler.should_sample(parent_cx, trace_id, name, kind, attributes, &[]);
            result.decision == SamplingDecision::RecordAndSample
        }
    }
}
