//! Tail sampling on real native spans, through a pipeline of its own and its
//! export thread, into an exporter that keeps each batch.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry::trace::{
    Span as _, Status, TraceContextExt, TraceId, Tracer, TracerProvider as _,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

use super::TailPolicy;
use crate::pipeline::sink::ExporterSink;
use crate::pipeline::testing::LocalPipeline;

/// Keeps every batch it is given.
#[derive(Clone, Debug, Default)]
struct Batches(Arc<Mutex<Vec<Vec<SpanData>>>>);

impl SpanExporter for Batches {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.0.lock().unwrap().push(batch);
        Ok(())
    }
}

impl Batches {
    fn spans(&self) -> Vec<SpanData> {
        self.0.lock().unwrap().iter().flatten().cloned().collect()
    }

    /// The names of the spans of `trace_id`, and whether they all came in
    /// one batch.
    fn trace(&self, trace_id: TraceId) -> (Vec<String>, bool) {
        let batches = self.0.lock().unwrap();
        let holding: Vec<&Vec<SpanData>> = batches
            .iter()
            .filter(|batch| batch.iter().any(|s| s.span_context.trace_id() == trace_id))
            .collect();
        let mut names: Vec<String> = holding
            .iter()
            .flat_map(|batch| batch.iter())
            .filter(|s| s.span_context.trace_id() == trace_id)
            .map(|s| s.name.to_string())
            .collect();
        names.sort();
        (names, holding.len() == 1)
    }
}

fn pipeline(policy: TailPolicy) -> (LocalPipeline, Batches) {
    let batches = Batches::default();
    let sink = Box::new(ExporterSink::new(batches.clone()));
    (
        LocalPipeline::start_tail_sampling(vec![sink], None, policy),
        batches,
    )
}

fn fail(cx: &Context) {
    cx.span().set_status(Status::error("out of stock"));
}

#[test]
fn a_trace_is_held_past_its_root_and_kept_whole_with_children_that_end_later() {
    let (pipeline, batches) = pipeline(TailPolicy::errors_only());
    let tracer = pipeline.provider().tracer("test");
    let cx = Context::current_with_span(tracer.start("request"));
    let (started, finish) = (std::sync::mpsc::channel(), std::sync::mpsc::channel::<()>());
    let child_cx = cx.clone();
    let child_tracer = pipeline.provider().tracer("test");
    let worker = std::thread::spawn(move || {
        let child = child_tracer.start_with_context("background write", &child_cx);
        let child_cx = child_cx.with_span(child);
        started.0.send(()).unwrap();
        finish.1.recv().unwrap();
        fail(&child_cx);
        child_cx.span().end();
    });
    started.1.recv().unwrap();
    tracer.start_with_context("query", &cx).end();
    cx.span().end();
    pipeline.drain();
    assert!(
        batches.spans().is_empty(),
        "exported before its trace was decided"
    );
    finish.0.send(()).unwrap();
    worker.join().unwrap();
    pipeline.drain();
    assert!(
        batches.spans().is_empty(),
        "decided before the grace passed"
    );
    pipeline.flush();
    let (names, one_batch) = batches.trace(cx.span().span_context().trace_id());
    assert_eq!(names, ["background write", "query", "request"]);
    assert!(one_batch);
    let report = pipeline.tail_report();
    assert_eq!((report.errors, report.dropped), (1, 0));
}

#[test]
fn a_trace_is_decided_once_its_grace_has_passed() {
    let (pipeline, batches) = pipeline(TailPolicy {
        grace: Duration::ZERO,
        ..TailPolicy::errors_only()
    });
    let tracer = pipeline.provider().tracer("test");
    let failed = Context::current_with_span(tracer.start("failed"));
    fail(&failed);
    failed.span().end();
    tracer.start("fine").end();
    pipeline.drain();
    let names: Vec<_> = batches.spans().iter().map(|s| s.name.to_string()).collect();
    assert_eq!(names, ["failed"]);
    let report = pipeline.tail_report();
    assert_eq!(
        (report.errors, report.dropped, report.dropped_spans),
        (1, 1, 1)
    );
}

