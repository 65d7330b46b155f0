//! What `traced::init()` sets up, from code and from the `OTEL_*` environment.
//! Every setting left unset in code comes from its environment variable, then
//! from the OpenTelemetry default.

mod env;
mod logs;
mod otlp;
mod propagators;
mod resource;
mod sampler;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::Sampler;

pub use env::ConfigError;
pub(crate) use env::Env;
pub use logs::ExceptionSignal;
pub(crate) use logs::Logs;
use logs::LogsOverrides;
use otlp::OtlpOverrides;
pub(crate) use otlp::OtlpSettings;
pub use otlp::{Compression, Protocol};
pub(crate) use propagators::build as build_propagator;
pub use propagators::{B3Encoding, B3Propagator, JaegerPropagator, Propagator};
pub(crate) use resource::{build as build_resource, service_name};

use crate::pipeline::sink::{ExporterSink, Sink};

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

impl Exporter {
    /// The exporter `variable` names (`otlp`, `console`, `none`), if set.
    fn from_env(env: &Env, variable: &'static str) -> Result<Option<Exporter>, ConfigError> {
        env.get(variable)
            .map(|value| match value.to_ascii_lowercase().as_str() {
                "otlp" => Ok(Exporter::Otlp),
                "console" => Ok(Exporter::Console),
                "none" => Ok(Exporter::None),
                _ => Err(ConfigError::one_of(
                    variable,
                    &value,
                    &["otlp", "console", "none"],
                )),
            })
            .transpose()
    }
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
///     .exporter(Exporter::Otlp)
///     .otlp_endpoint("http://localhost:4317")
///     .otlp_protocol(Protocol::Grpc)
///     .schedule_delay(Duration::from_millis(500));
/// # let _ = config;
/// ```
#[derive(Clone, Debug, Default)]
pub struct Config {
    service_name: Option<String>,
    service_version: Option<String>,
    resource_attributes: Vec<KeyValue>,
    sampler: Option<Sampler>,
    propagators: Option<Vec<Propagator>>,
    exporter: Option<Exporter>,
    otlp: OtlpOverrides,
    disabled: Option<bool>,
    limits: LimitOverrides,
    batch: BatchOverrides,
    shutdown_timeout: Option<Duration>,
    pending_memory: Option<usize>,
    span_exporters: Vec<CustomExporter>,
    logs: LogsOverrides,
}

/// An exporter handed over in code; shared by clones of the `Config`, taken
/// by the first `init()`.
#[derive(Clone)]
pub(crate) struct CustomExporter(Arc<Mutex<Option<Box<dyn Sink>>>>);

impl CustomExporter {
    pub(crate) fn take(&self) -> Option<Box<dyn Sink>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
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
    /// parent-based always-on).
    pub fn sampler(mut self, sampler: Sampler) -> Self {
        self.sampler = Some(sampler);
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
    pub fn exporter(mut self, exporter: Exporter) -> Self {
        self.exporter = Some(exporter);
        self
    }

    /// The OTLP endpoint (else `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, used as
    /// given, else `OTEL_EXPORTER_OTLP_ENDPOINT`). Over HTTP, an endpoint
    /// without a path gets `/v1/traces`.
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
    /// of `OTEL_EXPORTER_OTLP_(TRACES_)HEADERS`.
    pub fn otlp_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.otlp.headers.push((name.into(), value.into()));
        self
    }

    /// How long one OTLP request may take (else
    /// `OTEL_EXPORTER_OTLP_(TRACES_)TIMEOUT`, else 10 s).
    pub fn otlp_timeout(mut self, timeout: Duration) -> Self {
        self.otlp.timeout = Some(timeout);
        self
    }

    /// OTLP request compression (else
    /// `OTEL_EXPORTER_OTLP_(TRACES_)COMPRESSION`, else none).
    pub fn otlp_compression(mut self, compression: Compression) -> Self {
        self.otlp.compression = Some(compression);
        self
    }

    /// Turns tracing off entirely: no spans are recorded, context still
    /// propagates (else `OTEL_SDK_DISABLED`).
    pub fn disabled(mut self, disabled: bool) -> Self {
        self.disabled = Some(disabled);
        self
    }

    /// Attributes kept per span (else `OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT`,
    /// else 128); later ones are dropped.
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

