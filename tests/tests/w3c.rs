//! W3C Trace Context (Level 1 and 2) through `traced::propagation::extract`
//! and `inject`: every case of the specification's header grammar and of the
//! W3C test suite's traceparent / tracestate scenarios.

use std::collections::HashMap;

use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use traced::opentelemetry;
use traced::propagation::{extract, inject_context};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";

fn headers(pairs: &[(&str, &str)]) -> http::HeaderMap {
    let mut map = http::HeaderMap::new();
    for (key, value) in pairs {
        map.append(
            http::HeaderName::from_bytes(key.as_bytes()).unwrap(),
            http::HeaderValue::from_str(value).unwrap(),
        );
    }
    map
}

fn span_context(pairs: &[(&str, &str)]) -> SpanContext {
    extract(&headers(pairs)).span().span_context().clone()
}

fn parent(value: &str) -> SpanContext {
    span_context(&[("traceparent", value)])
}

fn valid(value: &str) -> SpanContext {
    let sc = parent(value);
    assert!(sc.is_valid(), "{value:?} should be accepted");
    assert!(sc.is_remote());
    sc
}

fn invalid(value: &str) {
    let sc = parent(value);
    assert!(
        !sc.is_valid(),
        "{value:?} should start a new trace, got {sc:?}"
    );
}

fn tracestate(traceparent: &str, tracestates: &[&str]) -> String {
    let mut pairs = vec![("traceparent", traceparent)];
    pairs.extend(tracestates.iter().map(|value| ("tracestate", *value)));
    span_context(&pairs).trace_state().header()
}

fn ok_parent() -> String {
    format!("00-{TRACE}-{PARENT}-01")
}

#[test]
fn version_00_is_parsed() {
    let sc = valid(&format!("00-{TRACE}-{PARENT}-01"));
    assert_eq!(sc.trace_id().to_string(), TRACE);
    assert_eq!(sc.span_id().to_string(), PARENT);
    assert!(sc.is_sampled());
    assert!(!valid(&format!("00-{TRACE}-{PARENT}-00")).is_sampled());
}

#[test]
fn unknown_flags_are_accepted_and_only_sampled_is_kept() {
    assert_eq!(
        valid(&format!("00-{TRACE}-{PARENT}-ff")).trace_flags(),
        TraceFlags::SAMPLED
    );
    assert_eq!(
        valid(&format!("00-{TRACE}-{PARENT}-02")).trace_flags(),
        TraceFlags::NOT_SAMPLED
    );
    assert_eq!(
        valid(&format!("00-{TRACE}-{PARENT}-09")).trace_flags(),
        TraceFlags::SAMPLED
    );
}

#[test]
fn version_ff_is_invalid() {
    invalid(&format!("ff-{TRACE}-{PARENT}-01"));
}

#[test]
fn version_must_be_two_lowercase_hex_digits() {
    invalid(&format!("0-{TRACE}-{PARENT}-01"));
    invalid(&format!("000-{TRACE}-{PARENT}-01"));
    invalid(&format!("0A-{TRACE}-{PARENT}-01"));
    invalid(&format!("qw-{TRACE}-{PARENT}-01"));
    invalid(&format!("+0-{TRACE}-{PARENT}-01"));
}

#[test]
fn higher_versions_are_parsed_by_their_first_four_fields() {
    let sc = valid(&format!("cc-{TRACE}-{PARENT}-01"));
    assert_eq!(sc.trace_id().to_string(), TRACE);
    valid(&format!(
        "cc-{TRACE}-{PARENT}-01-what-the-future-will-be-like"
    ));
    valid(&format!("01-{TRACE}-{PARENT}-01-"));
    valid(&format!("fe-{TRACE}-{PARENT}-00-x"));
    invalid(&format!(
        "cc-{TRACE}-{PARENT}-01.what-the-future-will-not-be-like"
    ));
    invalid(&format!("cc-{TRACE}-{PARENT}-010"));
    invalid(&format!("cc-{TRACE}-{PARENT}"));
}

#[test]
fn version_00_admits_no_extra_fields() {
    invalid(&format!(
        "00-{TRACE}-{PARENT}-01-what-the-future-will-be-like"
    ));
    invalid(&format!("00-{TRACE}-{PARENT}-01-"));
    invalid(&format!("00-{TRACE}-{PARENT}-01x"));
}

#[test]
fn all_zero_ids_are_invalid() {
    invalid(&format!("00-{}-{PARENT}-01", "0".repeat(32)));
    invalid(&format!("00-{TRACE}-{}-01", "0".repeat(16)));
    invalid(&format!("00-{}-{}-01", "0".repeat(32), "0".repeat(16)));
}

#[test]
fn uppercase_hex_is_invalid() {
    invalid(&format!("00-{}-{PARENT}-01", TRACE.to_uppercase()));
    invalid(&format!("00-{TRACE}-{}-01", PARENT.to_uppercase()));
    invalid(&format!("00-{TRACE}-{PARENT}-0A"));
    invalid(&format!("00-4BF92f3577b34da6a3ce929d0e0e4736-{PARENT}-01"));
}

