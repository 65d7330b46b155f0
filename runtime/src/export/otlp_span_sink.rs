//! Spans to an OTLP collector as a sink of the export thread: each span is
//! encoded as it is released, read in place from its record, into the
//! batch's protobuf ([`SpanBatch`]); when the batch leaves, its request is
//! sent as it is, over HTTP or gRPC, and its spans are counted by outcome.
//!
//! A request is written into a buffer kept from an earlier one, which comes
//! back once the request is sent: a new buffer of that size would be fresh
//! memory, which the kernel maps page by page as it is written.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_http::Bytes;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::SpanData;

use super::delivery::CountExported;
use super::otlp::{OtlpExporter, SpanTransport};
use super::span_protobuf::SpanBatch;
use crate::pipeline::{Exporting, Sink, SpanEncoder, SpanView};
use crate::sync::MutexExt;

/// Request buffers kept for the batches to come, at most.
const KEPT_BUFFERS: usize = 4;
/// The largest buffer kept: one batch of huge spans is not held on to.
const LARGEST_KEPT: usize = 1 << 20;

/// The OTLP span exporter as the export thread's sink.
#[derive(Debug)]
pub(crate) struct OtlpSpanSink {
    batch: SpanBatch,
    exporter: Arc<CountExported<OtlpExporter<SpanTransport>>>,
    buffers: Arc<Buffers>,
}

impl OtlpSpanSink {
    pub(crate) fn new(exporter: CountExported<OtlpExporter<SpanTransport>>) -> Self {
        OtlpSpanSink {
            batch: SpanBatch::default(),
            exporter: Arc::new(exporter),
            buffers: Arc::default(),
        }
    }
}

/// Buffers of requests sent, for the next requests.
#[derive(Debug, Default)]
struct Buffers(Mutex<Vec<Vec<u8>>>);

impl Buffers {
    fn take(&self) -> Vec<u8> {
        self.0.locked().pop().unwrap_or_default()
    }

    fn give_back(&self, mut buffer: Vec<u8>) {
        if buffer.capacity() > LARGEST_KEPT {
            return;
        }
        let mut kept = self.0.locked();
        if kept.len() < KEPT_BUFFERS {
            buffer.clear();
            kept.push(buffer);
        }
    }
}

/// A request's bytes, whose buffer goes back to the sink when the last
/// reference to them is dropped.
struct Lent {
    bytes: Vec<u8>,
    buffers: Arc<Buffers>,
}

impl AsRef<[u8]> for Lent {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

impl Drop for Lent {
    fn drop(&mut self) {
        self.buffers.give_back(std::mem::take(&mut self.bytes));
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
        let request = Bytes::from_owner(Lent {
            bytes: self.batch.finish(self.buffers.take()),
            buffers: Arc::clone(&self.buffers),
        });
        let exporter = Arc::clone(&self.exporter);
        Exporting::InFlight(Box::pin(async move {
            exporter
                .counted(spans, exporter.inner.send_encoded(request))
                .await
        }))
    }
}
