//! What `traced::init()` sets up, from code and from the `OTEL_*` environment.
//! Every setting left unset in code comes from its environment variable, then
//! from the OpenTelemetry default.

mod env;
mod failure_hints;
#[cfg(feature = "tracing")]
mod library_spans;
mod logs;
mod otlp;
mod propagators;
mod resource;
mod sampler;
mod tail_sampling;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::Sampler;

use crate::sync::MutexExt;
pub use env::ConfigError;
pub(crate) use env::{Env, print_warnings, redact_url};
pub(crate) use failure_hints::FailureHints;
#[cfg(feature = "tracing")]
pub(crate) use library_spans::library_spans_from_env;
use otlp::OtlpOverrides;
pub(crate) use otlp::OtlpSettings;
#[cfg(feature = "otlp")]
pub(crate) use otlp::Tls;
pub use otlp::{Compression, Protocol, Signal};
pub use propagators::Propagator;
pub(crate) use resource::{build_resource, service_name};

pub use logs::ExceptionSignal;
pub(crate) use logs::Logs;
use logs::LogsOverrides;
pub use tail_sampling::TailSampling;

use crate::pipeline::{ExporterSink, Limits, Sink, TailPolicy};

/// Where finished spans go.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Exporter {
    /// Print each finished trace to stderr as a waterfall tree.
    Console,
    /// Send spans to an OTLP collector (gRPC or HTTP/protobuf).
    Otlp,
    /// Send nothing; spans are still created so context propagates.
    None,
}

/// The tracing set-up; what code sets here wins over the environment.
///
/// ```
/// use std::time::Duration;
/// use traced::{Config, Exporter, Protocol};
///
/// let config = Config::new()
///     .service_name("articles")
///     .service_version("1.4.2")
///     .resource_attribute("deployment.environment.name", "staging")
///     .exporters([Exporter::Otlp, Exporter::Console])
///     .otlp_endpoint("https://collector.example.com:4317")
///     .otlp_protocol(Protocol::Grpc)
///     .otlp_header("authorization", "Bearer secret")
///     .schedule_delay(Duration::from_millis(500));
/// # let _ = config;
/// ```
///
/// A value that cannot be used (an unknown `OTEL_TRACES_SAMPLER`, a
/// malformed header, `OTEL_SDK_DISABLED=1`) never stops the program: it is
/// named on stderr once, with what is used instead, and the default applies,
/// as the OpenTelemetry specification asks. [`Config::strict`] makes it an
/// error instead.
#[derive(Clone, Debug, Default)]
pub struct Config {
    service_name: Option<String>,
    service_version: Option<String>,
    resource_attributes: Vec<KeyValue>,
    sampler: Option<Sampler>,
    propagators: Option<Vec<Propagator>>,
    exporters: Option<Vec<Exporter>>,
    otlp: OtlpOverrides,
    disabled: Option<bool>,
    limits: LimitOverrides,
    batch: BatchOverrides,
    shutdown_timeout: Option<Duration>,
    strict: bool,
    pending_memory: Option<usize>,
    max_concurrent_exports: Option<usize>,
    span_exporters: Vec<CustomExporter>,
    logs: LogsOverrides,
    tail_sampling: Option<TailSampling>,
    #[cfg(feature = "tracing")]
    library_spans: Option<String>,
}

/// An exporter handed over in code; shared by clones of the `Config`, taken
/// by the first `init()`.
#[derive(Clone)]
pub(crate) struct CustomExporter(Arc<Mutex<Option<Box<dyn Sink>>>>);

impl CustomExporter {
    pub(crate) fn take(&self) -> Option<Box<dyn Sink>> {
        self.0.locked().take()
    }
}

impl std::fmt::Debug for CustomExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CustomExporter")
    }
}

#[derive(Clone, Debug, Default)]
struct LimitOverrides {
    attributes: Option<u32>,
    events: Option<u32>,
    links: Option<u32>,
    event_attributes: Option<u32>,
    link_attributes: Option<u32>,
    value_length: Option<usize>,
}

#[derive(Clone, Debug, Default)]
struct BatchOverrides {
    schedule_delay: Option<Duration>,
    export_timeout: Option<Duration>,
    max_queue_size: Option<usize>,
    max_export_batch_size: Option<usize>,
}

