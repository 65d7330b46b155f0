//! Edge trust: a context from an untrusted caller starts a new trace linked
//! to the caller's span; its baggage is kept only when asked.

use opentelemetry::baggage::BaggageExt;
use opentelemetry::trace::{SpanId, TraceContextExt};
use traced::opentelemetry;
use traced::propagation::{Trust, extract_with, incoming_link};
use traced::testing::capture;
use traced::traced;

const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

fn request() -> http::HeaderMap {
    let mut headers = http::HeaderMap::new();
    headers.insert(
        "traceparent",
        format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01")
            .parse()
            .unwrap(),
    );
    headers.insert("baggage", "user=mallory,debug=true".parse().unwrap());
    headers
}

#[traced(kind = server, parent = cx, link = incoming_link(cx))]
fn handle(cx: &opentelemetry::Context, #[attr] case: &str) -> Option<String> {
    traced::current::baggage("user")
}

fn handled(case: &str) -> Option<traced::testing::FinishedSpan> {
    traced::testing::finished_spans().into_iter().find(|span| {
        span.name == "handle"
            && span
                .attributes
                .iter()
                .any(|kv| kv.key.as_str() == "case" && kv.value.as_str() == case)
    })
}

#[test]
fn continue_trusts_the_caller() {
    let cx = extract_with(&request(), Trust::Continue);
    assert_eq!(
        cx.span().span_context().trace_id().to_string(),
        CALLER_TRACE
    );
    assert!(incoming_link(&cx).is_none());
    let (user, trace) = capture(|| handle(&cx, "continue"));
    assert_eq!(user.as_deref(), Some("mallory"));
    // Continued: the span is in the caller's trace, not the capture's.
    assert!(trace.spans().is_empty());
    let span = handled("continue").expect("the span was exported");
    assert_eq!(span.span_context.trace_id().to_string(), CALLER_TRACE);
    assert_eq!(span.parent_span_id.to_string(), CALLER_SPAN);
    assert!(span.links.links.is_empty());
}

#[test]
fn new_root_links_to_the_caller_and_drops_its_baggage() {
    // Spans reach the in-memory exporter only once it is installed.
    traced::testing::install();
    let cx = extract_with(&request(), Trust::NewRootWithLink);
    assert!(!cx.span().span_context().is_valid());
    assert!(cx.baggage().is_empty());

    let user = handle(&cx, "new-root");
    assert_eq!(user, None);
    let span = handled("new-root").expect("the span was exported");
    assert_eq!(span.parent_span_id, SpanId::INVALID, "a new root");
    assert_ne!(span.span_context.trace_id().to_string(), CALLER_TRACE);
    let link = &span.links.links[0].span_context;
    assert_eq!(link.trace_id().to_string(), CALLER_TRACE);
    assert_eq!(link.span_id().to_string(), CALLER_SPAN);
    assert!(link.is_remote());
}

#[test]
fn new_root_can_keep_the_baggage() {
    // Spans reach the in-memory exporter only once it is installed.
    traced::testing::install();
    let cx = extract_with(&request(), Trust::NewRootWithLinkKeepBaggage);
    assert!(!cx.span().span_context().is_valid());
    assert_eq!(cx.baggage().get("user").unwrap().as_str(), "mallory");
    assert_eq!(cx.baggage().get("debug").unwrap().as_str(), "true");
    assert!(incoming_link(&cx).is_some());
}

#[test]
fn nothing_to_link_when_the_caller_sent_nothing_valid() {
    // Spans reach the in-memory exporter only once it is installed.
    traced::testing::install();
    let mut headers = http::HeaderMap::new();
    headers.insert("traceparent", "00-garbage".parse().unwrap());
    let cx = extract_with(&headers, Trust::NewRootWithLink);
    assert!(incoming_link(&cx).is_none());
    assert!(!cx.span().span_context().is_valid());
}

#[test]
fn the_caller_cannot_force_sampling_of_the_new_root() {
    // Spans reach the in-memory exporter only once it is installed.
    traced::testing::install();
    // Sampled flag set by the caller; the new root's sampling is decided
    // locally (the test provider samples everything), and a not-sampled
    // caller cannot switch it off either.
    let mut headers = request();
    headers.insert(
        "traceparent",
        format!("00-{CALLER_TRACE}-{CALLER_SPAN}-00")
            .parse()
            .unwrap(),
    );
    let cx = extract_with(&headers, Trust::NewRootWithLink);
    handle(&cx, "unsampled-caller");
    let span = handled("unsampled-caller").expect("sampled and exported");
    assert!(span.span_context.is_sampled());
}

#[test]
fn every_test_here_passes_on_a_user_provider() {
    traced_tests::rerun_on_a_user_provider();
}
