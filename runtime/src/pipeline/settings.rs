//! What a pipeline is built from: plain values, and the few hooks through
//! which it asks the world outside it.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::Sampler;

use super::budget::MemoryBudget;
use super::log_batches::LogExport;
use super::sink::{Sink, SpanStarts};
use super::tail::TailPolicy;

/// What a pipeline is built from.
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) sampler: Sampler,
    /// The sampler that decides new traces (for a parent-based one, its
    /// delegate), when it is known: its decision needs no call then.
    pub(crate) root_sampler: Option<Sampler>,
    /// `false` when nothing exports (`OTEL_TRACES_EXPORTER=none`): spans carry
    /// their ids and sampling decision, and record nothing.
    pub(crate) recording: bool,
    pub(crate) limits: Limits,
    pub(crate) resource: Resource,
    pub(crate) sinks: Vec<Box<dyn Sink>>,
    /// Told of every recording span as it starts (the console waits for the
    /// spans of a trace still running).
    pub(crate) span_starts: Option<Arc<dyn SpanStarts>>,
    pub(crate) max_export_batch_size: usize,
    pub(crate) schedule_delay: Duration,
    /// Exports in flight per sink, at most (each signal's sinks alike).
    pub(crate) max_concurrent_exports: usize,
    /// Bytes of finished spans and log records that may wait for export
    /// beyond the lanes, batches in flight included: one budget for every
    /// signal.
    pub(crate) budget: Arc<MemoryBudget>,
    /// How many spans at most, when a count was asked for.
    pub(crate) max_pending_spans: Option<usize>,
    /// Where log records go, when the export thread carries them.
    pub(crate) logs: Option<LogExport>,
    /// Which traces to keep, when they are decided at their end.
    pub(crate) tail_sampling: Option<TailPolicy>,
    /// Called on the export thread each time it wakes (a few times a
    /// second at least).
    pub(crate) on_wake: Option<fn()>,
    /// Time spans with the monotonic clock even where the time-stamp
    /// counter is usable (the first pipeline of the process decides).
    pub(crate) monotonic_clock: bool,
}

/// Span limits, applied as spans record (counts) and on export (lengths).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Limits {
    pub(crate) attributes: u32,
    pub(crate) events: u32,
    pub(crate) links: u32,
    pub(crate) event_attributes: u32,
    pub(crate) link_attributes: u32,
    pub(crate) value_length: Option<usize>,
}

impl Default for Limits {
    /// The specification's defaults: 128 of each, strings whole.
    fn default() -> Self {
        Limits {
            attributes: 128,
            events: 128,
            links: 128,
            event_attributes: 128,
            link_attributes: 128,
            value_length: None,
        }
    }
}
