//! How a traced call ended: `Ok`, `Err` of any `Result` alias, early return,
//! `?`, and panics, observed on real spans.

use std::panic::{AssertUnwindSafe, catch_unwind};

use traced::opentelemetry::trace::{
    SpanContext, SpanId, Status, TraceContextExt, TraceFlags, TraceId, TraceState, Tracer as _,
};
use traced::opentelemetry::{Context, ContextGuard, Value};
use traced::testing::{capture, capture_async};
use traced::traced;
use traced_tests::{attribute, error_message, events, find, text};

#[derive(Debug, thiserror::Error)]
#[error("cart {0} not found")]
struct NotFound(u64);

/// A crate's own alias, as many crates write it.
type Result<T, E = NotFound> = std::result::Result<T, E>;

#[traced]
fn own_alias(id: u64) -> Result<u64> {
    if id == 0 {
        return Err(NotFound(id));
    }
    Ok(id)
}

#[traced]
fn io_alias() -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::NotFound,
        "no such file",
    ))
}

#[traced]
fn anyhow_alias() -> anyhow::Result<()> {
    let number: i32 = "x".parse()?;
    let _ = number;
    Ok(())
}

#[traced]
fn ok_value() -> std::result::Result<u8, String> {
    Ok(1)
}

#[test]
fn err_of_any_result_alias_marks_the_span() {
    let ((), trace) = capture(|| {
        own_alias(0).unwrap_err();
        io_alias().unwrap_err();
        anyhow_alias().unwrap_err();
    });
    let cases = [
        (
            "own_alias",
            "cart 0 not found",
            "function_outcomes::NotFound",
        ),
        ("io_alias", "no such file", "std::io::error::Error"),
        (
            "anyhow_alias",
            "invalid digit found in string",
            "anyhow::Error",
        ),
    ];
    for (name, message, type_name) in cases {
        let span = trace.span(name);
        assert_eq!(error_message(span), message, "{name}");
        assert_eq!(text(span, "error.type"), type_name, "{name}");
        let exceptions = events(span, "exception");
        assert_eq!(exceptions.len(), 1, "{name}");
        let event = &exceptions[0].attributes;
        assert_eq!(
            find(event, "exception.type"),
            Some(&Value::String(type_name.into()))
        );
        assert_eq!(
            find(event, "exception.message"),
            Some(&Value::String(message.into()))
        );
    }
}

#[test]
fn ok_leaves_status_unset() {
    let (_, trace) = capture(|| {
        ok_value().unwrap();
        own_alias(3).unwrap();
    });
    for name in ["ok_value", "own_alias"] {
        let span = trace.span(name);
        assert_eq!(span.status, Status::Unset, "{name}");
        assert!(events(span, "exception").is_empty(), "{name}");
        assert_eq!(attribute(span, "error.type"), None, "{name}");
    }
}

#[traced]
fn early(flag: bool) -> std::result::Result<&'static str, String> {
    if flag {
        return Ok("early");
    }
    let value: u8 = "300"
        .parse()
        .map_err(|e: std::num::ParseIntError| e.to_string())?;
    Ok(if value > 0 { "late" } else { "zero" })
}

#[test]
fn early_return_and_question_mark() {
    let (results, trace) = capture(|| (early(true), early(false)));
    assert_eq!(results.0, Ok("early"));
    assert_eq!(
        results.1,
        Err("number too large to fit in target type".to_owned())
    );
    let spans: Vec<_> = trace.spans().iter().filter(|s| s.name == "early").collect();
    assert_eq!(spans.len(), 2);
    let errored = spans
        .iter()
        .filter(|s| matches!(s.status, Status::Error { .. }))
        .count();
    assert_eq!(errored, 1);
}

#[derive(Debug)]
struct DebugOnly;

#[traced]
fn debug_error() -> std::result::Result<(), DebugOnly> {
    Err(DebugOnly)
}

struct Opaque;

#[traced]
fn opaque_error() -> std::result::Result<(), Opaque> {
    Err(Opaque)
}

#[test]
fn errors_without_display_still_mark_the_span() {
    let ((), trace) = capture(|| {
        let _ = debug_error();
        let _ = opaque_error();
    });
    assert_eq!(error_message(trace.span("debug_error")), "DebugOnly");
    assert_eq!(
        error_message(trace.span("opaque_error")),
        "function_outcomes::Opaque"
    );
}

#[traced]
fn boom(message: &str) {
    panic!("{message}");
}

#[test]
fn a_panic_is_recorded_and_keeps_unwinding_unchanged() {
    let (payload, trace) = capture(|| catch_unwind(AssertUnwindSafe(|| boom("kaboom"))));
    let payload = payload.expect_err("the panic reaches the caller");
    assert_eq!(
        payload.downcast_ref::<String>().map(String::as_str),
        Some("kaboom")
    );
    let span = trace.span("boom");
    assert_eq!(error_message(span), "kaboom");
    let exception = events(span, "exception");
    assert_eq!(exception.len(), 1);
    assert_eq!(
        find(&exception[0].attributes, "exception.message"),
        Some(&Value::String("kaboom".into()))
    );
}

