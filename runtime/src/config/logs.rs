//! The logs part of the set-up: where log records go (`OTEL_LOGS_EXPORTER`,
//! `OTEL_EXPORTER_OTLP_LOGS_*`), the lowest severity kept
//! (`TRACED_LOG_LEVEL`), how the export thread batches them (`OTEL_BLRP_*`) and how
//! exceptions are recorded (`OTEL_SEMCONV_EXCEPTION_SIGNAL_OPT_IN`).

use std::time::Duration;

use opentelemetry::logs::Severity;

use super::env::{Env, one_of};
use super::otlp::{self, OtlpOverrides, Signal};
use super::{
    Batch, BatchOverrides, BatchVariables, Config, Export, Exporter, exporter_list, exports,
    with_deadlines,
};

/// How the exception of a failed call (a returned `Err`, a panic) is
/// recorded, following the semantic conventions' transition from span events
/// to log records (`OTEL_SEMCONV_EXCEPTION_SIGNAL_OPT_IN`).
///
/// In every case the span gets status `Error` and the attribute `error.type`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExceptionSignal {
    /// An `exception` event on the span (the default during the transition).
    #[default]
    SpanEvent,
    /// A log record correlated with the span (`logs`).
    Log,
    /// Both (`logs/dup`).
    LogAndSpanEvent,
}

impl ExceptionSignal {
    pub(crate) const VARIABLE: &'static str = "OTEL_SEMCONV_EXCEPTION_SIGNAL_OPT_IN";

    /// Whether the exception goes on the span as an event.
    pub(crate) fn span_event(self) -> bool {
        matches!(
            self,
            ExceptionSignal::SpanEvent | ExceptionSignal::LogAndSpanEvent
        )
    }

    /// Whether the exception is emitted as a log record.
    pub(crate) fn log(self) -> bool {
        matches!(
            self,
            ExceptionSignal::Log | ExceptionSignal::LogAndSpanEvent
        )
    }

    /// From `OTEL_SEMCONV_EXCEPTION_SIGNAL_OPT_IN`; a value it does not know
    /// warns and keeps span events.
    pub(crate) fn from_env(env: &Env) -> ExceptionSignal {
        match env.choice(Self::VARIABLE, &["logs", "logs/dup"], "span events") {
            Some("logs") => ExceptionSignal::Log,
            Some(_) => ExceptionSignal::LogAndSpanEvent,
            None => ExceptionSignal::SpanEvent,
        }
    }
}

const LEVEL_VARIABLE: &str = "TRACED_LOG_LEVEL";

const LOG_BATCH: BatchVariables = BatchVariables {
    schedule_delay: "OTEL_BLRP_SCHEDULE_DELAY",
    export_timeout: "OTEL_BLRP_EXPORT_TIMEOUT",
    max_queue_size: "OTEL_BLRP_MAX_QUEUE_SIZE",
    max_export_batch_size: "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE",
    code_max_queue_size: "Config::logs_max_queue_size",
    code_max_export_batch_size: "Config::logs_max_export_batch_size",
    default_schedule_delay: Duration::from_secs(1),
};

/// What code set for logs; each field left `None` comes from the environment.
#[derive(Clone, Debug, Default)]
pub(crate) struct LogsOverrides {
    exporter: Option<Exporter>,
    level: Option<Severity>,
    exception_signal: Option<ExceptionSignal>,
    batch: BatchOverrides,
}

/// Logs, fully resolved.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Logs {
    /// Where records go; empty: nowhere.
    pub(crate) export: Vec<Export>,
    /// Records below this severity are dropped where they are written.
    pub(crate) level: Severity,
    pub(crate) exception_signal: ExceptionSignal,
    pub(crate) batch: Batch,
}

impl Config {
    /// Where log records go (else `OTEL_LOGS_EXPORTER`, else where spans
    /// go: OTLP to the same collector, or into the console waterfall under
    /// their spans, or nowhere).
    pub fn logs_exporter(mut self, exporter: Exporter) -> Self {
        self.logs.exporter = Some(exporter);
        self
    }

    /// The lowest severity recorded (else `TRACED_LOG_LEVEL`: `trace`,
    /// `debug`, `info`, `warn`, `error` or `fatal`; else `info`). Lower ones
    /// are dropped where they are written, before any work is done on them.
    pub fn log_level(mut self, level: Severity) -> Self {
        self.logs.level = Some(level);
        self
    }

