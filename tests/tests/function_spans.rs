//! `#[traced]` on functions: names, kinds, attributes, parents and options,
//! observed on real spans through the in-memory exporter.

use std::fmt;
use std::future::Future;

use traced::opentelemetry::trace::{SpanKind, Status, TraceContextExt};
use traced::opentelemetry::{Array, Context, StringValue, Value};
use traced::testing::{capture, capture_async};
use traced::traced;
use traced_tests::{attribute, events, text};

#[traced]
fn plain() {}

#[traced(name = "GET /articles/{id}", kind = server)]
fn named(#[attr] id: u64) -> u64 {
    id
}

#[test]
fn default_name_is_the_function_name_and_kind_internal() {
    let ((), trace) = capture(plain);
    let span = trace.span("plain");
    assert_eq!(span.span_kind, SpanKind::Internal);
    assert_eq!(span.status, Status::Unset);
}

#[test]
fn captured_spans_read_their_attributes() {
    use traced::testing::FinishedSpanExt as _;
    let (_, trace) = capture(|| named(7));
    let span = trace.span("GET /articles/{id}");
    assert_eq!(span.attr("id"), Some(&Value::I64(7)));
    assert_eq!(span.attr("absent"), None);
}

#[test]
fn name_and_kind_options() {
    let (_, trace) = capture(|| named(7));
    let span = trace.span("GET /articles/{id}");
    assert_eq!(span.span_kind, SpanKind::Server);
    assert_eq!(attribute(span, "id"), Some(&Value::I64(7)));
}

#[traced(kind = client)]
fn client() {}
#[traced(kind = producer)]
fn producer() {}
#[traced(kind = consumer)]
fn consumer() {}
#[traced(kind = internal)]
fn internal() {}

#[test]
fn every_kind() {
    let ((), trace) = capture(|| {
        client();
        producer();
        consumer();
        internal();
    });
    assert_eq!(trace.span("client").span_kind, SpanKind::Client);
    assert_eq!(trace.span("producer").span_kind, SpanKind::Producer);
    assert_eq!(trace.span("consumer").span_kind, SpanKind::Consumer);
    assert_eq!(trace.span("internal").span_kind, SpanKind::Internal);
}

#[test]
fn code_attributes_and_instrumentation_scope() {
    let ((), trace) = capture(plain);
    let span = trace.span("plain");
    assert_eq!(text(span, "code.function.name"), "function_spans::plain");
    assert!(text(span, "code.file.path").ends_with("function_spans.rs"));
    let line = include_str!("function_spans.rs")
        .lines()
        .position(|line| line == "fn plain() {}")
        .expect("the function is in this file")
        + 1;
    assert_eq!(
        attribute(span, "code.line.number"),
        Some(&Value::I64(line as i64))
    );
    assert_eq!(span.instrumentation_scope.name(), "traced-tests");
    assert_eq!(span.instrumentation_scope.version(), Some("0.0.0"));
}

struct Shown;

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("shown")
    }
}

#[derive(Debug)]
#[allow(dead_code)]
struct OnlyDebug {
    x: u8,
}

#[traced(attrs(
    int = 7,
    negative = -3i64,
    float = 1.5,
    flag = true,
    text = "s",
    owned = String::from("o"),
    ints = vec![1, 2],
    strs = ["a", "b"],
    floats = [0.5f64],
    bools = vec![true, false],
    some = Some(3u8),
    none = Option::<u32>::None,
    shown = Shown,
    debug = OnlyDebug { x: 1 },
    some_shown = Some(Shown),
    huge = u64::MAX,
    character = 'c',
    "string.key" = 1,
))]
fn typed() {}

