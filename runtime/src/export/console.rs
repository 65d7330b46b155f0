//! The console exporter: a span processor that gathers the spans of each trace
//! and prints the whole trace as one waterfall once it is complete.
//!
//! A trace is complete when its local root has ended and every span of it
//! started in this process has ended too, so children that finish late, on
//! other threads or tasks, still land in the same tree. Spans of traces still
//! open are printed by a flush or at shutdown; past [`MAX_OPEN_TRACES`] the
//! oldest open trace is printed as it stands, so memory stays bounded.

use std::collections::{HashMap, VecDeque};
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use opentelemetry::Context;
use opentelemetry::trace::{Span as _, SpanId, TraceId};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};

use super::waterfall::{Style, render};

/// Open traces kept at most before the oldest is printed incomplete.
pub(crate) const MAX_OPEN_TRACES: usize = 1024;

/// Where rendered traces go.
pub(crate) type Sink = Arc<dyn Fn(&str) + Send + Sync>;

pub(crate) struct ConsoleProcessor {
    traces: Mutex<Traces>,
    service_name: String,
    style: Style,
    sink: Sink,
}

impl std::fmt::Debug for ConsoleProcessor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleProcessor")
            .field("service_name", &self.service_name)
            .field("style", &self.style)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Traces {
    open: HashMap<TraceId, Pending>,
    /// Trace ids in the order they were first seen (may hold ids already printed).
    order: VecDeque<TraceId>,
}

#[derive(Default)]
struct Pending {
    running: usize,
    root_ended: bool,
    spans: Vec<SpanData>,
}

impl ConsoleProcessor {
    /// Prints to stderr, in colour when stderr is a terminal and `NO_COLOR` is
    /// unset.
    pub(crate) fn stderr() -> Self {
        let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        let sink: Sink = Arc::new(|text: &str| {
            // A closed stderr must not take the program down.
            let _ = std::io::stderr().lock().write_all(text.as_bytes());
        });
        ConsoleProcessor::new(sink, if colour { Style::Colour } else { Style::Plain })
    }

    pub(crate) fn new(sink: Sink, style: Style) -> Self {
        ConsoleProcessor {
            traces: Mutex::new(Traces::default()),
            service_name: String::new(),
            style,
            sink,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Traces> {
        self.traces.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn print(&self, spans: &[SpanData]) {
        if !spans.is_empty() {
            (self.sink)(&render(spans, &self.service_name, self.style));
        }
    }

    fn print_all(&self) {
        let drained: Vec<Pending> = {
            let mut traces = self.lock();
            traces.order.clear();
            traces.open.drain().map(|(_, pending)| pending).collect()
        };
        for pending in drained {
            self.print(&pending.spans);
        }
    }
}

/// A span whose parent is not in this process ends its trace's local part.
fn is_local_root(span: &SpanData) -> bool {
    span.parent_span_id == SpanId::INVALID || span.parent_span_is_remote
}

impl SpanProcessor for ConsoleProcessor {
    fn on_start(&self, span: &mut Span, _cx: &Context) {
        let context = span.span_context();
        if !context.is_sampled() {
            return;
        }
        let trace_id = context.trace_id();
        let evicted = {
            let mut traces = self.lock();
            if !traces.open.contains_key(&trace_id) {
                traces.order.push_back(trace_id);
            }
            traces.open.entry(trace_id).or_default().running += 1;
            let mut evicted = None;
            while traces.open.len() > MAX_OPEN_TRACES {
                let Some(oldest) = traces.order.pop_front() else {
                    break;
                };
                if oldest != trace_id {
                    evicted = traces.open.remove(&oldest).or(evicted);
                } else {
                    traces.order.push_back(oldest);
                }
            }
            evicted
        };
        if let Some(pending) = evicted {
            self.print(&pending.spans);
        }
    }

    fn on_end(&self, span: SpanData) {
        if !span.span_context.is_sampled() {
            return;
        }
        let trace_id = span.span_context.trace_id();
        let complete = {
            let mut traces = self.lock();
            let pending = traces.open.entry(trace_id).or_default();
            pending.running = pending.running.saturating_sub(1);
            pending.root_ended |= is_local_root(&span);
            pending.spans.push(span);
            if pending.root_ended && pending.running == 0 {
                traces.order.retain(|id| *id != trace_id);
                traces.open.remove(&trace_id)
            } else {
                None
            }
        };
        if let Some(pending) = complete {
            self.print(&pending.spans);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.print_all();
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        self.print_all();
        Ok(())
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.service_name = crate::config::service_name(resource);
    }
}
