//! A burst of `tracing::info!` lines inside one `#[traced]` function, sent
//! by the pipeline `traced::init()` installs to a real collector over OTLP,
//! the guard dropped right after: prints how many records were written and
//! delivered, how long delivery took, and the resident memory (before, and
//! at its peak).
//!
//! ```text
//! log_burst [--grpc] ENDPOINT LINES [PENDING_MIB]
//! ```

use std::time::Instant;

use traced::{Config, Protocol, ShutdownError};
use traced_benches::status_kib;

#[traced::traced]
fn burst(lines: u64) {
    for n in 0..lines {
        tracing::info!(n, "burst line");
    }
}

fn main() {
    let mut args = std::env::args().skip(1).peekable();
    let protocol = if args.next_if_eq("--grpc").is_some() {
        Protocol::Grpc
    } else {
        Protocol::HttpProtobuf
    };
    let endpoint = args.next().expect("ENDPOINT");
    let lines: u64 = args
        .next()
        .expect("LINES")
        .parse()
        .expect("LINES is a number");
    let pending_mib: usize = args
        .next()
        .map_or(64, |mib| mib.parse().expect("PENDING_MIB"));
    let rss_before = status_kib("VmRSS:");
    let guard = Config::new()
        .service_name("log-burst")
        .otlp_endpoint(endpoint.clone())
        .otlp_protocol(protocol)
        .max_pending_memory(pending_mib * 1024 * 1024)
        .init()
        .expect("init");
    let start = Instant::now();
    burst(lines);
    let written = start.elapsed();
    let report = match guard.shutdown() {
        Ok(()) => None,
        Err(ShutdownError::Undelivered(report)) => Some(report),
        Err(other) => panic!("shutting down: {other}"),
    };
    let elapsed = start.elapsed();
    let (emitted, exported) = match report.as_ref().and_then(|report| report.logs.as_ref()) {
        Some(logs) => (logs.emitted, logs.exported),
        None => (lines, lines),
    };
    println!("{endpoint} ({protocol:?}): {lines} lines in one span, {pending_mib} MiB bound");
    println!(
        "written in {:.3} s; {exported} of {emitted} records delivered {:.3} s after the first \
         line; resident memory {rss_before} KiB before, {} KiB at the peak",
        written.as_secs_f64(),
        elapsed.as_secs_f64(),
        status_kib("VmHWM:"),
    );
    if let Some(report) = report {
        println!("not delivered: {report}");
    }
}
