//! W3C Baggage through `traced::propagation::{extract, inject}` and the
//! `traced::current` baggage helpers.

use std::collections::HashMap;

use opentelemetry::baggage::BaggageExt;
use traced::opentelemetry;
use traced::propagation::{extract, inject, inject_context};
use traced_tests::alloc::{CountingAllocator, allocated_bytes, allocations};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fn headers(values: &[&str]) -> http::HeaderMap {
    let mut map = http::HeaderMap::new();
    for value in values {
        map.append("baggage", http::HeaderValue::from_str(value).unwrap());
    }
    map
}

/// The extracted baggage as sorted `(key, value, metadata)`.
fn entries(values: &[&str]) -> Vec<(String, String, String)> {
    let cx = extract(&headers(values));
    let mut entries: Vec<_> = cx
        .baggage()
        .iter()
        .map(|(k, (v, m))| (k.to_string(), v.to_string(), m.as_str().to_owned()))
        .collect();
    entries.sort();
    entries
}

fn pairs(values: &[&str]) -> Vec<(String, String)> {
    entries(values)
        .into_iter()
        .map(|(k, v, _)| (k, v))
        .collect()
}

fn kv(k: &str, v: &str) -> (String, String) {
    (k.to_owned(), v.to_owned())
}

#[test]
fn members_are_read() {
    assert_eq!(
        pairs(&["userId=alice,serverNode=DF%2028"]),
        [kv("serverNode", "DF 28"), kv("userId", "alice")]
    );
}

#[test]
fn whitespace_around_keys_values_and_members_is_ignored() {
    assert_eq!(pairs(&[" a = 1 ,\tb=2\t"]), [kv("a", "1"), kv("b", "2")]);
}

#[test]
fn repeated_baggage_headers_are_merged() {
    assert_eq!(
        pairs(&["a=1", "b=2,c=3"]),
        [kv("a", "1"), kv("b", "2"), kv("c", "3")]
    );
}

#[test]
fn values_are_percent_decoded() {
    assert_eq!(pairs(&["k=%E2%9C%93%2C%3B%25"]), [kv("k", "✓,;%")]);
    // A `%` not followed by two hex digits stays as it is.
    assert_eq!(pairs(&["k=100%,j=%zz"]), [kv("j", "%zz"), kv("k", "100%")]);
}

#[test]
fn invalid_utf8_is_replaced_not_dropped() {
    assert_eq!(pairs(&["k=a%FFb"]), [kv("k", "a\u{fffd}b")]);
}

#[test]
fn values_may_contain_equals_signs() {
    assert_eq!(pairs(&["token=YWJj=="]), [kv("token", "YWJj==")]);
}

#[test]
fn empty_values_are_valid() {
    assert_eq!(pairs(&["k="]), [kv("k", "")]);
}

#[test]
fn properties_are_kept_as_metadata() {
    let got = entries(&["k=v;ttl=3600;private"]);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1, "v");
    assert_eq!(got[0].2, "ttl=3600;private");
}

/// Found by the fuzz target: properties were percent-decoded on the way
/// in, came out with a space, and the member was dropped on the next hop.
#[test]
fn repro_percent_encoded_property_survives_a_round_trip() {
    let cx = extract(&headers(&["k=v;p=a%20b"]));
    let (_, metadata) = cx.baggage().get_with_metadata("k").unwrap();
    assert_eq!(metadata.as_str(), "p=a%20b");
    let mut carrier: HashMap<String, String> = HashMap::new();
    inject_context(&cx, &mut carrier);
    assert_eq!(carrier["baggage"], "k=v;p=a%20b");
    let again = extract(&carrier);
    assert_eq!(
        again.baggage().get_with_metadata("k"),
        cx.baggage().get_with_metadata("k")
    );
}

/// Found by the fuzz target: a key holding `%` (a token character) was
/// percent-decoded, so it changed, or vanished, on every hop.
#[test]
fn repro_percent_in_a_key_is_not_decoded() {
    assert_eq!(pairs(&["k%41%00=v"]), [kv("k%41%00", "v")]);
    let cx = extract(&headers(&["k%41%00=v"]));
    let mut carrier: HashMap<String, String> = HashMap::new();
    inject_context(&cx, &mut carrier);
    assert_eq!(carrier["baggage"], "k%41%00=v");
    assert_eq!(
        extract(&carrier).baggage().get("k%41%00").unwrap().as_str(),
        "v"
    );
}

#[test]
fn invalid_properties_set_in_code_are_not_sent() {
    let cx = opentelemetry::Context::new().with_baggage([
        opentelemetry::baggage::KeyValueMetadata::new("k", "v", "ok=1;bad prop;flag"),
    ]);
    let mut carrier: HashMap<String, String> = HashMap::new();
    inject_context(&cx, &mut carrier);
    assert_eq!(carrier["baggage"], "k=v;ok=1;flag");
}

#[test]
fn invalid_members_are_dropped_one_by_one() {
    let got = pairs(&[
        "good=1,no-equals,=novalue,sp ace=1,quote=\"x\",back=a\\b,bad;prop=1,ok=2;bad prop",
    ]);
    assert_eq!(got, [kv("good", "1")]);
}

