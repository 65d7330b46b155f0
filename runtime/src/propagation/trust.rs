//! How much of an incoming context to believe.

use opentelemetry::Context;
use opentelemetry::baggage::{BaggageExt, KeyValueMetadata};
use opentelemetry::trace::{SpanContext, TraceContextExt};

use super::{Carrier, extract};

/// How far to trust the context a caller sends.
///
/// A service on the public internet should not let any client pick its
/// trace-id, sampling decision or baggage: a client could join its requests
/// to someone else's trace, force every request to be sampled, or feed
/// values that end up in logs and downstream requests. Behind a gateway the
/// callers are your own services and their context is the one to continue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Trust {
    /// Continue the caller's trace and keep its baggage (internal callers).
    #[default]
    Continue,
    /// Start a new trace whose root links to the caller's span; drop the
    /// caller's baggage.
    NewRootWithLink,
    /// Start a new trace whose root links to the caller's span, and keep the
    /// caller's baggage.
    NewRootWithLinkKeepBaggage,
}

/// An incoming span context that was not continued; see [`incoming_link`].
#[derive(Debug, Clone)]
struct IncomingLink(SpanContext);

/// Reads a context from `carrier`, trusting it as far as `trust` says.
///
/// With [`Trust::Continue`] this is [`extract`]. Otherwise the returned
/// context has no parent span, so the next span starts a new trace (and the
/// local sampler decides afresh); the caller's span context, when valid, is
/// kept for [`incoming_link`], and the baggage only with
/// [`Trust::NewRootWithLinkKeepBaggage`].
///
/// ```
/// use opentelemetry::trace::TraceContextExt;
/// use traced::propagation::{Trust, extract_with, incoming_link};
///
/// let mut headers = http::HeaderMap::new();
/// headers.insert("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap());
///
/// let cx = extract_with(&headers, Trust::NewRootWithLink);
/// assert!(!cx.span().span_context().is_valid());        // no parent: a new trace
/// let link = incoming_link(&cx).expect("the caller's span, to link to");
/// assert_eq!(link.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
///
/// // `#[traced]` takes both: the context as parent, the link as a link.
/// #[traced::traced(kind = server, parent = cx, link = incoming_link(cx))]
/// fn handle(cx: &opentelemetry::Context) {}
/// handle(&cx);
/// ```
pub fn extract_with<C: Carrier + ?Sized>(carrier: &C, trust: Trust) -> Context {
    let extracted = extract(carrier);
    if trust == Trust::Continue {
        return extracted;
    }
    let mut cx = Context::new();
    if trust == Trust::NewRootWithLinkKeepBaggage && !extracted.baggage().is_empty() {
        cx = cx.with_baggage(extracted.baggage().iter().map(|(key, (value, metadata))| {
            KeyValueMetadata::new(key.clone(), value.clone(), metadata.clone())
        }));
    }
    let span = extracted.span();
    let incoming = span.span_context();
    if incoming.is_valid() {
        cx = cx.with_value(IncomingLink(incoming.clone()));
    }
    cx
}

/// The caller's span context that [`extract_with`] did not continue: link the
/// new root span to it (`#[traced(link = ..)]`,
/// `SpanBuilder::with_links`). `None` when the caller sent none, or the
/// context was continued.
pub fn incoming_link(cx: &Context) -> Option<SpanContext> {
    cx.get::<IncomingLink>().map(|link| link.0.clone())
}
