//! End-to-end: `#[traced]` spans from 2 threads through the pipeline
//! `traced::init()` installs (the SDK batch processor) and the OTLP
//! HTTP/protobuf exporter to a real collector; prints delivered spans per
//! second and the drop rate. With `--stalled`, the "collector" accepts
//! connections and never answers, and the resident memory before and after
//! shows the queue bound holding.
//!
//! `cargo run --release -p traced-benches --bin throughput -- ENDPOINT [SPANS_PER_THREAD] [QUEUE] [RATE_PER_THREAD]`
//!
//! Without a rate each thread makes spans as fast as it can (a burst); with
//! one it paces itself to that many spans per second.
//! `cargo run --release -p traced-benches --bin throughput -- --stalled [SPANS_PER_THREAD] [QUEUE]`

use std::hint::black_box;
use std::io::Read;
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Sampler, SpanData, SpanExporter};
use traced_benches::{batch_provider, traced_fns};

/// Counts the spans handed to the exporter and those the collector
/// acknowledged; the batch processor keeps no count of its own drops.
#[derive(Debug)]
struct Acknowledged<E> {
    inner: E,
    handed: Arc<AtomicU64>,
    spans: Arc<AtomicU64>,
}

impl<E: SpanExporter> SpanExporter for Acknowledged<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let len = batch.len() as u64;
        self.handed.fetch_add(len, Ordering::Relaxed);
        self.inner.export(batch).await?;
        self.spans.fetch_add(len, Ordering::Relaxed);
        Ok(())
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

fn resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches(" kB").trim().parse().ok())
        .expect("VmRSS")
}

fn main() {
    let mut args = std::env::args().skip(1);
    let target = args.next().expect("ENDPOINT or --stalled");
    let per_thread: u64 = args
        .next()
        .map_or(500_000, |n| n.parse().expect("SPANS_PER_THREAD"));
    let queue: usize = args.next().map_or(65_536, |n| n.parse().expect("QUEUE"));
    let rate: Option<u64> = args.next().map(|n| n.parse().expect("RATE_PER_THREAD"));
    let stalled = target == "--stalled";
    let endpoint = if stalled {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let endpoint = format!(
            "http://{}/v1/traces",
            listener.local_addr().expect("address")
        );
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming().flatten() {
                let mut stream = stream;
                let mut buffer = [0u8; 4096];
                let _ = stream.read(&mut buffer);
                held.push(stream);
            }
        });
        endpoint
    } else {
        target
    };
    let acknowledged = Arc::new(AtomicU64::new(0));
    let handed = Arc::new(AtomicU64::new(0));
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(endpoint.clone())
        .with_timeout(Duration::from_secs(2))
        .with_headers(Default::default())
        .build()
        .expect("OTLP exporter");
    let exporter = Acknowledged {
        inner: exporter,
        handed: Arc::clone(&handed),
        spans: Arc::clone(&acknowledged),
    };
    let rss_before = resident_kib();
    let pipeline = batch_provider(exporter, Sampler::AlwaysOn, queue);
    opentelemetry::global::set_tracer_provider(pipeline.clone());
    let start = Instant::now();
    let threads: Vec<_> = (0..2)
        .map(|_| {
            std::thread::spawn(move || {
                let begun = Instant::now();
                for n in 0..per_thread {
                    black_box(traced_fns::sync(black_box(1)));
                    if let Some(rate) = rate.filter(|_| n % 1000 == 999) {
                        let due = Duration::from_secs_f64((n + 1) as f64 / rate as f64);
                        if let Some(ahead) = due.checked_sub(begun.elapsed()) {
                            std::thread::sleep(ahead);
                        }
                    }
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("span thread");
    }
    let produced = start.elapsed();
    let rss_after_burst = resident_kib();
    if !stalled {
        pipeline.force_flush().expect("flush");
    }
    let elapsed = start.elapsed();
    let total = 2 * per_thread;
    let delivered = acknowledged.load(Ordering::Relaxed);
    // After a flush every span not acknowledged was dropped; with the
    // collector stalled, what the exporter has not been handed is either
    // still queued (at most `queue`) or dropped.
    let dropped = if stalled {
        total.saturating_sub(handed.load(Ordering::Relaxed) + queue as u64)
    } else {
        total - delivered
    };
    let pace = rate.map_or_else(
        || "as fast as possible".to_owned(),
        |rate| format!("{rate} spans/s each"),
    );
    println!("endpoint {endpoint}, queue {queue}, 2 threads x {per_thread} spans, {pace}");
    println!(
        "produced in {:.3} s ({:.0} spans/s offered); delivered {delivered} in {:.3} s ({:.0} spans/s)",
        produced.as_secs_f64(),
        total as f64 / produced.as_secs_f64(),
        elapsed.as_secs_f64(),
        delivered as f64 / elapsed.as_secs_f64(),
    );
    let at_least = if stalled { "at least " } else { "" };
    println!(
        "dropped {at_least}{dropped} ({:.2} %); resident memory {rss_before} KiB before, {rss_after_burst} KiB after the burst",
        dropped as f64 * 100.0 / total as f64
    );
    if !stalled {
        opentelemetry::global::set_tracer_provider(
            opentelemetry::trace::noop::NoopTracerProvider::new(),
        );
        pipeline.shutdown().expect("shutdown");
    }
}
