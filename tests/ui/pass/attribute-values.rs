use std::borrow::Cow;
use std::net::Ipv4Addr;

use traced::testing::capture;
use traced::traced;

#[derive(Debug)]
struct OnlyDebug {
    id: u8,
}

#[traced(attrs(
    int = 1_u8,
    wide = u64::MAX,
    float = 0.5_f32,
    flag = true,
    text = "a",
    owned = String::from("b"),
    cow = Cow::Borrowed("c"),
    ints = vec![1_i64, 2],
    strs = ["x", "y"],
    some = Some(3),
    none = None::<u32>,
    shown = Ipv4Addr::LOCALHOST,
    debugged = OnlyDebug { id: 9 },
    maybe_debugged = Some(OnlyDebug { id: 1 }),
))]
fn everything() {}

fn main() {
    let ((), trace) = capture(everything);
    let span = trace.span("everything");
    let keys: Vec<&str> = span.attributes.iter().map(|kv| kv.key.as_str()).collect();
    for key in [
        "int", "wide", "float", "flag", "text", "owned", "cow", "ints", "strs", "some", "shown",
        "debugged", "maybe_debugged",
    ] {
        assert!(keys.contains(&key), "{key} missing from {keys:?}");
    }
    assert!(!keys.contains(&"none"));
}
