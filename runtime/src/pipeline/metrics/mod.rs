//! Request rate, errors and duration from recorded spans, computed on the
//! export thread: the threads that make spans do nothing more.
//!
//! Every span the export thread takes is measured before tail sampling
//! holds it ([`RedMetrics::measure`]), so the counts cover every recorded
//! call whichever traces are kept; under head ratio sampling each span
//! counts for the inverse of the ratio. A span goes to the semantic
//! conventions' duration histogram of its kind ([`classify`]) or to
//! `function.calls` and `function.calls.duration`; each metric's series are
//! capped ([`series`]). Exemplars point only at spans that are exported:
//! without tail sampling that is every measured span; with it, a span is
//! offered as an exemplar only when its trace is kept
//! ([`RedMetrics::kept_record`], [`RedMetrics::kept_span`]), so a dropped
//! trace never becomes one.
//!
//! Every export interval, and at each flush and the shutdown, a collection
//! ([`MetricsSnapshot`]) goes to the metric sinks, with the pipeline's own
//! health ([`health`]).

mod classify;
mod exemplars;
mod families;
mod finished;
mod health;
mod histogram;
mod key_hasher;
mod series;
mod sink;
mod snapshot;
mod summary;

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use opentelemetry::KeyValue;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SpanData;

use super::clock::WallClock;
use super::convert::record_attributes;
use super::record::Record;
use super::site::{AddressHasher, CallSite, Kind};
use super::tail::Counters;
use super::{PipelineCore, sampling};
use exemplars::{Candidate, Rng};
use families::{CALLS_DESCRIPTION, Family};
use finished::Finished;
use health::Health;
use series::Table;
use summary::SummaryTable;

pub(crate) use sink::MetricSink;
#[cfg(feature = "otlp")]
pub(crate) use snapshot::Exemplar;
#[cfg(test)]
pub(crate) use snapshot::SummaryRow;
pub(crate) use snapshot::{
    Data, HistogramPoint, Metric, MetricsSnapshot, NumberPoint, Summary, Temporality,
};
/// What the metrics of a pipeline are built from.
#[derive(Debug)]
pub(crate) struct MetricsSettings {
    /// Between two collections sent to the sinks.
    pub(crate) interval: Duration,
    pub(crate) temporality: Temporality,
    /// Series per metric at most, the overflow series included.
    pub(crate) cardinality_limit: usize,
    /// The kinds of span measured; empty: none, and only the pipeline's
    /// health is reported.
    pub(crate) kinds: Vec<Kind>,
    /// Spans are exported, so exemplars may point at them.
    pub(crate) exemplars: bool,
    pub(crate) sinks: Vec<Box<dyn MetricSink>>,
}

const SKIPPED: u32 = u32::MAX;

/// Where the spans of a call site without attributes go.
#[derive(Clone, Copy, Debug)]
struct SiteEntry {
    /// Whether a metric reads one of the call site's own attributes: its
    /// spans are then classified by their values, never counted as bare.
    keys_read: bool,
    /// Its `function.calls` series; [`SKIPPED`] when its spans are not
    /// measured.
    series: u32,
    /// Its row in the summary; [`SKIPPED`] without one.
    row: u32,
}

/// The metrics of one pipeline, owned by its export thread.
#[derive(Debug)]
pub(crate) struct RedMetrics {
    measured: [bool; 5],
    exemplars: bool,
    tables: Vec<Table>,
    sites: HashMap<usize, SiteEntry, BuildHasherDefault<AddressHasher>>,
    /// A span's attributes gathered from its record, kept for the next one.
    scratch: Vec<KeyValue>,
    summary: Option<SummaryTable>,
    /// How many calls one recorded span stands for.
    weight: f64,
    rng: Rng,
    health: Health,
    sinks: Vec<Box<dyn MetricSink>>,
    interval: Duration,
    next_export: Instant,
    started: SystemTime,
    last_collection: SystemTime,
    /// The metrics whose limit has been reported reached.
    limit_reported: [bool; 8],
}

fn kind_index(kind: Kind) -> usize {
    match kind {
        Kind::Internal => 0,
        Kind::Server => 1,
        Kind::Client => 2,
        Kind::Producer => 3,
        Kind::Consumer => 4,
    }
}

/// How many calls a recorded span stands for under `rule`: the inverse of
/// the head-sampling ratio of new traces, 1 when every call is recorded or
/// the sampler's ratio is not known.
fn weight_of(rule: sampling::Rule) -> f64 {
    match rule {
        sampling::Rule::Ratio(bound) if bound > 0 => (1_u64 << 63) as f64 / bound as f64,
        _ => 1.0,
    }
}

