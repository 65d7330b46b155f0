//! The application's own instruments, as opentelemetry_sdk's meter provider
//! aggregates them, sent through the same client as the span metrics.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;

use super::MetricsClient;

/// The exporter behind the periodic reader of the meter provider `init()`
/// installs.
#[derive(Debug)]
pub(crate) struct ApplicationMetrics {
    client: Arc<MetricsClient>,
    temporality: Temporality,
}

impl ApplicationMetrics {
    pub(crate) fn new(client: Arc<MetricsClient>, temporality: Temporality) -> Self {
        ApplicationMetrics {
            client,
            temporality,
        }
    }
}

impl PushMetricExporter for ApplicationMetrics {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let request = ExportMetricsServiceRequest::from(metrics);
        match self.client.send(request).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(OTelSdkError::InternalFailure(error)),
            Err(error) => Err(OTelSdkError::InternalFailure(error.to_string())),
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }

    fn temporality(&self) -> Temporality {
        self.temporality
    }
}
