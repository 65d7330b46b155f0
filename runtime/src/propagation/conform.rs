//! The W3C rules applied around whichever propagator is installed: the
//! installed propagators read `traceparent`, `tracestate` and `baggage`
//! through [`Conforming`], which hands them only spec-valid values, and write
//! through [`ConformingInjector`], which corrects what they write.

use opentelemetry::Context;
use opentelemetry::baggage::BaggageExt;
use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::{SpanContext, TraceContextExt, TraceFlags};
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator};

use super::carrier::Carrier;
use super::traceparent::Traceparent;
use super::tracestate::List;
use super::{baggage, received, traceparent};

const TRACEPARENT: &str = "traceparent";
const TRACESTATE: &str = "tracestate";
const BAGGAGE: &str = "baggage";

/// A carrier seen through the W3C rules. The three W3C fields are read once,
/// combined and validated; every other key passes through untouched (b3,
/// jaeger and custom propagators see the carrier as it is).
pub(super) struct Conforming<'a, C: ?Sized> {
    carrier: &'a C,
    traceparent: Option<Traceparent>,
    tracestate: Option<List>,
    /// The members of `tracestate` that `opentelemetry`'s `TraceState` holds.
    upstream_tracestate: Option<String>,
    baggage: Option<String>,
}

impl<'a, C: Carrier + ?Sized> Conforming<'a, C> {
    pub(super) fn new(carrier: &'a C) -> Self {
        let traceparent = traceparent::parse(&carrier.get_all(TRACEPARENT));
        // tracestate means nothing without a valid traceparent.
        let tracestate = traceparent
            .as_ref()
            .and_then(|_| List::parse(&carrier.get_all(TRACESTATE)));
        let upstream_tracestate = tracestate.as_ref().and_then(List::upstream_header);
        let baggage = baggage::normalize(&carrier.get_all(BAGGAGE));
        Conforming {
            carrier,
            traceparent,
            tracestate,
            upstream_tracestate,
            baggage,
        }
    }

    /// No valid `traceparent` and no `baggage` (a `tracestate` means nothing
    /// without a `traceparent`).
    pub(super) fn is_empty(&self) -> bool {
        self.traceparent.is_none() && self.baggage.is_none()
    }

    /// `cx`, extracted through `self`, with what the W3C fields carry beyond
    /// what the propagators could put in it.
    pub(super) fn complete(self, cx: Context) -> Context {
        match &self.traceparent {
            Some(traceparent) => received::complete(cx, traceparent, self.tracestate),
            None => cx,
        }
    }

    fn w3c_field(&self, key: &str) -> Option<Option<&str>> {
        if key.eq_ignore_ascii_case(TRACEPARENT) {
            Some(self.traceparent.as_ref().map(|t| t.header.as_str()))
        } else if key.eq_ignore_ascii_case(TRACESTATE) {
            Some(self.upstream_tracestate.as_deref())
        } else if key.eq_ignore_ascii_case(BAGGAGE) {
            Some(self.baggage.as_deref())
        } else {
            None
        }
    }
}

impl<C: Carrier + ?Sized> Extractor for Conforming<'_, C> {
    fn get(&self, key: &str) -> Option<&str> {
        match self.w3c_field(key) {
            Some(value) => value,
            None => self.carrier.get(key),
        }
    }

    fn keys(&self) -> Vec<&str> {
        self.carrier.keys()
    }

    fn get_all(&self, key: &str) -> Option<Vec<&str>> {
        let values = match self.w3c_field(key) {
            Some(value) => value.into_iter().collect(),
            None => self.carrier.get_all(key),
        };
        (!values.is_empty()).then_some(values)
    }
}

/// Writes to a carrier, correcting what the installed propagators write:
/// the `traceparent` of the current span with every flag Level 2 defines
/// (upstream keeps only `sampled`); the `tracestate` a trace came in with,
/// members upstream cannot hold included; no empty `tracestate` (the
/// specification asks senders to avoid it); and a `baggage` header encoded
/// by [`baggage::serialize`].
pub(super) struct ConformingInjector<'a, C: ?Sized> {
    pub(super) carrier: &'a mut C,
    pub(super) cx: &'a Context,
}

impl<C: Carrier + ?Sized> ConformingInjector<'_, C> {
    fn set_tracestate(&mut self, key: &str, value: String) {
        if !value.trim_matches(traceparent::is_ows).is_empty() {
            self.carrier.set(key, value);
        }
    }
}

impl<C: Carrier + ?Sized> Injector for ConformingInjector<'_, C> {
    fn set(&mut self, key: &str, value: String) {
        let span = self.cx.span();
        let current = span.span_context();
        if key.eq_ignore_ascii_case(TRACEPARENT) {
            let names_current = traceparent::parse(&[&value]).is_some_and(|written| {
                written.trace_id == current.trace_id() && written.parent_id == current.span_id()
            });
            if !names_current {
                self.carrier.set(key, value);
                return;
            }
            self.carrier.set(key, traceparent::header(current));
            // Whether or not the propagator writes a `tracestate` of its own.
            if let Some(tracestate) = received::tracestate(self.cx, current) {
                self.set_tracestate(TRACESTATE, tracestate);
            }
            return;
        }
        if key.eq_ignore_ascii_case(TRACESTATE) {
            let tracestate = received::tracestate(self.cx, current).unwrap_or(value);
            self.set_tracestate(key, tracestate);
            return;
        }
        if key.eq_ignore_ascii_case(BAGGAGE) {
            if let Some(header) = baggage::serialize(self.cx.baggage()) {
                self.carrier.set(key, header);
            }
            return;
        }
        self.carrier.set(key, value);
    }
}

/// The context to write for `cx`, when it is not `cx` itself:
///
/// - under suppressed telemetry, the same trace marked not sampled, so
///   nothing downstream records it either;
/// - for a caller's unsampled context passing through (its span is the
///   remote one the caller sent: nothing of ours was made beneath, as under
///   the parent-based sampler), the same trace, flags and trace state under
///   a new parent id, the id the non-recording span an OpenTelemetry SDK
///   makes there would have. Only `inject` pays for it.
pub(super) fn outgoing(cx: &Context) -> Option<Context> {
    if cx.is_telemetry_suppressed() {
        return Some(suppressed(cx));
    }
    passing_through(cx)
}

/// `cx` marked not sampled; with no span to name, a fresh not-sampled trace
/// is made up for the purpose.
fn suppressed(cx: &Context) -> Context {
    let span = cx.span();
    let current = span.span_context();
    let unsampled = if current.is_valid() {
        SpanContext::new(
            current.trace_id(),
            current.span_id(),
            current.trace_flags().with_sampled(false),
            true,
            current.trace_state().clone(),
        )
    } else {
        let ids = RandomIdGenerator::default();
        SpanContext::new(
            ids.new_trace_id(),
            ids.new_span_id(),
            TraceFlags::NOT_SAMPLED,
            true,
            Default::default(),
        )
    };
    cx.with_remote_span_context(unsampled)
}

/// A caller's unsampled span context under a new parent id; `None` for any
/// other context.
fn passing_through(cx: &Context) -> Option<Context> {
    let span = cx.span();
    let received = span.span_context();
    if !received.is_remote() || received.is_sampled() || !received.is_valid() {
        return None;
    }
    let own = SpanContext::new(
        received.trace_id(),
        RandomIdGenerator::default().new_span_id(),
        received.trace_flags(),
        true,
        received.trace_state().clone(),
    );
    Some(cx.with_remote_span_context(own))
}