impl Config {
    /// A configuration that takes everything from the environment.
    pub fn new() -> Self {
        Config::default()
    }

    /// Makes every value that cannot be used an error of `init()` (a
    /// [`ConfigError`] naming the first one) instead of a warning and the
    /// default: for CI, or for services that rather not start than start
    /// half-configured.
    ///
    /// ```
    /// let error = traced::Config::new()
    ///     .strict()
    ///     .max_queue_size(0)
    ///     .init()
    ///     .unwrap_err();
    /// assert_eq!(
    ///     error.to_string(),
    ///     "Config::max_queue_size: invalid value \"0\"; expected a whole number, 1 or more"
    /// );
    /// ```
    pub fn strict(mut self) -> Self {
        self.strict = true;
        self
    }

    /// The `service.name` resource attribute (else `OTEL_SERVICE_NAME`, else
    /// `service.name` in `OTEL_RESOURCE_ATTRIBUTES`, else
    /// `unknown_service:<executable>`).
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// The `service.version` resource attribute.
    pub fn service_version(mut self, version: impl Into<String>) -> Self {
        self.service_version = Some(version.into());
        self
    }

    /// A resource attribute, added to (and winning over) those of
    /// `OTEL_RESOURCE_ATTRIBUTES` and the detected host, process and SDK ones.
    pub fn resource_attribute(
        mut self,
        key: impl Into<opentelemetry::Key>,
        value: impl Into<opentelemetry::Value>,
    ) -> Self {
        self.resource_attributes.push(KeyValue::new(key, value));
        self
    }

    /// Which traces are recorded (else `OTEL_TRACES_SAMPLER(_ARG)`, else
    /// parent-based always-on). Under [`Config::tail_sampling`], it is
    /// replaced, and only the ratio of a trace-id-ratio sampler is used, as
    /// the tail sampling ratio's default (0 for any other sampler; see
    /// [`TailSampling`](crate::TailSampling#the-ratio-of-the-rest)).
    pub fn sampler(mut self, sampler: Sampler) -> Self {
        self.sampler = Some(sampler);
        self
    }

    /// Decides which traces to keep when they end, in this process (else
    /// `TRACED_TAIL_SAMPLING`, else off): a trace with an error, a panic or
    /// a cancellation, a slow one, and a ratio of the rest. See
    /// [`TailSampling`] for the settings. The ratio of the rest is
    /// [`TailSampling::ratio`] when set; else the head sampler's ratio when
    /// it is `traceidratio` or `parentbased_traceidratio`, and 0 under any
    /// other head sampler, `always_on` and the default included: then only
    /// failed, panicked, cancelled and slow traces are kept.
    ///
    /// The spans of each local trace (one trace id in this process) wait on
    /// the export thread until a local root has ended, plus a grace for
    /// children that end later on other tasks; a kept trace then leaves
    /// whole, in one export batch where it fits. Nothing is added on the
    /// threads that make spans. Every trace this process starts is
    /// recorded, and its outgoing `traceparent` says sampled, so the
    /// services it calls record their part; a decision covers this
    /// process's spans only (for whole traces across services, the
    /// OpenTelemetry Collector's `tail_sampling` processor decides at the
    /// collector). A `traceparent` that arrives marked not sampled is still
    /// respected. Log records are not held: they leave as they are written.
    ///
    /// A flush ([`flush`](crate::flush), [`TracingGuard::flush`](crate::TracingGuard::flush),
    /// the one a handled SIGTERM makes) decides the traces whose local root
    /// has ended without waiting out their grace; a trace whose root is
    /// still running stays held, to be judged on how it ends. The shutdown
    /// decides every held trace.
    ///
    /// The console prints kept traces only, each marked with why it was
    /// kept; at shutdown the guard prints how many traces were kept, for
    /// which reason, and how many dropped
    /// ([`TracingGuard::tail_sampling`](crate::TracingGuard::tail_sampling)).
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let _guard = traced::Config::new()
    ///     .tail_sampling(traced::TailSampling::new().slower_than(Duration::from_secs(2)))
    ///     .init()?;
    /// # Ok::<(), traced::InitError>(())
    /// ```
    pub fn tail_sampling(mut self, policy: TailSampling) -> Self {
        self.tail_sampling = Some(policy);
        self
    }

