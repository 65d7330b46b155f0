//! The severity threshold: records below it are refused before a bridge
//! builds them (through `event_enabled`), and dropped if one arrives anyway.

use std::time::Duration;

use opentelemetry::InstrumentationScope;
use opentelemetry::logs::Severity;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogProcessor, SdkLogRecord};

/// Hands `inner` only the records at `level` or above; records without a
/// severity pass.
#[derive(Debug)]
pub(crate) struct AtLeast<P> {
    pub(crate) inner: P,
    pub(crate) level: Severity,
}

impl<P: LogProcessor> LogProcessor for AtLeast<P> {
    fn emit(&self, record: &mut SdkLogRecord, scope: &InstrumentationScope) {
        if record
            .severity_number()
            .is_none_or(|severity| severity >= self.level)
        {
            self.inner.emit(record, scope);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn event_enabled(&self, level: Severity, target: &str, name: Option<&str>) -> bool {
        level >= self.level && self.inner.event_enabled(level, target, name)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::logs::{LogRecord as _, Logger as _, LoggerProvider as _};
    use opentelemetry_sdk::logs::{InMemoryLogExporter, SdkLoggerProvider, SimpleLogProcessor};

    use super::*;

    #[test]
    fn records_below_the_level_are_refused_and_dropped() {
        let exporter = InMemoryLogExporter::default();
        let provider = SdkLoggerProvider::builder()
            .with_log_processor(AtLeast {
                inner: SimpleLogProcessor::new(exporter.clone()),
                level: Severity::Info,
            })
            .build();
        let logger = provider.logger("test");
        assert!(!logger.event_enabled(Severity::Debug, "t", None));
        assert!(logger.event_enabled(Severity::Warn, "t", None));
        for severity in [Severity::Debug, Severity::Info, Severity::Error] {
            let mut record = logger.create_log_record();
            record.set_severity_number(severity);
            logger.emit(record);
        }
        let kept: Vec<_> = exporter
            .get_emitted_logs()
            .unwrap()
            .into_iter()
            .map(|log| log.record.severity_number())
            .collect();
        assert_eq!(kept, [Some(Severity::Info), Some(Severity::Error)]);
    }
}
