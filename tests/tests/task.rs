//! The context crosses tasks and threads with `traced::spawn`,
//! `traced::spawn_blocking`, `traced::spawn_thread` and `FutureExt`; without
//! them a detached task starts a trace of its own.

use opentelemetry::Value;
use opentelemetry::trace::SpanId;
use traced::opentelemetry;
use traced::testing::{FinishedSpan, Trace, capture, capture_async, finished_spans};
use traced::{FutureExt as _, traced};

const TASKS: u64 = 1_000;

fn number(span: &FinishedSpan, key: &str) -> Option<i64> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .and_then(|kv| match kv.value {
            Value::I64(n) => Some(n),
            _ => None,
        })
}

#[traced]
async fn child(#[attr] n: u64) {
    tokio::task::yield_now().await;
}

#[traced]
fn blocking_child(#[attr] n: u64) {}

#[traced]
async fn request(#[attr] n: u64) {
    tokio::task::yield_now().await;
    // The async block calls `child` on the new task: it needs the context
    // carried over.
    let task = traced::spawn(async move { child(n).await });
    let blocking = traced::spawn_blocking(move || blocking_child(n));
    task.await.unwrap();
    blocking.await.unwrap();
}

/// Every span named `name` has, as parent, the `request` span with the same
/// `n`.
fn assert_parents(trace: &Trace, name: &str) {
    let mut seen = 0;
    for span in trace.spans().iter().filter(|span| span.name == name) {
        let parent = trace
            .parent_of(span)
            .unwrap_or_else(|| panic!("{name} without parent"));
        assert_eq!(parent.name, "request");
        assert_eq!(
            number(parent, "n"),
            number(span, "n"),
            "{name} under the wrong request"
        );
        seen += 1;
    }
    assert_eq!(seen, TASKS, "{name} spans");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_concurrent_tasks_keep_their_parents() {
    let ((), trace) = capture_async(|| async {
        // `request(n)` is called here, under the capture span, so its span
        // has the right parent even though it runs on another task.
        let handles: Vec<_> = (0..TASKS).map(|n| tokio::spawn(request(n))).collect();
        for handle in handles {
            handle.await.unwrap();
        }
    })
    .await;
    assert_eq!(
        trace
            .spans()
            .iter()
            .filter(|span| span.name == "request")
            .count() as u64,
        TASKS
    );
    assert_parents(&trace, "child");
    assert_parents(&trace, "blocking_child");
}

#[traced]
fn thread_child(#[attr] n: u64) {}

#[traced]
fn thread_request(#[attr] n: u64) -> std::thread::JoinHandle<()> {
    traced::spawn_thread(move || thread_child(n))
}

#[test]
fn threads_keep_their_parents() {
    let ((), trace) = capture(|| {
        let handles: Vec<_> = (0..64).map(thread_request).collect();
        for handle in handles {
            handle.join().unwrap();
        }
    });
    let children: Vec<_> = trace
        .spans()
        .iter()
        .filter(|span| span.name == "thread_child")
        .collect();
    assert_eq!(children.len(), 64);
    for span in children {
        let parent = trace.parent_of(span).expect("a parent");
        assert_eq!(parent.name, "thread_request");
        assert_eq!(number(parent, "n"), number(span, "n"));
    }
}

#[traced]
async fn detached(#[attr] marker: i64) {}

#[traced]
async fn broken_request(marker: i64) {
    // The classic broken trace: the task starts with an empty context.
    tokio::spawn(async move { detached(marker).await })
        .await
        .unwrap();
}

#[traced]
async fn mended_request(marker: i64) {
    tokio::spawn(async move { detached(marker).await }.with_current_context())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_detached_task_without_the_context_breaks_the_trace() {
    let ((), broken) = capture_async(|| broken_request(-1)).await;
    assert_eq!(broken.tree(), "broken_request\n");
    let orphan = finished_spans()
        .into_iter()
        .find(|span| span.name == "detached" && number(span, "marker") == Some(-1))
        .expect("the detached span was exported");
    assert_eq!(
        orphan.parent_span_id,
        SpanId::INVALID,
        "a root of its own trace"
    );
    assert_ne!(
        orphan.span_context.trace_id(),
        broken.span("broken_request").span_context.trace_id()
    );

    let ((), mended) = capture_async(|| mended_request(-2)).await;
    assert_eq!(mended.tree(), "mended_request\n  detached\n");
}

#[test]
fn every_test_here_passes_on_a_user_provider() {
    traced_tests::rerun_on_a_user_provider();
}
