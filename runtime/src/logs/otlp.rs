//! OTLP export of log records through opentelemetry-otlp, on the same
//! endpoint, protocol, headers, timeout and compression as spans (resolved
//! for the logs signal: `OTEL_EXPORTER_OTLP_LOGS_*`, `/v1/logs`).
//!
//! As for spans, the gRPC client runs on a private one-worker runtime, so
//! export works whether or not the host program has a runtime of its own.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use opentelemetry::InstrumentationScope;
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig, WithTonicConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::logs::{LogBatch, LogExporter, SdkLogRecord};

use crate::config::{OtlpSettings, Protocol};
use crate::export::{grpc_metadata, grpc_runtime, http_headers, otlp_compression};

/// An OTLP log exporter for `settings`, each request bounded by `timeout`.
pub(crate) fn exporter(
    settings: &OtlpSettings,
    timeout: Duration,
) -> Result<OtlpLogExporter, String> {
    let compression = otlp_compression(settings);
    match settings.protocol {
        Protocol::Grpc => {
            let runtime = grpc_runtime()?;
            let mut builder = opentelemetry_otlp::LogExporter::builder()
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
            Ok(OtlpLogExporter::Grpc {
                exporter: Arc::new(exporter),
                runtime: Mutex::new(Some(runtime)),
                timeout,
            })
        }
        Protocol::HttpProtobuf => {
            let mut builder = opentelemetry_otlp::LogExporter::builder()
                .with_http()
                .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                .with_endpoint(settings.endpoint.clone())
                .with_timeout(timeout)
                .with_headers(http_headers(settings));
            if let Some(compression) = compression {
                builder = builder.with_compression(compression);
            }
            let exporter = builder.build().map_err(|error| error.to_string())?;
            Ok(OtlpLogExporter::Http(Box::new(exporter)))
        }
    }
}

/// opentelemetry-otlp's log exporter, on the transport's own terms.
#[derive(Debug)]
pub(crate) enum OtlpLogExporter {
    Grpc {
        exporter: Arc<opentelemetry_otlp::LogExporter>,
        runtime: Mutex<Option<tokio::runtime::Runtime>>,
        timeout: Duration,
    },
    Http(Box<opentelemetry_otlp::LogExporter>),
}

impl LogExporter for OtlpLogExporter {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        match self {
            OtlpLogExporter::Http(exporter) => exporter.export(batch).await,
            OtlpLogExporter::Grpc {
                exporter,
                runtime,
                timeout,
            } => {
                // The batch borrows the processor's buffer: the runtime's task
                // gets its own copy.
                let owned: Vec<(SdkLogRecord, InstrumentationScope)> = batch
                    .iter()
                    .map(|(record, scope)| (record.clone(), scope.clone()))
                    .collect();
                let exporter = Arc::clone(exporter);
                let timeout = *timeout;
                let task = {
                    let runtime = runtime.lock().unwrap_or_else(PoisonError::into_inner);
                    let Some(runtime) = runtime.as_ref() else {
                        return Err(OTelSdkError::AlreadyShutdown);
                    };
                    runtime.spawn(async move {
                        let borrowed: Vec<(&SdkLogRecord, &InstrumentationScope)> = owned
                            .iter()
                            .map(|(record, scope)| (record, scope))
                            .collect();
                        tokio::time::timeout(timeout, exporter.export(LogBatch::new(&borrowed)))
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
            OtlpLogExporter::Http(exporter) => exporter.shutdown_with_timeout(timeout),
            OtlpLogExporter::Grpc {
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
            OtlpLogExporter::Http(exporter) => exporter.set_resource(resource),
            OtlpLogExporter::Grpc { exporter, .. } => {
                // Called once while building the provider, before any export
                // holds a second reference.
                if let Some(exporter) = Arc::get_mut(exporter) {
                    exporter.set_resource(resource);
                }
            }
        }
    }
}
