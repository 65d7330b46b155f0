//! The lean span: the finished `SpanData` is built in place while the span
//! runs, so ending it is a clock read and a queue push.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::SystemTime;

use opentelemetry::trace::{Event, Link, SpanContext, SpanId, SpanKind, Status};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};

use super::provider::Inner;

/// A span of the lean tracer; ends (and is queued for export) when
/// [`end`](opentelemetry::trace::Span::end) is called or it is dropped.
#[derive(Debug)]
pub(crate) struct LeanSpan {
    context: SpanContext,
    record: Option<Record>,
}

#[derive(Debug)]
struct Record {
    data: SpanData,
    pipeline: Arc<Inner>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Inner")
    }
}

/// What a recording span starts with.
pub(super) struct Start {
    pub(super) parent_span_id: SpanId,
    pub(super) parent_is_remote: bool,
    pub(super) kind: SpanKind,
    pub(super) name: Cow<'static, str>,
    pub(super) attributes: Vec<KeyValue>,
    pub(super) sampler_attributes: Vec<KeyValue>,
    pub(super) links: Vec<Link>,
    pub(super) scope: InstrumentationScope,
}

impl LeanSpan {
    pub(super) fn non_recording(context: SpanContext) -> Self {
        LeanSpan {
            context,
            record: None,
        }
    }

    pub(super) fn recording(context: SpanContext, pipeline: &Arc<Inner>, start: Start) -> Self {
        let limits = pipeline.limits;
        let mut attributes = start.attributes;
        attributes.extend(start.sampler_attributes);
        let dropped_attributes_count =
            keep_at_most(&mut attributes, limits.max_attributes_per_span);
        let mut links = start.links;
        let dropped_links = keep_at_most(&mut links, limits.max_links_per_span);
        let now = SystemTime::now();
        let data = SpanData {
            span_context: context.clone(),
            parent_span_id: start.parent_span_id,
            parent_span_is_remote: start.parent_is_remote,
            span_kind: start.kind,
            name: start.name,
            start_time: now,
            end_time: now,
            attributes,
            dropped_attributes_count,
            events: SpanEvents::default(),
            links: span_links(links, dropped_links),
            status: Status::Unset,
            instrumentation_scope: start.scope,
        };
        LeanSpan {
            context,
            record: Some(Record {
                data,
                pipeline: Arc::clone(pipeline),
            }),
        }
    }

    pub(super) fn set_start_time(&mut self, start: SystemTime) {
        if let Some(record) = &mut self.record {
            record.data.start_time = start;
        }
    }
}

fn span_links(links: Vec<Link>, dropped_count: u32) -> SpanLinks {
    let mut span_links = SpanLinks::default();
    span_links.links = links;
    span_links.dropped_count = dropped_count;
    span_links
}

fn keep_at_most<T>(items: &mut Vec<T>, limit: u32) -> u32 {
    let limit = limit as usize;
    if items.len() <= limit {
        return 0;
    }
    let dropped = items.len() - limit;
    items.truncate(limit);
    u32::try_from(dropped).unwrap_or(u32::MAX)
}

impl opentelemetry::trace::Span for LeanSpan {
    fn add_event_with_timestamp<T>(
        &mut self,
        name: T,
        timestamp: SystemTime,
        mut attributes: Vec<KeyValue>,
    ) where
        T: Into<Cow<'static, str>>,
    {
        let Some(record) = &mut self.record else {
            return;
        };
        let limits = record.pipeline.limits;
        let events = &mut record.data.events;
        if events.events.len() >= limits.max_events_per_span as usize {
            events.dropped_count = events.dropped_count.saturating_add(1);
            return;
        }
        let dropped = keep_at_most(&mut attributes, limits.max_attributes_per_event);
        events
            .events
            .push(Event::new(name, timestamp, attributes, dropped));
    }

    fn span_context(&self) -> &SpanContext {
        &self.context
    }

    fn is_recording(&self) -> bool {
        self.record.is_some()
    }

    fn set_attribute(&mut self, attribute: KeyValue) {
        let Some(record) = &mut self.record else {
            return;
        };
        let data = &mut record.data;
        if data.attributes.len() < record.pipeline.limits.max_attributes_per_span as usize {
            data.attributes.push(attribute);
        } else {
            data.dropped_attributes_count = data.dropped_attributes_count.saturating_add(1);
        }
    }

    fn set_status(&mut self, status: Status) {
        let Some(record) = &mut self.record else {
            return;
        };
        // Ok > Error > Unset: a status never goes back down.
        if status > record.data.status {
            record.data.status = status;
        }
    }

    fn update_name<T>(&mut self, new_name: T)
    where
        T: Into<Cow<'static, str>>,
    {
        if let Some(record) = &mut self.record {
            record.data.name = new_name.into();
        }
    }

    fn add_link(&mut self, span_context: SpanContext, mut attributes: Vec<KeyValue>) {
        let Some(record) = &mut self.record else {
            return;
        };
        let limits = record.pipeline.limits;
        let links = &mut record.data.links;
        if !span_context.is_valid() {
            return;
        }
        if links.links.len() >= limits.max_links_per_span as usize {
            links.dropped_count = links.dropped_count.saturating_add(1);
            return;
        }
        let dropped = keep_at_most(&mut attributes, limits.max_attributes_per_link);
        links
            .links
            .push(Link::new(span_context, attributes, dropped));
    }

    fn end_with_timestamp(&mut self, timestamp: SystemTime) {
        let Some(Record { mut data, pipeline }) = self.record.take() else {
            return;
        };
        if !data.span_context.is_sampled() {
            return;
        }
        data.end_time = timestamp;
        pipeline.queue.push(data);
    }
}

impl Drop for LeanSpan {
    fn drop(&mut self) {
        if self.record.is_some() {
            opentelemetry::trace::Span::end(self);
        }
    }
}