    /// The header formats `traced::propagation` and
    /// `opentelemetry::global` use (else `OTEL_PROPAGATORS`, else W3C trace
    /// context and baggage). An empty list propagates nothing.
    pub fn propagators(mut self, propagators: impl IntoIterator<Item = Propagator>) -> Self {
        self.propagators = Some(propagators.into_iter().collect());
        self
    }

    /// Where spans go (else `OTEL_TRACES_EXPORTER`, else OTLP when an OTLP
    /// endpoint is configured, else the console).
    pub fn exporter(self, exporter: Exporter) -> Self {
        self.exporters([exporter])
    }

    /// Several places spans go at once, e.g. OTLP and the console (else
    /// `OTEL_TRACES_EXPORTER=otlp,console`).
    pub fn exporters(mut self, exporters: impl IntoIterator<Item = Exporter>) -> Self {
        self.exporters = Some(exporters.into_iter().collect());
        self
    }

    /// The OTLP endpoint, `http://` or `https://` (else
    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, used as given, else
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` with `/v1/traces` added over HTTP).
    /// Set in code, an endpoint without a path gets `/v1/traces` over HTTP.
    pub fn otlp_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.otlp.endpoint = Some(endpoint.into());
        self
    }

    /// The OTLP transport (else `OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL`, else
    /// HTTP/protobuf).
    pub fn otlp_protocol(mut self, protocol: Protocol) -> Self {
        self.otlp.protocol = Some(protocol);
        self
    }

    /// A header (gRPC metadata) sent with every OTLP request, added to those
    /// of `OTEL_EXPORTER_OTLP_(TRACES_)HEADERS` and winning over a header of
    /// the same name there.
    pub fn otlp_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.otlp.headers.push((name.into(), value.into()));
        self
    }

    /// The longest one export may take, retries included, over either
    /// transport (else `OTEL_EXPORTER_OTLP_(TRACES_)TIMEOUT`, else 10 s);
    /// [`Duration::ZERO`] means no limit. [`Config::export_timeout`] caps it
    /// too.
    pub fn otlp_timeout(mut self, timeout: Duration) -> Self {
        self.otlp.timeout = Some(timeout);
        self
    }

    /// OTLP request compression (else
    /// `OTEL_EXPORTER_OTLP_(TRACES_)COMPRESSION`, else none).
    /// `Compression::None` set here wins over `gzip` in the environment over
    /// HTTP/protobuf; over gRPC, opentelemetry-otlp applies that `gzip`
    /// itself, and a warning says so.
    pub fn otlp_compression(mut self, compression: Compression) -> Self {
        self.otlp.compression = Some(compression);
        self
    }

    /// A PEM file with the CA certificate that signed the collector's
    /// certificate; it is then the only one trusted (else
    /// `OTEL_EXPORTER_OTLP_(TRACES_)CERTIFICATE`, else the system's roots
    /// and Mozilla's).
    pub fn otlp_certificate(mut self, ca_pem: impl Into<PathBuf>) -> Self {
        self.otlp.certificate = Some(ca_pem.into());
        self
    }

    /// PEM files with the client certificate (chain) and its private key,
    /// for collectors that ask for mutual TLS (else
    /// `OTEL_EXPORTER_OTLP_(TRACES_)CLIENT_CERTIFICATE` and `_CLIENT_KEY`).
    pub fn otlp_client_certificate(
        mut self,
        certificate_pem: impl Into<PathBuf>,
        key_pem: impl Into<PathBuf>,
    ) -> Self {
        self.otlp.client_certificate = Some((certificate_pem.into(), key_pem.into()));
        self
    }

    /// Turns tracing off entirely: no spans are recorded, context still
    /// propagates (else `OTEL_SDK_DISABLED=true`).
    pub fn disabled(mut self, disabled: bool) -> Self {
        self.disabled = Some(disabled);
        self
    }

    /// Attributes kept per span (else `OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT`,
    /// else `OTEL_ATTRIBUTE_COUNT_LIMIT`, else 128); later ones are dropped.
    pub fn max_attributes_per_span(mut self, limit: u32) -> Self {
        self.limits.attributes = Some(limit);
        self
    }

    /// Events kept per span (else `OTEL_SPAN_EVENT_COUNT_LIMIT`, else 128).
    pub fn max_events_per_span(mut self, limit: u32) -> Self {
        self.limits.events = Some(limit);
        self
    }

    /// Links kept per span (else `OTEL_SPAN_LINK_COUNT_LIMIT`, else 128).
    pub fn max_links_per_span(mut self, limit: u32) -> Self {
        self.limits.links = Some(limit);
        self
    }

    /// Attributes kept per span event (else
    /// `OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT`, else `OTEL_ATTRIBUTE_COUNT_LIMIT`,
    /// else 128).
    pub fn max_attributes_per_event(mut self, limit: u32) -> Self {
        self.limits.event_attributes = Some(limit);
        self
    }

    /// Attributes kept per span link (else
    /// `OTEL_LINK_ATTRIBUTE_COUNT_LIMIT`, else `OTEL_ATTRIBUTE_COUNT_LIMIT`,
    /// else 128).
    pub fn max_attributes_per_link(mut self, limit: u32) -> Self {
        self.limits.link_attributes = Some(limit);
        self
    }

    /// Longest string attribute value, in characters; longer values are
    /// truncated, never rejected (else
    /// `OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT`, else
    /// `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`, else unlimited).
    pub fn max_attribute_value_length(mut self, limit: usize) -> Self {
        self.limits.value_length = Some(limit);
        self
    }

    /// Longest wait before a batch is sent (else `OTEL_BSP_SCHEDULE_DELAY`,
    /// else 5 s). A delay under 10 ms (`0` included) sends what has arrived
    /// each time the export thread looks: every 10 ms, or sooner when a
    /// thread's queue fills; the thread never spins.
    pub fn schedule_delay(mut self, delay: Duration) -> Self {
        self.batch.schedule_delay = Some(delay);
        self
    }

    /// Longest time one batch export may take (else
    /// `OTEL_BSP_EXPORT_TIMEOUT`, else 30 s); [`Duration::ZERO`] means no
    /// limit. The export deadline is the shorter of this and
    /// [`Config::otlp_timeout`].
    pub fn export_timeout(mut self, timeout: Duration) -> Self {
        self.batch.export_timeout = Some(timeout);
        self
    }

    /// Finished spans waiting for export beyond the per-thread queues, at
    /// most; spans beyond are dropped and counted (else
    /// `OTEL_BSP_MAX_QUEUE_SIZE`). Unset, only the memory they take is
    /// bounded ([`Config::max_pending_memory`]), so a burst is delivered
    /// whole. It also bounds the batch size.
    pub fn max_queue_size(mut self, size: usize) -> Self {
        self.batch.max_queue_size = Some(size);
        self
    }

    /// Spans per export request at most (else
    /// `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, else 512); no more than the queue size.
    pub fn max_export_batch_size(mut self, size: usize) -> Self {
        self.batch.max_export_batch_size = Some(size);
        self
    }

    /// How long a flush or shutdown (dropping the guard,
    /// [`TracingGuard::shutdown`], [`flush`], a SIGTERM) waits for the last
    /// spans to be sent, at most. By default the export deadline plus 5 s
    /// (15 s with the defaults), so that one slow request does not use the
    /// whole wait up; 30 s when exports have no deadline.
    ///
    /// [`TracingGuard::shutdown`]: crate::TracingGuard::shutdown
    /// [`flush`]: crate::flush
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = Some(timeout);
        self
    }

    /// Memory that finished spans and log records waiting for export may
    /// take beyond the per-thread queues, in bytes, batches in flight to the
    /// collector included (else `TRACED_MAX_PENDING_MEMORY_MIB`, else
    /// 64 MiB): one budget for every signal. Past it, spans and records are
    /// dropped and counted: a collector that stalls cannot make the program
    /// grow without bound, and a burst is still delivered whole.
    ///
    /// Each thread that ends spans has a queue of its own, which holds 16
    /// spans at first (about 2 KiB, outside this budget) and grows within the
    /// budget, up to 1 024, only while the thread ends spans faster than the
    /// export thread takes them; it shrinks again once it stays mostly empty.
    pub fn max_pending_memory(mut self, bytes: usize) -> Self {
        self.pending_memory = Some(bytes);
        self
    }

    /// Export requests in flight at once, per exporter and signal (else
    /// `OTEL_BSP_MAX_CONCURRENT_EXPORTS`, else 4). One at a time caps
    /// delivery at one batch per round trip to the collector, which over
    /// gRPC is a few milliseconds even on loopback; a few in flight let the
    /// round trips overlap. Batches may arrive in any order, and a batch in
    /// flight counts against [`Config::max_pending_memory`] until the
    /// collector answered it; a flush or shutdown waits for all of them.
    pub fn max_concurrent_exports(mut self, exports: usize) -> Self {
        self.max_concurrent_exports = Some(exports);
        self
    }

    /// Sends finished spans to `exporter` too: any
    /// `opentelemetry_sdk::trace::SpanExporter` (a vendor's, an in-memory one
    /// for tests), fed by the same export thread as the configured exporters.
    /// When code and environment choose no exporter, this one replaces the
    /// console. The exporter is used by the first `init()` of this `Config`
    /// or of a clone of it.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use traced::opentelemetry_sdk::error::OTelSdkResult;
    /// use traced::opentelemetry_sdk::trace::{SpanData, SpanExporter};
    ///
    /// /// Keeps the names of the spans it receives.
    /// #[derive(Clone, Debug, Default)]
    /// struct Names(Arc<Mutex<Vec<String>>>);
    ///
    /// impl SpanExporter for Names {
    ///     async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
    ///         let names = batch.into_iter().map(|span| span.name.into_owned());
    ///         self.0.lock().unwrap().extend(names);
    ///         Ok(())
    ///     }
    /// }
    ///
    /// #[traced::traced]
    /// fn work() {}
    ///
    /// let names = Names::default();
    /// let guard = traced::Config::new().span_exporter(names.clone()).init()?;
    /// work();
    /// guard.flush()?;
    /// assert_eq!(*names.0.lock().unwrap(), ["work"]);
    /// # drop(guard);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn span_exporter<E>(mut self, exporter: E) -> Self
    where
        E: opentelemetry_sdk::trace::SpanExporter + 'static,
    {
        let sink: Box<dyn Sink> = Box::new(ExporterSink::new(exporter));
        self.span_exporters
            .push(CustomExporter(Arc::new(Mutex::new(Some(sink)))));
        self
    }

    /// Merges code and environment. Values that cannot be used are noted on
    /// `env` as warnings; under [`Config::strict`] the first is returned as
    /// the error instead.
    pub(crate) fn resolve(self, env: &Env) -> Result<Resolved, ConfigError> {
        let strict = self.strict;
        let resolved = self.resolve_leniently(env);
        match env.warnings().into_iter().next() {
            Some(warning) if strict => Err(warning.error),
            _ => Ok(resolved),
        }
    }

    fn resolve_leniently(self, env: &Env) -> Resolved {
        let strict = self.strict;
        let disabled = self
            .disabled
            .or_else(|| env.bool("OTEL_SDK_DISABLED"))
            .unwrap_or(false);
        let propagators = self
            .propagators
            .unwrap_or_else(|| propagators::from_env(env));
        let endpoint_set = otlp::endpoint_configured(&self.otlp, env, Signal::Traces);
        let own_exporter = !self.span_exporters.is_empty();
        let exporters = self
            .exporters
            .unwrap_or_else(|| exporters_from_env(env, endpoint_set, own_exporter));
        let logs_otlp = self.otlp.clone();
        let export = exports(&exporters, self.otlp, env, Signal::Traces);
        let from_env = self.sampler.is_none();
        let sampler = self.sampler.unwrap_or_else(|| sampler::from_env(env));
        let root_sampler = sampler::root_of(&sampler, from_env, env);
        let tail_sampling = tail_sampling::resolve(self.tail_sampling, &sampler, env);
        let (sampler, root_sampler) = if tail_sampling.is_some() {
            (tail_sampling::head_sampler(), Some(Sampler::AlwaysOn))
        } else {
            (sampler, root_sampler)
        };

        let mut resource_attributes = resource::from_env(env);
        if let Some(name) = self.service_name {
            resource_attributes.push(KeyValue::new(resource::SERVICE_NAME, name));
        }
        if let Some(version) = self.service_version {
            resource_attributes.push(KeyValue::new(resource::SERVICE_VERSION, version));
        }
        resource_attributes.extend(self.resource_attributes);

        let limits = self.limits.resolve(env);
        let batch = self.batch.resolve(env, &SPAN_BATCH);
        let export = with_deadlines(export, batch.export_timeout);
        let logs = self.logs.resolve(env, &export, logs_otlp);
        let pending_memory = self.pending_memory.unwrap_or_else(|| {
            env.positive("TRACED_MAX_PENDING_MEMORY_MIB", "64")
                .map_or(DEFAULT_PENDING_MEMORY, |mib| {
                    mib.saturating_mul(1024 * 1024)
                })
        });
        let max_concurrent_exports = match self.max_concurrent_exports {
            Some(0) => {
                env.warn(
                    "Config::max_concurrent_exports",
                    "0",
                    "a whole number, 1 or more",
                    DEFAULT_CONCURRENT_EXPORTS.to_string(),
                );
                DEFAULT_CONCURRENT_EXPORTS
            }
            Some(exports) => exports,
            None => env
                .positive(
                    "OTEL_BSP_MAX_CONCURRENT_EXPORTS",
                    &DEFAULT_CONCURRENT_EXPORTS.to_string(),
                )
                .unwrap_or(DEFAULT_CONCURRENT_EXPORTS),
        };
        let deadline = export.iter().find_map(|export| match export {
            Export::Otlp(settings) => settings.deadline,
            Export::Console => None,
        });
        let shutdown_timeout = self.shutdown_timeout.unwrap_or(match deadline {
            Some(deadline) => deadline.saturating_add(Duration::from_secs(5)),
            None => Duration::from_secs(30),
        });
        Resolved {
            resource_attributes,
            sampler,
            root_sampler,
            propagators,
            export,
            disabled,
            limits,
            batch,
            shutdown_timeout,
            strict,
            pending_memory,
            max_concurrent_exports,
            span_exporters: self.span_exporters,
            logs,
            tail_sampling,
            console: ConsoleSettings::from_env(env),
            monotonic_clock: monotonic_clock(env),
            #[cfg(feature = "tracing")]
            library_spans: library_spans::resolve(self.library_spans, env),
        }
    }
}