#[test]
fn attribute_values_keep_their_types() {
    let ((), trace) = capture(typed);
    let span = trace.span("typed");
    let get = |key| attribute(span, key).cloned();
    assert_eq!(get("int"), Some(Value::I64(7)));
    assert_eq!(get("negative"), Some(Value::I64(-3)));
    assert_eq!(get("float"), Some(Value::F64(1.5)));
    assert_eq!(get("flag"), Some(Value::Bool(true)));
    assert_eq!(get("text"), Some(Value::String("s".into())));
    assert_eq!(get("owned"), Some(Value::String("o".into())));
    assert_eq!(get("ints"), Some(Value::Array(Array::I64(vec![1, 2]))));
    assert_eq!(
        get("strs"),
        Some(Value::Array(Array::String(vec![
            StringValue::from("a"),
            StringValue::from("b")
        ])))
    );
    assert_eq!(get("floats"), Some(Value::Array(Array::F64(vec![0.5]))));
    assert_eq!(
        get("bools"),
        Some(Value::Array(Array::Bool(vec![true, false])))
    );
    assert_eq!(get("some"), Some(Value::I64(3)));
    assert_eq!(get("none"), None, "None records nothing");
    assert_eq!(get("shown"), Some(Value::String("shown".into())));
    assert_eq!(
        get("debug"),
        Some(Value::String("OnlyDebug { x: 1 }".into()))
    );
    assert_eq!(get("some_shown"), Some(Value::String("shown".into())));
    assert_eq!(
        get("huge"),
        Some(Value::String(u64::MAX.to_string().into()))
    );
    assert_eq!(get("character"), Some(Value::String("c".into())));
    assert_eq!(get("string.key"), Some(Value::I64(1)));
}

#[traced(attrs(
    ids = [1u64, 2],
    sizes = vec![3usize, 4],
    huge = [u64::MAX, 1],
    letters = ['a', 'b'],
    names = vec![std::sync::Arc::<str>::from("x")],
))]
fn arrays() {}

#[test]
fn repro_arrays_of_every_element_type_record_as_arrays() {
    let ((), trace) = capture(arrays);
    let span = trace.span("arrays");
    let strings = |items: &[&str]| {
        Some(Value::Array(Array::String(
            items
                .iter()
                .map(|s| StringValue::from(s.to_string()))
                .collect(),
        )))
    };
    assert_eq!(
        attribute(span, "ids").cloned(),
        Some(Value::Array(Array::I64(vec![1, 2])))
    );
    assert_eq!(
        attribute(span, "sizes").cloned(),
        Some(Value::Array(Array::I64(vec![3, 4])))
    );
    assert_eq!(
        attribute(span, "huge").cloned(),
        strings(&[&u64::MAX.to_string(), "1"]),
        "an array holds one type: strings when an element does not fit an int"
    );
    assert_eq!(attribute(span, "letters").cloned(), strings(&["a", "b"]));
    assert_eq!(attribute(span, "names").cloned(), strings(&["x"]));
}

#[traced(attrs(db.system.name = "postgresql", rows = batch.len(), batch))]
fn save(#[attr("enduser.id")] user: &str, #[attr] retries: u8, batch: &[u32]) -> usize {
    let _ = (user, retries);
    batch.len()
}

#[test]
fn dotted_keys_expressions_shorthand_and_parameters() {
    let (_, trace) = capture(|| save("ada", 2, &[1, 2, 3]));
    let span = trace.span("save");
    assert_eq!(text(span, "db.system.name"), "postgresql");
    assert_eq!(attribute(span, "rows"), Some(&Value::I64(3)));
    assert_eq!(
        attribute(span, "batch"),
        Some(&Value::Array(Array::I64(vec![1, 2, 3])))
    );
    assert_eq!(text(span, "enduser.id"), "ada");
    assert_eq!(attribute(span, "retries"), Some(&Value::I64(2)));
    assert_eq!(
        attribute(span, "user"),
        None,
        "arguments are recorded only when asked"
    );
}

#[traced]
fn unrecorded(secret: &str) -> usize {
    secret.len()
}

#[test]
fn arguments_are_never_recorded_unless_asked() {
    let (_, trace) = capture(|| unrecorded("hunter2"));
    let span = trace.span("unrecorded");
    assert!(
        span.attributes
            .iter()
            .all(|kv| kv.key.as_str().starts_with("code.")),
        "{:?}",
        span.attributes
    );
}

#[traced]
fn point(#[attr] (x, y): (i32, i32), #[attr("label")] Label(label): Label) -> i32 {
    let _ = label;
    x + y
}

