//! OTLP export through opentelemetry-otlp, over gRPC (tonic) or
//! HTTP/protobuf (hyper), `http://` or `https://` (rustls with the ring
//! provider, chosen per connection: the process-wide rustls provider and the
//! application's own HTTP clients are left alone): settings in, an
//! `opentelemetry_sdk` log exporter, or traced's span exporter, out. Spans
//! are encoded by traced itself (`span_protobuf.rs`) and sent as they are,
//! with the same client over HTTP (`otlp_http_spans.rs`) and the same
//! channel over gRPC (`otlp_grpc_spans.rs`).
//!
//! - **One deadline.** Both transports run on a private one-worker tokio
//!   runtime owned by the exporter, and each export, retries included, is
//!   cut off at the deadline. (Left to itself, opentelemetry-otlp bounds each
//!   HTTP attempt, so one batch could take several timeouts.) The runtime
//!   also makes export independent of the host: a host runtime that is
//!   blocked (say, a current-thread runtime waiting in the guard's drop)
//!   cannot stall the export it waits for. Telemetry is suppressed on its
//!   threads: what the clients themselves log or trace while exporting is
//!   never exported in turn.
//! - **TLS.** The collector's certificate is checked against the CA given in
//!   the settings or, without one, against the system's roots and Mozilla's;
//!   a client certificate is sent when one is given.
//! - **Code wins.** opentelemetry-otlp also reads `OTEL_EXPORTER_OTLP_*`
//!   itself when it builds an exporter. The settings were resolved with code
//!   winning, so the headers are set again on every request (over the ones
//!   it read), and over HTTP a body it compressed because the environment
//!   asked for gzip is sent uncompressed when the settings say none.

use std::future::Future;
use std::io::Read as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry::{Context, InstrumentationScope};
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig, WithTonicConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::logs::{LogBatch, LogExporter, SdkLogRecord};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::otlp_connection::{SetMetadata, chain, grpc_channel, header_map};
use super::otlp_grpc_spans::GrpcSpans;
use super::otlp_http_spans::HttpSpans;
use crate::config::{Compression, OtlpSettings, Protocol, Tls};
use crate::sync::MutexExt;

/// Builds opentelemetry-otlp's exporter of one signal (`SpanExporter`,
/// `LogExporter`) for `settings` on `runtime`.
macro_rules! otlp_exporter {
    ($signal:ty, $settings:expr, $runtime:expr) => {
        on_runtime(
            $settings,
            $runtime,
            |settings, network_error| match settings.protocol {
                Protocol::Grpc => grpc(<$signal>::builder().with_tonic(), settings)?
                    .build()
                    .map_err(|error| error.to_string()),
                Protocol::HttpProtobuf => {
                    http(<$signal>::builder().with_http(), settings, network_error)?
                        .build()
                        .map_err(|error| error.to_string())
                }
            },
        )
    };
}

/// An OTLP span exporter for `settings` running on `runtime`, each export
/// (retries included) bounded by the settings' deadline. It sends requests
/// traced encoded itself ([`SpanBatch`](super::span_protobuf::SpanBatch)),
/// over either protocol.
pub(crate) fn otlp_span_exporter(
    settings: &OtlpSettings,
    runtime: &Arc<ExportRuntime>,
) -> Result<OtlpExporter<SpanTransport>, String> {
    on_runtime(settings, runtime, |settings, network_error| {
        Ok(match settings.protocol {
            Protocol::Grpc => SpanTransport::Grpc(GrpcSpans::new(settings)?),
            Protocol::HttpProtobuf => SpanTransport::Http(HttpSpans::new(
                http_client(settings, network_error)?,
                &settings.endpoint,
                settings.compression == Compression::Gzip,
                settings.deadline,
            )?),
        })
    })
}

/// How encoded span requests go to the collector. Made once per exporter,
/// which holds it in an `Arc`: the size of either variant does not matter.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub(crate) enum SpanTransport {
    Grpc(GrpcSpans),
    Http(HttpSpans<SetHeaders>),
}

/// The same for log records.
pub(crate) fn otlp_log_exporter(
    settings: &OtlpSettings,
    runtime: &Arc<ExportRuntime>,
) -> Result<OtlpExporter<opentelemetry_otlp::LogExporter>, String> {
    otlp_exporter!(opentelemetry_otlp::LogExporter, settings, runtime)
}

/// The private runtime OTLP exporters of every signal run on: one worker
/// thread, telemetry suppressed on it, shut down without waiting once the
/// last exporter on it lets go.
#[derive(Debug)]
pub(crate) struct ExportRuntime(Option<tokio::runtime::Runtime>);

impl ExportRuntime {
    pub(crate) fn start() -> Result<Arc<ExportRuntime>, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("traced-otlp")
            .on_thread_start(|| std::mem::forget(Context::enter_telemetry_suppressed_scope()))
            .enable_all()
            .build()
            .map_err(|error| format!("starting the export runtime: {error}"))?;
        Ok(Arc::new(ExportRuntime(Some(runtime))))
    }

    pub(super) fn runtime(&self) -> &tokio::runtime::Runtime {
        match &self.0 {
            Some(runtime) => runtime,
            None => unreachable!("the runtime goes only when dropped"),
        }
    }
}

