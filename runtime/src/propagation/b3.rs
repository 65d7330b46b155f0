//! Zipkin B3 propagation (<https://github.com/openzipkin/b3-propagation>)
//! through `opentelemetry-propagator-b3`, with a thin layer over the gaps
//! it leaves:
//!
//! - ids must be hex digits only (upstream lets `from_str_radix` take a `+`);
//! - a deferred decision (no sampling field) and the debug flag (`d`,
//!   `X-B3-Flags: 1`) are read as sampled: OpenTelemetry has no "deferred"
//!   and upstream's own debug flag is not the sampled bit, so under a
//!   parent-based sampler the request would otherwise go unrecorded;
//! - a lone "do not sample" (`b3: 0`, or `X-B3-Sampled: 0` without ids) is
//!   honoured: the request continues as not sampled (fresh ids carry the
//!   decision downstream) instead of being sampled afresh;
//! - nothing is written for a context without a span (upstream writes a lone
//!   `0`, which would switch tracing off downstream);
//! - the single-header form writes the `b3` header only (upstream adds the
//!   `X-B3-*` headers too).

use opentelemetry::Context;
use opentelemetry::propagation::text_map_propagator::FieldIter;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{SpanId, TraceContextExt, TraceId};
use opentelemetry_propagator_b3::{B3Encoding as Upstream, Propagator as UpstreamPropagator};

use super::remote_parent::remote_parent;

const SINGLE: &str = "b3";
const TRACE_ID: &str = "x-b3-traceid";
const SPAN_ID: &str = "x-b3-spanid";
const SAMPLED: &str = "x-b3-sampled";
const PARENT_SPAN_ID: &str = "x-b3-parentspanid";

/// Which B3 form [`B3Propagator`] writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum B3Encoding {
    /// The single `b3` header.
    SingleHeader,
    /// `X-B3-TraceId`, `X-B3-SpanId` and `X-B3-Sampled`.
    MultipleHeaders,
}

/// Reads and writes Zipkin B3 headers (both forms are read, the single header
/// first, as the B3 specification asks).
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
///
/// // A lone "do not sample": the request is not recorded here or downstream.
/// let headers = HashMap::from([("b3".to_owned(), "0".to_owned())]);
/// let cx = B3Propagator::new(B3Encoding::SingleHeader).extract(&headers);
/// assert!(!cx.span().span_context().is_sampled());
/// ```
#[derive(Clone, Debug)]
pub struct B3Propagator {
    encoding: B3Encoding,
    inject: UpstreamPropagator,
    extract: UpstreamPropagator,
}

impl B3Propagator {
    /// A propagator writing `encoding` (and reading both).
    pub fn new(encoding: B3Encoding) -> Self {
        let inject = match encoding {
            B3Encoding::SingleHeader => Upstream::SingleHeader,
            B3Encoding::MultipleHeaders => Upstream::MultipleHeader,
        };
        B3Propagator {
            encoding,
            inject: UpstreamPropagator::with_encoding(inject),
            extract: UpstreamPropagator::with_encoding(Upstream::SingleAndMultiHeader),
        }
    }
}

impl TextMapPropagator for B3Propagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        if cx.span().span_context().is_valid() {
            let single = self.encoding == B3Encoding::SingleHeader;
            self.inject
                .inject_context(cx, &mut OwnForm { injector, single });
        }
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        let extracted = self
            .extract
            .extract_with_context(&Context::new(), &HexOnly(extractor));
        let span = extracted.span();
        let found = span.span_context();
        if found.is_valid() {
            let flags = found.trace_flags();
            let sampled = flags.is_sampled() || flags.to_u8() & (DEFERRED | DEBUG) != 0;
            return cx.with_remote_span_context(remote_parent(
                found.trace_id(),
                found.span_id(),
                sampled,
            ));
        }
        if lone_do_not_sample(extractor) {
            return cx.with_remote_span_context(remote_parent(
                fresh_trace_id(),
                fresh_span_id(),
                false,
            ));
        }
        cx.clone()
    }

    fn fields(&self) -> FieldIter<'_> {
        self.inject.fields()
    }
}

/// Upstream's flag bits for "deferred" and "debug".
const DEFERRED: u8 = 0x02;
const DEBUG: u8 = 0x04;

/// `b3: 0`, or `X-B3-Sampled: 0` with no ids beside it.
fn lone_do_not_sample(extractor: &dyn Extractor) -> bool {
    match extractor.get(SINGLE).map(str::trim) {
        Some("0") => true,
        Some(_) => false,
        None => {
            extractor.get(TRACE_ID).is_none()
                && extractor.get(SPAN_ID).is_none()
                && matches!(extractor.get(SAMPLED).map(str::trim), Some("0" | "false"))
        }
    }
}

