//! The application's own instruments (`opentelemetry::global::meter`), read
//! by the export thread at each collection of the span metrics, so that they
//! leave together, on one interval, with no reader thread of their own.

use std::sync::{Arc, Weak};
use std::time::Duration;

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::{InstrumentKind, ManualReader, Pipeline, Temporality};

/// A reader of the meter provider `init()` installs, shared between the
/// provider and the metric sink that collects it.
#[derive(Clone, Debug)]
pub(crate) struct MeterReader(Arc<ManualReader>);

impl MeterReader {
    pub(crate) fn new(temporality: Temporality) -> Self {
        MeterReader(Arc::new(
            ManualReader::builder()
                .with_temporality(temporality)
                .build(),
        ))
    }

    /// What the instruments hold now; `None` once the provider is shut
    /// down, or when nothing was recorded.
    pub(crate) fn read(&self) -> Option<ResourceMetrics> {
        let mut metrics = ResourceMetrics::default();
        self.0.collect(&mut metrics).ok()?;
        let recorded = metrics
            .scope_metrics()
            .any(|scope| scope.metrics().next().is_some());
        recorded.then_some(metrics)
    }
}

impl MetricReader for MeterReader {
    fn register_pipeline(&self, pipeline: Weak<Pipeline>) {
        self.0.register_pipeline(pipeline);
    }

    fn collect(&self, metrics: &mut ResourceMetrics) -> OTelSdkResult {
        self.0.collect(metrics)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn temporality(&self, kind: InstrumentKind) -> Temporality {
        self.0.temporality(kind)
    }
}