impl Drop for ExportRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// Builds an exporter inside `runtime`, and wraps it to run there.
fn on_runtime<E>(
    settings: &OtlpSettings,
    runtime: &Arc<ExportRuntime>,
    build: impl FnOnce(&OtlpSettings, NetworkError) -> Result<E, String>,
) -> Result<OtlpExporter<E>, String> {
    let network_error = NetworkError::default();
    let exporter = {
        let _entered = runtime.runtime().enter();
        build(settings, network_error.clone())?
    };
    Ok(OtlpExporter {
        exporter: Arc::new(exporter),
        runtime: Mutex::new(Some(Arc::clone(runtime))),
        deadline: settings.deadline,
        network_error,
    })
}

fn upstream_timeout(deadline: Option<Duration>) -> Duration {
    deadline.unwrap_or(Duration::MAX)
}

fn grpc<B>(builder: B, settings: &OtlpSettings) -> Result<B, String>
where
    B: WithTonicConfig + WithExportConfig,
{
    let mut builder = builder
        .with_channel(grpc_channel(settings)?)
        .with_timeout(upstream_timeout(settings.deadline))
        .with_interceptor(SetMetadata::of(settings));
    if settings.compression == Compression::Gzip {
        builder = builder.with_compression(opentelemetry_otlp::Compression::Gzip);
    }
    Ok(builder)
}

fn http<B>(builder: B, settings: &OtlpSettings, network_error: NetworkError) -> Result<B, String>
where
    B: WithHttpConfig + WithExportConfig,
{
    let client = http_client(settings, network_error)?;
    let mut builder = builder
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_endpoint(settings.endpoint.clone())
        .with_timeout(upstream_timeout(settings.deadline))
        .with_http_client(client);
    if settings.compression == Compression::Gzip {
        builder = builder.with_compression(opentelemetry_otlp::Compression::Gzip);
    }
    Ok(builder)
}

/// The HTTP client every signal's exporter posts with.
fn http_client(settings: &OtlpSettings, network_error: NetworkError) -> Result<SetHeaders, String> {
    Ok(SetHeaders {
        client: hyper_client(settings)?,
        headers: header_map(settings),
        uncompressed: settings.compression == Compression::None,
        network_error,
    })
}

/// The HTTP client of `settings`: hyper over rustls, each request bounded
/// by the export deadline.
pub(super) fn hyper_client(settings: &OtlpSettings) -> Result<HyperClient, String> {
    let tls = rustls_config(&settings.tls, settings.endpoint.starts_with("https://"))?;
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .build();
    Ok(opentelemetry_http::hyper::HyperClient::new(
        connector,
        upstream_timeout(settings.deadline),
        None,
    ))
}

/// hyper over rustls, as OTLP over HTTP uses it.
pub(super) type HyperClient = opentelemetry_http::hyper::HyperClient<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
>;

/// rustls with the ring provider; roots only for `https://` endpoints.
fn rustls_config(tls: &Tls, https: bool) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    match &tls.ca_certificate {
        Some(ca) => {
            for certificate in CertificateDer::pem_slice_iter(&ca.bytes) {
                let certificate =
                    certificate.map_err(|error| format!("{}: {error}", ca.path.display()))?;
                roots
                    .add(certificate)
                    .map_err(|error| format!("{}: {error}", ca.path.display()))?;
            }
        }
        None if https => {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            for certificate in rustls_native_certs::load_native_certs().certs {
                // A system certificate rustls cannot read is skipped, as
                // the other TLS stacks of the system skip it.
                let _ = roots.add(certificate);
            }
        }
        None => {}
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|error| error.to_string())?
    .with_root_certificates(roots);
    match &tls.client_identity {
        Some((certificate, key)) => {
            let chain: Vec<CertificateDer<'static>> =
                CertificateDer::pem_slice_iter(&certificate.bytes)
                    .collect::<Result<_, _>>()
                    .map_err(|error| format!("{}: {error}", certificate.path.display()))?;
            let key = PrivateKeyDer::from_pem_slice(&key.bytes)
                .map_err(|error| format!("{}: {error}", key.path.display()))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|error| format!("the client certificate: {error}"))
        }
        None => Ok(builder.with_no_client_auth()),
    }
}

/// hyper, with the resolved headers set on every request over those
/// opentelemetry-otlp read from the environment, and gzip undone when the
/// settings ask for no compression but the environment asked upstream for
/// gzip.
#[derive(Debug)]
pub(crate) struct SetHeaders {
    client: HyperClient,
    headers: http::HeaderMap,
    uncompressed: bool,
    network_error: NetworkError,
}

