//! A span's attributes as it starts: into the extra part of a native span
//! (reused from the thread's pool), or into a list for a span of another
//! provider.

use opentelemetry::{Key, KeyValue, Value};

use super::PipelineCore;
use super::span_details::SpanDetails;

/// Collects a span's attributes while it starts.
#[derive(Debug)]
pub struct Attributes {
    sink: Sink,
}

#[derive(Debug)]
enum Sink {
    List(Vec<KeyValue>),
    Native {
        shared: &'static PipelineCore,
        extra: Option<Box<SpanDetails>>,
    },
}

impl Attributes {
    /// Attributes for a span of another provider.
    pub(crate) fn list() -> Self {
        Attributes {
            sink: Sink::List(Vec::new()),
        }
    }

    pub(crate) fn native(shared: &'static PipelineCore) -> Self {
        Attributes {
            sink: Sink::Native {
                shared,
                extra: None,
            },
        }
    }

    /// Records `value` under `key`; `None` (an `Option` that is `None`) records nothing.
    #[inline]
    pub fn record(&mut self, key: &'static str, value: Option<Value>) {
        let Some(value) = value else { return };
        let attribute = KeyValue::new(Key::from_static_str(key), value);
        match &mut self.sink {
            Sink::List(items) => items.push(attribute),
            Sink::Native { shared, extra } => extra
                .get_or_insert_with(|| shared.queue.take_extra())
                .push_attribute(attribute, &shared.limits),
        }
    }

    /// The attributes collected for a span of another provider.
    pub(crate) fn into_list(self) -> Vec<KeyValue> {
        match self.sink {
            Sink::List(items) => items,
            Sink::Native { extra, .. } => extra
                .map(|mut extra| std::mem::take(&mut extra.attributes))
                .unwrap_or_default(),
        }
    }

    pub(crate) fn into_extra(self) -> Option<Box<SpanDetails>> {
        match self.sink {
            Sink::List(_) => None,
            Sink::Native { extra, .. } => extra,
        }
    }
}
