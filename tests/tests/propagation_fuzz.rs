//! Bounded, deterministic fuzzing of `extract` over every carrier, runnable
//! on stable in `cargo test`: many generated and mutated headers, asserting
//! that nothing panics and that what comes out obeys the specifications.
//! (`fuzz/` holds the coverage-guided cargo-fuzz target for the same code.)

use std::collections::HashMap;

use opentelemetry::Context;
use opentelemetry::baggage::BaggageExt;
use opentelemetry::trace::TraceContextExt;
use traced::opentelemetry;
use traced::propagation::{Carrier, extract, inject_context};

const ROUNDS: usize = 20_000;

/// SplitMix64: small, fast, and the same sequence on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const TRACEPARENTS: &[&str] = &[
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-02",
    "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09-future",
    "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
];
const TRACESTATES: &[&str] = &[
    "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7",
    "a@b=1, c=2 ,,d=e f",
    "t@vvvvvvvvvvvvvv=1,foo@@bar=2,foo@=3,1a=4,a@b=5",
    "",
];
const BAGGAGES: &[&str] = &[
    "userId=alice,serverNode=DF%2028,isProduction=false;ttl=30",
    "k=%E2%9C%93%FF;p;q=1",
    "",
];
const KEYS: &[&str] = &[
    "traceparent",
    "tracestate",
    "baggage",
    "TraceParent",
    "b3",
    "x-other",
];
const ALPHABET: &[u8] = b"0123456789abcdefABCDEF-=,; \t%@*/_.\"\\\x00\x7f\xc3\xa9\xff";

fn mutate(rng: &mut Rng, seed: &str) -> Vec<u8> {
    let mut bytes = seed.as_bytes().to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(6) {
            0 if at < bytes.len() => bytes[at] = ALPHABET[rng.below(ALPHABET.len())],
            1 => bytes.insert(at, ALPHABET[rng.below(ALPHABET.len())]),
            2 if at < bytes.len() => {
                bytes.remove(at);
            }
            3 => bytes.truncate(at),
            4 => {
                let copy = bytes.clone();
                bytes.extend_from_slice(b",");
                bytes.extend_from_slice(&copy);
            }
            _ => bytes.make_ascii_uppercase(),
        }
    }
    if rng.below(20) == 0 {
        // Occasionally a very long value.
        let filler = vec![b'a' + rng.below(26) as u8; 10_000];
        bytes.extend_from_slice(&filler);
    }
    bytes
}

fn generate(rng: &mut Rng) -> Vec<(String, Vec<u8>)> {
    let mut message = Vec::new();
    for _ in 0..rng.below(5) {
        let key = rng.pick(KEYS).to_owned();
        let seeds = match key.to_ascii_lowercase().as_str() {
            "traceparent" => TRACEPARENTS,
            "tracestate" => TRACESTATES,
            _ => BAGGAGES,
        };
        let value = match rng.below(8) {
            0 => (0..rng.below(80)).map(|_| rng.next() as u8).collect(),
            1..=3 => rng.pick(seeds).as_bytes().to_vec(),
            _ => {
                let seed = rng.pick(seeds);
                mutate(rng, seed)
            }
        };
        message.push((key, value));
    }
    message
}

/// The specification's grammar for one `tracestate` list-member, written
/// independently of the implementation: the oracle for what may be sent.
fn spec_member(member: &str) -> bool {
    let Some((key, value)) = member.split_once('=') else {
        return false;
    };
    let key_ok = (1..=256).contains(&key.len())
        && key.bytes().enumerate().all(|(at, b)| {
            matches!(b, b'a'..=b'z' | b'0'..=b'9')
                || (at > 0 && matches!(b, b'_' | b'-' | b'*' | b'/' | b'@'))
        });
    let value_ok = (1..=256).contains(&value.len())
        && !value.ends_with(' ')
        && value
            .bytes()
            .all(|b| matches!(b, 0x20..=0x2b | 0x2d..=0x3c | 0x3e..=0x7e));
    key_ok && value_ok
}

