//! Which `tracing` spans become spans: a filter in `RUST_LOG` syntax
//! (tracing-subscriber's `EnvFilter`), applied as a per-layer filter so that
//! it decides for traced's layer alone. `tracing` events always reach the
//! layer (they become log records, kept by severity further on).
//!
//! A span callsite the filter rejects is `Interest::never` in a subscriber
//! where traced's layer is the only one to ask: `tracing` caches that in the
//! callsite, and a disabled span costs one load and a branch. The filter in
//! force lives in `global_state`, so that `init()` can change the filter of
//! a layer installed before it; changing it rebuilds every callsite's
//! cached interest.

use std::sync::Arc;

use tracing::Metadata;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::ParseError;
use tracing_subscriber::layer::{Context, Filter};

use crate::global_state;

/// The filter when neither the environment nor code names one.
pub(crate) const DEFAULT_FILTER: &str = "info";

/// Parses `directives` (`RUST_LOG` syntax: `info,sqlx=debug,h2=off`).
pub(crate) fn parse(directives: &str) -> Result<EnvFilter, ParseError> {
    EnvFilter::builder().parse(directives)
}

/// Makes `directives` the filter in force (`replace`), or the filter unless
/// one is in force already; either way callsites are asked again.
/// Directives that do not parse (they were checked where they were read)
/// leave the default in force.
pub(crate) fn set_filter(directives: &str, replace: bool) {
    if put(directives, replace) {
        tracing::callsite::rebuild_interest_cache();
    }
}

/// Whether a filter is in force (set by `init()` or an earlier layer).
pub(crate) fn filter_is_set() -> bool {
    global_state::library_span_filter().is_some()
}

fn put(directives: &str, replace: bool) -> bool {
    global_state::set_library_span_filter(replace, || {
        let filter = parse(directives).unwrap_or_else(|_| default_filter());
        // Span directives (`[span{field}]=level`) are the only dynamic ones.
        (filter, directives.contains('['))
    })
}

fn default_filter() -> EnvFilter {
    parse(DEFAULT_FILTER).expect("the default filter parses")
}

/// The filter in force; the default when none was set. Called while
/// `tracing` registers a callsite, so it never asks callsites again.
fn current() -> Arc<EnvFilter> {
    if let Some(filter) = global_state::library_span_filter() {
        return filter;
    }
    put(DEFAULT_FILTER, false);
    global_state::library_span_filter().unwrap_or_else(|| Arc::new(default_filter()))
}

/// The per-layer filter of traced's `tracing` layer.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct LibrarySpanFilter;

impl<S> Filter<S> for LibrarySpanFilter
where
    S: tracing::Subscriber,
{
    fn enabled(&self, metadata: &Metadata<'_>, cx: &Context<'_, S>) -> bool {
        !metadata.is_span() || <EnvFilter as Filter<S>>::enabled(&current(), metadata, cx)
    }

    fn callsite_enabled(&self, metadata: &'static Metadata<'static>) -> Interest {
        if metadata.is_span() {
            <EnvFilter as Filter<S>>::callsite_enabled(&current(), metadata)
        } else {
            Interest::always()
        }
    }

    // Events of every level reach the log bridge: no hint.

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, cx: Context<'_, S>) {
        if global_state::library_span_filter_is_dynamic() {
            <EnvFilter as Filter<S>>::on_new_span(&current(), attrs, id, cx);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, cx: Context<'_, S>) {
        if global_state::library_span_filter_is_dynamic() {
            <EnvFilter as Filter<S>>::on_record(&current(), id, values, cx);
        }
    }

    fn on_enter(&self, id: &Id, cx: Context<'_, S>) {
        if global_state::library_span_filter_is_dynamic() {
            <EnvFilter as Filter<S>>::on_enter(&current(), id, cx);
        }
    }

    fn on_exit(&self, id: &Id, cx: Context<'_, S>) {
        if global_state::library_span_filter_is_dynamic() {
            <EnvFilter as Filter<S>>::on_exit(&current(), id, cx);
        }
    }

    fn on_close(&self, id: Id, cx: Context<'_, S>) {
        if global_state::library_span_filter_is_dynamic() {
            <EnvFilter as Filter<S>>::on_close(&current(), id, cx);
        }
    }
}