const EXPORTERS: &[&str] = &["otlp", "console", "none"];

/// `OTEL_TRACES_EXPORTER`: a comma list of `otlp`, `console`, `none`; unset,
/// or nothing known in it, means OTLP when an endpoint is configured, else
/// nothing more when code handed over an exporter of its own, else the
/// console.
fn exporters_from_env(env: &Env, endpoint_set: bool, own_exporter: bool) -> Vec<Exporter> {
    let default = if endpoint_set {
        Exporter::Otlp
    } else if own_exporter {
        Exporter::None
    } else {
        Exporter::Console
    };
    exporter_list(env, "OTEL_TRACES_EXPORTER", default)
}

/// The exporters chosen for `signal`, each at most once, OTLP with its
/// settings resolved for that signal; `None` chooses nothing.
pub(crate) fn exports(
    exporters: &[Exporter],
    overrides: OtlpOverrides,
    env: &Env,
    signal: Signal,
) -> Vec<Export> {
    let mut overrides = Some(overrides);
    let mut export = Vec::new();
    for exporter in exporters {
        let chosen = match exporter {
            Exporter::Console => Export::Console,
            Exporter::Otlp => match overrides.take() {
                Some(overrides) => Export::Otlp(otlp::resolve(overrides, env, signal)),
                None => continue,
            },
            Exporter::None => continue,
        };
        if !export.contains(&chosen) {
            export.push(chosen);
        }
    }
    export
}

