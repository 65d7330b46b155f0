//! Zipkin B3 propagation
//! (<https://github.com/openzipkin/b3-propagation>): the single `b3` header
//! `{trace-id}-{span-id}[-{sampled}[-{parent-span-id}]]`, or one header per
//! field (`X-B3-TraceId`, `X-B3-SpanId`, `X-B3-Sampled`, `X-B3-Flags`).
//! Extraction accepts both forms whichever is injected, the single header
//! first, as the B3 specification asks.

use std::sync::LazyLock;

use opentelemetry::Context;
use opentelemetry::propagation::text_map_propagator::FieldIter;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceId};

const SINGLE: &str = "b3";
const TRACE_ID: &str = "x-b3-traceid";
const SPAN_ID: &str = "x-b3-spanid";
const SAMPLED: &str = "x-b3-sampled";
const FLAGS: &str = "x-b3-flags";

/// `fields()` hands out borrowed `String`s, so they live in statics.
static SINGLE_FIELDS: LazyLock<[String; 1]> = LazyLock::new(|| [SINGLE.to_owned()]);
static MULTI_FIELDS: LazyLock<[String; 4]> =
    LazyLock::new(|| [TRACE_ID, SPAN_ID, SAMPLED, FLAGS].map(str::to_owned));

/// Which B3 form [`B3Propagator`] writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum B3Encoding {
    /// The single `b3` header.
    SingleHeader,
    /// `X-B3-TraceId`, `X-B3-SpanId` and `X-B3-Sampled`.
    MultipleHeaders,
}

/// Reads and writes Zipkin B3 headers.
///
/// ```
/// use std::collections::HashMap;
/// use opentelemetry::propagation::TextMapPropagator;
/// use opentelemetry::trace::TraceContextExt;
/// use traced::{B3Encoding, B3Propagator};
///
/// let headers = HashMap::from([(
///     "b3".to_owned(),
///     "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1".to_owned(),
/// )]);
/// let cx = B3Propagator::new(B3Encoding::SingleHeader).extract(&headers);
/// assert!(cx.span().span_context().is_sampled());
/// ```
#[derive(Clone, Copy, Debug)]
pub struct B3Propagator {
    encoding: B3Encoding,
}

impl B3Propagator {
    /// A propagator writing `encoding` (and reading both).
    pub fn new(encoding: B3Encoding) -> Self {
        B3Propagator { encoding }
    }
}

impl TextMapPropagator for B3Propagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        let span = cx.span();
        let sc = span.span_context();
        if !sc.is_valid() {
            return;
        }
        let sampled = if sc.is_sampled() { "1" } else { "0" };
        match self.encoding {
            B3Encoding::SingleHeader => injector.set(
                SINGLE,
                format!("{}-{}-{sampled}", sc.trace_id(), sc.span_id()),
            ),
            B3Encoding::MultipleHeaders => {
                injector.set(TRACE_ID, sc.trace_id().to_string());
                injector.set(SPAN_ID, sc.span_id().to_string());
                injector.set(SAMPLED, sampled.to_owned());
            }
        }
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        let found = match extractor.get(SINGLE) {
            Some(single) => parse_single(single),
            None => parse_multi(extractor),
        };
        match found {
            Some(sc) => cx.with_remote_span_context(sc),
            None => cx.clone(),
        }
    }

    fn fields(&self) -> FieldIter<'_> {
        match self.encoding {
            B3Encoding::SingleHeader => FieldIter::new(SINGLE_FIELDS.as_slice()),
            B3Encoding::MultipleHeaders => FieldIter::new(MULTI_FIELDS.as_slice()),
        }
    }
}

fn parse_single(value: &str) -> Option<SpanContext> {
    let mut parts = value.trim().split('-');
    let trace = parts.next()?;
    // A lone sampling decision ("0", "1", "d") carries no ids to continue.
    let span = parts.next()?;
    let sampled = parts.next().map(sampling).unwrap_or(Some(true))?;
    if let Some(parent) = parts.next() {
        parse_span_id(parent)?;
    }
    if parts.next().is_some() {
        return None;
    }
    context(trace, span, sampled)
}

fn parse_multi(extractor: &dyn Extractor) -> Option<SpanContext> {
    let trace = extractor.get(TRACE_ID)?;
    let span = extractor.get(SPAN_ID)?;
    let debug = extractor.get(FLAGS).map(str::trim) == Some("1");
    let sampled = match extractor.get(SAMPLED) {
        Some(value) => sampling(value)?,
        None => true,
    };
    context(trace, span, sampled || debug)
}

