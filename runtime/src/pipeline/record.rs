//! A finished span on its way to the export thread: a fixed-size record,
//! with the call site's static data referenced, not copied.

use opentelemetry::trace::{SpanId, TraceFlags, TraceId, TraceState};

use super::clock::Tick;
use super::site::CallSite;
use super::span_details::SpanDetails;

#[derive(Debug)]
pub(crate) struct Record {
    pub(crate) trace_id: TraceId,
    pub(crate) span_id: SpanId,
    pub(crate) parent_span_id: SpanId,
    pub(crate) parent_is_remote: bool,
    pub(crate) flags: TraceFlags,
    pub(crate) start: Tick,
    pub(crate) end: Tick,
    /// The `#[traced]` call site; `None` for spans made through the
    /// OpenTelemetry API, whose name, kind and scope are in `extra`.
    pub(crate) site: Option<&'static CallSite>,
    pub(crate) trace_state: TraceState,
    pub(crate) extra: Option<Box<SpanDetails>>,
}

impl Record {
    /// Memory a pending record holds, roughly.
    pub(crate) fn footprint(&self) -> usize {
        size_of::<Record>() + self.extra.as_ref().map_or(0, |extra| extra.footprint())
    }
}
