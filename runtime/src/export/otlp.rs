//! OTLP export through opentelemetry-otlp, over gRPC (tonic) or
//! HTTP/protobuf (a blocking reqwest client on the batch processor's thread).
//!
//! The gRPC client runs on a private one-worker tokio runtime owned by the
//! exporter: it works the same whether the host program has a runtime or not,
//! and a host runtime that is blocked (say, a current-thread runtime waiting
//! in the guard's drop) cannot stall the export it is waiting for.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use opentelemetry::Context;
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig, WithTonicConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

use crate::config::{Compression, OtlpSettings, Protocol};

/// opentelemetry-otlp's compression for `settings`.
pub(crate) fn compression(settings: &OtlpSettings) -> Option<opentelemetry_otlp::Compression> {
    match settings.compression {
        Compression::Gzip => Some(opentelemetry_otlp::Compression::Gzip),
        _ => None,
    }
}

/// The private runtime a gRPC exporter runs its client on. Telemetry is
/// suppressed on its threads: what the client itself logs or traces while
/// exporting must not be exported in turn.
pub(crate) fn grpc_runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("traced-otlp-grpc")
        .on_thread_start(|| std::mem::forget(Context::enter_telemetry_suppressed_scope()))
        .enable_all()
        .build()
        .map_err(|error| format!("starting the gRPC export runtime: {error}"))
}

/// The headers of `settings` as gRPC metadata.
pub(crate) fn grpc_metadata(
    settings: &OtlpSettings,
) -> opentelemetry_otlp::tonic_types::metadata::MetadataMap {
    // Names and values were checked while resolving the configuration.
    let headers: http::HeaderMap = settings
        .headers
        .iter()
        .filter_map(|(key, value)| Some((key.parse().ok()?, value.parse().ok()?)))
        .collect();
    opentelemetry_otlp::tonic_types::metadata::MetadataMap::from_headers(headers)
}

/// The headers of `settings` for HTTP requests.
pub(crate) fn http_headers(settings: &OtlpSettings) -> HashMap<String, String> {
    settings.headers.iter().cloned().collect()
}

/// An OTLP exporter for `settings`, each request bounded by `timeout`.
pub(crate) fn exporter(settings: &OtlpSettings, timeout: Duration) -> Result<OtlpExporter, String> {
    let compression = compression(settings);
    match settings.protocol {
        Protocol::Grpc => {
            let runtime = grpc_runtime()?;
            let mut builder = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_protocol(opentelemetry_otlp::Protocol::Grpc)
                .with_endpoint(settings.endpoint.clone())
                .with_timeout(timeout)
                .with_metadata(grpc_metadata(settings));
            if let Some(compression) = compression {
                builder = builder.with_compression(compression);
            }
            let exporter = {
                let _entered = runtime.enter();
                builder.build().map_err(|error| error.to_string())?
            };
            Ok(OtlpExporter::Grpc {
                exporter: Arc::new(exporter),
                runtime: Mutex::new(Some(runtime)),
                timeout,
            })
        }
        Protocol::HttpProtobuf => {
            let mut builder = opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                .with_endpoint(settings.endpoint.clone())
                .with_timeout(timeout)
                .with_headers(http_headers(settings));
            if let Some(compression) = compression {
                builder = builder.with_compression(compression);
            }
            let exporter = builder.build().map_err(|error| error.to_string())?;
            Ok(OtlpExporter::Http(Box::new(exporter)))
        }
    }
}

/// opentelemetry-otlp's exporter, on the transport's own terms.
#[derive(Debug)]
pub(crate) enum OtlpExporter {
    Grpc {
        exporter: Arc<opentelemetry_otlp::SpanExporter>,
        runtime: Mutex<Option<tokio::runtime::Runtime>>,
        timeout: Duration,
    },
    Http(Box<opentelemetry_otlp::SpanExporter>),
}

impl SpanExporter for OtlpExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        match self {
            OtlpExporter::Http(exporter) => exporter.export(batch).await,
            OtlpExporter::Grpc {
                exporter,
                runtime,
                timeout,
            } => {
                let exporter = Arc::clone(exporter);
                let timeout = *timeout;
                let task = {
                    let runtime = runtime.lock().unwrap_or_else(PoisonError::into_inner);
                    let Some(runtime) = runtime.as_ref() else {
                        return Err(OTelSdkError::AlreadyShutdown);
                    };
                    runtime.spawn(async move {
                        tokio::time::timeout(timeout, exporter.export(batch))
                            .await
                            .unwrap_or(Err(OTelSdkError::Timeout(timeout)))
                    })
                };
                task.await
                    .unwrap_or_else(|error| Err(OTelSdkError::InternalFailure(error.to_string())))
            }
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        match self {
            OtlpExporter::Http(exporter) => exporter.shutdown_with_timeout(timeout),
            OtlpExporter::Grpc {
                exporter, runtime, ..
            } => {
                let result = exporter.shutdown_with_timeout(timeout);
                if let Some(runtime) = runtime
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .take()
                {
                    runtime.shutdown_background();
                }
                result
            }
        }
    }

    fn set_resource(&mut self, resource: &Resource) {
        match self {
            OtlpExporter::Http(exporter) => exporter.set_resource(resource),
            OtlpExporter::Grpc { exporter, .. } => {
                // Called once while building the provider, before any export
                // holds a second reference.
                if let Some(exporter) = Arc::get_mut(exporter) {
                    exporter.set_resource(resource);
                }
            }
        }
    }
}
