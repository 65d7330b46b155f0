//! Total process CPU per recorded span (calling thread + export or collector
//! thread), for each library, over a fixed number of spans on one thread:
//! `/proc/self/stat` before and after the loop and a flush, with the calling
//! thread's own share from `/proc/thread-self/schedstat`.
//!
//! `cargo run --release -p traced-benches --bin cpu_per_span [SPANS] [ONLY] [PACE]`
//!
//! ONLY keeps the rows whose name holds it; PACE is how many spans the
//! paced rows make between two flushes (4 096 unless given).

use std::hint::black_box;
use std::time::{Duration, Instant};

use opentelemetry_sdk::trace::Sampler;
use traced_benches::{
    CountingExporter, CountingReporter, fastrace_fns, init_otlp, init_recording,
    init_recording_with_metrics, init_tail_sampling, init_with_sampler, process_cpu,
    sdk_batch_provider, sdk_fns, server_requests, thread_cpu, traced_fns, traced_subscriber,
    tracing_fns, tracing_subscriber_for, uninstall, unsampled_parent,
};

/// Spans between two flushes in the paced rows, unless given.
const PACE: u64 = 4096;

/// How a paced row's pipeline is set up.
#[derive(Clone, Copy)]
enum SetUp {
    Plain,
    /// With the RED metrics.
    Metrics,
    /// With tail sampling keeping this ratio.
    Tail(f64),
    /// Spans and metrics over OTLP/HTTP, as `init()` sets them up.
    Otlp,
}

struct Measured {
    wall: Duration,
    cpu: Duration,
    calling_thread: Duration,
    delivered: u64,
    dropped: u64,
}

fn measure(spans: u64, run: impl FnOnce(u64) -> (u64, u64)) -> Measured {
    let cpu = process_cpu();
    let calling_thread = thread_cpu();
    let start = Instant::now();
    let (delivered, dropped) = run(spans);
    let wall = start.elapsed();
    Measured {
        wall,
        cpu: process_cpu() - cpu,
        calling_thread: thread_cpu() - calling_thread,
        delivered,
        dropped,
    }
}

type Row = (&'static str, Measured);

/// A `#[traced]` row over a user's provider, the same span by hand, and
/// what each calls.
type ByHand<'a> = (
    &'static str,
    &'static str,
    &'a dyn Fn(),
    &'a dyn Fn(&opentelemetry::global::BoxedTracer),
);

fn run(
    rows: &mut Vec<Row>,
    only: &str,
    spans: u64,
    name: &'static str,
    pipeline: impl FnOnce(u64) -> (u64, u64),
) {
    if name.contains(only) {
        rows.push((name, measure(spans, pipeline)));
    }
}

