//! Exceptions per `OTEL_SEMCONV_EXCEPTION_SIGNAL_OPT_IN`: a returned `Err`
//! and a panic set status Error and `error.type` in every case; the exception
//! goes on the span as an event (default), to a log record correlated with
//! the span (`logs`), or both (`logs/dup`).

use std::process::Command;

use traced::ExceptionSignal;
use traced::testing::{FinishedSpan, LogRecord, Trace, capture, message};
use traced::traced;
use traced_tests::{attribute, error_message, events, find};

#[derive(Debug, thiserror::Error)]
#[error("no lamp left in warehouse north")]
struct OutOfStock;

#[traced]
fn reserve() -> Result<(), OutOfStock> {
    Err(OutOfStock)
}

#[traced]
fn print_label() {
    panic!("label printer jammed");
}

fn exception_records<'a>(trace: &'a Trace, span: &FinishedSpan) -> Vec<&'a LogRecord> {
    trace
        .logs_of(span)
        .into_iter()
        .filter(|record| record.event_name() == Some("exception"))
        .collect()
}

fn log_attribute(record: &LogRecord, key: &str) -> Option<String> {
    record
        .attributes_iter()
        .find(|(k, _)| k.as_str() == key)
        .map(|(_, v)| match v {
            traced::opentelemetry::logs::AnyValue::String(s) => s.to_string(),
            other => format!("{other:?}"),
        })
}

fn failed_calls() -> Trace {
    let ((), trace) = capture(|| {
        let _ = reserve();
        let _ = std::panic::catch_unwind(print_label);
    });
    trace
}

/// One test, because the signal is process-wide.
#[test]
fn every_signal_records_status_and_puts_the_exception_where_asked() {
    let previous_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    for (signal, as_event, as_log) in [
        (ExceptionSignal::SpanEvent, true, false),
        (ExceptionSignal::Log, false, true),
        (ExceptionSignal::LogAndSpanEvent, true, true),
    ] {
        traced::testing::set_exception_signal(signal);
        let trace = failed_calls();
        for (name, type_name, text) in [
            (
                "reserve",
                std::any::type_name::<OutOfStock>(),
                "no lamp left in warehouse north",
            ),
            ("print_label", "panic", "label printer jammed"),
        ] {
            let span = trace.span(name);
            assert_eq!(error_message(span), text, "{signal:?}");
            assert_eq!(
                attribute(span, "error.type").map(|v| v.as_str().into_owned()),
                Some(type_name.to_owned())
            );
            let events = events(span, "exception");
            assert_eq!(events.len(), usize::from(as_event), "{signal:?} {name}");
            for event in events {
                assert_eq!(
                    find(&event.attributes, "exception.message").map(|v| v.as_str().into_owned()),
                    Some(text.to_owned())
                );
            }
            let records = exception_records(&trace, span);
            assert_eq!(records.len(), usize::from(as_log), "{signal:?} {name}");
            for record in records {
                let context = record.trace_context().unwrap();
                assert_eq!(context.trace_id, span.span_context.trace_id());
                assert_eq!(context.span_id, span.span_context.span_id());
                assert_eq!(
                    record.severity_number(),
                    Some(traced::opentelemetry::logs::Severity::Error)
                );
                assert_eq!(message(record), text);
                assert_eq!(
                    log_attribute(record, "exception.type").as_deref(),
                    Some(type_name)
                );
                assert_eq!(
                    log_attribute(record, "exception.message").as_deref(),
                    Some(text)
                );
            }
        }
    }
    std::panic::set_hook(previous_hook);
}

const CHILD: &str = "TRACED_TEST_CHILD";

/// With backtraces on, a panic's record carries the stack where it happened.
#[test]
fn a_panic_record_carries_its_stacktrace_when_backtraces_are_on() {
    if std::env::var_os(CHILD).is_some() {
        let trace = failed_calls();
        let span = trace.span("print_label");
        let records = exception_records(&trace, span);
        assert_eq!(records.len(), 1, "{:?}", trace.logs());
        let stack = log_attribute(records[0], "exception.stacktrace").expect("a stacktrace");
        assert!(stack.contains("print_label"), "{stack}");
        assert!(
            log_attribute(
                exception_records(&trace, trace.span("reserve"))[0],
                "exception.stacktrace"
            )
            .is_none()
        );
        return;
    }
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "a_panic_record_carries_its_stacktrace_when_backtraces_are_on",
            "--exact",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .env("RUST_BACKTRACE", "1")
        .env("OTEL_SEMCONV_EXCEPTION_SIGNAL_OPT_IN", "logs")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("1 passed"));
}
