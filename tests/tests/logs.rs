//! Log records written with `tracing` and `log` inside traced functions carry
//! the span's trace id and span id: in sync and async bodies, across `.await`
//! on a multi-thread runtime, in tasks started with `traced::spawn` and in
//! threads started with `traced::spawn_thread`. Spans go to the provider
//! `traced::testing` installs as the application's own (the OpenTelemetry
//! API path); records are captured by `traced::testing`.

use std::time::Duration;

use traced::opentelemetry::logs::{AnyValue, Severity};
use traced::testing::{LogRecord, capture, capture_async, message};
use traced::traced;
use traced_tests::{assert_written_in, log_record};

fn attribute<'a>(record: &'a LogRecord, key: &str) -> Option<&'a AnyValue> {
    record
        .attributes_iter()
        .find(|(k, _)| k.as_str() == key)
        .map(|(_, v)| v)
}

#[traced]
fn reserve(item: &str, quantity: u32) {
    tracing::info!(item, quantity, "tracing: reserving");
    log::warn!("log: {quantity} {item} left");
}

#[traced]
fn order() {
    tracing::debug!("tracing: before reserve");
    reserve("lamp", 1);
    log::info!("log: after reserve");
}

#[test]
fn tracing_events_carry_the_current_span() {
    let ((), trace) = capture(order);
    let order = trace.span("order");
    let reserve = trace.span("reserve");
    let before = log_record(&trace, "tracing: before reserve");
    assert_written_in(before, order);
    assert_eq!(before.severity_number(), Some(Severity::Debug));
    let reserving = log_record(&trace, "tracing: reserving");
    assert_written_in(reserving, reserve);
    assert_eq!(reserving.severity_number(), Some(Severity::Info));
    assert_eq!(
        attribute(reserving, "item"),
        Some(&AnyValue::from("lamp".to_owned()))
    );
    assert_eq!(attribute(reserving, "quantity"), Some(&AnyValue::Int(1)));
    assert_eq!(trace.logs_of(reserve).len(), 2);
}

#[test]
fn log_records_carry_the_current_span() {
    let ((), trace) = capture(order);
    let left = log_record(&trace, "log: 1 lamp left");
    assert_written_in(left, trace.span("reserve"));
    assert_eq!(left.severity_number(), Some(Severity::Warn));
    assert_eq!(left.severity_text(), Some("WARN"));
    let after = log_record(&trace, "log: after reserve");
    assert_written_in(after, trace.span("order"));
}

#[test]
fn records_outside_any_span_carry_no_trace() {
    traced::testing::install();
    tracing::info!("outside any span, for tracing_outside");
    log::info!("outside any span, for log_outside");
    let outside: Vec<_> = traced::testing::finished_logs()
        .into_iter()
        .filter(|record| message(record).starts_with("outside any span, for "))
        .collect();
    assert_eq!(outside.len(), 2, "{outside:?}");
    assert!(
        outside
            .iter()
            .all(|record| record.trace_context().is_none())
    );
}

#[traced]
async fn ship(order: u64) {
    tracing::info!(order, "tracing: before the await");
    tokio::time::sleep(Duration::from_millis(2)).await;
    tokio::task::yield_now().await;
    log::info!("log: after the await of {order}");
}

#[traced]
async fn fan_out() {
    tracing::info!("tracing: fanning out");
    let task = traced::spawn(async {
        tokio::task::yield_now().await;
        tracing::info!("tracing: in a spawned task");
        log::info!("log: in a spawned task");
    });
    let thread = traced::spawn_thread(|| {
        tracing::info!("tracing: in a thread");
        log::info!("log: in a thread");
    });
    task.await.unwrap();
    thread.join().unwrap();
    ship(7).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn across_await_spawn_and_threads() {
    let ((), trace) = capture_async(fan_out).await;
    let fan_out = trace.span("fan_out");
    let ship = trace.span("ship");
    for text in [
        "tracing: fanning out",
        "tracing: in a spawned task",
        "log: in a spawned task",
        "tracing: in a thread",
        "log: in a thread",
    ] {
        assert_written_in(log_record(&trace, text), fan_out);
    }
    assert_written_in(log_record(&trace, "tracing: before the await"), ship);
    assert_written_in(log_record(&trace, "log: after the await of 7"), ship);
}

#[traced(suppress)]
fn quiet() {
    tracing::info!("tracing: under suppression");
    log::info!("log: under suppression");
}

#[test]
fn nothing_is_recorded_under_suppression() {
    let ((), trace) = capture(quiet);
    assert!(trace.logs().is_empty(), "{:?}", trace.logs());
}

#[test]
fn every_test_here_passes_on_a_user_provider() {
    traced_tests::rerun_on_a_user_provider();
}
