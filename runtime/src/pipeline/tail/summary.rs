//! What the spans of a held trace have shown so far, gathered as they arrive:
//! the facts a keep-or-drop verdict is made from.

use std::time::Duration;

use opentelemetry::trace::{SpanId, Status};
use opentelemetry_sdk::trace::SpanData;

use super::HeldSpan;
use crate::pipeline::clock::WallClock;

/// What one span shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Facts {
    /// How long it lasted, when it is a local root.
    pub(super) root_lasted: Option<Duration>,
    pub(super) error: bool,
    pub(super) panic: bool,
    pub(super) cancelled: bool,
}

impl Facts {
    /// The facts of `span`; a bare root's duration is measured only when
    /// `timed` (a slow threshold asks), else it counts as zero.
    pub(super) fn of(span: &HeldSpan, clock: &WallClock, timed: bool) -> Facts {
        match span {
            HeldSpan::Converted(span) => Facts::of_span_data(span),
            // Status, events and attributes live in a span's extra: a bare
            // record has none, only its place in the trace and its times.
            HeldSpan::Bare(record) => Facts {
                root_lasted: (record.parent_span_id == SpanId::INVALID || record.parent_is_remote)
                    .then(|| {
                        if !timed {
                            return Duration::ZERO;
                        }
                        clock
                            .wall_time(record.end)
                            .duration_since(clock.wall_time(record.start))
                            .unwrap_or_default()
                    }),
                ..Facts::default()
            },
        }
    }

    fn of_span_data(span: &SpanData) -> Facts {
        let failed = matches!(span.status, Status::Error { .. });
        let panic = failed && is_panic(span);
        Facts {
            root_lasted: is_local_root(span).then(|| {
                span.end_time
                    .duration_since(span.start_time)
                    .unwrap_or_default()
            }),
            error: failed && !panic,
            panic,
            cancelled: span
                .events
                .iter()
                .any(|event| event.name == CANCELLED_EVENT),
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Summary {
    /// A span has status Error, for another reason than a panic.
    pub(crate) error: bool,
    /// A span recorded a panic unwinding through it.
    pub(crate) panic: bool,
    /// A span's future was dropped before it completed.
    pub(crate) cancelled: bool,
    /// The longest a local root of the trace lasted, once one has ended.
    pub(crate) longest_root: Option<Duration>,
    /// Its first span started before every decision still remembered: it
    /// may be a late part of a trace whose decision is forgotten.
    pub(crate) orphan: bool,
}

impl Summary {
    pub(super) fn add(&mut self, facts: &Facts) {
        self.error |= facts.error;
        self.panic |= facts.panic;
        self.cancelled |= facts.cancelled;
        if let Some(lasted) = facts.root_lasted {
            self.longest_root = Some(
                self.longest_root
                    .map_or(lasted, |so_far| so_far.max(lasted)),
            );
        }
    }
}

/// The event a span gets when its future is dropped before completing.
const CANCELLED_EVENT: &str = "cancelled";

/// A panic marks its span with `error.type = "panic"`.
fn is_panic(span: &SpanData) -> bool {
    span.attributes
        .iter()
        .any(|kv| kv.key.as_str() == "error.type" && kv.value.as_str() == "panic")
}

/// A span whose parent is not in this process (remote, or none): where the
/// local part of its trace starts.
pub(crate) fn is_local_root(span: &SpanData) -> bool {
    span.parent_span_id == SpanId::INVALID || span.parent_span_is_remote
}
