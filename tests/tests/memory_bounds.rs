//! What the native pipeline keeps in memory over a process's life, read from
//! the resident set of a child process of its own: threads that ended spans
//! and went idle, and `init()` and drop repeated.

use std::sync::{Arc, Barrier};

use traced::opentelemetry_sdk::error::OTelSdkResult;
use traced::opentelemetry_sdk::trace::{SpanData, SpanExporter};
use traced::traced;
use traced_tests::child::{in_child, rerun};

/// Takes every span and keeps none.
#[derive(Debug)]
struct Discard;

impl SpanExporter for Discard {
    async fn export(&self, _batch: Vec<SpanData>) -> OTelSdkResult {
        Ok(())
    }
}

#[traced]
fn unit_of_work(n: u64) -> u64 {
    n + 1
}

/// This process's resident memory, in bytes (`VmRSS`).
fn resident() -> i64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kib: i64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status");
    kib * 1024
}

const MIB: i64 = 1024 * 1024;

/// How much more the process holds while `threads` threads, each having made
/// `spans` traced calls, wait idle; `settle` runs once they are all done,
/// before the measurement.
fn held_by_idle_threads(threads: usize, spans: u64, settle: impl FnOnce()) -> i64 {
    let before = resident();
    let done = Arc::new(Barrier::new(threads + 1));
    let leave = Arc::new(Barrier::new(threads + 1));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (done, leave) = (Arc::clone(&done), Arc::clone(&leave));
            std::thread::Builder::new()
                .stack_size(64 * 1024)
                .spawn(move || {
                    for n in 0..spans {
                        std::hint::black_box(unit_of_work(n));
                    }
                    done.wait();
                    leave.wait();
                })
                .expect("spawning a thread")
        })
        .collect();
    done.wait();
    settle();
    let held = resident() - before;
    leave.wait();
    for handle in handles {
        handle.join().unwrap();
    }
    held
}

/// A thousand threads that each ended 4 000 spans and went idle hold little
/// more with tracing on than with it off, even under a small pending-memory
/// budget: a thread's own queue starts small and grows only within the
/// budget.
#[test]
fn repro_idle_threads_hold_little_once_their_spans_are_exported() {
    if !in_child() {
        rerun(
            "repro_idle_threads_hold_little_once_their_spans_are_exported",
            &[],
        );
        return;
    }
    const THREADS: usize = 1000;
    const SPANS: u64 = 4000;
    let off = held_by_idle_threads(THREADS, SPANS, || {});
    let guard = traced::Config::new()
        .span_exporter(Discard)
        .max_pending_memory(1024 * 1024)
        .init()
        .expect("init");
    let on = held_by_idle_threads(THREADS, SPANS, || {
        guard.flush().expect("flushed");
    });
    eprintln!(
        "{THREADS} idle threads after {SPANS} spans each: {:.1} MiB with tracing off, {:.1} MiB on",
        off as f64 / MIB as f64,
        on as f64 / MIB as f64
    );
    // 16 KiB a thread, a tenth of what a full-size queue took.
    assert!(
        on - off < 16 * MIB,
        "tracing on holds {} MiB more",
        (on - off) / MIB
    );
    drop(guard);
}

/// `init()` and drop, 300 times, each time with a burst of spans from this
/// thread and from a thread that then exits (enough for their queues to
/// grow to their largest): what each set-up took is given back.
#[test]
fn repro_init_and_drop_repeated_return_their_memory() {
    if !in_child() {
        rerun("repro_init_and_drop_repeated_return_their_memory", &[]);
        return;
    }
    let cycle = || {
        let guard = traced::Config::new()
            .span_exporter(Discard)
            .init()
            .expect("init");
        for n in 0..10_000 {
            std::hint::black_box(unit_of_work(n));
        }
        std::thread::spawn(|| {
            for n in 0..10_000 {
                std::hint::black_box(unit_of_work(n));
            }
        })
        .join()
        .unwrap();
        drop(guard);
    };
    for _ in 0..30 {
        cycle();
    }
    let warm = resident();
    for _ in 0..300 {
        cycle();
    }
    let grown = resident() - warm;
    eprintln!(
        "300 more init/drop cycles: {:+.1} MiB",
        grown as f64 / MIB as f64
    );
    assert!(grown < 8 * MIB, "{} MiB kept", grown / MIB);
}
