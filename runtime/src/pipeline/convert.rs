//! Records become `SpanData` on the export thread: the call site's
//! attributes are merged here, in the order they were declared (literal
//! values from the site, recorded ones from the record's slots). What a span's
//! extra holds is cloned, not moved, so the extra can go back to its thread
//! and everything in it is freed there.

use std::borrow::Cow;
use std::panic::{AssertUnwindSafe, catch_unwind};

use opentelemetry::trace::{SpanContext, SpanKind, Status, TraceState};
use opentelemetry::{Key, KeyValue, Value};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};

use super::Limits;
use super::clock::WallClock;
use super::record::Record;
use super::site::{CallSite, SiteAttribute, SiteValue};
use super::truncate::truncate_span;

/// The `SpanData` exporters take for `record`.
pub(crate) fn span_data(record: &Record, clock: &WallClock, limits: &Limits) -> SpanData {
    let extra = record.extra.as_deref();
    let site = record.site;
    let mut attributes = Vec::with_capacity(
        site.map_or(0, |site| 3 + site.attributes().len())
            + extra.map_or(0, |extra| extra.attributes.len()),
    );
    if let Some(site) = site {
        site.push_code_attributes(&mut attributes);
        site_attributes(site, record, &mut attributes);
    }
    let mut events = SpanEvents::default();
    let mut links = SpanLinks::default();
    let mut dropped_attributes_count = 0;
    let mut status = Status::Unset;
    let mut name: Cow<'static, str> = Cow::Borrowed(site.map_or("", |site| site.name));
    let mut kind = site.map_or(SpanKind::Internal, |site| site.kind.to_otel());
    let mut scope = site.map(|site| site.scope().clone());
    let mut start_time = clock.wall_time(record.start);
    let mut end_time = clock.wall_time(record.end);
    if let Some(extra) = extra {
        attributes.extend(extra.attributes.iter().cloned());
        dropped_attributes_count = extra.dropped_attributes;
        events.events = extra.events.clone();
        events.dropped_count = extra.dropped_events;
        links.links = extra.links.clone();
        links.dropped_count = extra.dropped_links;
        status = extra.status.clone();
        if let Some(renamed) = &extra.name {
            name = renamed.clone();
        }
        if let Some(dynamic) = &extra.kind {
            kind = dynamic.clone();
        }
        if let Some(dynamic) = &extra.scope {
            scope = Some(dynamic.clone());
        }
        start_time = extra.start_time.unwrap_or(start_time);
        end_time = extra.end_time.unwrap_or(end_time);
    }
    // The code.* attributes count against the limit too, as they would on
    // an SDK span.
    if attributes.len() > limits.attributes as usize {
        let over = attributes.len() - limits.attributes as usize;
        dropped_attributes_count += u32::try_from(over).unwrap_or(u32::MAX);
        attributes.truncate(limits.attributes as usize);
    }
    let trace_state = extra.map_or(TraceState::NONE, |extra| extra.trace_state.clone());
    let mut data = SpanData {
        span_context: SpanContext::new(
            record.trace_id,
            record.span_id,
            record.flags,
            false,
            trace_state,
        ),
        parent_span_id: record.parent_span_id,
        parent_span_is_remote: record.parent_is_remote,
        span_kind: kind,
        name,
        start_time,
        end_time: end_time.max(start_time),
        attributes,
        dropped_attributes_count,
        events,
        links,
        status,
        instrumentation_scope: scope.unwrap_or_default(),
    };
    if let Some(limit) = limits.value_length {
        truncate_span(&mut data, limit);
    }
    data
}

/// The attributes `record` carries, `code.*` aside: its call site's, then
/// those set through the OpenTelemetry API.
pub(crate) fn record_attributes(record: &Record, attributes: &mut Vec<KeyValue>) {
    let extra = record.extra.as_deref();
    if let Some(site) = record.site {
        site_attributes(site, record, attributes);
    }
    if let Some(extra) = extra {
        attributes.extend(extra.attributes.iter().cloned());
    }
}

/// The call site's attributes, in the order they were declared: literal
/// values from the site, constants read now, recorded values from the
/// record's slots.
fn site_attributes(site: &CallSite, record: &Record, attributes: &mut Vec<KeyValue>) {
    let held = record.held();
    let mut recorded = 0;
    for attribute in site.attributes() {
        let value = match attribute.value {
            SiteValue::Recorded => {
                recorded += 1;
                record.slots.get(recorded - 1, held).value(held)
            }
            SiteValue::Literal(_) => attribute.known(),
            SiteValue::Constant(_) => read_constant(attribute),
        };
        if let Some(value) = value {
            attributes.push(KeyValue::new(Key::from_static_str(attribute.key), value));
        }
    }
}

/// A constant's value; its `Display` or `Debug` runs here, and a panic in
/// either leaves the attribute out rather than stop the export thread.
pub(super) fn read_constant(attribute: &SiteAttribute) -> Option<Value> {
    catch_unwind(AssertUnwindSafe(|| attribute.known())).unwrap_or(None)
}
