//! Every path a traced call can take, side by side with the OpenTelemetry SDK
//! by hand, tracing `#[instrument]` + tracing-opentelemetry, fastrace
//! `#[trace]` and no instrumentation. The groups run in order because each
//! installs its own process-wide provider. See BENCHMARKS.md.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion};
use opentelemetry::Context;
use opentelemetry_sdk::trace::Sampler;
use traced_benches::{
    CountingExporter, CountingReporter, fastrace_fns, init_recording, init_recording_with_metrics,
    init_tail_sampling, init_with_sampler, plain, ready, sdk_bare_provider, sdk_batch_provider,
    sdk_fns, traced_fns, traced_subscriber, tracing_fns, tracing_subscriber_for, uninstall,
    unsampled_parent,
};

/// Calls made by the timed loops, to check every recorded span arrived.
static CALLS: AtomicU64 = AtomicU64::new(0);

/// Times `iters` calls of `f`, counting them.
fn bench(group: &mut BenchmarkGroup<'_, WallTime>, name: &str, f: impl FnMut()) {
    settled(group, name, || {}, f);
}

/// The same, then (untimed) `settle`: a flush that lets the export thread
/// catch up between samples, so the queue never holds more than one sample's
/// spans and none is dropped. The export thread still runs during the timed
/// loop, competing for the CPU as it would in production.
fn settled(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    settle: impl Fn(),
    mut f: impl FnMut(),
) {
    group.bench_function(name, |b| {
        b.iter_custom(|iters| {
            CALLS.fetch_add(iters, Ordering::Relaxed);
            let start = Instant::now();
            for _ in 0..iters {
                f();
            }
            let elapsed = start.elapsed();
            settle();
            elapsed
        });
    });
}

/// The same under fastrace roots of 1 024 calls each (fastrace records only
/// under a root; the root's own cost is included, spread over its calls).
fn bench_in_fastrace_roots(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    roots: &AtomicU64,
    mut f: impl FnMut(),
) {
    use fastrace::collector::SpanContext;
    group.bench_function(name, |b| {
        b.iter_custom(|iters| {
            CALLS.fetch_add(iters, Ordering::Relaxed);
            let start = Instant::now();
            let mut left = iters;
            while left > 0 {
                let n = left.min(1024);
                let root = fastrace::Span::root("root", SpanContext::random());
                {
                    let _parent = root.set_local_parent();
                    for _ in 0..n {
                        f();
                    }
                }
                drop(root);
                roots.fetch_add(1, Ordering::Relaxed);
                left -= n;
            }
            let elapsed = start.elapsed();
            // Untimed, as for the other pipelines: fastrace's collector
            // queue is bounded too.
            fastrace::flush();
            elapsed
        });
    });
}

fn calls_since(mark: u64) -> u64 {
    CALLS.load(Ordering::Relaxed) - mark
}

fn sync_and_async(group: &mut BenchmarkGroup<'_, WallTime>) {
    bench(group, "traced/sync", || {
        black_box(traced_fns::sync(black_box(1)));
    });
    bench(group, "traced/async", || {
        black_box(ready(traced_fns::run(black_box(1))));
    });
}

fn nothing_installed(c: &mut Criterion) {
    uninstall();
    let tracer = sdk_fns::tracer();
    let mut group = c.benchmark_group("nothing_installed");
    bench(&mut group, "baseline/sync", || {
        black_box(plain::sync(black_box(1)));
    });
    bench(&mut group, "baseline/async", || {
        black_box(ready(plain::run(black_box(1))));
    });
    sync_and_async(&mut group);
    bench(&mut group, "sdk/sync", || {
        black_box(sdk_fns::sync(&tracer, black_box(1)));
    });
    bench(&mut group, "tracing/sync", || {
        black_box(tracing_fns::sync(black_box(1)));
    });
    bench(&mut group, "fastrace/sync", || {
        black_box(fastrace_fns::sync(black_box(1)));
    });
    group.finish();
}