#[test]
fn spans_that_end_after_the_decision_follow_it() {
    let (pipeline, batches) = pipeline(TailPolicy::errors_only());
    let tracer = pipeline.provider().tracer("test");
    let kept = Context::current_with_span(tracer.start("kept"));
    fail(&kept);
    kept.span().end();
    let dropped = Context::current_with_span(tracer.start("dropped"));
    dropped.span().end();
    pipeline.flush();
    assert_eq!(batches.spans().len(), 1);
    // Late: both end fine, and the first one fails, after the decisions.
    tracer.start_with_context("late fine", &kept).end();
    let late = Context::current_with_span(tracer.start_with_context("late failure", &dropped));
    fail(&late);
    late.span().end();
    pipeline.drain();
    let names: Vec<_> = batches.spans().iter().map(|s| s.name.to_string()).collect();
    assert_eq!(names, ["kept", "late fine"]);
    let report = pipeline.tail_report();
    assert_eq!(
        (report.errors, report.dropped, report.dropped_spans),
        (1, 1, 2)
    );
}

#[test]
fn a_root_that_never_ends_lets_its_children_go_as_slow() {
    let (pipeline, batches) = pipeline(TailPolicy {
        slower_than: Some(Duration::from_secs(3600)),
        max_hold: Duration::ZERO,
        ..TailPolicy::errors_only()
    });
    let tracer = pipeline.provider().tracer("test");
    let server = Context::current_with_span(tracer.start("serve forever"));
    tracer.start_with_context("request 1", &server).end();
    pipeline.drain();
    tracer.start_with_context("request 2", &server).end();
    pipeline.drain();
    let names: Vec<_> = batches.spans().iter().map(|s| s.name.to_string()).collect();
    assert_eq!(names, ["request 1", "request 2"]);
    assert_eq!(pipeline.tail_report().slow, 1);
    drop(server);
}

#[test]
fn over_the_memory_budget_the_oldest_traces_are_decided_early() {
    let (pipeline, batches) = pipeline(TailPolicy {
        max_memory: 20 * size_of::<SpanData>(),
        ..TailPolicy::errors_only()
    });
    let tracer = pipeline.provider().tracer("test");
    let mut failed = Vec::new();
    for n in 0..100 {
        let cx = Context::current_with_span(tracer.start("request"));
        cx.span().set_attribute(KeyValue::new("n", n));
        if n % 10 == 0 {
            fail(&cx);
            failed.push(cx.span().span_context().trace_id());
        }
        cx.span().end();
    }
    pipeline.drain();
    let report = pipeline.tail_report();
    assert!(report.decided_early >= 80, "{report:?}");
    assert_eq!(report.kept() + report.dropped, report.decided_early);
    pipeline.flush();
    let report = pipeline.tail_report();
    assert_eq!((report.errors, report.dropped), (10, 90), "{report:?}");
    // Which traces are kept is promised, not their order: a thread's spans
    // beyond its lane wait in the overflow, which drains in turns with it.
    let mut kept: Vec<TraceId> = batches
        .spans()
        .iter()
        .map(|s| s.span_context.trace_id())
        .collect();
    kept.sort_by_key(|id| id.to_bytes());
    failed.sort_by_key(|id| id.to_bytes());
    assert_eq!(kept, failed);
}

