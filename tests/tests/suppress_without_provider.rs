//! With no tracer provider installed nothing is recorded, yet a service
//! still forwards contexts: a traced call runs in its parent's context (the
//! one given with `parent = ..`, the caller's for a future polled
//! elsewhere), and a suppressed call must still tell downstream services not
//! to sample. (Its own process: no provider may be installed.)

use std::collections::HashMap;

use traced::opentelemetry::Context;
use traced::propagation::{extract, inject};
use traced::traced;

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";

#[traced(suppress)]
fn health_check() -> HashMap<String, String> {
    let mut outgoing = HashMap::new();
    inject(&mut outgoing);
    outgoing
}

#[test]
fn a_suppressed_call_forwards_the_incoming_trace_as_not_sampled() {
    let mut incoming = http::HeaderMap::new();
    incoming.insert(
        "traceparent",
        format!("00-{TRACE}-{PARENT}-01").parse().unwrap(),
    );
    let _attached = extract(&incoming).attach();

    let mut forwarded = HashMap::new();
    inject(&mut forwarded);
    assert_eq!(forwarded["traceparent"], format!("00-{TRACE}-{PARENT}-01"));

    let outgoing = health_check();
    assert_eq!(outgoing["traceparent"], format!("00-{TRACE}-{PARENT}-00"));
}

#[traced(parent = cx)]
fn forward(cx: &Context) -> HashMap<String, String> {
    let mut outgoing = HashMap::new();
    inject(&mut outgoing);
    outgoing
}

#[test]
fn repro_an_explicit_parent_is_current_with_nothing_installed() {
    let incoming = extract(&HashMap::from([(
        "traceparent".to_owned(),
        format!("00-{TRACE}-{PARENT}-01"),
    )]));
    let outgoing = forward(&incoming);
    assert_eq!(
        outgoing.get("traceparent"),
        Some(&format!("00-{TRACE}-{PARENT}-01"))
    );
}

#[traced]
async fn forward_later() -> HashMap<String, String> {
    tokio::task::yield_now().await;
    let mut outgoing = HashMap::new();
    inject(&mut outgoing);
    outgoing
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repro_a_traced_future_carries_the_callers_context_with_nothing_installed() {
    let handle = {
        let _attached = extract(&HashMap::from([(
            "traceparent".to_owned(),
            format!("00-{TRACE}-{PARENT}-01"),
        )]))
        .attach();
        tokio::spawn(forward_later())
    };
    let outgoing = handle.await.unwrap();
    assert_eq!(
        outgoing.get("traceparent"),
        Some(&format!("00-{TRACE}-{PARENT}-01"))
    );
}
