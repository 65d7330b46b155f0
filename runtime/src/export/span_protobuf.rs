//! A batch of spans as OTLP's `ExportTraceServiceRequest` in protobuf,
//! encoded span by span as the export thread releases them: straight from
//! the pipeline's records (read in place through [`SpanView`], nothing
//! copied or built for them), or from a `SpanData` where one was built.
//! The bytes are those prost writes for opentelemetry-proto's types made
//! from the same spans (fields in tag order, defaults left out), so a
//! collector sees exactly what opentelemetry-otlp would send.
//!
//! Each span is written into the growing buffer of its instrumentation
//! scope, its length put in front once it is known; the request is
//! assembled from those buffers when the batch leaves (one copy), and the
//! buffers serve the next batch.

use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{Event, Link, SpanId, SpanKind, Status, TraceFlags, TraceState};
use opentelemetry::{Array, InstrumentationScope, KeyValue};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SpanData;

use crate::pipeline::{Cut, SpanView, ValueRef};

mod scope_groups;
mod site_cache;
#[cfg(test)]
mod tests;

use scope_groups::{ScopeGroup, ScopeGroups};
use site_cache::{SiteBytes, SiteCache};

/// Protobuf wire types.
const VARINT: u32 = 0;
const FIXED64: u32 = 1;
const LEN: u32 = 2;
const FIXED32: u32 = 5;

/// `SpanFlags`: the span's (or link's) context says whether it is remote.
const CONTEXT_HAS_IS_REMOTE: u32 = 0x100;
const CONTEXT_IS_REMOTE: u32 = 0x200;

/// Text as it is: what a `SpanData` holds was cut when it was built.
const WHOLE: Cut = Cut(None);

/// The batch of spans being encoded for one resource.
#[derive(Debug, Default)]
pub(crate) struct SpanBatch {
    /// The `Resource` message's fields, encoded once.
    resource: Vec<u8>,
    resource_schema_url: String,
    groups: ScopeGroups,
    sites: SiteCache,
    spans: usize,
    /// Bytes the groups' spans hold.
    bytes: usize,
}

impl SpanBatch {
    pub(crate) fn set_resource(&mut self, resource: &Resource) {
        self.resource.clear();
        for (key, value) in resource.iter() {
            put_key_value(
                &mut self.resource,
                1,
                key.as_str(),
                ValueRef::of(value, WHOLE),
            );
        }
        self.resource_schema_url = resource.schema_url().unwrap_or_default().to_owned();
    }

    /// Spans in the batch.
    pub(crate) fn len(&self) -> usize {
        self.spans
    }

    /// What the batch's encoded spans weigh.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Adds the span a record says, read in place.
    pub(crate) fn add_record(&mut self, span: SpanView<'_>) {
        // A call site's scope lives as long as the process: its address
        // names it. A scope set at run time may be freed, its address reused.
        let address = match span.scope() {
            Some(scope) if span.scope_is_the_sites() => std::ptr::from_ref(scope) as usize,
            _ => 0,
        };
        let site = span.site().map(|site| self.sites.get(site, span.cut()));
        let out = self.groups.group_of(span.scope(), address);
        let before = out.len();
        let at = put_open(out, 2);
        put_span_view(out, &span, site);
        close(out, at);
        self.bytes += out.len() - before;
        self.spans += 1;
    }

    /// Adds a span built as `SpanData`.
    pub(crate) fn add_span(&mut self, span: &SpanData) {
        let out = self.groups.group_of(Some(&span.instrumentation_scope), 0);
        let before = out.len();
        let times = Times::of(span);
        put_tag(out, 2, LEN);
        put_varint(out, span_length(span, times) as u64);
        put_span(out, span, times);
        self.bytes += out.len() - before;
        self.spans += 1;
    }

