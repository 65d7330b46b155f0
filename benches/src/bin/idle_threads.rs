//! Resident memory of a process whose threads each made spans and then
//! went idle: what the native pipeline keeps per thread.
//!
//! ```text
//! idle_threads THREADS SPANS_PER_THREAD on|off [PENDING_MIB]
//! ```
//!
//! With `on`, `traced::init()` records every span (an exporter that counts
//! and drops, at most `PENDING_MIB` of pending spans, default 64); with
//! `off`, nothing is installed and the same `#[traced]` calls make no span.
//! The threads make their spans together, wait until all are done, the
//! pipeline is flushed, and the resident set is read while they all sit
//! idle; it prints the growth from before the threads started.

use std::hint::black_box;
use std::sync::{Arc, Barrier};

use traced_benches::{CountingExporter, traced_fns};

fn resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches(" kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status")
}

fn number(arg: Option<String>, name: &str) -> u64 {
    arg.unwrap_or_else(|| panic!("{name} is missing"))
        .parse()
        .unwrap_or_else(|_| panic!("{name} is a number"))
}

fn main() {
    let mut args = std::env::args().skip(1);
    let threads = number(args.next(), "THREADS") as usize;
    let spans = number(args.next(), "SPANS_PER_THREAD");
    let on = match args.next().as_deref() {
        Some("on") => true,
        Some("off") => false,
        _ => panic!("on or off"),
    };
    let pending_mib = args
        .next()
        .map_or(64, |mib| number(Some(mib), "PENDING_MIB"));
    let exporter = CountingExporter::default();
    let guard = on.then(|| {
        traced::Config::new()
            .span_exporter(exporter.clone())
            .max_pending_memory(pending_mib as usize * 1024 * 1024)
            .init()
            .expect("init")
    });
    let before = resident_kib();
    let done = Arc::new(Barrier::new(threads + 1));
    let leave = Arc::new(Barrier::new(threads + 1));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (done, leave) = (Arc::clone(&done), Arc::clone(&leave));
            std::thread::Builder::new()
                .stack_size(64 * 1024)
                .spawn(move || {
                    for n in 0..spans {
                        black_box(traced_fns::sync(black_box(n)));
                    }
                    done.wait();
                    leave.wait();
                })
                .expect("spawning a thread")
        })
        .collect();
    done.wait();
    if let Some(guard) = &guard {
        guard.flush().expect("flushed");
    }
    let idle = resident_kib();
    leave.wait();
    for handle in handles {
        handle.join().expect("a thread");
    }
    drop(guard);
    println!(
        "{threads} threads x {spans} spans, tracing {}{}: {:.1} MiB more while idle \
         ({before} -> {idle} KiB){}",
        if on { "on" } else { "off" },
        if on {
            format!(", {pending_mib} MiB pending budget")
        } else {
            String::new()
        },
        (idle.saturating_sub(before)) as f64 / 1024.0,
        if on {
            format!(", {} spans exported", exporter.exported())
        } else {
            String::new()
        }
    );
}
