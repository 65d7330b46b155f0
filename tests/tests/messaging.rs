//! Producer and consumer over a real in-process queue (a tokio channel
//! carrying messages with attribute maps): the consumer span continues the
//! producer's trace or starts a new one linked to it, as selected.

use std::collections::HashMap;

use opentelemetry::Value;
use opentelemetry::trace::{SpanKind, TraceId};
use tokio::sync::mpsc;
use traced::messaging::Message;
use traced::opentelemetry;
use traced::propagation::{Trust, extract};
use traced::testing::{FinishedSpan, capture_async, finished_spans};
use traced::traced;

/// What travels on the queue: a body and its attributes.
#[derive(Debug)]
struct Envelope {
    id: String,
    attributes: HashMap<String, String>,
    body: u32,
}

fn attribute<'a>(span: &'a FinishedSpan, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

fn text(span: &FinishedSpan, key: &str) -> String {
    attribute(span, key)
        .map(Value::to_string)
        .unwrap_or_default()
}

#[traced]
async fn publish(queue: &mpsc::Sender<Envelope>, id: String, body: u32) {
    let mut attributes = HashMap::new();
    let _send = Message::new("tokio", "orders")
        .id(id.clone())
        .send(&mut attributes);
    queue
        .send(Envelope {
            id,
            attributes,
            body,
        })
        .await
        .unwrap();
}

#[traced(ret)]
async fn handle(#[attr] body: u32) -> u32 {
    body * 2
}

/// Drains the queue on its own task, the way a consumer service would:
/// nothing of the producer's context is current there.
fn consume(mut queue: mpsc::Receiver<Envelope>, trust: Trust) -> tokio::task::JoinHandle<Vec<u32>> {
    tokio::spawn(async move {
        let mut results = Vec::new();
        while let Some(envelope) = queue.recv().await {
            let span = Message::new("tokio", "orders")
                .id(envelope.id)
                .process(&envelope.attributes, trust);
            results.push(span.run(async { handle(envelope.body).await }).await);
        }
        results
    })
}