    /// The request carrying the batch, in protobuf, written into `out`
    /// (emptied first); the batch starts anew.
    pub(crate) fn finish(&mut self, mut out: Vec<u8>) -> Vec<u8> {
        let groups = self.groups.live();
        let group_length = |group: &ScopeGroup| {
            field_length(1, scope_length(&group.scope))
                + group.spans.len()
                + string_length(3, scope_schema_url(&group.scope))
        };
        let resource_spans = field_length(1, self.resource.len())
            + groups
                .iter()
                .map(|group| field_length(2, group_length(group)))
                .sum::<usize>()
            + string_length(3, &self.resource_schema_url);
        let total = field_length(1, resource_spans);
        out.clear();
        out.reserve(total);
        put_tag(&mut out, 1, LEN);
        put_varint(&mut out, resource_spans as u64);
        put_message(&mut out, 1, &self.resource);
        for group in groups {
            put_tag(&mut out, 2, LEN);
            put_varint(&mut out, group_length(group) as u64);
            put_tag(&mut out, 1, LEN);
            put_varint(&mut out, scope_length(&group.scope) as u64);
            put_scope(&mut out, &group.scope);
            out.extend_from_slice(&group.spans);
            put_string(&mut out, 3, scope_schema_url(&group.scope));
        }
        put_string(&mut out, 3, &self.resource_schema_url);
        debug_assert_eq!(out.len(), total, "every length computed right");
        self.groups.clear();
        self.spans = 0;
        self.bytes = 0;
        out
    }
}

/// A span's start and end in nanoseconds since the epoch, worked out once
/// for both passes.
#[derive(Debug, Clone, Copy)]
struct Times {
    start: u64,
    end: u64,
}

impl Times {
    fn of(span: &SpanData) -> Times {
        Times {
            start: nanos(span.start_time),
            end: nanos(span.end_time),
        }
    }
}

// ------------------------------------------------------------------ lengths

#[inline]
fn varint_length(value: u64) -> usize {
    // 7 bits a byte: 1 byte up to 127, 10 for the largest values.
    ((((value | 1).leading_zeros() ^ 63) * 9 + 73) / 64) as usize
}

#[inline]
fn tag_length(tag: u32) -> usize {
    varint_length(u64::from(tag << 3))
}

/// A length-delimited field whose contents are `length` bytes.
#[inline]
fn field_length(tag: u32, length: usize) -> usize {
    tag_length(tag) + varint_length(length as u64) + length
}

/// A string field, left out when empty.
#[inline]
fn string_length(tag: u32, value: &str) -> usize {
    if value.is_empty() {
        0
    } else {
        field_length(tag, value.len())
    }
}

fn varint_field_length(tag: u32, value: u64) -> usize {
    if value == 0 {
        0
    } else {
        tag_length(tag) + varint_length(value)
    }
}

fn fixed64_field_length(tag: u32, value: u64) -> usize {
    if value == 0 { 0 } else { tag_length(tag) + 8 }
}

fn fixed32_field_length(tag: u32, value: u32) -> usize {
    if value == 0 { 0 } else { tag_length(tag) + 4 }
}

fn scope_schema_url(scope: &InstrumentationScope) -> &str {
    scope.schema_url().unwrap_or_default()
}

/// `InstrumentationScope`: name, version, attributes.
fn scope_length(scope: &InstrumentationScope) -> usize {
    string_length(1, scope.name())
        + string_length(2, scope.version().unwrap_or_default())
        + scope
            .attributes()
            .map(|attribute| field_length(3, key_value_length(attribute, WHOLE)))
            .sum::<usize>()
}

fn key_value_length(attribute: &KeyValue, cut: Cut) -> usize {
    pair_length(attribute.key.as_str(), ValueRef::of(&attribute.value, cut))
}

/// `KeyValue`: the key, and the value (always present).
fn pair_length(key: &str, value: ValueRef<'_>) -> usize {
    string_length(1, key) + field_length(2, any_value_length(value))
}

/// `AnyValue`: one of its fields, present even when it holds the default.
#[inline]
fn any_value_length(value: ValueRef<'_>) -> usize {
    match value {
        ValueRef::Bool(_) => 2,
        ValueRef::I64(number) => 1 + varint_length(number as u64),
        ValueRef::F64(_) => 9,
        ValueRef::Str(text) => field_length(1, text.len()),
        ValueRef::Array(array, cut) => field_length(5, array_length(array, cut)),
        ValueRef::Other(other) => field_length(1, other.as_str().len()),
    }
}