/// A flush while a request's local root still runs leaves its trace held:
/// the failure it ends with keeps it, whole.
#[test]
fn repro_a_flush_decides_only_traces_whose_local_root_has_ended() {
    let (pipeline, batches) = pipeline(TailPolicy::errors_only());
    let tracer = pipeline.provider().tracer("test");
    let running = Context::current_with_span(tracer.start("request"));
    tracer.start_with_context("query", &running).end();
    let finished = Context::current_with_span(tracer.start("finished"));
    fail(&finished);
    finished.span().end();
    pipeline.flush();
    let names: Vec<_> = batches.spans().iter().map(|s| s.name.to_string()).collect();
    assert_eq!(names, ["finished"], "the running request waits");
    assert_eq!(
        pipeline.tail_report().kept() + pipeline.tail_report().dropped,
        1
    );
    fail(&running);
    running.span().end();
    pipeline.flush();
    let (names, one_batch) = batches.trace(running.span().span_context().trace_id());
    assert_eq!(names, ["query", "request"]);
    assert!(one_batch);
    let report = pipeline.tail_report();
    assert_eq!((report.errors, report.dropped), (2, 0), "{report:?}");
}

/// Ends `count` traces of one span each, draining as it goes.
fn other_traces(pipeline: &LocalPipeline, count: usize) {
    let tracer = pipeline.provider().tracer("test");
    for n in 0..count {
        tracer.start("other").end();
        if n % 500 == 499 {
            pipeline.drain();
        }
    }
    pipeline.drain();
}

/// A decision outlives tens of thousands of later traces: a late child
/// follows its trace (kept with the failed one, dropped with the fine one),
/// is never held as a trace of its own, and is never kept alone as slow.
#[test]
fn repro_late_children_follow_their_trace_after_forty_thousand_others() {
    let (pipeline, batches) = pipeline(TailPolicy {
        slower_than: Some(Duration::from_secs(3600)),
        grace: Duration::ZERO,
        max_hold: Duration::ZERO,
        ..TailPolicy::errors_only()
    });
    let tracer = pipeline.provider().tracer("test");
    let failed = Context::current_with_span(tracer.start("failed"));
    let failed_child = Context::current_with_span(tracer.start_with_context("late", &failed));
    fail(&failed);
    failed.span().end();
    let fine = Context::current_with_span(tracer.start("fine"));
    let fine_child = Context::current_with_span(tracer.start_with_context("late", &fine));
    fine.span().end();
    pipeline.drain();
    other_traces(&pipeline, 40_000);
    failed_child.span().end();
    fine_child.span().end();
    pipeline.drain();
    let (names, _) = batches.trace(failed.span().span_context().trace_id());
    assert_eq!(names, ["failed", "late"]);
    let (names, _) = batches.trace(fine.span().span_context().trace_id());
    assert!(names.is_empty(), "{names:?}");
    let report = pipeline.tail_report();
    assert_eq!(
        (report.errors, report.slow, report.dropped),
        (1, 0, 40_001),
        "{report}"
    );
}

/// Past the memory the decisions may take, the oldest are forgotten; a late
/// child of a forgotten trace is then a part of a trace decided before, not
/// a trace of its own: decided on what it shows (never as slow) and counted
/// apart.
#[test]
fn repro_a_late_child_of_a_forgotten_decision_is_not_counted_or_kept_as_a_trace() {
    let (pipeline, batches) = pipeline(TailPolicy {
        slower_than: Some(Duration::from_secs(3600)),
        grace: Duration::ZERO,
        max_hold: Duration::ZERO,
        max_memory: 64 * 1024,
        ..TailPolicy::errors_only()
    });
    let tracer = pipeline.provider().tracer("test");
    let fine = Context::current_with_span(tracer.start("fine"));
    let late = Context::current_with_span(tracer.start_with_context("late", &fine));
    fine.span().end();
    pipeline.drain();
    other_traces(&pipeline, 40_000);
    late.span().end();
    pipeline.drain();
    let names: Vec<_> = batches.spans().iter().map(|s| s.name.to_string()).collect();
    assert!(names.is_empty(), "{names:?}");
    let report = pipeline.tail_report();
    assert_eq!(report.kept() + report.dropped, 40_001, "{report}");
    assert_eq!(
        (report.late_parts, report.late_parts_kept),
        (1, 0),
        "{report}"
    );
}
