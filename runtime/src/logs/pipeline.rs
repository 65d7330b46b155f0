//! The logs part of what `traced::init()` installs: the exception signal in
//! force, the panic hook, the bridges, and the logger provider the assembly
//! built (the spans' resource, the console's processor, the processor that
//! queues records for the export thread), which receives the bridges'
//! records and the exception records while the guard lives. Records queued
//! for export leave with the spans: the pipeline's flush and shutdown send
//! them.

use std::time::Duration;

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::SdkLoggerProvider;

use super::{exception, panic, route};
use crate::config::Logs;

/// The installed logs pipeline; [`LogPipeline::shutdown`] takes it down.
#[derive(Debug)]
pub(crate) struct LogPipeline {
    provider: Option<SdkLoggerProvider>,
}

impl LogPipeline {
    /// Puts the hooks `logs` asks for in place and makes `provider` (none
    /// when logs go nowhere) receive every record.
    pub(crate) fn start(logs: &Logs, provider: Option<SdkLoggerProvider>) -> LogPipeline {
        exception::set_signal(Some(logs.exception_signal));
        panic::install_hook();
        super::install_bridges(logs.level);
        if let Some(provider) = &provider {
            route::install(provider.clone());
        }
        LogPipeline { provider }
    }

    /// Flushes the processors (the console's); records queued for the
    /// export thread leave with the pipeline's flush.
    pub(crate) fn flush(&self) -> OTelSdkResult {
        match &self.provider {
            Some(provider) => provider.force_flush(),
            None => Ok(()),
        }
    }

    /// Stops taking records and shuts the processors down (waiting at most
    /// `timeout`); the pipeline's shutdown sends the records queued.
    pub(crate) fn shutdown(self, timeout: Duration) -> OTelSdkResult {
        exception::set_signal(None);
        let Some(provider) = self.provider else {
            return Ok(());
        };
        route::uninstall();
        provider.shutdown_with_timeout(timeout)
    }
}