#[test]
fn bad_flags_are_invalid() {
    invalid(&format!("00-{TRACE}-{PARENT}-0"));
    invalid(&format!("00-{TRACE}-{PARENT}-001"));
    invalid(&format!("00-{TRACE}-{PARENT}-xy"));
    invalid(&format!("00-{TRACE}-{PARENT}-+1"));
    invalid(&format!("00-{TRACE}-{PARENT}-.1"));
    invalid(&format!("00-{TRACE}-{PARENT}-"));
    invalid(&format!("00-{TRACE}-{PARENT}"));
}

#[test]
fn wrong_lengths_and_characters_in_ids_are_invalid() {
    invalid(&format!("00-{}-{PARENT}-01", &TRACE[1..]));
    invalid(&format!("00-{TRACE}0-{PARENT}-01"));
    invalid(&format!("00-{TRACE}-{}-01", &PARENT[1..]));
    invalid(&format!("00-{TRACE}-{PARENT}0-01"));
    invalid(&format!("00-+{}-{PARENT}-01", &TRACE[1..]));
    invalid(&format!("00-{}g-{PARENT}-01", &TRACE[1..]));
    invalid(&format!("00-{TRACE}-{}.-01", &PARENT[1..]));
    invalid(&format!("00_{TRACE}_{PARENT}_01"));
}

#[test]
fn whitespace_around_the_value_is_ignored_and_inside_it_is_invalid() {
    valid(&format!(" 00-{TRACE}-{PARENT}-01"));
    valid(&format!("00-{TRACE}-{PARENT}-01\t"));
    valid(&format!("\t 00-{TRACE}-{PARENT}-01 \t"));
    invalid(&format!("00 -{TRACE}-{PARENT}-01"));
    invalid(&format!("00-{TRACE} -{PARENT}-01"));
    invalid(&format!("00-{TRACE}-{PARENT}- 1"));
}

#[test]
fn empty_and_missing_traceparent_start_a_new_trace() {
    invalid("");
    invalid(" ");
    assert!(!span_context(&[]).is_valid());
    assert!(!span_context(&[("tracestate", "foo=1")]).is_valid());
}

#[test]
fn repeated_traceparent_is_invalid() {
    let ok = ok_parent();
    assert!(!span_context(&[("traceparent", &ok), ("traceparent", &ok)]).is_valid());
    let other = format!("00-{TRACE}-{}-01", "b7ad6b7169203331");
    assert!(!span_context(&[("traceparent", &ok), ("traceparent", &other)]).is_valid());
    assert!(!span_context(&[("traceparent", &ok), ("traceparent", "")]).is_valid());
    // A single field holding a combined value is just as invalid.
    invalid(&format!("{ok},{ok}"));
}

#[test]
fn traceparent_names_are_case_insensitive_in_http_headers() {
    assert!(span_context(&[("TraceParent", &ok_parent())]).is_valid());
}

#[test]
fn tracestate_is_parsed() {
    assert_eq!(tracestate(&ok_parent(), &["foo=1,bar=2"]), "foo=1,bar=2");
}

#[test]
fn repeated_tracestate_is_merged_in_order() {
    assert_eq!(tracestate(&ok_parent(), &["foo=1", "bar=2"]), "foo=1,bar=2");
    assert_eq!(
        tracestate(&ok_parent(), &["foo=1,", ",bar=2"]),
        "foo=1,bar=2"
    );
}

#[test]
fn tracestate_whitespace_and_empty_members_are_ignored() {
    assert_eq!(
        tracestate(&ok_parent(), &[" foo=1 ,\t bar=2\t,,"]),
        "foo=1,bar=2"
    );
    assert_eq!(tracestate(&ok_parent(), &["foo=a b"]), "foo=a b");
    assert_eq!(tracestate(&ok_parent(), &[""]), "");
    assert_eq!(tracestate(&ok_parent(), &[" , ,"]), "");
}

#[test]
fn tracestate_with_duplicate_keys_is_dropped() {
    assert_eq!(tracestate(&ok_parent(), &["foo=1,foo=2"]), "");
    assert_eq!(tracestate(&ok_parent(), &["foo=1", "foo=1"]), "");
    // The trace itself continues.
    assert!(span_context(&[("traceparent", &ok_parent()), ("tracestate", "a=1,a=2")]).is_valid());
}

#[test]
fn tracestate_of_more_than_32_members_is_dropped() {
    let members = |n: usize| {
        (0..n)
            .map(|i| format!("k{i}=v"))
            .collect::<Vec<_>>()
            .join(",")
    };
    assert_eq!(
        tracestate(&ok_parent(), &[&members(32)]).split(',').count(),
        32
    );
    assert_eq!(tracestate(&ok_parent(), &[&members(33)]), "");
    // Split over repeated fields, the limit applies to the merged list.
    assert_eq!(
        tracestate(&ok_parent(), &[&members(20), &members(33)[..]]),
        ""
    );
}

