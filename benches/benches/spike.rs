//! The native-pipeline spike beside the SDK's batch pipeline, fastrace and
//! `#[traced]` as it is, in one run.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use opentelemetry_sdk::trace::Sampler;
use traced_benches::{
    CountingExporter, CountingReporter, fastrace_fns, ready, sdk_batch_provider, sdk_fns, spike,
    traced_fns,
};

fn main() {
    let mut c = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();

    spike::install(CountingExporter::default());
    let mut group = c.benchmark_group("recorded");
    group.bench_function("spike/sync", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                black_box(spike::sync(black_box(1)));
            }
            let elapsed = start.elapsed();
            spike::flush();
            elapsed
        });
    });
    group.bench_function("spike/async", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                black_box(ready(spike::run(black_box(1))));
            }
            let elapsed = start.elapsed();
            spike::flush();
            elapsed
        });
    });
    group.bench_function("spike/attrs", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                black_box(spike::attrs(
                    black_box(1),
                    black_box("name"),
                    black_box(true),
                ));
            }
            let elapsed = start.elapsed();
            spike::flush();
            elapsed
        });
    });

    let exporter = CountingExporter::default();
    let provider = sdk_batch_provider(exporter.clone(), Sampler::AlwaysOn);
    opentelemetry::global::set_tracer_provider(provider.clone());
    let tracer = sdk_fns::tracer();
    group.bench_function("sdk/sync", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                black_box(sdk_fns::sync(&tracer, black_box(1)));
            }
            let elapsed = start.elapsed();
            let _ = provider.force_flush();
            elapsed
        });
    });
    group.bench_function("traced/sync", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                black_box(traced_fns::sync(black_box(1)));
            }
            let elapsed = start.elapsed();
            let _ = provider.force_flush();
            elapsed
        });
    });

    let reporter = CountingReporter::default();
    fastrace::set_reporter(reporter.clone(), fastrace::collector::Config::default());
    group.bench_function("fastrace/sync", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            let mut left = iters;
            while left > 0 {
                let n = left.min(1024);
                let root = fastrace::Span::root("root", fastrace::collector::SpanContext::random());
                {
                    let _parent = root.set_local_parent();
                    for _ in 0..n {
                        black_box(fastrace_fns::sync(black_box(1)));
                    }
                }
                drop(root);
                left -= n;
            }
            let elapsed = start.elapsed();
            fastrace::flush();
            elapsed
        });
    });
    group.finish();
    spike::flush();
    eprintln!(
        "spike: {} exported, {} dropped; sdk: {} exported; fastrace: {} reported",
        spike::exported(),
        spike::dropped(),
        exporter.exported(),
        reporter.reported()
    );
}
