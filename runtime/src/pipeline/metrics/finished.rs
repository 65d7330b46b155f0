//! What the metrics read of a finished span, from a record as it reaches the
//! export thread or from the `SpanData` of a kept trace: name, kind, code
//! location, attributes, outcome, duration, ids.

use std::time::{Duration, SystemTime};

use opentelemetry::KeyValue;
use opentelemetry::trace::{SpanId, SpanKind, Status, TraceId};
use opentelemetry_sdk::trace::SpanData;

use super::super::clock::WallClock;
use super::super::record::Record;
use super::super::site::{CallSite, Kind};

/// A finished span, borrowed.
#[derive(Debug)]
pub(crate) struct Finished<'a> {
    pub(crate) name: &'a str,
    pub(crate) kind: Kind,
    /// `code.function.name` of a `#[traced]` call site; for other spans it
    /// is read from the attributes.
    pub(crate) function: Option<&'static str>,
    pub(crate) attributes: &'a [KeyValue],
    pub(crate) failed: bool,
    pub(crate) nanos: u64,
    pub(crate) trace_id: TraceId,
    pub(crate) span_id: SpanId,
    pub(crate) end: End,
}

/// When a span ended, turned into wall-clock time only if an exemplar
/// needs it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum End {
    Tick(super::super::clock::Tick),
    Wall(SystemTime),
}

impl End {
    pub(crate) fn wall(self, clock: &WallClock) -> SystemTime {
        match self {
            End::Tick(tick) => clock.wall_time(tick),
            End::Wall(time) => time,
        }
    }
}

pub(crate) fn kind_of(kind: &SpanKind) -> Kind {
    match kind {
        SpanKind::Server => Kind::Server,
        SpanKind::Client => Kind::Client,
        SpanKind::Producer => Kind::Producer,
        SpanKind::Consumer => Kind::Consumer,
        SpanKind::Internal => Kind::Internal,
    }
}

fn nanos_between(start: SystemTime, end: SystemTime) -> u64 {
    let lasted = end.duration_since(start).unwrap_or(Duration::ZERO);
    u64::try_from(lasted.as_nanos()).unwrap_or(u64::MAX)
}

impl<'a> Finished<'a> {
    /// A record as it reaches the export thread; `site` is its call site.
    pub(crate) fn of_record(record: &'a Record, clock: &WallClock) -> Finished<'a> {
        let site: Option<&'static CallSite> = record.site;
        let extra = record.extra.as_deref();
        let mut finished = Finished {
            name: site.map_or("", |site| site.name),
            kind: site.map_or(Kind::Internal, |site| site.kind),
            function: site.and_then(CallSite::function_name),
            attributes: &[],
            failed: false,
            nanos: record.end.nanos_since(record.start),
            trace_id: record.trace_id,
            span_id: record.span_id,
            end: End::Tick(record.end),
        };
        if let Some(extra) = extra {
            if let Some(name) = &extra.name {
                finished.name = name;
            }
            if let Some(kind) = &extra.kind {
                finished.kind = kind_of(kind);
            }
            finished.attributes = &extra.attributes;
            finished.failed = matches!(extra.status, Status::Error { .. });
            // Times given through the OpenTelemetry API are wall-clock times.
            if extra.start_time.is_some() || extra.end_time.is_some() {
                let start = extra
                    .start_time
                    .unwrap_or_else(|| clock.wall_time(record.start));
                let end = extra
                    .end_time
                    .unwrap_or_else(|| clock.wall_time(record.end));
                finished.nanos = nanos_between(start, end);
                finished.end = End::Wall(end.max(start));
            }
        }
        finished
    }

    /// The `SpanData` of a span whose trace was kept.
    pub(crate) fn of_span(span: &'a SpanData) -> Finished<'a> {
        Finished {
            name: &span.name,
            kind: kind_of(&span.span_kind),
            function: None,
            attributes: &span.attributes,
            failed: matches!(span.status, Status::Error { .. }),
            nanos: nanos_between(span.start_time, span.end_time),
            trace_id: span.span_context.trace_id(),
            span_id: span.span_context.span_id(),
            end: End::Wall(span.end_time),
        }
    }
}