/// The specification's grammar for a single `traceparent`, written
/// independently of the implementation: the oracle for what must be
/// accepted.
fn spec_accepts(values: &[&[u8]]) -> bool {
    let [value] = values else { return false };
    let Ok(text) = std::str::from_utf8(value) else {
        return false;
    };
    let text = text.trim_matches(|c| c == ' ' || c == '\t');
    let fields: Vec<&str> = text.splitn(5, '-').collect();
    let hex = |s: &str, n: usize| {
        s.len() == n && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    let nonzero = |s: &str| s.bytes().any(|b| b != b'0');
    if fields.len() < 4 {
        return false;
    }
    let (version, trace, parent) = (fields[0], fields[1], fields[2]);
    let (flags, rest) = (fields[3], fields.get(4));
    hex(version, 2)
        && version != "ff"
        && hex(trace, 32)
        && nonzero(trace)
        && hex(parent, 16)
        && nonzero(parent)
        && hex(flags, 2)
        && (rest.is_none() || version != "00")
}

/// A `traceparent` this crate sent, its parent id left out.
fn without_parent_id(traceparent: &str) -> String {
    format!("{}{}", &traceparent[..36], &traceparent[52..])
}

fn check(message: &[(String, Vec<u8>)], cx: &Context, carrier_name: &str) {
    let sc = cx.span().span_context().clone();
    let traceparents: Vec<&[u8]> = message
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("traceparent"))
        .map(|(_, v)| v.as_slice())
        .collect();
    if carrier_name == "vec" {
        assert_eq!(
            sc.is_valid(),
            spec_accepts(&traceparents),
            "{carrier_name}: {message:?}"
        );
    } else if sc.is_valid() {
        // Maps and header maps keep a subset of the message; what they
        // accept must still be acceptable on its own.
        // (The string map holds the lossy UTF-8 text of the bytes.)
        let acceptable = traceparents
            .iter()
            .any(|v| spec_accepts(&[v]) || spec_accepts(&[String::from_utf8_lossy(v).as_bytes()]));
        assert!(acceptable, "{carrier_name}: {message:?}");
    }
    assert!(
        sc.trace_state()
            .header()
            .split(',')
            .filter(|m| !m.is_empty())
            .count()
            <= 32
    );
    assert!(cx.baggage().len() <= 64);

    // What is sent is valid: at most 32 members, each key once.
    let mut out: HashMap<String, String> = HashMap::new();
    inject_context(cx, &mut out);
    if let Some(tracestate) = out.get("tracestate") {
        let members: Vec<&str> = tracestate.split(',').collect();
        assert!(members.len() <= 32, "{carrier_name}: {message:?} → {out:?}");
        assert!(
            members.iter().all(|member| spec_member(member)),
            "{carrier_name}: {message:?} → {out:?}"
        );
        let mut keys: Vec<&str> = members.iter().filter_map(|m| m.split('=').next()).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), members.len(), "{carrier_name}: {out:?}");
    }

    // What was accepted round-trips unchanged, and is sent on as it came;
    // an unsampled caller's context goes on under a new parent id each time.
    let again = extract(&out);
    let sc2 = again.span().span_context().clone();
    let new_parent = sc.is_valid() && !sc.is_sampled();
    assert_eq!(sc2.trace_id(), sc.trace_id());
    assert_eq!(
        sc2.span_id() != sc.span_id(),
        new_parent,
        "{carrier_name}: {message:?} → {out:?}"
    );
    assert_eq!(sc2.trace_flags(), sc.trace_flags());
    assert_eq!(sc2.trace_state().header(), sc.trace_state().header());
    let mut out2: HashMap<String, String> = HashMap::new();
    inject_context(&again, &mut out2);
    assert_eq!(
        out2.get("traceparent")
            .map(|value| without_parent_id(value)),
        out.get("traceparent").map(|value| without_parent_id(value)),
        "{carrier_name}: {message:?}"
    );
    assert_eq!(
        out2.get("traceparent") != out.get("traceparent"),
        new_parent,
        "{carrier_name}: {message:?}"
    );
    assert_eq!(
        out2.get("tracestate"),
        out.get("tracestate"),
        "{carrier_name}: {message:?}"
    );
    let mut before: Vec<_> = cx
        .baggage()
        .iter()
        .map(|(k, (v, m))| (k.to_string(), v.to_string(), m.as_str().to_owned()))
        .collect();
    let mut after: Vec<_> = again
        .baggage()
        .iter()
        .map(|(k, (v, m))| (k.to_string(), v.to_string(), m.as_str().to_owned()))
        .collect();
    before.sort();
    after.sort();
    assert_eq!(before, after, "{carrier_name}: {message:?} → {out:?}");
}

