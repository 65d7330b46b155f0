//! End to end: `#[traced]` spans from several threads through the pipeline
//! `traced::init()` installs and its OTLP exporter to a real collector.
//! Prints spans offered and delivered per second, what was dropped, and the
//! resident memory (before, and at its peak).
//!
//! ```text
//! throughput [--grpc] [--concurrent N] ENDPOINT THREADS SPANS_PER_THREAD [RATE_PER_THREAD]
//! throughput [--grpc] [--concurrent N] --burst ENDPOINT THREADS SPANS_PER_THREAD
//! throughput --stalled THREADS SPANS_PER_THREAD PENDING_MIB
//! ```
//!
//! OTLP over HTTP/protobuf, or over gRPC with `--grpc`; `--concurrent N`
//! allows N exports in flight (else `OTEL_BSP_MAX_CONCURRENT_EXPORTS`, else
//! traced's default).
//!
//! Without a rate each thread makes spans as fast as it can; with one it
//! paces itself to that many spans per second. `--burst` drops the guard as
//! soon as the threads are done, as a program that ends right after a burst
//! would, and checks that every span arrived. `--stalled` sends to a
//! "collector" that accepts connections and never answers, with at most
//! `PENDING_MIB` of finished spans waiting: memory stays under that bound
//! and what does not fit is dropped and counted.

use std::hint::black_box;
use std::io::Read;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use traced::{Config, Exporter, Protocol, ShutdownError};
use traced_benches::{status_kib, traced_fns};

/// A "collector" that takes connections and never answers.
fn stalled_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("address"));
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for mut stream in listener.incoming().flatten() {
            let mut buffer = [0u8; 4096];
            let _ = stream.read(&mut buffer);
            held.push(stream);
        }
    });
    endpoint
}

fn number(arg: Option<String>, name: &str) -> u64 {
    arg.unwrap_or_else(|| panic!("{name} is missing"))
        .parse()
        .unwrap_or_else(|_| panic!("{name} is a number"))
}

fn main() {
    let mut args = std::env::args().skip(1).peekable();
    let protocol = if args.next_if_eq("--grpc").is_some() {
        Protocol::Grpc
    } else {
        Protocol::HttpProtobuf
    };
    let concurrent = args
        .next_if_eq("--concurrent")
        .map(|_| number(args.next(), "N"));
    let first = args.next().expect("ENDPOINT, --burst or --stalled");
    let (mode, endpoint) = match first.as_str() {
        "--stalled" => ("stalled", stalled_endpoint()),
        "--burst" => ("burst", args.next().expect("ENDPOINT")),
        _ => ("paced", first),
    };
    let threads = number(args.next(), "THREADS");
    let per_thread = number(args.next(), "SPANS_PER_THREAD");
    let last = args.next();
    let (rate, pending_mib) = match mode {
        "stalled" => (None, number(last, "PENDING_MIB")),
        _ => (last.map(|rate| number(Some(rate), "RATE_PER_THREAD")), 64),
    };
    let rss_before = status_kib("VmRSS:");
    let mut config = Config::new();
    if let Some(exports) = concurrent {
        config = config.max_concurrent_exports(usize::try_from(exports).expect("N"));
    }
    let guard = config
        .service_name("throughput")
        .exporter(Exporter::Otlp)
        .otlp_endpoint(endpoint.clone())
        .otlp_protocol(protocol)
        .otlp_timeout(Duration::from_secs(2))
        .max_pending_memory(usize::try_from(pending_mib).expect("PENDING_MIB") * 1024 * 1024)
        .shutdown_timeout(Duration::from_secs(if mode == "stalled" { 1 } else { 120 }))
        .init()
        .expect("init");
    let start = Instant::now();
    let workers: Vec<_> = (0..threads)
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
    for worker in workers {
        worker.join().expect("span thread");
    }
    let produced = start.elapsed();
    let total = threads * per_thread;
    // (ended, exported, dropped, failed)
    let report = match mode {
        "paced" => {
            guard.flush().expect("flush");
            let report = guard.delivery().expect("OTLP reports delivery");
            drop(guard);
            (report.ended, report.exported, report.dropped, report.failed)
        }
        _ => match guard.shutdown() {
            Ok(()) => (total, total, 0, 0),
            Err(ShutdownError::Undelivered(report)) => {
                (report.ended, report.exported, report.dropped, report.failed)
            }
            Err(other) => panic!("shutting down: {other}"),
        },
    };
    let (ended, exported, dropped, failed) = report;
    let elapsed = start.elapsed();
    let pace = rate.map_or_else(
        || "as fast as possible".to_owned(),
        |rate| format!("{rate} spans/s each"),
    );
    let exports = concurrent.map_or_else(|| "default".to_owned(), |n| n.to_string());
    println!(
        "{mode}: {endpoint}, {threads} threads x {per_thread} spans, {pace}, exports in flight: \
         {exports}"
    );
    println!(
        "produced in {:.3} s ({:.0} spans/s offered); delivered {} in {:.3} s ({:.0} spans/s)",
        produced.as_secs_f64(),
        total as f64 / produced.as_secs_f64(),
        exported,
        elapsed.as_secs_f64(),
        exported as f64 / elapsed.as_secs_f64(),
    );
    let lost = ended - exported;
    println!(
        "not delivered {lost} ({:.2} %: {} dropped, {} in failed exports); resident memory {rss_before} KiB before, {} KiB at the peak",
        lost as f64 * 100.0 / total as f64,
        dropped,
        failed,
        status_kib("VmHWM:"),
    );
    assert_eq!(ended, total, "every span that ended is counted");
    if mode == "burst" {
        assert_eq!(exported, total, "a burst is delivered whole");
    }
}