fn main() {
    let spans: u64 = std::env::args()
        .nth(1)
        .map_or(1_000_000, |arg| arg.parse().expect("SPANS is a number"));
    // An optional second argument keeps only the pipelines whose name holds it.
    let only = std::env::args().nth(2).unwrap_or_default();
    let pace: u64 = std::env::args()
        .nth(3)
        .map_or(PACE, |arg| arg.parse().expect("PACE is a number"));
    let default_sampler = || Sampler::ParentBased(Box::new(Sampler::AlwaysOn));
    let mut rows = Vec::new();

    // The same with the RED metrics on, sent every second and at the end;
    // and spans with three attributes, which reach the export thread with
    // an extra.
    let sync = || {
        black_box(traced_fns::sync(black_box(1)));
    };
    let attrs3 = || {
        black_box(traced_fns::attrs(
            black_box(1),
            black_box("name"),
            black_box(true),
        ));
    };
    for (name, span, metrics) in [
        (
            "#[traced] (native pipeline, as init installs)",
            &sync as &dyn Fn(),
            false,
        ),
        ("  + metrics, as init installs", &sync, true),
        ("#[traced] 3 attributes, as init installs", &attrs3, false),
        ("  + metrics, 3 attributes, as init installs", &attrs3, true),
    ] {
        run(&mut rows, &only, spans, name, |spans| {
            let exporter = CountingExporter::default();
            let guard = if metrics {
                init_recording_with_metrics(exporter.clone())
            } else {
                init_recording(exporter.clone())
            };
            for _ in 0..spans {
                span();
            }
            guard.flush().expect("flush");
            drop(guard);
            (exporter.exported(), spans - exporter.exported())
        });
    }

    // The paths that record nothing, for instruction counts (callgrind).
    run(
        &mut rows,
        &only,
        spans,
        "#[traced] nothing installed",
        |spans| {
            uninstall();
            for _ in 0..spans {
                black_box(traced_fns::sync(black_box(1)));
            }
            (0, 0)
        },
    );
    run(
        &mut rows,
        &only,
        spans,
        "#[traced] under an unsampled parent (init)",
        |spans| {
            let guard = init_with_sampler(default_sampler());
            let _parent = unsampled_parent().attach();
            for _ in 0..spans {
                black_box(traced_fns::sync(black_box(1)));
            }
            drop(_parent);
            drop(guard);
            (0, 0)
        },
    );
    run(
        &mut rows,
        &only,
        spans,
        "#[traced] root sampled out (init, ratio 0)",
        |spans| {
            let guard = init_with_sampler(Sampler::TraceIdRatioBased(0.0));
            for _ in 0..spans {
                black_box(traced_fns::sync(black_box(1)));
            }
            drop(guard);
            (0, 0)
        },
    );

    // Tail sampling, beside the same pipeline without it, all flushed every
    // `pace` spans: the export thread never falls behind, so its CPU is its
    // own work, not a backlog's; a larger pace lets tail sampling hold more
    // traces at once, as a busy service's does. Spans with nothing but ids and times, and
    // spans with three attributes (which reach the export thread with an
    // extra, and are converted as they arrive).
    // The same with the RED metrics on (`Metrics` rows): each span is also
    // measured on the export thread, and the metrics leave every second and
    // at each flush (here every PACE spans).
    let literals3 = || {
        black_box(traced_fns::literals(black_box(1)));
    };
    for (name, span, set_up) in [
        (
            "#[traced] (native, flushed every PACE spans)",
            &sync as &dyn Fn(),
            SetUp::Plain,
        ),
        ("  + metrics", &sync, SetUp::Metrics),
        (
            "  + tail sampling, every trace dropped",
            &sync,
            SetUp::Tail(0.0),
        ),
        (
            "  + tail sampling, every trace kept",
            &sync,
            SetUp::Tail(1.0),
        ),
        (
            "#[traced] 3 attributes (native, flushed every PACE)",
            &attrs3,
            SetUp::Plain,
        ),
        ("  + metrics (3 attributes)", &attrs3, SetUp::Metrics),
        (
            "  + tail sampling (3 attributes), every trace dropped",
            &attrs3,
            SetUp::Tail(0.0),
        ),
        (
            "  + tail sampling (3 attributes), every trace kept",
            &attrs3,
            SetUp::Tail(1.0),
        ),
        (
            "#[traced] 3 literal attributes (native, flushed every PACE)",
            &literals3,
            SetUp::Plain,
        ),
    ] {
        run(&mut rows, &only, spans, name, |spans| {
            let exporter = CountingExporter::default();
            let guard = match set_up {
                SetUp::Tail(ratio) => init_tail_sampling(exporter.clone(), ratio),
                SetUp::Metrics => init_recording_with_metrics(exporter.clone()),
                SetUp::Plain => init_recording(exporter.clone()),
                SetUp::Otlp => init_otlp(),
            };
            for n in 0..spans {
                span();
                if n % pace == pace - 1 {
                    guard.flush().expect("flush");
                }
            }
            guard.flush().expect("flush");
            let sampled_out = guard
                .tail_sampling()
                .map_or(0, |report| report.dropped_spans);
            drop(guard);
            (
                exporter.exported(),
                spans - exporter.exported() - sampled_out,
            )
        });
    }

    // One request through an axum router in the process, with and without
    // the server layer's span (callgrind: the layer's instructions per
    // request).
    for (name, layered, set_up) in [
        ("one request, plain axum router", false, SetUp::Plain),
        (
            "one request through HttpServerLayer (native)",
            true,
            SetUp::Plain,
        ),
        (
            "one request through HttpServerLayer + metrics",
            true,
            SetUp::Metrics,
        ),
        (
            "one request through HttpServerLayer, OTLP/HTTP + metrics",
            true,
            SetUp::Otlp,
        ),
    ] {
        run(&mut rows, &only, spans, name, |spans| {
            let exporter = CountingExporter::default();
            let guard = layered.then(|| match set_up {
                SetUp::Metrics => init_recording_with_metrics(exporter.clone()),
                SetUp::Otlp => init_otlp(),
                SetUp::Plain | SetUp::Tail(_) => init_recording(exporter.clone()),
            });
            let router = server_requests::router(layered);
            for n in 0..spans {
                black_box(server_requests::request(&router, n % 1000));
                if let Some(guard) = guard.as_ref().filter(|_| n % pace == pace - 1) {
                    guard.flush().expect("flush");
                }
            }
            match guard {
                Some(guard) => {
                    guard.flush().expect("flush");
                    let exported = match set_up {
                        SetUp::Otlp => guard.delivery().map_or(0, |report| report.exported),
                        _ => exporter.exported(),
                    };
                    drop(guard);
                    (exported, spans - exported)
                }
                None => (0, 0),
            }
        });
    }

    // Over a provider the application installed itself, beside the same
    // spans by hand with a kept tracer: no attributes, three typed argument
    // attributes, three literal ones.
    let tracer = sdk_fns::tracer;
    let by_hand: [ByHand<'_>; 3] = [
        (
            "#[traced] (over a user's SDK batch provider)",
            "SDK by hand (SDK batch)",
            &sync,
            &|tracer| {
                black_box(sdk_fns::sync(tracer, black_box(1)));
            },
        ),
        (
            "#[traced] 3 attributes (over a user's SDK batch provider)",
            "SDK by hand, 3 attributes (SDK batch)",
            &attrs3,
            &|tracer| {
                black_box(sdk_fns::attrs(
                    tracer,
                    black_box(1),
                    black_box("name"),
                    black_box(true),
                ));
            },
        ),
        (
            "#[traced] 3 literal attributes (over a user's SDK batch provider)",
            "SDK by hand, 3 literal attributes (SDK batch)",
            &literals3,
            &|tracer| {
                black_box(sdk_fns::literals(tracer, black_box(1)));
            },
        ),
    ];
    for (traced_name, sdk_name, traced_span, sdk_span) in by_hand {
        run(&mut rows, &only, spans, traced_name, |spans| {
            let exporter = CountingExporter::default();
            let provider = sdk_batch_provider(exporter.clone(), default_sampler());
            opentelemetry::global::set_tracer_provider(provider.clone());
            for _ in 0..spans {
                traced_span();
            }
            provider.force_flush().expect("flush");
            uninstall();
            let _ = provider.shutdown();
            (exporter.exported(), spans - exporter.exported())
        });
        run(&mut rows, &only, spans, sdk_name, |spans| {
            let exporter = CountingExporter::default();
            let provider = sdk_batch_provider(exporter.clone(), default_sampler());
            opentelemetry::global::set_tracer_provider(provider.clone());
            let tracer = tracer();
            for _ in 0..spans {
                sdk_span(&tracer);
            }
            provider.force_flush().expect("flush");
            uninstall();
            let _ = provider.shutdown();
            (exporter.exported(), spans - exporter.exported())
        });
    }

    run(
        &mut rows,
        &only,
        spans,
        "tracing #[instrument] + tracing-opentelemetry (SDK batch)",
        |spans| {
            let exporter = CountingExporter::default();
            let provider = sdk_batch_provider(exporter.clone(), default_sampler());
            tracing::subscriber::with_default(tracing_subscriber_for(&provider), || {
                for _ in 0..spans {
                    black_box(tracing_fns::sync(black_box(1)));
                }
            });
            provider.force_flush().expect("flush");
            let _ = provider.shutdown();
            (exporter.exported(), spans - exporter.exported())
        },
    );

    run(
        &mut rows,
        &only,
        spans,
        "tracing #[instrument] through traced's layer (native pipeline)",
        |spans| {
            let exporter = CountingExporter::default();
            let guard = init_recording(exporter.clone());
            tracing::subscriber::with_default(traced_subscriber(), || {
                for _ in 0..spans {
                    black_box(tracing_fns::sync(black_box(1)));
                }
            });
            guard.flush().expect("flush");
            drop(guard);
            (exporter.exported(), spans - exporter.exported())
        },
    );
    run(
        &mut rows,
        &only,
        spans,
        "tracing #[instrument] filtered out by traced's layer",
        |spans| {
            let guard = init_recording(CountingExporter::default());
            tracing::subscriber::with_default(traced_subscriber(), || {
                tracing::callsite::rebuild_interest_cache();
                for _ in 0..spans {
                    black_box(tracing_fns::debug(black_box(1)));
                }
            });
            drop(guard);
            (0, 0)
        },
    );

    run(
        &mut rows,
        &only,
        spans,
        "fastrace #[trace] (roots of 1 024)",
        |spans| {
            fastrace_rows(spans, &|| {
                black_box(fastrace_fns::sync(black_box(1)));
            })
        },
    );
    run(
        &mut rows,
        &only,
        spans,
        "fastrace #[trace] 3 attributes (roots of 1 024)",
        |spans| {
            fastrace_rows(spans, &|| {
                black_box(fastrace_fns::attrs(
                    black_box(1),
                    black_box("name"),
                    black_box(true),
                ));
            })
        },
    );
    run(
        &mut rows,
        &only,
        spans,
        "fastrace #[trace] 3 literal attributes (roots of 1 024)",
        |spans| {
            fastrace_rows(spans, &|| {
                black_box(fastrace_fns::literals(black_box(1)));
            })
        },
    );

    println!("{spans} spans on one thread; wall includes the final flush");
    println!(
        "{:<66} {:>12} {:>12} {:>14} {:>10} {:>8}",
        "pipeline", "wall ns/span", "CPU ns/span", "of it calling", "delivered", "dropped"
    );
    for (name, m) in rows {
        let per_span = |d: Duration| d.as_nanos() as f64 / spans as f64;
        println!(
            "{:<66} {:>12.0} {:>12.0} {:>14.0} {:>10} {:>8}",
            name,
            per_span(m.wall),
            per_span(m.cpu),
            per_span(m.calling_thread),
            m.delivered,
            m.dropped
        );
    }
}

/// `spans` calls of `span` under fastrace roots of 1 024 (fastrace records
/// only under a root); the roots are not counted as delivered.
fn fastrace_rows(spans: u64, span: &dyn Fn()) -> (u64, u64) {
    let reporter = CountingReporter::default();
    fastrace::set_reporter(reporter.clone(), fastrace::collector::Config::default());
    let mut left = spans;
    let mut roots = 0;
    while left > 0 {
        let n = left.min(1024);
        let root = fastrace::Span::root("root", fastrace::collector::SpanContext::random());
        {
            let _parent = root.set_local_parent();
            for _ in 0..n {
                span();
            }
        }
        drop(root);
        roots += 1;
        left -= n;
    }
    fastrace::flush();
    let reported = reporter.reported().saturating_sub(roots);
    (reported, spans - reported.min(spans))
}
