//! What a span has beyond its ids, times and inline values: the text of
//! recorded strings, attributes set while it runs, events, links, a status, a
//! name or kind chosen at run time. Most spans have none of it, so it lives in
//! a separate box, taken from a per-thread pool when first needed and sent
//! back to a thread's pool after export, where what it held is freed.
//!
//! Values are cut to the value length limit as they are set, so that what a
//! pending span holds is what it will export, and [`SpanDetails::footprint`]
//! counts it.

use std::borrow::Cow;
use std::fmt;
use std::time::SystemTime;

use opentelemetry::trace::{Event, Link, SpanKind, Status, TraceState};
use opentelemetry::{Array, InstrumentationScope, KeyValue, Value};

use super::Limits;
use super::truncate::{cut_value, end_of_chars};
use super::values::{Held, Slot};

/// Text kept for reuse by a pooled box; a larger buffer is freed when the
/// box is cleared, so that one long value does not stay in a pool.
const REUSED_TEXT: usize = 4096;

/// Everything about a span that is not fixed at its call site.
#[derive(Debug, Default)]
pub(crate) struct SpanDetails {
    /// Set by `update_name`, or the name of a span from another tracer.
    pub(crate) name: Option<Cow<'static, str>>,
    /// The kind of a span from another tracer.
    pub(crate) kind: Option<SpanKind>,
    /// The instrumentation scope of a span from another tracer.
    pub(crate) scope: Option<InstrumentationScope>,
    /// The text of the strings a call recorded, one after the other.
    pub(crate) text: String,
    /// Values a call recorded that are neither numbers nor text (arrays).
    pub(crate) built: Vec<Value>,
    /// Recorded values beyond the record's inline slots.
    pub(crate) more_slots: Vec<Slot>,
    /// Attributes set through the OpenTelemetry API.
    pub(crate) attributes: Vec<KeyValue>,
    pub(crate) dropped_attributes: u32,
    pub(crate) events: Vec<Event>,
    pub(crate) dropped_events: u32,
    pub(crate) links: Vec<Link>,
    pub(crate) dropped_links: u32,
    pub(crate) status: Status,
    /// The span's trace state, when it has one.
    pub(crate) trace_state: TraceState,
    /// Explicit times given through the OpenTelemetry API.
    pub(crate) start_time: Option<SystemTime>,
    pub(crate) end_time: Option<SystemTime>,
}

impl SpanDetails {
    /// Empties it for reuse, keeping the vectors' capacity (not a long
    /// text's). Most boxes held nothing but recorded values: one look tells.
    pub(crate) fn clear(&mut self) {
        self.text.clear();
        self.more_slots.clear();
        if self.holds_more() {
            self.clear_the_rest();
        }
    }

    /// Whether it holds more than recorded text and slots.
    #[inline]
    fn holds_more(&self) -> bool {
        self.name.is_some()
            | self.kind.is_some()
            | self.scope.is_some()
            | !self.built.is_empty()
            | !self.attributes.is_empty()
            | !self.events.is_empty()
            | !self.links.is_empty()
            | (self.dropped_attributes | self.dropped_events | self.dropped_links != 0)
            | !matches!(self.status, Status::Unset)
            | self.start_time.is_some()
            | self.end_time.is_some()
            | (self.text.capacity() > REUSED_TEXT)
            | (self.trace_state != TraceState::NONE)
    }

    #[cold]
    fn clear_the_rest(&mut self) {
        self.name = None;
        self.kind = None;
        self.scope = None;
        if self.text.capacity() > REUSED_TEXT {
            self.text = String::new();
        }
        self.built.clear();
        self.attributes.clear();
        self.dropped_attributes = 0;
        self.events.clear();
        self.dropped_events = 0;
        self.links.clear();
        self.dropped_links = 0;
        self.status = Status::Unset;
        self.trace_state = TraceState::NONE;
        self.start_time = None;
        self.end_time = None;
    }

