//! Turning tracing off for a scope: nothing beneath is traced, and
//! downstream services are told not to sample.

use std::future::Future;

use opentelemetry::context::{FutureExt as _, WithContext};
use opentelemetry::{Context, ContextGuard};

/// Suppresses tracing on this thread until the returned guard drops.
///
/// Nothing started beneath is traced: no `#[traced]` span, no span of any
/// other OpenTelemetry instrumentation (outgoing HTTP or gRPC client spans
/// included). A context injected beneath carries the current trace with the
/// sampled flag cleared, so downstream services record nothing of it either.
/// `#[traced(suppress)]` does the same for one function.
///
/// ```
/// fn health_check() {
///     let _suppressed = traced::suppress();
///     let mut headers = http::HeaderMap::new();
///     traced::propagation::inject(&mut headers);
///     // A traceparent is sent, marked not sampled.
///     assert!(headers["traceparent"].to_str().unwrap().ends_with("-00"));
///     assert!(traced::is_suppressed());
/// }
/// health_check();
/// assert!(!traced::is_suppressed());
/// ```
#[must_use = "tracing is suppressed only while the guard lives"]
pub fn suppress() -> SuppressGuard {
    SuppressGuard {
        _attached: Context::enter_telemetry_suppressed_scope(),
    }
}

/// Runs `future` with tracing suppressed during every poll: the async form
/// of [`suppress`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let seen = traced::suppressed(async { traced::is_suppressed() }).await;
/// assert!(seen);
/// # }
/// ```
pub fn suppressed<F: Future>(future: F) -> WithContext<F> {
    future.with_context(Context::current().with_telemetry_suppressed())
}

/// Whether tracing is suppressed in the current context.
pub fn is_suppressed() -> bool {
    Context::is_current_telemetry_suppressed()
}

/// Keeps tracing suppressed on this thread until dropped; see [`suppress`].
#[derive(Debug)]
pub struct SuppressGuard {
    _attached: ContextGuard,
}
