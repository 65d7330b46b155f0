//! How a traced call finds where its span goes, when providers come and go
//! while it runs. Each test runs in a child process of its own: every step
//! changes the process-wide provider.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use traced::opentelemetry::global;
use traced::opentelemetry::trace::{Tracer, TracerProvider};
use traced::opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use traced::traced;
use traced_tests::child::{in_child, rerun};

fn sdk_provider() -> (SdkTracerProvider, InMemorySpanExporter) {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    (provider, exporter)
}

#[traced]
fn work() {}

fn recorded(exporter: &InMemorySpanExporter) -> usize {
    exporter
        .get_finished_spans()
        .unwrap()
        .iter()
        .filter(|span| span.name == "work")
        .count()
}

#[test]
fn repro_a_kept_clone_of_the_old_provider_does_not_hide_a_new_one() {
    if !in_child() {
        return drop(rerun(
            "repro_a_kept_clone_of_the_old_provider_does_not_hide_a_new_one",
            &[],
        ));
    }
    work(); // nothing installed: traced remembers that
    // Somebody keeps the global provider of that moment...
    let kept = global::tracer_provider();
    // ...and then a provider is installed.
    let (provider, exporter) = sdk_provider();
    global::set_tracer_provider(provider.clone());
    for _ in 0..2048 {
        work();
    }
    let seen = recorded(&exporter);
    assert!(
        seen >= 1024,
        "the new provider got {seen} of 2048 spans: the kept clone hid it"
    );
    work();
    assert_eq!(
        recorded(&exporter),
        seen + 1,
        "once seen, every span goes there"
    );
    drop(kept);
}

#[test]
fn repro_dropping_the_guard_leaves_a_provider_installed_after_init() {
    if !in_child() {
        return drop(rerun(
            "repro_dropping_the_guard_leaves_a_provider_installed_after_init",
            &[],
        ));
    }
    let guard = traced::Config::new()
        .exporter(traced::Exporter::None)
        .init()
        .expect("init");
    let (provider, exporter) = sdk_provider();
    global::set_tracer_provider(provider.clone());
    work();
    drop(guard);
    work();
    global::tracer("after the guard").in_span("other", |_| {});
    assert_eq!(recorded(&exporter), 2);
    assert_eq!(exporter.get_finished_spans().unwrap().len(), 3);
}

#[test]
fn repro_first_calls_racing_init_never_evict_the_pipeline() {
    if !in_child() {
        return drop(rerun(
            "repro_first_calls_racing_init_never_evict_the_pipeline",
            &[],
        ));
    }
    for round in 0..20 {
        let stop = Arc::new(AtomicBool::new(false));
        let callers: Vec<_> = (0..3)
            .map(|_| {
                let stop = Arc::clone(&stop);
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        work();
                    }
                })
            })
            .collect();
        let exporter = InMemorySpanExporter::default();
        let guard = traced::Config::new()
            .span_exporter(exporter.clone())
            .init()
            .expect("init");
        stop.store(true, Ordering::Relaxed);
        for caller in callers {
            caller.join().unwrap();
        }
        guard.flush().unwrap();
        let before = exporter.get_finished_spans().unwrap().len();
        work();
        global::tracer_provider()
            .tracer("other")
            .in_span("other", |_| {});
        guard.flush().unwrap();
        let after = exporter.get_finished_spans().unwrap().len();
        assert_eq!(
            after,
            before + 2,
            "round {round}: after init, spans of traced calls and of the global tracer reach \
             its pipeline"
        );
        drop(guard);
        // Back to nothing installed for the next round.
        global::set_tracer_provider(traced::opentelemetry::trace::noop::NoopTracerProvider::new());
    }
}

/// Traced calls look at the global slot now and then (the export thread a few
/// times a second, each calling thread every 1 024 calls), holding a clone of
/// what is there for the moment of the look. A provider installed during a
/// look must still get the very next traced call of the thread that
/// installed it.
#[traced]
fn right_after() {}

fn right_after_spans(exporter: &InMemorySpanExporter) -> usize {
    exporter
        .get_finished_spans()
        .unwrap()
        .iter()
        .filter(|span| span.name == "right_after")
        .count()
}

#[test]
fn repro_a_look_at_the_slot_elsewhere_does_not_delay_a_new_provider() {
    if !in_child() {
        return drop(rerun(
            "repro_a_look_at_the_slot_elsewhere_does_not_delay_a_new_provider",
            &[],
        ));
    }
    let stop = Arc::new(AtomicBool::new(false));
    // Threads that keep looking: traced calls (every 1 024th looks) and
    // flushes (each wakes the export thread, which looks).
    let lookers: Vec<_> = (0..2)
        .map(|_| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    work();
                    let _ = traced::flush();
                }
            })
        })
        .collect();
    for round in 0..300 {
        let guard = traced::Config::new()
            .exporter(traced::Exporter::None)
            .init()
            .expect("init");
        let (first, first_spans) = sdk_provider();
        global::set_tracer_provider(first.clone());
        right_after();
        assert_eq!(
            right_after_spans(&first_spans),
            1,
            "round {round}: the call right after installing a provider over the pipeline"
        );
        let (second, second_spans) = sdk_provider();
        global::set_tracer_provider(second.clone());
        right_after();
        assert_eq!(
            right_after_spans(&second_spans),
            1,
            "round {round}: the call right after replacing a provider"
        );
        drop(guard);
        global::set_tracer_provider(traced::opentelemetry::trace::noop::NoopTracerProvider::new());
    }
    stop.store(true, Ordering::Relaxed);
    for looker in lookers {
        looker.join().unwrap();
    }
}
