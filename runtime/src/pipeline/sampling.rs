//! The sampling decision for a native span: an unsampled parent decides for
//! its children when the sampler is parent-based; otherwise the configured
//! SDK sampler decides, exactly as it would for an SDK span. Samplers whose
//! decision for a new trace is known in advance (always, never, a ratio of
//! trace ids) decide without a call through the sampler.

use opentelemetry::trace::{SpanContext, SpanKind, TraceId};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{Sampler, SamplingDecision, ShouldSample};

use super::PipelineCore;

/// How the spans the sampler decides (roots, or every span when it is not
/// parent-based) are decided.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Rule {
    Always,
    Never,
    /// `TraceIdRatioBased`: sampled when the trace id's low 63 bits fall
    /// under this bound, as the SDK computes it.
    Ratio(u64),
    /// Ask the sampler.
    Ask,
}

impl Rule {
    /// The rule for `sampler` deciding on its own (not as a parent-based
    /// sampler's delegate, which is opaque).
    pub(crate) fn of(sampler: Option<&Sampler>) -> Rule {
        match sampler {
            Some(Sampler::AlwaysOn) => Rule::Always,
            Some(Sampler::AlwaysOff) => Rule::Never,
            Some(Sampler::TraceIdRatioBased(ratio)) if *ratio >= 1.0 => Rule::Always,
            Some(Sampler::TraceIdRatioBased(ratio)) => {
                Rule::Ratio((ratio.max(0.0) * (1_u64 << 63) as f64) as u64)
            }
            _ => Rule::Ask,
        }
    }
}

/// Whether a span with this parent and trace id is sampled.
/// `RecordOnly` (which only custom samplers return) counts as not sampled:
/// nothing but export would observe such a span.
#[inline]
pub(crate) fn sampled(
    shared: &PipelineCore,
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
    match shared.rule {
        Rule::Always => true,
        Rule::Never => false,
        Rule::Ratio(bound) => (u128::from_be_bytes(trace_id.to_bytes()) as u64) >> 1 < bound,
        Rule::Ask => {
            let parent_cx = parent_cx.filter(|_| parent.is_valid());
            let result =
                shared
                    .sampler
                    .should_sample(parent_cx, trace_id, name, kind, attributes, &[]);
            result.decision == SamplingDecision::RecordAndSample
        }
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::TraceId;

    use super::*;

    /// The shortcut decides exactly as the SDK's sampler does.
    #[test]
    fn ratios_decide_as_the_sdk_does() {
        for ratio in [0.0, 0.001, 0.1, 0.5, 0.999, 1.0] {
            let sampler = Sampler::TraceIdRatioBased(ratio);
            let rule = Rule::of(Some(&sampler));
            let mut state = 0x9e37_79b9_7f4a_7c15_u128;
            for _ in 0..10_000 {
                state = state
                    .wrapping_mul(0x2545_f491_4f6c_dd1d_u128 | 1)
                    .wrapping_add(7);
                let trace_id = TraceId::from(state);
                let sdk = sampler
                    .should_sample(None, trace_id, "n", &SpanKind::Internal, &[], &[])
                    .decision
                    == SamplingDecision::RecordAndSample;
                let ours = match rule {
                    Rule::Always => true,
                    Rule::Never => false,
                    Rule::Ratio(bound) => {
                        (u128::from_be_bytes(trace_id.to_bytes()) as u64) >> 1 < bound
                    }
                    Rule::Ask => unreachable!("ratios are known"),
                };
                assert_eq!(ours, sdk, "ratio {ratio}, trace {trace_id}");
            }
        }
    }
}
