//! Installing tracing, flushing it and taking it down again.
//!
//! `init()` resolves the configuration ([`crate::config`]), assembles what
//! each exporter contributes to each signal ([`assembly`]), starts the span
//! pipeline and the logs, and registers the result, [`Installed`], as the
//! process's running set-up ([`crate::global_state`]). The guard, the free
//! [`flush`] and the SIGTERM/SIGINT handling all go through it.

mod assembly;
mod destinations;
mod guard;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry::global;
use opentelemetry::metrics::NoopMeterProvider;
use opentelemetry_sdk::error::OTelSdkError;
use opentelemetry_sdk::metrics::SdkMeterProvider;

pub use guard::{ExporterError, InitError, ShutdownError, TracingGuard};

use crate::config::{Config, Env, Resolved, Signal, build_resource, print_warnings};
use crate::export::{Delivery, DeliveryReport};
use crate::global_state::{self, Installation};
use crate::logs::LogPipeline;
use crate::pipeline::{self, LogQueue, MetricsSettings, Pipeline, Settings, TailSamplingReport};
use crate::sync::MutexExt;
use crate::{dispatch, propagation};
use guard::GuardDropped;

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
///   flushes every finished span (within the shutdown timeout), sends what
///   ended during that flush, and then ends the process as the signal would
///   have. A program that handles the
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
    Config::new().init()
}

impl Config {
    /// Installs this configuration; see [`crate::init`].
    pub fn init(self) -> Result<TracingGuard, InitError> {
        let env = Env::process();
        let resolved = self.resolve(&env)?;
        print_warnings(&env);
        install(resolved)
    }
}

/// Sends every span that has ended so far, waiting at most the configured
/// shutdown timeout; tracing stays installed. Does nothing (and succeeds)
/// when `init()` has not set tracing up, and at once in a child forked after
/// `init()` (which records nothing until it calls `init()` itself). With
/// tail sampling, the traces whose local root has ended are decided now,
/// without waiting out their grace; a trace whose local root still runs
/// stays held, to be decided when it ends (or at shutdown).
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
    match global_state::setup::<Installed>() {
        Some(installed) => installed.flush(Instant::now() + installed.shutdown_timeout),
        None => Ok(()),
    }
}

fn install(config: Resolved) -> Result<TracingGuard, InitError> {
    let installed = global_state::install_setup(InitError::AlreadyInitialised, || {
        build(config).map(Arc::new)
    })?;
    global_state::set_guard_dropped_reported(false);
    #[cfg(unix)]
    {
        crate::signals::install_default_handlers();
        crate::fork::watch();
    }
    Ok(TracingGuard {
        installed: Some(installed),
    })
}

fn build(config: Resolved) -> Result<Installed, InitError> {
    propagation::install(&config.propagators);
    global::set_text_map_propagator(propagation::composite(&config.propagators));
    #[cfg(feature = "tracing")]
    crate::library_spans::set_filter(&config.library_spans, true);
    let shutdown_timeout = config.shutdown_timeout;
    if config.disabled {
        dispatch::reprobe();
        return Ok(Installed {
            pipeline: Mutex::new(None),
            logs: Mutex::new(None),
            meters: Mutex::new(None),
            span_delivery: None,
            log_delivery: None,
            shutdown_timeout,
            forks: pipeline::forks(),
        });
    }
    let resource = build_resource(config.resource_attributes.clone());
    let assembly = assembly::assemble(&config, &resource)?;
    if let Some(line) = destinations::announcement(&assembly.destinations) {
        eprintln!("{line}");
    }
    let log_delivery = assembly.log_delivery.zip(
        assembly
            .log_export
            .as_ref()
            .map(|export| Arc::clone(&export.queue)),
    );
    let logs = LogPipeline::start(&config.logs, assembly.log_provider);
    let exporting_spans = !assembly.span_sinks.is_empty();
    let metrics = (!assembly.metric_sinks.is_empty()).then(|| MetricsSettings {
        interval: config.metrics.interval,
        temporality: config.metrics.span_temporality(),
        cardinality_limit: config.metrics.cardinality_limit,
        kinds: config.metrics.span_kinds.clone(),
        exemplars: exporting_spans,
        sinks: assembly.metric_sinks,
    });
    // Spans are recorded for their metrics too, where only metrics go out.
    let recording = exporting_spans
        || metrics
            .as_ref()
            .is_some_and(|metrics| !metrics.kinds.is_empty());
    if let Some(meters) = &assembly.meter_provider {
        global::set_meter_provider(meters.clone());
    }
    let settings = Settings {
        sampler: config.sampler,
        root_sampler: config.root_sampler,
        recording,
        limits: config.limits,
        resource,
        sinks: assembly.span_sinks,
        span_starts: assembly.span_starts,
        max_export_batch_size: config.batch.max_export_batch_size,
        schedule_delay: config.batch.schedule_delay,
        max_concurrent_exports: config.max_concurrent_exports,
        budget: assembly.budget,
        max_pending_spans: config
            .batch
            .queue_size_set
            .then_some(config.batch.max_queue_size),
        logs: assembly.log_export,
        tail_sampling: config.tail_sampling.filter(|_| exporting_spans),
        on_wake: Some(dispatch::check_native_slot),
        monotonic_clock: config.monotonic_clock,
        metrics,
    };
    let pipeline = Pipeline::start(settings);
    dispatch::install_native(pipeline.shared());
    Ok(Installed {
        pipeline: Mutex::new(Some(pipeline)),
        logs: Mutex::new(Some(logs)),
        meters: Mutex::new(assembly.meter_provider),
        span_delivery: assembly.span_delivery,
        log_delivery,
        shutdown_timeout,
        forks: pipeline::forks(),
    })
}

