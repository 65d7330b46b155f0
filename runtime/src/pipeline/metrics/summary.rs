//! Calls, errors and latency percentiles per span name, for the console's
//! table at shutdown. Durations go into log-linear buckets (sixteen per
//! power of two, so a percentile is within about 3 % of the true one), a
//! few kilobytes per span name, kept only when the console asks.

use std::collections::HashMap;
use std::time::Duration;

use super::snapshot::{Summary, SummaryRow};

/// Sub-buckets per power of two.
const SUB_BITS: u32 = 4;
const SUBS: usize = 1 << SUB_BITS;
const BUCKETS: usize = 64 * SUBS;

/// The name of the row past the cardinality limit.
pub(crate) const OTHER: &str = "(other span names)";

#[derive(Debug)]
struct Row {
    name: Box<str>,
    calls: u64,
    errors: u64,
    /// Shortest and longest: a percentile never says more or less.
    shortest: u64,
    longest: u64,
    buckets: Box<[u32]>,
}

/// Rows by span name, capped.
#[derive(Debug)]
pub(crate) struct SummaryTable {
    index: HashMap<Box<str>, u32>,
    rows: Vec<Row>,
    limit: usize,
    other: Option<u32>,
}

fn bucket(nanos: u64) -> usize {
    let nanos = nanos.max(1);
    let exponent = 63 - nanos.leading_zeros();
    if exponent < SUB_BITS {
        return nanos as usize;
    }
    let sub = (nanos >> (exponent - SUB_BITS)) as usize & (SUBS - 1);
    (exponent - SUB_BITS + 1) as usize * SUBS + sub
}

/// The middle of a bucket, in nanoseconds.
fn middle(bucket: usize) -> u64 {
    if bucket < SUBS {
        return bucket as u64;
    }
    let exponent = (bucket / SUBS) as u32 + SUB_BITS - 1;
    let sub = (bucket % SUBS) as u64;
    let low = (SUBS as u64 + sub) << (exponent - SUB_BITS);
    let width = 1_u64 << (exponent - SUB_BITS);
    low + width / 2
}

impl SummaryTable {
    pub(crate) fn new(limit: usize) -> Self {
        SummaryTable {
            index: HashMap::new(),
            rows: Vec::new(),
            limit: limit.max(1),
            other: None,
        }
    }

    /// The row of span name `name`, added if new.
    pub(crate) fn row(&mut self, name: &str) -> u32 {
        if let Some(at) = self.index.get(name) {
            return *at;
        }
        let regular = self.rows.len() - usize::from(self.other.is_some());
        if regular + 1 >= self.limit {
            if let Some(other) = self.other {
                return other;
            }
            let at = self.push(OTHER);
            self.other = Some(at);
            return at;
        }
        let at = self.push(name);
        self.index.insert(name.into(), at);
        at
    }

    fn push(&mut self, name: &str) -> u32 {
        self.rows.push(Row {
            name: name.into(),
            calls: 0,
            errors: 0,
            shortest: u64::MAX,
            longest: 0,
            buckets: vec![0; BUCKETS].into_boxed_slice(),
        });
        u32::try_from(self.rows.len() - 1).expect("rows are capped far below 2^32")
    }

    #[inline]
    pub(crate) fn record(&mut self, row: u32, nanos: u64, failed: bool) {
        let row = &mut self.rows[row as usize];
        row.calls += 1;
        row.errors += u64::from(failed);
        row.shortest = row.shortest.min(nanos);
        row.longest = row.longest.max(nanos);
        let bucket = &mut row.buckets[bucket(nanos)];
        *bucket = bucket.saturating_add(1);
    }

    /// Every row, busiest first, each call counting `weight` times.
    pub(crate) fn summary(&self, weight: f64) -> Summary {
        let scale = |count: u64| (count as f64 * weight).round() as u64;
        let mut rows: Vec<SummaryRow> = self
            .rows
            .iter()
            .filter(|row| row.calls > 0)
            .map(|row| SummaryRow {
                name: row.name.to_string(),
                calls: scale(row.calls),
                errors: scale(row.errors),
                p50: percentile(row, 0.50),
                p95: percentile(row, 0.95),
                p99: percentile(row, 0.99),
            })
            .collect();
        rows.sort_by(|a, b| b.calls.cmp(&a.calls).then_with(|| a.name.cmp(&b.name)));
        Summary {
            rows,
            estimated: weight != 1.0,
            overflowed: self.other.is_some(),
        }
    }
}

/// The duration under which `quantile` of the calls of `row` fell.
fn percentile(row: &Row, quantile: f64) -> Duration {
    let rank = ((row.calls as f64 * quantile).ceil() as u64).max(1);
    let mut seen = 0;
    for (at, count) in row.buckets.iter().enumerate() {
        seen += u64::from(*count);
        if seen >= rank {
            let nanos = middle(at).clamp(row.shortest, row.longest);
            return Duration::from_nanos(nanos);
        }
    }
    Duration::ZERO
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_holds_its_middle_within_three_percent() {
        for nanos in [1, 7, 15, 16, 17, 1000, 123_456, 1_000_000_007, u64::MAX / 3] {
            let middle = middle(bucket(nanos)) as f64;
            let error = (middle - nanos as f64).abs() / nanos as f64;
            assert!(error <= 1.0 / 32.0 + 1e-9, "{nanos}: {middle} ({error})");
        }
    }

    #[test]
    fn percentiles_of_known_durations() {
        let mut table = SummaryTable::new(10);
        let row = table.row("checkout");
        for ms in 1..=100 {
            table.record(row, ms * 1_000_000, ms % 10 == 0);
        }
        let summary = table.summary(1.0);
        let checkout = &summary.rows[0];
        assert_eq!((checkout.calls, checkout.errors), (100, 10));
        let near = |got: Duration, ms: f64| (got.as_secs_f64() * 1e3 - ms).abs() <= ms * 0.035;
        assert!(near(checkout.p50, 50.0), "{:?}", checkout.p50);
        assert!(near(checkout.p95, 95.0), "{:?}", checkout.p95);
        assert!(near(checkout.p99, 99.0), "{:?}", checkout.p99);
        // One call: every percentile is its duration, exactly.
        let once = table.row("once");
        table.record(once, 29_999_000_000, false);
        let summary = table.summary(1.0);
        let once = summary.rows.iter().find(|row| row.name == "once").unwrap();
        assert_eq!(once.p99, Duration::from_millis(29_999));
        assert_eq!(once.p50, Duration::from_millis(29_999));
        assert!(!summary.estimated);
    }

    #[test]
    fn names_past_the_limit_share_one_row() {
        let mut table = SummaryTable::new(2);
        let a = table.row("a");
        let b = table.row("b");
        assert_eq!(table.row("c"), b);
        assert_ne!(a, b);
        table.record(b, 1, false);
        let summary = table.summary(2.0);
        assert!(summary.overflowed && summary.estimated);
        assert_eq!(summary.rows[0].name, OTHER);
        assert_eq!(summary.rows[0].calls, 2);
    }
}
