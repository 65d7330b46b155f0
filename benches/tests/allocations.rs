//! Allocations per call on the calling thread, counted by a global allocator,
//! for every path. The paths that promise none are asserted; the rest are
//! printed (`-- --nocapture`) for BENCHMARKS.md.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;

use opentelemetry::Context;
use opentelemetry_sdk::trace::Sampler;
use traced_benches::{
    CountingExporter, CountingReporter, fastrace_fns, init_with_sampler, plain, ready,
    sdk_bare_provider, sdk_batch_provider, sdk_fns, traced_fns, tracing_fns,
    tracing_subscriber_for, uninstall, unsampled_parent,
};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count() {
    let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
}

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counter is a const-initialised thread local, which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
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

    // The pipeline `traced::init()` installs: the SDK batch processor.
    let pipeline = sdk_batch_provider(
        CountingExporter::default(),
        Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
    );
    opentelemetry::global::set_tracer_provider(pipeline.clone());
    table.row("recorded (SDK batch): traced/sync", per_call(traced_sync));
    table.row("recorded (SDK batch): traced/async", per_call(traced_async));
    table.row(
        "recorded (SDK batch): traced/attrs3",
        per_call(traced_attrs),
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
}
