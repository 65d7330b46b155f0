//! `traced::propagation::extract` over every carrier, from arbitrary bytes.
//!
//! The input is a message: lines of `key:value` (a line without `:` is a
//! key with an empty value). The same message is offered as Kafka-style
//! headers, as an `http::HeaderMap` and as a `HashMap<String, String>`.
//! Extraction must never panic, and whatever it accepts must survive an
//! inject / extract round trip unchanged and be sent on as it came (an
//! unsampled caller's context under a new parent id each time).

#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use traced::opentelemetry::Context;
use traced::opentelemetry::baggage::BaggageExt;
use traced::opentelemetry::trace::TraceContextExt;
use traced::propagation::{extract, inject_context};

fn message(data: &[u8]) -> Vec<(String, Vec<u8>)> {
    data.split(|&b| b == b'\n')
        .map(|line| {
            let (key, value) = match line.iter().position(|&b| b == b':') {
                Some(at) => (&line[..at], &line[at + 1..]),
                None => (line, &[][..]),
            };
            (String::from_utf8_lossy(key).into_owned(), value.to_vec())
        })
        .collect()
}

fn round_trips(cx: &Context) {
    let mut out: HashMap<String, String> = HashMap::new();
    inject_context(cx, &mut out);
    let again = extract(&out);
    let (before, after) = (
        cx.span().span_context().clone(),
        again.span().span_context().clone(),
    );
    let new_parent = before.is_valid() && !before.is_sampled();
    assert_eq!(before.trace_id(), after.trace_id());
    assert_eq!(before.span_id() != after.span_id(), new_parent);
    assert_eq!(before.trace_flags(), after.trace_flags());
    assert_eq!(before.trace_state().header(), after.trace_state().header());
    let mut sent_again: HashMap<String, String> = HashMap::new();
    inject_context(&again, &mut sent_again);
    // The parent id left out: `00-<trace-id>-` and `-<flags>`.
    let without_parent_id = |sent: &HashMap<String, String>| {
        sent.get("traceparent")
            .map(|value| format!("{}{}", &value[..36], &value[52..]))
    };
    assert_eq!(without_parent_id(&out), without_parent_id(&sent_again));
    assert_eq!(
        out.get("traceparent") != sent_again.get("traceparent"),
        new_parent
    );
    assert_eq!(out.get("tracestate"), sent_again.get("tracestate"));
    let entries = |cx: &Context| {
        let mut entries: Vec<(String, String, String)> = cx
            .baggage()
            .iter()
            .map(|(k, (v, m))| (k.to_string(), v.to_string(), m.as_str().to_owned()))
            .collect();
        entries.sort();
        entries
    };
    assert_eq!(entries(cx), entries(&again));
}

fuzz_target!(|data: &[u8]| {
    let message = message(data);
    round_trips(&extract(&message));

    let mut headers = http::HeaderMap::new();
    for (key, value) in &message {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(key.as_bytes()),
            http::HeaderValue::from_bytes(value),
        ) {
            headers.append(name, value);
        }
    }
    round_trips(&extract(&headers));

    let map: HashMap<String, String> = message
        .iter()
        .map(|(k, v)| (k.clone(), String::from_utf8_lossy(v).into_owned()))
        .collect();
    round_trips(&extract(&map));
});
