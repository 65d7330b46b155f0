//! How an integration starts the span of a request: a SERVER span under the
//! caller's context, as far as it is trusted, or a CLIENT span under the
//! current context.
#![cfg_attr(not(feature = "tower"), allow(dead_code))]

use opentelemetry::trace::{Link, SpanBuilder};
use opentelemetry::{Context, KeyValue};

use super::baggage_hosts::BaggageHosts;
use crate::dispatch;
use crate::propagation::{self, Carrier, Trust};

/// A SERVER span under the context `carrier` brings, as far as `trust`
/// believes it: a distrusted caller gets a new trace whose root links to the
/// caller's span.
pub(crate) fn start_server<C: Carrier + ?Sized>(
    carrier: &C,
    trust: Trust,
    builder: SpanBuilder,
) -> Context {
    let parent = propagation::extract_with(carrier, trust);
    let builder = match propagation::incoming_link(&parent) {
        Some(caller) => builder.with_links(vec![Link::new(
            caller,
            vec![KeyValue::new("traced.link.reason", "untrusted parent")],
            0,
        )]),
        None => builder,
    };
    dispatch::start_built_span(builder, &parent)
}

/// The context a skipped request runs in: the caller's, as far as `trust`
/// believes it, with tracing suppressed. Nothing beneath is traced, and the
/// trace goes on to other services marked not sampled.
pub(crate) fn suppressed<C: Carrier + ?Sized>(carrier: &C, trust: Trust) -> Context {
    propagation::extract_with(carrier, trust).with_telemetry_suppressed()
}

/// A CLIENT span under the current context, its context written into the
/// request's `headers`: with the baggage when `host` may have it.
pub(crate) fn start_client<C: Carrier + ?Sized>(
    builder: SpanBuilder,
    baggage: &BaggageHosts,
    host: Option<&str>,
    headers: &mut C,
) -> Context {
    let cx = dispatch::start_built_span(builder, &Context::current());
    propagation::inject_context(&baggage.outgoing(&cx, host), headers);
    cx
}
