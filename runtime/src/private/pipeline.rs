//! The lean pipeline, for benchmarks and tests that need it without
//! `traced::init()` (which picks its exporter from the configuration).

use std::time::Duration;

use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Sampler, SpanExporter};

use crate::dispatch;
use crate::lean::{BatchSettings, LeanSettings, LeanTracerProvider};

/// Installs the lean pipeline as the global provider, batching to `exporter`
/// through a queue of `max_queue_size` spans, sampling with `sampler`.
pub fn install_pipeline<E: SpanExporter + 'static>(
    exporter: E,
    sampler: Sampler,
    max_queue_size: usize,
) -> Pipeline {
    let settings = LeanSettings {
        resource: Resource::builder()
            .with_service_name("traced-pipeline")
            .build(),
        sampler,
        batch: BatchSettings {
            max_queue_size,
            scheduled_delay: Duration::from_millis(200),
            ..BatchSettings::default()
        },
        ..LeanSettings::default()
    };
    let provider = LeanTracerProvider::new(settings, exporter).expect("spawn the export thread");
    dispatch::install_lean(provider.clone());
    Pipeline { provider }
}

/// The installed pipeline; see [`install_pipeline`].
#[derive(Debug)]
pub struct Pipeline {
    provider: LeanTracerProvider,
}

impl Pipeline {
    /// Spans lost so far because the queue was full.
    pub fn dropped_spans(&self) -> u64 {
        self.provider.dropped_spans()
    }

    /// Exports every span finished before this call.
    pub fn force_flush(&self) -> OTelSdkResult {
        self.provider.force_flush()
    }

    /// Flushes, shuts the exporter down and removes the pipeline from the
    /// global slot.
    pub fn shutdown(self) -> OTelSdkResult {
        let result = self.provider.shutdown();
        opentelemetry::global::set_tracer_provider(
            opentelemetry::trace::noop::NoopTracerProvider::new(),
        );
        dispatch::reprobe();
        result
    }
}