impl RedMetrics {
    pub(crate) fn new(
        shared: &'static PipelineCore,
        settings: MetricsSettings,
        tail: Option<Arc<Counters>>,
    ) -> Self {
        let mut measured = [false; 5];
        for kind in &settings.kinds {
            measured[kind_index(*kind)] = true;
        }
        let limit = settings.cardinality_limit;
        let temporality = settings.temporality;
        let summary = settings
            .sinks
            .iter()
            .any(|sink| sink.wants_summary())
            .then(|| SummaryTable::new(limit));
        let now = SystemTime::now();
        RedMetrics {
            measured,
            exemplars: settings.exemplars,
            tables: Family::ALL
                .iter()
                .map(|family| Table::new(*family, limit, temporality))
                .collect(),
            sites: HashMap::default(),
            scratch: Vec::new(),
            summary,
            weight: weight_of(shared.rule),
            rng: Rng::new(
                now.duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64),
            ),
            health: Health::new(shared, tail, temporality),
            sinks: settings.sinks,
            interval: settings.interval,
            next_export: Instant::now() + settings.interval,
            started: now,
            last_collection: now,
            limit_reported: [false; 8],
        }
    }

    pub(crate) fn set_resource(&mut self, resource: &Resource) {
        for sink in &mut self.sinks {
            sink.set_resource(resource);
        }
    }

    /// Measures a span as it reaches the export thread. `exported` says it
    /// goes to the exporters as it is (no tail sampling), so it may be an
    /// exemplar now.
    #[inline]
    pub(crate) fn measure(&mut self, record: &Record, clock: &WallClock, exported: bool) {
        let exported = exported && self.exemplars;
        if let Some(site) = record.site {
            if !site.metrics() {
                return;
            }
            let entry = self.site_entry(site);
            if !entry.keys_read && self.measure_as_bare(entry, site, record, clock, exported) {
                return;
            }
        }
        self.with_attributes(record, clock, |metrics, span| {
            metrics.measure_span(span, clock, exported);
        });
    }

    /// Runs `f` on `record` as a finished span with all its attributes:
    /// its call site's, its slots' and those set through the API. Without
    /// call-site attributes those are borrowed as they are, not gathered.
    fn with_attributes(
        &mut self,
        record: &Record,
        clock: &WallClock,
        f: impl FnOnce(&mut Self, &Finished<'_>),
    ) {
        if record.site.is_none_or(|site| site.attributes().is_empty()) {
            f(self, &Finished::of_record(record, clock));
            return;
        }
        let mut attributes = std::mem::take(&mut self.scratch);
        attributes.clear();
        record_attributes(record, &mut attributes);
        let mut span = Finished::of_record(record, clock);
        span.attributes = &attributes;
        f(self, &span);
        self.scratch = attributes;
    }

    /// Counts a span of `site`, none of whose own attributes a metric reads,
    /// into the series of the site's bare spans, found without a key, when
    /// nothing else about it says otherwise; `false` when something does.
    #[inline]
    fn measure_as_bare(
        &mut self,
        entry: SiteEntry,
        site: &'static CallSite,
        record: &Record,
        clock: &WallClock,
        exported: bool,
    ) -> bool {
        if record.extra.is_none() {
            if entry.series == SKIPPED {
                return true;
            }
            let nanos = record.end.nanos_since(record.start);
            let candidate = exported.then_some(Candidate {
                nanos,
                trace_id: record.trace_id,
                span_id: record.span_id,
            });
            self.record_site(entry, nanos, false, candidate, || {
                clock.wall_time(record.end)
            });
            return true;
        }
        let span = Finished::of_record(record, clock);
        // Attributes no metric reads leave a call site's span in the
        // series its bare spans go to.
        if !classify::keyed_as(&span, site) {
            return false;
        }
        if entry.series != SKIPPED {
            let candidate = exported.then_some(Candidate {
                nanos: span.nanos,
                trace_id: span.trace_id,
                span_id: span.span_id,
            });
            let end = span.end;
            self.record_site(entry, span.nanos, span.failed, candidate, || {
                end.wall(clock)
            });
        }
        true
    }

    /// Records a span of `entry`'s call site into its series and summary
    /// row; `candidate` may become an exemplar, ending at `end`.
    #[inline]
    fn record_site(
        &mut self,
        entry: SiteEntry,
        nanos: u64,
        failed: bool,
        candidate: Option<Candidate>,
        end: impl FnOnce() -> SystemTime,
    ) {
        let table = &mut self.tables[Family::Function.index()];
        let bucket = table.bucket(nanos);
        let buckets = table.buckets();
        let series = table.get_mut(entry.series);
        series.histogram.record(bucket, nanos);
        if let Some(candidate) = candidate {
            series
                .exemplars
                .offer(bucket, buckets, candidate, &mut self.rng, end);
        }
        if let Some(summary) = &mut self.summary {
            summary.record(entry.row, nanos, failed);
        }
    }

    /// The entry of a call site, made on its first span.
    #[inline]
    fn site_entry(&mut self, site: &'static CallSite) -> SiteEntry {
        let address = std::ptr::from_ref(site) as usize;
        if let Some(entry) = self.sites.get(&address) {
            return *entry;
        }
        let keys_read = site
            .attributes()
            .iter()
            .any(|attribute| classify::read_by_some(attribute.key));
        let entry = if site.metrics() && self.measured[kind_index(site.kind)] {
            let key = classify::site_key(site.name, site.kind, site.function_name());
            let series = self.tables[Family::Function.index()].series_for(&key);
            self.check_limit(Family::Function);
            SiteEntry {
                keys_read,
                series,
                row: self
                    .summary
                    .as_mut()
                    .map_or(SKIPPED, |summary| summary.row(site.name)),
            }
        } else {
            SiteEntry {
                keys_read,
                series: SKIPPED,
                row: SKIPPED,
            }
        };
        self.sites.insert(address, entry);
        entry
    }

    fn measure_span(&mut self, span: &Finished<'_>, clock: &WallClock, exported: bool) {
        if !self.measured[kind_index(span.kind)] {
            return;
        }
        let key = classify::key(span);
        let family = key.family;
        let table = &mut self.tables[family.index()];
        let at = table.series_for(&key);
        let bucket = table.bucket(span.nanos);
        let buckets = table.buckets();
        let series = table.get_mut(at);
        series.histogram.record(bucket, span.nanos);
        if exported {
            let candidate = Candidate {
                nanos: span.nanos,
                trace_id: span.trace_id,
                span_id: span.span_id,
            };
            let end = span.end;
            series
                .exemplars
                .offer(bucket, buckets, candidate, &mut self.rng, || {
                    end.wall(clock)
                });
        }
        if let Some(summary) = &mut self.summary {
            let row = summary.row(span.name);
            summary.record(row, span.nanos, span.failed);
        }
        self.check_limit(family);
    }

    /// A bare record of a kept trace is exported: it may be an exemplar of
    /// the series it was measured into.
    pub(crate) fn kept_record(&mut self, record: &Record, clock: &WallClock) {
        if !self.exemplars {
            return;
        }
        let entry = record.site.and_then(|site| {
            self.sites
                .get(&(std::ptr::from_ref(site) as usize))
                .copied()
        });
        if let (None, Some(entry)) = (&record.extra, entry.filter(|entry| !entry.keys_read)) {
            if entry.series == SKIPPED {
                return;
            }
            let series = entry.series;
            let nanos = record.end.nanos_since(record.start);
            let candidate = Candidate {
                nanos,
                trace_id: record.trace_id,
                span_id: record.span_id,
            };
            self.offer(Family::Function, series, candidate, || {
                clock.wall_time(record.end)
            });
            return;
        }
        self.with_attributes(record, clock, |metrics, span| metrics.kept(span, clock));
    }

    /// A converted span of a kept trace is exported: the same.
    pub(crate) fn kept_span(&mut self, span: &SpanData, clock: &WallClock) {
        if !self.exemplars {
            return;
        }
        self.kept(&Finished::of_span(span), clock);
    }

    fn kept(&mut self, span: &Finished<'_>, clock: &WallClock) {
        if !self.measured[kind_index(span.kind)] {
            return;
        }
        let key = classify::key(span);
        let family = key.family;
        // Only a series the span was measured into: never a new one.
        let Some(at) = self.tables[family.index()].find(&key, key.hash()) else {
            return;
        };
        let candidate = Candidate {
            nanos: span.nanos,
            trace_id: span.trace_id,
            span_id: span.span_id,
        };
        let end = span.end;
        self.offer(family, at, candidate, || end.wall(clock));
    }

    fn offer(
        &mut self,
        family: Family,
        at: u32,
        candidate: Candidate,
        end: impl FnOnce() -> SystemTime,
    ) {
        let table = &mut self.tables[family.index()];
        let bucket = table.bucket(candidate.nanos);
        let buckets = table.buckets();
        table
            .get_mut(at)
            .exemplars
            .offer(bucket, buckets, candidate, &mut self.rng, end);
    }

    /// Says once per metric that its cardinality limit was reached.
    fn check_limit(&mut self, family: Family) {
        let reported = &mut self.limit_reported[family.index()];
        if *reported {
            return;
        }
        let table = &self.tables[family.index()];
        if table.overflowed() > 0 {
            *reported = true;
            eprintln!(
                "traced: metric {} reached its cardinality limit of {} series; spans of new \
                 series are counted under otel.metric.overflow=true (the limit is \
                 TRACED_METRICS_CARDINALITY_LIMIT)",
                family.histogram(),
                table.limit()
            );
        }
    }

    /// When the next collection is due.
    pub(crate) fn next_due(&self) -> Instant {
        self.next_export
    }

    /// Sends a collection to the sinks when one is due.
    pub(crate) fn tick(&mut self, now: Instant) {
        if now >= self.next_export {
            self.export();
        }
    }

    /// Sends a collection to the sinks now.
    pub(crate) fn export(&mut self) {
        self.next_export = Instant::now() + self.interval;
        let snapshot = self.collect();
        for sink in &mut self.sinks {
            sink.export(&snapshot);
        }
    }

    /// Sends a collection and waits until every sink has sent what it was
    /// given.
    pub(crate) fn flush(&mut self) {
        self.export();
        for sink in &mut self.sinks {
            sink.flush();
        }
    }

    /// Sends the last collection and shuts the sinks down, waiting until
    /// `deadline` at most.
    pub(crate) fn shutdown(&mut self, deadline: Instant) {
        self.export();
        self.report_overflow();
        for sink in &mut self.sinks {
            sink.shutdown(deadline);
        }
    }

    /// Says how many spans went to each metric's overflow series.
    fn report_overflow(&self) {
        for table in &self.tables {
            let overflowed = table.overflowed();
            if overflowed > 0 {
                eprintln!(
                    "traced: {} spans were counted under otel.metric.overflow=true in {} \
                     (cardinality limit {} series)",
                    overflowed,
                    table.family.histogram(),
                    table.limit()
                );
            }
        }
    }

    /// The metrics now.
    pub(crate) fn collect(&mut self) -> MetricsSnapshot {
        let now = SystemTime::now();
        let previous = std::mem::replace(&mut self.last_collection, now);
        let mut metrics = Vec::new();
        for table in &mut self.tables {
            collect_table(
                table,
                self.weight,
                self.started,
                previous,
                now,
                &mut metrics,
            );
        }
        self.health
            .collect(self.started, previous, now, &mut metrics);
        MetricsSnapshot {
            metrics,
            summary: self
                .summary
                .as_ref()
                .map(|summary| summary.summary(self.weight)),
        }
    }
}

