use opentelemetry::trace::Link;
use opentelemetry::{Context, KeyValue};

pub use crate::propagation::Trust;
use crate::propagation::{self, Carrier};

/// The parent context of a server span and the links it starts with: the
/// caller's context, or with a distrusted caller a fresh one whose root span
/// links to the caller's span.
pub(crate) fn resolve<C: Carrier + ?Sized>(carrier: &C, trust: Trust) -> (Context, Vec<Link>) {
    let parent = propagation::extract_with(carrier, trust);
    let links = propagation::incoming_link(&parent)
        .map(|caller| {
            vec![Link::new(
                caller,
                vec![KeyValue::new("traced.link.reason", "untrusted parent")],
                0,
            )]
        })
        .unwrap_or_default();
    (parent, links)
}
