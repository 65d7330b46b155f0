//! `traced::testing::capture` keeps returning the spans after a test in the
//! same process set tracing up with `traced::init()` and dropped its guard,
//! or installed a provider of its own. (Its own process: it installs other
//! providers, so it is one test.)

use traced::opentelemetry::Value;
use traced::opentelemetry::global;
use traced::opentelemetry_sdk::trace::SdkTracerProvider;
use traced::testing::{FinishedSpanExt as _, capture};
use traced::traced;

#[traced(attrs(answer = 42))]
fn work() {}

#[test]
fn repro_capture_after_another_provider_came_and_went() {
    let ((), first) = capture(work);
    assert_eq!(first.names(), ["work"]);

    // Another test sets tracing up, traces, and drops its guard.
    let guard = traced::Config::new()
        .exporter(traced::Exporter::None)
        .init()
        .unwrap();
    work();
    drop(guard);
    let ((), after_init) = capture(work);
    assert_eq!(after_init.names(), ["work"]);
    assert_eq!(
        after_init.span("work").attr("answer"),
        Some(&Value::I64(42))
    );

    // Another test installs a provider by hand and leaves it there.
    global::set_tracer_provider(SdkTracerProvider::builder().build());
    let ((), after_replacement) = capture(work);
    assert_eq!(after_replacement.names(), ["work"]);
}