/// A comma list of exporters in `variable`, or `default` when it is unset or
/// names none that is known.
pub(crate) fn exporter_list(env: &Env, variable: &'static str, default: Exporter) -> Vec<Exporter> {
    let Some(list) = env.get(variable) else {
        return vec![default];
    };
    let mut chosen = Vec::new();
    let mut unknown = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        match name.to_ascii_lowercase().as_str() {
            "otlp" => chosen.push(Exporter::Otlp),
            "console" => chosen.push(Exporter::Console),
            "none" => chosen.push(Exporter::None),
            _ => unknown.push(name),
        }
    }
    if chosen.is_empty() {
        chosen.push(default);
    }
    if !unknown.is_empty() {
        let used: Vec<&str> = chosen
            .iter()
            .map(|exporter| match exporter {
                Exporter::Otlp => "otlp",
                Exporter::Console => "console",
                Exporter::None => "none",
            })
            .collect();
        env.warn(
            variable,
            &unknown.join(","),
            env::one_of(EXPORTERS),
            used.join(","),
        );
    }
    chosen
}

/// The exporters of one signal, OTLP with its export deadline once the
/// signal's batch export timeout is known.
pub(crate) fn with_deadlines(export: Vec<Export>, export_timeout: Option<Duration>) -> Vec<Export> {
    export
        .into_iter()
        .map(|export| match export {
            Export::Otlp(settings) => Export::Otlp(settings.with_deadline(export_timeout)),
            Export::Console => Export::Console,
        })
        .collect()
}

