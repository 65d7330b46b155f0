//! `OTEL_PROPAGATORS`: which header formats carry the context across process
//! boundaries.

mod b3;
mod jaeger;

use opentelemetry::propagation::{TextMapCompositePropagator, TextMapPropagator};
use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};

use super::env::{Env, one_of};

pub use b3::{B3Encoding, B3Propagator};
pub use jaeger::JaegerPropagator;

/// A header format for the trace context (or baggage).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Propagator {
    /// W3C Trace Context: `traceparent` and `tracestate`.
    TraceContext,
    /// W3C Baggage: `baggage`.
    Baggage,
    /// Zipkin B3, single header: `b3`.
    B3,
    /// Zipkin B3, one header per field: `X-B3-TraceId`, `X-B3-SpanId`, `X-B3-Sampled`.
    B3Multi,
    /// Jaeger: `uber-trace-id`.
    Jaeger,
    /// AWS X-Ray: `X-Amzn-Trace-Id` (through `opentelemetry-aws`).
    XRay,
}

/// The span context a B3 or Jaeger header names: remote, no trace state.
fn remote_span_context(trace_id: TraceId, span_id: SpanId, sampled: bool) -> SpanContext {
    let flags = if sampled {
        TraceFlags::SAMPLED
    } else {
        TraceFlags::default()
    };
    SpanContext::new(trace_id, span_id, flags, true, TraceState::default())
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

const NAMES: &[&str] = &[
    "tracecontext",
    "baggage",
    "b3",
    "b3multi",
    "jaeger",
    "xray",
    "none",
];

/// The propagators the environment asks for: `tracecontext,baggage` when
/// unset, nothing for `none`. Names are read without regard to case; an
/// unknown name is left out with a warning, and a list of unknown names
/// only gives the default.
pub(crate) fn from_env(env: &Env) -> Vec<Propagator> {
    let default = vec![Propagator::TraceContext, Propagator::Baggage];
    let Some(list) = env.get("OTEL_PROPAGATORS") else {
        return default;
    };
    let mut chosen = Vec::new();
    let mut unknown = Vec::new();
    let mut none = false;
    for name in list
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
    {
        let propagator = match name.to_ascii_lowercase().as_str() {
            "tracecontext" => Propagator::TraceContext,
            "baggage" => Propagator::Baggage,
            "b3" => Propagator::B3,
            "b3multi" => Propagator::B3Multi,
            "jaeger" => Propagator::Jaeger,
            "xray" => Propagator::XRay,
            "none" => {
                none = true;
                continue;
            }
            _ => {
                unknown.push(name);
                continue;
            }
        };
        if !chosen.contains(&propagator) {
            chosen.push(propagator);
        }
    }
    if chosen.is_empty() && !none {
        chosen = default;
    }
    if !unknown.is_empty() {
        let used: Vec<String> = chosen.iter().map(|p| p.name().to_owned()).collect();
        let used = if used.is_empty() {
            "none".to_owned()
        } else {
            used.join(",")
        };
        env.warn("OTEL_PROPAGATORS", &unknown.join(","), one_of(NAMES), used);
    }
    chosen
}

impl Propagator {
    /// The name `OTEL_PROPAGATORS` knows it by.
    fn name(self) -> &'static str {
        match self {
            Propagator::TraceContext => "tracecontext",
            Propagator::Baggage => "baggage",
            Propagator::B3 => "b3",
            Propagator::B3Multi => "b3multi",
            Propagator::Jaeger => "jaeger",
            Propagator::XRay => "xray",
        }
    }
}

