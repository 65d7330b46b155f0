//! Every way a `#[traced]` attribute gets its value, on real spans: literals
//! that are part of the call site, constants read where the span is
//! exported, values each call records (numbers held inline, text and
//! formatting copied once, more values than fit inline), in the order they
//! are declared, with the limits applied. On the native pipeline and, rerun,
//! on a provider the application installed itself.

use std::fmt;

use traced::opentelemetry::trace::Status;
use traced::opentelemetry::{Array, Context, KeyValue, StringValue, Value};
use traced::opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData};
use traced::testing::{FinishedSpan, capture};
use traced::traced;
use traced_tests::attribute;
use traced_tests::child::{in_child, rerun};

/// The attributes of `span` after the `code.*` ones, as written.
fn declared(span: &FinishedSpan) -> Vec<(String, Value)> {
    span.attributes
        .iter()
        .filter(|kv| !kv.key.as_str().starts_with("code."))
        .map(|kv| (kv.key.as_str().to_owned(), kv.value.clone()))
        .collect()
}

fn text(value: &str) -> Value {
    Value::String(value.to_owned().into())
}

const QUERY: &str = "SELECT 1";

mod queries {
    pub(crate) const ORDERS: &str = "SELECT * FROM orders";
    pub(crate) const LIMIT: u32 = 50;
}

static REGION: &str = "eu-west-1";

#[traced(attrs(
    first = 1,
    second = id * 2,
    third = "three",
    fourth = QUERY,
    fifth = queries::LIMIT,
    sixth = name.len(),
    seventh = -2.5,
))]
fn mixed(#[attr] id: u64, #[attr] name: &str) {}

#[test]
fn literals_constants_and_recorded_values_keep_their_declared_order() {
    let ((), trace) = capture(|| mixed(21, "lamp"));
    let span = trace.span("mixed");
    assert_eq!(
        declared(span),
        [
            ("first".to_owned(), Value::I64(1)),
            ("second".to_owned(), Value::I64(42)),
            ("third".to_owned(), text("three")),
            ("fourth".to_owned(), text("SELECT 1")),
            ("fifth".to_owned(), Value::I64(50)),
            ("sixth".to_owned(), Value::I64(4)),
            ("seventh".to_owned(), Value::F64(-2.5)),
            ("id".to_owned(), Value::I64(21)),
            ("name".to_owned(), text("lamp")),
        ]
    );
}

#[traced(attrs(
    orders = queries::ORDERS,
    region = REGION,
    max = u64::MAX,
    min = i128::MIN,
    wide = 18_446_744_073_709_551_615_u64,
    small = 7_u8,
    single = 0.5_f32,
    letter = 'λ',
    quoted = r#"say "hi""#,
    flag = false,
))]
fn constants() {}

#[test]
fn literals_and_constants_record_as_the_same_values_computed_would() {
    let ((), trace) = capture(constants);
    let span = trace.span("constants");
    assert_eq!(
        declared(span),
        [
            ("orders".to_owned(), text("SELECT * FROM orders")),
            ("region".to_owned(), text("eu-west-1")),
            ("max".to_owned(), text("18446744073709551615")),
            (
                "min".to_owned(),
                text("-170141183460469231731687303715884105728")
            ),
            ("wide".to_owned(), text("18446744073709551615")),
            ("small".to_owned(), Value::I64(7)),
            ("single".to_owned(), Value::F64(0.5)),
            ("letter".to_owned(), text("λ")),
            ("quoted".to_owned(), text("say \"hi\"")),
            ("flag".to_owned(), Value::Bool(false)),
        ]
    );
}

struct Shown(u32);

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "shown #{}", self.0)
    }
}

#[derive(Debug)]
#[allow(dead_code)]
struct OnlyDebug {
    x: u8,
}

#[allow(clippy::too_many_arguments)]
#[traced(attrs(shown = Shown(u32::from(a)), debug = OnlyDebug { x: a }))]
fn many(
    #[attr] a: u8,
    #[attr] b: &str,
    #[attr] c: f64,
    #[attr] d: bool,
    #[attr] e: String,
    #[attr] f: Option<u32>,
    #[attr] g: Vec<i64>,
    #[attr] h: char,
    #[attr] i: Option<&str>,
    #[attr] j: i128,
) {
}