impl LimitOverrides {
    fn resolve(self, env: &Env) -> Limits {
        let general = count_limit(None, env, "OTEL_ATTRIBUTE_COUNT_LIMIT", 128);
        let value_length = match self.value_length {
            Some(length) => Some(length),
            None => [
                "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT",
                "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
            ]
            .into_iter()
            .find(|name| env.get(name).is_some())
            .and_then(|name| env.count(name, "unlimited")),
        };
        Limits {
            attributes: count_limit(
                self.attributes,
                env,
                "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT",
                general,
            ),
            events: count_limit(self.events, env, "OTEL_SPAN_EVENT_COUNT_LIMIT", 128),
            links: count_limit(self.links, env, "OTEL_SPAN_LINK_COUNT_LIMIT", 128),
            event_attributes: count_limit(
                self.event_attributes,
                env,
                "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT",
                general,
            ),
            link_attributes: count_limit(
                self.link_attributes,
                env,
                "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT",
                general,
            ),
            value_length,
        }
    }
}

fn count_limit(code: Option<u32>, env: &Env, variable: &'static str, default: u32) -> u32 {
    if let Some(limit) = code {
        return limit;
    }
    let Some(n) = env.count(variable, &default.to_string()) else {
        return default;
    };
    u32::try_from(n).unwrap_or_else(|_| {
        env.warn(
            variable,
            &n.to_string(),
            "a whole number below 2^32",
            default.to_string(),
        );
        default
    })
}

