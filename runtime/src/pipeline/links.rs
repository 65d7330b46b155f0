//! The links a span starts with (`link = expr`), and what can name the span
//! a link points at.

use opentelemetry::Context;
use opentelemetry::trace::{Link, SpanContext, TraceContextExt};

/// The links a span starts with; invalid span contexts are left out.
#[derive(Debug, Default)]
pub struct Links {
    links: Vec<Link>,
}

impl Links {
    pub(crate) fn into_links(self) -> Vec<Link> {
        self.links
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.links.is_empty()
    }

    /// Adds a link to the span `target` names, when it names one.
    pub fn push<L: LinkTarget + ?Sized>(&mut self, target: &L) {
        let span_context = target.link_span_context();
        if span_context.is_valid() {
            self.links.push(Link::with_context(span_context));
        }
    }
}

/// What `link = expr` accepts: anything that names a span context.
#[diagnostic::on_unimplemented(
    message = "`link = ..` takes an `opentelemetry::Context` or a `SpanContext`, not `{Self}`",
    label = "not a span context",
    note = "a reference to either, or an `Option` of either, works too"
)]
pub trait LinkTarget {
    /// The span context linked to; invalid when there is none.
    fn link_span_context(&self) -> SpanContext;
}

impl LinkTarget for Context {
    fn link_span_context(&self) -> SpanContext {
        self.span().span_context().clone()
    }
}

impl LinkTarget for SpanContext {
    fn link_span_context(&self) -> SpanContext {
        self.clone()
    }
}

impl<T: LinkTarget + ?Sized> LinkTarget for &T {
    fn link_span_context(&self) -> SpanContext {
        (**self).link_span_context()
    }
}

impl<T: LinkTarget> LinkTarget for Option<T> {
    fn link_span_context(&self) -> SpanContext {
        match self {
            Some(target) => target.link_span_context(),
            None => SpanContext::empty_context(),
        }
    }
}
