//! A stock-keeping library that knows nothing of OpenTelemetry or traced:
//! it instruments itself with `tracing` alone (`#[instrument]`, spans made by
//! hand, `Span::record`, `follows_from`), the way crates on crates.io do.
//! The library-span tests call it from `#[traced]` functions and call back
//! into them from inside its spans.

use std::future::Future;
use std::time::Duration;

use tracing::{Instrument, Span, debug_span, field, info_span, instrument};

/// What taking stock can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StockError {
    /// Fewer left than asked for.
    #[error("only {left} {item} left")]
    Short { item: String, left: u32 },
}

/// A synchronous span whose fields are its arguments.
#[instrument]
pub fn count(item: &str, shelf: u64) -> u32 {
    tracing::info!(item, "counting");
    item.len() as u32
}

/// `#[instrument(err)]`: an `Err` marks the span failed.
#[instrument(err)]
pub fn take(item: &str, quantity: u32) -> Result<u32, StockError> {
    let left = 2;
    if quantity > left {
        return Err(StockError::Short {
            item: item.to_owned(),
            left,
        });
    }
    Ok(left - quantity)
}

/// An async span, entered on every poll, across `.await` points that really
/// wait; `then` runs inside it, after the waits.
#[instrument(skip(then))]
pub async fn restock<F, Fut>(item: &str, quantity: u32, then: F) -> Fut::Output
where
    F: FnOnce() -> Fut,
    Fut: Future,
{
    tokio::time::sleep(Duration::from_millis(2)).await;
    tokio::task::yield_now().await;
    tracing::info!(quantity, "restocked");
    then().await
}

/// Runs `f` inside a span of this library: what the application calls from
/// there (a `#[traced]` function, an OpenTelemetry tracer) nests under it.
#[instrument(skip(f))]
pub fn with_lock<R>(shelf: u64, f: impl FnOnce() -> R) -> R {
    f()
}

/// The same inside a `debug` span, which the default filter leaves out.
#[instrument(level = "debug", skip(f))]
pub fn with_debug_detail<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// Fields recorded after the span started, of every type `tracing` has.
#[instrument(fields(found = field::Empty, weight = field::Empty, fragile = field::Empty,
    label = field::Empty, shape = field::Empty, big = field::Empty))]
pub fn inspect(item: &str) {
    let span = Span::current();
    span.record("found", 3_u64);
    span.record("weight", 1.5_f64);
    span.record("fragile", true);
    span.record("label", field::display(format!("{item} on shelf 4")));
    span.record("shape", field::debug(["round", "small"]));
    span.record("big", u64::MAX);
}

/// A span under an explicit parent, made and entered elsewhere.
pub fn audit(parent: &Span, then: impl FnOnce()) {
    let span = info_span!(parent: parent, "audit", items = 3);
    let _entered = span.enter();
    then();
}

/// A span that starts a trace of its own whatever is current
/// (`parent: None`).
pub fn nightly_job(then: impl FnOnce()) {
    let span = info_span!(parent: None, "nightly_job");
    let _entered = span.enter();
    then();
}

/// A span that follows from another (a link, not a parent).
pub fn reorder(cause: &Span) {
    let span = info_span!("reorder");
    span.follows_from(cause);
    let _entered = span.enter();
}

/// tracing-opentelemetry's conventions, as libraries use them: a name and
/// kind chosen at run time, and a status set by fields.
pub fn fetch(path: &str, status: u16, then: impl FnOnce()) {
    let span = info_span!(
        "fetch",
        otel.name = %format!("GET {path}"),
        otel.kind = "client",
        otel.status_code = field::Empty,
        otel.status_description = field::Empty,
        http.response.status_code = field::Empty,
    );
    let _entered = span.enter();
    then();
    span.record("http.response.status_code", status);
    if status >= 500 {
        span.record("otel.status_code", "ERROR");
        span.record("otel.status_description", "upstream failed");
    }
}

/// An `error` field recorded on the span by hand.
pub fn load(item: &str) {
    let span = info_span!("load", item, error = field::Empty);
    let _entered = span.enter();
    span.record("error", "disk unreadable");
}

/// A future instrumented with a span made now and entered on every poll,
/// wherever it is polled; `then` is called inside it.
pub fn ship<F, Fut>(order: u64, then: F) -> impl Future<Output = Fut::Output>
where
    F: FnOnce() -> Fut,
    Fut: Future,
{
    let span = info_span!("ship", order);
    async move {
        tokio::time::sleep(Duration::from_millis(1)).await;
        then().await
    }
    .instrument(span)
}

/// A span made inside a `debug` span that the default filter leaves out.
pub fn sweep(then: impl FnOnce()) {
    let outer = debug_span!("sweep_detail");
    let _outer = outer.enter();
    let inner = info_span!("sweep");
    let _inner = inner.enter();
    then();
}
