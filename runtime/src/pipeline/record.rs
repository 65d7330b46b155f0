//! A finished span on its way to the export thread: a fixed-size record,
//! with the call site's static data referenced, not copied, and the values
//! its call recorded inline.

use opentelemetry::trace::{SpanId, TraceFlags, TraceId};

use super::clock::Tick;
use super::site::CallSite;
use super::span_details::SpanDetails;
use super::values::{Held, Slots};

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
    /// The values of the call site's recorded attributes.
    pub(crate) slots: Slots,
    pub(crate) extra: Option<Box<SpanDetails>>,
}

impl Record {
    /// Where the values its call recorded are held.
    pub(crate) fn held(&self) -> Held<'_> {
        Held {
            inline_text: self.slots.inline_text(),
            ..self
                .extra
                .as_deref()
                .map(SpanDetails::held)
                .unwrap_or_default()
        }
    }

    /// Memory a pending record holds, the text of its values included.
    pub(crate) fn footprint(&self) -> usize {
        size_of::<Record>() + self.extra.as_ref().map_or(0, |extra| extra.footprint())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lanes hold records by value, and every byte of a record is carried
    /// from the ending thread to the export thread: ids, times, the site and
    /// the inline values in 112.
    #[test]
    fn a_record_stays_small() {
        assert!(size_of::<Record>() <= 112, "{}", size_of::<Record>());
    }
}
