//! Exceptions the way the semantic conventions record them now: a log record
//! correlated with the failed span, a span event (the default during the
//! transition), or both, per `OTEL_SEMCONV_EXCEPTION_SIGNAL_OPT_IN` and
//! [`Config::exception_signal`](crate::Config::exception_signal).

use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::trace::SpanContext;
use opentelemetry::{InstrumentationScope, KeyValue};

use super::route::Routed;
use crate::config::{Env, ExceptionSignal};
use crate::global_state;

/// One exception: what failed, why, and where when known.
#[derive(Debug)]
pub(crate) struct Exception<'a> {
    pub(crate) type_name: &'a str,
    pub(crate) message: &'a str,
    pub(crate) stacktrace: Option<&'a str>,
}

impl Exception<'_> {
    /// `exception.type`, `exception.message` and, when known,
    /// `exception.stacktrace`: the attributes of the span event and the log
    /// record alike.
    pub(crate) fn attributes(&self) -> Vec<KeyValue> {
        let mut attributes = vec![
            KeyValue::new("exception.type", self.type_name.to_owned()),
            KeyValue::new("exception.message", self.message.to_owned()),
        ];
        if let Some(stacktrace) = self.stacktrace {
            attributes.push(KeyValue::new("exception.stacktrace", stacktrace.to_owned()));
        }
        attributes
    }
}

/// Records `exception` of the span `span` per the exception signal: emits the
/// log record (severity `ERROR`, event name `exception`, the span's trace and
/// span ids) when asked, and returns whether the caller adds the `exception`
/// span event. Status and `error.type` stay the caller's.
pub(crate) fn record_exception(span: &SpanContext, exception: &Exception<'_>) -> bool {
    let signal = signal();
    if signal.log() && span.is_valid() {
        emit(span, exception);
    }
    signal.span_event()
}

fn emit(span: &SpanContext, exception: &Exception<'_>) {
    let logger = Routed.logger_with_scope(
        InstrumentationScope::builder("traced")
            .with_version(env!("CARGO_PKG_VERSION"))
            .build(),
    );
    if !logger.event_enabled(Severity::Error, "traced", Some("exception")) {
        return;
    }
    let mut record = logger.create_log_record();
    record.set_event_name("exception");
    record.set_severity_number(Severity::Error);
    record.set_severity_text("ERROR");
    record.set_timestamp(opentelemetry::time::now());
    record.set_body(AnyValue::from(exception.message.to_owned()));
    record.set_trace_context(span.trace_id(), span.span_id(), Some(span.trace_flags()));
    record.add_attribute("exception.type", exception.type_name.to_owned());
    record.add_attribute("exception.message", exception.message.to_owned());
    if let Some(stacktrace) = exception.stacktrace {
        record.add_attribute("exception.stacktrace", stacktrace.to_owned());
    }
    logger.emit(record);
}

const UNSET: u8 = 0;
const SPAN_EVENT: u8 = 1;
const LOG: u8 = 2;
const LOG_AND_SPAN_EVENT: u8 = 3;

/// The signal in force: set by `traced::init()` for the life of its guard,
/// else read once from the environment.
fn signal() -> ExceptionSignal {
    match global_state::exception_signal_code() {
        SPAN_EVENT => ExceptionSignal::SpanEvent,
        LOG => ExceptionSignal::Log,
        LOG_AND_SPAN_EVENT => ExceptionSignal::LogAndSpanEvent,
        _ => {
            let env = Env::process();
            let signal = ExceptionSignal::from_env(&env);
            crate::config::print_warnings(&env);
            // A concurrent `init()` wins over this lazy read.
            global_state::init_exception_signal_code(code(signal));
            signal
        }
    }
}

fn code(signal: ExceptionSignal) -> u8 {
    match signal {
        ExceptionSignal::SpanEvent => SPAN_EVENT,
        ExceptionSignal::Log => LOG,
        ExceptionSignal::LogAndSpanEvent => LOG_AND_SPAN_EVENT,
    }
}

/// Sets the signal in force; `None` goes back to the environment's.
pub(crate) fn set_signal(signal: Option<ExceptionSignal>) {
    global_state::set_exception_signal_code(signal.map_or(UNSET, code));
}

/// Sets the signal in force until the next `init()` or guard drop.
#[cfg(feature = "testing")]
pub(crate) fn set_exception_signal_for_tests(signal: ExceptionSignal) {
    set_signal(Some(signal));
}