/// `1`/`true`/`d` (debug) sample, `0`/`false` do not, anything else is invalid.
fn sampling(value: &str) -> Option<bool> {
    match value.trim() {
        "1" | "true" | "d" => Some(true),
        "0" | "false" => Some(false),
        _ => None,
    }
}

fn context(trace: &str, span: &str, sampled: bool) -> Option<SpanContext> {
    let trace = trace.trim();
    if !matches!(trace.len(), 16 | 32) {
        return None;
    }
    let trace_id = TraceId::from(super::hex_u128(trace)?);
    let span_id = parse_span_id(span)?;
    if trace_id == TraceId::INVALID {
        return None;
    }
    Some(super::remote_span_context(trace_id, span_id, sampled))
}

fn parse_span_id(text: &str) -> Option<SpanId> {
    let text = text.trim();
    if text.len() != 16 {
        return None;
    }
    let id = SpanId::from(super::hex_u64(text)?);
    (id != SpanId::INVALID).then_some(id)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn extract(headers: &[(&str, &str)]) -> Option<SpanContext> {
        let carrier: HashMap<String, String> = headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let cx = B3Propagator::new(B3Encoding::SingleHeader).extract(&carrier);
        let span = cx.span();
        let sc = span.span_context();
        sc.is_valid().then(|| sc.clone())
    }

    #[test]
    fn signs_are_not_hex_digits() {
        assert!(extract(&[("b3", "+0f198ee56343ba8-e457b5a2e4d86bd1-1")]).is_none());
        assert!(extract(&[("b3", "80f198ee56343ba8-+457b5a2e4d86bd1-1")]).is_none());
        assert!(extract(&[("b3", "80f198ee56343ba8-e457b5a2e4d86bd1-1")]).is_some());
    }

    #[test]
    fn single_header_forms() {
        let full = extract(&[(
            "b3",
            "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90",
        )])
        .unwrap();
        assert_eq!(
            full.trace_id().to_string(),
            "80f198ee56343ba864fe8b2a57d3eff7"
        );
        assert_eq!(full.span_id().to_string(), "e457b5a2e4d86bd1");
        assert!(full.is_sampled() && full.is_remote());
        let short = extract(&[("b3", "64fe8b2a57d3eff7-e457b5a2e4d86bd1-0")]).unwrap();
        assert_eq!(
            short.trace_id().to_string(),
            "000000000000000064fe8b2a57d3eff7"
        );
        assert!(!short.is_sampled());
        assert!(
            extract(&[("b3", "64fe8b2a57d3eff7-e457b5a2e4d86bd1-d")])
                .unwrap()
                .is_sampled()
        );
        assert!(
            extract(&[("b3", "64fe8b2a57d3eff7-e457b5a2e4d86bd1")])
                .unwrap()
                .is_sampled()
        );
    }

    #[test]
    fn multiple_header_forms() {
        let sc = extract(&[
            ("x-b3-traceid", "80f198ee56343ba864fe8b2a57d3eff7"),
            ("x-b3-spanid", "e457b5a2e4d86bd1"),
            ("x-b3-sampled", "0"),
            ("x-b3-flags", "1"),
        ])
        .unwrap();
        assert!(sc.is_sampled(), "debug flag samples");
        let unsampled = extract(&[
            ("x-b3-traceid", "80f198ee56343ba864fe8b2a57d3eff7"),
            ("x-b3-spanid", "e457b5a2e4d86bd1"),
            ("x-b3-sampled", "false"),
        ])
        .unwrap();
        assert!(!unsampled.is_sampled());
    }

    #[test]
    fn malformed_values_give_no_context() {
        for value in [
            "0",
            "1",
            "d",
            "80f198ee56343ba864fe8b2a57d3eff7",
            "xyz-e457b5a2e4d86bd1-1",
            "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-2",
            "80f198ee56343ba864fe8b2a57d3eff7-0000000000000000-1",
            "00000000000000000000000000000000-e457b5a2e4d86bd1-1",
            "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-bad",
            "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90-x",
        ] {
            assert_eq!(extract(&[("b3", value)]), None, "{value:?}");
        }
        assert_eq!(
            extract(&[("x-b3-traceid", "80f198ee56343ba864fe8b2a57d3eff7")]),
            None
        );
    }
}