fn explicitly_off(c: &mut Criterion) {
    let mut group = c.benchmark_group("off");
    {
        // SAFETY-free in spirit: nothing else reads the environment while
        // the benchmarks run on this one thread.
        unsafe { std::env::set_var("OTEL_SDK_DISABLED", "true") };
        let guard = traced::init().expect("init with OTEL_SDK_DISABLED");
        unsafe { std::env::remove_var("OTEL_SDK_DISABLED") };
        bench(&mut group, "traced/sync (OTEL_SDK_DISABLED)", || {
            black_box(traced_fns::sync(black_box(1)));
        });
        drop(guard);
    }
    {
        let guard = traced::Config::new()
            .exporter(traced::Exporter::None)
            .init()
            .expect("init with exporter none");
        bench(&mut group, "traced/sync (exporter none)", || {
            black_box(traced_fns::sync(black_box(1)));
        });
        drop(guard);
    }
    {
        use tracing_subscriber::layer::SubscriberExt as _;
        let off = tracing_subscriber::registry().with(tracing::level_filters::LevelFilter::OFF);
        tracing::subscriber::with_default(off, || {
            bench(&mut group, "tracing/sync (LevelFilter::OFF)", || {
                black_box(tracing_fns::sync(black_box(1)));
            });
        });
    }
    group.finish();
}

fn suppressed(c: &mut Criterion) {
    let pipeline = sdk_batch_provider(CountingExporter::default(), Sampler::AlwaysOn);
    opentelemetry::global::set_tracer_provider(pipeline.clone());
    let mut group = c.benchmark_group("suppressed");
    {
        let _quiet = Context::current().with_telemetry_suppressed().attach();
        bench(&mut group, "traced/sync", || {
            black_box(traced_fns::sync(black_box(1)));
        });
    }
    uninstall();
    pipeline.shutdown().expect("pipeline shutdown");
    let provider = sdk_bare_provider(Sampler::AlwaysOn);
    opentelemetry::global::set_tracer_provider(provider.clone());
    let tracer = sdk_fns::tracer();
    {
        let _quiet = Context::current().with_telemetry_suppressed().attach();
        bench(&mut group, "sdk/sync", || {
            black_box(sdk_fns::sync(&tracer, black_box(1)));
        });
    }
    group.finish();
    uninstall();
}

fn sampled_out(c: &mut Criterion) {
    let mut group = c.benchmark_group("sampled_out");
    let default_sampler = || Sampler::ParentBased(Box::new(Sampler::AlwaysOn));
    {
        let guard = init_with_sampler(default_sampler());
        let _parent = unsampled_parent().attach();
        bench(&mut group, "traced/sync (parent not sampled)", || {
            black_box(traced_fns::sync(black_box(1)));
        });
        bench(&mut group, "traced/async (parent not sampled)", || {
            black_box(ready(traced_fns::run(black_box(1))));
        });
        drop(_parent);
        drop(guard);
    }
    {
        let guard = init_with_sampler(Sampler::TraceIdRatioBased(0.0));
        bench(&mut group, "traced/sync (ratio says no)", || {
            black_box(traced_fns::sync(black_box(1)));
        });
        drop(guard);
    }
    {
        opentelemetry::global::set_tracer_provider(sdk_bare_provider(default_sampler()));
        let tracer = sdk_fns::tracer();
        let _parent = unsampled_parent().attach();
        bench(&mut group, "sdk/sync (parent not sampled)", || {
            black_box(sdk_fns::sync(&tracer, black_box(1)));
        });
    }
    {
        opentelemetry::global::set_tracer_provider(sdk_bare_provider(Sampler::TraceIdRatioBased(
            0.0,
        )));
        let tracer = sdk_fns::tracer();
        bench(&mut group, "sdk/sync (ratio says no)", || {
            black_box(sdk_fns::sync(&tracer, black_box(1)));
        });
    }
    {
        use tracing_subscriber::layer::SubscriberExt as _;
        let provider = sdk_bare_provider(Sampler::AlwaysOn);
        let filtered =
            tracing_subscriber_for(&provider).with(tracing::level_filters::LevelFilter::WARN);
        tracing::subscriber::with_default(filtered, || {
            bench(&mut group, "tracing/sync (level filtered)", || {
                black_box(tracing_fns::sync(black_box(1)));
            });
        });
    }
    group.finish();
    uninstall();
}

fn user_sdk_provider(c: &mut Criterion) {
    // The SDK provider a user installs themselves; no processor, so the span
    // is made, ended and dropped: the span path alone.
    opentelemetry::global::set_tracer_provider(sdk_bare_provider(Sampler::AlwaysOn));
    let tracer = sdk_fns::tracer();
    let mut group = c.benchmark_group("user_sdk_provider");
    sync_and_async(&mut group);
    bench(&mut group, "traced/attrs3", || {
        black_box(traced_fns::attrs(
            black_box(1),
            black_box("name"),
            black_box(true),
        ));
    });
    bench(&mut group, "traced/literals3", || {
        black_box(traced_fns::literals(black_box(1)));
    });
    bench(&mut group, "sdk/sync", || {
        black_box(sdk_fns::sync(&tracer, black_box(1)));
    });
    bench(&mut group, "sdk/async", || {
        black_box(ready(sdk_fns::run(&tracer, black_box(1))));
    });
    bench(&mut group, "sdk/attrs3", || {
        black_box(sdk_fns::attrs(
            &tracer,
            black_box(1),
            black_box("name"),
            black_box(true),
        ));
    });
    bench(&mut group, "sdk/literals3", || {
        black_box(sdk_fns::literals(&tracer, black_box(1)));
    });
    group.finish();
    uninstall();
}

