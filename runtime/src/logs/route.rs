//! Where log records go: the logger provider `traced::init()` installed (if
//! any) and the capture of `traced::testing` (if installed). The bridges and
//! exception records write through [`Routed`], so they are set up once per
//! process and follow every later `init()` and guard drop.

use std::sync::LazyLock;

use opentelemetry::InstrumentationScope;
use opentelemetry::logs::{Logger, LoggerProvider, Severity};
use opentelemetry_sdk::logs::{SdkLogRecord, SdkLogger, SdkLoggerProvider};

use crate::global_state;

/// Makes `provider` receive every record until [`uninstall`].
pub(crate) fn install(provider: SdkLoggerProvider) {
    global_state::change_log_destinations(|destinations| destinations.installed = Some(provider));
}

/// Stops sending records to the installed provider and hands it back.
pub(crate) fn uninstall() -> Option<SdkLoggerProvider> {
    global_state::change_log_destinations(|destinations| destinations.installed.take())
}

/// Makes `provider` receive a copy of every record, for good.
#[cfg(feature = "testing")]
pub(crate) fn install_tap(provider: SdkLoggerProvider) {
    global_state::change_log_destinations(|destinations| destinations.tap = Some(provider));
}

/// A logger provider that writes to whichever destinations are set when a
/// record is written: what the bridges are built on.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Routed;

impl LoggerProvider for Routed {
    type Logger = RoutedLogger;

    fn logger_with_scope(&self, scope: InstrumentationScope) -> RoutedLogger {
        RoutedLogger { scope }
    }
}

/// The logger of [`Routed`].
#[derive(Debug)]
pub(crate) struct RoutedLogger {
    scope: InstrumentationScope,
}

/// Makes records while no provider is installed (a record is created before
/// it is known whether anybody takes it); it has no processor.
static RECORDS: LazyLock<SdkLogger> =
    LazyLock::new(|| SdkLoggerProvider::builder().build().logger("traced"));

impl Logger for RoutedLogger {
    type LogRecord = SdkLogRecord;

    fn create_log_record(&self) -> SdkLogRecord {
        RECORDS.create_log_record()
    }

    fn emit(&self, record: SdkLogRecord) {
        let destinations = global_state::log_destinations();
        match (&destinations.installed, &destinations.tap) {
            (Some(installed), Some(tap)) => {
                tap.logger_with_scope(self.scope.clone())
                    .emit(record.clone());
                installed.logger_with_scope(self.scope.clone()).emit(record);
            }
            (Some(only), None) | (None, Some(only)) => {
                only.logger_with_scope(self.scope.clone()).emit(record);
            }
            (None, None) => {}
        }
    }

    fn event_enabled(&self, level: Severity, target: &str, name: Option<&str>) -> bool {
        let destinations = global_state::log_destinations();
        [&destinations.installed, &destinations.tap]
            .into_iter()
            .flatten()
            .any(|provider| {
                provider
                    .logger_with_scope(self.scope.clone())
                    .event_enabled(level, target, name)
            })
    }
}
