//! A span's attributes as it starts. A call records only the values its
//! call site could not know beforehand, in the order of the site's recorded
//! attributes: into the inline slots of a native span (text into its pooled
//! details), or onto a span of another provider under the site's keys, with
//! the site's other attributes in their places.

#[cfg(feature = "tracing")]
use opentelemetry::Value;
use opentelemetry::global::BoxedSpan;
use opentelemetry::trace::Span as _;
use opentelemetry::{Key, KeyValue};

use super::PipelineCore;
use super::site::{CallSite, SiteValue};
use super::span_details::SpanDetails;
use super::values::{AttrValue, Cut, Slot, Slots};

/// Takes the values a call records while its span starts.
#[derive(Debug)]
pub struct Attributes {
    sink: Sink,
}

#[derive(Debug)]
enum Sink {
    Native {
        shared: &'static PipelineCore,
        slots: Slots,
        /// Values recorded so far.
        recorded: usize,
        extra: Option<Box<SpanDetails>>,
    },
    /// A span of another provider.
    Span {
        span: BoxedSpan,
        site: &'static CallSite,
        /// The first of the site's attributes not yet set on the span.
        next: usize,
    },
}

impl Attributes {
    pub(crate) fn native(shared: &'static PipelineCore) -> Self {
        Attributes {
            sink: Sink::Native {
                shared,
                slots: Slots::EMPTY,
                recorded: 0,
                extra: None,
            },
        }
    }

    /// Values for `span`, a recording span of another provider, which has
    /// the site's attributes before `next` already.
    pub(crate) fn on_span(span: BoxedSpan, site: &'static CallSite, next: usize) -> Self {
        Attributes {
            sink: Sink::Span { span, site, next },
        }
    }

    /// Records the value of the call site's next recorded attribute;
    /// [`AttrValue::None`] records nothing. Inlined where the call records
    /// it, the value's kind is known there, and a number or short text
    /// takes a few stores (in optimized builds: a debug build keeps one
    /// copy rather than one per attribute).
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub fn record(&mut self, value: AttrValue<'_>) {
        match &mut self.sink {
            Sink::Native { shared, slots, .. } => {
                let slot = match value {
                    AttrValue::None => Slot::ABSENT,
                    AttrValue::I64(value) => Slot::i64(value),
                    AttrValue::F64(value) => Slot::f64(value),
                    AttrValue::Bool(value) => Slot::bool(value),
                    AttrValue::Str(text) => {
                        match slots.push_text(Cut(shared.limits.value_length).apply(text)) {
                            Some(slot) => slot,
                            None => return self.record_in_details(value),
                        }
                    }
                    _ => return self.record_in_details(value),
                };
                self.record_slot(slot);
            }
            Sink::Span { .. } => self.record_on_span(value),
        }
    }

    /// Records `value` under `key`, a key the call site does not know (the
    /// field of a `tracing` span), after the site's own attributes.
    #[cfg(feature = "tracing")]
    pub(crate) fn record_keyed(&mut self, key: &'static str, value: Value) {
        let attribute = KeyValue::new(Key::from_static_str(key), value);
        match &mut self.sink {
            Sink::Native { shared, extra, .. } => extra
                .get_or_insert_with(|| shared.queue.take_extra())
                .push_attribute(attribute, &shared.limits),
            Sink::Span { span, .. } => span.set_attribute(attribute),
        }
    }

    /// Long text, formatted text and built values.
    #[inline(never)]
    fn record_in_details(&mut self, value: AttrValue<'_>) {
        let Sink::Native { shared, extra, .. } = &mut self.sink else {
            return;
        };
        let limits = &shared.limits;
        let extra = extra.get_or_insert_with(|| shared.queue.take_extra());
        let slot = match value {
            AttrValue::None => Slot::ABSENT,
            AttrValue::I64(value) => Slot::i64(value),
            AttrValue::F64(value) => Slot::f64(value),
            AttrValue::Bool(value) => Slot::bool(value),
            AttrValue::Str(text) => extra.push_text(text, limits),
            AttrValue::Display(value) => extra.push_formatted(|out| write!(out, "{value}"), limits),
            AttrValue::Debug(value) => extra.push_formatted(|out| write!(out, "{value:?}"), limits),
            AttrValue::Value(value) => extra.push_built(value, limits),
        };
        self.record_slot(slot);
    }

    /// The next value's slot, inline when there is room.
    #[inline(always)]
    fn record_slot(&mut self, slot: Slot) {
        let Sink::Native {
            slots, recorded, ..
        } = &mut self.sink
        else {
            return;
        };
        if slots.set(*recorded, slot) {
            *recorded += 1;
        } else {
            self.record_slot_in_details(slot);
        }
    }

    /// A slot past the inline ones.
    #[inline(never)]
    fn record_slot_in_details(&mut self, slot: Slot) {
        let Sink::Native {
            shared,
            recorded,
            extra,
            ..
        } = &mut self.sink
        else {
            return;
        };
        extra
            .get_or_insert_with(|| shared.queue.take_extra())
            .more_slots
            .push(slot);
        *recorded += 1;
    }

    /// Sets the site's attributes up to its next recorded one, then that
    /// one with `value`.
    #[inline(never)]
    fn record_on_span(&mut self, value: AttrValue<'_>) {
        let Sink::Span { span, site, next } = &mut self.sink else {
            return;
        };
        let mut value = Some(value);
        while let Some(attribute) = site.attributes().get(*next) {
            *next += 1;
            let recorded = matches!(attribute.value, SiteValue::Recorded);
            let value = match value.take() {
                Some(value) if recorded => value.into_value(),
                taken => {
                    value = taken;
                    attribute.known()
                }
            };
            if let Some(value) = value {
                span.set_attribute(KeyValue::new(Key::from_static_str(attribute.key), value));
            }
            if recorded {
                return;
            }
        }
    }

    /// What a native span's call recorded.
    pub(crate) fn into_native(self) -> (Slots, Option<Box<SpanDetails>>) {
        match self.sink {
            Sink::Native { slots, extra, .. } => (slots, extra),
            Sink::Span { .. } => (Slots::EMPTY, None),
        }
    }

    /// The span of another provider, with the site's attributes after the
    /// last recorded one set too when it records; `None` for a native span's
    /// values.
    pub(crate) fn into_span(self, recording: bool) -> Option<BoxedSpan> {
        let Sink::Span {
            mut span,
            site,
            next,
        } = self.sink
        else {
            return None;
        };
        if recording {
            for attribute in site.attributes().iter().skip(next) {
                if let Some(value) = attribute.known() {
                    span.set_attribute(KeyValue::new(Key::from_static_str(attribute.key), value));
                }
            }
        }
        Some(span)
    }
}