    /// Longest string attribute value, in characters; longer values are
    /// truncated, never rejected (else `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`,
    /// else unlimited).
    pub fn max_attribute_value_length(mut self, limit: usize) -> Self {
        self.limits.value_length = Some(limit);
        self
    }

    /// Longest wait before a batch is sent (else `OTEL_BSP_SCHEDULE_DELAY`,
    /// else 5 s).
    pub fn schedule_delay(mut self, delay: Duration) -> Self {
        self.batch.schedule_delay = Some(delay);
        self
    }

    /// Longest time one batch export may take (else
    /// `OTEL_BSP_EXPORT_TIMEOUT`, else 30 s).
    pub fn export_timeout(mut self, timeout: Duration) -> Self {
        self.batch.export_timeout = Some(timeout);
        self
    }

    /// Finished spans waiting for export at most; spans beyond are dropped
    /// and counted (else `OTEL_BSP_MAX_QUEUE_SIZE`, else 2048).
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

    /// How long dropping the guard (or [`TracingGuard::shutdown`]) waits for
    /// the last spans to be sent, at most; 5 s by default.
    ///
    /// [`TracingGuard::shutdown`]: crate::TracingGuard::shutdown
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = Some(timeout);
        self
    }

    /// Memory that finished spans waiting for export may take beyond the
    /// per-thread queues, in bytes (else `TRACED_MAX_PENDING_MEMORY_MIB`,
    /// else 64 MiB). Past it, spans are dropped and counted: a collector that
    /// stalls cannot make the program grow without bound, and a burst is
    /// still delivered whole.
    pub fn max_pending_memory(mut self, bytes: usize) -> Self {
        self.pending_memory = Some(bytes);
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
        let sink: Box<dyn Sink> = Box::new(ExporterSink(exporter));
        self.span_exporters
            .push(CustomExporter(Arc::new(Mutex::new(Some(sink)))));
        self
    }

    /// Installs this configuration; see [`crate::init`].
    pub fn init(self) -> Result<crate::TracingGuard, crate::InitError> {
        crate::init::install(self.resolve(&Env::process())?)
    }

    pub(crate) fn resolve(self, env: &Env) -> Result<Resolved, ConfigError> {
        let disabled = match self.disabled {
            Some(disabled) => disabled,
            None => env.bool("OTEL_SDK_DISABLED")?.unwrap_or(false),
        };
        let propagators = match self.propagators {
            Some(propagators) => propagators,
            None => propagators::from_env(env)?,
        };
        let exporter = match self.exporter {
            Some(exporter) => exporter,
            None => match Exporter::from_env(env, "OTEL_TRACES_EXPORTER")? {
                Some(exporter) => exporter,
                None if otlp::endpoint_configured(&self.otlp, env) => Exporter::Otlp,
                None if !self.span_exporters.is_empty() => Exporter::None,
                None => Exporter::Console,
            },
        };
        let export = match exporter {
            Exporter::Console => Export::Console,
            Exporter::None => Export::None,
            Exporter::Otlp => Export::Otlp(otlp::resolve(self.otlp.clone(), env)?),
        };
        let sampler = match self.sampler {
            Some(sampler) => sampler,
            None => sampler::from_env(env)?,
        };

        let mut resource_attributes = resource::from_env(env)?;
        if let Some(name) = self.service_name {
            resource_attributes.push(KeyValue::new(resource::SERVICE_NAME, name));
        }
        if let Some(version) = self.service_version {
            resource_attributes.push(KeyValue::new(resource::SERVICE_VERSION, version));
        }
        resource_attributes.extend(self.resource_attributes);

        let limits = Limits {
            attributes: limit(
                self.limits.attributes,
                env,
                "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT",
            )?,
            events: limit(self.limits.events, env, "OTEL_SPAN_EVENT_COUNT_LIMIT")?,
            links: limit(self.limits.links, env, "OTEL_SPAN_LINK_COUNT_LIMIT")?,
            value_length: match self.limits.value_length {
                Some(length) => Some(length),
                None => env.count("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT")?,
            },
        };
        let pending_memory = match self.pending_memory {
            Some(bytes) => bytes,
            None => env
                .positive("TRACED_MAX_PENDING_MEMORY_MIB")?
                .map_or(DEFAULT_PENDING_MEMORY, |mib| {
                    mib.saturating_mul(1024 * 1024)
                }),
        };
        let batch = self.batch.resolve(env, &SPAN_BATCH)?;
        let logs = self.logs.resolve(env, &export, self.otlp)?;
        Ok(Resolved {
            resource_attributes,
            sampler,
            propagators,
            export,
            disabled,
            limits,
            batch,
            shutdown_timeout: self.shutdown_timeout.unwrap_or(Duration::from_secs(5)),
            pending_memory,
            span_exporters: self.span_exporters,
            logs,
        })
    }
}