/// What `init()` installed, with a bounded flush and shutdown: the one place
/// the guard, [`flush`] and the signal handling take tracing through.
#[derive(Debug)]
pub(crate) struct Installed {
    pipeline: Mutex<Option<Pipeline>>,
    logs: Mutex<Option<LogPipeline>>,
    /// The meter provider of the application's instruments.
    meters: Mutex<Option<SdkMeterProvider>>,
    span_delivery: Option<Arc<Delivery>>,
    /// Counts of the log records sent over OTLP, and the queue that counts
    /// those written.
    log_delivery: Option<(Arc<Delivery>, Arc<LogQueue>)>,
    /// The configured bound on a flush or shutdown.
    pub(crate) shutdown_timeout: Duration,
    /// The process that set it up, by [`pipeline::forks`].
    forks: u32,
}

impl Installation for Installed {
    /// When the signal is `ending` the process (nobody else handles it),
    /// tracing is taken down: recording stops and everything queued is sent.
    /// Otherwise the program owns the signal and goes on: what has finished
    /// is flushed, and nothing else.
    fn on_termination_signal(&self, ending: bool) {
        let until = Instant::now() + self.shutdown_timeout;
        let result = if ending {
            // The process is ending: spans started from here on are not news.
            global_state::set_guard_dropped_reported(true);
            // What has ended leaves first, with tracing still on, so that
            // spans ending meanwhile are recorded; the shutdown then stops
            // recording and drains once more, just before the process ends.
            let flushed = self.flush(until);
            let shut = self.shutdown(until);
            global_state::remove_setup(self);
            flushed.and(shut)
        } else {
            self.flush(until)
        };
        if let Err(error) = result {
            eprintln!("traced: flushing on a termination signal: {error}");
        }
    }

    fn inherited(&self) -> bool {
        self.forks != pipeline::forks()
    }
}

impl Installed {
    /// Sends every span and log record ended so far; returns once it is sent
    /// or at `until`. In a forked child, at once: its parent sends what the
    /// two share, and the child records nothing through it.
    pub(crate) fn flush(&self, until: Instant) -> Result<(), ShutdownError> {
        if self.inherited() {
            say_forked();
            return Ok(());
        }
        if let Some(logs) = self.logs.locked().as_ref() {
            logs.flush().map_err(log_error)?;
        }
        match self.pipeline.locked().as_ref() {
            Some(pipeline) => pipeline.flush(until).map_err(ShutdownError::from),
            None => Ok(()),
        }
    }

