//! Library spans: the `tracing` spans of a library instrumented with
//! `tracing` alone (`stockroom`, real `#[instrument]`) become spans of the
//! same trace as `#[traced]` functions, nested both ways: a library span made
//! inside a `#[traced]` function is its child, and a `#[traced]` function or
//! any OpenTelemetry code running inside an entered library span is that
//! span's child; in sync and async code, across `.await` on a multi-thread
//! runtime, in tasks and threads. Captured by `traced::testing`, whose
//! subscriber is traced's own `tracing` layer with the default filter
//! (`info`); every test runs again on a provider the application installed
//! itself.

use std::collections::HashMap;
use std::time::Duration;

use traced::opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, Status, TraceContextExt, TraceFlags, TraceId, TraceState, Tracer,
};
use traced::opentelemetry::{Context, Value, global};
use traced::testing::{FinishedSpan, capture, capture_async};
use traced::traced;
use traced_tests::{assert_child, assert_written_in, attribute, error_message, log_record, text};

/// The span context current where it is called.
fn current_span_context() -> SpanContext {
    Context::current().span().span_context().clone()
}

#[track_caller]
fn assert_root(span: &FinishedSpan) {
    assert_eq!(
        span.parent_span_id,
        SpanId::INVALID,
        "{:?} should be a root of the capture",
        span.name
    );
}

// ---------------------------------------------------------------------------
// A library span inside a `#[traced]` function.

#[traced]
fn order() -> u32 {
    stockroom::count("lamp", 4)
}

#[test]
fn an_instrumented_function_called_by_a_traced_one_is_its_child() {
    let (counted, trace) = capture(order);
    assert_eq!(counted, 4);
    assert_eq!(trace.tree(), "order\n  count\n");
    let count = trace.span("count");
    assert_child(count, trace.span("order"));
    assert_eq!(count.span_kind, SpanKind::Internal);
    assert_eq!(count.status, Status::Unset);
    assert_eq!(text(count, "item"), "lamp");
    assert_eq!(attribute(count, "shelf"), Some(&Value::I64(4)));
    assert_eq!(count.instrumentation_scope.name(), "stockroom");
    assert!(text(count, "code.file.path").ends_with("stockroom/src/lib.rs"));
    assert_eq!(text(count, "code.module.name"), "stockroom");
    assert!(matches!(attribute(count, "code.line.number"), Some(Value::I64(line)) if *line > 0));
    assert_eq!(attribute(count, "code.function.name"), None);
}

#[test]
fn events_inside_a_library_span_are_log_records_of_it() {
    let (_, trace) = capture(order);
    assert_written_in(log_record(&trace, "counting"), trace.span("count"));
}

// ---------------------------------------------------------------------------
// `#[traced]` functions and OpenTelemetry code inside a library span.

#[traced]
fn pick() -> SpanContext {
    current_span_context()
}

#[traced]
fn reserve() -> (SpanContext, SpanContext, HashMap<String, String>) {
    stockroom::with_lock(4, || {
        let inside = current_span_context();
        global::tracer("a-library").in_span("otel_child", |_| {});
        let mut headers = HashMap::new();
        traced::propagation::inject(&mut headers);
        (inside, pick(), headers)
    })
}

#[test]
fn traced_and_opentelemetry_code_inside_an_entered_library_span_are_its_children() {
    let ((inside, picked, headers), trace) = capture(reserve);
    assert_eq!(
        trace.tree(),
        "reserve\n  with_lock\n    otel_child\n    pick\n"
    );
    let lock = trace.span("with_lock");
    assert_child(lock, trace.span("reserve"));
    assert_child(trace.span("pick"), lock);
    assert_child(trace.span("otel_child"), lock);
    assert_eq!(inside.span_id(), lock.span_context.span_id());
    assert_eq!(picked.span_id(), trace.span("pick").span_context.span_id());
    // A request sent from there carries the library span's ids.
    let traceparent = &headers["traceparent"];
    assert!(
        traceparent.contains(&format!("-{}-", lock.span_context.span_id())),
        "{traceparent}"
    );
    assert!(traceparent.contains(&lock.span_context.trace_id().to_string()));
}

// ---------------------------------------------------------------------------
// Async: one span across polls, on any worker.

#[traced]
async fn deliver() -> SpanContext {
    tokio::task::yield_now().await;
    current_span_context()
}

