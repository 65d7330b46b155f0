//! Spans to an OTLP collector as a sink of the export thread: each span is
//! encoded as it is released, read in place from its record, into the
//! batch's protobuf ([`SpanBatch`]); when the batch leaves, its request is
//! sent as it is, over HTTP or gRPC, and its spans are counted by outcome.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::SpanData;

use super::delivery::CountExported;
use super::otlp::{OtlpExporter, SpanTransport};
use super::span_protobuf::SpanBatch;
use crate::pipeline::{Exporting, Sink, SpanEncoder, SpanView};

/// The OTLP span exporter as the export thread's sink.
#[derive(Debug)]
pub(crate) struct OtlpSpanSink {
    batch: SpanBatch,
    exporter: Arc<CountExported<OtlpExporter<SpanTransport>>>,
}

impl OtlpSpanSink {
    pub(crate) fn new(exporter: CountExported<OtlpExporter<SpanTransport>>) -> Self {
        OtlpSpanSink {
            batch: SpanBatch::default(),
            exporter: Arc::new(exporter),
        }
    }
}

impl Sink for OtlpSpanSink {
    /// Spans that come as `SpanData` all the same are encoded from it.
    fn export(&mut self, batch: Vec<SpanData>) -> Exporting {
        for span in &batch {
            self.batch.add_span(span);
        }
        drop(batch);
        self.export_encoded()
    }

    fn shutdown(&mut self, _timeout: Duration) -> OTelSdkResult {
        self.exporter.inner.shutdown();
        Ok(())
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.batch.set_resource(resource);
    }

    fn encoder(&mut self) -> Option<&mut dyn SpanEncoder> {
        Some(self)
    }
}

impl SpanEncoder for OtlpSpanSink {
    fn add_record(&mut self, span: SpanView<'_>) {
        self.batch.add_record(span);
    }

    fn add_span(&mut self, span: &SpanData) {
        self.batch.add_span(span);
    }

    fn bytes(&self) -> usize {
        self.batch.bytes()
    }

    fn export_encoded(&mut self) -> Exporting {
        let spans = self.batch.len() as u64;
        if spans == 0 {
            return Exporting::Done(Ok(()));
        }
        let request = self.batch.finish();
        let exporter = Arc::clone(&self.exporter);
        Exporting::InFlight(Box::pin(async move {
            exporter
                .counted(spans, exporter.inner.send_encoded(request))
                .await
        }))
    }
}
