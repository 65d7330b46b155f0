//! What a caller's W3C fields carry beyond what the installed propagators
//! put in the extracted context, kept there for `inject`.
//!
//! `opentelemetry`'s `TraceContextPropagator` keeps only the `sampled` flag,
//! and its `TraceState` rejects keys Level 2 allows. So `extract` gives the
//! remote span context the received `random` flag too (every span started
//! beneath inherits it, as it inherits `sampled`), and keeps the `tracestate`
//! list as received in the context beside it. Contexts made from that one
//! (the spans started beneath) carry the list on, and `inject` sends it while
//! the current span belongs to the trace it came with.

use opentelemetry::Context;
use opentelemetry::trace::{SpanContext, TraceContextExt, TraceId};

use super::traceparent::Traceparent;
use super::tracestate::List;

/// The `tracestate` list a trace came in with.
#[derive(Debug)]
struct Received {
    trace_id: TraceId,
    tracestate: List,
}

/// `cx`, as the installed propagators extracted it, completed with what the
/// valid `traceparent` and `tracestate` carry beyond it. Left as it is when
/// its span context is not the one `traceparent` names (no W3C propagator is
/// installed, or another one's context won).
pub(super) fn complete(
    cx: Context,
    traceparent: &Traceparent,
    tracestate: Option<List>,
) -> Context {
    let remote = {
        let span = cx.span();
        let remote = span.span_context();
        let named = remote.is_remote()
            && remote.trace_id() == traceparent.trace_id
            && remote.span_id() == traceparent.parent_id;
        if !named {
            return cx;
        }
        SpanContext::new(
            remote.trace_id(),
            remote.span_id(),
            traceparent.flags,
            true,
            remote.trace_state().clone(),
        )
    };
    let cx = cx.with_remote_span_context(remote);
    match tracestate {
        Some(tracestate) => cx.with_value(Received {
            trace_id: traceparent.trace_id,
            tracestate,
        }),
        None => cx,
    }
}

/// The `tracestate` to send for `span_context`, the current span of `cx`,
/// when a list came in with its trace: that list as the span's `TraceState`
/// changed it. `None` when none came in with this trace.
pub(super) fn tracestate(cx: &Context, span_context: &SpanContext) -> Option<String> {
    let received = cx.get::<Received>()?;
    (received.trace_id == span_context.trace_id())
        .then(|| received.tracestate.after(span_context.trace_state()))
}
