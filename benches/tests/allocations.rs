//! Allocations per call on the calling thread, counted by a global allocator,
//! for every path, and frees of memory another thread allocated. The paths
//! that promise none are asserted, and the native pipeline's bound (two per
//! recorded span, each freed by the thread that allocated it, with three
//! literal or number attributes too; at most one more for a string
//! attribute); the rest are printed (`-- --nocapture`) for BENCHMARKS.md.
//!
//! A free counts as another thread's when a block made while traced calls
//! ran is freed by a thread other than the one that made it, or when a
//! traced call frees a block another thread made: what a span costs, not
//! what setting up a pipeline or flushing it costs (a flush hands messages
//! between threads by design).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

use opentelemetry::Context;
use opentelemetry::trace::{Span as _, Tracer as _};
use opentelemetry_sdk::trace::Sampler;
use traced_benches::{
    CountingExporter, CountingReporter, fastrace_fns, init_recording, init_tail_sampling,
    init_with_sampler, plain, ready, sdk_bare_provider, sdk_batch_provider, sdk_fns, traced_fns,
    traced_subscriber, tracing_fns, tracing_subscriber_for, uninstall, unsampled_parent,
};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
    /// This thread's tag, written in front of every block it allocates.
    static TAG: Cell<u64> = const { Cell::new(0) };
    /// Whether this thread is running measured calls.
    static IN_CALLS: Cell<bool> = const { Cell::new(false) };
}

/// In a block's tag: made while measured calls ran.
const MADE_IN_CALLS: u64 = 1 << 63;

fn in_calls() -> bool {
    IN_CALLS.try_with(Cell::get).unwrap_or(false)
}

static NEXT_TAG: AtomicU64 = AtomicU64::new(1);
/// Blocks freed by a thread other than the one that allocated them.
static FOREIGN_FREES: AtomicU64 = AtomicU64::new(0);

fn count() {
    let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
}

/// This thread's tag; 0 once its thread-locals are gone.
fn tag() -> u64 {
    TAG.try_with(|tag| {
        if tag.get() == 0 {
            tag.set(NEXT_TAG.fetch_add(1, Ordering::Relaxed));
        }
        tag.get()
    })
    .unwrap_or(0)
}

/// Room in front of a block for its allocating thread's tag, keeping the
/// block's alignment.
fn header(layout: Layout) -> usize {
    layout.align().max(size_of::<u64>())
}

fn with_header(layout: Layout) -> Layout {
    Layout::from_size_align(layout.size() + header(layout), layout.align().max(8))
        .expect("layout with a header")
}

// SAFETY: each block is the system allocator's, `header(layout)` bytes
// larger, with the allocating thread's tag in its first eight bytes; the
// pointer handed out is past the header, so every call below undoes exactly
// what the matching allocation did. The counters are const-initialised
// thread locals and atomics, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe {
            let block = System.alloc(with_header(layout));
            if block.is_null() {
                return block;
            }
            let made_in_calls = if in_calls() { MADE_IN_CALLS } else { 0 };
            block.cast::<u64>().write(tag() | made_in_calls);
            block.add(header(layout))
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe {
            let block = ptr.sub(header(layout));
            let header = block.cast::<u64>().read();
            let owner = header & !MADE_IN_CALLS;
            let counted = header & MADE_IN_CALLS != 0 || in_calls();
            if counted && owner != 0 && owner != tag() {
                FOREIGN_FREES.fetch_add(1, Ordering::Relaxed);
            }
            System.dealloc(block, with_header(layout));
        }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const CALLS: u64 = 1000;

/// Allocations per call of `f`, after a first call that fills caches.
fn per_call(mut f: impl FnMut()) -> f64 {
    f();
    let before = ALLOCATIONS.with(Cell::get);
    for _ in 0..CALLS {
        f();
    }
    (ALLOCATIONS.with(Cell::get) - before) as f64 / CALLS as f64
}

/// Calls of a recorded path between two flushes: fewer than the extras
/// [`circulate_extras`] puts in this thread's pool.
const CHUNK: u64 = 50;

/// Allocations per call of a recorded path in steady state: `CALLS` calls
/// in chunks, each followed by a flush (not counted) that brings every extra
/// back. Counted this way, the figure does not depend on how soon the export
/// thread runs: a thread that outruns it makes a new extra for each span
/// whose predecessor has not come back yet, and its lane spills.
fn per_recorded_call(guard: &traced::TracingGuard, f: &dyn Fn()) -> f64 {
    let mut allocations = 0;
    for _ in 0..CALLS / CHUNK {
        let before = ALLOCATIONS.with(Cell::get);
        IN_CALLS.with(|flag| flag.set(true));
        for _ in 0..CHUNK {
            f();
        }
        IN_CALLS.with(|flag| flag.set(false));
        allocations += ALLOCATIONS.with(Cell::get) - before;
        guard.flush().unwrap();
    }
    allocations as f64 / CALLS as f64
}

