//! Counting what tail sampling decided, for the shutdown report.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use super::policy::Reason;

/// Decisions so far, counted on the export thread, read anywhere.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    errors: AtomicU64,
    panics: AtomicU64,
    cancellations: AtomicU64,
    slow: AtomicU64,
    ratio: AtomicU64,
    dropped: AtomicU64,
    decided_early: AtomicU64,
    dropped_spans: AtomicU64,
}

impl Counters {
    /// A trace was decided: kept for `kept`, or dropped with its `spans`.
    pub(super) fn decided(&self, kept: Option<Reason>, spans: usize) {
        let counter = match kept {
            Some(Reason::Error) => &self.errors,
            Some(Reason::Panic) => &self.panics,
            Some(Reason::Cancelled) => &self.cancellations,
            Some(Reason::Slow) => &self.slow,
            Some(Reason::Ratio) => &self.ratio,
            None => {
                self.dropped_late(spans);
                &self.dropped
            }
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Spans of a trace already dropped.
    pub(super) fn dropped_late(&self, spans: usize) {
        self.dropped_spans
            .fetch_add(spans as u64, Ordering::Relaxed);
    }

    /// A trace was decided before its time: held spans were over budget.
    pub(super) fn decided_early(&self) {
        self.decided_early.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn report(&self) -> TailSamplingReport {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        TailSamplingReport {
            errors: read(&self.errors),
            panics: read(&self.panics),
            cancellations: read(&self.cancellations),
            slow: read(&self.slow),
            ratio: read(&self.ratio),
            dropped: read(&self.dropped),
            decided_early: read(&self.decided_early),
            dropped_spans: read(&self.dropped_spans),
        }
    }
}

/// What tail sampling decided so far: traces kept, by the first reason that
/// kept each (in this order: panic, error, cancelled, slow, ratio), and
/// traces dropped. See [`Config::tail_sampling`](crate::Config::tail_sampling).
///
/// Its `Display` is the line the guard prints at shutdown:
///
/// ```text
/// tail sampling kept 3 of 1000 traces (1 error, 1 panic, 1 slow) and dropped 997
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TailSamplingReport {
    /// Kept: a span had status Error (a returned `Err`, a 5xx, or set by code).
    pub errors: u64,
    /// Kept: a panic unwound through a span.
    pub panics: u64,
    /// Kept: a span's future was dropped before it completed.
    pub cancellations: u64,
    /// Kept: a local root lasted at least the slow threshold, or was still
    /// running after the maximum hold.
    pub slow: u64,
    /// Kept: in the ratio's share of the rest.
    pub ratio: u64,
    /// Traces dropped.
    pub dropped: u64,
    /// Traces decided before their time, on what was known, because the
    /// spans held were over the memory budget (counted among the above too).
    pub decided_early: u64,
    /// Spans of the dropped traces, those that ended after the decision
    /// included.
    pub dropped_spans: u64,
}

impl TailSamplingReport {
    /// Traces kept, for any reason.
    pub fn kept(&self) -> u64 {
        self.errors + self.panics + self.cancellations + self.slow + self.ratio
    }
}

impl fmt::Display for TailSamplingReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kept = self.kept();
        write!(
            f,
            "tail sampling kept {kept} of {} trace{}",
            kept + self.dropped,
            if kept + self.dropped == 1 { "" } else { "s" }
        )?;
        let reasons: Vec<String> = [
            (self.errors, "error", "errors"),
            (self.panics, "panic", "panics"),
            (self.cancellations, "cancelled", "cancelled"),
            (self.slow, "slow", "slow"),
            (self.ratio, "by ratio", "by ratio"),
        ]
        .into_iter()
        .filter(|(count, _, _)| *count > 0)
        .map(|(count, one, many)| format!("{count} {}", if count == 1 { one } else { many }))
        .collect();
        if !reasons.is_empty() {
            write!(f, " ({})", reasons.join(", "))?;
        }
        write!(f, " and dropped {}", self.dropped)?;
        if self.decided_early > 0 {
            write!(
                f,
                "; {} decided early: the held spans reached the memory budget",
                self.decided_early
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_names_each_reason_that_kept_a_trace() {
        let counters = Counters::default();
        counters.decided(Some(Reason::Error), 3);
        counters.decided(Some(Reason::Panic), 2);
        counters.decided(Some(Reason::Slow), 2);
        counters.decided(Some(Reason::Slow), 2);
        for _ in 0..996 {
            counters.decided(None, 2);
        }
        counters.dropped_late(1);
        let report = counters.report();
        assert_eq!(report.kept(), 4);
        assert_eq!(report.dropped_spans, 996 * 2 + 1);
        assert_eq!(
            report.to_string(),
            "tail sampling kept 4 of 1000 traces (1 error, 1 panic, 2 slow) and dropped 996"
        );
        counters.decided_early();
        assert_eq!(
            counters.report().to_string(),
            "tail sampling kept 4 of 1000 traces (1 error, 1 panic, 2 slow) and dropped 996; 1 \
             decided early: the held spans reached the memory budget"
        );
        assert_eq!(
            Counters::default().report().to_string(),
            "tail sampling kept 0 of 0 traces and dropped 0"
        );
    }
}
