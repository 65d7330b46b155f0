//! The resolved tail-sampling policy and its verdict on what a trace showed.

use std::fmt;
use std::time::Duration;

use opentelemetry::trace::TraceId;

use super::summary::Summary;

/// Why a trace was kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeepReason {
    Error,
    Panic,
    Cancelled,
    Slow,
    Ratio,
}

impl fmt::Display for KeepReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeepReason::Error => "error",
            KeepReason::Panic => "panic",
            KeepReason::Cancelled => "cancelled",
            KeepReason::Slow => "slow",
            KeepReason::Ratio => "ratio",
        })
    }
}

/// Which traces are kept, and how long and how much is held to decide.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TailPolicy {
    pub(crate) errors: bool,
    pub(crate) panics: bool,
    pub(crate) cancellations: bool,
    /// Keep a trace whose local root lasted at least this long.
    pub(crate) slower_than: Option<Duration>,
    /// The share of the other traces kept, 0 to 1.
    pub(crate) ratio: f64,
    /// How long a trace is held after its local root ended.
    pub(crate) grace: Duration,
    /// How long a trace is held at most, its local root ended or not.
    pub(crate) max_hold: Duration,
    /// Bytes of held spans, at most.
    pub(crate) max_memory: usize,
}

impl TailPolicy {
    /// Why a trace that showed `summary` is kept, or `None` to drop it.
    /// `still_running`: held for the maximum hold and its local root has
    /// not ended, so it has lasted at least that long.
    pub(crate) fn verdict(
        &self,
        trace_id: TraceId,
        summary: &Summary,
        still_running: bool,
    ) -> Option<KeepReason> {
        if self.panics && summary.panic {
            return Some(KeepReason::Panic);
        }
        if self.errors && summary.error {
            return Some(KeepReason::Error);
        }
        if self.cancellations && summary.cancelled {
            return Some(KeepReason::Cancelled);
        }
        if let Some(threshold) = self.slower_than
            && (still_running
                || summary
                    .longest_root
                    .is_some_and(|lasted| lasted >= threshold))
        {
            return Some(KeepReason::Slow);
        }
        in_ratio(self.ratio, trace_id).then_some(KeepReason::Ratio)
    }
}

#[cfg(test)]
impl TailPolicy {
    /// Errors, panics and cancellations only; a grace and a hold longer than
    /// any test, and memory enough.
    pub(crate) fn errors_only() -> TailPolicy {
        TailPolicy {
            errors: true,
            panics: true,
            cancellations: true,
            slower_than: None,
            ratio: 0.0,
            grace: Duration::from_secs(3600),
            max_hold: Duration::from_secs(7200),
            max_memory: 1 << 30,
        }
    }
}

/// Whether `trace_id` is in the share `ratio` keeps: what opentelemetry_sdk's
/// `TraceIdRatioBased` sampler computes (the trace id's low 63 bits under
/// the ratio of 2^63), a function of the trace id alone, so every process
/// (and every head sampler of that kind) with the same ratio gives the same
/// answer.
pub(crate) fn in_ratio(ratio: f64, trace_id: TraceId) -> bool {
    if ratio >= 1.0 {
        return true;
    }
    let bound = (ratio.max(0.0) * (1_u64 << 63) as f64) as u64;
    (u128::from_be_bytes(trace_id.to_bytes()) as u64) >> 1 < bound
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::SpanKind;
    use opentelemetry_sdk::trace::{Sampler, SamplingDecision, ShouldSample};

    use super::*;

    fn policy() -> TailPolicy {
        TailPolicy {
            slower_than: Some(Duration::from_secs(1)),
            ..TailPolicy::errors_only()
        }
    }

    const TRACE: TraceId = TraceId::from_bytes([7; 16]);

    #[test]
    fn each_reason_is_selectable() {
        let panic = Summary {
            panic: true,
            ..Summary::default()
        };
        let error = Summary {
            error: true,
            ..Summary::default()
        };
        let cancelled = Summary {
            cancelled: true,
            ..Summary::default()
        };
        let slow = Summary {
            longest_root: Some(Duration::from_secs(2)),
            ..Summary::default()
        };
        let on = policy();
        assert_eq!(on.verdict(TRACE, &panic, false), Some(KeepReason::Panic));
        assert_eq!(on.verdict(TRACE, &error, false), Some(KeepReason::Error));
        assert_eq!(
            on.verdict(TRACE, &cancelled, false),
            Some(KeepReason::Cancelled)
        );
        assert_eq!(on.verdict(TRACE, &slow, false), Some(KeepReason::Slow));
        assert_eq!(
            on.verdict(TRACE, &Summary::default(), true),
            Some(KeepReason::Slow)
        );
        let off = TailPolicy {
            errors: false,
            panics: false,
            cancellations: false,
            slower_than: None,
            ..policy()
        };
        for summary in [panic, error, cancelled, slow] {
            assert_eq!(off.verdict(TRACE, &summary, false), None, "{summary:?}");
        }
        assert_eq!(off.verdict(TRACE, &Summary::default(), true), None);
    }

    #[test]
    fn a_root_faster_than_the_threshold_is_not_slow() {
        let fast = Summary {
            longest_root: Some(Duration::from_millis(999)),
            ..Summary::default()
        };
        assert_eq!(policy().verdict(TRACE, &fast, false), None);
    }

    #[test]
    fn the_ratio_agrees_with_the_sdk_head_sampler() {
        for ratio in [0.0, 0.001, 0.01, 0.3, 0.5, 0.999, 1.0] {
            let sdk = Sampler::TraceIdRatioBased(ratio);
            let mut kept = 0;
            for n in 0..4000_u128 {
                let trace_id =
                    TraceId::from(n.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835));
                let head = sdk
                    .should_sample(None, trace_id, "x", &SpanKind::Server, &[], &[])
                    .decision
                    == SamplingDecision::RecordAndSample;
                assert_eq!(in_ratio(ratio, trace_id), head, "{ratio} {trace_id}");
                kept += usize::from(head);
            }
            if ratio == 0.3 {
                assert!((1000..1400).contains(&kept), "{kept} of 4000 at 0.3");
            }
        }
    }
}