#[test]
fn empty_members_and_headers_are_ignored() {
    assert_eq!(pairs(&["", " , ,a=1,"]), [kv("a", "1")]);
    assert!(pairs(&[""]).is_empty());
}

#[test]
fn at_most_64_members_are_kept() {
    let header: Vec<String> = (0..100).map(|i| format!("k{i:03}=v")).collect();
    let got = pairs(&[&header.join(",")]);
    assert_eq!(got.len(), 64);
    assert_eq!(got.first().unwrap().0, "k000");
    assert_eq!(got.last().unwrap().0, "k063");
}

#[test]
fn oversized_members_are_dropped_whole_and_the_rest_kept() {
    let big = format!("big={}", "x".repeat(9000));
    assert_eq!(
        pairs(&[&format!("a=1,{big},b=2")]),
        [kv("a", "1"), kv("b", "2")]
    );
    // 8192 bytes in total at most: members that no longer fit are dropped.
    let half = "y".repeat(5000);
    let got = pairs(&[&format!("first={half},second={half},third=1")]);
    assert_eq!(got, [kv("first", &half), kv("third", "1")]);
}

/// What extracting `header` allocates, in allocations and bytes (after one
/// extraction, so that nothing set up once is counted).
fn extraction_cost(header: &str) -> (u64, u64) {
    let headers = headers(&[header]);
    drop(extract(&headers));
    let (_, count) = allocations(|| drop(extract(&headers)));
    let (_, bytes) = allocated_bytes(|| drop(extract(&headers)));
    (count, bytes)
}

/// A 390 KB member of `%FF`s was percent-decoded and re-encoded whole
/// (+2.7 MiB) before the 8192-byte budget dropped it.
#[test]
fn repro_a_member_beyond_the_budget_is_dropped_before_it_is_decoded() {
    let flood = format!("a=1,flood={},b=2", "%FF".repeat(130_000));
    assert_eq!(pairs(&[&flood]), [kv("a", "1"), kv("b", "2")]);
    let (_, bytes) = extraction_cost(&flood);
    let (_, kept_alone) = extraction_cost("a=1,b=2");
    assert!(
        bytes <= kept_alone + 1024,
        "extracting a 390 KB member that is dropped allocated {bytes} bytes, \
         {kept_alone} without it"
    );
}

/// Once the budget was full, every member after it was still decoded and
/// encoded before being dropped.
#[test]
fn repro_members_after_a_full_budget_are_not_read() {
    let full = format!("a={}", "x".repeat(8190));
    let after = ",k=%FF".repeat(60_000);
    assert_eq!(pairs(&[&format!("{full}{after}")]).len(), 1);
    let (count, _) = extraction_cost(&format!("{full}{after}"));
    let (kept_alone, _) = extraction_cost(&full);
    assert!(
        count <= kept_alone,
        "60 000 members after a full budget cost {count} allocations, {kept_alone} without them"
    );
}

#[test]
fn inject_percent_encodes_what_the_grammar_excludes() {
    let cx = opentelemetry::Context::new().with_baggage([
        opentelemetry::KeyValue::new("discount", "50%"),
        opentelemetry::KeyValue::new("path", "a\\b c,d;e\"f"),
    ]);
    let mut carrier: HashMap<String, String> = HashMap::new();
    inject_context(&cx, &mut carrier);
    let header = &carrier["baggage"];
    let mut members: Vec<&str> = header.split(',').collect();
    members.sort_unstable();
    assert_eq!(members, ["discount=50%25", "path=a%5Cb%20c%2Cd%3Be%22f"]);
    // And reads back as it was written.
    let back = extract(&carrier);
    assert_eq!(back.baggage().get("discount").unwrap().as_str(), "50%");
    assert_eq!(
        back.baggage().get("path").unwrap().as_str(),
        "a\\b c,d;e\"f"
    );
}

#[test]
fn current_baggage_helpers_set_read_and_propagate() {
    assert_eq!(traced::current::baggage("tenant"), None);
    {
        let _guard = traced::current::set_baggage([("tenant", "acme"), ("plan", "gold")]);
        assert_eq!(traced::current::baggage("tenant").as_deref(), Some("acme"));
        let mut carrier: HashMap<String, String> = HashMap::new();
        inject(&mut carrier);
        let mut members: Vec<&str> = carrier["baggage"].split(',').collect();
        members.sort_unstable();
        assert_eq!(members, ["plan=gold", "tenant=acme"]);

        let cx = traced::current::with_baggage([("tenant", "other")]);
        assert_eq!(cx.baggage().get("tenant").unwrap().as_str(), "other");
        assert_eq!(cx.baggage().get("plan").unwrap().as_str(), "gold");
    }
    assert_eq!(traced::current::baggage("tenant"), None);
}

#[test]
fn every_test_here_passes_on_a_user_provider() {
    traced_tests::rerun_on_a_user_provider();
}
