//! Carrying the trace context across process boundaries: W3C `traceparent`,
//! `tracestate` and `baggage` headers by default, or the propagators chosen
//! with `OTEL_PROPAGATORS` or the `traced::Config` builder.
//!
//! ```
//! use std::collections::HashMap;
//!
//! let mut headers = http::HeaderMap::new();
//! traced::propagation::inject(&mut headers);          // current context → headers
//! let cx = traced::propagation::extract(&headers);    // headers → Context
//!
//! let mut attributes: HashMap<String, String> = HashMap::new();
//! traced::propagation::inject(&mut attributes);
//!
//! let mut message: Vec<(String, Vec<u8>)> = Vec::new(); // Kafka-style headers
//! traced::propagation::inject(&mut message);
//! ```
//!
//! # W3C conformance
//!
//! Whatever propagators are installed, `extract` hands them the W3C fields
//! only after checking them against W3C Trace Context Level 2 and W3C
//! Baggage, and `inject` corrects what they write. Invalid input never fails
//! and never panics: the offending field is ignored, so an invalid
//! `traceparent` starts a new trace. In detail:
//!
//! - **Repeated fields** are combined as RFC 9110 combines them: a repeated
//!   `traceparent` is invalid; repeated `tracestate` and `baggage` fields are
//!   read as one list. (Upstream `opentelemetry_sdk` reads only the first
//!   value.)
//! - **`traceparent`**: optional spaces and tabs around the value are
//!   ignored; lowercase hex only; version `ff` is invalid; all-zero trace-id
//!   or parent-id is invalid; version `00` is exactly 55 characters (upstream
//!   accepts a trailing `-`, and fields with a leading `+` or fewer digits);
//!   a higher version is read by its first four fields when what follows
//!   them starts with `-`.
//! - **Trace flags**: `sampled` and Level 2's `random` are kept in the
//!   remote span context, so the spans started beneath inherit them and
//!   `inject` sends them on (upstream keeps only `sampled`); the reserved
//!   flags are zeroed. Roots of `traced::init()`'s pipeline set `random`:
//!   their trace ids are random.
//! - **`tracestate`** is read only with a valid `traceparent`. Empty members
//!   and whitespace around members are ignored. A key is a lowercase letter
//!   or a digit and up to 255 more of `a-z 0-9 _ - * / @` (Level 2: `foo@`,
//!   `foo@@bar` and a 14-character system-id are valid, `@foo` is not). A
//!   key that repeats keeps its first, left-most member. The whole header is
//!   dropped when a key or value breaks the grammar or there are more than
//!   32 members (upstream keeps the first 32, and accepts values with control
//!   or non-ASCII characters).
//! - The `tracestate` list is sent on as received, including the members
//!   `opentelemetry`'s `TraceState` cannot hold (a second `@`, more than 13
//!   characters after `@`: upstream drops the whole header for one of them).
//!   The remote span context's `TraceState` holds the others, and what a span
//!   beneath adds or changes there is sent first. A span of another trace
//!   does not send it. An empty `tracestate` is never sent (upstream sends
//!   `tracestate: ` with every `traceparent`).
//! - **`baggage`**: each member is checked (key a token, value
//!   baggage-octets, properties kept); an invalid member is dropped alone.
//!   Values are percent-decoded with invalid UTF-8 replaced by U+FFFD (upstream
//!   drops the member) and may contain `=` (upstream cuts the value there). At
//!   most 64 members and 8192 bytes are kept, dropping whole members (upstream
//!   drops the entire header above 8192 bytes). A member is measured before
//!   it is decoded, one that cannot fit is dropped unread, and reading stops
//!   once the budget is full, so a flood costs no more than what is kept. Keys and properties are read
//!   as sent (upstream percent-decodes them, so `k%41` arrives as `kA`, and a
//!   property `p=a%20b` comes back with a space that makes the member invalid
//!   on the next hop). When sending, `%` and every
//!   character outside the value grammar are percent-encoded (upstream leaves
//!   `%` and `\` as they are, so `50%25` arrives as `50%`).
//!
//! Under an unsampled parent, `traced::init()`'s parent-based sampler makes no
//! span at all, so the current span is still the caller's. `inject` then
//! sends the caller's trace id, flags (`random` included) and `tracestate`
//! under a new parent id for each outgoing request, as the non-recording
//! span an OpenTelemetry SDK makes there would: the W3C suite asks a service
//! for a parent id of its own. Only `inject` pays for that id; a sampled
//! caller's context sent on with no span of ours keeps the caller's id.
//!
//! # Suppression
//!
//! Under [`traced::suppress`](crate::suppress) or `#[traced(suppress)]`,
//! `inject` writes the current trace with the sampled flag cleared
//! (`-00`), so downstream services record nothing of the request either.
//!
//! # Untrusted callers
//!
//! [`extract_with`] with a [`Trust`] decides what to keep from a caller on the
//! public internet: the caller's trace is not continued, the new root links
//! to it, and its baggage is kept only if asked.

pub(crate) mod b3;
mod baggage;
mod carrier;
mod composite;
mod conform;
pub(crate) mod jaeger;
mod received;
mod remote_parent;
mod traceparent;
mod tracestate;
mod trust;

use std::sync::Arc;

use opentelemetry::Context;

pub use carrier::Carrier;
pub(crate) use composite::composite;
pub use trust::{Trust, extract_with, incoming_link};

