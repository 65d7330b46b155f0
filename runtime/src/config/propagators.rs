//! `OTEL_PROPAGATORS`: which header formats carry the context across process
//! boundaries, named as plain values (`traced::propagation` builds the
//! propagators they name).

use super::env::{Env, one_of};

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

#[cfg(test)]
mod tests {
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
}