/// opentelemetry-otlp reports a failed HTTP connection as "network error"
/// only; the cause (a refused certificate, say) is kept here to be added.
#[derive(Clone, Debug, Default)]
struct NetworkError(Arc<Mutex<Option<String>>>);

impl NetworkError {
    fn set(&self, error: String) {
        *self.0.locked() = Some(error);
    }

    fn take(&self) -> Option<String> {
        self.0.locked().take()
    }
}

#[async_trait::async_trait]
impl HttpClient for SetHeaders {
    async fn send_bytes(&self, mut request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        for (name, value) in &self.headers {
            request.headers_mut().insert(name.clone(), value.clone());
        }
        let gzipped = request
            .headers()
            .get(http::header::CONTENT_ENCODING)
            .is_some_and(|encoding| encoding == "gzip");
        if self.uncompressed && gzipped {
            let mut body = Vec::new();
            flate2::read::GzDecoder::new(&request.body()[..]).read_to_end(&mut body)?;
            request.headers_mut().remove(http::header::CONTENT_ENCODING);
            *request.body_mut() = Bytes::from(body);
        }
        let sent = self.client.send_bytes(request).await;
        if let Err(error) = &sent {
            self.network_error.set(chain(error.as_ref()));
        }
        sent
    }
}

/// An exporter (opentelemetry-otlp's for log records, traced's span
/// transport), run on the exporter's own runtime within the deadline.
#[derive(Debug)]
pub(crate) struct OtlpExporter<E> {
    exporter: Arc<E>,
    /// `None` once shut down.
    runtime: Mutex<Option<Arc<ExportRuntime>>>,
    deadline: Option<Duration>,
    network_error: NetworkError,
}

impl<E> OtlpExporter<E> {
    /// Runs `export` on the exporter's runtime within the deadline, adding
    /// the cause of a network error to its message.
    async fn run<F>(&self, export: impl FnOnce(Arc<E>) -> F) -> OTelSdkResult
    where
        F: Future<Output = OTelSdkResult> + Send + 'static,
    {
        let deadline = self.deadline;
        let task = {
            let runtime = self.runtime.locked();
            let Some(runtime) = runtime.as_ref() else {
                return Err(OTelSdkError::AlreadyShutdown);
            };
            let export = export(Arc::clone(&self.exporter));
            runtime.runtime().spawn(async move {
                match deadline {
                    Some(deadline) => tokio::time::timeout(deadline, export)
                        .await
                        .unwrap_or(Err(OTelSdkError::Timeout(deadline))),
                    None => export.await,
                }
            })
        };
        let result = task
            .await
            .unwrap_or_else(|error| Err(OTelSdkError::InternalFailure(error.to_string())));
        // Several exports may be in flight: only a failed one takes the
        // cause, so that one that succeeds meanwhile does not swallow it.
        match result {
            Err(OTelSdkError::InternalFailure(message)) => match self.network_error.take() {
                Some(cause) => Err(OTelSdkError::InternalFailure(format!("{message}: {cause}"))),
                None => Err(OTelSdkError::InternalFailure(message)),
            },
            result => result,
        }
    }

    /// Lets go of the runtime: the last exporter on it stops it.
    fn stop_runtime(&self) {
        drop(self.runtime.locked().take());
    }
}

impl OtlpExporter<SpanTransport> {
    /// Sends an encoded `ExportTraceServiceRequest`. Over HTTP it is
    /// compressed here, on the thread that polls the export first (the
    /// export thread); the OTLP runtime only sends it.
    pub(crate) async fn send_encoded(&self, request: Bytes) -> OTelSdkResult {
        let body = match &*self.exporter {
            SpanTransport::Grpc(_) => request,
            SpanTransport::Http(http) => http.body(request)?,
        };
        self.run(|exporter| async move {
            match &*exporter {
                SpanTransport::Grpc(grpc) => grpc.send(body).await,
                SpanTransport::Http(http) => http.send(body).await,
            }
        })
        .await
    }

    /// Lets go of the runtime; exports after it fail.
    pub(crate) fn shutdown(&self) {
        self.stop_runtime();
    }
}

impl LogExporter for OtlpExporter<opentelemetry_otlp::LogExporter> {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        // The batch borrows the processor's buffer: the runtime's task gets
        // its own copy.
        let owned: Vec<(SdkLogRecord, InstrumentationScope)> = batch
            .iter()
            .map(|(record, scope)| (record.clone(), scope.clone()))
            .collect();
        self.run(|exporter| async move {
            let borrowed: Vec<(&SdkLogRecord, &InstrumentationScope)> = owned
                .iter()
                .map(|(record, scope)| (record, scope))
                .collect();
            exporter.export(LogBatch::new(&borrowed)).await
        })
        .await
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        let result = self.exporter.shutdown_with_timeout(timeout);
        self.stop_runtime();
        result
    }

    fn set_resource(&mut self, resource: &Resource) {
        if let Some(exporter) = Arc::get_mut(&mut self.exporter) {
            exporter.set_resource(resource);
        }
    }
}
