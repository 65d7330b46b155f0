//! Installing tracing, flushing it and taking it down again.
//!
//! Everything `init()` installs sits behind one handle, [`Installed`], with a
//! bounded `flush` and `shutdown`; the guard, the free [`flush`] and the
//! SIGTERM/SIGINT handling all go through it.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use opentelemetry::InstrumentationScope;
use opentelemetry::global;
use opentelemetry::trace::TracerProvider;
use opentelemetry::trace::noop::NoopTracer;
use opentelemetry_sdk::error::OTelSdkError;

use crate::config::{ConfigError, CustomExporter, Export, Resolved, build_resource};
#[cfg(feature = "otlp")]
use crate::export::CountExported;
use crate::export::{ConsoleSink, Delivery, DeliveryReport};
use crate::logs::{LogPipeline, TraceLogs};
#[cfg(feature = "otlp")]
use crate::pipeline::sink::ExporterSink;
use crate::pipeline::sink::Sink;
use crate::pipeline::{FlushError, OpenSpans, Pipeline, Settings, TailSamplingReport};
use crate::{dispatch, propagation};

/// What the running `init()` installed; `None` when tracing is not set up.
static INSTALLED: Mutex<Option<Arc<Installed>>> = Mutex::new(None);

/// Sets tracing up from the `OTEL_*` environment: resource, sampler,
/// propagators, span limits, batching and exporters. With no exporter and no
/// OTLP endpoint configured, finished traces print to stderr as waterfall
/// trees; with an endpoint, spans go there over OTLP (`http://` or
/// `https://`).
///
/// Keep the returned guard alive for as long as the program traces:
/// dropping it flushes every finished span and shuts the provider down,
/// waiting at most [`Config::shutdown_timeout`](crate::Config::shutdown_timeout).
/// `let _ = traced::init()` drops it at once; write `let _guard = ..`.
///
/// A configuration value that cannot be used is reported on stderr and
/// replaced by its default; see [`Config::strict`](crate::Config::strict).
///
/// Only one set-up is installed at a time: calling `init()` again while a
/// guard is alive returns [`InitError::AlreadyInitialised`]; after the guard is
/// dropped, `init()` may be called again.
///
/// # Ending the process
///
/// - **SIGTERM and SIGINT** (Unix): when the program has no handler of its
///   own for the signal at the time of `init()`, `traced` installs one that
///   flushes every finished span (within the shutdown timeout) and then ends
///   the process as the signal would have. A program that handles the
///   signal itself, before or after `init()` (directly, or through tokio,
///   `signal-hook` or `ctrlc`), keeps full control: `traced` then only
///   flushes, and never ends the process. For a graceful shutdown in tokio
#[cfg_attr(
    feature = "tokio",
    doc = "   services, see [`shutdown_signal`](crate::shutdown_signal)."
)]
#[cfg_attr(
    not(feature = "tokio"),
    doc = "   services, see `shutdown_signal` (feature `tokio`)."
)]
/// - **`std::process::exit`** runs no destructors, so the guard cannot
///   flush: call [`flush`] (or drop the guard) first.
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

/// Sends every span that has ended so far, waiting at most the configured
/// shutdown timeout; tracing stays installed. Does nothing (and succeeds)
/// when `init()` has not set tracing up. With tail sampling, the traces it
/// still holds are decided first, on what they showed so far.
///
/// Call it before `std::process::exit`, which runs no destructor, so the
/// guard cannot flush:
///
/// ```no_run
/// let _guard = traced::init()?;
/// // ...
/// if let Err(error) = traced::flush() {
///     eprintln!("tracing: {error}");
/// }
/// std::process::exit(3);
/// # Ok::<(), traced::InitError>(())
/// ```
pub fn flush() -> Result<(), ShutdownError> {
    match current() {
        Some(installed) => installed.flush(installed.shutdown_timeout),
        None => Ok(()),
    }
}

/// SIGTERM or SIGINT arrived. When the signal is `ours` (nobody else
/// handles it, so the process ends next), tracing is taken down: recording
/// stops and everything queued is sent. Otherwise the program owns the
/// signal and goes on: what has finished is flushed, and nothing else.
#[cfg(unix)]
pub(crate) fn on_termination_signal(ours: bool) {
    let Some(installed) = current() else {
        return;
    };
    let result = if ours {
        // The process is ending: spans started from here on are not news.
        GUARD_DROPPED_WARNED.store(true, Ordering::Release);
        take_down(&installed, installed.shutdown_timeout)
    } else {
        installed.flush(installed.shutdown_timeout)
    };
    if let Err(error) = result {
        eprintln!("traced: flushing on a termination signal: {error}");
    }
}