#[traced]
async fn replenish() -> SpanContext {
    stockroom::restock("lamp", 3, deliver).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_async_library_span_is_one_span_across_polls_and_nests_both_ways() {
    let (delivered, trace) = capture_async(replenish).await;
    assert_eq!(trace.tree(), "replenish\n  restock\n    deliver\n");
    let restock = trace.span("restock");
    assert_child(restock, trace.span("replenish"));
    assert_child(trace.span("deliver"), restock);
    assert_eq!(
        delivered.span_id(),
        trace.span("deliver").span_context.span_id()
    );
    assert_eq!(text(restock, "item"), "lamp");
    assert_eq!(attribute(restock, "quantity"), Some(&Value::I64(3)));
    // It lasted across the sleep, from creation to close.
    let lasted = restock.end_time.duration_since(restock.start_time).unwrap();
    assert!(lasted >= Duration::from_millis(2), "{lasted:?}");
    assert_written_in(log_record(&trace, "restocked"), restock);
}

#[traced]
async fn dispatch_order() -> SpanContext {
    // A plain `tokio::spawn`: the instrumented future carries its span to
    // the worker that polls it.
    tokio::spawn(stockroom::ship(7, deliver)).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instrumented_future_carries_its_span_into_a_plain_spawned_task() {
    let (delivered, trace) = capture_async(dispatch_order).await;
    assert_eq!(trace.tree(), "dispatch_order\n  ship\n    deliver\n");
    assert_child(trace.span("ship"), trace.span("dispatch_order"));
    assert_eq!(
        delivered.span_id(),
        trace.span("deliver").span_context.span_id()
    );
    assert_eq!(attribute(trace.span("ship"), "order"), Some(&Value::I64(7)));
}

#[traced]
async fn fan_out() {
    let task = traced::spawn(async { stockroom::count("task", 1) });
    let thread = traced::spawn_thread(|| stockroom::count("thread", 2));
    task.await.unwrap();
    thread.join().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn library_spans_in_spawned_tasks_and_threads_are_children_of_the_traced_call() {
    let ((), trace) = capture_async(fan_out).await;
    let fan_out = trace.span("fan_out");
    let counts: Vec<_> = trace.spans().iter().filter(|s| s.name == "count").collect();
    assert_eq!(counts.len(), 2, "{}", trace.tree());
    for count in counts {
        assert_child(count, fan_out);
    }
}

// ---------------------------------------------------------------------------
// Explicit parents, new traces and links.

#[traced]
fn audited() -> SpanContext {
    current_span_context()
}

#[traced]
fn check(batch: &tracing::Span) {
    stockroom::audit(batch, || {
        audited();
    });
}

#[traced]
fn receive() {
    let batch = tracing::info_span!("batch");
    check(&batch);
}

#[test]
fn an_explicit_parent_is_respected() {
    let ((), trace) = capture(receive);
    assert_eq!(
        trace.tree(),
        "receive\n  batch\n    audit\n      audited\n  check\n"
    );
    assert_child(trace.span("audit"), trace.span("batch"));
    assert_eq!(
        attribute(trace.span("audit"), "items"),
        Some(&Value::I64(3))
    );
}

#[traced(attrs(marker = "parent-none"))]
fn nightly_step() -> SpanContext {
    current_span_context()
}

#[traced]
fn run_nightly() -> SpanContext {
    let mut step = None;
    stockroom::nightly_job(|| step = Some(nightly_step()));
    step.expect("the job ran")
}

#[test]
fn parent_none_starts_a_new_trace() {
    let (step, trace) = capture(run_nightly);
    assert_eq!(trace.tree(), "run_nightly\n", "the job left this trace");
    let spans = traced::testing::finished_spans();
    let job = spans
        .iter()
        .find(|span| span.name == "nightly_job" && span.span_context.trace_id() == step.trace_id())
        .expect("the job's own trace");
    assert_eq!(job.parent_span_id, SpanId::INVALID);
    assert_ne!(
        job.span_context.trace_id(),
        trace.span("run_nightly").span_context.trace_id()
    );
    let nightly_step = spans
        .iter()
        .find(|span| span.span_context.span_id() == step.span_id())
        .expect("the step");
    assert_child(nightly_step, job);
}

#[traced]
fn replan() {
    let cause = tracing::info_span!("stock_low");
    stockroom::reorder(&cause);
}

#[test]
fn follows_from_becomes_a_link() {
    let ((), trace) = capture(replan);
    let reorder = trace.span("reorder");
    let cause = trace.span("stock_low");
    assert_child(reorder, trace.span("replan"));
    let links: Vec<_> = reorder
        .links
        .iter()
        .map(|link| &link.span_context)
        .collect();
    assert_eq!(links, [&cause.span_context]);
}

// ---------------------------------------------------------------------------
// Fields, `Span::record`, errors and tracing-opentelemetry's conventions.

#[test]
fn fields_recorded_later_are_typed_attributes() {
    let ((), trace) = capture(|| stockroom::inspect("vase"));
    let inspect = trace.span("inspect");
    assert_root(inspect);
    assert_eq!(text(inspect, "item"), "vase");
    assert_eq!(attribute(inspect, "found"), Some(&Value::I64(3)));
    assert_eq!(attribute(inspect, "weight"), Some(&Value::F64(1.5)));
    assert_eq!(attribute(inspect, "fragile"), Some(&Value::Bool(true)));
    assert_eq!(text(inspect, "label"), "vase on shelf 4");
    assert_eq!(text(inspect, "shape"), r#"["round", "small"]"#);
    assert_eq!(text(inspect, "big"), u64::MAX.to_string());
}

#[traced]
fn take_too_many() -> bool {
    stockroom::take("lamp", 1).is_ok() && stockroom::take("lamp", 5).is_err()
}

#[test]
fn an_instrumented_err_marks_the_span_failed() {
    let (as_expected, trace) = capture(take_too_many);
    assert!(as_expected);
    let takes: Vec<_> = trace.spans().iter().filter(|s| s.name == "take").collect();
    assert_eq!(takes.len(), 2);
    assert_eq!(takes[0].status, Status::Unset);
    assert_eq!(error_message(takes[1]), "only 2 lamp left");
    // The error event itself stays a log record of the failed span.
    let failed = trace.logs_of(takes[1]);
    assert_eq!(failed.len(), 1);
    assert_eq!(
        failed[0]
            .attributes_iter()
            .find(|(key, _)| key.as_str() == "error")
            .map(|(_, value)| format!("{value:?}")),
        Some(r#"String(Owned("only 2 lamp left"))"#.to_owned())
    );
    // The traced caller succeeded.
    assert_eq!(trace.span("take_too_many").status, Status::Unset);
}

#[test]
fn otel_fields_name_kind_and_status_the_span() {
    let ((), trace) = capture(|| {
        stockroom::fetch("/stock", 503, || {});
        stockroom::fetch("/price", 200, || {});
    });
    let failed = trace.span("GET /stock");
    assert_eq!(failed.span_kind, SpanKind::Client);
    assert_eq!(error_message(failed), "upstream failed");
    assert_eq!(
        attribute(failed, "http.response.status_code"),
        Some(&Value::I64(503))
    );
    let fine = trace.span("GET /price");
    assert_eq!(fine.span_kind, SpanKind::Client);
    assert_eq!(fine.status, Status::Unset);
    for span in [failed, fine] {
        assert!(
            span.attributes
                .iter()
                .all(|kv| !kv.key.as_str().starts_with("otel.")),
            "{:?}",
            span.attributes
        );
    }
}

#[test]
fn an_error_field_marks_the_span_failed() {
    let ((), trace) = capture(|| stockroom::load("vase"));
    let load = trace.span("load");
    assert_eq!(error_message(load), "disk unreadable");
    assert_eq!(text(load, "error"), "disk unreadable");
}

// ---------------------------------------------------------------------------
// The filter: a span it leaves out is transparent.

#[traced]
fn detailed() -> u32 {
    stockroom::with_debug_detail(|| stockroom::with_lock(2, || stockroom::count("cup", 1)))
}

#[test]
fn a_span_below_the_filter_is_not_recorded_and_its_children_nest_under_the_nearest_recorded() {
    let (_, trace) = capture(detailed);
    assert_eq!(trace.tree(), "detailed\n  with_lock\n    count\n");
    assert_child(trace.span("with_lock"), trace.span("detailed"));
}

#[traced]
fn swept() {
    stockroom::sweep(|| {
        pick();
    });
}

#[test]
fn an_entered_span_below_the_filter_is_transparent() {
    let ((), trace) = capture(swept);
    assert_eq!(trace.tree(), "swept\n  sweep\n    pick\n");
}

// ---------------------------------------------------------------------------
// Sampling: an unsampled parent decides for library spans too.

const UNSAMPLED_TRACE: u128 = 0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736;

#[traced]
fn unsampled_request() -> SpanContext {
    stockroom::with_lock(1, || {
        stockroom::count("cup", 1);
        current_span_context()
    })
}

#[test]
fn an_unsampled_parent_records_no_library_span() {
    traced::testing::install();
    let parent = Context::new().with_remote_span_context(SpanContext::new(
        TraceId::from(UNSAMPLED_TRACE),
        SpanId::from(0x00f0_67aa_0ba9_02b7_u64),
        TraceFlags::default(),
        true,
        TraceState::default(),
    ));
    let seen = {
        let _attached = parent.attach();
        unsampled_request()
    };
    assert_eq!(seen.trace_id(), TraceId::from(UNSAMPLED_TRACE));
    assert!(!seen.is_sampled());
    let recorded: Vec<_> = traced::testing::finished_spans()
        .into_iter()
        .filter(|span| span.span_context.trace_id() == TraceId::from(UNSAMPLED_TRACE))
        .map(|span| span.name)
        .collect();
    assert!(recorded.is_empty(), "{recorded:?}");
}

#[test]
fn every_test_here_passes_on_a_user_provider() {
    traced_tests::rerun_on_a_user_provider();
}