/// More recorded values than a record holds inline, of every kind.
#[test]
fn more_values_than_fit_inline_keep_their_kinds_and_order() {
    let ((), trace) = capture(|| {
        many(
            3,
            "héllo",
            1.25,
            true,
            String::from("owned"),
            None,
            vec![4, 5],
            'z',
            Some("some"),
            i128::MAX,
        );
    });
    let span = trace.span("many");
    assert_eq!(
        declared(span),
        [
            ("shown".to_owned(), text("shown #3")),
            ("debug".to_owned(), text("OnlyDebug { x: 3 }")),
            ("a".to_owned(), Value::I64(3)),
            ("b".to_owned(), text("héllo")),
            ("c".to_owned(), Value::F64(1.25)),
            ("d".to_owned(), Value::Bool(true)),
            ("e".to_owned(), text("owned")),
            ("g".to_owned(), Value::Array(Array::I64(vec![4, 5]))),
            ("h".to_owned(), text("z")),
            ("i".to_owned(), text("some")),
            (
                "j".to_owned(),
                text("170141183460469231731687303715884105727")
            ),
        ],
        "`f` is None and records nothing"
    );
}

#[traced]
fn texts(#[attr] a: &str, #[attr] b: &str, #[attr] c: &str, #[attr] d: &str, #[attr] e: &str) {}

/// Short text is held in the span's own bytes until they are full; the
/// rest goes to its details; each value comes back whole and in its place.
#[test]
fn text_past_the_inline_room_keeps_its_values_and_order() {
    let long = "a value longer than the room a span holds inline";
    let ((), trace) = capture(|| texts("ten chars!", "ten chars?", "ten chars.", "ab", long));
    assert_eq!(
        declared(trace.span("texts")),
        [
            ("a".to_owned(), text("ten chars!")),
            ("b".to_owned(), text("ten chars?")),
            ("c".to_owned(), text("ten chars.")),
            ("d".to_owned(), text("ab")),
            ("e".to_owned(), text(long)),
        ]
    );
}

#[traced(attrs(words = vec!["a", "b"]), ret)]
fn recorded_then_returned(#[attr] n: u32) -> Result<String, String> {
    Ok(format!("n={n}"))
}

#[test]
fn values_set_while_the_span_runs_follow_those_of_the_call_site() {
    let (_, trace) = capture(|| recorded_then_returned(9));
    let span = trace.span("recorded_then_returned");
    assert_eq!(
        declared(span),
        [
            (
                "words".to_owned(),
                Value::Array(Array::String(vec![
                    StringValue::from("a"),
                    StringValue::from("b")
                ]))
            ),
            ("n".to_owned(), Value::I64(9)),
            ("return".to_owned(), text("n=9")),
        ]
    );
    assert_eq!(span.status, Status::Unset);
}

/// Each call records its own values: a span's text does not leak into the
/// next one's, whichever thread's pool the details come from.
#[test]
fn each_call_records_its_own_values() {
    let ((), trace) = capture(|| {
        for (id, name) in [(1, "one"), (2, "two"), (3, "three")] {
            mixed(id, name);
        }
        let cx = Context::current();
        std::thread::spawn(move || {
            let _attached = cx.attach();
            mixed(4, "four");
        })
        .join()
        .unwrap();
    });
    let mut seen: Vec<(Value, Value)> = trace
        .spans()
        .iter()
        .filter(|span| span.name == "mixed")
        .map(|span| {
            (
                attribute(span, "id").cloned().unwrap(),
                attribute(span, "name").cloned().unwrap(),
            )
        })
        .collect();
    seen.sort_by_key(|(id, _)| id.to_string());
    assert_eq!(
        seen,
        [
            (Value::I64(1), text("one")),
            (Value::I64(2), text("two")),
            (Value::I64(3), text("three")),
            (Value::I64(4), text("four")),
        ]
    );
}

/// A constant whose `Display` panics: on the native pipeline it is read on
/// the export thread, which leaves the attribute out and goes on; on a
/// provider of the application's it is read as the span starts, where the
/// panic is the caller's, as it always was.
struct Panics;

impl fmt::Display for Panics {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        panic!("no way to show this")
    }
}