fn recorded(c: &mut Criterion) {
    let mut group = c.benchmark_group("recorded");
    let mut report = Vec::new();
    {
        // The pipeline `traced::init()` installs: the native pipeline, its
        // export thread feeding an exporter that counts and drops.
        let exporter = CountingExporter::default();
        let mark = CALLS.load(Ordering::Relaxed);
        let guard = init_recording(exporter.clone());
        let settle = || guard.flush().expect("flush");
        settled(&mut group, "traced/sync", settle, || {
            black_box(traced_fns::sync(black_box(1)));
        });
        settled(&mut group, "traced/async", settle, || {
            black_box(ready(traced_fns::run(black_box(1))));
        });
        settled(&mut group, "traced/attrs3", settle, || {
            black_box(traced_fns::attrs(
                black_box(1),
                black_box("name"),
                black_box(true),
            ));
        });
        settled(&mut group, "traced/literals3", settle, || {
            black_box(traced_fns::literals(black_box(1)));
        });
        {
            // Children of a span, as fastrace's rows are: no new trace id
            // and no sampler call per span.
            use opentelemetry::trace::{TraceContextExt as _, Tracer as _};
            let parent = opentelemetry::global::tracer("traced-benches").start("parent");
            let _parent = Context::current_with_span(parent).attach();
            settled(&mut group, "traced/sync (child)", settle, || {
                black_box(traced_fns::sync(black_box(1)));
            });
            settled(&mut group, "traced/async (child)", settle, || {
                black_box(ready(traced_fns::run(black_box(1))));
            });
        }
        // The same `#[instrument]` functions as the tracing rows below,
        // recorded by traced's `tracing` layer into this pipeline: the
        // subscriber `traced::init()` sets when none is.
        let unrecorded = tracing::subscriber::with_default(traced_subscriber(), || {
            // Asked again now that this subscriber is the one in force: a
            // `debug` span is then `never` for good, as in a service.
            tracing::callsite::rebuild_interest_cache();
            let before = CALLS.load(Ordering::Relaxed);
            bench(&mut group, "baseline/sync", || {
                black_box(plain::sync(black_box(1)));
            });
            bench(&mut group, "traced-layer/sync (filtered out)", || {
                black_box(tracing_fns::debug(black_box(1)));
            });
            let unrecorded = CALLS.load(Ordering::Relaxed) - before;
            settled(&mut group, "traced-layer/sync", settle, || {
                black_box(tracing_fns::sync(black_box(1)));
            });
            settled(&mut group, "traced-layer/async", settle, || {
                black_box(ready(tracing_fns::run(black_box(1))));
            });
            settled(&mut group, "traced-layer/attrs3", settle, || {
                black_box(tracing_fns::attrs(
                    black_box(1),
                    black_box("name"),
                    black_box(true),
                ));
            });
            unrecorded
        });
        guard.flush().expect("flush");
        // The calls, and the parent of the child rows; not the calls of the
        // two rows that record nothing.
        let made = calls_since(mark) + 1 - unrecorded;
        report.push((
            "#[traced] (native pipeline, as init installs)",
            made,
            exporter.exported(),
            made - exporter.exported(),
        ));
        drop(guard);
    }
    {
        // The same pipeline with tail sampling on: every span is recorded
        // as above, and the export thread decides; 1 % of the traces kept.
        let exporter = CountingExporter::default();
        let mark = CALLS.load(Ordering::Relaxed);
        let guard = init_tail_sampling(exporter.clone(), 0.01);
        let settle = || guard.flush().expect("flush");
        settled(&mut group, "traced/sync (tail sampling)", settle, || {
            black_box(traced_fns::sync(black_box(1)));
        });
        settled(&mut group, "traced/async (tail sampling)", settle, || {
            black_box(ready(traced_fns::run(black_box(1))));
        });
        settled(&mut group, "traced/attrs3 (tail sampling)", settle, || {
            black_box(traced_fns::attrs(
                black_box(1),
                black_box("name"),
                black_box(true),
            ));
        });
        guard.flush().expect("flush");
        let calls = calls_since(mark);
        let sampled_out = guard
            .tail_sampling()
            .map_or(0, |report| report.dropped_spans);
        report.push((
            "#[traced] (native pipeline, tail sampling keeping 1 %; sampled out is not dropped)",
            calls,
            exporter.exported(),
            calls - exporter.exported() - sampled_out,
        ));
        drop(guard);
    }
    {
        // #[traced] over an SDK provider with its batch processor that the
        // application installed itself.
        let exporter = CountingExporter::default();
        let mark = CALLS.load(Ordering::Relaxed);
        let pipeline = sdk_batch_provider(
            exporter.clone(),
            Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
        );
        opentelemetry::global::set_tracer_provider(pipeline.clone());
        let settle = || pipeline.force_flush().expect("flush");
        settled(&mut group, "traced-over-sdk/sync", settle, || {
            black_box(traced_fns::sync(black_box(1)));
        });
        settled(&mut group, "traced-over-sdk/async", settle, || {
            black_box(ready(traced_fns::run(black_box(1))));
        });
        settled(&mut group, "traced-over-sdk/attrs3", settle, || {
            black_box(traced_fns::attrs(
                black_box(1),
                black_box("name"),
                black_box(true),
            ));
        });
        settled(&mut group, "traced-over-sdk/literals3", settle, || {
            black_box(traced_fns::literals(black_box(1)));
        });
        pipeline.force_flush().expect("flush");
        let calls = calls_since(mark);
        report.push((
            "#[traced] (a user's SDK batch provider)",
            calls,
            exporter.exported(),
            calls - exporter.exported(),
        ));
        uninstall();
        pipeline.shutdown().expect("pipeline shutdown");
    }
    {
        let exporter = CountingExporter::default();
        let provider = sdk_batch_provider(
            exporter.clone(),
            Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
        );
        opentelemetry::global::set_tracer_provider(provider.clone());
        let tracer = sdk_fns::tracer();
        let mark = CALLS.load(Ordering::Relaxed);
        let settle = || provider.force_flush().expect("flush");
        settled(&mut group, "sdk/sync (batch)", settle, || {
            black_box(sdk_fns::sync(&tracer, black_box(1)));
        });
        settled(&mut group, "sdk/async (batch)", settle, || {
            black_box(ready(sdk_fns::run(&tracer, black_box(1))));
        });
        settled(&mut group, "sdk/attrs3 (batch)", settle, || {
            black_box(sdk_fns::attrs(
                &tracer,
                black_box(1),
                black_box("name"),
                black_box(true),
            ));
        });
        settled(&mut group, "sdk/literals3 (batch)", settle, || {
            black_box(sdk_fns::literals(&tracer, black_box(1)));
        });
        provider.force_flush().expect("flush");
        let calls = calls_since(mark);
        report.push((
            "sdk by hand (SDK batch)",
            calls,
            exporter.exported(),
            calls - exporter.exported(),
        ));
        uninstall();
        let _ = provider.shutdown();
    }
    {
        let exporter = CountingExporter::default();
        let provider = sdk_batch_provider(
            exporter.clone(),
            Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
        );
        let subscriber = tracing_subscriber_for(&provider);
        let mark = CALLS.load(Ordering::Relaxed);
        let settle = || provider.force_flush().expect("flush");
        tracing::subscriber::with_default(subscriber, || {
            settled(&mut group, "tracing/sync", settle, || {
                black_box(tracing_fns::sync(black_box(1)));
            });
            settled(&mut group, "tracing/async", settle, || {
                black_box(ready(tracing_fns::run(black_box(1))));
            });
            settled(&mut group, "tracing/attrs3", settle, || {
                black_box(tracing_fns::attrs(
                    black_box(1),
                    black_box("name"),
                    black_box(true),
                ));
            });
            settled(&mut group, "tracing/literals3", settle, || {
                black_box(tracing_fns::literals(black_box(1)));
            });
        });
        provider.force_flush().expect("flush");
        let calls = calls_since(mark);
        report.push((
            "tracing + tracing-opentelemetry (SDK batch)",
            calls,
            exporter.exported(),
            calls - exporter.exported(),
        ));
        let _ = provider.shutdown();
    }
    {
        let reporter = CountingReporter::default();
        fastrace::set_reporter(reporter.clone(), fastrace::collector::Config::default());
        let roots = AtomicU64::new(0);
        let mark = CALLS.load(Ordering::Relaxed);
        bench_in_fastrace_roots(&mut group, "fastrace/sync", &roots, || {
            black_box(fastrace_fns::sync(black_box(1)));
        });
        bench_in_fastrace_roots(&mut group, "fastrace/async", &roots, || {
            black_box(ready(fastrace_fns::run(black_box(1))));
        });
        bench_in_fastrace_roots(&mut group, "fastrace/attrs3", &roots, || {
            black_box(fastrace_fns::attrs(
                black_box(1),
                black_box("name"),
                black_box(true),
            ));
        });
        bench_in_fastrace_roots(&mut group, "fastrace/literals3", &roots, || {
            black_box(fastrace_fns::literals(black_box(1)));
        });
        fastrace::flush();
        let calls = calls_since(mark);
        let expected = calls + roots.load(Ordering::Relaxed);
        report.push((
            "fastrace (own collector)",
            expected,
            reporter.reported(),
            expected - reporter.reported().min(expected),
        ));
    }
    group.finish();
    eprintln!("\nspans made / exported / dropped in the recorded group:");
    for (pipeline, made, exported, dropped) in report {
        eprintln!("  {pipeline}: {made} / {exported} / {dropped}");
    }
}