    /// Stops recording, sends what is left by `until` and shuts the
    /// exporters down; in a forked child, nothing.
    fn shutdown(&self, until: Instant) -> Result<(), ShutdownError> {
        if self.inherited() {
            say_forked();
            return Ok(());
        }
        // Logs first: their last records may belong to spans still queued.
        let logs_shut = match self.logs.locked().take() {
            Some(logs) => logs
                .shutdown(until.saturating_duration_since(Instant::now()))
                .map_err(log_error),
            None => Ok(()),
        };
        let Some(pipeline) = self.pipeline.locked().take() else {
            return logs_shut;
        };
        // New spans go nowhere from here on (the first one says so once); the
        // pipeline then sends what is queued, within the bound.
        let shared = pipeline.shared();
        dispatch::uninstall_native(shared, GuardDropped);
        let tail_sampling = pipeline.tail_sampling_handle();
        let shut = pipeline.shutdown(until).map_err(ShutdownError::from);
        let meters_shut = match self.meters.locked().take() {
            Some(meters) => {
                let left = until.saturating_duration_since(Instant::now());
                global::set_meter_provider(NoopMeterProvider::new());
                meters.shutdown_with_timeout(left).map_err(metrics_error)
            }
            None => Ok(()),
        };
        let tail_report = tail_sampling.map(|counters| counters.report());
        if let Some(tail_report) = &tail_report {
            eprintln!("traced: {tail_report}");
        }
        let report = self.report(shared.queue.ended(), sampled_out(tail_report));
        match (report, shut.and(logs_shut).and(meters_shut)) {
            (Some(report), _) if !report.is_complete() => Err(ShutdownError::Undelivered(report)),
            (_, Err(error)) => Err(error),
            _ => Ok(()),
        }
    }

    fn delivery(&self) -> Option<DeliveryReport> {
        if self.inherited() {
            return None;
        }
        let pipeline = self.pipeline.locked();
        let pipeline = pipeline.as_ref()?;
        self.report(
            pipeline.shared().queue.ended(),
            sampled_out(pipeline.tail_sampling()),
        )
    }

    /// What became of what was sent over OTLP, given the spans that ended
    /// and those tail sampling dropped; `None` when nothing goes over OTLP.
    fn report(&self, spans_ended: u64, sampled_out: u64) -> Option<DeliveryReport> {
        if self.span_delivery.is_none() && self.log_delivery.is_none() {
            return None;
        }
        Some(DeliveryReport::new(
            self.span_delivery
                .as_deref()
                .map(|delivery| (delivery, spans_ended, sampled_out)),
            self.log_delivery
                .as_ref()
                .map(|(delivery, queue)| (&**delivery, queue.emitted())),
        ))
    }

    fn tail_sampling(&self) -> Option<TailSamplingReport> {
        if self.inherited() {
            return None;
        }
        self.pipeline.locked().as_ref()?.tail_sampling()
    }
}

/// Says once, in a forked child, why its inherited set-up does nothing.
fn say_forked() {
    const FORKED: &str = "traced: this process was forked after traced::init(), whose export \
                          thread runs in the parent only: spans of this process are not recorded; \
                          call traced::init() here to record them";
    if global_state::first_time_warned(FORKED) {
        eprintln!("{FORKED}");
    }
}

/// A failed flush or shutdown of the logs.
fn log_error(error: OTelSdkError) -> ShutdownError {
    match error {
        OTelSdkError::Timeout(waited) => ShutdownError::TimedOut(waited),
        error => ShutdownError::Exporter(ExporterError::new(Signal::Logs, error.to_string())),
    }
}

/// A failed flush or shutdown of the application's instruments.
fn metrics_error(error: OTelSdkError) -> ShutdownError {
    match error {
        OTelSdkError::Timeout(waited) => ShutdownError::TimedOut(waited),
        error => ShutdownError::Exporter(ExporterError::new(Signal::Metrics, error.to_string())),
    }
}

/// Spans tail sampling dropped: not lost.
fn sampled_out(tail_sampling: Option<TailSamplingReport>) -> u64 {
    tail_sampling.map_or(0, |report| report.dropped_spans)
}

/// Takes down what `init()` installed, and frees the slot for the next
/// `init()`.
fn take_down(installed: &Arc<Installed>, deadline: Duration) -> Result<(), ShutdownError> {
    let result = installed.shutdown(Instant::now() + deadline);
    global_state::remove_setup(&**installed);
    result
}