    /// What it holds of the values its call recorded.
    pub(crate) fn held(&self) -> Held<'_> {
        Held {
            inline_text: "",
            text: &self.text,
            built: &self.built,
            more_slots: &self.more_slots,
        }
    }

    /// Appends `text`, cut to `limits`' value length; its slot.
    pub(crate) fn push_text(&mut self, text: &str, limits: &Limits) -> Slot {
        let start = self.text.len();
        let text = match limits.value_length {
            Some(limit) => &text[..end_of_chars(text, limit)],
            None => text,
        };
        self.text.push_str(text);
        self.text_slot(start)
    }

    /// Appends `value` formatted by `format`, cut to `limits`' value length
    /// as it is written; its slot.
    pub(crate) fn push_formatted(
        &mut self,
        format: impl FnOnce(&mut dyn fmt::Write) -> fmt::Result,
        limits: &Limits,
    ) -> Slot {
        let start = self.text.len();
        let mut writer = LimitedWriter {
            text: &mut self.text,
            chars_left: limits.value_length.unwrap_or(usize::MAX),
        };
        // A limit reached stops the formatting with an error: what was
        // written until then is the value.
        let _ = format(&mut writer);
        self.text_slot(start)
    }

    fn text_slot(&mut self, start: usize) -> Slot {
        match Slot::text(start, self.text.len() - start) {
            Some(slot) => slot,
            // Beyond 4 GiB of text: kept as a value of its own.
            None => {
                let value = Value::String(self.text[start..].to_owned().into());
                self.text.truncate(start);
                self.push_built(value, &Limits::default())
            }
        }
    }

    /// Keeps `value` (cut to `limits`' value length); its slot.
    pub(crate) fn push_built(&mut self, mut value: Value, limits: &Limits) -> Slot {
        if let Some(limit) = limits.value_length {
            cut_value(&mut value, limit);
        }
        self.built.push(value);
        Slot::built(self.built.len() - 1)
    }

    pub(crate) fn push_attribute(&mut self, mut attribute: KeyValue, limits: &Limits) {
        if self.attributes.len() < limits.attributes as usize {
            if let Some(limit) = limits.value_length {
                cut_value(&mut attribute.value, limit);
            }
            self.attributes.push(attribute);
        } else {
            self.dropped_attributes += 1;
        }
    }

    /// Every attribute of `attributes`, as [`push_attribute`] would add them
    /// one by one, moved in at once.
    ///
    /// [`push_attribute`]: SpanDetails::push_attribute
    pub(crate) fn push_attributes(&mut self, mut attributes: Vec<KeyValue>, limits: &Limits) {
        let room = (limits.attributes as usize).saturating_sub(self.attributes.len());
        if attributes.len() > room {
            self.dropped_attributes += (attributes.len() - room) as u32;
            attributes.truncate(room);
        }
        if let Some(limit) = limits.value_length {
            for attribute in &mut attributes {
                cut_value(&mut attribute.value, limit);
            }
        }
        self.attributes.append(&mut attributes);
    }

    pub(crate) fn push_event(&mut self, mut event: Event, limits: &Limits) {
        if self.events.len() < limits.events as usize {
            if let Some(limit) = limits.value_length {
                for attribute in &mut event.attributes {
                    cut_value(&mut attribute.value, limit);
                }
            }
            self.events.push(event);
        } else {
            self.dropped_events += 1;
        }
    }

    pub(crate) fn push_link(&mut self, mut link: Link, limits: &Limits) {
        if self.links.len() < limits.links as usize {
            if let Some(limit) = limits.value_length {
                for attribute in &mut link.attributes {
                    cut_value(&mut attribute.value, limit);
                }
            }
            self.links.push(link);
        } else {
            self.dropped_links += 1;
        }
    }

    /// Memory it holds: what a pending span costs beyond its record,
    /// strings included.
    pub(crate) fn footprint(&self) -> usize {
        size_of::<SpanDetails>()
            + self.name.as_ref().map_or(0, |name| name.len())
            + self.text.capacity()
            + self.built.capacity() * size_of::<Value>()
            + self.built.iter().map(value_bytes).sum::<usize>()
            + self.more_slots.capacity() * size_of::<Slot>()
            + attributes_bytes(&self.attributes, self.attributes.capacity())
            + self.events.capacity() * size_of::<Event>()
            + self
                .events
                .iter()
                .map(|event| {
                    event.name.len()
                        + attributes_bytes(&event.attributes, event.attributes.capacity())
                })
                .sum::<usize>()
            + self.links.capacity() * size_of::<Link>()
            + self
                .links
                .iter()
                .map(|link| attributes_bytes(&link.attributes, link.attributes.capacity()))
                .sum::<usize>()
            + trace_state_bytes(&self.trace_state)
    }
}

/// Writes into a span's text until `chars_left` characters are written.
struct LimitedWriter<'a> {
    text: &'a mut String,
    chars_left: usize,
}

impl fmt::Write for LimitedWriter<'_> {
    fn write_str(&mut self, piece: &str) -> fmt::Result {
        if self.chars_left == usize::MAX {
            self.text.push_str(piece);
            return Ok(());
        }
        let end = end_of_chars(piece, self.chars_left);
        self.text.push_str(&piece[..end]);
        self.chars_left -= piece[..end].chars().count();
        if end < piece.len() {
            return Err(fmt::Error);
        }
        Ok(())
    }
}

/// Bytes `attributes` hold: the list, and the text of each value.
fn attributes_bytes(attributes: &[KeyValue], capacity: usize) -> usize {
    capacity * size_of::<KeyValue>()
        + attributes
            .iter()
            .map(|kv| kv.key.as_str().len() + value_bytes(&kv.value))
            .sum::<usize>()
}

/// Bytes a value holds beyond itself.
fn value_bytes(value: &Value) -> usize {
    match value {
        Value::String(text) => text.as_str().len(),
        Value::Array(Array::String(items)) => items
            .iter()
            .map(|item| size_of::<Value>() + item.as_str().len())
            .sum(),
        Value::Array(Array::I64(items)) => items.len() * size_of::<i64>(),
        Value::Array(Array::F64(items)) => items.len() * size_of::<f64>(),
        Value::Array(Array::Bool(items)) => items.len(),
        _ => 0,
    }
}

