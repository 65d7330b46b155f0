//! The resolved tail-sampling policy and its verdict on what a trace showed.

use std::fmt;
use std::time::Duration;

use opentelemetry::trace::{SpanKind, TraceId};
use opentelemetry_sdk::trace::{Sampler, SamplingDecision, ShouldSample};

use super::summary::Summary;

/// Why a trace was kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reason {
    Error,
    Panic,
    Cancelled,
    Slow,
    Ratio,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Reason::Error => "error",
            Reason::Panic => "panic",
            Reason::Cancelled => "cancelled",
            Reason::Slow => "slow",
            Reason::Ratio => "ratio",
        })
    }
}

/// Which traces are kept, and how long and how much is held to decide.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Policy {
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

impl Policy {
    /// Why a trace that showed `summary` is kept, or `None` to drop it.
    /// `still_running`: held for the maximum hold and its local root has
    /// not ended, so it has lasted at least that long.
    pub(crate) fn verdict(
        &self,
        trace_id: TraceId,
        summary: &Summary,
        still_running: bool,
    ) -> Option<Reason> {
        if self.panics && summary.panic {
            return Some(Reason::Panic);
        }
        if self.errors && summary.error {
            return Some(Reason::Error);
        }
        if self.cancellations && summary.cancelled {
            return Some(Reason::Cancelled);
        }
        if let Some(threshold) = self.slower_than
            && (still_running
                || summary
                    .longest_root
                    .is_some_and(|lasted| lasted >= threshold))
        {
            return Some(Reason::Slow);
        }
        in_ratio(self.ratio, trace_id).then_some(Reason::Ratio)
    }
}

/// Whether `trace_id` is in the share `ratio` keeps: the answer of
/// opentelemetry_sdk's `TraceIdRatioBased` sampler, a function of the trace
/// id alone, so every process (and every head sampler of that kind) with the
/// same ratio gives the same answer.
pub(crate) fn in_ratio(ratio: f64, trace_id: TraceId) -> bool {
    if ratio <= 0.0 {
        return false;
    }
    Sampler::TraceIdRatioBased(ratio)
        .should_sample(None, trace_id, "", &SpanKind::Internal, &[], &[])
        .decision
        == SamplingDecision::RecordAndSample
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy {
            errors: true,
            panics: true,
            cancellations: true,
            slower_than: Some(Duration::from_secs(1)),
            ratio: 0.0,
            grace: Duration::from_secs(1),
            max_hold: Duration::from_secs(30),
            max_memory: 1 << 20,
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
        assert_eq!(on.verdict(TRACE, &panic, false), Some(Reason::Panic));
        assert_eq!(on.verdict(TRACE, &error, false), Some(Reason::Error));
        assert_eq!(
            on.verdict(TRACE, &cancelled, false),
            Some(Reason::Cancelled)
        );
        assert_eq!(on.verdict(TRACE, &slow, false), Some(Reason::Slow));
        assert_eq!(
            on.verdict(TRACE, &Summary::default(), true),
            Some(Reason::Slow)
        );
        let off = Policy {
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
        let sdk = Sampler::TraceIdRatioBased(0.3);
        let mut kept = 0;
        for n in 0..2000_u128 {
            let trace_id = TraceId::from(n.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835));
            let head = sdk
                .should_sample(None, trace_id, "x", &SpanKind::Server, &[], &[])
                .decision
                == SamplingDecision::RecordAndSample;
            assert_eq!(in_ratio(0.3, trace_id), head);
            kept += usize::from(head);
        }
        assert!((450..750).contains(&kept), "{kept} of 2000 at 0.3");
        assert!(!in_ratio(0.0, TRACE));
        assert!(in_ratio(1.0, TRACE));
    }
}