/// `ArrayValue`: each element an `AnyValue`.
fn array_length(array: &Array, cut: Cut) -> usize {
    fn each<T>(values: &[T], length: impl Fn(&T) -> usize) -> usize {
        values
            .iter()
            .map(|value| field_length(1, length(value)))
            .sum()
    }
    match array {
        Array::Bool(values) => each(values, |_| 2),
        Array::I64(values) => each(values, |number| 1 + varint_length(*number as u64)),
        Array::F64(values) => each(values, |_| 9),
        Array::String(values) => each(values, |text| {
            field_length(1, cut.apply(text.as_str()).len())
        }),
        _ => 0,
    }
}

fn attributes_length(tag: u32, attributes: &[KeyValue], cut: Cut) -> usize {
    attributes
        .iter()
        .map(|attribute| field_length(tag, key_value_length(attribute, cut)))
        .sum()
}

/// A span's trace state in its header form, `None` when empty.
fn trace_state(state: &TraceState) -> Option<String> {
    // The state of nearly every span is empty: no header built for it.
    if *state == TraceState::NONE {
        return None;
    }
    Some(state.header()).filter(|header| !header.is_empty())
}

fn nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos() as u64)
}

fn flags(trace_flags: TraceFlags, remote: bool) -> u32 {
    let mut flags = u32::from(trace_flags.to_u8()) | CONTEXT_HAS_IS_REMOTE;
    if remote {
        flags |= CONTEXT_IS_REMOTE;
    }
    flags
}

fn kind(kind: &SpanKind) -> u64 {
    match kind {
        SpanKind::Internal => 1,
        SpanKind::Server => 2,
        SpanKind::Client => 3,
        SpanKind::Producer => 4,
        SpanKind::Consumer => 5,
    }
}

/// `Status`: the message, then the code.
fn status_length(status: &Status) -> usize {
    match status {
        Status::Unset => 0,
        Status::Ok => varint_field_length(3, 1),
        Status::Error { description } => string_length(2, description) + varint_field_length(3, 2),
    }
}

fn parent(parent_span_id: SpanId) -> Option<SpanId> {
    (parent_span_id != SpanId::INVALID).then_some(parent_span_id)
}

/// `Span`, fields in tag order.
fn span_length(span: &SpanData, times: Times) -> usize {
    let context = &span.span_context;
    field_length(1, 16)
        + field_length(2, 8)
        + trace_state(context.trace_state()).map_or(0, |state| string_length(3, &state))
        + parent(span.parent_span_id).map_or(0, |_| field_length(4, 8))
        + string_length(5, &span.name)
        + varint_field_length(6, kind(&span.span_kind))
        + fixed64_field_length(7, times.start)
        + fixed64_field_length(8, times.end)
        + attributes_length(9, &span.attributes, WHOLE)
        + varint_field_length(10, u64::from(span.dropped_attributes_count))
        + span
            .events
            .events
            .iter()
            .map(|event| field_length(11, event_length(event, WHOLE)))
            .sum::<usize>()
        + varint_field_length(12, u64::from(span.events.dropped_count))
        + span
            .links
            .links
            .iter()
            .map(|link| field_length(13, link_length(link, WHOLE)))
            .sum::<usize>()
        + varint_field_length(14, u64::from(span.links.dropped_count))
        + field_length(15, status_length(&span.status))
        + fixed32_field_length(16, flags(context.trace_flags(), span.parent_span_is_remote))
}

/// `Span.Event`.
fn event_length(event: &Event, cut: Cut) -> usize {
    fixed64_field_length(1, nanos(event.timestamp))
        + string_length(2, &event.name)
        + attributes_length(3, &event.attributes, cut)
        + varint_field_length(4, u64::from(event.dropped_attributes_count))
}

/// `Span.Link`.
fn link_length(link: &Link, cut: Cut) -> usize {
    let context = &link.span_context;
    field_length(1, 16)
        + field_length(2, 8)
        + trace_state(context.trace_state()).map_or(0, |state| string_length(3, &state))
        + attributes_length(4, &link.attributes, cut)
        + varint_field_length(5, u64::from(link.dropped_attributes_count))
        + fixed32_field_length(6, flags(context.trace_flags(), context.is_remote()))
}

