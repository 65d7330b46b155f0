//! The pipeline's own health, as the semantic conventions' SDK metrics:
//! spans processed (and dropped, with the reason as `error.type`), spans
//! waiting and the queue's capacity; and, under traced's own names, the
//! memory waiting for export takes and its limit. The same figures the
//! shutdown report prints. Exporters add theirs (spans exported and
//! failed) where they are counted.
//!
//! Spans started are not counted: that would take a write on the thread
//! that starts each span, which traced keeps free of such work. Every span
//! that ends is counted by `otel.sdk.processor.span.processed`.

use std::sync::Arc;
use std::time::SystemTime;

use opentelemetry::KeyValue;

use super::super::PipelineCore;
use super::super::tail::Counters;
use super::snapshot::{Data, Metric, NumberPoint, Temporality};

/// `otel.component.type` and `otel.component.name` of the span pipeline.
const COMPONENT_TYPE: &str = "batching_span_processor";
const COMPONENT_NAME: &str = "batching_span_processor/0";

/// The figures of the span pipeline, read at each collection.
#[derive(Debug)]
pub(crate) struct Health {
    shared: &'static PipelineCore,
    tail: Option<Arc<Counters>>,
    temporality: Temporality,
    /// Totals reported before, for delta temporality: processed, queue
    /// full, sampled out.
    reported: [u64; 3],
}

fn component() -> Vec<KeyValue> {
    vec![
        KeyValue::new("otel.component.type", COMPONENT_TYPE),
        KeyValue::new("otel.component.name", COMPONENT_NAME),
    ]
}

fn with_error(error: &'static str) -> Vec<KeyValue> {
    let mut attributes = component();
    attributes.push(KeyValue::new("error.type", error));
    attributes
}

fn count(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl Health {
    pub(crate) fn new(
        shared: &'static PipelineCore,
        tail: Option<Arc<Counters>>,
        temporality: Temporality,
    ) -> Self {
        Health {
            shared,
            tail,
            temporality,
            reported: [0; 3],
        }
    }

    /// The health metrics now; counters since `start` (cumulative) or
    /// `previous` (delta).
    pub(crate) fn collect(
        &mut self,
        start: SystemTime,
        previous: SystemTime,
        now: SystemTime,
        into: &mut Vec<Metric>,
    ) {
        let queue = &self.shared.queue;
        let sampled_out = self
            .tail
            .as_ref()
            .map_or(0, |counters| counters.report().dropped_spans);
        let taken = queue.taken();
        // Spans held by tail sampling count as processed: they are on the
        // export thread, out of the queue.
        let totals = [
            taken.saturating_sub(sampled_out),
            queue.dropped(),
            sampled_out,
        ];
        let (since, values) = match self.temporality {
            Temporality::Cumulative => (start, totals),
            Temporality::Delta => {
                let mut added = [0; 3];
                for ((added, total), reported) in
                    added.iter_mut().zip(totals).zip(&mut self.reported)
                {
                    *added = total.saturating_sub(*reported);
                    *reported = total;
                }
                (previous, added)
            }
        };
        let point = |attributes, value| NumberPoint {
            attributes,
            start: since,
            time: now,
            value: count(value),
        };
        let mut processed = vec![
            point(component(), values[0]),
            point(with_error("queue_full"), values[1]),
        ];
        if self.tail.is_some() {
            processed.push(point(with_error("tail_sampled_out"), values[2]));
        }
        into.push(Metric {
            name: "otel.sdk.processor.span.processed",
            description: "The number of spans for which the processing has finished, either \
                          successful or failed.",
            unit: "{span}",
            data: Data::Sum {
                monotonic: true,
                temporality: self.temporality,
                points: processed,
            },
        });
        let (memory, memory_limit) = queue.memory();
        let gauges: [(&'static str, &'static str, &'static str, u64); 4] = [
            (
                "otel.sdk.processor.span.queue.size",
                "The number of spans in the queue of a given instance of an SDK span processor.",
                "{span}",
                queue.pending() as u64,
            ),
            (
                "otel.sdk.processor.span.queue.capacity",
                "The maximum number of spans the queue of a given instance of an SDK span \
                 processor can hold.",
                "{span}",
                queue.capacity(),
            ),
            (
                "traced.processor.pending.memory",
                "Bytes the spans and log records waiting for export take beyond the per-thread \
                 queues' first size, batches in flight included.",
                "By",
                memory as u64,
            ),
            (
                "traced.processor.pending.memory.limit",
                "Bytes the spans and log records waiting for export may take; what goes beyond \
                 is dropped and counted.",
                "By",
                memory_limit as u64,
            ),
        ];
        for (name, description, unit, value) in gauges {
            // Up-down counters report cumulatively under every temporality.
            into.push(Metric {
                name,
                description,
                unit,
                data: Data::Sum {
                    monotonic: false,
                    temporality: Temporality::Cumulative,
                    points: vec![NumberPoint {
                        attributes: component(),
                        start,
                        time: now,
                        value: count(value),
                    }],
                },
            });
        }
    }
}