/// The histogram of one table, and its call counter where it has one.
fn collect_table(
    table: &mut Table,
    weight: f64,
    started: SystemTime,
    previous: SystemTime,
    now: SystemTime,
    into: &mut Vec<Metric>,
) {
    let family = table.family;
    let temporality = table.temporality();
    let start = match temporality {
        Temporality::Cumulative => started,
        Temporality::Delta => previous,
    };
    let mut histograms = Vec::new();
    let mut calls = Vec::new();
    for series in &mut table.series {
        let exemplars = series.exemplars.take();
        let Some(collected) = series.histogram.collect(weight) else {
            continue;
        };
        if family.counter().is_some() {
            calls.push(NumberPoint {
                attributes: series.attributes.clone(),
                start,
                time: now,
                value: i64::try_from(collected.count).unwrap_or(i64::MAX),
            });
        }
        histograms.push(HistogramPoint {
            attributes: series.attributes.clone(),
            start,
            time: now,
            count: collected.count,
            sum: collected.sum_seconds,
            min: collected.min_seconds,
            max: collected.max_seconds,
            bounds: family.bounds(),
            bucket_counts: collected.bucket_counts,
            exemplars,
        });
    }
    if histograms.is_empty() {
        return;
    }
    if let Some(counter) = family.counter() {
        into.push(Metric {
            name: counter,
            description: CALLS_DESCRIPTION,
            unit: "{call}",
            data: Data::Sum {
                monotonic: true,
                temporality,
                points: calls,
            },
        });
    }
    into.push(Metric {
        name: family.histogram(),
        description: family.description(),
        unit: "s",
        data: Data::Histogram {
            temporality,
            points: histograms,
        },
    });
}

#[cfg(test)]
mod tests;
