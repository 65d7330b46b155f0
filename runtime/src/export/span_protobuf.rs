//! A batch of spans as OTLP's `ExportTraceServiceRequest` in protobuf,
//! encoded straight from the `SpanData`: no intermediate structs, no copy of
//! an attribute's key or value, spans grouped by scope without hashing. The
//! bytes are those prost writes for opentelemetry-proto's types made from
//! the same spans (fields in tag order, defaults left out), so a collector
//! sees exactly what opentelemetry-otlp would send.
//!
//! Every length is computed before the bytes are written, so the request is
//! written once, into a buffer allocated once at its final size; the
//! grouping's scratch space is kept from batch to batch.

use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status, TraceState};
use opentelemetry::{Array, InstrumentationScope, KeyValue, StringValue, Value};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SpanData;

#[cfg(test)]
mod tests;

/// Protobuf wire types.
const VARINT: u32 = 0;
const FIXED64: u32 = 1;
const LEN: u32 = 2;
const FIXED32: u32 = 5;

/// `SpanFlags`: the span's (or link's) context says whether it is remote.
const CONTEXT_HAS_IS_REMOTE: u32 = 0x100;
const CONTEXT_IS_REMOTE: u32 = 0x200;

/// Encodes batches of spans for one resource.
#[derive(Debug, Default)]
pub(crate) struct TraceRequestEncoder {
    /// The `Resource` message's fields, encoded once.
    resource: Vec<u8>,
    resource_schema_url: String,
    /// Scratch, kept between batches: each span's scope group and encoded
    /// length, each group's first span and encoded length, and the spans'
    /// indices in the order they are written (group by group).
    group_of_span: Vec<u32>,
    span_lengths: Vec<usize>,
    times: Vec<Times>,
    groups: Vec<Group>,
    starts: Vec<usize>,
    order: Vec<u32>,
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

/// The spans of one instrumentation scope.
#[derive(Debug, Clone, Copy)]
struct Group {
    /// A span of the batch that carries the scope.
    first: usize,
    /// Spans in the group.
    spans: usize,
    /// The encoded length of the `ScopeSpans` message.
    length: usize,
}

impl TraceRequestEncoder {
    pub(crate) fn set_resource(&mut self, resource: &Resource) {
        self.resource.clear();
        for (key, value) in resource.iter() {
            put_key_value(&mut self.resource, 1, key.as_str(), value);
        }
        self.resource_schema_url = resource.schema_url().unwrap_or_default().to_owned();
    }

    /// The request carrying `spans`, in protobuf.
    pub(crate) fn encode(&mut self, spans: &[SpanData]) -> Vec<u8> {
        self.group(spans);
        self.times.clear();
        self.times.extend(spans.iter().map(Times::of));
        self.span_lengths.clear();
        self.span_lengths.extend(
            spans
                .iter()
                .zip(&self.times)
                .map(|(span, times)| span_length(span, *times)),
        );
        for (index, &group) in self.group_of_span.iter().enumerate() {
            let group = &mut self.groups[group as usize];
            group.length += field_length(2, self.span_lengths[index]);
        }
        for group in &mut self.groups {
            let scope = &spans[group.first].instrumentation_scope;
            group.length +=
                field_length(1, scope_length(scope)) + string_length(3, scope_schema_url(scope));
        }
        let resource_spans = field_length(1, self.resource.len())
            + self
                .groups
                .iter()
                .map(|group| field_length(2, group.length))
                .sum::<usize>()
            + string_length(3, &self.resource_schema_url);
        let total = field_length(1, resource_spans);
        let mut out = Vec::with_capacity(total);

        put_tag(&mut out, 1, LEN);
        put_varint(&mut out, resource_spans as u64);
        put_message(&mut out, 1, &self.resource);
        let mut next = 0;
        for group in &self.groups {
            let scope = &spans[group.first].instrumentation_scope;
            put_tag(&mut out, 2, LEN);
            put_varint(&mut out, group.length as u64);
            put_tag(&mut out, 1, LEN);
            put_varint(&mut out, scope_length(scope) as u64);
            put_scope(&mut out, scope);
            for &index in &self.order[next..next + group.spans] {
                let index = index as usize;
                put_tag(&mut out, 2, LEN);
                put_varint(&mut out, self.span_lengths[index] as u64);
                put_span(&mut out, &spans[index], self.times[index]);
            }
            next += group.spans;
            put_string(&mut out, 3, scope_schema_url(scope));
        }
        put_string(&mut out, 3, &self.resource_schema_url);
        debug_assert_eq!(out.len(), total, "every length computed right");
        out
    }

