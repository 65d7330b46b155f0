//! The export side: a bounded queue of finished spans and the thread that
//! batches them to a `SpanExporter`.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context as TaskContext, Poll, Wake, Waker};
use std::thread::{self, JoinHandle, Thread};
use std::time::{Duration, Instant};

use opentelemetry::{KeyValue, StringValue, Value};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

/// How finished spans are queued and batched (the `OTEL_BSP_*` settings).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BatchSettings {
    /// Spans that may wait for export; a span finished while the queue is
    /// full is dropped and counted.
    pub(crate) max_queue_size: usize,
    /// The longest a finished span waits before its batch is sent.
    pub(crate) scheduled_delay: Duration,
    /// The most spans in one export call.
    pub(crate) max_export_batch_size: usize,
    /// How long one export call may take before it counts as failed.
    pub(crate) export_timeout: Duration,
}

impl Default for BatchSettings {
    /// The OpenTelemetry specification's defaults.
    fn default() -> Self {
        BatchSettings {
            max_queue_size: 2048,
            scheduled_delay: Duration::from_millis(5000),
            max_export_batch_size: 512,
            export_timeout: Duration::from_millis(30_000),
        }
    }
}

// Spans travel by value: boxing them would add an allocation on the calling
// thread and a cross-thread free on the export thread for every span.
#[allow(clippy::large_enum_variant)]
enum Message {
    Span(SpanData),
    Flush(SyncSender<OTelSdkResult>),
    Shutdown(SyncSender<OTelSdkResult>),
}

/// The calling threads' end of the pipeline.
///
/// The export thread sleeps between batches instead of blocking on the
/// channel: a receiver blocked on a channel makes every send a wake-up (a
/// futex call and a context switch per span). The sender that fills a batch
/// wakes it instead, once per batch.
#[derive(Debug)]
pub(crate) struct Queue {
    sender: SyncSender<Message>,
    shared: Arc<Shared>,
    worker: Thread,
    dropped: AtomicU64,
    shut_down: AtomicBool,
    handle: Mutex<Option<JoinHandle<()>>>,
}

/// What the calling threads and the export thread both see.
#[derive(Debug)]
struct Shared {
    /// Spans sent and not yet taken by the export thread.
    pending: AtomicUsize,
    /// `pending` reaching this wakes the export thread.
    wake_at: usize,
}