/// The names a batch processor's settings go by, in the environment and in
/// code, and the one default that differs between signals.
struct BatchVariables {
    schedule_delay: &'static str,
    export_timeout: &'static str,
    max_queue_size: &'static str,
    max_export_batch_size: &'static str,
    code_max_queue_size: &'static str,
    code_max_export_batch_size: &'static str,
    default_schedule_delay: Duration,
}

const SPAN_BATCH: BatchVariables = BatchVariables {
    schedule_delay: "OTEL_BSP_SCHEDULE_DELAY",
    export_timeout: "OTEL_BSP_EXPORT_TIMEOUT",
    max_queue_size: "OTEL_BSP_MAX_QUEUE_SIZE",
    max_export_batch_size: "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
    code_max_queue_size: "Config::max_queue_size",
    code_max_export_batch_size: "Config::max_export_batch_size",
    default_schedule_delay: Duration::from_secs(5),
};

impl BatchOverrides {
    fn resolve(self, env: &Env, names: &BatchVariables) -> Batch {
        let default_delay = names.default_schedule_delay;
        let schedule_delay = self.schedule_delay.unwrap_or_else(|| {
            env.millis(names.schedule_delay, &default_delay.as_millis().to_string())
                .unwrap_or(default_delay)
        });
        let export_timeout = match self.export_timeout {
            Some(timeout) => (!timeout.is_zero()).then_some(timeout),
            None => env
                .timeout(names.export_timeout, "30000")
                .unwrap_or(Some(Duration::from_secs(30))),
        };
        // Set, when a usable size was given; a bad one warns and counts as unset.
        let (max_queue_size, queue_size_set) = match self.max_queue_size {
            Some(0) => {
                env.warn(
                    names.code_max_queue_size,
                    "0",
                    "a whole number, 1 or more",
                    "2048",
                );
                (2048, false)
            }
            Some(size) => (size, true),
            None => match env.positive(names.max_queue_size, "2048") {
                Some(size) => (size, true),
                None => (2048, false),
            },
        };
        let fallback = max_queue_size.min(512);
        let (batch_variable, max_export_batch_size) = match self.max_export_batch_size {
            Some(size) => (names.code_max_export_batch_size, size),
            None => (
                names.max_export_batch_size,
                env.positive(names.max_export_batch_size, &fallback.to_string())
                    .unwrap_or(fallback),
            ),
        };
        let max_export_batch_size =
            if max_export_batch_size == 0 || max_export_batch_size > max_queue_size {
                env.warn(
                    batch_variable,
                    &max_export_batch_size.to_string(),
                    format!("a whole number from 1 to the queue size ({max_queue_size})"),
                    fallback.to_string(),
                );
                fallback
            } else {
                max_export_batch_size
            };
        Batch {
            schedule_delay,
            export_timeout,
            max_queue_size,
            queue_size_set,
            max_export_batch_size,
        }
    }
}