/// One propagator doing all of `chosen`, in order (on extraction a later one
/// wins where two find a context).
pub(crate) fn build(chosen: &[Propagator]) -> TextMapCompositePropagator {
    TextMapCompositePropagator::new(
        chosen
            .iter()
            .map(|propagator| -> Box<dyn TextMapPropagator + Send + Sync> {
                match propagator {
                    Propagator::TraceContext => Box::new(TraceContextPropagator::new()),
                    Propagator::Baggage => Box::new(BaggagePropagator::new()),
                    Propagator::B3 => Box::new(B3Propagator::new(B3Encoding::SingleHeader)),
                    Propagator::B3Multi => Box::new(B3Propagator::new(B3Encoding::MultipleHeaders)),
                    Propagator::Jaeger => Box::new(JaegerPropagator),
                    Propagator::XRay => Box::new(opentelemetry_aws::trace::XrayPropagator::new()),
                }
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use opentelemetry::Context;
    use opentelemetry::trace::{
        SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState,
    };

    use super::*;

    fn chosen(value: &str) -> (Vec<Propagator>, Vec<String>) {
        let env = Env::fixed(&[("OTEL_PROPAGATORS", value)]);
        let chosen = from_env(&env);
        (
            chosen,
            env.warnings().iter().map(ToString::to_string).collect(),
        )
    }

    #[test]
    fn names() {
        assert_eq!(
            from_env(&Env::fixed(&[])),
            [Propagator::TraceContext, Propagator::Baggage]
        );
        assert_eq!(
            chosen("b3, B3Multi,jaeger,tracecontext,baggage,b3").0,
            [
                Propagator::B3,
                Propagator::B3Multi,
                Propagator::Jaeger,
                Propagator::TraceContext,
                Propagator::Baggage
            ]
        );
        assert_eq!(chosen("none").0, []);
    }

    #[test]
    fn repro_an_aws_set_up_starts_with_xray() {
        let (propagators, warnings) = chosen("tracecontext,baggage,xray");
        assert_eq!(
            propagators,
            [
                Propagator::TraceContext,
                Propagator::Baggage,
                Propagator::XRay
            ]
        );
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn unknown_names_are_left_out_with_one_warning() {
        let (propagators, warnings) = chosen("tracecontext,ottrace,Baggage,lightstep");
        assert_eq!(propagators, [Propagator::TraceContext, Propagator::Baggage]);
        assert_eq!(
            warnings,
            [
                "OTEL_PROPAGATORS: invalid value \"ottrace,lightstep\"; expected one of: \
              tracecontext, baggage, b3, b3multi, jaeger, xray, none; using tracecontext,baggage"
            ]
        );
        let (only_unknown, _) = chosen("ottrace");
        assert_eq!(
            only_unknown,
            [Propagator::TraceContext, Propagator::Baggage]
        );
    }

    fn sampled_context() -> Context {
        Context::new().with_remote_span_context(SpanContext::new(
            TraceId::from(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736),
            SpanId::from(0x00f0_67aa_0ba9_02b7),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        ))
    }

    fn headers(propagators: &[Propagator]) -> HashMap<String, String> {
        let mut carrier = HashMap::new();
        build(propagators).inject_context(&sampled_context(), &mut carrier);
        carrier
    }

    #[test]
    fn each_format_writes_its_headers_and_reads_them_back() {
        let cases: [(Propagator, &str, &str); 5] = [
            (
                Propagator::TraceContext,
                "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ),
            (
                Propagator::B3,
                "b3",
                "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
            ),
            (
                Propagator::B3Multi,
                "x-b3-traceid",
                "4bf92f3577b34da6a3ce929d0e0e4736",
            ),
            (
                Propagator::Jaeger,
                "uber-trace-id",
                "4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:0:1",
            ),
            (
                Propagator::XRay,
                "x-amzn-trace-id",
                "Root=1-4bf92f35-77b34da6a3ce929d0e0e4736;Parent=00f067aa0ba902b7;Sampled=1",
            ),
        ];
        for (propagator, header, value) in cases {
            let carrier = headers(&[propagator]);
            assert_eq!(
                carrier.get(header).map(String::as_str),
                Some(value),
                "{propagator:?}"
            );
            let cx = build(&[propagator]).extract(&carrier);
            let span = cx.span();
            assert_eq!(span.span_context(), &sampled_remote(), "{propagator:?}");
        }
    }

    fn sampled_remote() -> SpanContext {
        sampled_context().span().span_context().clone()
    }

    #[test]
    fn none_writes_nothing() {
        assert!(headers(&[]).is_empty());
    }
}
