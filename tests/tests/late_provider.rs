//! Spans go to the global provider installed at call time, including one
//! installed after the first traced call, and one that replaces another.

use traced::opentelemetry::global;
use traced::opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use traced::traced;

#[traced]
fn work() {}

/// Installs a provider; the returned clone keeps it from shutting down (and
/// clearing its exporter) when a later one replaces it.
fn install() -> (SdkTracerProvider, InMemorySpanExporter) {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    global::set_tracer_provider(provider.clone());
    (provider, exporter)
}

#[test]
fn a_provider_installed_after_the_first_call_receives_spans() {
    work(); // nothing installed yet: goes nowhere
    let (_first_provider, first) = install();
    work();
    assert_eq!(first.get_finished_spans().unwrap().len(), 1);

    let (_second_provider, second) = std::thread::spawn(install).join().unwrap();
    work();
    work();
    assert_eq!(first.get_finished_spans().unwrap().len(), 1);
    assert_eq!(second.get_finished_spans().unwrap().len(), 2);
}
