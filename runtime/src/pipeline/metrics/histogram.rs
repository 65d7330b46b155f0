//! One series' durations: spans per bucket, their sum, the shortest and
//! longest. Counts are of the spans seen; each collection scales them by the
//! weight of a span (1, or the inverse of the head-sampling ratio) and, for
//! delta temporality, reports what was added since the previous collection.

use super::snapshot::Temporality;

/// Durations of one series, in nanoseconds.
#[derive(Debug)]
pub(crate) struct Histogram {
    counts: Box<[u64]>,
    seen: u64,
    sum_nanos: u128,
    /// Shortest and longest since the previous collection (delta) or ever
    /// (cumulative).
    min: u64,
    max: u64,
    /// What earlier collections reported, scaled (delta temporality only).
    reported: Option<Reported>,
}

#[derive(Debug)]
struct Reported {
    counts: Box<[u64]>,
    sum_seconds: f64,
}

/// What one collection reports of a series.
#[derive(Debug, PartialEq)]
pub(crate) struct Collected {
    pub(crate) count: u64,
    pub(crate) sum_seconds: f64,
    pub(crate) min_seconds: Option<f64>,
    pub(crate) max_seconds: Option<f64>,
    pub(crate) bucket_counts: Vec<u64>,
}

const NANOS_PER_SECOND: f64 = 1e9;

impl Histogram {
    pub(crate) fn new(buckets: usize, temporality: Temporality) -> Self {
        Histogram {
            counts: vec![0; buckets].into_boxed_slice(),
            seen: 0,
            sum_nanos: 0,
            min: u64::MAX,
            max: 0,
            reported: (temporality == Temporality::Delta).then(|| Reported {
                counts: vec![0; buckets].into_boxed_slice(),
                sum_seconds: 0.0,
            }),
        }
    }

    #[inline]
    pub(crate) fn record(&mut self, bucket: usize, nanos: u64) {
        self.counts[bucket] += 1;
        self.seen += 1;
        self.sum_nanos += u128::from(nanos);
        self.min = self.min.min(nanos);
        self.max = self.max.max(nanos);
    }

    /// Spans seen, unscaled, since the start.
    pub(crate) fn seen(&self) -> u64 {
        self.seen
    }

    /// The series at this collection, each span counting `weight` times;
    /// `None` when, under delta temporality, nothing was added since the
    /// previous collection.
    pub(crate) fn collect(&mut self, weight: f64) -> Option<Collected> {
        let scale = |count: u64| -> u64 { (count as f64 * weight).round() as u64 };
        let total: Vec<u64> = self.counts.iter().map(|count| scale(*count)).collect();
        let sum_seconds = self.sum_nanos as f64 / NANOS_PER_SECOND * weight;
        let (bucket_counts, sum_seconds) = match &mut self.reported {
            None => (total, sum_seconds),
            // Nothing ended since the previous collection.
            Some(_) if self.min == u64::MAX => return None,
            Some(reported) => {
                let added: Vec<u64> = total
                    .iter()
                    .zip(reported.counts.iter())
                    .map(|(now, before)| now - before)
                    .collect();
                reported.counts.copy_from_slice(&total);
                let added_sum = sum_seconds - reported.sum_seconds;
                reported.sum_seconds = sum_seconds;
                (added, added_sum.max(0.0))
            }
        };
        let seen_any = self.min != u64::MAX;
        let collected = Collected {
            count: bucket_counts.iter().sum(),
            sum_seconds,
            min_seconds: seen_any.then(|| self.min as f64 / NANOS_PER_SECOND),
            max_seconds: seen_any.then(|| self.max as f64 / NANOS_PER_SECOND),
            bucket_counts,
        };
        if self.reported.is_some() {
            self.min = u64::MAX;
            self.max = 0;
        }
        Some(collected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cumulative_counts_keep_growing() {
        let mut histogram = Histogram::new(3, Temporality::Cumulative);
        histogram.record(0, 1_000_000);
        histogram.record(2, 3_000_000_000);
        let first = histogram.collect(1.0).unwrap();
        assert_eq!(first.bucket_counts, [1, 0, 1]);
        assert_eq!(first.count, 2);
        assert!((first.sum_seconds - 3.001).abs() < 1e-12);
        assert_eq!(first.min_seconds, Some(0.001));
        assert_eq!(first.max_seconds, Some(3.0));
        let again = histogram.collect(1.0).unwrap();
        assert_eq!(again, first);
    }

    #[test]
    fn delta_reports_what_was_added_and_nothing_when_nothing_was() {
        let mut histogram = Histogram::new(2, Temporality::Delta);
        histogram.record(0, 10);
        histogram.record(1, 30);
        assert_eq!(histogram.collect(1.0).unwrap().bucket_counts, [1, 1]);
        assert_eq!(histogram.collect(1.0), None);
        histogram.record(1, 20);
        let second = histogram.collect(1.0).unwrap();
        assert_eq!(second.bucket_counts, [0, 1]);
        assert_eq!(
            (second.min_seconds, second.max_seconds),
            (Some(2e-8), Some(2e-8))
        );
        assert!((second.sum_seconds - 2e-8).abs() < 1e-15);
    }

    #[test]
    fn weights_scale_counts_and_deltas_add_up_to_the_scaled_total() {
        let mut delta = Histogram::new(1, Temporality::Delta);
        let mut reported = 0;
        for _ in 0..10 {
            delta.record(0, 1);
            reported += delta.collect(1.0 / 0.3).unwrap().count;
        }
        assert_eq!(reported, (10.0_f64 / 0.3).round() as u64);
        let mut cumulative = Histogram::new(1, Temporality::Cumulative);
        for _ in 0..10 {
            cumulative.record(0, 1);
        }
        assert_eq!(cumulative.collect(4.0).unwrap().count, 40);
    }
}
