//! `log` records as OpenTelemetry log records, through
//! opentelemetry-appender-log.

use opentelemetry::logs::Severity;
use opentelemetry_appender_log::OpenTelemetryLogBridge;

use super::route::{Routed, RoutedLogger};
use crate::global_state::{self, Hook};

/// A `log` logger that turns every record into an OpenTelemetry log record,
/// tagged with the trace and span ids of the current OpenTelemetry span, for
/// the logs pipeline of `traced::init()`.
///
/// `traced::init()` sets it as the `log` crate's logger when none is set.
/// A program that sets its own logger can hand records on to this one (for
/// example through a logger that calls several).
pub struct LogLogger {
    bridge: OpenTelemetryLogBridge<Routed, RoutedLogger>,
}

impl std::fmt::Debug for LogLogger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogLogger").finish_non_exhaustive()
    }
}

/// The logger that turns `log` records into OpenTelemetry log records; see
/// [`LogLogger`].
pub fn log_logger() -> LogLogger {
    LogLogger {
        bridge: OpenTelemetryLogBridge::new(&Routed),
    }
}

impl log::Log for LogLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        self.bridge.enabled(metadata)
    }

    fn log(&self, record: &log::Record<'_>) {
        self.bridge.log(record);
    }

    fn flush(&self) {}
}

/// Sets [`LogLogger`] as the `log` crate's logger unless the program set one,
/// and lets records from `level` up through `log`'s own filter (which only
/// ever widens: another set-up may want lower levels).
pub(crate) fn install(level: Severity) {
    let ours = global_state::hook_once(Hook::LogLogger, || {
        let set = log::set_boxed_logger(Box::new(log_logger())).is_ok();
        if !set {
            eprintln!(
                "traced: a `log` logger is already set; `log` records do not become \
                 OpenTelemetry logs (see traced::logs::log_logger)"
            );
        }
        set
    });
    if ours {
        let wanted = level_filter(level);
        if wanted > log::max_level() {
            log::set_max_level(wanted);
        }
    }
}

fn level_filter(level: Severity) -> log::LevelFilter {
    match level {
        s if s >= Severity::Error => log::LevelFilter::Error,
        s if s >= Severity::Warn => log::LevelFilter::Warn,
        s if s >= Severity::Info => log::LevelFilter::Info,
        s if s >= Severity::Debug => log::LevelFilter::Debug,
        _ => log::LevelFilter::Trace,
    }
}
