//! What bounds a span from below: a clock read, ids, the context operations
//! every span needs, one allocation.

use std::cell::Cell;
use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime};

use criterion::Criterion;
use opentelemetry::Context;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator};

thread_local! {
    static COUNTER: Cell<u64> = const { Cell::new(0) };
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
        .configure_from_args();
    let mut group = c.benchmark_group("floors");
    group.bench_function("SystemTime::now", |b| b.iter(SystemTime::now));
    group.bench_function("Instant::now", |b| b.iter(Instant::now));
    let ids = RandomIdGenerator::default();
    group.bench_function("otel span id", |b| b.iter(|| ids.new_span_id()));
    group.bench_function("otel trace id", |b| b.iter(|| ids.new_trace_id()));
    group.bench_function("Context::current", |b| b.iter(Context::current));
    let cx = Context::current();
    group.bench_function("Context attach+detach", |b| {
        b.iter(|| drop(black_box(cx.clone().attach())))
    });
    let with_span = Context::new().with_remote_span_context(SpanContext::new(
        TraceId::from(1_u128),
        SpanId::from(1_u64),
        TraceFlags::SAMPLED,
        true,
        TraceState::NONE,
    ));
    group.bench_function("Context with a span: clone+drop", |b| {
        b.iter(|| drop(black_box(with_span.clone())))
    });
    group.bench_function("Context with a span: clone+attach+detach", |b| {
        b.iter(|| drop(black_box(with_span.clone().attach())))
    });
    group.bench_function("Box alloc+free", |b| {
        b.iter(|| drop(black_box(Box::new(black_box(1u64)))))
    });
    group.bench_function("thread-local increment", |b| {
        b.iter(|| COUNTER.with(|counter| counter.set(black_box(counter.get() + 1))))
    });
    group.finish();
    c.final_summary();
}