    /// Groups the spans by scope, groups in the order their first span
    /// comes, spans in batch order within a group.
    fn group(&mut self, spans: &[SpanData]) {
        self.groups.clear();
        self.group_of_span.clear();
        let mut last = 0;
        for (index, span) in spans.iter().enumerate() {
            let scope = &span.instrumentation_scope;
            let same = |group: &Group| spans[group.first].instrumentation_scope == *scope;
            let group = if self.groups.get(last).is_some_and(same) {
                last
            } else if let Some(found) = self.groups.iter().position(same) {
                found
            } else {
                self.groups.push(Group {
                    first: index,
                    spans: 0,
                    length: 0,
                });
                self.groups.len() - 1
            };
            self.groups[group].spans += 1;
            self.group_of_span.push(group as u32);
            last = group;
        }
        // A counting sort of the spans by group.
        self.starts.clear();
        let mut start = 0;
        for group in &self.groups {
            self.starts.push(start);
            start += group.spans;
        }
        self.order.clear();
        self.order.resize(spans.len(), 0);
        for (index, &group) in self.group_of_span.iter().enumerate() {
            let slot = &mut self.starts[group as usize];
            self.order[*slot] = index as u32;
            *slot += 1;
        }
    }
}

// ------------------------------------------------------------------ lengths

fn varint_length(value: u64) -> usize {
    // 7 bits a byte: 1 byte up to 127, 10 for the largest values.
    ((((value | 1).leading_zeros() ^ 63) * 9 + 73) / 64) as usize
}

fn tag_length(tag: u32) -> usize {
    varint_length(u64::from(tag << 3))
}

/// A length-delimited field whose contents are `length` bytes.
fn field_length(tag: u32, length: usize) -> usize {
    tag_length(tag) + varint_length(length as u64) + length
}

/// A string field, left out when empty.
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
            .map(|attribute| field_length(3, key_value_length(attribute)))
            .sum::<usize>()
}

fn key_value_length(attribute: &KeyValue) -> usize {
    pair_length(attribute.key.as_str(), &attribute.value)
}

/// `KeyValue`: the key, and the value (always present).
fn pair_length(key: &str, value: &Value) -> usize {
    string_length(1, key) + field_length(2, any_value_length(value))
}

/// `AnyValue`: one of its fields, present even when it holds the default.
fn any_value_length(value: &Value) -> usize {
    match value {
        Value::Bool(_) => 2,
        Value::I64(number) => 1 + varint_length(*number as u64),
        Value::F64(_) => 9,
        Value::String(text) => field_length(1, text.as_str().len()),
        Value::Array(array) => field_length(5, array_length(array)),
        other => field_length(1, other.as_str().len()),
    }
}

/// `ArrayValue`: each element an `AnyValue`.
fn array_length(array: &Array) -> usize {
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
        Array::String(values) => each(values, |text| field_length(1, text.as_str().len())),
        _ => 0,
    }
}