// ------------------------------------------------------------------ writing

#[inline]
fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

#[inline]
fn put_tag(out: &mut Vec<u8>, tag: u32, wire_type: u32) {
    put_varint(out, u64::from(tag << 3 | wire_type));
}

/// Room a message's length is written into before the message is, enough
/// for a span of up to 16 KiB; [`close`] moves the message when it is not.
const LENGTH_ROOM: usize = 2;

/// Opens a length-delimited field `tag` whose length is not known yet:
/// the message follows, then [`close`] with the position this returns.
fn put_open(out: &mut Vec<u8>, tag: u32) -> usize {
    put_tag(out, tag, LEN);
    let at = out.len();
    out.extend_from_slice(&[0; LENGTH_ROOM]);
    at
}

/// Writes the length of the message written since `put_open` (the room
/// for its length starting at `at`), in as many bytes as it takes.
fn close(out: &mut Vec<u8>, at: usize) {
    let body = at + LENGTH_ROOM;
    let length = out.len() - body;
    let needed = varint_length(length as u64);
    if needed != LENGTH_ROOM {
        let end = out.len();
        if needed > LENGTH_ROOM {
            out.resize(end + needed - LENGTH_ROOM, 0);
            out.copy_within(body..end, at + needed);
        } else {
            out.copy_within(body..end, at + needed);
            out.truncate(end - (LENGTH_ROOM - needed));
        }
    }
    let mut value = length as u64;
    for byte in &mut out[at..at + needed] {
        *byte = (value as u8 & 0x7f) | 0x80;
        value >>= 7;
    }
    out[at + needed - 1] &= 0x7f;
}

/// A trace or span id: its length known, its copy inlined.
#[inline]
fn put_id<const N: usize>(out: &mut Vec<u8>, tag: u32, id: [u8; N]) {
    put_tag(out, tag, LEN);
    out.push(N as u8);
    out.extend_from_slice(&id);
}