fn as_header_map(message: &[(String, Vec<u8>)]) -> http::HeaderMap {
    let mut headers = http::HeaderMap::new();
    for (key, value) in message {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(key.as_bytes()),
            http::HeaderValue::from_bytes(value),
        ) {
            headers.append(name, value);
        }
    }
    headers
}

fn as_string_map(message: &[(String, Vec<u8>)]) -> HashMap<String, String> {
    message
        .iter()
        .map(|(k, v)| (k.clone(), String::from_utf8_lossy(v).into_owned()))
        .collect()
}

#[test]
fn extract_never_panics_and_obeys_the_specs_on_generated_input() {
    let mut rng = Rng(0x7472_6163_6564);
    let mut accepted = 0;
    for _ in 0..ROUNDS {
        let message = generate(&mut rng);
        let cx = extract(&message);
        accepted += usize::from(cx.span().span_context().is_valid());
        check(&message, &cx, "vec");
        check(&message, &extract(&as_header_map(&message)), "header map");
        check(&message, &extract(&as_string_map(&message)), "string map");
    }
    eprintln!("{ROUNDS} rounds x 3 carriers, {accepted} valid contexts");
    // The generator must reach both sides of the grammar to mean anything.
    assert!(
        accepted > ROUNDS / 50,
        "only {accepted} valid contexts generated"
    );
    assert!(
        accepted < ROUNDS / 2,
        "{accepted} valid contexts: too few invalid ones"
    );
}

#[test]
fn a_custom_carrier_sees_the_same_rules() {
    struct Pairs(Vec<(String, Vec<u8>)>);
    impl Carrier for Pairs {
        fn get(&self, key: &str) -> Option<&str> {
            self.0.get(key)
        }
        fn set(&mut self, key: &str, value: String) {
            self.0.set(key, value);
        }
        fn keys(&self) -> Vec<&str> {
            Carrier::keys(&self.0)
        }
    }
    let mut rng = Rng(42);
    for _ in 0..ROUNDS / 10 {
        let message = generate(&mut rng);
        // Without `get_all` a carrier shows only the first value: never a
        // panic, and what is accepted is still a valid traceparent.
        let cx = extract(&Pairs(message.clone()));
        check(&message, &cx, "custom");
    }
}

/// The cargo-fuzz target's input format: lines of `key:value`.
fn parse_corpus_entry(data: &[u8]) -> Vec<(String, Vec<u8>)> {
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

#[test]
fn the_fuzz_seed_corpus_replays_cleanly() {
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/extract");
    let mut entries = 0;
    for entry in std::fs::read_dir(&corpus).unwrap() {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        let message = parse_corpus_entry(&data);
        check(&message, &extract(&message), "vec");
        check(&message, &extract(&as_header_map(&message)), "header map");
        check(&message, &extract(&as_string_map(&message)), "string map");
        entries += 1;
    }
    assert!(
        entries >= 10,
        "seed corpus at {corpus:?} has {entries} entries"
    );
}
