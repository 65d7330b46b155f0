//! What a record says about its span, read in place for an encoder that
//! copies nothing: the span [`span_data`](super::convert::span_data) would
//! build (the call site's attributes merged in declared order, `code.*`
//! counted against the attribute limit, text cut to the value length
//! limit, times from the wall clock, the end never before the start),
//! without building it.

use std::time::SystemTime;

use opentelemetry::InstrumentationScope;
use opentelemetry::trace::{
    Event, Link, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};

use super::Limits;
use super::clock::{WallClock, unix_nanos};
use super::convert::read_constant;
use super::record::Record;
use super::site::{CallSite, CodeValue, SiteValue};
use super::span_details::SpanDetails;
use super::values::{Cut, ValueRef};

/// A record's span, as exporters see it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SpanView<'a> {
    record: &'a Record,
    extra: Option<&'a SpanDetails>,
    clock: &'a WallClock,
    limits: &'a Limits,
}

impl<'a> SpanView<'a> {
    pub(crate) fn new(record: &'a Record, clock: &'a WallClock, limits: &'a Limits) -> Self {
        SpanView {
            record,
            extra: record.extra.as_deref(),
            clock,
            limits,
        }
    }

    pub(crate) fn trace_id(&self) -> TraceId {
        self.record.trace_id
    }

    pub(crate) fn span_id(&self) -> SpanId {
        self.record.span_id
    }

    /// `SpanId::INVALID` for a root.
    pub(crate) fn parent_span_id(&self) -> SpanId {
        self.record.parent_span_id
    }

    pub(crate) fn parent_is_remote(&self) -> bool {
        self.record.parent_is_remote
    }

    pub(crate) fn flags(&self) -> TraceFlags {
        self.record.flags
    }