/// The configuration after code and environment are merged.
#[derive(Debug)]
pub(crate) struct Resolved {
    /// Environment first, then code: later entries win.
    pub(crate) resource_attributes: Vec<KeyValue>,
    pub(crate) sampler: Sampler,
    /// The sampler that decides new traces, when known.
    pub(crate) root_sampler: Option<Sampler>,
    pub(crate) propagators: Vec<Propagator>,
    /// Every exporter, each at most once; empty: spans are made but go
    /// nowhere.
    pub(crate) export: Vec<Export>,
    pub(crate) disabled: bool,
    pub(crate) limits: Limits,
    #[cfg_attr(not(feature = "otlp"), allow(dead_code))]
    pub(crate) batch: Batch,
    /// How long a flush or shutdown waits at most.
    pub(crate) shutdown_timeout: Duration,
    /// An exporter that cannot be built is an error, not a warning.
    pub(crate) strict: bool,
    /// Bytes of finished spans and log records that may wait for export
    /// beyond the lanes, batches in flight included.
    pub(crate) pending_memory: usize,
    /// Export requests in flight per exporter and signal, at most.
    pub(crate) max_concurrent_exports: usize,
    /// Exporters handed over in code.
    pub(crate) span_exporters: Vec<CustomExporter>,
    pub(crate) logs: Logs,
    /// Which traces to keep when they end; `None`: all.
    pub(crate) tail_sampling: Option<TailPolicy>,
    pub(crate) console: ConsoleSettings,
    /// `TRACED_CLOCK=monotonic`.
    pub(crate) monotonic_clock: bool,
    /// Which `tracing` spans are recorded: checked filter directives.
    #[cfg(feature = "tracing")]
    pub(crate) library_spans: String,
}

/// How the console exporter prints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ConsoleSettings {
    /// Colour is allowed (`NO_COLOR` is unset); it is used on a terminal.
    pub(crate) colour: bool,
    /// `COLUMNS`, when set to a number.
    pub(crate) columns: Option<usize>,
}

impl ConsoleSettings {
    pub(crate) fn from_env(env: &Env) -> Self {
        ConsoleSettings {
            colour: env.get("NO_COLOR").is_none(),
            columns: env
                .get("COLUMNS")
                .and_then(|columns| columns.trim().parse::<usize>().ok()),
        }
    }
}

/// `TRACED_CLOCK=monotonic`: time spans with the monotonic clock instead of
/// the time-stamp counter.
pub(crate) fn monotonic_clock(env: &Env) -> bool {
    env.get("TRACED_CLOCK")
        .is_some_and(|value| value.trim().eq_ignore_ascii_case("monotonic"))
}

/// 64 MiB of finished spans waiting for export, beyond the per-thread lanes.
const DEFAULT_PENDING_MEMORY: usize = 64 * 1024 * 1024;

/// Export requests in flight per exporter and signal, unless told otherwise.
const DEFAULT_CONCURRENT_EXPORTS: usize = 4;

/// One exporter with its settings.
#[derive(Debug, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // a handful per process, built once
pub(crate) enum Export {
    Console,
    Otlp(OtlpSettings),
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Batch {
    pub(crate) schedule_delay: Duration,
    /// `None`: no limit.
    pub(crate) export_timeout: Option<Duration>,
    pub(crate) max_queue_size: usize,
    /// Whether code or the environment set the queue size (the span
    /// pipeline bounds its queue by memory unless asked for a count).
    pub(crate) queue_size_set: bool,
    pub(crate) max_export_batch_size: usize,
}

#[cfg(test)]
mod tests;