/// Gives this thread more extras than a chunk uses, by holding that many
/// spans with an attribute open at once.
fn circulate_extras(guard: &traced::TracingGuard) {
    let tracer = opentelemetry::global::tracer("allocations");
    let spans: Vec<_> = (0..=CHUNK)
        .map(|_| {
            let mut span = tracer.start("warm-up");
            span.set_attribute(opentelemetry::KeyValue::new("warm", true));
            span
        })
        .collect();
    drop(spans);
    guard.flush().unwrap();
}

struct Table(Vec<(String, f64)>);

impl Table {
    fn row(&mut self, path: &str, allocations: f64) -> f64 {
        self.0.push((path.to_owned(), allocations));
        allocations
    }
}

/// One test: every step installs its own process-wide provider.
#[test]
fn allocations_per_call() {
    let mut table = Table(Vec::new());
    let traced_sync = || {
        black_box(traced_fns::sync(black_box(1)));
    };
    let traced_async = || {
        black_box(ready(traced_fns::run(black_box(1))));
    };
    let traced_attrs = || {
        black_box(traced_fns::attrs(
            black_box(1),
            black_box("name"),
            black_box(true),
        ));
    };
    let traced_literals = || {
        black_box(traced_fns::literals(black_box(1)));
    };
    let traced_numbers = || {
        black_box(traced_fns::numbers(
            black_box(1),
            black_box(0.5),
            black_box(true),
        ));
    };

    uninstall();
    table.row(
        "baseline/sync",
        per_call(|| {
            black_box(plain::sync(black_box(1)));
        }),
    );
    let nothing = table.row("nothing installed: traced/sync", per_call(traced_sync));
    let nothing_async = table.row("nothing installed: traced/async", per_call(traced_async));
    let tracer = sdk_fns::tracer();
    table.row(
        "nothing installed: sdk/sync",
        per_call(|| {
            black_box(sdk_fns::sync(&tracer, 1));
        }),
    );
    table.row(
        "nothing installed: tracing/sync",
        per_call(|| {
            black_box(tracing_fns::sync(1));
        }),
    );
    table.row(
        "nothing installed: fastrace/sync",
        per_call(|| {
            black_box(fastrace_fns::sync(1));
        }),
    );

    // SAFETY: this test is the only thread of this binary reading the environment.
    unsafe { std::env::set_var("OTEL_SDK_DISABLED", "true") };
    let guard = traced::init().unwrap();
    unsafe { std::env::remove_var("OTEL_SDK_DISABLED") };
    let disabled = table.row("OTEL_SDK_DISABLED: traced/sync", per_call(traced_sync));
    drop(guard);

    // `traced::init()`'s own provider, parent-based: what a service gets.
    let guard = init_with_sampler(Sampler::ParentBased(Box::new(Sampler::AlwaysOn)));
    let suppressed = {
        let _quiet = Context::current().with_telemetry_suppressed().attach();
        table.row("suppressed: traced/sync", per_call(traced_sync))
    };
    let (unsampled, unsampled_async) = {
        let _parent = unsampled_parent().attach();
        (
            table.row("parent not sampled: traced/sync", per_call(traced_sync)),
            table.row("parent not sampled: traced/async", per_call(traced_async)),
        )
    };
    drop(guard);

    let guard = init_with_sampler(Sampler::TraceIdRatioBased(0.0));
    table.row("ratio says no (root): traced/sync", per_call(traced_sync));
    drop(guard);

    // The pipeline `traced::init()` installs: the native one, and the same
    // with tail sampling (decided on the export thread). Frees of memory
    // another thread allocated are counted over the calls and the flush that
    // exports them.
    let native = |table: &mut Table, guard: &traced::TracingGuard, path: &str, f: &dyn Fn()| {
        circulate_extras(guard);
        // A first pass at this pace, not counted: the thread's queue grows
        // to the size the pace needs (two rings, once), and stays.
        per_recorded_call(guard, f);
        let frees = FOREIGN_FREES.load(Ordering::Relaxed);
        let allocations = table.row(path, per_recorded_call(guard, f));
        guard.flush().unwrap();
        let foreign = FOREIGN_FREES.load(Ordering::Relaxed) - frees;
        table.row(
            &format!("{path}, freed elsewhere"),
            foreign as f64 / CALLS as f64,
        );
        (allocations, foreign)
    };
    let mut measured = Vec::new();
    for tail_ratio in [None, Some(0.01)] {
        let (pipeline, guard) = match tail_ratio {
            None => ("native", init_recording(CountingExporter::default())),
            Some(ratio) => (
                "native, tail sampling",
                init_tail_sampling(CountingExporter::default(), ratio),
            ),
        };
        for (name, shape, f) in [
            ("traced/sync", "sync", &traced_sync as &dyn Fn()),
            ("traced/async", "async", &traced_async),
            ("traced/attrs3", "three attributes", &traced_attrs),
            (
                "traced/literals3",
                "three literal attributes",
                &traced_literals,
            ),
            (
                "traced/numbers3",
                "three number attributes",
                &traced_numbers,
            ),
        ] {
            let path = format!("recorded ({pipeline}): {name}");
            measured.push((path.clone(), shape, native(&mut table, &guard, &path, f)));
        }
        drop(guard);
    }
    {
        // The same `#[instrument]` function as the tracing rows, recorded by
        // traced's `tracing` layer into the native pipeline.
        let guard = init_recording(CountingExporter::default());
        tracing::subscriber::with_default(traced_subscriber(), || {
            let path = "recorded (native): traced-layer/sync";
            native(&mut table, &guard, path, &|| {
                black_box(tracing_fns::sync(1));
            });
            table.row(
                "filtered out by traced's layer: tracing/debug",
                per_call(|| {
                    black_box(tracing_fns::debug(1));
                }),
            );
        });
        drop(guard);
    }

    // The same over an SDK provider the application installed itself.
    let pipeline = sdk_batch_provider(
        CountingExporter::default(),
        Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
    );
    opentelemetry::global::set_tracer_provider(pipeline.clone());
    table.row(
        "user SDK batch provider: traced/sync",
        per_call(traced_sync),
    );
    table.row(
        "user SDK batch provider: traced/async",
        per_call(traced_async),
    );
    table.row(
        "user SDK batch provider: traced/attrs3",
        per_call(traced_attrs),
    );
    table.row(
        "user SDK batch provider: traced/literals3",
        per_call(traced_literals),
    );
    uninstall();
    pipeline.shutdown().unwrap();

    opentelemetry::global::set_tracer_provider(sdk_bare_provider(Sampler::AlwaysOn));
    let tracer = sdk_fns::tracer();
    table.row("user SDK provider: traced/sync", per_call(traced_sync));
    table.row(
        "user SDK provider: sdk/sync",
        per_call(|| {
            black_box(sdk_fns::sync(&tracer, 1));
        }),
    );
    uninstall();

    let provider = sdk_batch_provider(CountingExporter::default(), Sampler::AlwaysOn);
    opentelemetry::global::set_tracer_provider(provider.clone());
    let tracer = sdk_fns::tracer();
    table.row(
        "recorded (SDK batch): sdk/sync",
        per_call(|| {
            black_box(sdk_fns::sync(&tracer, 1));
        }),
    );
    table.row(
        "recorded (SDK batch): sdk/attrs3",
        per_call(|| {
            black_box(sdk_fns::attrs(&tracer, 1, "name", true));
        }),
    );
    table.row(
        "recorded (SDK batch): sdk/literals3",
        per_call(|| {
            black_box(sdk_fns::literals(&tracer, 1));
        }),
    );
    uninstall();
    tracing::subscriber::with_default(tracing_subscriber_for(&provider), || {
        table.row(
            "recorded (SDK batch): tracing/sync",
            per_call(|| {
                black_box(tracing_fns::sync(1));
            }),
        );
        table.row(
            "recorded (SDK batch): tracing/attrs3",
            per_call(|| {
                black_box(tracing_fns::attrs(1, "name", true));
            }),
        );
    });
    let _ = provider.shutdown();

    fastrace::set_reporter(
        CountingReporter::default(),
        fastrace::collector::Config::default(),
    );
    {
        let root = fastrace::Span::root("root", fastrace::collector::SpanContext::random());
        let _parent = root.set_local_parent();
        table.row(
            "recorded (in a root): fastrace/sync",
            per_call(|| {
                black_box(fastrace_fns::sync(1));
            }),
        );
        table.row(
            "recorded (in a root): fastrace/attrs3",
            per_call(|| {
                black_box(fastrace_fns::attrs(1, "name", true));
            }),
        );
        table.row(
            "recorded (in a root): fastrace/literals3",
            per_call(|| {
                black_box(fastrace_fns::literals(1));
            }),
        );
    }
    fastrace::flush();

    for (path, allocations) in &table.0 {
        println!("{path:<45} {allocations:>6.2}");
    }
    assert_eq!(nothing, 0.0, "nothing installed allocates");
    assert_eq!(nothing_async, 0.0, "nothing installed allocates (async)");
    assert_eq!(disabled, 0.0, "OTEL_SDK_DISABLED allocates");
    assert_eq!(suppressed, 0.0, "suppressed allocates");
    assert_eq!(unsampled, 0.0, "a child of an unsampled parent allocates");
    assert_eq!(
        unsampled_async, 0.0,
        "a child of an unsampled parent allocates (async)"
    );
    for (path, shape, (allocations, foreign_frees)) in measured {
        // The span in the context (a box and the context's Arc). Literal
        // attributes are the call site's and numbers are held in the span:
        // nothing more. A string is copied into the span's pooled details,
        // which come back to this thread after export: at most one more.
        let bound = if shape == "three attributes" {
            3.0
        } else {
            2.0
        };
        assert!(
            allocations <= bound,
            "a recorded span ({path}) allocates {allocations} times"
        );
        assert_eq!(
            foreign_frees, 0,
            "a recorded span ({path}) has memory freed by another thread"
        );
    }
}