fn fresh_trace_id() -> TraceId {
    TraceId::from(random_u128().max(1))
}

fn fresh_span_id() -> SpanId {
    SpanId::from((random_u128() as u64).max(1))
}

/// Ids for a context that is never recorded: unique enough, no RNG needed.
fn random_u128() -> u128 {
    use std::hash::{BuildHasher, Hasher};
    let state = std::collections::hash_map::RandomState::new();
    let mut high = state.build_hasher();
    high.write_u8(1);
    let mut low = state.build_hasher();
    low.write_u8(2);
    (u128::from(high.finish()) << 64) | u128::from(low.finish())
}

/// Passes on only the headers of the form being written.
struct OwnForm<'a> {
    injector: &'a mut dyn Injector,
    single: bool,
}

impl Injector for OwnForm<'_> {
    fn set(&mut self, key: &str, value: String) {
        if (key == SINGLE) == self.single {
            self.injector.set(key, value);
        }
    }
}

/// Hides id fields that hold anything but hex digits (and, in the single
/// header, the `-` separators and a sampling flag), so upstream never sees
/// a `+` that `from_str_radix` would accept.
struct HexOnly<'a>(&'a dyn Extractor);

impl Extractor for HexOnly<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        let value = self.0.get(key)?;
        let valid = match key {
            SINGLE => value
                .split('-')
                .all(|part| part.bytes().all(|b| b.is_ascii_hexdigit()) || part.len() == 1),
            TRACE_ID | SPAN_ID | PARENT_SPAN_ID => value.bytes().all(|b| b.is_ascii_hexdigit()),
            // Upstream takes `true` only when it writes no single header.
            SAMPLED if value.trim() == "true" => return Some("1"),
            _ => true,
        };
        valid.then_some(value)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use opentelemetry::trace::SpanContext;

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
        assert!(
            extract(&[
                ("x-b3-traceid", "+0f198ee56343ba864fe8b2a57d3eff7"),
                ("x-b3-spanid", "e457b5a2e4d86bd1"),
            ])
            .is_none()
        );
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
        let legacy_true = extract(&[
            ("x-b3-traceid", "80f198ee56343ba864fe8b2a57d3eff7"),
            ("x-b3-spanid", "e457b5a2e4d86bd1"),
            ("x-b3-sampled", "true"),
        ])
        .unwrap();
        assert!(legacy_true.is_sampled());
    }

    #[test]
    fn malformed_values_give_no_context() {
        for value in [
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

    #[test]
    fn repro_a_lone_do_not_sample_is_honoured() {
        for headers in [&[("b3", "0")][..], &[("x-b3-sampled", "0")]] {
            let sc = extract(headers).expect("a not-sampled context");
            assert!(!sc.is_sampled(), "{headers:?}");
            assert!(sc.is_remote());
        }
        assert_ne!(
            extract(&[("b3", "0")]).unwrap().trace_id(),
            extract(&[("b3", "0")]).unwrap().trace_id(),
            "every request gets ids of its own"
        );
    }

    #[test]
    fn repro_each_form_writes_its_own_headers_only() {
        let cx = Context::new().with_remote_span_context(remote_parent(
            TraceId::from(0x80f1_98ee_5634_3ba8_64fe_8b2a_57d3_eff7),
            SpanId::from(0xe457_b5a2_e4d8_6bd1),
            true,
        ));
        let written = |encoding| {
            let mut carrier: HashMap<String, String> = HashMap::new();
            B3Propagator::new(encoding).inject_context(&cx, &mut carrier);
            let mut keys: Vec<String> = carrier.into_keys().collect();
            keys.sort();
            keys
        };
        assert_eq!(written(B3Encoding::SingleHeader), ["b3"]);
        assert_eq!(
            written(B3Encoding::MultipleHeaders),
            ["x-b3-sampled", "x-b3-spanid", "x-b3-traceid"]
        );
    }

    #[test]
    fn nothing_is_written_without_a_span() {
        let mut carrier: HashMap<String, String> = HashMap::new();
        for encoding in [B3Encoding::SingleHeader, B3Encoding::MultipleHeaders] {
            B3Propagator::new(encoding).inject_context(&Context::new(), &mut carrier);
        }
        assert!(carrier.is_empty(), "{carrier:?}");
    }
}