struct Label(&'static str);

#[test]
fn a_pattern_parameter_records_what_it_binds() {
    let (sum, trace) = capture(|| point((1, 2), Label("p")));
    assert_eq!(sum, 3);
    let span = trace.span("point");
    assert_eq!(attribute(span, "x"), Some(&Value::I64(1)));
    assert_eq!(attribute(span, "y"), Some(&Value::I64(2)));
    assert_eq!(text(span, "label"), "p");
}

/// An axum handler: the extractor's pattern binds `id`.
#[traced(attrs(order.id = id))]
async fn get_order(#[attr] axum::extract::Path(id): axum::extract::Path<u64>) -> u64 {
    id
}

#[tokio::test]
async fn repro_async_pattern_bindings_are_visible_to_attributes() {
    let (id, trace) = capture_async(|| get_order(axum::extract::Path(7))).await;
    assert_eq!(id, 7);
    let span = trace.span("get_order");
    assert_eq!(attribute(span, "order.id"), Some(&Value::I64(7)));
    assert_eq!(
        attribute(span, "id"),
        Some(&Value::I64(7)),
        "the bound value, not the extractor's Debug"
    );
}

#[traced(ret)]
fn answer() -> u32 {
    42
}

#[traced(ret)]
fn parsed(input: &str) -> Result<i64, std::num::ParseIntError> {
    input.parse()
}

#[traced(ret)]
fn nothing_to_return() -> Result<(), String> {
    Ok(())
}

#[test]
fn repro_ret_of_an_ok_unit_records_nothing() {
    let (result, trace) = capture(nothing_to_return);
    assert_eq!(result, Ok(()));
    assert_eq!(attribute(trace.span("nothing_to_return"), "return"), None);
}

#[test]
fn ret_records_the_return_value_or_the_ok_value() {
    let ((), trace) = capture(|| {
        answer();
        parsed("12").unwrap();
    });
    assert_eq!(
        attribute(trace.span("answer"), "return"),
        Some(&Value::I64(42))
    );
    assert_eq!(
        attribute(trace.span("parsed"), "return"),
        Some(&Value::I64(12))
    );
}

#[traced]
fn parent() {
    child();
    child();
}

#[traced]
fn child() {}

#[test]
fn nested_calls_are_children() {
    let ((), trace) = capture(parent);
    assert_eq!(trace.tree(), "parent\n  child\n  child\n");
    let parent = trace.span("parent");
    for child in trace.spans().iter().filter(|s| s.name == "child") {
        assert_eq!(child.parent_span_id, parent.span_context.span_id());
        assert_eq!(
            child.span_context.trace_id(),
            parent.span_context.trace_id()
        );
    }
}

#[traced(root)]
fn fresh_trace() -> Context {
    Context::current()
}

#[test]
fn root_starts_a_new_trace() {
    let outer_trace = Context::current().span().span_context().trace_id();
    let (cx, trace) = capture(fresh_trace);
    assert!(
        trace.names().is_empty(),
        "a root span is not in the caller's trace"
    );
    let span = cx.span();
    let sc = span.span_context();
    assert!(sc.is_valid());
    assert_ne!(sc.trace_id(), outer_trace);
    let exported = traced::testing::finished_spans()
        .into_iter()
        .find(|s| s.span_context.span_id() == sc.span_id())
        .expect("the root span is exported");
    assert_eq!(exported.name, "fresh_trace");
    assert_eq!(
        exported.parent_span_id,
        traced::opentelemetry::trace::SpanId::INVALID
    );
}

#[traced(parent = remote)]
fn with_parent(remote: &Context) {
    let _ = remote;
}

#[test]
fn parent_continues_an_extracted_context() {
    let mut headers = std::collections::HashMap::new();
    headers.insert(
        "traceparent".to_owned(),
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_owned(),
    );
    let remote = traced::propagation::extract(&headers);
    let ((), _) = capture(|| with_parent(&remote));
    let span = traced::testing::finished_spans()
        .into_iter()
        .find(|s| s.name == "with_parent")
        .expect("exported");
    assert_eq!(
        span.span_context.trace_id().to_string(),
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
    assert_eq!(span.parent_span_id.to_string(), "00f067aa0ba902b7");
    assert!(span.parent_span_is_remote);
}

#[traced(kind = consumer, link = producer_cx, link = &other)]
fn linked(producer_cx: &Context, other: traced::opentelemetry::trace::SpanContext) {
    let _ = (producer_cx, other);
}

#[test]
fn links_to_contexts_and_span_contexts() {
    let mut a = std::collections::HashMap::new();
    a.insert(
        "traceparent".to_owned(),
        "00-11111111111111111111111111111111-2222222222222222-01".to_owned(),
    );
    let mut b = a.clone();
    b.insert(
        "traceparent".to_owned(),
        "00-33333333333333333333333333333333-4444444444444444-01".to_owned(),
    );
    let producer_cx = traced::propagation::extract(&a);
    let other = traced::propagation::extract(&b)
        .span()
        .span_context()
        .clone();
    let ((), trace) = capture(|| linked(&producer_cx, other));
    let span = trace.span("linked");
    let links: Vec<String> = span
        .links
        .iter()
        .map(|l| format!("{}-{}", l.span_context.trace_id(), l.span_context.span_id()))
        .collect();
    assert_eq!(
        links,
        [
            "11111111111111111111111111111111-2222222222222222",
            "33333333333333333333333333333333-4444444444444444"
        ]
    );
}

#[traced(suppress)]
fn health() {
    child();
}

#[test]
fn suppress_creates_no_span_and_nothing_beneath() {
    let ((), trace) = capture(health);
    assert!(trace.names().is_empty(), "{:?}", trace.names());
}

#[traced]
fn observe_current() -> (bool, String) {
    Context::map_current(|cx| {
        let span = cx.span();
        (
            span.is_recording(),
            span.span_context().span_id().to_string(),
        )
    })
}

#[test]
fn the_span_is_current_inside_the_body() {
    let ((recording, id), trace) = capture(observe_current);
    assert!(recording);
    assert_eq!(
        trace
            .span("observe_current")
            .span_context
            .span_id()
            .to_string(),
        id
    );
}

#[traced]
async fn async_parent() -> u32 {
    let mut total = 0;
    for i in 0..4 {
        tokio::task::yield_now().await;
        total += async_child(i).await;
    }
    total
}

#[traced(attrs(i))]
async fn async_child(i: u32) -> u32 {
    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    i
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_children_nest_across_awaits_and_worker_threads() {
    let (total, trace) = capture_async(async_parent).await;
    assert_eq!(total, 6);
    assert_eq!(
        trace.tree(),
        "async_parent\n  async_child\n  async_child\n  async_child\n  async_child\n"
    );
}

#[traced]
async fn fan_out() -> usize {
    let tasks: Vec<_> = (0..8).map(|i| tokio::spawn(async_child(i))).collect();
    let mut done = 0;
    for task in tasks {
        task.await.unwrap();
        done += 1;
    }
    done
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_traced_future_keeps_its_parent_when_spawned() {
    let (done, trace) = capture_async(fan_out).await;
    assert_eq!(done, 8);
    let parent = trace.span("fan_out").span_context.span_id();
    let children: Vec<_> = trace
        .spans()
        .iter()
        .filter(|s| s.name == "async_child")
        .collect();
    assert_eq!(children.len(), 8);
    assert!(children.iter().all(|c| c.parent_span_id == parent));
}

#[traced]
async fn started_at_call() {}

#[tokio::test]
async fn async_span_starts_when_called_not_when_polled() {
    let (polled_at, trace) = capture_async(|| async {
        let future = started_at_call();
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        let polled_at = std::time::SystemTime::now();
        future.await;
        polled_at
    })
    .await;
    let span = trace.span("started_at_call");
    assert!(
        span.start_time < polled_at,
        "the span starts at the call, before the first poll"
    );
}

#[traced]
async fn never_finishes() {
    std::future::pending::<()>().await;
}

#[tokio::test]
async fn a_dropped_future_ends_its_span_with_a_cancelled_event() {
    let ((), trace) = capture_async(|| async {
        let _ = tokio::time::timeout(std::time::Duration::from_millis(5), never_finishes()).await;
    })
    .await;
    let span = trace.span("never_finishes");
    assert_eq!(events(span, "cancelled").len(), 1);
    assert_eq!(span.status, Status::Unset);
}

/// Traced work done on drop, as a connection returning to its pool.
struct Connection;

impl Drop for Connection {
    fn drop(&mut self) {
        return_to_pool();
    }
}

#[traced]
fn return_to_pool() {}

#[traced]
async fn cancelled_holding_a_connection() {
    let _connection = Connection;
    std::future::pending::<()>().await;
}

/// Polls `future` once, then drops it.
async fn poll_once_then_drop(future: impl Future) {
    let mut future = std::pin::pin!(future);
    std::future::poll_fn(|cx| {
        let _ = future.as_mut().poll(cx);
        std::task::Poll::Ready(())
    })
    .await;
}

#[tokio::test]
async fn repro_a_cancelled_body_drops_inside_its_span() {
    let ((), trace) = capture_async(|| poll_once_then_drop(cancelled_holding_a_connection())).await;
    let cancelled = trace.span("cancelled_holding_a_connection");
    assert_eq!(events(cancelled, "cancelled").len(), 1);
    let returned = trace.span("return_to_pool");
    assert_eq!(
        returned.parent_span_id,
        cancelled.span_context.span_id(),
        "drop-time work of the cancelled body belongs to its span"
    );
}

/// A hand-written future that holds a connection until it is dropped.
struct Lease {
    _connection: Connection,
}

impl Future for Lease {
    type Output = u8;

    fn poll(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<u8> {
        std::task::Poll::Ready(1)
    }
}

#[traced]
fn lease() -> impl Future<Output = u8> {
    Lease {
        _connection: Connection,
    }
}

#[tokio::test]
async fn repro_a_completed_future_drops_inside_its_span() {
    let (value, trace) = capture_async(lease).await;
    assert_eq!(value, 1);
    let lease = trace.span("lease");
    let returned = trace.span("return_to_pool");
    assert_eq!(returned.parent_span_id, lease.span_context.span_id());
}

#[traced]
fn returns_impl_future(n: u32) -> impl Future<Output = Result<u32, String>> {
    async move {
        tokio::task::yield_now().await;
        if n == 0 {
            Err("zero".to_owned())
        } else {
            Ok(n)
        }
    }
}

#[traced]
fn returns_unpin_future(n: u32) -> impl Future<Output = Result<u32, String>> + Unpin {
    std::future::ready(if n == 0 {
        Err("zero".to_owned())
    } else {
        Ok(n)
    })
}

#[tokio::test]
async fn repro_impl_future_unpin_stays_unpin() {
    // Awaiting through `&mut` needs the returned future to be `Unpin`.
    let (result, trace) = capture_async(|| async {
        let mut future = returns_unpin_future(0);
        (&mut future).await
    })
    .await;
    assert_eq!(result, Err("zero".to_owned()));
    assert_eq!(
        traced_tests::error_message(trace.span("returns_unpin_future")),
        "zero"
    );
}

#[tokio::test]
async fn impl_future_functions_span_the_whole_future() {
    let (result, trace) = capture_async(|| returns_impl_future(0)).await;
    assert!(result.is_err());
    let span = trace.span("returns_impl_future");
    assert_eq!(traced_tests::error_message(span), "zero");
}

#[traced]
async fn inner_step() {
    tokio::task::yield_now().await;
}

#[traced]
#[tokio::test]
async fn traced_above_tokio_test() {
    inner_step().await;
}

#[tokio::test]
#[traced]
async fn traced_below_tokio_test() {
    inner_step().await;
}

#[test]
fn repro_traced_and_tokio_test_work_in_either_order() {
    let ((), above) = capture(traced_above_tokio_test);
    assert_eq!(above.tree(), "traced_above_tokio_test\n  inner_step\n");
    let ((), below) = capture(traced_below_tokio_test);
    assert_eq!(below.tree(), "traced_below_tokio_test\n  inner_step\n");
}

#[test]
fn every_test_here_passes_on_a_user_provider() {
    traced_tests::rerun_on_a_user_provider();
}
