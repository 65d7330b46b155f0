//! The span handle of the native pipeline: what `Context::with_span` holds
//! while a span runs, and what the OpenTelemetry API reaches through
//! `get_active_span` or a `SpanRef`.

use std::borrow::Cow;
use std::fmt;
use std::time::SystemTime;

use opentelemetry::trace::{Event, Link, SpanContext, SpanId, Status, TraceState};
use opentelemetry::{KeyValue, trace};

use super::PipelineCore;
use super::clock::{self, Tick};
use super::record::Record;
use super::site::CallSite;
use super::span_details::SpanDetails;
use super::values::Slots;

/// The end time that tells a native span to end now, on its own clock: no
/// span ends at the Unix epoch.
pub(crate) const END_NOW: SystemTime = SystemTime::UNIX_EPOCH;

/// A span of the native pipeline; `V` holds the values its call recorded
/// for the call site's attributes.
#[derive(Debug)]
pub(crate) struct NativeSpan<V: Values = ()> {
    span_context: SpanContext,
    parent_span_id: SpanId,
    parent_is_remote: bool,
    start: Tick,
    site: Option<&'static CallSite>,
    values: V,
    extra: Option<Box<SpanDetails>>,
    shared: &'static PipelineCore,
    recording: bool,
}

/// What a span holds of the values its call recorded: nothing for a call
/// that records none, which keeps its span within the 128 bytes the
/// compiler moves with inline stores rather than calls to `memcpy` (it is
/// moved into the `Context` as it starts); the slots for one that does.
pub(crate) trait Values: Copy + Send + Sync + fmt::Debug + 'static {
    fn slots(&self) -> Slots;
}

impl Values for () {
    #[inline]
    fn slots(&self) -> Slots {
        Slots::EMPTY
    }
}

impl Values for Slots {
    #[inline]
    fn slots(&self) -> Slots {
        *self
    }
}

impl<V: Values> NativeSpan<V> {
    /// A span that records from now until it ends, with the values its
    /// call recorded before it started.
    #[inline]
    pub(crate) fn recording(
        shared: &'static PipelineCore,
        span_context: SpanContext,
        parent_span_id: SpanId,
        parent_is_remote: bool,
        site: Option<&'static CallSite>,
        values: V,
    ) -> Self {
        if let Some(starts) = &shared.span_starts {
            starts.started(span_context.trace_id());
        }
        NativeSpan {
            span_context,
            parent_span_id,
            parent_is_remote,
            start: clock::now(),
            site,
            values,
            extra: None,
            shared,
            recording: true,
        }
    }

    /// This span's extra part, taken from the pool on first use.
    #[inline]
    pub(crate) fn extra(&mut self) -> &mut SpanDetails {
        let queue = &self.shared.queue;
        self.extra.get_or_insert_with(|| queue.take_extra())
    }

    /// The details its call filled before the span started, moved in whole.
    #[inline]
    pub(crate) fn set_details(&mut self, extra: Option<Box<SpanDetails>>) {
        if extra.is_some() {
            self.extra = extra;
        }
    }
}

impl NativeSpan {
    /// A span that carries ids and a sampling decision and records nothing.
    pub(crate) fn non_recording(shared: &'static PipelineCore, span_context: SpanContext) -> Self {
        NativeSpan {
            span_context,
            parent_span_id: SpanId::INVALID,
            parent_is_remote: false,
            start: clock::now(),
            site: None,
            values: (),
            extra: None,
            shared,
            recording: false,
        }
    }
}

impl<V: Values> trace::Span for NativeSpan<V> {
    fn add_event_with_timestamp<T>(
        &mut self,
        name: T,
        timestamp: SystemTime,
        mut attributes: Vec<KeyValue>,
    ) where
        T: Into<Cow<'static, str>>,
    {
        if !self.recording {
            return;
        }
        let limits = &self.shared.limits;
        let dropped = attributes
            .len()
            .saturating_sub(limits.event_attributes as usize);
        attributes.truncate(limits.event_attributes as usize);
        let event = Event::new(name, timestamp, attributes, count(dropped));
        let shared = self.shared;
        self.extra().push_event(event, &shared.limits);
    }

    fn span_context(&self) -> &SpanContext {
        &self.span_context
    }

    fn is_recording(&self) -> bool {
        self.recording
    }

    fn set_attribute(&mut self, attribute: KeyValue) {
        if self.recording {
            let shared = self.shared;
            self.extra().push_attribute(attribute, &shared.limits);
        }
    }

    fn set_status(&mut self, status: Status) {
        if self.recording {
            // Ok > Error > Unset, as the specification orders them.
            let extra = self.extra();
            if status > extra.status {
                extra.status = status;
            }
        }
    }

    fn update_name<T>(&mut self, new_name: T)
    where
        T: Into<Cow<'static, str>>,
    {
        if self.recording {
            self.extra().name = Some(new_name.into());
        }
    }

    fn add_link(&mut self, span_context: SpanContext, mut attributes: Vec<KeyValue>) {
        if !self.recording || !span_context.is_valid() {
            return;
        }
        let limits = &self.shared.limits;
        let dropped = attributes
            .len()
            .saturating_sub(limits.link_attributes as usize);
        attributes.truncate(limits.link_attributes as usize);
        let link = Link::new(span_context, attributes, count(dropped));
        let shared = self.shared;
        self.extra().push_link(link, &shared.limits);
    }

    fn end_with_timestamp(&mut self, timestamp: SystemTime) {
        if self.recording && timestamp != END_NOW {
            self.extra().end_time = Some(timestamp);
        }
        self.end();
    }

    #[inline]
    fn end(&mut self) {
        if !std::mem::replace(&mut self.recording, false) {
            return;
        }
        let end = clock::now();
        // A span that started on the wall clock (through the OpenTelemetry
        // API) ends on it, so that its duration is measured on one clock.
        if let Some(extra) = self.extra.as_mut()
            && extra.start_time.is_some()
            && extra.end_time.is_none()
        {
            extra.end_time = Some(SystemTime::now());
        }
        if *self.span_context.trace_state() != TraceState::NONE {
            self.extra().trace_state = self.span_context.trace_state().clone();
        }
        let record = Record {
            trace_id: self.span_context.trace_id(),
            span_id: self.span_context.span_id(),
            parent_span_id: self.parent_span_id,
            parent_is_remote: self.parent_is_remote,
            flags: self.span_context.trace_flags(),
            start: self.start,
            end,
            site: self.site,
            slots: self.values.slots(),
            extra: self.extra.take(),
        };
        if self.shared.is_open() {
            self.shared.queue.push(record);
        }
    }
}

impl<V: Values> Drop for NativeSpan<V> {
    /// A span nobody ended ends when its last handle goes, as SDK spans do.
    fn drop(&mut self) {
        trace::Span::end(self);
    }
}

fn count(dropped: usize) -> u32 {
    u32::try_from(dropped).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A span is moved into the `Context` as it starts: up to 128 bytes the
    /// compiler moves it with inline stores, beyond with calls to `memcpy`.
    /// A span whose call records no values stays within them.
    #[test]
    fn a_span_moves_without_memcpy() {
        assert!(
            size_of::<NativeSpan>() <= 128,
            "{}",
            size_of::<NativeSpan>()
        );
    }
}
