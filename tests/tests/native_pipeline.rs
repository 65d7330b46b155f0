//! The native span pipeline `traced::init()` installs, seen from the rest of
//! OpenTelemetry: other instrumentation nests under traced spans and writes
//! to them, spans cross threads, and a flush reaches every thread's queue.
//! Each test runs in a child process of its own, with its own `init()`.

use std::sync::mpsc;
use std::time::{Duration, SystemTime};

use traced::opentelemetry::trace::{
    SpanKind, TraceContextExt, Tracer, TracerProvider, get_active_span,
};
use traced::opentelemetry::{KeyValue, Value, global};
use traced::opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData};
use traced::{TracingGuard, traced};
use traced_tests::child::{in_child, rerun};
use traced_tests::{assert_child, attribute};

/// `init()` exporting to memory.
fn init() -> (TracingGuard, InMemorySpanExporter) {
    let spans = InMemorySpanExporter::default();
    let guard = traced::Config::new()
        .service_name("native")
        .span_exporter(spans.clone())
        .init()
        .expect("init");
    (guard, spans)
}

fn exported(guard: &TracingGuard, spans: &InMemorySpanExporter) -> Vec<SpanData> {
    guard.flush().expect("flush");
    spans.get_finished_spans().expect("spans")
}

fn named<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    spans
        .iter()
        .find(|span| span.name == name)
        .unwrap_or_else(|| panic!("no span {name:?} in {:?}", names(spans)))
}

fn names(spans: &[SpanData]) -> Vec<&str> {
    spans.iter().map(|span| span.name.as_ref()).collect()
}

#[traced]
fn checkout() {
    let tracer = global::tracer("payments-sdk");
    tracer.in_span("charge card", |cx| {
        cx.span()
            .set_attribute(KeyValue::new("payment.amount_cents", 4900));
    });
    get_active_span(|span| span.set_attribute(KeyValue::new("cart.items", 3)));
    get_active_span(|span| span.add_event("stock checked", vec![]));
}

#[test]
fn other_opentelemetry_code_nests_under_traced_spans_and_writes_to_them() {
    if !in_child() {
        rerun(
            "other_opentelemetry_code_nests_under_traced_spans_and_writes_to_them",
            &[],
        );
        return;
    }
    let (guard, spans) = init();
    checkout();
    let spans = exported(&guard, &spans);
    assert_eq!(spans.len(), 2, "{:?}", names(&spans));
    let checkout = named(&spans, "checkout");
    let charge = named(&spans, "charge card");
    assert_child(charge, checkout);
    assert_eq!(
        charge.span_context.trace_id(),
        checkout.span_context.trace_id()
    );
    assert_eq!(charge.instrumentation_scope.name(), "payments-sdk");
    assert_eq!(checkout.instrumentation_scope.name(), "traced-tests");
    assert_eq!(
        attribute(charge, "payment.amount_cents"),
        Some(&Value::I64(4900))
    );
    assert_eq!(attribute(checkout, "cart.items"), Some(&Value::I64(3)));
    assert_eq!(checkout.events.len(), 1);
    assert_eq!(checkout.events[0].name, "stock checked");
    assert_eq!(checkout.span_kind, SpanKind::Internal);
}

#[traced]
async fn handed_over() -> u32 {
    7
}

#[test]
fn a_span_started_on_one_thread_and_ended_on_another() {
    if !in_child() {
        rerun("a_span_started_on_one_thread_and_ended_on_another", &[]);
        return;
    }
    let (guard, spans) = init();
    let before = SystemTime::now();
    // The span starts at the call, here; the future completes elsewhere.
    let future = handed_over();
    let ended_on = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        assert_eq!(runtime.block_on(future), 7);
        std::thread::current().id()
    })
    .join()
    .unwrap();
    assert_ne!(ended_on, std::thread::current().id());
    let spans = exported(&guard, &spans);
    let span = named(&spans, "handed_over");
    assert!(span.start_time >= before - Duration::from_millis(5));
    assert!(span.end_time >= span.start_time);
    assert!(span.end_time <= SystemTime::now() + Duration::from_millis(5));
}