impl Queue {
    pub(crate) fn start<E: SpanExporter + 'static>(
        mut exporter: E,
        resource: &Resource,
        settings: BatchSettings,
        max_value_length: Option<usize>,
    ) -> std::io::Result<Queue> {
        exporter.set_resource(resource);
        let capacity = settings.max_queue_size.max(1);
        let (sender, spans) = mpsc::sync_channel(capacity);
        let shared = Arc::new(Shared {
            pending: AtomicUsize::new(0),
            wake_at: settings
                .max_export_batch_size
                .clamp(1, capacity.div_ceil(2)),
        });
        let worker_shared = Arc::clone(&shared);
        let handle = thread::Builder::new()
            .name("traced-export".into())
            .spawn(move || {
                Worker {
                    exporter,
                    spans,
                    shared: worker_shared,
                    settings,
                    max_value_length,
                    batch: Vec::new(),
                }
                .run();
            })?;
        Ok(Queue {
            sender,
            worker: handle.thread().clone(),
            shared,
            dropped: AtomicU64::new(0),
            shut_down: AtomicBool::new(false),
            handle: Mutex::new(Some(handle)),
        })
    }

    /// Hands a finished span over; never blocks. A full queue drops the span.
    #[inline]
    pub(crate) fn push(&self, span: SpanData) {
        // Counted before the send, so the export thread never takes away
        // more than was added.
        let pending = self.shared.pending.fetch_add(1, Ordering::Relaxed) + 1;
        match self.sender.try_send(Message::Span(span)) {
            Ok(()) => {
                if pending == self.shared.wake_at {
                    self.worker.unpark();
                }
            }
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.shared.pending.fetch_sub(1, Ordering::Relaxed);
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Spans dropped because the queue was full or the pipeline shut down.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    pub(crate) fn is_shut_down(&self) -> bool {
        self.shut_down.load(Ordering::Relaxed)
    }

    /// Exports every span queued before this call.
    pub(crate) fn force_flush(&self) -> OTelSdkResult {
        if self.is_shut_down() {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        self.request(Message::Flush)
    }

    /// Exports what is queued, shuts the exporter down and stops the thread.
    pub(crate) fn shutdown(&self) -> OTelSdkResult {
        if self.shut_down.swap(true, Ordering::AcqRel) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        let result = self.request(Message::Shutdown);
        let handle = self
            .handle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(handle) = handle {
            let _ = handle.join();
        }
        result
    }

    /// Queued behind the spans finished before it, waiting for room if the
    /// queue is full: a flush covers everything that came first.
    fn request(&self, message: fn(SyncSender<OTelSdkResult>) -> Message) -> OTelSdkResult {
        let (reply, answer) = mpsc::sync_channel(1);
        self.sender
            .send(message(reply))
            .map_err(|_| OTelSdkError::InternalFailure("the export thread has stopped".into()))?;
        self.worker.unpark();
        answer
            .recv()
            .map_err(|_| OTelSdkError::InternalFailure("the export thread has stopped".into()))?
    }
}

struct Worker<E> {
    exporter: E,
    spans: Receiver<Message>,
    shared: Arc<Shared>,
    settings: BatchSettings,
    max_value_length: Option<usize>,
    batch: Vec<SpanData>,
}

/// The longest the export thread sleeps when no batch fills: bounds how long
/// a flush request or a disconnected queue waits to be noticed.
const IDLE: Duration = Duration::from_millis(100);

impl<E: SpanExporter> Worker<E> {
    fn run(mut self) {
        let mut deadline = Instant::now() + self.settings.scheduled_delay;
        loop {
            let mut taken = 0;
            let stop = loop {
                match self.spans.try_recv() {
                    Ok(Message::Span(span)) => {
                        taken += 1;
                        self.accept(span);
                        if self.batch.len() >= self.settings.max_export_batch_size {
                            let _ = self.export();
                        }
                    }
                    Ok(Message::Flush(reply)) => {
                        let _ = reply.send(self.export());
                    }
                    Ok(Message::Shutdown(reply)) => {
                        let result = self.export().and(self.exporter.shutdown());
                        let _ = reply.send(result);
                        break true;
                    }
                    Err(TryRecvError::Empty) => break false,
                    Err(TryRecvError::Disconnected) => {
                        let _ = self.export();
                        let _ = self.exporter.shutdown();
                        break true;
                    }
                }
            };
            if stop {
                return;
            }
            self.shared.pending.fetch_sub(taken, Ordering::Relaxed);
            let now = Instant::now();
            if now >= deadline {
                let _ = self.export();
                deadline = now + self.settings.scheduled_delay;
            }
            thread::park_timeout((deadline - now).min(IDLE));
        }
    }

    fn accept(&mut self, mut span: SpanData) {
        if let Some(limit) = self.max_value_length {
            truncate_values(&mut span, limit);
        }
        self.batch.push(span);
    }

    fn export(&mut self) -> OTelSdkResult {
        let mut result = Ok(());
        while !self.batch.is_empty() {
            let take = self
                .batch
                .len()
                .min(self.settings.max_export_batch_size.max(1));
            let chunk: Vec<SpanData> = self.batch.drain(..take).collect();
            let outcome = block_on(self.exporter.export(chunk), self.settings.export_timeout);
            if let Err(error) = outcome {
                result = Err(error);
            }
        }
        result
    }
}

/// `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`: long strings are cut at a character
/// boundary, never rejected.
fn truncate_values(span: &mut SpanData, limit: usize) {
    let events = span
        .events
        .events
        .iter_mut()
        .flat_map(|event| event.attributes.iter_mut());
    let links = span
        .links
        .links
        .iter_mut()
        .flat_map(|link| link.attributes.iter_mut());
    for attribute in span.attributes.iter_mut().chain(events).chain(links) {
        truncate_value(attribute, limit);
    }
}

fn truncate_value(attribute: &mut KeyValue, limit: usize) {
    let cut = |text: &str| -> Option<StringValue> {
        if text.len() <= limit {
            return None;
        }
        let mut end = limit;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        Some(StringValue::from(text[..end].to_owned()))
    };
    match &mut attribute.value {
        Value::String(text) => {
            if let Some(short) = cut(text.as_str()) {
                *text = short;
            }
        }
        Value::Array(opentelemetry::Array::String(items)) => {
            for item in items.iter_mut() {
                if let Some(short) = cut(item.as_str()) {
                    *item = short;
                }
            }
        }
        _ => {}
    }
}

struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Drives an export future on this thread, giving up after `timeout`.
fn block_on<F: Future<Output = OTelSdkResult>>(future: F, timeout: Duration) -> OTelSdkResult {
    let waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
    let mut cx = TaskContext::from_waker(&waker);
    let mut future = pin!(future);
    let deadline = Instant::now() + timeout;
    loop {
        if let Poll::Ready(result) = future.as_mut().poll(&mut cx) {
            return result;
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(OTelSdkError::Timeout(timeout));
        }
        thread::park_timeout(deadline - now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::Key;

    #[test]
    fn long_strings_are_cut_at_a_char_boundary() {
        let mut attribute = KeyValue::new(Key::from_static_str("k"), "héllo");
        truncate_value(&mut attribute, 2);
        assert_eq!(attribute.value.as_str(), "h");
        let mut attribute = KeyValue::new(Key::from_static_str("k"), "short");
        truncate_value(&mut attribute, 10);
        assert_eq!(attribute.value.as_str(), "short");
    }
}