/// The running set-up, if any.
pub(crate) fn current() -> Option<Arc<Installed>> {
    INSTALLED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

pub(crate) fn install(config: Resolved) -> Result<TracingGuard, InitError> {
    let mut slot = INSTALLED.lock().unwrap_or_else(PoisonError::into_inner);
    if slot.is_some() {
        return Err(InitError::AlreadyInitialised);
    }
    let installed = Arc::new(build(config)?);
    *slot = Some(Arc::clone(&installed));
    drop(slot);
    GUARD_DROPPED_WARNED.store(false, Ordering::Release);
    #[cfg(unix)]
    crate::signals::install_default_handlers();
    Ok(TracingGuard {
        installed: Some(installed),
    })
}

fn build(config: Resolved) -> Result<Installed, InitError> {
    propagation::set_propagator(Arc::new(propagation::composite(&config.propagators)));
    global::set_text_map_propagator(propagation::composite(&config.propagators));
    let shutdown_timeout = config.shutdown_timeout;
    if config.disabled {
        dispatch::reprobe();
        return Ok(Installed {
            pipeline: Mutex::new(None),
            logs: Mutex::new(None),
            delivery: None,
            shutdown_timeout,
        });
    }
    #[cfg(feature = "otlp")]
    let deadline = crate::config::export_deadline(&config.export, &config.batch);
    let resource = build_resource(config.resource_attributes);
    // Log records of a trace print under its spans when both go to the console.
    let console_logs = (config.export.contains(&Export::Console)
        && config.logs.export.contains(&Export::Console))
    .then(|| Arc::new(TraceLogs::default()));
    let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
    let mut open_spans = None;
    #[cfg_attr(not(feature = "otlp"), allow(unused_mut))]
    let mut delivery = None;
    for export in config.export {
        match export {
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
                if let Some(setting) =
                    crate::export::grpc_compression_code_cannot_override(&settings)
                {
                    eprintln!(
                        "traced: {setting} still applies over gRPC although code asked for no \
                         compression: opentelemetry-otlp reads it itself"
                    );
                }
                let exporter = match crate::export::otlp_exporter(&settings, deadline) {
                    Ok(exporter) => exporter,
                    Err(reason) if config.strict => return Err(InitError::Exporter(reason)),
                    Err(reason) => {
                        eprintln!("traced: OTLP export is off: {reason}");
                        continue;
                    }
                };
                let counts = Arc::new(Delivery::default());
                sinks.push(Box::new(ExporterSink(CountExported {
                    inner: exporter,
                    delivery: Arc::clone(&counts),
                    destination: crate::config::redact_url(&settings.endpoint),
                    hint: crate::config::protocol_hint(&settings),
                })));
                delivery = Some(counts);
            }
            #[cfg(not(feature = "otlp"))]
            Export::Otlp(_) if config.strict => {
                return Err(InitError::Exporter(
                    "OTLP export needs the `otlp` feature of traced".to_owned(),
                ));
            }
            #[cfg(not(feature = "otlp"))]
            Export::Otlp(_) => {
                eprintln!("traced: OTLP export is off: it needs the `otlp` feature of traced");
            }
        }
    }
    sinks.extend(
        config
            .span_exporters
            .iter()
            .filter_map(CustomExporter::take),
    );
    let logs = crate::logs::start(&config.logs, resource.clone(), console_logs, config.strict)
        .map_err(InitError::Exporter)?;
    let recording = !sinks.is_empty();
    let settings = Settings {
        sampler: config.sampler,
        root_sampler: config.root_sampler,
        recording,
        limits: config.limits,
        resource,
        sinks,
        open_spans,
        max_export_batch_size: config.batch.max_export_batch_size,
        schedule_delay: config.batch.schedule_delay,
        pending_budget: config.pending_memory,
        max_pending_spans: config
            .batch
            .queue_size_set
            .then_some(config.batch.max_queue_size),
        tail_sampling: config.tail_sampling.filter(|_| recording),
    };
    let pipeline = Pipeline::install(settings);
    dispatch::install_native(pipeline.shared());
    Ok(Installed {
        pipeline: Mutex::new(Some(pipeline)),
        logs: Mutex::new(Some(logs)),
        delivery,
        shutdown_timeout,
    })
}

/// What `init()` installed, with a bounded flush and shutdown: the one place
/// the guard, [`flush`] and the signal handling take tracing through.
#[derive(Debug)]
pub(crate) struct Installed {
    pipeline: Mutex<Option<Pipeline>>,
    logs: Mutex<Option<LogPipeline>>,
    delivery: Option<Arc<Delivery>>,
    /// The configured bound on a flush or shutdown.
    pub(crate) shutdown_timeout: Duration,
}

impl Installed {
    /// Sends every span and log record ended so far; returns once it is sent
    /// or `deadline` has passed.
    pub(crate) fn flush(&self, deadline: Duration) -> Result<(), ShutdownError> {
        let until = Instant::now() + deadline;
        if let Some(logs) = lock(&self.logs).as_ref() {
            logs.flush().map_err(ShutdownError::Sdk)?;
        }
        match lock(&self.pipeline).as_ref() {
            Some(pipeline) => pipeline.flush(until).map_err(ShutdownError::from),
            None => Ok(()),
        }
    }