    /// The span's trace state, when it has one.
    pub(crate) fn trace_state(&self) -> Option<&'a TraceState> {
        self.extra
            .map(|extra| &extra.trace_state)
            .filter(|state| **state != TraceState::NONE)
    }

    pub(crate) fn name(&self) -> &'a str {
        match self.extra.and_then(|extra| extra.name.as_deref()) {
            Some(renamed) => renamed,
            None => self.record.site.map_or("", |site| site.name),
        }
    }

    pub(crate) fn kind(&self) -> SpanKind {
        match self.extra.and_then(|extra| extra.kind.as_ref()) {
            Some(dynamic) => dynamic.clone(),
            None => self
                .record
                .site
                .map_or(SpanKind::Internal, |site| site.kind.to_otel()),
        }
    }

    /// The instrumentation scope; `None` for the default (empty) one.
    pub(crate) fn scope(&self) -> Option<&'a InstrumentationScope> {
        match self.extra.and_then(|extra| extra.scope.as_ref()) {
            Some(dynamic) => Some(dynamic),
            None => self.record.site.map(|site| site.scope()),
        }
    }

    /// Whether [`scope`](Self::scope) is the call site's, which lives as
    /// long as the process.
    pub(crate) fn scope_is_the_sites(&self) -> bool {
        self.record.site.is_some() && self.extra.is_none_or(|extra| extra.scope.is_none())
    }

    /// Start and end in nanoseconds since the Unix epoch, the end never
    /// before the start.
    pub(crate) fn times(&self) -> (u64, u64) {
        let explicit = |time: Option<SystemTime>| time.map(unix_nanos);
        let start = explicit(self.extra.and_then(|extra| extra.start_time))
            .unwrap_or_else(|| self.clock.unix_nanos(self.record.start));
        let end = explicit(self.extra.and_then(|extra| extra.end_time))
            .unwrap_or_else(|| self.clock.unix_nanos(self.record.end));
        (start, end.max(start))
    }

    /// The call site, when the span has one.
    pub(crate) fn site(&self) -> Option<&'static CallSite> {
        self.record.site
    }

    /// Whether the span's name and kind are its call site's.
    pub(crate) fn named_by_its_site(&self) -> bool {
        self.record.site.is_some()
            && self
                .extra
                .is_none_or(|extra| extra.name.is_none() && extra.kind.is_none())
    }

    /// Attributes a span exports, at most.
    pub(crate) fn attribute_limit(&self) -> usize {
        self.limits.attributes as usize
    }

    /// Calls `each` with every attribute the span exports, in order:
    /// `code.*`, the call site's (literal values, constants read now,
    /// recorded values), those set through the OpenTelemetry API; up to the
    /// attribute limit, text cut to the value length limit. Returns the
    /// count of attributes dropped, those over the limit included.
    pub(crate) fn attributes(&self, each: impl FnMut(&str, ValueRef<'_>)) -> u32 {
        self.attributes_from(None, each)
    }

    /// The same, past the `leading` attributes of the call site
    /// ([`leading_attributes`]), which the caller wrote already (no more
    /// than the limit).
    pub(crate) fn attributes_after_leading(
        &self,
        leading: usize,
        each: impl FnMut(&str, ValueRef<'_>),
    ) -> u32 {
        self.attributes_from(Some(leading), each)
    }

    fn attributes_from(
        &self,
        leading: Option<usize>,
        mut each: impl FnMut(&str, ValueRef<'_>),
    ) -> u32 {
        let limit = self.attribute_limit();
        let cut = self.cut();
        let mut written = leading.unwrap_or(0);
        let mut over = 0_u32;
        let mut put = |key: &str, value: ValueRef<'_>| {
            if written < limit {
                each(key, value);
                written += 1;
            } else {
                over = over.saturating_add(1);
            }
        };
        let record = self.record;
        if let Some(site) = record.site {
            if leading.is_none() {
                leading_attributes(site, cut, &mut put);
            }
            let held = record.held();
            let mut recorded = 0;
            for attribute in &site.attributes()[site.leading_literals()..] {
                match attribute.value {
                    SiteValue::Recorded => {
                        recorded += 1;
                        let slot = record.slots.get(recorded - 1, held);
                        if let Some(value) = slot.value_ref(held, cut) {
                            put(attribute.key, value);
                        }
                    }
                    SiteValue::Literal(literal) => {
                        put(attribute.key, ValueRef::of(&literal.to_value(), cut));
                    }
                    SiteValue::Constant(_) => {
                        if let Some(value) = read_constant(attribute) {
                            put(attribute.key, ValueRef::of(&value, cut));
                        }
                    }
                }
            }
        }
        let Some(extra) = self.extra else {
            return over;
        };
        for attribute in &extra.attributes {
            put(attribute.key.as_str(), ValueRef::of(&attribute.value, cut));
        }
        extra.dropped_attributes.saturating_add(over)
    }

    pub(crate) fn events(&self) -> &'a [Event] {
        self.extra.map_or(&[], |extra| &extra.events)
    }

    pub(crate) fn dropped_events(&self) -> u32 {
        self.extra.map_or(0, |extra| extra.dropped_events)
    }

    pub(crate) fn links(&self) -> &'a [Link] {
        self.extra.map_or(&[], |extra| &extra.links)
    }

    pub(crate) fn dropped_links(&self) -> u32 {
        self.extra.map_or(0, |extra| extra.dropped_links)
    }

    pub(crate) fn status(&self) -> Option<&'a Status> {
        self.extra.map(|extra| &extra.status)
    }

    /// The value length limit, which the text of events' and links'
    /// attributes is cut to as well.
    pub(crate) fn cut(&self) -> Cut {
        Cut(self.limits.value_length)
    }
}

/// Calls `each` with the attributes every span of `site` starts with,
/// whatever its call recorded: `code.*`, then the leading literal ones, text
/// cut to `cut`; returns their count. The spans of a site all encode them
/// alike, so an encoder may keep them encoded.
pub(crate) fn leading_attributes(
    site: &CallSite,
    cut: Cut,
    mut each: impl FnMut(&str, ValueRef<'_>),
) -> usize {
    let mut count = 0;
    for (key, value) in site.code_values() {
        let value = match value {
            CodeValue::Text(text) => ValueRef::Str(cut.apply(text)),
            number => number.value_ref(),
        };
        each(key, value);
        count += 1;
    }
    for attribute in &site.attributes()[..site.leading_literals()] {
        if let SiteValue::Literal(literal) = attribute.value {
            each(attribute.key, ValueRef::of(&literal.to_value(), cut));
            count += 1;
        }
    }
    count
}
