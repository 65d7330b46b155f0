//! Under `traced::init()` spans are recorded by the pipeline it installs, not
//! by the capture of `traced::testing`; log records still take the trace and
//! span ids of the span that is current where they are written.

use traced::opentelemetry::trace::SpanContext;
use traced::testing::message;
use traced::{Config, Exporter, traced};

#[traced]
fn reserve(item: &str) -> SpanContext {
    tracing::info!(item, "tracing under init");
    log::info!("log under init: {item}");
    traced::current::span_context()
}

#[traced]
async fn ship() -> SpanContext {
    tokio::task::yield_now().await;
    let spawned = traced::spawn(async {
        tracing::info!("tracing under init, in a task");
        traced::current::span_context()
    });
    spawned.await.unwrap()
}

/// One test: `init()` installs process-wide state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_under_init_carry_the_span_of_the_traced_call() {
    traced::testing::install();
    let guard = Config::new().exporter(Exporter::None).init().expect("init");
    let span = reserve("lamp");
    let in_task = ship().await;
    drop(guard);
    assert!(span.is_valid() && in_task.is_valid());
    assert_ne!(span.trace_id(), in_task.trace_id());

    let logs = traced::testing::finished_logs();
    let written_in = |text: &str| {
        let record = logs
            .iter()
            .find(|record| message(record) == text)
            .unwrap_or_else(|| panic!("no record {text:?} in {logs:?}"));
        let context = record.trace_context().expect("a trace context");
        (context.trace_id, context.span_id)
    };
    let ids = (span.trace_id(), span.span_id());
    assert_eq!(written_in("tracing under init"), ids);
    assert_eq!(written_in("log under init: lamp"), ids);
    assert_eq!(
        written_in("tracing under init, in a task"),
        (in_task.trace_id(), in_task.span_id())
    );
}