    /// Stops recording, sends what is left within `deadline` and shuts the
    /// exporters down.
    pub(crate) fn shutdown(&self, deadline: Duration) -> Result<(), ShutdownError> {
        let until = Instant::now() + deadline;
        // Logs first: their last records may belong to spans still queued.
        let logs_shut = match lock(&self.logs).take() {
            Some(logs) => logs.shutdown(deadline).map_err(ShutdownError::Sdk),
            None => Ok(()),
        };
        let Some(pipeline) = lock(&self.pipeline).take() else {
            return logs_shut;
        };
        // New spans go nowhere from here on (the first one says so once); the
        // pipeline then sends what is queued, within the bound.
        dispatch::uninstall_native(GuardDropped);
        let shared = pipeline.shared();
        let tail_sampling = pipeline.tail_sampling_handle();
        let shut = pipeline.shutdown(until).map_err(ShutdownError::from);
        let tail_report = tail_sampling.map(|counters| counters.report());
        if let Some(tail_report) = &tail_report {
            eprintln!("traced: {tail_report}");
        }
        let report = self
            .delivery
            .as_ref()
            .map(|delivery| delivery.report(shared.queue.ended(), sampled_out(tail_report)));
        match (report, shut.and(logs_shut)) {
            (Some(report), _) if !report.is_complete() => Err(ShutdownError::Undelivered(report)),
            (_, Err(error)) => Err(error),
            _ => Ok(()),
        }
    }

    fn delivery(&self) -> Option<DeliveryReport> {
        let pipeline = lock(&self.pipeline);
        let pipeline = pipeline.as_ref()?;
        let ended = pipeline.shared().queue.ended();
        self.delivery
            .as_ref()
            .map(|delivery| delivery.report(ended, sampled_out(pipeline.tail_sampling())))
    }

    fn tail_sampling(&self) -> Option<TailSamplingReport> {
        lock(&self.pipeline).as_ref()?.tail_sampling()
    }
}

/// Spans tail sampling dropped: not lost.
fn sampled_out(tail_sampling: Option<TailSamplingReport>) -> u64 {
    tail_sampling.map_or(0, |report| report.dropped_spans)
}

fn lock<T>(slot: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    slot.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Takes down what `init()` installed, if it still is, and frees the slot
/// for the next `init()`.
fn take_down(installed: &Arc<Installed>, deadline: Duration) -> Result<(), ShutdownError> {
    let result = installed.shutdown(deadline);
    let mut slot = INSTALLED.lock().unwrap_or_else(PoisonError::into_inner);
    if slot
        .as_ref()
        .is_some_and(|current| Arc::ptr_eq(current, installed))
    {
        *slot = None;
    }
    result
}

/// Keeps tracing installed; flushes and shuts down when dropped.
///
/// Dropping the guard waits at most the configured shutdown timeout and prints
/// (once, to stderr) how many spans were not delivered, if any;
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
    installed: Option<Arc<Installed>>,
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
    /// [`traced::flush()`](crate::flush), held traces decided too.
    pub fn flush(&self) -> Result<(), ShutdownError> {
        match &self.installed {
            Some(installed) => installed.flush(installed.shutdown_timeout),
            None => Ok(()),
        }
    }

    /// What became of the spans so far: ended, exported, failed, dropped.
    /// `None` unless spans are exported over OTLP.
    pub fn delivery(&self) -> Option<DeliveryReport> {
        self.installed
            .as_ref()
            .and_then(|installed| installed.delivery())
    }

    /// What tail sampling has decided so far: traces kept, by reason, and
    /// dropped. `None` unless [`Config::tail_sampling`](crate::Config::tail_sampling)
    /// (or `TRACED_TAIL_SAMPLING`) turned it on. Traces still held are not
    /// counted yet; [`TracingGuard::flush`] decides them.
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

/// Whether the first span after the guard was dropped has been reported.
static GUARD_DROPPED_WARNED: AtomicBool = AtomicBool::new(false);

/// Stands in the global slot once the guard is gone: records nothing, and
/// says so once, when the first span is asked for.
#[derive(Debug)]
pub(crate) struct GuardDropped;

impl TracerProvider for GuardDropped {
    type Tracer = NoopTracer;

    fn tracer_with_scope(&self, scope: InstrumentationScope) -> NoopTracer {
        if !dispatch::is_marker(&scope) && !GUARD_DROPPED_WARNED.swap(true, Ordering::AcqRel) {
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
    Exporter(String),
}

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InitError::Config(error) => error.fmt(f),
            InitError::AlreadyInitialised => f.write_str(
                "tracing is already initialised; drop the first guard before calling init() again",
            ),
            InitError::Exporter(reason) => write!(f, "building an exporter: {reason}"),
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
    /// The SDK reported an error (for example the wait ran out).
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