fn attributes_length(tag: u32, attributes: &[KeyValue]) -> usize {
    attributes
        .iter()
        .map(|attribute| field_length(tag, key_value_length(attribute)))
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

fn flags(context: &SpanContext, remote: bool) -> u32 {
    let mut flags = u32::from(context.trace_flags().to_u8()) | CONTEXT_HAS_IS_REMOTE;
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

fn parent_span_id(span: &SpanData) -> Option<SpanId> {
    (span.parent_span_id != SpanId::INVALID).then_some(span.parent_span_id)
}

/// `Span`, fields in tag order.
fn span_length(span: &SpanData, times: Times) -> usize {
    let context = &span.span_context;
    field_length(1, 16)
        + field_length(2, 8)
        + trace_state(context.trace_state()).map_or(0, |state| string_length(3, &state))
        + parent_span_id(span).map_or(0, |_| field_length(4, 8))
        + string_length(5, &span.name)
        + varint_field_length(6, kind(&span.span_kind))
        + fixed64_field_length(7, times.start)
        + fixed64_field_length(8, times.end)
        + attributes_length(9, &span.attributes)
        + varint_field_length(10, u64::from(span.dropped_attributes_count))
        + span
            .events
            .events
            .iter()
            .map(|event| {
                field_length(
                    11,
                    fixed64_field_length(1, nanos(event.timestamp))
                        + string_length(2, &event.name)
                        + attributes_length(3, &event.attributes)
                        + varint_field_length(4, u64::from(event.dropped_attributes_count)),
                )
            })
            .sum::<usize>()
        + varint_field_length(12, u64::from(span.events.dropped_count))
        + span
            .links
            .links
            .iter()
            .map(|link| field_length(13, link_length(link)))
            .sum::<usize>()
        + varint_field_length(14, u64::from(span.links.dropped_count))
        + field_length(15, status_length(&span.status))
        + fixed32_field_length(16, flags(context, span.parent_span_is_remote))
}

fn link_length(link: &opentelemetry::trace::Link) -> usize {
    let context = &link.span_context;
    field_length(1, 16)
        + field_length(2, 8)
        + trace_state(context.trace_state()).map_or(0, |state| string_length(3, &state))
        + attributes_length(4, &link.attributes)
        + varint_field_length(5, u64::from(link.dropped_attributes_count))
        + fixed32_field_length(6, flags(context, context.is_remote()))
}

// ------------------------------------------------------------------ writing

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn put_tag(out: &mut Vec<u8>, tag: u32, wire_type: u32) {
    put_varint(out, u64::from(tag << 3 | wire_type));
}

fn put_bytes(out: &mut Vec<u8>, tag: u32, bytes: &[u8]) {
    put_tag(out, tag, LEN);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// A message whose fields are already encoded: present even when empty.
fn put_message(out: &mut Vec<u8>, tag: u32, fields: &[u8]) {
    put_bytes(out, tag, fields);
}

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
        put_key_value(out, 3, attribute.key.as_str(), &attribute.value);
    }
}

fn put_key_value(out: &mut Vec<u8>, tag: u32, key: &str, value: &Value) {
    put_tag(out, tag, LEN);
    put_varint(out, pair_length(key, value) as u64);
    put_string(out, 1, key);
    put_tag(out, 2, LEN);
    put_varint(out, any_value_length(value) as u64);
    put_any_value(out, value);
}

fn put_attributes(out: &mut Vec<u8>, tag: u32, attributes: &[KeyValue]) {
    for attribute in attributes {
        put_key_value(out, tag, attribute.key.as_str(), &attribute.value);
    }
}

/// The fields of an `AnyValue` (its one field, present even at its default).
fn put_any_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Bool(flag) => put_bool(out, *flag),
        Value::I64(number) => put_i64(out, *number),
        Value::F64(number) => put_f64(out, *number),
        Value::String(text) => put_str(out, text),
        Value::Array(array) => {
            put_tag(out, 5, LEN);
            put_varint(out, array_length(array) as u64);
            put_array(out, array);
        }
        other => put_bytes(out, 1, other.as_str().as_bytes()),
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

fn put_str(out: &mut Vec<u8>, text: &StringValue) {
    put_bytes(out, 1, text.as_str().as_bytes());
}

/// The elements of an `ArrayValue`, each an `AnyValue`.
fn put_array(out: &mut Vec<u8>, array: &Array) {
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
            |text| field_length(1, text.as_str().len()),
            put_str,
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
    put_bytes(out, 1, &context.trace_id().to_bytes());
    put_bytes(out, 2, &context.span_id().to_bytes());
    put_trace_state(out, 3, context.trace_state());
    if let Some(parent) = parent_span_id(span) {
        put_bytes(out, 4, &parent.to_bytes());
    }
    put_string(out, 5, &span.name);
    put_varint_field(out, 6, kind(&span.span_kind));
    put_fixed64(out, 7, times.start);
    put_fixed64(out, 8, times.end);
    put_attributes(out, 9, &span.attributes);
    put_varint_field(out, 10, u64::from(span.dropped_attributes_count));
    for event in &span.events.events {
        let length = fixed64_field_length(1, nanos(event.timestamp))
            + string_length(2, &event.name)
            + attributes_length(3, &event.attributes)
            + varint_field_length(4, u64::from(event.dropped_attributes_count));
        put_tag(out, 11, LEN);
        put_varint(out, length as u64);
        put_fixed64(out, 1, nanos(event.timestamp));
        put_string(out, 2, &event.name);
        put_attributes(out, 3, &event.attributes);
        put_varint_field(out, 4, u64::from(event.dropped_attributes_count));
    }
    put_varint_field(out, 12, u64::from(span.events.dropped_count));
    for link in &span.links.links {
        let link_context = &link.span_context;
        put_tag(out, 13, LEN);
        put_varint(out, link_length(link) as u64);
        put_bytes(out, 1, &link_context.trace_id().to_bytes());
        put_bytes(out, 2, &link_context.span_id().to_bytes());
        put_trace_state(out, 3, link_context.trace_state());
        put_attributes(out, 4, &link.attributes);
        put_varint_field(out, 5, u64::from(link.dropped_attributes_count));
        put_fixed32(out, 6, flags(link_context, link_context.is_remote()));
    }
    put_varint_field(out, 14, u64::from(span.links.dropped_count));
    put_tag(out, 15, LEN);
    put_varint(out, status_length(&span.status) as u64);
    match &span.status {
        Status::Unset => {}
        Status::Ok => put_varint_field(out, 3, 1),
        Status::Error { description } => {
            put_string(out, 2, description);
            put_varint_field(out, 3, 2);
        }
    }
    put_fixed32(out, 16, flags(context, span.parent_span_is_remote));
}
