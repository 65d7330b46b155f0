//! Installing the tracer provider and taking it down again.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::global;
use opentelemetry::trace::noop::NoopTracerProvider;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkError;
use opentelemetry_sdk::trace::SdkTracerProvider;

use crate::config::{ConfigError, Exporter, Resolved};
use crate::{dispatch, export, propagation};

static INITIALISED: AtomicBool = AtomicBool::new(false);

/// Sets tracing up from the `OTEL_*` environment: resource, sampler,
/// propagators and exporter. With nothing configured, finished traces print to
/// stderr as waterfall trees.
///
/// Keep the returned guard alive for as long as the program traces: dropping
/// it flushes every finished span and shuts the provider down.
///
/// ```
/// let _guard = traced::init()?;
/// # Ok::<(), traced::InitError>(())
/// ```
pub fn init() -> Result<TracingGuard, InitError> {
    crate::Config::new().init()
}

pub(crate) fn install(config: Resolved) -> Result<TracingGuard, InitError> {
    if INITIALISED.swap(true, Ordering::AcqRel) {
        return Err(InitError::AlreadyInitialised);
    }
    propagation::set_propagator(Arc::new(propagation::w3c()));
    global::set_text_map_propagator(propagation::w3c());
    if config.disabled {
        dispatch::reprobe();
        return Ok(TracingGuard { provider: None });
    }
    let resource = Resource::builder()
        .with_service_name(config.service_name)
        .build();
    let mut builder = SdkTracerProvider::builder().with_resource(resource);
    builder = match config.exporter {
        Exporter::Console => builder.with_batch_exporter(export::ConsoleExporter::stderr()),
        Exporter::None => builder,
    };
    let provider = builder.build();
    global::set_tracer_provider(provider.clone());
    dispatch::reprobe();
    Ok(TracingGuard {
        provider: Some(provider),
    })
}

/// Keeps tracing installed; flushes and shuts down when dropped.
#[must_use = "tracing shuts down when the guard is dropped"]
#[derive(Debug)]
pub struct TracingGuard {
    provider: Option<SdkTracerProvider>,
}

impl TracingGuard {
    /// Flushes every finished span and shuts the provider down, returning what
    /// went wrong instead of printing it.
    pub fn shutdown(mut self) -> Result<(), ShutdownError> {
        self.take_down()
    }

    fn take_down(&mut self) -> Result<(), ShutdownError> {
        let Some(provider) = self.provider.take() else {
            INITIALISED.store(false, Ordering::Release);
            return Ok(());
        };
        let flushed = provider.force_flush();
        let shut = provider.shutdown();
        global::set_tracer_provider(NoopTracerProvider::new());
        dispatch::reprobe();
        INITIALISED.store(false, Ordering::Release);
        flushed.and(shut).map_err(ShutdownError)
    }
}

impl Drop for TracingGuard {
    fn drop(&mut self) {
        if let Err(error) = self.take_down() {
            eprintln!("traced: shutting down: {error}");
        }
    }
}

/// Why tracing could not be set up.
#[derive(Debug)]
#[non_exhaustive]
pub enum InitError {
    /// A configuration value is invalid.
    Config(ConfigError),
    /// `init()` was called while a guard from an earlier call is alive.
    AlreadyInitialised,
}

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InitError::Config(error) => error.fmt(f),
            InitError::AlreadyInitialised => f.write_str(
                "tracing is already initialised; drop the first guard before calling init() again",
            ),
        }
    }
}

impl std::error::Error for InitError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            InitError::Config(error) => Some(error),
            InitError::AlreadyInitialised => None,
        }
    }
}

impl From<ConfigError> for InitError {
    fn from(error: ConfigError) -> Self {
        InitError::Config(error)
    }
}

/// What went wrong while flushing or shutting down.
#[derive(Debug)]
pub struct ShutdownError(OTelSdkError);

impl fmt::Display for ShutdownError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::error::Error for ShutdownError {}