#[traced]
async fn async_failure(n: u32) -> anyhow::Result<u32> {
    tokio::task::yield_now().await;
    anyhow::ensure!(n > 0, "n must be positive");
    Ok(n)
}

#[traced]
async fn async_panic() {
    tokio::task::yield_now().await;
    panic!("async kaboom");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_errors_and_panics() {
    let (result, trace) = capture_async(|| async_failure(0)).await;
    assert!(result.is_err());
    assert_eq!(
        error_message(trace.span("async_failure")),
        "n must be positive"
    );

    let (joined, trace) = capture_async(|| tokio::spawn(async_panic())).await;
    let panic = joined.expect_err("the task panicked").into_panic();
    assert_eq!(panic.downcast_ref::<&str>(), Some(&"async kaboom"));
    assert_eq!(error_message(trace.span("async_panic")), "async kaboom");
}

/// A generic return type: whether it is a `Result` is only known where the
/// function is called, after the expansion.
#[traced]
fn generic<R>(make: impl FnOnce() -> R) -> R {
    make()
}

/// The documented way around it: the `Result` written in the signature.
#[traced]
fn generic_result<T, E>(
    make: impl FnOnce() -> std::result::Result<T, E>,
) -> std::result::Result<T, E>
where
    E: std::fmt::Display,
{
    make()
}

#[test]
fn a_generic_return_type_records_an_err_once_the_signature_says_result() {
    let ((), trace) = capture(|| {
        let _ = generic(|| Err::<u8, _>("not seen"));
        let _ = generic_result(|| Err::<u8, _>("seen"));
    });
    assert_eq!(
        trace.span("generic").status,
        Status::Unset,
        "as documented: an Err inside a generic R is not recorded"
    );
    assert_eq!(error_message(trace.span("generic_result")), "seen");
}

/// A context of another trace, for a body to leave attached.
fn elsewhere() -> Context {
    Context::new().with_remote_span_context(SpanContext::new(
        TraceId::from(7),
        SpanId::from(9),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    ))
}

#[traced]
fn hands_back_a_guard(cx: Context) -> ContextGuard {
    cx.attach()
}

#[traced]
fn after_the_guard() {}

#[test]
fn a_body_that_returns_a_guard_still_ends_its_span_and_keeps_the_stack() {
    let ((), trace) = capture(|| {
        let guard = hands_back_a_guard(elsewhere());
        assert_eq!(
            traced::current::span_context().trace_id(),
            TraceId::from(7),
            "the returned guard's context is current"
        );
        drop(guard);
        after_the_guard();
    });
    let span = trace.span("hands_back_a_guard");
    assert!(span.end_time >= span.start_time);
    // Under the capture's root, which `Trace` shows as no parent.
    assert_eq!(span.parent_span_id, SpanId::INVALID);
    assert_eq!(
        trace.span("after_the_guard").parent_span_id,
        SpanId::INVALID,
        "once the guard drops, the caller's context is current again"
    );
}

#[traced]
fn forgets_a_guard(cx: Context) -> Result<()> {
    std::mem::forget(cx.attach());
    Err(NotFound(3))
}

#[test]
fn a_body_that_forgets_a_guard_still_ends_its_span() {
    let (result, trace) = capture(|| {
        let (sender, receiver) = std::sync::mpsc::channel();
        // The forgotten guard stays on its thread's context stack for good.
        std::thread::scope(|scope| {
            let cx = Context::current();
            scope.spawn(move || {
                let _attached = cx.attach();
                sender.send(forgets_a_guard(elsewhere())).unwrap();
            });
        });
        receiver.recv().unwrap()
    });
    assert!(result.is_err());
    let span = trace.span("forgets_a_guard");
    assert!(span.end_time >= span.start_time);
    assert_eq!(span.parent_span_id, SpanId::INVALID);
}

/// An error that carries a guard of the context it attached out of the call.
#[derive(Debug)]
struct Holding(#[allow(dead_code)] ContextGuard);

#[traced]
fn fails_holding(cx: Context) -> std::result::Result<(), Holding> {
    Err(Holding(cx.attach()))
}

#[test]
fn the_outcome_and_end_of_a_call_never_land_on_the_span_its_body_left_current() {
    let ((), trace) = capture(|| {
        let tracer = traced::opentelemetry::global::tracer("held");
        let held = Context::current().with_span(tracer.start("held"));
        let result = fails_holding(held.clone());
        held.span().add_event("after the call", Vec::new());
        drop(result);
        held.span().end();
    });
    let held = trace.span("held");
    assert_eq!(held.status, Status::Unset, "the call's Err is not its");
    let names: Vec<&str> = held
        .events
        .iter()
        .map(|event| event.name.as_ref())
        .collect();
    assert_eq!(
        names,
        ["after the call"],
        "still open after the call, no exception"
    );
    assert_eq!(trace.span("fails_holding").parent_span_id, SpanId::INVALID);
}

#[test]
fn every_test_here_passes_on_a_user_provider() {
    traced_tests::rerun_on_a_user_provider();
}
