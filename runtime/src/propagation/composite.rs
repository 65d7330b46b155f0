//! One propagator for the header formats chosen in `traced::Config` or
//! `OTEL_PROPAGATORS`.

use opentelemetry::propagation::{TextMapCompositePropagator, TextMapPropagator};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};

use super::b3::{B3Encoding, B3Propagator};
use super::jaeger::JaegerPropagator;
use crate::config::Propagator;

/// One propagator doing all of `chosen`, in order (on extraction a later one
/// wins where two find a context).
pub(crate) fn composite(chosen: &[Propagator]) -> TextMapCompositePropagator {
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

/// W3C Trace Context and W3C Baggage: the default.
pub(super) fn w3c() -> TextMapCompositePropagator {
    composite(&[Propagator::TraceContext, Propagator::Baggage])
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use opentelemetry::Context;
    use opentelemetry::trace::{
        SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState,
    };

    use super::*;

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
        composite(propagators).inject_context(&sampled_context(), &mut carrier);
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
            let cx = composite(&[propagator]).extract(&carrier);
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

    #[test]
    fn the_default_is_w3c_trace_context_and_baggage() {
        let mut fields: Vec<String> = w3c().fields().map(str::to_owned).collect();
        fields.sort_unstable();
        assert_eq!(fields, ["baggage", "traceparent", "tracestate"]);
    }
}
