//! Installing the tracer provider and taking it down again.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use std::time::Instant;

use opentelemetry::global;
use opentelemetry_sdk::error::OTelSdkError;

use crate::config::{
    ConfigError, CustomExporter, Export, Resolved, build_propagator, build_resource,
};
use crate::export::{ConsoleSink, DeliveryReport};
#[cfg(feature = "otlp")]
use crate::export::{CountExported, Delivery};
use crate::logs::{LogPipeline, TraceLogs};
#[cfg(feature = "otlp")]
use crate::pipeline::sink::ExporterSink;
use crate::pipeline::sink::Sink;
use crate::pipeline::{FlushError, Limits, OpenSpans, Pipeline, Settings};
use crate::{dispatch, propagation};

static INITIALISED: AtomicBool = AtomicBool::new(false);

/// Sets tracing up from the `OTEL_*` environment: resource, sampler,
/// propagators, span limits, batching and exporter. With no exporter and no
/// OTLP endpoint configured, finished traces print to stderr as waterfall
/// trees; with an endpoint, spans go there over OTLP.
///
/// Keep the returned guard alive for as long as the program traces: dropping
/// it flushes every finished span and shuts the provider down, waiting at
/// most [`Config::shutdown_timeout`](crate::Config::shutdown_timeout).
///
/// Only one set-up is installed at a time: calling `init()` again while a
/// guard is alive returns [`InitError::AlreadyInitialised`]; after the guard is
/// dropped, `init()` may be called again.
///
/// ```
/// let guard = traced::init()?;
/// assert!(matches!(traced::init(), Err(traced::InitError::AlreadyInitialised)));
/// drop(guard);
/// # Ok::<(), traced::InitError>(())
/// ```
pub fn init() -> Result<TracingGuard, InitError> {
    crate::Config::new().init()
}

pub(crate) fn install(config: Resolved) -> Result<TracingGuard, InitError> {
    if INITIALISED.swap(true, Ordering::AcqRel) {
        return Err(InitError::AlreadyInitialised);
    }
    match build(config) {
        Ok(guard) => Ok(guard),
        Err(error) => {
            INITIALISED.store(false, Ordering::Release);
            Err(error)
        }
    }
}

fn build(config: Resolved) -> Result<TracingGuard, InitError> {
    propagation::set_propagator(Arc::new(build_propagator(&config.propagators)));
    global::set_text_map_propagator(build_propagator(&config.propagators));
    if config.disabled {
        dispatch::reprobe();
        return Ok(TracingGuard::empty(config.shutdown_timeout));
    }
    let resource = build_resource(config.resource_attributes);
    // Log records of a trace print under its spans when both go to the console.
    let console_logs = (config.export == Export::Console && config.logs.export == Export::Console)
        .then(|| Arc::new(TraceLogs::default()));
    let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
    let mut delivery = None;
    let mut open_spans = None;
    match config.export {
        Export::None => {}
        Export::Console => {
            let open = Arc::new(OpenSpans::default());
            let mut console = ConsoleSink::stderr(Arc::clone(&open));
            if let Some(logs) = &console_logs {
                console = console.with_logs(Arc::clone(logs));
            }
            sinks.push(Box::new(console));
            open_spans = Some(open);
        }
        #[cfg(feature = "otlp")]
        Export::Otlp(settings) => {
            let counts = Arc::new(Delivery::default());
            let timeout = settings.timeout.min(config.batch.export_timeout);
            let exporter =
                crate::export::otlp_exporter(&settings, timeout).map_err(InitError::Exporter)?;
            sinks.push(Box::new(ExporterSink(CountExported {
                inner: exporter,
                delivery: Arc::clone(&counts),
                destination: settings.endpoint.clone(),
            })));
            delivery = Some(counts);
        }
        #[cfg(not(feature = "otlp"))]
        Export::Otlp(_) => {
            return Err(InitError::Exporter(
                "OTLP export needs the `otlp` feature of traced".to_owned(),
            ));
        }
    }
    sinks.extend(
        config
            .span_exporters
            .iter()
            .filter_map(CustomExporter::take),
    );
    let settings = Settings {
        sampler: config.sampler,
        recording: !sinks.is_empty(),
        limits: Limits {
            attributes: config.limits.attributes as usize,
            events: config.limits.events as usize,
            links: config.limits.links as usize,
            value_length: config.limits.value_length,
            ..Limits::default()
        },
        resource: resource.clone(),
        sinks,
        open_spans,
        max_export_batch_size: config.batch.max_export_batch_size,
        schedule_delay: config.batch.schedule_delay,
        pending_budget: config.pending_memory,
    };
    let logs =
        crate::logs::start(&config.logs, resource, console_logs).map_err(InitError::Exporter)?;
    let pipeline = Pipeline::install(settings);
    dispatch::install_native(pipeline.shared());
    Ok(TracingGuard {
        pipeline: Some(pipeline),
        logs: Some(logs),
        delivery,
        shutdown_timeout: config.shutdown_timeout,
    })
}

