//! A function behaves the same with `#[traced]` as without it, plus its
//! span: parameters drop in the same order at the same point, early returns
//! coerce, errors behind `impl Trait` are still recorded. Each traced
//! function here has an unannotated twin to compare with.

use std::error::Error;
use std::fmt::{self, Display};
use std::sync::{Arc, Mutex};

use traced::opentelemetry::Context;
use traced::opentelemetry::trace::{SpanId, TraceContextExt};
use traced::testing::{capture, capture_async};
use traced::traced;
use traced_tests::error_message;

/// Records, in order, what happened: the body's steps and each drop, with
/// the span that was current when it happened.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<(String, SpanId)>>>);

impl Log {
    fn push(&self, what: &str) {
        let span = Context::map_current(|cx| cx.span().span_context().span_id());
        self.0.lock().unwrap().push((what.to_owned(), span));
    }

    fn events(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|(what, _)| what.clone())
            .collect()
    }

    fn span_of(&self, what: &str) -> SpanId {
        let log = self.0.lock().unwrap();
        log.iter()
            .find(|(w, _)| w == what)
            .map(|(_, span)| *span)
            .unwrap()
    }
}

struct Noisy(&'static str, Log);

impl Drop for Noisy {
    fn drop(&mut self) {
        self.1.push(self.0);
    }
}

fn arguments(log: &Log) -> (Noisy, Noisy, (Noisy, Noisy), Noisy) {
    let noisy = |name| Noisy(name, log.clone());
    (
        noisy("a"),
        noisy("_"),
        (noisy("b"), noisy("b..")),
        noisy("c"),
    )
}

async fn plain_async(a: Noisy, _: Noisy, (b, _): (Noisy, Noisy), c: Noisy) {
    let _local = Noisy("local", a.1.clone());
    let _ = (&b, &c);
    a.1.push("body");
}

#[traced]
async fn traced_async(a: Noisy, _: Noisy, (b, _): (Noisy, Noisy), c: Noisy) {
    let _local = Noisy("local", a.1.clone());
    let _ = (&b, &c);
    a.1.push("body");
}

fn plain_sync(a: Noisy, _: Noisy, (b, _): (Noisy, Noisy), c: Noisy) {
    let _local = Noisy("local", a.1.clone());
    let _ = (&b, &c);
    a.1.push("body");
}

#[traced]
fn traced_sync(a: Noisy, _: Noisy, (b, _): (Noisy, Noisy), c: Noisy) {
    let _local = Noisy("local", a.1.clone());
    let _ = (&b, &c);
    a.1.push("body");
}

#[tokio::test]
async fn repro_async_parameters_drop_in_the_unannotated_order() {
    let plain = Log::default();
    let (a, ignored, pair, c) = arguments(&plain);
    let future = plain_async(a, ignored, pair, c);
    plain.push("called");
    future.await;

    let traced = Log::default();
    let (a, ignored, pair, c) = arguments(&traced);
    let ((), trace) = capture_async(|| {
        let future = traced_async(a, ignored, pair, c);
        traced.push("called");
        future
    })
    .await;
    assert_eq!(
        plain.events(),
        ["called", "body", "local", "c", "b", "b..", "_", "a"]
    );
    assert_eq!(traced.events(), plain.events());
    // Every argument is dropped while the span is current.
    let span = trace.span("traced_async").span_context.span_id();
    for what in ["_", "b..", "a"] {
        assert_eq!(
            traced.span_of(what),
            span,
            "{what} dropped outside the span"
        );
    }
}

#[test]
fn repro_sync_parameters_drop_in_the_unannotated_order() {
    let plain = Log::default();
    let (a, ignored, pair, c) = arguments(&plain);
    plain_sync(a, ignored, pair, c);

    let traced = Log::default();
    let (a, ignored, pair, c) = arguments(&traced);
    let ((), trace) = capture(|| traced_sync(a, ignored, pair, c));
    assert_eq!(plain.events(), ["body", "local", "c", "b", "b..", "_", "a"]);
    assert_eq!(traced.events(), plain.events());
    let span = trace.span("traced_sync").span_context.span_id();
    for what in ["_", "b..", "a"] {
        assert_eq!(
            traced.span_of(what),
            span,
            "{what} dropped outside the span"
        );
    }
}

#[derive(Debug)]
struct Missing;

impl Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("missing")
    }
}

impl Error for Missing {}

#[traced]
async fn boxed_error(fail: bool) -> Result<u8, Box<dyn Error + Send + Sync>> {
    if fail {
        return Err(Box::new(Missing));
    }
    Ok(1)
}

#[tokio::test]
async fn repro_an_early_return_that_coerces_is_recorded() {
    let (result, trace) = capture_async(|| boxed_error(true)).await;
    assert_eq!(result.unwrap_err().to_string(), "missing");
    assert_eq!(error_message(trace.span("boxed_error")), "missing");
}

#[derive(Debug)]
struct DebugOnly;

#[traced]
fn debug_only_error() -> Result<impl Display, DebugOnly> {
    if true {
        return Err(DebugOnly);
    }
    Ok(1)
}

#[test]
fn repro_an_error_beside_impl_trait_is_recorded() {
    let (result, trace) = capture(debug_only_error);
    assert!(result.is_err());
    assert_eq!(error_message(trace.span("debug_only_error")), "DebugOnly");
}

#[traced]
#[track_caller]
fn caller_line() -> u32 {
    std::panic::Location::caller().line()
}

#[test]
fn repro_track_caller_keeps_the_callers_location() {
    let ((line, here), trace) = capture(|| (caller_line(), line!()));
    assert_eq!(
        line, here,
        "Location::caller() is the caller's, as without #[traced]"
    );
    trace.span("caller_line");
}

#[traced]
#[track_caller]
fn must(value: Option<u8>) -> u8 {
    value.expect("a value")
}

#[test]
fn a_panic_in_a_track_caller_function_marks_its_span() {
    let (result, trace) = capture(|| std::panic::catch_unwind(|| must(None)));
    assert!(result.is_err());
    let span = trace.span("must");
    assert_eq!(error_message(span), "panic");
    let exception = &traced_tests::events(span, "exception")[0].attributes;
    assert_eq!(
        traced_tests::find(exception, "exception.type"),
        Some(&traced::opentelemetry::Value::from("panic"))
    );
}

#[test]
fn every_test_here_passes_on_a_user_provider() {
    traced_tests::rerun_on_a_user_provider();
}
