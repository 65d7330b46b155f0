//! `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`: long string values are cut, never
//! rejected: as they are set (so a pending span holds no more than it will
//! export), and again on the export thread for what no limit saw before
//! (literal values of call sites, spans made before the limit was known).

use opentelemetry::{Array, KeyValue, StringValue, Value};
use opentelemetry_sdk::trace::SpanData;

/// Cuts string attribute values of spans, events and links to `limit`
/// characters.
pub(crate) fn truncate_span(span: &mut SpanData, limit: usize) {
    truncate_all(&mut span.attributes, limit);
    for event in span.events.events.iter_mut() {
        truncate_all(&mut event.attributes, limit);
    }
    for link in span.links.links.iter_mut() {
        truncate_all(&mut link.attributes, limit);
    }
}

fn truncate_all(attributes: &mut [KeyValue], limit: usize) {
    for kv in attributes {
        cut_value(&mut kv.value, limit);
    }
}

/// Cuts a string value, or each string of an array, to `limit` characters.
pub(crate) fn cut_value(value: &mut Value, limit: usize) {
    match value {
        Value::String(text) => {
            if let Some(cut) = cut(text.as_str(), limit) {
                *text = StringValue::from(cut);
            }
        }
        Value::Array(Array::String(items)) => {
            for item in items {
                if let Some(cut) = cut(item.as_str(), limit) {
                    *item = StringValue::from(cut);
                }
            }
        }
        _ => {}
    }
}

/// The first `limit` characters of `text`, or `None` when it is short enough.
fn cut(text: &str, limit: usize) -> Option<String> {
    let end = end_of_chars(text, limit);
    (end < text.len()).then(|| text[..end].to_owned())
}

/// Where the first `limit` characters of `text` end, in bytes.
pub(crate) fn end_of_chars(text: &str, limit: usize) -> usize {
    if text.len() <= limit {
        // No more characters than bytes.
        return text.len();
    }
    text.char_indices()
        .nth(limit)
        .map_or(text.len(), |(end, _)| end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_on_character_boundaries() {
        assert_eq!(cut("héllo wörld", 5).as_deref(), Some("héllo"));
        assert_eq!(cut("short", 5), None);
        assert_eq!(cut("ab", 0).as_deref(), Some(""));
    }

    #[test]
    fn strings_and_string_arrays_only() {
        let mut values = [
            Value::from("abcdef"),
            Value::Array(Array::String(vec!["abcdef".into(), "ab".into()])),
            Value::I64(123_456),
            Value::Bool(true),
        ];
        for value in &mut values {
            cut_value(value, 3);
        }
        assert_eq!(values[0], Value::from("abc"));
        assert_eq!(
            values[1],
            Value::Array(Array::String(vec!["abc".into(), "ab".into()]))
        );
        assert_eq!(values[2], Value::I64(123_456));
        assert_eq!(values[3], Value::Bool(true));
    }
}
