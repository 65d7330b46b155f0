//! Counting what tail sampling decided, for the shutdown report.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use super::policy::KeepReason;

/// Decisions so far, counted on the export thread ([`Tally`]) and added
/// here now and then, read anywhere.
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
    late_parts: AtomicU64,
    late_parts_kept: AtomicU64,
}

/// Decisions counted since they were last added to the [`Counters`].
#[derive(Debug, Default)]
pub(super) struct Tally {
    errors: u64,
    panics: u64,
    cancellations: u64,
    slow: u64,
    ratio: u64,
    dropped: u64,
    decided_early: u64,
    dropped_spans: u64,
    late_parts: u64,
    late_parts_kept: u64,
}

impl Tally {
    /// A trace was decided: kept for `kept`, or dropped with its `spans`.
    pub(super) fn decided(&mut self, kept: Option<KeepReason>, spans: usize) {
        let count = match kept {
            Some(KeepReason::Error) => &mut self.errors,
            Some(KeepReason::Panic) => &mut self.panics,
            Some(KeepReason::Cancelled) => &mut self.cancellations,
            Some(KeepReason::Slow) => &mut self.slow,
            Some(KeepReason::Ratio) => &mut self.ratio,
            None => {
                self.dropped_spans += spans as u64;
                &mut self.dropped
            }
        };
        *count += 1;
    }

    /// A late part of a trace whose decision was forgotten was judged on
    /// its own: kept for `kept`, or dropped with its `spans`.
    pub(super) fn late_part(&mut self, kept: Option<KeepReason>, spans: usize) {
        self.late_parts += 1;
        match kept {
            Some(_) => self.late_parts_kept += 1,
            None => self.dropped_spans += spans as u64,
        }
    }

    /// Spans of a trace already dropped.
    pub(super) fn dropped_late(&mut self, spans: usize) {
        self.dropped_spans += spans as u64;
    }

    /// A trace was decided before its time: held spans were over budget.
    pub(super) fn decided_early(&mut self) {
        self.decided_early += 1;
    }
}

impl Counters {
    /// Adds what `tally` counted, and empties it.
    pub(super) fn add(&self, tally: &mut Tally) {
        let Tally {
            errors,
            panics,
            cancellations,
            slow,
            ratio,
            dropped,
            decided_early,
            dropped_spans,
            late_parts,
            late_parts_kept,
        } = std::mem::take(tally);
        for (counter, count) in [
            (&self.errors, errors),
            (&self.panics, panics),
            (&self.cancellations, cancellations),
            (&self.slow, slow),
            (&self.ratio, ratio),
            (&self.dropped, dropped),
            (&self.decided_early, decided_early),
            (&self.dropped_spans, dropped_spans),
            (&self.late_parts, late_parts),
            (&self.late_parts_kept, late_parts_kept),
        ] {
            if count > 0 {
                counter.fetch_add(count, Ordering::Relaxed);
            }
        }
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
            late_parts: read(&self.late_parts),
            late_parts_kept: read(&self.late_parts_kept),
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
    /// included, and of the late parts dropped.
    pub dropped_spans: u64,
    /// Late parts of traces decided before, whose decision was forgotten
    /// (decisions are remembered for at least the maximum hold, within a
    /// memory budget): spans that started before every decision still
    /// remembered, of a trace no longer known, with no local root among
    /// them. Each was judged on what it showed itself, and is not counted
    /// among the traces above.
    pub late_parts: u64,
    /// Late parts kept, for a reason of their own.
    pub late_parts_kept: u64,
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
        if self.late_parts > 0 {
            write!(
                f,
                "; {} late part{} of traces decided before, judged on {} own ({} kept)",
                self.late_parts,
                if self.late_parts == 1 { "" } else { "s" },
                if self.late_parts == 1 { "its" } else { "their" },
                self.late_parts_kept
            )?;
        }
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
        let mut tally = Tally::default();
        tally.decided(Some(KeepReason::Error), 3);
        tally.decided(Some(KeepReason::Panic), 2);
        tally.decided(Some(KeepReason::Slow), 2);
        tally.decided(Some(KeepReason::Slow), 2);
        for _ in 0..996 {
            tally.decided(None, 2);
        }
        tally.dropped_late(1);
        assert_eq!(counters.report().kept(), 0, "not added yet");
        counters.add(&mut tally);
        let report = counters.report();
        assert_eq!(report.kept(), 4);
        assert_eq!(report.dropped_spans, 996 * 2 + 1);
        assert_eq!(
            report.to_string(),
            "tail sampling kept 4 of 1000 traces (1 error, 1 panic, 2 slow) and dropped 996"
        );
        tally.decided_early();
        counters.add(&mut tally);
        assert_eq!(
            counters.report().to_string(),
            "tail sampling kept 4 of 1000 traces (1 error, 1 panic, 2 slow) and dropped 996; 1 \
             decided early: the held spans reached the memory budget"
        );
        assert_eq!(
            Counters::default().report().to_string(),
            "tail sampling kept 0 of 0 traces and dropped 0"
        );
        tally.late_part(None, 3);
        tally.late_part(Some(KeepReason::Error), 1);
        counters.add(&mut tally);
        let report = counters.report();
        assert_eq!((report.late_parts, report.late_parts_kept), (2, 1));
        assert_eq!(report.kept() + report.dropped, 1000, "not traces");
        assert_eq!(report.dropped_spans, 996 * 2 + 1 + 3);
        assert_eq!(
            report.to_string(),
            "tail sampling kept 4 of 1000 traces (1 error, 1 panic, 2 slow) and dropped 996; 2 \
             late parts of traces decided before, judged on their own (1 kept); 1 decided early: \
             the held spans reached the memory budget"
        );
    }
}