#[traced]
fn on_a_worker(n: u32) -> u32 {
    n
}

#[test]
fn a_flush_reaches_spans_of_threads_that_have_gone_idle() {
    if !in_child() {
        rerun("a_flush_reaches_spans_of_threads_that_have_gone_idle", &[]);
        return;
    }
    let (guard, spans) = init();
    let (recorded, all_recorded) = mpsc::channel();
    let workers: Vec<_> = (0..3)
        .map(|n| {
            let recorded = recorded.clone();
            let (release, released) = mpsc::channel::<()>();
            let handle = std::thread::spawn(move || {
                on_a_worker(n);
                recorded.send(()).unwrap();
                // Alive and idle until the test is done.
                let _ = released.recv();
            });
            (handle, release)
        })
        .collect();
    for _ in 0..3 {
        all_recorded.recv().unwrap();
    }
    let spans = exported(&guard, &spans);
    assert_eq!(
        spans
            .iter()
            .filter(|span| span.name == "on_a_worker")
            .count(),
        3,
        "{:?}",
        names(&spans)
    );
    for (handle, release) in workers {
        drop(release);
        handle.join().unwrap();
    }
}

#[test]
fn a_span_ending_while_its_thread_exits_is_still_exported() {
    if !in_child() {
        rerun(
            "a_span_ending_while_its_thread_exits_is_still_exported",
            &[],
        );
        return;
    }
    struct EndsInDestructor;
    impl Drop for EndsInDestructor {
        fn drop(&mut self) {
            on_a_worker(99);
        }
    }
    thread_local! {
        static LAST: std::cell::RefCell<Option<EndsInDestructor>> =
            const { std::cell::RefCell::new(None) };
    }
    let (guard, spans) = init();
    std::thread::spawn(|| {
        on_a_worker(1);
        LAST.with(|last| *last.borrow_mut() = Some(EndsInDestructor));
    })
    .join()
    .unwrap();
    let spans = exported(&guard, &spans);
    let mut workers: Vec<_> = spans
        .iter()
        .filter(|span| span.name == "on_a_worker")
        .collect();
    workers.sort_by_key(|span| span.start_time);
    assert_eq!(workers.len(), 2, "{:?}", names(&spans));
}

#[test]
fn the_monotonic_clock_fallback_gives_the_same_times() {
    if !in_child() {
        rerun(
            "the_monotonic_clock_fallback_gives_the_same_times",
            &[("TRACED_CLOCK", "monotonic")],
        );
        return;
    }
    let (guard, spans) = init();
    let before = SystemTime::now();
    on_a_worker(1);
    std::thread::sleep(Duration::from_millis(20));
    on_a_worker(2);
    let after = SystemTime::now();
    let spans = exported(&guard, &spans);
    let mut workers: Vec<_> = spans.iter().collect();
    workers.sort_by_key(|span| span.start_time);
    assert_eq!(workers.len(), 2);
    for span in &workers {
        assert!(
            span.start_time >= before && span.end_time <= after,
            "{span:?}"
        );
    }
    let gap = workers[1]
        .start_time
        .duration_since(workers[0].end_time)
        .unwrap();
    assert!(gap >= Duration::from_millis(20), "{gap:?}");
}

#[test]
fn a_provider_is_what_other_code_gets_from_the_global_slot() {
    if !in_child() {
        rerun(
            "a_provider_is_what_other_code_gets_from_the_global_slot",
            &[],
        );
        return;
    }
    let (guard, spans) = init();
    let provider = global::tracer_provider();
    provider.tracer("outside").in_span("on its own", |_| {});
    let spans = exported(&guard, &spans);
    let span = named(&spans, "on its own");
    assert_eq!(span.instrumentation_scope.name(), "outside");
    assert!(span.span_context.is_sampled());
}
