//! `traced::current`: attributes, events and errors recorded on the span of
//! the innermost traced call, from code that has no handle on it.

use opentelemetry::trace::Status;
use opentelemetry::{KeyValue, Value};
use traced::opentelemetry;
use traced::testing::capture;
use traced::traced;

#[derive(Debug, thiserror::Error)]
#[error("stock service unavailable")]
struct StockError;

fn deep_helper(items: usize) {
    traced::current::set_attribute("cart.items", items as i64);
    traced::current::set_attributes([KeyValue::new("cart.currency", "EUR")]);
    traced::current::add_event("stock checked", vec![KeyValue::new("warehouse", "b")]);
    traced::current::record_error(&StockError);
}

#[traced]
fn checkout(items: usize) -> Result<(), StockError> {
    deep_helper(items);
    Ok(())
}

#[test]
fn helpers_record_on_the_current_span() {
    let (result, trace) = capture(|| checkout(3));
    assert!(result.is_ok(), "the call itself goes on");
    let span = trace.span("checkout");
    let attribute = |key: &str| {
        span.attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| kv.value.clone())
    };
    assert_eq!(attribute("cart.items"), Some(Value::I64(3)));
    assert_eq!(attribute("cart.currency"), Some(Value::from("EUR")));
    assert!(
        attribute("error.type")
            .unwrap()
            .as_str()
            .ends_with("StockError")
    );
    assert_eq!(span.status, Status::error("stock service unavailable"));

    let names: Vec<&str> = span
        .events
        .iter()
        .map(|event| event.name.as_ref())
        .collect();
    assert_eq!(names, ["stock checked", "exception"]);
    let exception = &span.events.events[1];
    assert!(exception.attributes.iter().any(|kv| {
        kv.key.as_str() == "exception.message" && kv.value.as_str() == "stock service unavailable"
    }));
}

#[traced]
fn trace_ids() -> (String, String) {
    let sc = traced::current::span_context();
    (sc.trace_id().to_string(), sc.span_id().to_string())
}

#[test]
fn span_context_names_the_current_span() {
    let ((trace_id, span_id), trace) = capture(trace_ids);
    let span = trace.span("trace_ids");
    assert_eq!(trace_id, span.span_context.trace_id().to_string());
    assert_eq!(span_id, span.span_context.span_id().to_string());
}

#[test]
fn helpers_do_nothing_without_a_span() {
    deep_helper(1);
    assert!(!traced::current::span_context().is_valid());
}

#[test]
fn every_test_here_passes_on_a_user_provider() {
    traced_tests::rerun_on_a_user_provider();
}
