//! Carriers: a real traced span's context crosses every carrier and comes
//! out as the parent of the span on the other side.

use std::collections::HashMap;

use opentelemetry::trace::TraceContextExt;
use traced::opentelemetry;
use traced::propagation::{Carrier, extract, inject};
use traced::testing::capture;
use traced::traced;

const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

#[traced(kind = client)]
fn call_downstream<C: Carrier + Default>() -> C {
    let mut carrier = C::default();
    inject(&mut carrier);
    carrier
}

#[traced(kind = server, parent = cx)]
fn serve(cx: &opentelemetry::Context) {}

fn round_trip<C: Carrier + Default>() {
    let (_, trace) = capture(|| {
        let carrier: C = call_downstream();
        serve(&extract(&carrier));
    });
    let client = trace.span("call_downstream");
    let server = trace.span("serve");
    assert_eq!(server.parent_span_id, client.span_context.span_id());
    assert_eq!(
        server.span_context.trace_id(),
        client.span_context.trace_id()
    );
    assert!(server.parent_span_is_remote);
}

#[test]
fn http_header_map_carries_the_context() {
    round_trip::<http::HeaderMap>();
}

#[test]
fn string_map_carries_the_context() {
    round_trip::<HashMap<String, String>>();
}

#[test]
fn message_headers_carry_the_context() {
    round_trip::<Vec<(String, Vec<u8>)>>();
}

/// A carrier written by a user in a few lines.
#[derive(Default)]
struct Attributes(Vec<(String, String)>);

impl Carrier for Attributes {
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    fn set(&mut self, key: &str, value: String) {
        self.0.retain(|(k, _)| k != key);
        self.0.push((key.to_owned(), value));
    }
    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(k, _)| k.as_str()).collect()
    }
}

#[test]
fn a_custom_carrier_carries_the_context() {
    round_trip::<Attributes>();
}

#[test]
fn message_headers_show_every_repeated_value() {
    let mut message: Vec<(String, Vec<u8>)> = vec![
        ("traceparent".into(), VALID.into()),
        ("TraceParent".into(), VALID.into()),
    ];
    assert_eq!(message.get_all("traceparent").len(), 2);
    assert!(!extract(&message).span().span_context().is_valid());
    message.set("traceparent", VALID.to_owned());
    assert_eq!(message.get_all("traceparent"), [VALID]);
    assert!(extract(&message).span().span_context().is_valid());
}

#[test]
fn unreadable_values_still_count_as_repeats() {
    let mut message: Vec<(String, Vec<u8>)> = vec![("traceparent".into(), VALID.into())];
    assert!(extract(&message).span().span_context().is_valid());
    message.push(("traceparent".into(), vec![0xff, 0xfe]));
    assert!(!extract(&message).span().span_context().is_valid());

    let mut headers = http::HeaderMap::new();
    headers.append("traceparent", VALID.parse().unwrap());
    headers.append(
        "traceparent",
        http::HeaderValue::from_bytes(b"caf\xe9").unwrap(),
    );
    assert!(!extract(&headers).span().span_context().is_valid());
}

#[test]
fn string_map_lookup_falls_back_to_any_case() {
    let mut map: HashMap<String, String> = HashMap::new();
    map.insert("TRACEPARENT".into(), VALID.into());
    assert!(extract(&map).span().span_context().is_valid());
    map.set("traceparent", VALID.to_owned());
    assert_eq!(map.len(), 1, "set replaces the key in any case");
}

#[test]
fn header_map_set_replaces_every_repeated_value() {
    let mut headers = http::HeaderMap::new();
    headers.append("traceparent", "old".parse().unwrap());
    headers.append("traceparent", "older".parse().unwrap());
    Carrier::set(&mut headers, "traceparent", VALID.to_owned());
    assert_eq!(Carrier::get_all(&headers, "traceparent"), [VALID]);
    // A value that is not header text is not written.
    Carrier::set(&mut headers, "baggage", "a=\n".to_owned());
    assert!(Carrier::get(&headers, "baggage").is_none());
}

#[test]
fn every_test_here_passes_on_a_user_provider() {
    traced_tests::rerun_on_a_user_provider();
}
