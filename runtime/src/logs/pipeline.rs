//! The logger provider `traced::init()` sets up: the resource of the spans, the
//! severity threshold, and the exporter (OTLP through a batch processor, the
//! console, or nothing). It receives the bridges' records and the exception
//! records while the guard lives.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::SdkLoggerProvider;

use super::console::{ConsoleLogs, LineSink, TraceLogs};
use super::level::AtLeast;
use super::{exception, panic, route};
use crate::config::{Export, Logs};

/// The installed logs pipeline; [`LogPipeline::shutdown`] takes it down.
#[derive(Debug)]
pub(crate) struct LogPipeline {
    provider: Option<SdkLoggerProvider>,
}

/// Builds the pipeline `logs` describes and makes it receive every record.
/// `console` is the console waterfall's store, when spans print there: log
/// records of a trace wait in it to print under their spans. An exporter
/// that cannot be built is left out with a warning, as the spans' is, unless
/// `strict`.
pub(crate) fn start(
    logs: &Logs,
    resource: Resource,
    console: Option<Arc<TraceLogs>>,
    strict: bool,
) -> Result<LogPipeline, String> {
    exception::set_signal(Some(logs.exception_signal));
    panic::install_hook();
    super::install_bridges(logs.level);
    if logs.export.is_empty() {
        return Ok(LogPipeline { provider: None });
    }
    let mut builder = SdkLoggerProvider::builder().with_resource(resource);
    for export in &logs.export {
        builder = match export {
            Export::Console => {
                let stderr: LineSink = Arc::new(|line: &str| {
                    // A closed stderr must not take the program down.
                    let _ = std::io::stderr().lock().write_all(line.as_bytes());
                });
                builder.with_log_processor(AtLeast {
                    inner: ConsoleLogs {
                        held: console.clone(),
                        untraced: stderr,
                    },
                    level: logs.level,
                })
            }
            #[cfg(feature = "otlp")]
            Export::Otlp(settings) => {
                use opentelemetry_sdk::logs::{BatchConfigBuilder, BatchLogProcessor};
                let deadline = match (settings.timeout, logs.batch.export_timeout) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (one, other) => one.or(other),
                };
                let exporter = match crate::export::otlp_log_exporter(settings, deadline) {
                    Ok(exporter) => exporter,
                    Err(reason) if strict => return Err(format!("logs: {reason}")),
                    Err(reason) => {
                        eprintln!("traced: OTLP export of logs is off: {reason}");
                        continue;
                    }
                };
                let batch = BatchConfigBuilder::default()
                    .with_scheduled_delay(logs.batch.schedule_delay)
                    .with_max_queue_size(logs.batch.max_queue_size)
                    .with_max_export_batch_size(logs.batch.max_export_batch_size)
                    .build();
                builder.with_log_processor(AtLeast {
                    inner: BatchLogProcessor::builder(exporter)
                        .with_batch_config(batch)
                        .build(),
                    level: logs.level,
                })
            }
            #[cfg(not(feature = "otlp"))]
            Export::Otlp(_) if strict => {
                return Err("logs: OTLP export needs the `otlp` feature of traced".to_owned());
            }
            #[cfg(not(feature = "otlp"))]
            Export::Otlp(_) => {
                eprintln!(
                    "traced: OTLP export of logs is off: it needs the `otlp` feature of traced"
                );
                continue;
            }
        };
    }
    let provider = builder.build();
    route::install(provider.clone());
    Ok(LogPipeline {
        provider: Some(provider),
    })
}

impl LogPipeline {
    /// Sends the records queued so far.
    pub(crate) fn flush(&self) -> OTelSdkResult {
        match &self.provider {
            Some(provider) => provider.force_flush(),
            None => Ok(()),
        }
    }

    /// Stops taking records, sends those queued (waiting at most `timeout`)
    /// and shuts the exporter down.
    pub(crate) fn shutdown(self, timeout: Duration) -> OTelSdkResult {
        exception::set_signal(None);
        let Some(provider) = self.provider else {
            return Ok(());
        };
        route::uninstall();
        provider.shutdown_with_timeout(timeout)
    }
}