fn trace_state_bytes(trace_state: &TraceState) -> usize {
    if *trace_state == TraceState::NONE {
        0
    } else {
        trace_state.header().len() * 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limited(value_length: usize) -> Limits {
        Limits {
            value_length: Some(value_length),
            ..Limits::default()
        }
    }

    #[test]
    fn text_is_cut_as_it_is_set() {
        let mut details = SpanDetails::default();
        let limits = limited(3);
        let slot = details.push_text("héllo", &limits);
        assert_eq!(slot.value(details.held()), Some(Value::from("hél")));
        let (number, letter) = (12_345, 'x');
        let formatted = details.push_formatted(|out| write!(out, "{number}-{letter}"), &limits);
        assert_eq!(formatted.value(details.held()), Some(Value::from("123")));
        assert_eq!(details.text, "hél123");
    }

    #[test]
    fn attributes_moved_in_at_once_keep_the_limits_of_one_by_one() {
        let limits = Limits {
            attributes: 3,
            value_length: Some(2),
            ..Limits::default()
        };
        let attributes = || {
            vec![
                KeyValue::new("a", "abc"),
                KeyValue::new("b", 1_i64),
                KeyValue::new("c", "é€x"),
                KeyValue::new("d", "dropped"),
            ]
        };
        let mut at_once = SpanDetails::default();
        at_once.push_attribute(KeyValue::new("first", "xyz"), &limits);
        at_once.push_attributes(attributes(), &limits);
        let mut one_by_one = SpanDetails::default();
        one_by_one.push_attribute(KeyValue::new("first", "xyz"), &limits);
        for attribute in attributes() {
            one_by_one.push_attribute(attribute, &limits);
        }
        assert_eq!(at_once.attributes, one_by_one.attributes);
        assert_eq!(
            at_once.attributes,
            [
                KeyValue::new("first", "xy"),
                KeyValue::new("a", "ab"),
                KeyValue::new("b", 1_i64),
            ]
        );
        assert_eq!(at_once.dropped_attributes, 2);
        assert_eq!(one_by_one.dropped_attributes, 2);
    }

    #[test]
    fn values_set_through_the_api_are_cut_as_they_are_set() {
        let mut details = SpanDetails::default();
        let limits = limited(2);
        details.push_attribute(KeyValue::new("k", "abcdef"), &limits);
        details.push_event(
            Event::new(
                "e",
                SystemTime::now(),
                vec![KeyValue::new("k", "abcdef")],
                0,
            ),
            &limits,
        );
        assert_eq!(details.attributes[0].value, Value::from("ab"));
        assert_eq!(details.events[0].attributes[0].value, Value::from("ab"));
    }

    #[test]
    fn the_footprint_counts_the_text_held() {
        let mut details = SpanDetails::default();
        let before = details.footprint();
        details.push_attribute(
            KeyValue::new("blob", "x".repeat(16 * 1024)),
            &Limits::default(),
        );
        details.push_text(&"y".repeat(8 * 1024), &Limits::default());
        assert!(details.footprint() >= before + 24 * 1024);
    }

    #[test]
    fn clear_leaves_nothing_behind() {
        let limits = Limits::default();
        let filled = |details: &mut SpanDetails| {
            details.name = Some("renamed".into());
            details.kind = Some(SpanKind::Client);
            details.scope = Some(InstrumentationScope::builder("scope").build());
            details.push_text("text", &limits);
            details.push_built(Value::Array(vec![1_i64].into()), &limits);
            details.more_slots.push(Slot::bool(true));
            details.push_attribute(KeyValue::new("k", "v"), &limits);
            details.dropped_attributes = 1;
            details.push_event(Event::with_name("e"), &limits);
            details.dropped_events = 2;
            details.dropped_links = 3;
            details.status = Status::error("failed");
            details.trace_state = TraceState::from_key_value([("k", "v")]).expect("valid");
            details.start_time = Some(SystemTime::now());
            details.end_time = Some(SystemTime::now());
        };
        let empty = format!("{:?}", SpanDetails::default());
        let mut details = SpanDetails::default();
        filled(&mut details);
        details.clear();
        assert_eq!(format!("{details:?}"), empty);
        // Each part alone is enough to be cleared.
        for part in 0..4 {
            let mut details = SpanDetails::default();
            match part {
                0 => details.status = Status::error("failed"),
                1 => details.dropped_links = 1,
                2 => details.end_time = Some(SystemTime::now()),
                _ => {
                    details.trace_state = TraceState::from_key_value([("k", "v")]).expect("valid");
                }
            }
            details.clear();
            assert_eq!(format!("{details:?}"), empty, "part {part}");
        }
    }

    #[test]
    fn a_long_text_is_not_kept_for_reuse() {
        let mut details = SpanDetails::default();
        details.push_text(&"x".repeat(REUSED_TEXT * 2), &Limits::default());
        details.clear();
        assert_eq!(details.text.capacity(), 0);
        details.push_text("short", &Limits::default());
        let capacity = details.text.capacity();
        details.clear();
        assert_eq!(details.text.capacity(), capacity);
    }
}
