//! Library spans: `tracing` spans (tower-http's `TraceLayer`, sqlx, tonic,
//! any `#[instrument]`) as spans of the same pipeline as `#[traced]` ones,
//! through a `tracing-subscriber` layer ([`SpanBridge`], part of traced's
//! `tracing` layer).
//!
//! - A new `tracing` span starts a span where traced calls' spans go (the
//!   native pipeline, or a provider the application installed), with the
//!   same sampling: under the current OpenTelemetry context (which holds the
//!   entered `tracing` spans and `#[traced]` calls alike), under an explicit
//!   `parent:`'s span, or in a new trace for `parent: None`. Its context is
//!   kept in the `tracing` span's extensions.
//! - Entering the `tracing` span makes its context current on that thread
//!   ([`entered`]); exiting makes the previous one current again; closing it
//!   ends the span. A span entered many times (a future across polls) is one
//!   span from creation to close.
//! - Fields become attributes, also when recorded later; `otel.*` fields and
//!   `error` keep tracing-opentelemetry's meaning ([`fields`]).
//! - `follows_from` becomes a link.
//! - Which spans are recorded is a per-layer filter in `RUST_LOG` syntax
//!   ([`filter`]); a span it rejects is not seen here at all, so its children
//!   nest under the nearest recorded ancestor.

mod entered;
mod fields;
mod filter;
mod sites;
mod start;

use opentelemetry::KeyValue;
use opentelemetry::trace::{Status, TraceContextExt};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::{LookupSpan, SpanRef};

pub(crate) use filter::{DEFAULT_FILTER, LibrarySpanFilter, filter_is_set, parse, set_filter};
use start::Bridged;

use crate::pipeline::Parent;

/// Records `tracing` spans as spans; see the module docs.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SpanBridge;

impl<S> Layer<S> for SpanBridge
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, cx: Context<'_, S>) {
        let site = sites::site_of(attrs.metadata());
        // An explicit parent this layer saw: its context. One it did not see
        // (filtered out, or nothing recorded it) leaves the current context.
        let explicit = attrs
            .parent()
            .and_then(|parent| cx.span(parent))
            .and_then(|parent| {
                let extensions = parent.extensions();
                extensions
                    .get::<Bridged>()
                    .map(|bridged| bridged.cx.clone())
            });
        let parent = match &explicit {
            Some(parent_cx) => Parent::Explicit(parent_cx),
            None if attrs.is_root() => Parent::Root,
            None => Parent::Current,
        };
        let Some(bridged) = start::start(attrs, site, parent) else {
            return;
        };
        if let Some(span) = cx.span(id) {
            span.extensions_mut().insert(bridged);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, cx: Context<'_, S>) {
        recording(cx.span(id), |bridged| {
            let span = bridged.cx.span();
            let mut conventions = fields::Conventions::default();
            values.record(&mut fields::Fields {
                conventions: &mut conventions,
                attribute: &mut |key, value| span.set_attribute(KeyValue::new(key, value)),
            });
            if let Some(name) = conventions.name.take() {
                span.update_name(name);
            }
            let status = conventions.status();
            if status != Status::Unset {
                span.set_status(status);
            }
        });
    }

    fn on_follows_from(&self, id: &Id, follows: &Id, cx: Context<'_, S>) {
        let Some(follows) = cx.span(follows) else {
            return;
        };
        let Some(linked) = follows
            .extensions()
            .get::<Bridged>()
            .map(|bridged| bridged.cx.span().span_context().clone())
        else {
            return;
        };
        recording(cx.span(id), |bridged| {
            bridged.cx.span().add_link(linked, Vec::new());
        });
    }

    /// An event with an `error` field (what `#[instrument(err)]` emits)
    /// marks its span failed; the event itself becomes a log record
    /// elsewhere.
    fn on_event(&self, event: &Event<'_>, cx: Context<'_, S>) {
        if event.metadata().fields().field("error").is_none() {
            return;
        }
        recording(cx.event_span(event), |bridged| {
            let mut error = fields::EventError::default();
            event.record(&mut error);
            if let Some(description) = error.0 {
                bridged.cx.span().set_status(Status::error(description));
            }
        });
    }

    fn on_enter(&self, id: &Id, cx: Context<'_, S>) {
        let Some(span) = cx.span(id) else { return };
        if let Some(bridged) = span.extensions().get::<Bridged>() {
            entered::enter(id, &bridged.cx);
        }
    }

    fn on_exit(&self, id: &Id, _cx: Context<'_, S>) {
        entered::exit(id);
    }

    fn on_close(&self, id: Id, cx: Context<'_, S>) {
        let Some(span) = cx.span(&id) else { return };
        let bridged = span.extensions_mut().remove::<Bridged>();
        if let Some(bridged) = bridged {
            bridged.end();
        }
    }
}

/// Runs `f` with what `span` carries, when it has a span that records.
fn recording<S>(span: Option<SpanRef<'_, S>>, f: impl FnOnce(&Bridged))
where
    S: for<'a> LookupSpan<'a>,
{
    let Some(span) = span else { return };
    let extensions = span.extensions();
    if let Some(bridged) = extensions
        .get::<Bridged>()
        .filter(|bridged| bridged.records())
    {
        f(bridged);
    }
}
