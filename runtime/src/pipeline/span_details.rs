//! What a span has beyond its ids and times: attributes set while it runs,
//! events, links, a status, a name or kind chosen at run time. Most spans
//! have none of it, so it lives in a separate box, taken from a per-thread
//! pool when first needed and sent back to a thread's pool after export.

use std::borrow::Cow;
use std::time::SystemTime;

use opentelemetry::trace::{Event, Link, SpanKind, Status};
use opentelemetry::{InstrumentationScope, KeyValue};

use super::Limits;

/// Everything about a span that is not fixed at its call site.
#[derive(Debug, Default)]
pub(crate) struct SpanDetails {
    /// Set by `update_name`, or the name of a span from another tracer.
    pub(crate) name: Option<Cow<'static, str>>,
    /// The kind of a span from another tracer.
    pub(crate) kind: Option<SpanKind>,
    /// The instrumentation scope of a span from another tracer.
    pub(crate) scope: Option<InstrumentationScope>,
    pub(crate) attributes: Vec<KeyValue>,
    pub(crate) dropped_attributes: u32,
    pub(crate) events: Vec<Event>,
    pub(crate) dropped_events: u32,
    pub(crate) links: Vec<Link>,
    pub(crate) dropped_links: u32,
    pub(crate) status: Status,
    /// Explicit times given through the OpenTelemetry API.
    pub(crate) start_time: Option<SystemTime>,
    pub(crate) end_time: Option<SystemTime>,
}

impl SpanDetails {
    /// Empties it for reuse, keeping the vectors' capacity.
    pub(crate) fn clear(&mut self) {
        self.name = None;
        self.kind = None;
        self.scope = None;
        self.attributes.clear();
        self.dropped_attributes = 0;
        self.events.clear();
        self.dropped_events = 0;
        self.links.clear();
        self.dropped_links = 0;
        self.status = Status::Unset;
        self.start_time = None;
        self.end_time = None;
    }

    pub(crate) fn push_attribute(&mut self, attribute: KeyValue, limits: &Limits) {
        if self.attributes.len() < limits.attributes as usize {
            self.attributes.push(attribute);
        } else {
            self.dropped_attributes += 1;
        }
    }

    pub(crate) fn push_event(&mut self, event: Event, limits: &Limits) {
        if self.events.len() < limits.events as usize {
            self.events.push(event);
        } else {
            self.dropped_events += 1;
        }
    }

    pub(crate) fn push_link(&mut self, link: Link, limits: &Limits) {
        if self.links.len() < limits.links as usize {
            self.links.push(link);
        } else {
            self.dropped_links += 1;
        }
    }

    /// Memory it holds, roughly: what a pending span costs beyond its record.
    pub(crate) fn footprint(&self) -> usize {
        size_of::<SpanDetails>()
            + self.attributes.capacity() * size_of::<KeyValue>()
            + self.events.capacity() * size_of::<Event>()
            + self.links.capacity() * size_of::<Link>()
    }
}
