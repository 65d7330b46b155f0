//! Log records for the console waterfall: a log processor that keeps the
//! records of each trace, by trace id, until the console prints that trace
//! and takes them. Bounded: at most [`MAX_LOGS_PER_TRACE`] per trace (later
//! ones are counted) and [`MAX_TRACES`] traces (the oldest are dropped).
//! Records outside any trace, and all records when spans do not print to the
//! console, print at once, one line each.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry::InstrumentationScope;
use opentelemetry::logs::AnyValue;
use opentelemetry::trace::TraceId;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogProcessor, SdkLogRecord};

use crate::export::waterfall::LogLine;
use crate::sync::MutexExt;

pub(crate) const MAX_LOGS_PER_TRACE: usize = 256;
pub(crate) const MAX_TRACES: usize = 1024;

/// Where lines of records outside any trace go.
pub(crate) type LineSink = Arc<dyn Fn(&str) + Send + Sync>;

/// The records kept for the console, shared by the log processor that fills
/// it and the console exporter that takes from it.
#[derive(Default)]
pub(crate) struct TraceLogs {
    held: Mutex<Held>,
}

impl std::fmt::Debug for TraceLogs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceLogs").finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Held {
    traces: HashMap<TraceId, Kept>,
    /// Trace ids in the order their first record came.
    order: VecDeque<TraceId>,
}

/// The records of one trace, and how many more were not kept.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Kept {
    pub(crate) lines: Vec<LogLine>,
    pub(crate) omitted: usize,
}

impl TraceLogs {
    /// Takes the records of `trace_id` (none if it has none).
    pub(crate) fn take(&self, trace_id: TraceId) -> Kept {
        let mut held = self.held.locked();
        let kept = held.traces.remove(&trace_id).unwrap_or_default();
        held.order.retain(|id| *id != trace_id);
        kept
    }

    fn keep(&self, trace_id: TraceId, line: LogLine) {
        let mut held = self.held.locked();
        if !held.traces.contains_key(&trace_id) {
            while held.traces.len() >= MAX_TRACES {
                let Some(oldest) = held.order.pop_front() else {
                    break;
                };
                held.traces.remove(&oldest);
            }
            held.order.push_back(trace_id);
        }
        let kept = held.traces.entry(trace_id).or_default();
        if kept.lines.len() < MAX_LOGS_PER_TRACE {
            kept.lines.push(line);
        } else {
            kept.omitted += 1;
        }
    }
}

/// The log processor feeding [`TraceLogs`].
pub(crate) struct ConsoleLogs {
    /// Where records of a trace wait for it to print; `None` prints them at once.
    pub(crate) held: Option<Arc<TraceLogs>>,
    pub(crate) untraced: LineSink,
}

impl std::fmt::Debug for ConsoleLogs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleLogs").finish_non_exhaustive()
    }
}

impl LogProcessor for ConsoleLogs {
    fn emit(&self, record: &mut SdkLogRecord, _scope: &InstrumentationScope) {
        let time = record
            .timestamp()
            .or(record.observed_timestamp())
            .unwrap_or_else(opentelemetry::time::now);
        let message = message(record);
        match (record.trace_context(), &self.held) {
            (Some(context), Some(held)) => held.keep(
                context.trace_id,
                LogLine {
                    span_id: context.span_id,
                    time,
                    severity: record.severity_number(),
                    message,
                },
            ),
            (context, _) => {
                let severity = record.severity_number().map_or("LOG", |s| s.name());
                let ids = context.map_or(String::new(), |context| {
                    format!(" · trace={} span={}", context.trace_id, context.span_id)
                });
                (self.untraced)(&format!("{severity:<5} {message}{ids}\n"));
            }
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

/// The body, then the attributes as `key=value` (the exception ones left
/// out: they repeat the body).
fn message(record: &SdkLogRecord) -> String {
    let mut parts: Vec<String> = record.body().map(text).into_iter().collect();
    parts.extend(
        record
            .attributes_iter()
            .filter(|(key, _)| !key.as_str().starts_with("exception."))
            .map(|(key, value)| format!("{key}={}", text(value))),
    );
    parts.join(" · ")
}

fn text(value: &AnyValue) -> String {
    match value {
        AnyValue::String(text) => text.to_string(),
        AnyValue::Int(n) => n.to_string(),
        AnyValue::Double(n) => n.to_string(),
        AnyValue::Boolean(b) => b.to_string(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::logs::{LogRecord as _, Logger as _, LoggerProvider as _, Severity};
    use opentelemetry::trace::{SpanId, TraceFlags};
    use opentelemetry_sdk::logs::SdkLoggerProvider;

    use super::*;

    fn console() -> (SdkLoggerProvider, Arc<TraceLogs>, Arc<Mutex<Vec<String>>>) {
        let logs = Arc::new(TraceLogs::default());
        let printed = Arc::new(Mutex::new(Vec::new()));
        let sink_printed = Arc::clone(&printed);
        let provider = SdkLoggerProvider::builder()
            .with_log_processor(ConsoleLogs {
                held: Some(Arc::clone(&logs)),
                untraced: Arc::new(move |line: &str| {
                    sink_printed.lock().unwrap().push(line.to_owned());
                }),
            })
            .build();
        (provider, logs, printed)
    }

    fn write(provider: &SdkLoggerProvider, trace: Option<u128>, body: &'static str) {
        let logger = provider.logger("test");
        let mut record = logger.create_log_record();
        record.set_severity_number(Severity::Warn);
        record.set_body(body.into());
        record.add_attribute("order.id", 7);
        if let Some(trace) = trace {
            record.set_trace_context(
                TraceId::from(trace),
                SpanId::from(3_u64),
                Some(TraceFlags::SAMPLED),
            );
        }
        logger.emit(record);
    }

    #[test]
    fn records_wait_for_their_trace_and_untraced_ones_print_at_once() {
        let (provider, logs, printed) = console();
        write(&provider, Some(1), "low stock");
        write(&provider, None, "starting");
        assert_eq!(*printed.lock().unwrap(), ["WARN  starting · order.id=7\n"]);
        let kept = logs.take(TraceId::from(1_u128));
        assert_eq!(kept.omitted, 0);
        assert_eq!(kept.lines.len(), 1);
        assert_eq!(kept.lines[0].message, "low stock · order.id=7");
        assert_eq!(kept.lines[0].span_id, SpanId::from(3_u64));
        assert_eq!(kept.lines[0].severity, Some(Severity::Warn));
        assert_eq!(logs.take(TraceId::from(1_u128)), Kept::default());
    }

    #[test]
    fn memory_stays_bounded_and_what_is_left_out_is_counted() {
        let (provider, logs, _) = console();
        for _ in 0..MAX_LOGS_PER_TRACE + 5 {
            write(&provider, Some(1), "again");
        }
        let kept = logs.take(TraceId::from(1_u128));
        assert_eq!((kept.lines.len(), kept.omitted), (MAX_LOGS_PER_TRACE, 5));

        for trace in 0..=MAX_TRACES as u128 {
            write(&provider, Some(100 + trace), "one");
        }
        assert_eq!(logs.held.lock().unwrap().traces.len(), MAX_TRACES);
        assert!(logs.take(TraceId::from(100_u128)).lines.is_empty());
        assert_eq!(logs.take(TraceId::from(101_u128)).lines.len(), 1);
    }
}