use composite::w3c;
use conform::{Conforming, ConformingInjector};

use crate::config::Propagator;
use crate::global_state::{self, InstalledPropagator, SharedPropagator};

/// The propagator in force: the one `traced::init()` set, else W3C.
fn propagator() -> InstalledPropagator {
    global_state::propagator_or(|| installed(Arc::new(w3c()), true))
}

/// `propagator` as the one in force; `reads_only_w3c` when it is made of
/// traced's W3C Trace Context and Baggage propagators and nothing else.
fn installed(propagator: SharedPropagator, reads_only_w3c: bool) -> InstalledPropagator {
    InstalledPropagator {
        propagator,
        reads_only_w3c,
    }
}

/// Makes the propagators `chosen` the ones in force.
pub(crate) fn install(chosen: &[Propagator]) {
    let reads_only_w3c = chosen
        .iter()
        .all(|chosen| matches!(chosen, Propagator::TraceContext | Propagator::Baggage));
    global_state::set_propagator(installed(Arc::new(composite(chosen)), reads_only_w3c));
}

/// Writes the current context (span, trace state, baggage) into `carrier`.
///
/// ```
/// let mut headers = http::HeaderMap::new();
/// traced::propagation::inject(&mut headers);
/// ```
pub fn inject<C: Carrier + ?Sized>(carrier: &mut C) {
    inject_context(&Context::current(), carrier);
}

/// Writes `cx` into `carrier`. Under suppressed telemetry the trace is
/// written as not sampled.
pub fn inject_context<C: Carrier + ?Sized>(cx: &Context, carrier: &mut C) {
    let outgoing = conform::outgoing(cx);
    let cx = outgoing.as_ref().unwrap_or(cx);
    propagator()
        .propagator
        .inject_context(cx, &mut ConformingInjector { carrier, cx });
}

/// Reads a context from `carrier`: a remote parent for the next span plus any
/// baggage, or an empty context when the carrier holds none (or only invalid
/// values). See the [module documentation](self) for the rules applied.
///
/// ```
/// use opentelemetry::trace::TraceContextExt;
///
/// let mut headers = http::HeaderMap::new();
/// headers.insert("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap());
/// let cx = traced::propagation::extract(&headers);
/// assert!(cx.span().span_context().is_remote());
///
/// headers.append("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap());
/// let cx = traced::propagation::extract(&headers); // repeated: invalid
/// assert!(!cx.span().span_context().is_valid());
/// ```
pub fn extract<C: Carrier + ?Sized>(carrier: &C) -> Context {
    let fields = Conforming::new(carrier);
    let installed = propagator();
    // Most requests carry no context: W3C propagators, none of whose
    // fields is there, have nothing to extract.
    if installed.reads_only_w3c && fields.is_empty() {
        return Context::new();
    }
    let cx = installed
        .propagator
        .extract_with_context(&Context::new(), &fields);
    fields.complete(cx)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use opentelemetry::baggage::BaggageExt;
    use opentelemetry::propagation::text_map_propagator::FieldIter;
    use opentelemetry::propagation::{
        Extractor, Injector, TextMapCompositePropagator, TextMapPropagator,
    };
    use opentelemetry::trace::TraceContextExt;
    use opentelemetry::{Context, KeyValue};
    use opentelemetry_sdk::propagation::TraceContextPropagator;

    use super::{extract, installed, w3c};
    use crate::global_state::set_propagator;

    /// A vendor propagator with a field of its own, installed beside W3C.
    #[derive(Debug)]
    struct Tenant;

    impl TextMapPropagator for Tenant {
        fn inject_context(&self, _cx: &Context, _injector: &mut dyn Injector) {}

        fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
            match extractor.get("x-tenant") {
                Some(tenant) => cx.with_baggage([KeyValue::new("tenant", tenant.to_owned())]),
                None => cx.clone(),
            }
        }

        fn fields(&self) -> FieldIter<'_> {
            FieldIter::new(&[])
        }
    }

    #[test]
    fn w3c_rules_apply_on_top_of_an_installed_propagator() {
        set_propagator(installed(
            Arc::new(TextMapCompositePropagator::new(vec![
                Box::new(TraceContextPropagator::new()),
                Box::new(Tenant),
            ])),
            false,
        ));
        let valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let mut headers = http::HeaderMap::new();
        headers.append("traceparent", valid.parse().unwrap());
        headers.append("x-tenant", "acme".parse().unwrap());
        let cx = extract(&headers);
        assert!(cx.span().span_context().is_valid());
        assert_eq!(cx.baggage().get("tenant").unwrap().as_str(), "acme");

        headers.append("traceparent", valid.parse().unwrap());
        let cx = extract(&headers);
        assert!(!cx.span().span_context().is_valid(), "repeated traceparent");
        assert_eq!(cx.baggage().get("tenant").unwrap().as_str(), "acme");

        // No W3C field at all: the vendor's propagator still reads its own.
        let mut headers = http::HeaderMap::new();
        headers.append("x-tenant", "acme".parse().unwrap());
        let cx = extract(&headers);
        assert!(!cx.span().span_context().is_valid());
        assert_eq!(cx.baggage().get("tenant").unwrap().as_str(), "acme");
        set_propagator(installed(Arc::new(w3c()), true));
    }
}
