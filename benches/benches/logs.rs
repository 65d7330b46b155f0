//! A `tracing::info!` inside a recorded `#[traced]` span: turned into an
//! OpenTelemetry log record of that span by traced's bridge (the pipeline
//! `traced::init()` installs: severity threshold, the export thread's log
//! queue, OTLP exporter), beside the same event formatted by
//! tracing-subscriber's fmt layer alone, and beside the span with no event.
//! See BENCHMARKS.md.

use std::hint::black_box;
use std::time::Duration;

use criterion::Criterion;
use tracing_subscriber::layer::SubscriberExt as _;

#[traced::traced]
fn quiet(x: u64) -> u64 {
    black_box(x).wrapping_mul(31)
}

#[traced::traced]
fn logging(x: u64) -> u64 {
    tracing::info!(x, "reserved one lamp");
    black_box(x).wrapping_mul(31)
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
        .configure_from_args();
    // Spans recorded and dropped; log records batched and sent over OTLP to
    // a port nobody listens on: the calling thread does all it would do with
    // a collector, and the export thread fails fast.
    let dead_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let guard = traced::Config::new()
        .exporter(traced::Exporter::None)
        .logs_exporter(traced::Exporter::Otlp)
        .otlp_endpoint(format!("http://127.0.0.1:{dead_port}"))
        .logs_max_queue_size(1 << 16)
        .logs_max_export_batch_size(4096)
        .logs_schedule_delay(Duration::from_millis(100))
        .init()
        .expect("init");
    let mut group = c.benchmark_group("log_in_recorded_span");
    group.bench_function("span, no event", |b| b.iter(|| quiet(black_box(7))));
    let bridge = tracing_subscriber::registry().with(traced::tracing_layer());
    tracing::subscriber::with_default(bridge, || {
        group.bench_function("info! -> traced logs (OpenTelemetry record)", |b| {
            b.iter(|| logging(black_box(7)));
        });
    });
    let fmt = tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::sink));
    tracing::subscriber::with_default(fmt, || {
        group.bench_function("info! -> tracing-subscriber fmt layer alone", |b| {
            b.iter(|| logging(black_box(7)));
        });
    });
    group.finish();
    drop(guard);
    c.final_summary();
}
