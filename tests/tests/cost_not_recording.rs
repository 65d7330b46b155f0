//! Sampled out or suppressed: attribute expressions never run, and beneath a
//! suppressed scope a traced call allocates nothing.

use std::sync::atomic::{AtomicUsize, Ordering};

use traced::opentelemetry::global;
use traced::opentelemetry_sdk::trace::{InMemorySpanExporter, Sampler, SdkTracerProvider};
use traced::traced;
use traced_tests::alloc::{CountingAllocator, allocations};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

static EVALUATED: AtomicUsize = AtomicUsize::new(0);

fn side_effect() -> u64 {
    EVALUATED.fetch_add(1, Ordering::SeqCst);
    1
}

#[traced(attrs(probe = side_effect()))]
fn work(#[attr] n: u64) -> u64 {
    n
}

#[traced(suppress)]
fn suppressed_scope() -> u64 {
    let (sum, allocated) = allocations(|| (0..1_000).map(work).sum::<u64>());
    assert_eq!(
        allocated, 0,
        "traced calls beneath a suppressed scope allocated"
    );
    sum
}

#[test]
fn sampled_out_and_suppressed_evaluate_nothing() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_sampler(Sampler::AlwaysOff)
        .with_simple_exporter(exporter.clone())
        .build();
    global::set_tracer_provider(provider);

    let sum: u64 = (0..1_000).map(work).sum();
    assert_eq!(sum, (0..1_000).sum::<u64>());
    assert_eq!(
        EVALUATED.load(Ordering::SeqCst),
        0,
        "sampled out, yet attributes were evaluated"
    );

    assert_eq!(suppressed_scope(), (0..1_000).sum::<u64>());
    assert_eq!(
        EVALUATED.load(Ordering::SeqCst),
        0,
        "suppressed, yet attributes were evaluated"
    );
    assert!(exporter.get_finished_spans().unwrap().is_empty());
}