/// Keeps tracing installed; flushes and shuts down when dropped.
///
/// Dropping the guard waits at most the configured shutdown timeout and prints
/// (once, to stderr) how many spans were not delivered, if any;
/// [`TracingGuard::shutdown`] returns that as an error instead.
#[must_use = "tracing shuts down when the guard is dropped"]
#[derive(Debug)]
pub struct TracingGuard {
    pipeline: Option<Pipeline>,
    logs: Option<LogPipeline>,
    delivery: Option<Arc<Delivery>>,
    shutdown_timeout: Duration,
}

impl TracingGuard {
    fn empty(shutdown_timeout: Duration) -> Self {
        TracingGuard {
            pipeline: None,
            logs: None,
            delivery: None,
            shutdown_timeout,
        }
    }

    /// Flushes every finished span and shuts the provider down, returning what
    /// went wrong instead of printing it.
    pub fn shutdown(mut self) -> Result<(), ShutdownError> {
        self.take_down()
    }

    /// Exports every span that has ended so far, waiting at most the
    /// shutdown timeout; tracing stays installed.
    pub fn flush(&self) -> Result<(), ShutdownError> {
        let Some(pipeline) = &self.pipeline else {
            return Ok(());
        };
        pipeline
            .flush(Instant::now() + self.shutdown_timeout)
            .map_err(ShutdownError::from)
    }

    /// What became of the spans so far: ended, exported, failed, dropped.
    /// `None` unless spans are exported over OTLP.
    pub fn delivery(&self) -> Option<DeliveryReport> {
        let ended = self.pipeline.as_ref()?.shared().queue.ended();
        self.delivery
            .as_ref()
            .map(|delivery| delivery.report(ended))
    }

    fn take_down(&mut self) -> Result<(), ShutdownError> {
        // Logs first: their last records may belong to spans still queued.
        let logs_shut = self
            .logs
            .take()
            .map_or(Ok(()), |logs| logs.shutdown(self.shutdown_timeout));
        let Some(pipeline) = self.pipeline.take() else {
            INITIALISED.store(false, Ordering::Release);
            return Ok(());
        };
        // New spans go nowhere from here on; the pipeline then sends what is
        // queued, within the bound.
        dispatch::uninstall_native();
        let shared = pipeline.shared();
        let shut = pipeline.shutdown(Instant::now() + self.shutdown_timeout);
        INITIALISED.store(false, Ordering::Release);
        let ended = shared.queue.ended();
        let report = self
            .delivery
            .as_ref()
            .map(|delivery| delivery.report(ended));
        let logs_shut = logs_shut.map_err(|error| ShutdownError::Sdk(error));
        match (report, shut.map_err(ShutdownError::from).and(logs_shut)) {
            (Some(report), _) if !report.is_complete() => Err(ShutdownError::Undelivered(report)),
            (_, Err(error)) => Err(error),
            _ => Ok(()),
        }
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
    /// The exporter could not be built.
    Exporter(String),
}

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InitError::Config(error) => error.fmt(f),
            InitError::AlreadyInitialised => f.write_str(
                "tracing is already initialised; drop the first guard before calling init() again",
            ),
            InitError::Exporter(reason) => write!(f, "building the span exporter: {reason}"),
        }
    }
}

impl std::error::Error for InitError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            InitError::Config(error) => Some(error),
            _ => None,
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
#[non_exhaustive]
pub enum ShutdownError {
    /// Some ended spans never reached the collector.
    Undelivered(DeliveryReport),
    /// The SDK reported an error (for example the shutdown wait ran out).
    Sdk(OTelSdkError),
}

impl fmt::Display for ShutdownError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShutdownError::Undelivered(report) => report.fmt(f),
            ShutdownError::Sdk(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for ShutdownError {}

impl From<FlushError> for ShutdownError {
    fn from(error: FlushError) -> Self {
        ShutdownError::Sdk(match error {
            FlushError::Timeout(waited) => OTelSdkError::Timeout(waited),
            FlushError::Export(error) => OTelSdkError::InternalFailure(error),
        })
    }
}
