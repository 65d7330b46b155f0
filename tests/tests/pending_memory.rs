//! The pending-memory budget holds against spans with long attribute values:
//! values are cut to the value length limit as they are set, and what a
//! pending span holds is counted, text included. Measured with an allocator
//! that counts the bytes alive in the whole process, while an exporter that
//! never returns holds the export thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use traced::opentelemetry::KeyValue;
use traced::opentelemetry::trace::{Span as _, Tracer as _};
use traced::opentelemetry_sdk::error::OTelSdkResult;
use traced::opentelemetry_sdk::trace::{SpanData, SpanExporter};
use traced::traced;
use traced_tests::child::{in_child, rerun};

/// Bytes allocated and not yet freed, by every thread.
static LIVE: AtomicUsize = AtomicUsize::new(0);

struct LiveBytes;

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counter is an atomic, which never allocates.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for LiveBytes {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: LiveBytes = LiveBytes;

/// An exporter that holds the export thread until it is released.
#[derive(Clone, Debug, Default)]
struct Stalled {
    released: Arc<(Mutex<bool>, Condvar)>,
}

impl Stalled {
    fn release(&self) {
        *self.released.0.lock().unwrap() = true;
        self.released.1.notify_all();
    }
}

impl SpanExporter for Stalled {
    async fn export(&self, _batch: Vec<SpanData>) -> OTelSdkResult {
        let (released, changed) = &*self.released;
        let mut released = released.lock().unwrap();
        while !*released {
            released = changed.wait(released).unwrap();
        }
        Ok(())
    }
}

#[traced]
fn flood(#[attr] blob: &str) {}

const BUDGET: usize = 8 * 1024 * 1024;
const SPANS: usize = 60_000;

fn resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// 60 000 spans with a 16 KiB attribute each, from `#[traced]` and through
/// the OpenTelemetry API, under a 256-character value limit and an 8 MiB
/// budget, while the exporter is stalled: what waits for export stays
/// within the budget and one thread's lane of cut spans.
#[test]
fn repro_pending_spans_with_long_values_stay_within_the_memory_budget() {
    if !in_child() {
        let output = rerun(
            "repro_pending_spans_with_long_values_stay_within_the_memory_budget",
            &[],
        );
        eprint!("{}", String::from_utf8_lossy(&output.stderr));
        return;
    }
    let exporter = Stalled::default();
    let guard = traced::Config::new()
        .span_exporter(exporter.clone())
        .max_pending_memory(BUDGET)
        .max_attribute_value_length(256)
        .init()
        .expect("init");
    let blob = "x".repeat(16 * 1024);
    let tracer = traced::opentelemetry::global::tracer("flood");
    let before = LIVE.load(Ordering::Relaxed);
    let resident_before = resident_kib();
    for n in 0..SPANS {
        if n % 2 == 0 {
            flood(&blob);
        } else {
            let mut span = tracer.start("flood through the API");
            span.set_attribute(KeyValue::new("blob", blob.clone()));
        }
    }
    let held = LIVE.load(Ordering::Relaxed).saturating_sub(before);
    eprintln!(
        "{SPANS} spans with a 16 KiB value, exporter stalled, 8 MiB budget, value limit 256: \
         {:.1} MiB held, resident {:.1} -> {:.1} MiB",
        held as f64 / (1024.0 * 1024.0),
        resident_before as f64 / 1024.0,
        resident_kib() as f64 / 1024.0,
    );
    exporter.release();
    // The budget, the lane of the thread that made the spans (1 024 spans,
    // cut), and the batch the stalled exporter holds.
    let bound = BUDGET + 4 * 1024 * 1024;
    assert!(
        held <= bound,
        "{held} bytes held by pending spans, over the {bound} the budget allows"
    );
    drop(guard);
}
