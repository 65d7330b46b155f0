//! The console exporter: a sink of the export thread that gathers the spans
//! of each trace and prints the whole trace as one waterfall once it is
//! complete, with the log records of the trace under their spans
//! ([`log_records`]).
//!
//! A trace is complete when its local root has ended and every span of it
//! started in this process has ended too ([`RunningSpans`], told of every
//! start by the pipeline, counts them from start to export), so children that finish late, on other threads or tasks,
//! still land in the same tree. Spans of traces still open are printed by a
//! flush or at shutdown; past [`MAX_OPEN_TRACES`] the oldest open trace is
//! printed as it stands, and past [`MAX_SPANS_PER_TRACE`] a trace's further
//! spans are only counted, so memory stays bounded. The log records of a
//! trace, kept by [`TraceLogs`], print under their spans. Printing happens on
//! the export thread, never on the application's. With tail sampling, only
//! kept traces come here, each marked with why it was kept.

mod log_records;
mod running_spans;

use std::collections::{HashMap, VecDeque};
use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::trace::TraceId;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::SpanData;

use super::waterfall::{Options, Style, render, terminal_width};
use crate::config::ConsoleSettings;
use crate::pipeline::{Exporting, KeepReason, Sink, TraceDecision, is_local_root};
pub(crate) use log_records::{ConsoleLogs, LineSink, TraceLogs};
use running_spans::RunningSpans;

/// Open traces kept at most before the oldest is printed incomplete.
pub(crate) const MAX_OPEN_TRACES: usize = 1024;
/// Spans of one trace kept at most; later ones are counted.
pub(crate) const MAX_SPANS_PER_TRACE: usize = 1000;

/// Where rendered traces go.
pub(crate) type Output = Arc<dyn Fn(&str) + Send + Sync>;

pub(crate) struct ConsoleSink {
    traces: Traces,
    running_spans: Arc<RunningSpans>,
    service_name: String,
    style: Style,
    width: usize,
    output: Output,
    logs: Option<Arc<TraceLogs>>,
    /// Why tail sampling kept the traces whose spans are on their way.
    kept: HashMap<TraceId, KeepReason>,
}

impl std::fmt::Debug for ConsoleSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleSink")
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
    /// The last [`MAX_OPEN_TRACES`] traces printed, so spans that end after
    /// their trace was printed come out as its continuation.
    printed: VecDeque<TraceId>,
}

#[derive(Default)]
struct Pending {
    /// Why tail sampling kept the trace.
    kept: Option<KeepReason>,
    root_ended: bool,
    /// The trace was printed already; these spans came afterwards.
    continuation: bool,
    spans: Vec<SpanData>,
    /// Spans that ended beyond [`MAX_SPANS_PER_TRACE`].
    omitted: usize,
}

impl Traces {
    fn remember_printed(&mut self, trace_id: TraceId) {
        if self.printed.len() == MAX_OPEN_TRACES {
            self.printed.pop_front();
        }
        self.printed.push_back(trace_id);
    }
}

impl ConsoleSink {
    /// Prints to stderr, in colour when stderr is a terminal and the
    /// settings allow it (`NO_COLOR` unset), as wide as `COLUMNS` or the
    /// terminal.
    pub(crate) fn stderr(settings: &ConsoleSettings) -> Self {
        let colour = std::io::stderr().is_terminal() && settings.colour;
        let output: Output = Arc::new(|text: &str| {
            // A closed stderr must not take the program down.
            let _ = std::io::stderr().lock().write_all(text.as_bytes());
        });
        let mut console = ConsoleSink::new(
            Arc::default(),
            output,
            if colour { Style::Colour } else { Style::Plain },
        );
        console.width = terminal_width(settings.columns);
        console
    }

    /// What the pipeline tells of every span that starts, so that a trace
    /// prints once all its spans have ended.
    pub(crate) fn span_starts(&self) -> Arc<RunningSpans> {
        Arc::clone(&self.running_spans)
    }

