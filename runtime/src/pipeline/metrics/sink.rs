//! Where the export thread sends each collection of metrics: OTLP, the
//! console's table at shutdown, memory in tests.

use std::fmt;
use std::time::Instant;

use opentelemetry_sdk::Resource;

use super::snapshot::MetricsSnapshot;

/// A destination of the metrics. `export` may return before the metrics
/// are sent; `flush` and `shutdown` wait for what was started. A sink
/// counts and reports its own failures (the export thread's errors are its
/// spans').
pub(crate) trait MetricSink: Send + fmt::Debug {
    fn export(&mut self, snapshot: &MetricsSnapshot);

    /// Waits until every export started has finished (each is bounded by
    /// its own deadline).
    fn flush(&mut self) {}

    /// Waits as `flush` does, until `deadline` at most, and lets go of what
    /// the sink holds.
    fn shutdown(&mut self, _deadline: Instant) {
        self.flush();
    }

    fn set_resource(&mut self, _resource: &Resource) {}

    /// Whether collections should carry the per-span-name summary.
    fn wants_summary(&self) -> bool {
        false
    }
}
