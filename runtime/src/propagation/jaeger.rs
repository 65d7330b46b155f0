//! The Jaeger `uber-trace-id` header:
//! `{trace-id}:{span-id}:{parent-span-id}:{flags}`, hex ids (the trace id may
//! be 16 or 32 digits, leading zeros optional), flag bit 1 = sampled,
//! bit 2 = debug. The value may arrive percent-encoded (`%3A` for `:`).

use opentelemetry::Context;
use opentelemetry::propagation::text_map_propagator::FieldIter;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceId};

use super::remote_parent::remote_parent;

const HEADER: &str = "uber-trace-id";
const SAMPLED: u8 = 0x01;
const DEBUG: u8 = 0x02;

/// Reads and writes the Jaeger `uber-trace-id` header (trace context only;
/// Jaeger's `uberctx-` baggage headers are not carried: use W3C baggage).
#[derive(Clone, Copy, Debug, Default)]
pub struct JaegerPropagator;

impl TextMapPropagator for JaegerPropagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        let span = cx.span();
        let sc = span.span_context();
        if !sc.is_valid() {
            return;
        }
        let flags = if sc.is_sampled() { SAMPLED } else { 0 };
        injector.set(
            HEADER,
            format!("{}:{}:0:{flags:x}", sc.trace_id(), sc.span_id()),
        );
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        match extractor.get(HEADER).and_then(parse) {
            Some(sc) => cx.with_remote_span_context(sc),
            None => cx.clone(),
        }
    }

    fn fields(&self) -> FieldIter<'_> {
        FieldIter::new(HEADER_FIELDS.as_slice())
    }
}

/// `fields()` hands out borrowed `String`s, so they live in a static.
static HEADER_FIELDS: std::sync::LazyLock<[String; 1]> =
    std::sync::LazyLock::new(|| [HEADER.to_owned()]);

fn parse(value: &str) -> Option<SpanContext> {
    let decoded = value.replace("%3A", ":").replace("%3a", ":");
    let mut parts = decoded.trim().split(':');
    let (trace, span, _parent, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || trace.len() > 32 || span.len() > 16 {
        return None;
    }
    let trace_id = TraceId::from(hex_u128(trace)?);
    let span_id = SpanId::from(hex_u64(span)?);
    let flags = u8::try_from(hex_u64(flags)?).ok()?;
    if trace_id == TraceId::INVALID || span_id == SpanId::INVALID {
        return None;
    }
    let sampled = flags & (SAMPLED | DEBUG) != 0;
    Some(remote_parent(trace_id, span_id, sampled))
}

/// Hex digits only: `from_str_radix` alone would also take a leading `+`.
fn hex_u128(text: &str) -> Option<u128> {
    text.bytes()
        .all(|b| b.is_ascii_hexdigit())
        .then(|| u128::from_str_radix(text, 16).ok())
        .flatten()
}

fn hex_u64(text: &str) -> Option<u64> {
    hex_u128(text).and_then(|value| u64::try_from(value).ok())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn extract(value: &str) -> Option<SpanContext> {
        let carrier = HashMap::from([(HEADER.to_owned(), value.to_owned())]);
        let cx = JaegerPropagator.extract(&carrier);
        let span = cx.span();
        let sc = span.span_context();
        sc.is_valid().then(|| sc.clone())
    }

    #[test]
    fn signs_are_not_hex_digits() {
        assert!(extract("+3ce929d0e0e4736:00f067aa0ba902b7:0:1").is_none());
        assert!(extract("a3ce929d0e0e4736:+0f067aa0ba902b7:0:1").is_none());
        assert!(extract("a3ce929d0e0e4736:00f067aa0ba902b7:0:+1").is_none());
        assert!(extract("a3ce929d0e0e4736:00f067aa0ba902b7:0:1").is_some());
    }

    #[test]
    fn short_trace_ids_encoded_separators_and_flags() {
        let sc = extract("a3ce929d0e0e4736%3A00f067aa0ba902b7%3A0%3A3").unwrap();
        assert_eq!(
            sc.trace_id().to_string(),
            "0000000000000000a3ce929d0e0e4736"
        );
        assert_eq!(sc.span_id().to_string(), "00f067aa0ba902b7");
        assert!(sc.is_sampled());
        assert!(sc.is_remote());
        let unsampled = extract("a3ce929d0e0e4736:1:0:0").unwrap();
        assert!(!unsampled.is_sampled());
    }

    #[test]
    fn malformed_values_give_no_context() {
        for value in [
            "",
            "abc",
            "0:1:0:1",
            "1:0:0:1",
            "xyz:1:0:1",
            "1:1:0",
            "1:1:0:1:9",
            "1:1:0:zz",
            "11111111111111111111111111111111f:1:0:1",
        ] {
            assert_eq!(extract(value), None, "{value:?}");
        }
    }

    #[test]
    fn fields_name_the_header() {
        assert_eq!(JaegerPropagator.fields().collect::<Vec<_>>(), [HEADER]);
    }
}
