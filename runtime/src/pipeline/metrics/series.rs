//! The series of one metric: found by the hash of their key, with no
//! allocation on the way, and capped. Past the cardinality limit, spans with
//! a new key count into one overflow series, `otel.metric.overflow=true`,
//! which is itself one of the limit's series, as the specification counts.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use opentelemetry::KeyValue;

use super::classify::{Key, OwnedPart, attributes};
use super::exemplars::Exemplars;
use super::families::Family;
use super::histogram::Histogram;
use super::snapshot::Temporality;

/// The index's keys are hashes already.
#[derive(Debug, Default)]
struct AsIs(u64);

impl Hasher for AsIs {
    fn write(&mut self, _: &[u8]) {
        unreachable!("only u64 keys")
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

const NONE: u32 = u32::MAX;

/// One series: its key, its attributes as exported, its durations and its
/// exemplars.
#[derive(Debug)]
pub(crate) struct Series {
    key: Box<[Option<OwnedPart>]>,
    pub(crate) attributes: Vec<KeyValue>,
    /// The next series whose key has the same hash.
    next: u32,
    pub(crate) histogram: Histogram,
    pub(crate) exemplars: Exemplars,
}

/// The series of one metric.
#[derive(Debug)]
pub(crate) struct Table {
    pub(crate) family: Family,
    /// Upper bounds of the buckets but the last, in nanoseconds.
    bounds: Box<[u64]>,
    limit: usize,
    temporality: Temporality,
    index: HashMap<u64, u32, BuildHasherDefault<AsIs>>,
    pub(crate) series: Vec<Series>,
    overflow: Option<u32>,
}

impl Table {
    pub(crate) fn new(family: Family, limit: usize, temporality: Temporality) -> Self {
        Table {
            family,
            bounds: family
                .bounds()
                .iter()
                .map(|seconds| (seconds * 1e9).round() as u64)
                .collect(),
            limit: limit.max(1),
            temporality,
            index: HashMap::default(),
            series: Vec::new(),
            overflow: None,
        }
    }

    /// Buckets per series.
    pub(crate) fn buckets(&self) -> usize {
        self.bounds.len() + 1
    }

    /// The bucket a duration falls in: the first whose upper bound it does
    /// not exceed.
    #[inline]
    pub(crate) fn bucket(&self, nanos: u64) -> usize {
        self.bounds.partition_point(|bound| *bound < nanos)
    }

    /// The series of `key`, if there is one.
    #[inline]
    pub(crate) fn find(&self, key: &Key<'_>, hash: u64) -> Option<u32> {
        let mut at = *self.index.get(&hash)?;
        while at != NONE {
            let series = &self.series[at as usize];
            if key.matches(&series.key) {
                return Some(at);
            }
            at = series.next;
        }
        None
    }

    /// The series of `key`, added if new; past the limit, the overflow
    /// series.
    #[inline]
    pub(crate) fn series_for(&mut self, key: &Key<'_>) -> u32 {
        let hash = key.hash();
        if let Some(at) = self.find(key, hash) {
            return at;
        }
        let regular = self.series.len() - usize::from(self.overflow.is_some());
        if regular + 1 >= self.limit {
            return self.overflow();
        }
        let owned = key.owned();
        let at = self.add(Series {
            attributes: attributes(self.family, &owned),
            key: owned,
            next: NONE,
            histogram: Histogram::new(self.buckets(), self.temporality),
            exemplars: Exemplars::default(),
        });
        let head = self.index.entry(hash).or_insert(NONE);
        self.series[at as usize].next = *head;
        *head = at;
        at
    }

    fn overflow(&mut self) -> u32 {
        if let Some(at) = self.overflow {
            return at;
        }
        let at = self.add(Series {
            attributes: vec![KeyValue::new("otel.metric.overflow", true)],
            key: Box::new([]),
            next: NONE,
            histogram: Histogram::new(self.buckets(), self.temporality),
            exemplars: Exemplars::default(),
        });
        self.overflow = Some(at);
        at
    }

    fn add(&mut self, series: Series) -> u32 {
        self.series.push(series);
        u32::try_from(self.series.len() - 1).expect("series are capped far below 2^32")
    }

    pub(crate) fn get_mut(&mut self, at: u32) -> &mut Series {
        &mut self.series[at as usize]
    }

    /// Spans counted into the overflow series, unscaled.
    pub(crate) fn overflowed(&self) -> u64 {
        self.overflow
            .map_or(0, |at| self.series[at as usize].histogram.seen())
    }

    pub(crate) fn temporality(&self) -> Temporality {
        self.temporality
    }

    /// The cardinality limit.
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use opentelemetry::trace::{SpanId, TraceId};

    use super::super::super::site::Kind;
    use super::super::classify::{key, site_key};
    use super::super::finished::{End, Finished};
    use super::*;

    fn named(name: &str) -> Finished<'_> {
        Finished {
            name,
            kind: Kind::Internal,
            function: None,
            attributes: &[],
            failed: false,
            nanos: 1,
            trace_id: TraceId::INVALID,
            span_id: SpanId::INVALID,
            end: End::Wall(SystemTime::UNIX_EPOCH),
        }
    }

    #[test]
    fn buckets_include_their_upper_bound() {
        let table = Table::new(Family::HttpServer, 10, Temporality::Cumulative);
        assert_eq!(table.buckets(), 15);
        assert_eq!(table.bucket(0), 0);
        assert_eq!(table.bucket(5_000_000), 0);
        assert_eq!(table.bucket(5_000_001), 1);
        assert_eq!(table.bucket(10_000_000_000), 13);
        assert_eq!(table.bucket(10_000_000_001), 14);
    }

    #[test]
    fn the_limit_counts_the_overflow_series() {
        let mut table = Table::new(Family::Function, 3, Temporality::Cumulative);
        let names: Vec<String> = (0..10).map(|n| format!("f{n}")).collect();
        let series: Vec<u32> = names
            .iter()
            .map(|name| table.series_for(&key(&named(name))))
            .collect();
        assert_eq!(&series[..3], [0, 1, 2]);
        assert!(series[3..].iter().all(|at| *at == 2), "{series:?}");
        assert_eq!(table.series.len(), 3);
        assert_eq!(
            table.series[2].attributes,
            [KeyValue::new("otel.metric.overflow", true)]
        );
        // Known keys keep their series.
        assert_eq!(table.series_for(&key(&named("f1"))), 1);
    }

    #[test]
    fn keys_with_the_same_hash_keep_their_own_series() {
        let mut table = Table::new(Family::Function, 100, Temporality::Cumulative);
        let a = site_key("a", Kind::Internal, Some("m::a"));
        let b = site_key("b", Kind::Internal, Some("m::b"));
        let at_a = table.series_for(&a);
        // Put b under a's hash by hand, as a collision would.
        let owned = b.owned();
        let at_b = table.add(Series {
            attributes: attributes(Family::Function, &owned),
            key: owned,
            next: NONE,
            histogram: Histogram::new(table.buckets(), Temporality::Cumulative),
            exemplars: Exemplars::default(),
        });
        let head = table.index.get_mut(&a.hash()).unwrap();
        table.series[at_b as usize].next = *head;
        *head = at_b;
        assert_eq!(table.find(&a, a.hash()), Some(at_a));
        assert_eq!(table.find(&b, a.hash()), Some(at_b));
        assert_eq!(table.find(&b, b.hash()), None);
    }
}
