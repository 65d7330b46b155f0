//! Spans started and not yet exported, per trace: what lets the console
//! print a trace once its last local span has ended, however late that is.
//! The pipeline tells it of every span that starts while the console
//! exporter is on.

use std::collections::HashMap;
use std::sync::Mutex;

use opentelemetry::trace::TraceId;

use crate::pipeline::SpanStarts;
use crate::sync::MutexExt;

#[derive(Debug, Default)]
pub(crate) struct RunningSpans {
    running: Mutex<HashMap<TraceId, usize>>,
}

impl SpanStarts for RunningSpans {
    fn started(&self, trace_id: TraceId) {
        *self.lock().entry(trace_id).or_default() += 1;
    }
}

impl RunningSpans {
    /// A span of `trace_id` reached the exporter; how many of its trace are
    /// still running.
    pub(crate) fn ended(&self, trace_id: TraceId) -> usize {
        self.ended_many(trace_id, 1)
    }

    /// `spans` spans of `trace_id` ended and will not reach the exporter
    /// (tail sampling dropped them), or one did; how many are still running.
    pub(crate) fn ended_many(&self, trace_id: TraceId, spans: usize) -> usize {
        let mut running = self.lock();
        match running.get_mut(&trace_id) {
            Some(count) if *count > spans => {
                *count -= spans;
                *count
            }
            _ => {
                running.remove(&trace_id);
                0
            }
        }
    }

    /// Traces with spans still running.
    #[cfg(test)]
    pub(crate) fn traces(&self) -> usize {
        self.lock().len()
    }

    /// Forgets a trace printed before all its spans ended.
    pub(crate) fn forget(&self, trace_id: TraceId) {
        self.lock().remove(&trace_id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TraceId, usize>> {
        self.running.locked()
    }
}
