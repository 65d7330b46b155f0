//! Under `traced::init()`'s parent-based sampler, a traced call under an
//! unsampled parent makes no span; what it starts, even on another task, stays
//! in the parent's trace and decision instead of starting new sampled traces.
//! (Its own process: it installs the provider `traced::init()` builds.)

use std::collections::HashMap;

use traced::opentelemetry::Context;
use traced::opentelemetry::trace::{SpanContext, TraceContextExt, TraceId};
use traced::propagation::extract;
use traced::traced;

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";

/// The span context current inside the child.
#[traced]
async fn child() -> SpanContext {
    Context::current().span().span_context().clone()
}

#[traced]
async fn request() -> SpanContext {
    tokio::task::yield_now().await;
    tokio::spawn(child()).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repro_tasks_spawned_under_an_unsampled_parent_stay_in_its_trace() {
    let _guard = traced::Config::new()
        .exporter(traced::Exporter::None)
        .init()
        .unwrap();
    let incoming = extract(&HashMap::from([(
        "traceparent".to_owned(),
        format!("00-{TRACE}-{PARENT}-00"),
    )]));
    // Called under the unsampled parent, polled on the runtime's workers.
    let handle = {
        let _attached = incoming.attach();
        tokio::spawn(request())
    };
    let seen = handle.await.unwrap();
    assert_eq!(seen.trace_id(), TraceId::from_hex(TRACE).unwrap());
    assert!(
        !seen.is_sampled(),
        "the child started a sampled trace of its own"
    );
}
