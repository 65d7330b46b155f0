use opentelemetry::baggage::{BaggageExt, KeyValueMetadata};
use opentelemetry::trace::{Link, TraceContextExt};
use opentelemetry::{Context, KeyValue};

/// What a server does with the context a request arrives with.
///
/// Inside your own system, continue the caller's trace (the default). At the
/// edge, where anybody on the internet can send a `traceparent`, distrust it:
/// the request starts a new trace whose first span links to the caller's span,
/// so the two stay connected without letting a stranger choose your trace ids,
/// sampling decision or baggage.
///
/// ```
/// use traced::integrations::{HttpServerLayer, IncomingContext};
///
/// let public_edge = HttpServerLayer::new()
///     .incoming_context(IncomingContext::Distrust { keep_baggage: false });
/// # let _ = public_edge;
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IncomingContext {
    /// Continue the caller's trace, baggage included.
    #[default]
    Continue,
    /// Start a new trace linked to the caller's span; keep the caller's
    /// baggage only when `keep_baggage` is set.
    Distrust {
        /// Whether the caller's baggage stays visible to the handler and
        /// travels on to downstream calls.
        keep_baggage: bool,
    },
}

impl IncomingContext {
    /// The parent context for the server span and the links it starts with.
    pub(crate) fn resolve(self, extracted: Context) -> (Context, Vec<Link>) {
        match self {
            IncomingContext::Continue => (extracted, Vec::new()),
            IncomingContext::Distrust { keep_baggage } => {
                let remote = extracted.span().span_context().clone();
                let links = if remote.is_valid() {
                    vec![Link::new(
                        remote,
                        vec![KeyValue::new("traced.link.reason", "untrusted parent")],
                        0,
                    )]
                } else {
                    Vec::new()
                };
                let parent = if keep_baggage {
                    let baggage = extracted.baggage().iter().map(|(key, (value, metadata))| {
                        KeyValueMetadata::new(key.clone(), value.clone(), metadata.clone())
                    });
                    Context::new().with_baggage(baggage.collect::<Vec<_>>())
                } else {
                    Context::new()
                };
                (parent, links)
            }
        }
    }
}
