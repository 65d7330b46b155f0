//! W3C Trace Context (Level 1 and 2) through `traced::propagation::extract`
//! and `inject`: every case of the specification's header grammar and of the
//! W3C test suite's traceparent / tracestate scenarios, and what the spans
//! started beneath send on. (`w3c_suite.rs` runs the suite itself.)

use std::collections::HashMap;

use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use traced::opentelemetry;
use traced::propagation::{extract, inject, inject_context};
use traced::traced;

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

/// What is sent on from the context extracted from `pairs`.
fn sent_on(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    let mut carrier = HashMap::new();
    inject_context(&extract(&headers(pairs)), &mut carrier);
    carrier
}

/// The `tracestate` sent on after receiving these fields ("" for none).
fn tracestate(traceparent: &str, tracestates: &[&str]) -> String {
    let mut pairs = vec![("traceparent", traceparent)];
    pairs.extend(tracestates.iter().map(|value| ("tracestate", *value)));
    sent_on(&pairs).remove("tracestate").unwrap_or_default()
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
fn sampled_and_random_flags_are_kept_and_reserved_ones_zeroed() {
    for (received, kept) in [("00", 0x00), ("01", 0x01), ("02", 0x02), ("03", 0x03)] {
        let sc = valid(&format!("00-{TRACE}-{PARENT}-{received}"));
        assert_eq!(sc.trace_flags(), TraceFlags::new(kept), "{received}");
    }
    for (received, kept) in [("ff", 0x03), ("09", 0x01), ("fe", 0x02), ("fc", 0x00)] {
        let sc = valid(&format!("00-{TRACE}-{PARENT}-{received}"));
        assert_eq!(sc.trace_flags(), TraceFlags::new(kept), "{received}");
    }
}

#[test]
fn repro_the_random_flag_is_sent_on() {
    let received = format!("00-{TRACE}-{PARENT}-02");
    let sent = &sent_on(&[("traceparent", &received)])["traceparent"];
    assert!(
        sent.starts_with(&format!("00-{TRACE}-")) && sent.ends_with("-02"),
        "{sent}"
    );
    let received = format!("00-{TRACE}-{PARENT}-03");
    assert_eq!(
        sent_on(&[("traceparent", &received)])["traceparent"],
        received
    );
    // Reserved flags are never sent.
    assert_eq!(
        sent_on(&[("traceparent", &format!("00-{TRACE}-{PARENT}-ff"))])["traceparent"],
        format!("00-{TRACE}-{PARENT}-03")
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
fn a_repeated_tracestate_key_keeps_its_first_member() {
    assert_eq!(tracestate(&ok_parent(), &["foo=1,foo=1"]), "foo=1");
    assert_eq!(tracestate(&ok_parent(), &["foo=1,foo=2"]), "foo=1");
    assert_eq!(tracestate(&ok_parent(), &["foo=1", "foo=1"]), "foo=1");
    assert_eq!(tracestate(&ok_parent(), &["foo=1", "foo=2"]), "foo=1");
    assert_eq!(tracestate(&ok_parent(), &["a=1,b=2,a=3"]), "a=1,b=2");
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
    // key = ( lcalpha / DIGIT ) 0*255 ( keychar ), `@` a keychar like `_`.
    for good in [
        "foo_bar-1*2/3",
        "tenant@system",
        "1tenant@system",
        "1foo",
        "foo@",
        "foo@@bar",
        "foo@bar@baz",
    ] {
        let member = format!("{good}=1");
        assert_eq!(tracestate(&p, &[&member, "ok=2"]), format!("{member},ok=2"));
    }
    for good in [
        "z".repeat(256),
        format!("{}@{}", "t".repeat(241), "v".repeat(14)),
        format!("{}@v", "t".repeat(242)),
        format!("t@{}", "v".repeat(15)),
    ] {
        let member = format!("{good}=1");
        assert_eq!(
            tracestate(&p, &["foo=1", &member]),
            format!("foo=1,{member}")
        );
    }
    for bad in [
        "@foo=1",
        "_foo=1",
        "Foo=1",
        "FOO=1",
        "foo.bar=1",
        "foo bar=1",
        "foo =1",
        "=1",
    ] {
        assert_eq!(tracestate(&p, &[&format!("ok=1,{bad}")]), "", "{bad:?}");
    }
    assert_eq!(
        tracestate(&p, &["foo=1", &format!("{}=1", "z".repeat(257))]),
        ""
    );
    assert_eq!(
        tracestate(
            &p,
            &[
                "foo=1",
                &format!("{}@{}=1", "t".repeat(241), "v".repeat(15))
            ]
        ),
        ""
    );
}

#[test]
fn repro_a_fourteen_character_system_id_is_sent_on() {
    let member = format!("t@{}=1", "v".repeat(14));
    assert_eq!(
        tracestate(&ok_parent(), &[&format!("a=1,{member},b=2")]),
        format!("a=1,{member},b=2")
    );
    assert_eq!(tracestate(&ok_parent(), &[&member]), member);
}

#[test]
fn opentelemetry_code_sees_the_members_its_trace_state_holds() {
    let long = format!("t@{}=1", "v".repeat(14));
    let sc = span_context(&[
        ("traceparent", &ok_parent()),
        ("tracestate", &format!("a=1,{long},foo@@bar=2,b=3")),
    ]);
    assert_eq!(sc.trace_state().header(), "a=1,b=3");
    assert_eq!(sc.trace_state().get("a"), Some("1"));
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
        let cx = extract(&message);
        assert!(cx.span().span_context().is_valid());
        let mut sent: HashMap<String, String> = HashMap::new();
        inject_context(&cx, &mut sent);
        assert!(!sent.contains_key("tracestate"), "{bad:?}: {sent:?}");
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
    let header = format!("00-{TRACE}-{PARENT}-03");
    let tracestate = format!("foo=1,{LONG_SYSTEM_ID}");
    let cx = extract(&headers(&[
        ("traceparent", &header),
        ("tracestate", &tracestate),
    ]));

    let mut map: HashMap<String, String> = HashMap::new();
    inject_context(&cx, &mut map);
    let mut message: Vec<(String, Vec<u8>)> = Vec::new();
    inject_context(&cx, &mut message);
    let mut http_headers = http::HeaderMap::new();
    inject_context(&cx, &mut http_headers);

    for cx in [extract(&map), extract(&message), extract(&http_headers)] {
        let sc = cx.span().span_context().clone();
        assert_eq!(sc.trace_id().to_string(), TRACE);
        assert_eq!(sc.span_id().to_string(), PARENT);
        assert_eq!(sc.trace_flags(), TraceFlags::new(0x03));
        assert_eq!(sc.trace_state().header(), "foo=1");
        let mut sent_on = HashMap::new();
        inject_context(&cx, &mut sent_on);
        assert_eq!(sent_on["traceparent"], header);
        assert_eq!(sent_on["tracestate"], tracestate);
    }
}

// ---- What the spans started beneath send on ----

const LONG_SYSTEM_ID: &str = "t@vvvvvvvvvvvvvv=1";

#[traced(kind = client, parent = cx)]
fn call_under(cx: &opentelemetry::Context) -> HashMap<String, String> {
    let mut carrier = HashMap::new();
    inject(&mut carrier);
    carrier
}

#[traced(kind = client, root)]
fn call_in_a_new_trace() -> HashMap<String, String> {
    let mut carrier = HashMap::new();
    inject(&mut carrier);
    carrier
}

fn received(traceparent: &str, tracestate: &str) -> opentelemetry::Context {
    extract(&headers(&[
        ("traceparent", traceparent),
        ("tracestate", tracestate),
    ]))
}

/// The span id of a `traceparent` this crate sent.
fn sent_span_id(traceparent: &str) -> SpanId {
    SpanId::from_hex(&traceparent[36..52]).unwrap()
}

#[test]
fn a_traced_span_sends_its_own_id_with_the_received_flags_and_tracestate() {
    traced::testing::install();
    let tracestate = format!("a=1,{LONG_SYSTEM_ID},foo@@bar=2");
    for flags in ["01", "03"] {
        let sent = call_under(&received(
            &format!("00-{TRACE}-{PARENT}-{flags}"),
            &tracestate,
        ));
        let traceparent = &sent["traceparent"];
        assert!(
            traceparent.starts_with(&format!("00-{TRACE}-")),
            "{traceparent}"
        );
        assert!(traceparent.ends_with(&format!("-{flags}")), "{traceparent}");
        let span_id = sent_span_id(traceparent);
        assert_ne!(span_id.to_string(), PARENT);
        assert_eq!(sent["tracestate"], tracestate);

        let span = traced::testing::finished_spans()
            .into_iter()
            .find(|span| span.span_context.span_id() == span_id)
            .expect("the span is recorded");
        assert_eq!(span.parent_span_id.to_string(), PARENT);
        assert_eq!(
            span.span_context.trace_flags(),
            TraceFlags::new(u8::from_str_radix(flags, 16).unwrap())
        );
    }
}

/// The parent-based sampler makes no span under an unsampled parent; the
/// caller's parent id went on as it came, where an OpenTelemetry SDK sends
/// the id of the non-recording span it makes (the W3C suite's random-flag
/// case asks for one).
#[test]
fn repro_under_an_unsampled_parent_a_new_parent_id_is_sent_with_the_callers_flags() {
    traced::testing::install();
    for flags in ["00", "02"] {
        let traceparent = format!("00-{TRACE}-{PARENT}-{flags}");
        let cx = received(&traceparent, LONG_SYSTEM_ID);
        let (first, second) = (call_under(&cx), call_under(&cx));
        for sent in [&first, &second] {
            let traceparent = &sent["traceparent"];
            assert!(
                traceparent.starts_with(&format!("00-{TRACE}-")),
                "{traceparent}"
            );
            assert!(traceparent.ends_with(&format!("-{flags}")), "{traceparent}");
            assert_ne!(sent_span_id(traceparent).to_string(), PARENT);
            assert_eq!(sent["tracestate"], LONG_SYSTEM_ID);
        }
        assert_ne!(
            first["traceparent"], second["traceparent"],
            "each outgoing request has a parent id of its own"
        );
        let sent = [&first, &second].map(|sent| sent_span_id(&sent["traceparent"]));
        assert!(
            traced::testing::finished_spans()
                .iter()
                .all(|span| !sent.contains(&span.span_context.span_id())),
            "nothing is recorded under an unsampled parent"
        );
    }
}

#[test]
fn a_context_extracted_and_sent_on_keeps_its_parent_id_when_sampled() {
    let sampled = format!("00-{TRACE}-{PARENT}-01");
    assert_eq!(
        sent_on(&[("traceparent", &sampled)])["traceparent"],
        sampled
    );
    let unsampled = sent_on(&[("traceparent", &format!("00-{TRACE}-{PARENT}-00"))]);
    let traceparent = &unsampled["traceparent"];
    assert!(traceparent.ends_with("-00"), "{traceparent}");
    assert_ne!(sent_span_id(traceparent).to_string(), PARENT);
}

#[test]
fn a_new_trace_sends_the_random_flag_and_not_the_callers_tracestate() {
    traced::testing::install();
    let _attached = received(&ok_parent(), "a=1").attach();
    let sent = call_in_a_new_trace();
    let traceparent = &sent["traceparent"];
    assert!(!traceparent.contains(TRACE), "{traceparent}");
    assert!(traceparent.ends_with("-03"), "{traceparent}");
    assert!(!sent.contains_key("tracestate"), "{sent:?}");
}

#[test]
fn a_span_of_the_opentelemetry_sdk_beneath_sends_the_same() {
    use opentelemetry::trace::{Span as _, Tracer, TracerProvider};
    let provider = traced::opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    let cx = received(&format!("00-{TRACE}-{PARENT}-03"), LONG_SYSTEM_ID);
    let span = provider.tracer("w3c").start_with_context("call", &cx);
    let span_id = span.span_context().span_id();
    let mut sent = HashMap::new();
    inject_context(&cx.with_span(span), &mut sent);
    assert_eq!(sent["traceparent"], format!("00-{TRACE}-{span_id}-03"));
    assert_eq!(sent["tracestate"], LONG_SYSTEM_ID);
}

#[test]
fn what_a_span_changes_in_its_trace_state_goes_first_and_the_rest_stays() {
    let cx = received(&ok_parent(), &format!("a=1,{LONG_SYSTEM_ID},b=2"));
    let remote = cx.span().span_context().clone();
    let changed = remote
        .trace_state()
        .insert("mine", "x")
        .and_then(|state| state.delete("b"))
        .unwrap();
    let mine = SpanContext::new(
        remote.trace_id(),
        SpanId::from_hex("b7ad6b7169203331").unwrap(),
        remote.trace_flags(),
        false,
        changed,
    );
    let mut sent = HashMap::new();
    inject_context(&cx.with_remote_span_context(mine), &mut sent);
    assert_eq!(sent["tracestate"], format!("mine=x,a=1,{LONG_SYSTEM_ID}"));
}