fn spans_named<'a>(spans: &'a [FinishedSpan], name: &str, id: &str) -> Vec<&'a FinishedSpan> {
    spans
        .iter()
        .filter(|span| span.name == name && text(span, "messaging.message.id") == id)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_continues_the_producers_trace() {
    let (tx, rx) = mpsc::channel(8);
    let consumer = consume(rx, Trust::Continue);
    let ((), trace) = capture_async(|| async move {
        for i in 0..3 {
            publish(&tx, format!("continue-{i}"), i).await;
        }
        drop(tx);
        assert_eq!(consumer.await.unwrap(), [0, 2, 4]);
    })
    .await;

    for i in 0..3 {
        let id = format!("continue-{i}");
        let [send] = spans_named(trace.spans(), "orders send", &id)[..] else {
            panic!("{}", trace.tree())
        };
        let [process] = spans_named(trace.spans(), "orders process", &id)[..] else {
            panic!("{}", trace.tree())
        };
        assert_eq!(send.span_kind, SpanKind::Producer);
        assert_eq!(process.span_kind, SpanKind::Consumer);
        assert_eq!(trace.parent_of(send).unwrap().name, "publish");
        assert_eq!(process.parent_span_id, send.span_context.span_id());
        assert!(process.parent_span_is_remote);
        assert!(process.links.links.is_empty());
        let handled = trace
            .spans()
            .iter()
            .find(|span| {
                span.name == "handle" && span.parent_span_id == process.span_context.span_id()
            })
            .expect("the handler runs under the process span");
        assert_eq!(text(handled, "body"), i.to_string());

        for (span, operation) in [(send, "send"), (process, "process")] {
            assert_eq!(text(span, "messaging.system"), "tokio");
            assert_eq!(text(span, "messaging.destination.name"), "orders");
            assert_eq!(text(span, "messaging.operation.type"), operation);
            assert_eq!(text(span, "messaging.message.id"), id);
        }
    }
    assert_eq!(
        trace.tree(),
        "publish\n  orders send\n    orders process\n      handle\n".repeat(3)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_starts_a_new_trace_linked_to_the_producer() {
    let (tx, rx) = mpsc::channel(8);
    let consumer = consume(rx, Trust::NewRootWithLink);
    let ((), trace) = capture_async(|| async move {
        publish(&tx, "linked-0".to_owned(), 21).await;
        drop(tx);
        assert_eq!(consumer.await.unwrap(), [42]);
    })
    .await;

    let [send] = spans_named(trace.spans(), "orders send", "linked-0")[..] else {
        panic!("{}", trace.tree())
    };
    assert!(
        spans_named(trace.spans(), "orders process", "linked-0").is_empty(),
        "{}",
        trace.tree()
    );

    let everything = finished_spans();
    let [process] = spans_named(&everything, "orders process", "linked-0")[..] else {
        panic!("one process span")
    };
    assert_ne!(
        process.span_context.trace_id(),
        send.span_context.trace_id()
    );
    assert_ne!(process.span_context.trace_id(), TraceId::INVALID);
    assert_eq!(
        process.parent_span_id,
        opentelemetry::trace::SpanId::INVALID,
        "a root"
    );
    let links: Vec<_> = process
        .links
        .links
        .iter()
        .map(|link| (link.span_context.trace_id(), link.span_context.span_id()))
        .collect();
    assert_eq!(
        links,
        [(send.span_context.trace_id(), send.span_context.span_id())]
    );
    assert!(
        everything
            .iter()
            .any(|span| span.name == "handle"
                && span.parent_span_id == process.span_context.span_id()),
        "the handler runs under the new root"
    );
}

#[traced(
    name = "orders process",
    kind = consumer,
    root,
    link = extract(&envelope.attributes),
    attrs(messaging.system = "tokio", messaging.destination.name = "orders",
          messaging.operation.type = "process", messaging.message.id = envelope.id.as_str()),
)]
async fn on_message(envelope: &Envelope) -> u32 {
    envelope.body + 1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traced_consumer_with_a_link_works_too() {
    let (tx, mut rx) = mpsc::channel(8);
    let consumer = tokio::spawn(async move {
        let envelope = rx.recv().await.unwrap();
        on_message(&envelope).await
    });
    let ((), trace) = capture_async(|| async move {
        publish(&tx, "macro-0".to_owned(), 1).await;
        assert_eq!(consumer.await.unwrap(), 2);
    })
    .await;

    let [send] = spans_named(trace.spans(), "orders send", "macro-0")[..] else {
        panic!("{}", trace.tree())
    };
    let everything = finished_spans();
    let [process] = spans_named(&everything, "orders process", "macro-0")[..] else {
        panic!("one process span")
    };
    assert_eq!(process.span_kind, SpanKind::Consumer);
    assert_ne!(
        process.span_context.trace_id(),
        send.span_context.trace_id()
    );
    let link = &process.links.links[0].span_context;
    assert_eq!(
        (link.trace_id(), link.span_id()),
        (send.span_context.trace_id(), send.span_context.span_id())
    );
    assert_eq!(
        attribute(process, "messaging.operation.type"),
        Some(&Value::from("process"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baggage_crosses_the_queue_only_when_kept() {
    let (tx, mut rx) = mpsc::channel::<Envelope>(8);
    {
        let _baggage = traced::current::set_baggage([("tenant", "acme")]);
        let mut attributes = HashMap::new();
        let _send = Message::new("tokio", "orders").send(&mut attributes);
        tx.send(Envelope {
            id: "b".into(),
            attributes,
            body: 0,
        })
        .await
        .unwrap();
    }
    let envelope = rx.recv().await.unwrap();
    for (trust, expected) in [
        (Trust::Continue, Some("acme")),
        (Trust::NewRootWithLink, None),
        (Trust::NewRootWithLinkKeepBaggage, Some("acme")),
    ] {
        let span = Message::new("tokio", "orders").process(&envelope.attributes, trust);
        let tenant = span.in_scope(|| traced::current::baggage("tenant"));
        assert_eq!(tenant.as_deref(), expected, "{trust:?}");
    }
}

#[test]
fn every_test_here_passes_on_a_user_provider() {
    traced_tests::rerun_on_a_user_provider();
}