#[test]
fn tracestate_key_grammar() {
    let p = ok_parent();
    assert_eq!(tracestate(&p, &["foo_bar-1*2/3=1"]), "foo_bar-1*2/3=1");
    assert_eq!(tracestate(&p, &["tenant@system=1"]), "tenant@system=1");
    assert_eq!(tracestate(&p, &["1tenant@system=1"]), "1tenant@system=1");
    let longest = "k".repeat(256);
    assert_eq!(
        tracestate(&p, &[&format!("{longest}=1")]),
        format!("{longest}=1")
    );
    for bad in [
        "1foo=1",
        "Foo=1",
        "foo.bar=1",
        "foo bar=1",
        "=1",
        "@sys=1",
        "t@=1",
        "t@1sys=1",
        "a@b@c=1",
    ] {
        assert_eq!(tracestate(&p, &[&format!("ok=1,{bad}")]), "", "{bad:?}");
    }
    assert_eq!(tracestate(&p, &[&format!("{}=1", "k".repeat(257))]), "");
    assert_eq!(tracestate(&p, &[&format!("{}@sys=1", "t".repeat(242))]), "");
    assert_eq!(tracestate(&p, &[&format!("t@{}=1", "s".repeat(15))]), "");
}

#[test]
fn tracestate_value_grammar() {
    let p = ok_parent();
    assert_eq!(tracestate(&p, &["foo= !\"#~"]), "foo= !\"#~");
    for bad in ["foo=", "foo=a=b", "foo", "foo=\tx"] {
        assert_eq!(tracestate(&p, &[&format!("ok=1,{bad}")]), "", "{bad:?}");
    }
    // Control and non-ASCII bytes cannot be HTTP header text; a message
    // header can carry them.
    for bad in ["foo=\u{7f}", "foo=\u{1}", "foo=caf\u{e9}"] {
        let message: Vec<(String, Vec<u8>)> = vec![
            ("traceparent".into(), p.clone().into_bytes()),
            ("tracestate".into(), format!("ok=1,{bad}").into_bytes()),
        ];
        let sc = extract(&message).span().span_context().clone();
        assert!(sc.is_valid());
        assert_eq!(sc.trace_state().header(), "", "{bad:?}");
    }
    let longest = "v".repeat(256);
    assert_eq!(
        tracestate(&p, &[&format!("foo={longest}")]),
        format!("foo={longest}")
    );
    assert_eq!(tracestate(&p, &[&format!("foo={}", "v".repeat(257))]), "");
}

#[test]
fn tracestate_is_ignored_without_a_valid_traceparent() {
    let sc = span_context(&[("traceparent", "garbage"), ("tracestate", "foo=1")]);
    assert!(!sc.is_valid());
    assert_eq!(sc.trace_state().header(), "");
}

fn injected(sc: SpanContext) -> HashMap<String, String> {
    let cx = opentelemetry::Context::new().with_remote_span_context(sc);
    let mut carrier = HashMap::new();
    inject_context(&cx, &mut carrier);
    carrier
}

#[test]
fn inject_writes_version_00_lowercase() {
    let sc = valid(&format!("00-{TRACE}-{PARENT}-01"));
    let carrier = injected(sc);
    assert_eq!(carrier["traceparent"], format!("00-{TRACE}-{PARENT}-01"));
}

#[test]
fn inject_does_not_send_an_empty_tracestate() {
    let carrier = injected(valid(&ok_parent()));
    assert!(!carrier.contains_key("tracestate"), "{carrier:?}");
    let state = TraceState::from_key_value([("foo", "1")]).unwrap();
    let sc = SpanContext::new(
        TraceId::from_hex(TRACE).unwrap(),
        SpanId::from_hex(PARENT).unwrap(),
        TraceFlags::SAMPLED,
        true,
        state,
    );
    assert_eq!(injected(sc)["tracestate"], "foo=1");
}

#[test]
fn inject_writes_nothing_without_a_span() {
    assert!(injected(SpanContext::empty_context()).is_empty());
}

#[test]
fn a_valid_context_round_trips_through_every_carrier() {
    let header = format!("00-{TRACE}-{PARENT}-01");
    let cx = extract(&headers(&[
        ("traceparent", &header),
        ("tracestate", "foo=1"),
    ]));

    let mut map: HashMap<String, String> = HashMap::new();
    inject_context(&cx, &mut map);
    let mut message: Vec<(String, Vec<u8>)> = Vec::new();
    inject_context(&cx, &mut message);
    let mut http_headers = http::HeaderMap::new();
    inject_context(&cx, &mut http_headers);

    for sc in [
        extract(&map).span().span_context().clone(),
        extract(&message).span().span_context().clone(),
        extract(&http_headers).span().span_context().clone(),
    ] {
        assert_eq!(sc.trace_id().to_string(), TRACE);
        assert_eq!(sc.span_id().to_string(), PARENT);
        assert!(sc.is_sampled());
        assert_eq!(sc.trace_state().header(), "foo=1");
    }
}
