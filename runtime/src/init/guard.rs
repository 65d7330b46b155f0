//! What `init()` hands back: the guard that keeps tracing installed, and the
//! errors of setting it up and taking it down.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::InstrumentationScope;
use opentelemetry::trace::TracerProvider;
use opentelemetry::trace::noop::NoopTracer;

use super::{Installed, take_down};
use crate::config::{ConfigError, Signal};
use crate::export::DeliveryReport;
use crate::pipeline::{FlushError, SignalKind, TailSamplingReport};
use crate::{dispatch, global_state};

/// Keeps tracing installed; flushes and shuts down when dropped.
///
/// Dropping the guard waits at most the configured shutdown timeout and prints
/// (once, to stderr) how many spans and log records were not delivered, if any;
/// [`TracingGuard::shutdown`] returns that as an error instead. With tail
/// sampling on, shutting down also prints what it kept and dropped:
///
/// ```text
/// traced: tail sampling kept 3 of 1000 traces (1 error, 1 panic, 1 slow) and dropped 997
/// ```
#[must_use = "tracing shuts down when the guard is dropped, and `let _ = ..` drops it at once: \
              write `let _guard = traced::init()?;` and keep it alive for as long as the program \
              traces"]
#[derive(Debug)]
pub struct TracingGuard {
    pub(super) installed: Option<Arc<Installed>>,
}

impl TracingGuard {
    /// Flushes every finished span and shuts the provider down, returning what
    /// went wrong instead of printing it.
    pub fn shutdown(mut self) -> Result<(), ShutdownError> {
        match self.installed.take() {
            Some(installed) => take_down(&installed, installed.shutdown_timeout),
            None => Ok(()),
        }
    }

    /// Sends every span that has ended so far, waiting at most the
    /// configured shutdown timeout; tracing stays installed. The same as
    /// [`traced::flush()`](crate::flush): with tail sampling, traces whose
    /// local root has ended are decided now, and traces whose root still
    /// runs stay held.
    pub fn flush(&self) -> Result<(), ShutdownError> {
        match &self.installed {
            Some(installed) => {
                installed.flush(std::time::Instant::now() + installed.shutdown_timeout)
            }
            None => Ok(()),
        }
    }

    /// What became of the spans and log records so far: ended, exported,
    /// failed, dropped, for each signal sent over OTLP. `None` unless spans or
    /// log records go over OTLP.
    pub fn delivery(&self) -> Option<DeliveryReport> {
        self.installed
            .as_ref()
            .and_then(|installed| installed.delivery())
    }

    /// What tail sampling has decided so far: traces kept, by reason, and
    /// dropped. `None` unless [`Config::tail_sampling`](crate::Config::tail_sampling)
    /// (or `TRACED_TAIL_SAMPLING`) turned it on. Traces still held are not
    /// counted yet: [`TracingGuard::flush`] decides those whose local root
    /// has ended, and the shutdown the rest.
    pub fn tail_sampling(&self) -> Option<TailSamplingReport> {
        self.installed
            .as_ref()
            .and_then(|installed| installed.tail_sampling())
    }
}

impl Drop for TracingGuard {
    fn drop(&mut self) {
        if let Some(installed) = self.installed.take()
            && let Err(error) = take_down(&installed, installed.shutdown_timeout)
        {
            eprintln!("traced: shutting down: {error}");
        }
    }
}

/// Stands in the global slot once the guard is gone: records nothing, and
/// says so once, when the first span is asked for.
#[derive(Debug)]
pub(crate) struct GuardDropped;

impl TracerProvider for GuardDropped {
    type Tracer = NoopTracer;

    fn tracer_with_scope(&self, scope: InstrumentationScope) -> NoopTracer {
        if !dispatch::is_marker(&scope) && global_state::first_span_after_guard() {
            eprintln!(
                "traced: a span was started after the TracingGuard was dropped, so nothing is \
                 recorded; keep the guard alive for as long as the program traces: \
                 `let _guard = traced::init()?;` (`let _ = ..` drops it at once)"
            );
        }
        NoopTracer::new()
    }
}

/// Why tracing could not be set up.
#[derive(Debug)]
#[non_exhaustive]
pub enum InitError {
    /// A configuration value is invalid (only under
    /// [`Config::strict`](crate::Config::strict)).
    Config(ConfigError),
    /// `init()` was called while a guard from an earlier call is alive.
    AlreadyInitialised,
    /// An exporter of spans or logs could not be built (only under
    /// [`Config::strict`](crate::Config::strict); otherwise that exporter is
    /// left out with a warning).
    Exporter(ExporterError),
}

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InitError::Config(error) => error.fmt(f),
            InitError::AlreadyInitialised => f.write_str(
                "tracing is already initialised; drop the first guard before calling init() again",
            ),
            InitError::Exporter(error) => write!(f, "building an exporter: {error}"),
        }
    }
}

impl std::error::Error for InitError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            InitError::Config(error) => Some(error),
            InitError::Exporter(error) => Some(error),
            InitError::AlreadyInitialised => None,
        }
    }
}

impl From<ConfigError> for InitError {
    fn from(error: ConfigError) -> Self {
        InitError::Config(error)
    }
}

/// An exporter that could not be built, or that failed: which signal it
/// sends, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExporterError {
    signal: Signal,
    reason: String,
}

impl ExporterError {
    pub(crate) fn new(signal: Signal, reason: impl Into<String>) -> Self {
        ExporterError {
            signal,
            reason: reason.into(),
        }
    }

    /// The signal the exporter sends.
    pub fn signal(&self) -> Signal {
        self.signal
    }

    /// What went wrong, as the exporter or its transport said it.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for ExporterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.signal {
            Signal::Traces => f.write_str(&self.reason),
            signal => write!(f, "{signal}: {}", self.reason),
        }
    }
}

impl std::error::Error for ExporterError {}

/// What went wrong while flushing or shutting down.
#[derive(Debug)]
#[non_exhaustive]
pub enum ShutdownError {
    /// Some ended spans or log records never reached the collector.
    Undelivered(DeliveryReport),
    /// The wait ran out before everything was sent.
    TimedOut(Duration),
    /// An exporter failed while sending or shutting down.
    Exporter(ExporterError),
}

impl fmt::Display for ShutdownError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShutdownError::Undelivered(report) => report.fmt(f),
            ShutdownError::TimedOut(waited) => write!(f, "not done after {waited:?}"),
            ShutdownError::Exporter(error) => {
                write!(f, "exporting {} failed: {}", error.signal, error.reason)
            }
        }
    }
}

impl std::error::Error for ShutdownError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ShutdownError::Exporter(error) => Some(error),
            ShutdownError::Undelivered(_) | ShutdownError::TimedOut(_) => None,
        }
    }
}

impl From<FlushError> for ShutdownError {
    fn from(error: FlushError) -> Self {
        match error {
            FlushError::Timeout(waited) => ShutdownError::TimedOut(waited),
            FlushError::Export { signal, error } => {
                let signal = match signal {
                    SignalKind::Spans => Signal::Traces,
                    SignalKind::Logs => Signal::Logs,
                };
                ShutdownError::Exporter(ExporterError::new(signal, error))
            }
        }
    }
}