fn limit(code: Option<u32>, env: &Env, variable: &'static str) -> Result<u32, ConfigError> {
    if let Some(limit) = code {
        return Ok(limit);
    }
    match env.count(variable)? {
        None => Ok(128),
        Some(n) => u32::try_from(n)
            .map_err(|_| ConfigError::new(variable, &n.to_string(), "a whole number below 2^32")),
    }
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
    fn resolve(self, env: &Env, names: &BatchVariables) -> Result<Batch, ConfigError> {
        let or_env = |code: Option<Duration>, variable, default| -> Result<Duration, ConfigError> {
            Ok(match code {
                Some(value) => value,
                None => env.millis(variable)?.unwrap_or(default),
            })
        };
        let schedule_delay = or_env(
            self.schedule_delay,
            names.schedule_delay,
            names.default_schedule_delay,
        )?;
        let export_timeout = or_env(
            self.export_timeout,
            names.export_timeout,
            Duration::from_secs(30),
        )?;
        let (queue_variable, max_queue_size) = match self.max_queue_size {
            Some(size) => (names.code_max_queue_size, size),
            None => (
                names.max_queue_size,
                env.positive(names.max_queue_size)?.unwrap_or(2048),
            ),
        };
        if max_queue_size == 0 {
            return Err(ConfigError::new(
                queue_variable,
                "0",
                "a whole number, 1 or more",
            ));
        }
        let (batch_variable, max_export_batch_size) = match self.max_export_batch_size {
            Some(size) => (names.code_max_export_batch_size, size),
            None => (
                names.max_export_batch_size,
                env.positive(names.max_export_batch_size)?
                    .unwrap_or_else(|| max_queue_size.min(512)),
            ),
        };
        if max_export_batch_size == 0 || max_export_batch_size > max_queue_size {
            return Err(ConfigError::new(
                batch_variable,
                &max_export_batch_size.to_string(),
                format!("a whole number from 1 to the queue size ({max_queue_size})"),
            ));
        }
        Ok(Batch {
            schedule_delay,
            export_timeout,
            max_queue_size,
            max_export_batch_size,
        })
    }
}

/// The configuration after code and environment are merged.
#[derive(Debug)]
pub(crate) struct Resolved {
    /// Environment first, then code: later entries win.
    pub(crate) resource_attributes: Vec<KeyValue>,
    pub(crate) sampler: Sampler,
    pub(crate) propagators: Vec<Propagator>,
    pub(crate) export: Export,
    pub(crate) disabled: bool,
    pub(crate) limits: Limits,
    pub(crate) batch: Batch,
    pub(crate) shutdown_timeout: Duration,
    /// Bytes of finished spans that may wait for export beyond the lanes.
    pub(crate) pending_memory: usize,
    /// Exporters handed over in code.
    pub(crate) span_exporters: Vec<CustomExporter>,
    pub(crate) logs: Logs,
}

/// 64 MiB of finished spans waiting for export, beyond the per-thread lanes.
const DEFAULT_PENDING_MEMORY: usize = 64 * 1024 * 1024;

/// The exporter with its settings.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Export {
    Console,
    Otlp(OtlpSettings),
    None,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Limits {
    pub(crate) attributes: u32,
    pub(crate) events: u32,
    pub(crate) links: u32,
    pub(crate) value_length: Option<usize>,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Batch {
    pub(crate) schedule_delay: Duration,
    pub(crate) export_timeout: Duration,
    pub(crate) max_queue_size: usize,
    pub(crate) max_export_batch_size: usize,
}

#[cfg(test)]
mod tests;