/// The calling thread's own CPU time, to the nanosecond.
fn thread_cpu_now() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a timespec the call writes into, and nothing else.
    let result = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    assert_eq!(result, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

/// What a recorded span costs the thread that makes it, in that thread's
/// CPU time rather than wall time: on two cores the export thread, busier
/// with tail sampling, competes for the CPU the timed loop runs on, which
/// wall time counts and this does not.
fn calling_thread_cpu(c: &mut Criterion) {
    let mut group = c.benchmark_group("calling_thread_cpu");
    for pipeline in ["traced", "traced (metrics)", "traced (tail sampling)"] {
        let exporter = CountingExporter::default();
        let guard = match pipeline {
            "traced" => init_recording(exporter),
            "traced (metrics)" => init_recording_with_metrics(exporter),
            _ => init_tail_sampling(exporter, 0.01),
        };
        let shapes: [(&str, &dyn Fn()); 4] = [
            ("sync", &|| {
                black_box(traced_fns::sync(black_box(1)));
            }),
            ("async", &|| {
                black_box(ready(traced_fns::run(black_box(1))));
            }),
            ("attrs3", &|| {
                black_box(traced_fns::attrs(
                    black_box(1),
                    black_box("name"),
                    black_box(true),
                ));
            }),
            ("literals3", &|| {
                black_box(traced_fns::literals(black_box(1)));
            }),
        ];
        for (shape, f) in shapes {
            group.bench_function(format!("{pipeline}/{shape}"), |b| {
                b.iter_custom(|iters| {
                    let start = thread_cpu_now();
                    for _ in 0..iters {
                        f();
                    }
                    let spent = thread_cpu_now() - start;
                    guard.flush().expect("flush");
                    spent
                });
            });
        }
        drop(guard);
    }
    {
        // The same `#[instrument]` span through traced's `tracing` layer,
        // and through tracing-opentelemetry to the SDK's batch pipeline.
        let exporter = CountingExporter::default();
        let guard = init_recording(exporter);
        tracing::subscriber::with_default(traced_subscriber(), || {
            group.bench_function("traced-layer/sync", |b| {
                b.iter_custom(|iters| {
                    let start = thread_cpu_now();
                    for _ in 0..iters {
                        black_box(tracing_fns::sync(black_box(1)));
                    }
                    let spent = thread_cpu_now() - start;
                    guard.flush().expect("flush");
                    spent
                });
            });
        });
        drop(guard);
        let provider = sdk_batch_provider(
            CountingExporter::default(),
            Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
        );
        tracing::subscriber::with_default(tracing_subscriber_for(&provider), || {
            group.bench_function("tracing/sync", |b| {
                b.iter_custom(|iters| {
                    let start = thread_cpu_now();
                    for _ in 0..iters {
                        black_box(tracing_fns::sync(black_box(1)));
                    }
                    let spent = thread_cpu_now() - start;
                    provider.force_flush().expect("flush");
                    spent
                });
            });
        });
        let _ = provider.shutdown();
    }
    group.finish();
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
        .configure_from_args();
    nothing_installed(&mut c);
    explicitly_off(&mut c);
    suppressed(&mut c);
    sampled_out(&mut c);
    user_sdk_provider(&mut c);
    recorded(&mut c);
    calling_thread_cpu(&mut c);
    c.final_summary();
}
