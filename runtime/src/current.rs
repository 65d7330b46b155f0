//! The current span and baggage, from anywhere beneath a traced call.
//!
//! Every function here acts on `opentelemetry::Context::current()`: the span
//! of the innermost `#[traced]` call (or of any other OpenTelemetry
//! instrumentation). With no span, or one that does not record, they do
//! nothing.
//!
//! ```
//! use traced::current;
//!
//! #[traced::traced]
//! fn checkout(cart: &[u64]) -> Result<(), std::io::Error> {
//!     current::set_attribute("cart.items", cart.len() as i64);
//!     current::add_event("stock checked", vec![traced::opentelemetry::KeyValue::new("warehouse", "b")]);
//!     if let Err(error) = std::fs::metadata("/no/such/file") {
//!         current::record_error(&error); // the call goes on; the span shows the error
//!     }
//!     Ok(())
//! }
//! # checkout(&[1, 2]).unwrap();
//! ```

use std::borrow::Cow;
use std::error::Error;

use opentelemetry::baggage::{BaggageExt, KeyValueMetadata};
use opentelemetry::trace::{SpanContext, TraceContextExt};
use opentelemetry::{Context, ContextGuard, Key, KeyValue, Value};

/// Sets one attribute on the current span.
pub fn set_attribute(key: impl Into<Key>, value: impl Into<Value>) {
    Context::map_current(|cx| cx.span().set_attribute(KeyValue::new(key, value)));
}

/// Sets several attributes on the current span.
pub fn set_attributes(attributes: impl IntoIterator<Item = KeyValue>) {
    Context::map_current(|cx| cx.span().set_attributes(attributes));
}

/// Adds an event to the current span.
pub fn add_event(name: impl Into<Cow<'static, str>>, attributes: Vec<KeyValue>) {
    Context::map_current(|cx| cx.span().add_event(name, attributes));
}

/// Records `error` on the current span as a returned `Err` of a traced
/// function is recorded: status `Error` with the error's message, the
/// attribute `error.type`, and the exception (`exception.type`,
/// `exception.message`) as an `exception` event and/or a log record, per
/// [`ExceptionSignal`](crate::ExceptionSignal).
pub fn record_error<E: Error + ?Sized>(error: &E) {
    Context::map_current(|cx| {
        let span = cx.span();
        if span.is_recording() {
            crate::span_error::record_error(&span, std::any::type_name::<E>(), error.to_string());
        }
    });
}

/// The current span's context (trace-id, span-id, flags): for log
/// correlation. Invalid when there is no current span.
///
/// ```
/// #[traced::traced]
/// fn log_line() -> String {
///     format!("trace_id={}", traced::current::span_context().trace_id())
/// }
/// # log_line();
/// ```
pub fn span_context() -> SpanContext {
    Context::map_current(|cx| cx.span().span_context().clone())
}

/// The value of baggage entry `key` in the current context.
pub fn baggage(key: &str) -> Option<String> {
    Context::map_current(|cx| cx.baggage().get(key).map(|value| value.as_str().to_owned()))
}

/// The current context with `entries` added to its baggage (replacing
/// entries of the same key): to pass to a future with
/// [`FutureExt::with_context`](crate::FutureExt::with_context), or to attach.
/// Entries beyond the baggage limits (64 entries, 8192 bytes) are left out.
pub fn with_baggage<K, V>(entries: impl IntoIterator<Item = (K, V)>) -> Context
where
    K: Into<Key>,
    V: Into<Value>,
{
    Context::map_current(|cx| {
        let kept = cx.baggage().iter().map(|(key, (value, metadata))| {
            KeyValueMetadata::new(key.clone(), value.clone(), metadata.clone())
        });
        let added = entries
            .into_iter()
            .map(|(key, value)| KeyValueMetadata::from(KeyValue::new(key, value)));
        cx.with_baggage(kept.chain(added).collect::<Vec<_>>())
    })
}

/// Adds `entries` to the baggage of the current context until the returned
/// guard drops; they are injected into every outgoing request beneath.
///
/// ```
/// let _baggage = traced::current::set_baggage([("tenant", "acme")]);
/// assert_eq!(traced::current::baggage("tenant").as_deref(), Some("acme"));
///
/// let mut headers = http::HeaderMap::new();
/// traced::propagation::inject(&mut headers);
/// assert_eq!(headers["baggage"], "tenant=acme");
/// ```
#[must_use = "the baggage is current only while the guard lives"]
pub fn set_baggage<K, V>(entries: impl IntoIterator<Item = (K, V)>) -> ContextGuard
where
    K: Into<Key>,
    V: Into<Value>,
{
    with_baggage(entries).attach()
}