    /// Prints the log records `logs` holds under their spans.
    pub(crate) fn with_logs(mut self, logs: Arc<TraceLogs>) -> Self {
        self.logs = Some(logs);
        self
    }

    pub(crate) fn new(running_spans: Arc<RunningSpans>, output: Output, style: Style) -> Self {
        ConsoleSink {
            traces: Traces::default(),
            running_spans,
            service_name: String::new(),
            style,
            width: 80,
            output,
            logs: None,
            kept: HashMap::new(),
        }
    }

    fn print(&self, pending: &Pending) {
        if let Some(first) = pending.spans.first() {
            let logs = self
                .logs
                .as_ref()
                .map(|logs| logs.take(first.span_context.trace_id()))
                .unwrap_or_default();
            let kept = pending.kept.map(|reason| reason.to_string());
            let options = Options {
                service_name: &self.service_name,
                style: self.style,
                width: self.width,
                continued: pending.continuation,
                kept: kept.as_deref(),
                omitted_spans: pending.omitted,
                omitted_logs: logs.omitted,
            };
            (self.output)(&render(&pending.spans, &logs.lines, &options));
        }
    }

    fn print_all(&mut self) {
        self.traces.order.clear();
        let drained: Vec<(TraceId, Pending)> = self.traces.open.drain().collect();
        for (trace_id, pending) in drained {
            self.print(&pending);
            self.traces.remember_printed(trace_id);
        }
    }

    fn take(&mut self, span: SpanData) {
        let trace_id = span.span_context.trace_id();
        let running = self.running_spans.ended(trace_id);
        let traces = &mut self.traces;
        if !traces.open.contains_key(&trace_id) {
            traces.order.push_back(trace_id);
            let continuation = traces.printed.contains(&trace_id);
            traces.open.insert(
                trace_id,
                Pending {
                    continuation,
                    ..Pending::default()
                },
            );
        }
        let Some(pending) = traces.open.get_mut(&trace_id) else {
            return;
        };
        if let Some(reason) = self.kept.remove(&trace_id) {
            pending.kept = Some(reason);
        }
        let root = is_local_root(&span);
        pending.root_ended |= root;
        // The root is kept whatever the count: the tree hangs from it.
        if root || pending.spans.len() < MAX_SPANS_PER_TRACE {
            pending.spans.push(span);
        } else {
            pending.omitted += 1;
        }
        if (pending.root_ended || pending.continuation) && running == 0 {
            traces.order.retain(|id| *id != trace_id);
            traces.remember_printed(trace_id);
            if let Some(pending) = traces.open.remove(&trace_id) {
                self.print(&pending);
            }
            return;
        }
        while self.traces.open.len() > MAX_OPEN_TRACES {
            let Some(oldest) = self.traces.order.pop_front() else {
                break;
            };
            if let Some(evicted) = self.traces.open.remove(&oldest) {
                self.running_spans.forget(oldest);
                self.traces.remember_printed(oldest);
                self.print(&evicted);
            }
        }
    }
}

impl Sink for ConsoleSink {
    fn export(&mut self, batch: Vec<SpanData>) -> Exporting {
        for span in batch {
            self.take(span);
        }
        Exporting::Done(Ok(()))
    }

    fn immediate(&self) -> bool {
        true
    }

    fn force_flush(&mut self) -> OTelSdkResult {
        self.print_all();
        Ok(())
    }

    fn shutdown(&mut self, _timeout: Duration) -> OTelSdkResult {
        self.print_all();
        Ok(())
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.service_name = crate::config::service_name(resource);
    }