#[inline]
fn put_bytes(out: &mut Vec<u8>, tag: u32, bytes: &[u8]) {
    put_tag(out, tag, LEN);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// A message whose fields are already encoded: present even when empty.
fn put_message(out: &mut Vec<u8>, tag: u32, fields: &[u8]) {
    put_bytes(out, tag, fields);
}

#[inline]
fn put_string(out: &mut Vec<u8>, tag: u32, value: &str) {
    if !value.is_empty() {
        put_bytes(out, tag, value.as_bytes());
    }
}

fn put_varint_field(out: &mut Vec<u8>, tag: u32, value: u64) {
    if value != 0 {
        put_tag(out, tag, VARINT);
        put_varint(out, value);
    }
}

fn put_fixed64(out: &mut Vec<u8>, tag: u32, value: u64) {
    if value != 0 {
        put_tag(out, tag, FIXED64);
        out.extend_from_slice(&value.to_le_bytes());
    }
}

fn put_fixed32(out: &mut Vec<u8>, tag: u32, value: u32) {
    if value != 0 {
        put_tag(out, tag, FIXED32);
        out.extend_from_slice(&value.to_le_bytes());
    }
}

fn put_scope(out: &mut Vec<u8>, scope: &InstrumentationScope) {
    put_string(out, 1, scope.name());
    put_string(out, 2, scope.version().unwrap_or_default());
    for attribute in scope.attributes() {
        put_key_value(
            out,
            3,
            attribute.key.as_str(),
            ValueRef::of(&attribute.value, WHOLE),
        );
    }
}

fn put_key_value(out: &mut Vec<u8>, tag: u32, key: &str, value: ValueRef<'_>) {
    let value_length = any_value_length(value);
    let pair = string_length(1, key) + field_length(2, value_length);
    if tag < 16 && pair < 128 && !key.is_empty() {
        put_short_key_value(out, tag, key, value, pair, value_length);
        return;
    }
    out.reserve(field_length(tag, pair));
    put_tag(out, tag, LEN);
    put_varint(out, pair as u64);
    put_string(out, 1, key);
    put_tag(out, 2, LEN);
    put_varint(out, value_length as u64);
    put_any_value(out, value);
}

/// A pair shorter than 128 bytes, as almost every attribute is: each tag
/// and length inside it is one byte, so its heads are written whole.
#[inline]
fn put_short_key_value(
    out: &mut Vec<u8>,
    tag: u32,
    key: &str,
    value: ValueRef<'_>,
    pair: usize,
    value_length: usize,
) {
    const KEY: u8 = 1 << 3 | LEN as u8;
    const VALUE: u8 = 2 << 3 | LEN as u8;
    const STRING_VALUE: u8 = 1 << 3 | LEN as u8;
    out.reserve(2 + pair);
    out.extend_from_slice(&[(tag << 3 | LEN) as u8, pair as u8, KEY, key.len() as u8]);
    out.extend_from_slice(key.as_bytes());
    match value {
        ValueRef::Str(text) => {
            out.extend_from_slice(&[VALUE, value_length as u8, STRING_VALUE, text.len() as u8]);
            out.extend_from_slice(text.as_bytes());
        }
        _ => {
            out.extend_from_slice(&[VALUE, value_length as u8]);
            put_any_value(out, value);
        }
    }
}

fn put_attributes(out: &mut Vec<u8>, tag: u32, attributes: &[KeyValue], cut: Cut) {
    for attribute in attributes {
        put_key_value(
            out,
            tag,
            attribute.key.as_str(),
            ValueRef::of(&attribute.value, cut),
        );
    }
}

/// The fields of an `AnyValue` (its one field, present even at its default).
#[inline]
fn put_any_value(out: &mut Vec<u8>, value: ValueRef<'_>) {
    match value {
        ValueRef::Bool(flag) => put_bool(out, flag),
        ValueRef::I64(number) => put_i64(out, number),
        ValueRef::F64(number) => put_f64(out, number),
        ValueRef::Str(text) => put_bytes(out, 1, text.as_bytes()),
        ValueRef::Array(array, cut) => {
            put_tag(out, 5, LEN);
            put_varint(out, array_length(array, cut) as u64);
            put_array(out, array, cut);
        }
        ValueRef::Other(other) => put_bytes(out, 1, other.as_str().as_bytes()),
    }
}

fn put_bool(out: &mut Vec<u8>, flag: bool) {
    put_tag(out, 2, VARINT);
    out.push(u8::from(flag));
}

fn put_i64(out: &mut Vec<u8>, number: i64) {
    put_tag(out, 3, VARINT);
    put_varint(out, number as u64);
}

fn put_f64(out: &mut Vec<u8>, number: f64) {
    put_tag(out, 4, FIXED64);
    out.extend_from_slice(&number.to_le_bytes());
}

/// The elements of an `ArrayValue`, each an `AnyValue`.
fn put_array(out: &mut Vec<u8>, array: &Array, cut: Cut) {
    fn each<T>(
        out: &mut Vec<u8>,
        values: &[T],
        length: impl Fn(&T) -> usize,
        put: impl Fn(&mut Vec<u8>, &T),
    ) {
        for value in values {
            put_tag(out, 1, LEN);
            put_varint(out, length(value) as u64);
            put(out, value);
        }
    }
    match array {
        Array::Bool(values) => each(out, values, |_| 2, |out, flag| put_bool(out, *flag)),
        Array::I64(values) => each(
            out,
            values,
            |number| 1 + varint_length(*number as u64),
            |out, number| put_i64(out, *number),
        ),
        Array::F64(values) => each(out, values, |_| 9, |out, number| put_f64(out, *number)),
        Array::String(values) => each(
            out,
            values,
            |text| field_length(1, cut.apply(text.as_str()).len()),
            |out, text| put_bytes(out, 1, cut.apply(text.as_str()).as_bytes()),
        ),
        _ => {}
    }
}

fn put_trace_state(out: &mut Vec<u8>, tag: u32, state: &TraceState) {
    if let Some(header) = trace_state(state) {
        put_string(out, tag, &header);
    }
}

fn put_span(out: &mut Vec<u8>, span: &SpanData, times: Times) {
    let context = &span.span_context;
    put_id(out, 1, context.trace_id().to_bytes());
    put_id(out, 2, context.span_id().to_bytes());
    put_trace_state(out, 3, context.trace_state());
    if let Some(parent) = parent(span.parent_span_id) {
        put_id(out, 4, parent.to_bytes());
    }
    put_string(out, 5, &span.name);
    put_varint_field(out, 6, kind(&span.span_kind));
    put_fixed64(out, 7, times.start);
    put_fixed64(out, 8, times.end);
    put_attributes(out, 9, &span.attributes, WHOLE);
    put_varint_field(out, 10, u64::from(span.dropped_attributes_count));
    put_events_and_links(
        out,
        (&span.events.events, span.events.dropped_count),
        (&span.links.links, span.links.dropped_count),
        WHOLE,
    );
    put_status(out, &span.status);
    put_fixed32(
        out,
        16,
        flags(context.trace_flags(), span.parent_span_is_remote),
    );
}

/// The `Span` a record says, read in place, what its call site makes alike
/// copied from `site`'s bytes; its length is left to [`close`].
fn put_span_view(out: &mut Vec<u8>, span: &SpanView<'_>, site: Option<&SiteBytes>) {
    put_id(out, 1, span.trace_id().to_bytes());
    put_id(out, 2, span.span_id().to_bytes());
    if let Some(state) = span.trace_state() {
        put_trace_state(out, 3, state);
    }
    if let Some(parent) = parent(span.parent_span_id()) {
        put_id(out, 4, parent.to_bytes());
    }
    match site.filter(|_| span.named_by_its_site()) {
        Some(site) => out.extend_from_slice(&site.name_and_kind),
        None => {
            put_string(out, 5, span.name());
            put_varint_field(out, 6, kind(&span.kind()));
        }
    }
    let (start, end) = span.times();
    put_fixed64(out, 7, start);
    put_fixed64(out, 8, end);
    let dropped = match site.filter(|site| site.count <= span.attribute_limit()) {
        Some(site) => {
            out.extend_from_slice(&site.leading);
            span.attributes_after_leading(site.count, |key, value| {
                put_key_value(out, 9, key, value);
            })
        }
        None => span.attributes(|key, value| put_key_value(out, 9, key, value)),
    };
    put_varint_field(out, 10, u64::from(dropped));
    put_events_and_links(
        out,
        (span.events(), span.dropped_events()),
        (span.links(), span.dropped_links()),
        span.cut(),
    );
    put_status(out, span.status().unwrap_or(&Status::Unset));
    put_fixed32(out, 16, flags(span.flags(), span.parent_is_remote()));
}

/// `Span` fields 11 to 14: events, dropped events, links, dropped links.
fn put_events_and_links(
    out: &mut Vec<u8>,
    (events, dropped_events): (&[Event], u32),
    (links, dropped_links): (&[Link], u32),
    cut: Cut,
) {
    for event in events {
        put_tag(out, 11, LEN);
        put_varint(out, event_length(event, cut) as u64);
        put_fixed64(out, 1, nanos(event.timestamp));
        put_string(out, 2, &event.name);
        put_attributes(out, 3, &event.attributes, cut);
        put_varint_field(out, 4, u64::from(event.dropped_attributes_count));
    }
    put_varint_field(out, 12, u64::from(dropped_events));
    for link in links {
        let context = &link.span_context;
        put_tag(out, 13, LEN);
        put_varint(out, link_length(link, cut) as u64);
        put_bytes(out, 1, &context.trace_id().to_bytes());
        put_bytes(out, 2, &context.span_id().to_bytes());
        put_trace_state(out, 3, context.trace_state());
        put_attributes(out, 4, &link.attributes, cut);
        put_varint_field(out, 5, u64::from(link.dropped_attributes_count));
        put_fixed32(out, 6, flags(context.trace_flags(), context.is_remote()));
    }
    put_varint_field(out, 14, u64::from(dropped_links));
}

/// `Span.status`, present even when unset.
fn put_status(out: &mut Vec<u8>, status: &Status) {
    put_tag(out, 15, LEN);
    put_varint(out, status_length(status) as u64);
    match status {
        Status::Unset => {}
        Status::Ok => put_varint_field(out, 3, 1),
        Status::Error { description } => {
            put_string(out, 2, description);
            put_varint_field(out, 3, 2);
        }
    }
}