    /// How exceptions are recorded (else
    /// `OTEL_SEMCONV_EXCEPTION_SIGNAL_OPT_IN`: `logs` or `logs/dup`; else as
    /// span events). See [`ExceptionSignal`].
    pub fn exception_signal(mut self, signal: ExceptionSignal) -> Self {
        self.logs.exception_signal = Some(signal);
        self
    }

    /// Longest wait before a batch of log records is sent (else
    /// `OTEL_BLRP_SCHEDULE_DELAY`, else 1 s).
    pub fn logs_schedule_delay(mut self, delay: Duration) -> Self {
        self.logs.batch.schedule_delay = Some(delay);
        self
    }

    /// Longest time one export of log records may take (else
    /// `OTEL_BLRP_EXPORT_TIMEOUT`, else 30 s).
    pub fn logs_export_timeout(mut self, timeout: Duration) -> Self {
        self.logs.batch.export_timeout = Some(timeout);
        self
    }

    /// Log records waiting for export at most; later ones are dropped and
    /// counted (else `OTEL_BLRP_MAX_QUEUE_SIZE`). Unset, only the memory they
    /// take is bounded, together with the spans'
    /// ([`Config::max_pending_memory`]), so a burst is delivered whole.
    pub fn logs_max_queue_size(mut self, size: usize) -> Self {
        self.logs.batch.max_queue_size = Some(size);
        self
    }

    /// Log records per export request at most (else
    /// `OTEL_BLRP_MAX_EXPORT_BATCH_SIZE`, else 512); no more than the queue
    /// size.
    pub fn logs_max_export_batch_size(mut self, size: usize) -> Self {
        self.logs.batch.max_export_batch_size = Some(size);
        self
    }
}

impl LogsOverrides {
    /// Logs go where the spans go unless code or `OTEL_LOGS_EXPORTER` say
    /// otherwise, and over OTLP too when a logs endpoint of their own is set.
    pub(super) fn resolve(
        self,
        env: &Env,
        traces: &[Export],
        otlp_overrides: OtlpOverrides,
    ) -> Logs {
        let own_endpoint = otlp::endpoint_configured(&otlp_overrides, env, Signal::Logs);
        let exporters = match self.exporter {
            Some(exporter) => vec![exporter],
            None if env.get("OTEL_LOGS_EXPORTER").is_some() => {
                exporter_list(env, "OTEL_LOGS_EXPORTER", Exporter::None)
            }
            None => {
                let mut following: Vec<Exporter> = traces
                    .iter()
                    .map(|export| match export {
                        Export::Console => Exporter::Console,
                        Export::Otlp(_) => Exporter::Otlp,
                    })
                    .collect();
                if own_endpoint && !following.contains(&Exporter::Otlp) {
                    following.push(Exporter::Otlp);
                }
                following
            }
        };
        let export = exports(&exporters, otlp_overrides, env, Signal::Logs);
        let level = self.level.unwrap_or_else(|| {
            let value = env.get(LEVEL_VARIABLE);
            match value.as_deref().map(parse_level) {
                None => Severity::Info,
                Some(Some(level)) => level,
                Some(None) => {
                    env.warn(
                        LEVEL_VARIABLE,
                        value.as_deref().unwrap_or_default(),
                        one_of(&["trace", "debug", "info", "warn", "error", "fatal"]),
                        "info",
                    );
                    Severity::Info
                }
            }
        });
        let exception_signal = self
            .exception_signal
            .unwrap_or_else(|| ExceptionSignal::from_env(env));
        let batch = self.batch.resolve(env, &LOG_BATCH);
        Logs {
            export: with_deadlines(export, batch.export_timeout),
            level,
            exception_signal,
            batch,
        }
    }
}