    /// A kept trace is marked with why; the spans of a dropped one are no
    /// longer waited for, and the log records of its trace are let go.
    fn decided(&mut self, trace_id: TraceId, decision: TraceDecision) {
        match decision {
            TraceDecision::Kept(reason) => {
                self.kept.insert(trace_id, reason);
            }
            TraceDecision::Dropped { spans } => {
                self.running_spans.ended_many(trace_id, spans);
                if let Some(logs) = &self.logs {
                    drop(logs.take(trace_id));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use opentelemetry::trace::{Span as _, TraceContextExt, Tracer, TracerProvider};
    use opentelemetry::{Context, KeyValue};
    use opentelemetry_sdk::trace::Sampler;

    use super::*;
    use crate::pipeline::testing::LocalPipeline;

    /// A console sink printing into a buffer, the buffer, and the sink's
    /// open-span counts.
    fn buffered() -> (ConsoleSink, Arc<Mutex<Vec<String>>>, Arc<RunningSpans>) {
        let printed = Arc::new(Mutex::new(Vec::new()));
        let sink_printed = Arc::clone(&printed);
        let output: Output =
            Arc::new(move |text: &str| sink_printed.lock().unwrap().push(text.to_owned()));
        let running_spans = Arc::new(RunningSpans::default());
        let sink = ConsoleSink::new(Arc::clone(&running_spans), output, Style::Plain);
        (sink, printed, running_spans)
    }

    /// A pipeline printing into a buffer, and the buffer.
    fn console(sampler: Sampler) -> (LocalPipeline, Arc<Mutex<Vec<String>>>) {
        let (sink, printed, running_spans) = buffered();
        let pipeline = LocalPipeline::start(vec![Box::new(sink)], Some(running_spans), sampler);
        (pipeline, printed)
    }

    /// A console pipeline with tail sampling (errors only, decided at a
    /// flush), its buffer and its open-span counts.
    fn tail_sampled_console() -> (LocalPipeline, Arc<Mutex<Vec<String>>>, Arc<RunningSpans>) {
        let (sink, printed, running_spans) = buffered();
        let pipeline = LocalPipeline::start_tail_sampling(
            vec![Box::new(sink)],
            Some(Arc::clone(&running_spans) as Arc<dyn crate::pipeline::SpanStarts>),
            crate::pipeline::TailPolicy::errors_only(),
        );
        (pipeline, printed, running_spans)
    }

    fn printed(buffer: &Arc<Mutex<Vec<String>>>) -> Vec<String> {
        buffer.lock().unwrap().clone()
    }

    #[test]
    fn a_child_ending_after_its_root_on_another_thread_lands_in_the_same_tree() {
        let (pipeline, buffer) = console(Sampler::AlwaysOn);
        let tracer = pipeline.provider().tracer("test");
        let root = tracer.start("request");
        let cx = Context::current_with_span(root);
        let (started, finish) = (std::sync::mpsc::channel(), std::sync::mpsc::channel::<()>());
        let child_cx = cx.clone();
        let worker = std::thread::spawn(move || {
            let mut child = tracer.start_with_context("background write", &child_cx);
            child.set_attribute(KeyValue::new("rows", 3));
            started.0.send(()).unwrap();
            finish.1.recv().unwrap();
            child.end();
        });
        started.1.recv().unwrap();
        cx.span().end();
        pipeline.drain();
        assert!(
            printed(&buffer).is_empty(),
            "printed before the child ended"
        );
        finish.0.send(()).unwrap();
        worker.join().unwrap();
        pipeline.drain();
        let printed = printed(&buffer);
        assert_eq!(printed.len(), 1, "{printed:?}");
        assert!(printed[0].contains(" · 2 spans · "), "{}", printed[0]);
        assert!(
            printed[0].lines().next().unwrap().ends_with(" · shop"),
            "{}",
            printed[0]
        );
        assert!(printed[0].contains("request"));
        assert!(printed[0].contains("└─ background write"), "{}", printed[0]);
        assert!(printed[0].contains("rows=3"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn children_in_tasks_are_gathered_once() {
        use opentelemetry::context::FutureExt;
        let (pipeline, buffer) = console(Sampler::AlwaysOn);
        let tracer = pipeline.provider().tracer("test");
        let cx = Context::current_with_span(tracer.start("fan-out"));
        // Like a traced async fn: the span starts at the call, the future
        // finishes later on a worker thread, after the parent has ended.
        let tasks: Vec<_> = (0..4)
            .map(|n| {
                let span = tracer.start_with_context(format!("task {n}"), &cx);
                let task_cx = cx.with_span(span);
                tokio::spawn(
                    async move {
                        tokio::task::yield_now().await;
                        Context::current().span().end();
                    }
                    .with_context(task_cx),
                )
            })
            .collect();
        cx.span().end();
        for task in tasks {
            task.await.unwrap();
        }
        pipeline.drain();
        let printed = printed(&buffer);
        assert_eq!(printed.len(), 1, "{printed:?}");
        assert!(printed[0].contains("5 spans"), "{}", printed[0]);
    }

    #[test]
    fn spans_ending_after_their_trace_printed_come_out_as_its_continuation() {
        let (pipeline, buffer) = console(Sampler::AlwaysOn);
        let tracer = pipeline.provider().tracer("test");
        let cx = Context::current_with_span(tracer.start("request"));
        cx.span().end();
        pipeline.drain();
        assert_eq!(printed(&buffer).len(), 1);
        let late = tracer.start_with_context("detached follow-up", &cx);
        drop(late);
        pipeline.drain();
        let printed = printed(&buffer);
        assert_eq!(printed.len(), 2, "{printed:?}");
        assert!(printed[1].contains("detached follow-up"), "{}", printed[1]);
        assert!(
            printed[1].contains(" (continued) · 1 span · "),
            "{}",
            printed[1]
        );
    }

    #[test]
    fn open_traces_print_on_flush_and_memory_stays_bounded() {
        let (pipeline, buffer) = console(Sampler::AlwaysOn);
        let tracer = pipeline.provider().tracer("test");
        let root = tracer.start("request");
        let cx = Context::current_with_span(root);
        tracer.start_with_context("finished child", &cx).end();
        pipeline.flush();
        let flushed = printed(&buffer);
        assert_eq!(flushed.len(), 1);
        assert!(flushed[0].contains("finished child"));

        let open: Vec<_> = (0..=MAX_OPEN_TRACES)
            .map(|_| {
                let cx = Context::current_with_span(tracer.start("never ends"));
                tracer.start_with_context("done", &cx).end();
                cx
            })
            .collect();
        pipeline.drain();
        assert_eq!(
            printed(&buffer).len(),
            2,
            "the oldest open trace was printed to make room"
        );
        drop(open);
    }

    #[test]
    fn with_tail_sampling_only_kept_traces_print_each_marked_with_why() {
        let (pipeline, buffer, running_spans) = tail_sampled_console();
        let tracer = pipeline.provider().tracer("test");
        for n in 0..5 {
            let cx = Context::current_with_span(tracer.start(format!("request {n}")));
            tracer.start_with_context("query", &cx).end();
            if n == 3 {
                cx.span()
                    .set_status(opentelemetry::trace::Status::error("lamp out of stock"));
            }
            cx.span().end();
        }
        pipeline.flush();
        let printed = printed(&buffer);
        assert_eq!(printed.len(), 1, "{printed:?}");
        let header = printed[0].lines().next().unwrap();
        assert!(header.contains(" · 2 spans · "), "{header}");
        assert!(header.ends_with(" · kept: error · shop"), "{header}");
        assert!(printed[0].contains("request 3"), "{}", printed[0]);
        assert!(printed[0].contains("✗ lamp out of stock"), "{}", printed[0]);
        assert_eq!(
            running_spans.traces(),
            0,
            "the dropped traces' spans are still awaited"
        );
    }

    #[test]
    fn unsampled_spans_are_not_printed() {
        let (pipeline, buffer) = console(Sampler::AlwaysOff);
        pipeline.provider().tracer("test").start("dropped").end();
        pipeline.flush();
        assert!(printed(&buffer).is_empty());
    }
}
