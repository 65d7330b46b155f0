use opentelemetry::baggage::{BaggageExt, KeyValueMetadata};
use opentelemetry::trace::{Link, TraceContextExt};
use opentelemetry::{Context, KeyValue};

/// How far a server trusts the context a request arrives with.
///
/// Inside your own system, continue the caller's trace (the default). At the
/// edge, where anybody on the internet can send a `traceparent`, start a new
/// trace whose first span links to the caller's span: the two stay connected
/// without letting a stranger choose your trace ids, sampling decision or
/// baggage.
///
/// ```
/// use traced::integrations::{HttpServerLayer, Trust};
///
/// let public_edge = HttpServerLayer::new().trust(Trust::NewRootWithLink);
/// # let _ = public_edge;
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
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

impl Trust {
    /// The parent context for the server span and the links it starts with.
    pub(crate) fn resolve(self, extracted: Context) -> (Context, Vec<Link>) {
        if self == Trust::Continue {
            return (extracted, Vec::new());
        }
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
        let mut parent = Context::new();
        if self == Trust::NewRootWithLinkKeepBaggage {
            let baggage = extracted
                .baggage()
                .iter()
                .map(|(key, (value, metadata))| {
                    KeyValueMetadata::new(key.clone(), value.clone(), metadata.clone())
                })
                .collect::<Vec<_>>();
            parent = parent.with_baggage(baggage);
        }
        (parent, links)
    }
}
