//! Spans go to the global provider installed at call time, including one
//! installed after the first traced call, and one that replaces another.

use traced::opentelemetry::global;
use traced::opentelemetry_sdk::trace::{
    InMemorySpanExporter, InMemorySpanExporterBuilder, SdkTracerProvider,
};
use traced::traced;

#[traced]
fn work() {}

fn install() -> InMemorySpanExporter {
    // Replacing a provider shuts it down; keep what it exported for the asserts.
    let exporter = InMemorySpanExporterBuilder::new()
        .keep_records_on_shutdown()
        .build();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    global::set_tracer_provider(provider);
    exporter
}

#[test]
fn a_provider_installed_after_the_first_call_receives_spans() {
    work(); // nothing installed yet: goes nowhere
    let first = install();
    work();
    assert_eq!(first.get_finished_spans().unwrap().len(), 1);

    let second = std::thread::spawn(install).join().unwrap();
    work();
    work();
    assert_eq!(first.get_finished_spans().unwrap().len(), 1);
    assert_eq!(second.get_finished_spans().unwrap().len(), 2);
}