fn parse_level(value: &str) -> Option<Severity> {
    Some(match value.to_ascii_lowercase().as_str() {
        "trace" => Severity::Trace,
        "debug" => Severity::Debug,
        "info" => Severity::Info,
        "warn" | "warning" => Severity::Warn,
        "error" => Severity::Error,
        "fatal" => Severity::Fatal,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigError;

    fn logs(config: Config, vars: &[(&str, &str)]) -> Result<Logs, ConfigError> {
        config
            .resolve(&Env::fixed(vars))
            .map(|resolved| resolved.logs)
    }

    #[test]
    fn logs_follow_the_span_exporter_by_default() {
        let console = logs(Config::new(), &[]).unwrap();
        assert_eq!(console.export, [Export::Console]);
        assert_eq!(console.level, Severity::Info);
        assert_eq!(console.exception_signal, ExceptionSignal::SpanEvent);
        assert_eq!(console.batch.schedule_delay, Duration::from_secs(1));
        assert_eq!(console.batch.max_queue_size, 2048);

        let otlp = logs(
            Config::new(),
            &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")],
        )
        .unwrap();
        let [Export::Otlp(settings)] = &otlp.export[..] else {
            panic!("{:?}", otlp.export)
        };
        assert_eq!(settings.endpoint, "http://collector:4318/v1/logs");

        let none = logs(Config::new().exporter(Exporter::None), &[]).unwrap();
        assert!(none.export.is_empty());
        let own_endpoint = logs(
            Config::new().exporter(Exporter::None),
            &[(
                "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
                "http://logs:4318/v1/logs",
            )],
        )
        .unwrap();
        assert!(matches!(own_endpoint.export[..], [Export::Otlp(_)]));
    }

    #[test]
    fn code_wins_over_the_environment() {
        let env = [
            ("OTEL_LOGS_EXPORTER", "none"),
            ("TRACED_LOG_LEVEL", "error"),
            ("OTEL_SEMCONV_EXCEPTION_SIGNAL_OPT_IN", "logs"),
            ("OTEL_BLRP_MAX_QUEUE_SIZE", "10"),
        ];
        let from_env = logs(Config::new(), &env).unwrap();
        assert!(from_env.export.is_empty());
        assert_eq!(from_env.level, Severity::Error);
        assert_eq!(from_env.exception_signal, ExceptionSignal::Log);
        assert_eq!(from_env.batch.max_queue_size, 10);
        assert_eq!(from_env.batch.max_export_batch_size, 10);

        let from_code = logs(
            Config::new()
                .logs_exporter(Exporter::Console)
                .log_level(Severity::Debug)
                .exception_signal(ExceptionSignal::LogAndSpanEvent)
                .logs_max_queue_size(64)
                .logs_max_export_batch_size(8)
                .logs_schedule_delay(Duration::from_millis(50))
                .logs_export_timeout(Duration::from_millis(70)),
            &env,
        )
        .unwrap();
        assert_eq!(from_code.export, [Export::Console]);
        assert_eq!(from_code.level, Severity::Debug);
        assert_eq!(from_code.exception_signal, ExceptionSignal::LogAndSpanEvent);
        assert_eq!(
            (
                from_code.batch.max_queue_size,
                from_code.batch.max_export_batch_size
            ),
            (64, 8)
        );
        assert_eq!(from_code.batch.schedule_delay, Duration::from_millis(50));
        assert_eq!(
            from_code.batch.export_timeout,
            Some(Duration::from_millis(70))
        );
    }

    #[test]
    fn bad_values_name_their_variable_under_strict_checking() {
        for (variable, value) in [
            ("OTEL_LOGS_EXPORTER", "stdout"),
            ("TRACED_LOG_LEVEL", "loud"),
            ("OTEL_SEMCONV_EXCEPTION_SIGNAL_OPT_IN", "events"),
            ("OTEL_BLRP_SCHEDULE_DELAY", "1s"),
            ("OTEL_BLRP_MAX_QUEUE_SIZE", "0"),
        ] {
            let error = logs(Config::new().strict(), &[(variable, value)]).unwrap_err();
            assert_eq!(error.variable(), variable, "{error}");
        }
        let error = logs(
            Config::new()
                .strict()
                .logs_max_queue_size(4)
                .logs_max_export_batch_size(5),
            &[],
        )
        .unwrap_err();
        assert_eq!(error.variable(), "Config::logs_max_export_batch_size");
    }

    #[test]
    fn exception_signal_values() {
        for (value, expected) in [
            ("logs", ExceptionSignal::Log),
            ("LOGS/DUP", ExceptionSignal::LogAndSpanEvent),
        ] {
            let env = Env::fixed(&[(ExceptionSignal::VARIABLE, value)]);
            assert_eq!(ExceptionSignal::from_env(&env), expected);
        }
        assert!(ExceptionSignal::SpanEvent.span_event() && !ExceptionSignal::SpanEvent.log());
        assert!(!ExceptionSignal::Log.span_event() && ExceptionSignal::Log.log());
        assert!(
            ExceptionSignal::LogAndSpanEvent.span_event() && ExceptionSignal::LogAndSpanEvent.log()
        );
    }
}