const PANICS: Panics = Panics;

#[traced(attrs(boom = PANICS, after = 1))]
fn shows_a_panicking_constant() {}

#[test]
fn a_constant_that_panics_to_show_does_not_stop_the_export_thread() {
    if traced_tests::on_a_user_provider() {
        traced::testing::install();
        let caught = std::panic::catch_unwind(shows_a_panicking_constant);
        assert!(caught.is_err(), "read as the span starts");
        return;
    }
    let ((), trace) = capture(|| {
        shows_a_panicking_constant();
        mixed(1, "after");
    });
    let span = trace.span("shows_a_panicking_constant");
    assert_eq!(attribute(span, "boom"), None);
    assert_eq!(attribute(span, "after"), Some(&Value::I64(1)));
    assert_eq!(attribute(trace.span("mixed"), "name"), Some(&text("after")));
}

#[traced(attrs(note = "a literal well over eight characters", words = ["alphabet", "be"]))]
fn limited(#[attr] name: &str, #[attr] shown: &Shown, #[attr] n: u32) {
    traced::opentelemetry::trace::get_active_span(|span| {
        span.set_attribute(KeyValue::new("set", "set through the API"));
        span.add_event(
            "event",
            vec![KeyValue::new("detail", "an event attribute value")],
        );
    });
}

fn limited_spans(exporter: &InMemorySpanExporter) -> Vec<SpanData> {
    exporter
        .get_finished_spans()
        .expect("spans")
        .into_iter()
        .filter(|span| span.name == "limited")
        .collect()
}

/// The value length limit cuts every string, wherever it comes from; the
/// count limit keeps the first attributes in declared order and counts the
/// rest.
#[test]
fn limits_apply_to_every_kind_of_value() {
    if !in_child() {
        rerun("limits_apply_to_every_kind_of_value", &[]);
        return;
    }
    let exporter = InMemorySpanExporter::default();
    let guard = traced::Config::new()
        .span_exporter(exporter.clone())
        .max_attribute_value_length(8)
        .init()
        .expect("init");
    limited("ünïcödé-name", &Shown(123_456_789), 7);
    guard.flush().expect("flush");
    let spans = limited_spans(&exporter);
    let span = &spans[0];
    assert_eq!(
        declared(span),
        [
            ("note".to_owned(), text("a litera")),
            (
                "words".to_owned(),
                Value::Array(Array::String(vec![
                    StringValue::from("alphabet"),
                    StringValue::from("be")
                ]))
            ),
            ("name".to_owned(), text("ünïcödé-")),
            ("shown".to_owned(), text("shown #1")),
            ("n".to_owned(), Value::I64(7)),
            ("set".to_owned(), text("set thro")),
        ]
    );
    assert_eq!(
        span.events.events[0].attributes,
        [KeyValue::new("detail", "an event")]
    );
    drop(guard);

    let exporter = InMemorySpanExporter::default();
    let guard = traced::Config::new()
        .span_exporter(exporter.clone())
        .max_attributes_per_span(5)
        .init()
        .expect("init");
    limited("name", &Shown(1), 7);
    guard.flush().expect("flush");
    let spans = limited_spans(&exporter);
    let span = &spans[0];
    assert_eq!(span.attributes.len(), 5);
    assert_eq!(
        declared(span),
        [
            (
                "note".to_owned(),
                text("a literal well over eight characters")
            ),
            (
                "words".to_owned(),
                Value::Array(Array::String(vec![
                    StringValue::from("alphabet"),
                    StringValue::from("be")
                ]))
            ),
        ],
        "the code.* attributes come first"
    );
    assert_eq!(span.dropped_attributes_count, 4);
    drop(guard);
}

#[test]
fn every_test_here_passes_on_a_user_provider() {
    traced_tests::rerun_on_a_user_provider();
}
