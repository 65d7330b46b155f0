//! The export thread on real spans and log records, through a pipeline of
//! its own: exports in flight, the memory budget they hold, the log path,
//! sinks that panic, and an idle thread that stays idle.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll, Waker};
use std::time::{Duration, Instant};

use opentelemetry::logs::{LogRecord as _, Logger as _, LoggerProvider as _};
use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogBatch, LogExporter, SdkLoggerProvider};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

use super::{Batching, FlushError};
use crate::pipeline::budget::MemoryBudget;
use crate::pipeline::in_flight::SignalKind;
use crate::pipeline::log_batches::LogExport;
use crate::pipeline::log_queue::{LogQueue, QueueLogs};
use crate::pipeline::sink::{ExporterSink, LogExporterSink};
use crate::pipeline::testing::LocalPipeline;

/// An exporter of spans and log records whose exports all wait until it is
/// opened, counting what passes and how many waited at once.
#[derive(Clone, Debug, Default)]
struct Gate(Arc<Mutex<GateState>>);

#[derive(Debug, Default)]
struct GateState {
    open: bool,
    in_flight: usize,
    most_in_flight: usize,
    items: usize,
    wakers: Vec<Waker>,
}

impl Gate {
    fn opened() -> Gate {
        let gate = Gate::default();
        gate.open();
        gate
    }

    fn open(&self) {
        let mut state = self.0.lock().unwrap();
        state.open = true;
        state.wakers.drain(..).for_each(Waker::wake);
    }

    fn state<T>(&self, read: impl FnOnce(&GateState) -> T) -> T {
        read(&self.0.lock().unwrap())
    }

    fn pass(&self, items: usize) -> Passing {
        Passing {
            gate: self.clone(),
            items,
            counted: false,
        }
    }
}

struct Passing {
    gate: Gate,
    items: usize,
    counted: bool,
}

impl Future for Passing {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<()> {
        let gate = self.gate.clone();
        let mut state = gate.0.lock().unwrap();
        if !self.counted {
            self.counted = true;
            state.in_flight += 1;
            state.most_in_flight = state.most_in_flight.max(state.in_flight);
        }
        if state.open {
            state.in_flight -= 1;
            state.items += self.items;
            Poll::Ready(())
        } else {
            state.wakers.push(cx.waker().clone());
            Poll::Pending
        }
    }
}

impl SpanExporter for Gate {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.pass(batch.len()).await;
        Ok(())
    }
}

impl LogExporter for Gate {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        let records = batch.iter().count();
        self.pass(records).await;
        Ok(())
    }
}

/// Waits (10 s at most) until `done` holds; panics naming `what` if not.
fn eventually(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "{what} did not happen");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn end_spans(pipeline: &LocalPipeline, count: usize) {
    let tracer = pipeline.provider().tracer("test");
    for _ in 0..count {
        tracer.start("work").end();
    }
}

#[test]
fn exports_overlap_up_to_the_limit_hold_their_bytes_and_a_flush_waits_for_them() {
    let gate = Gate::default();
    let budget = MemoryBudget::new(64 << 20);
    let pipeline = LocalPipeline::configured(
        vec![Box::new(ExporterSink::new(gate.clone()))],
        |settings| {
            settings.max_export_batch_size = 10;
            settings.schedule_delay = Duration::from_millis(10);
            settings.max_concurrent_exports = 3;
            settings.budget = Arc::clone(&budget);
        },
    );
    end_spans(&pipeline, 100);
    eventually("three exports in flight", || {
        gate.state(|state| state.in_flight) == 3
    });
    assert!(budget.used() > 0, "the batches in flight hold their bytes");
    std::thread::scope(|scope| {
        let flushing = scope.spawn(|| pipeline.try_flush());
        gate.open();
        assert_eq!(flushing.join().unwrap(), Ok(()));
    });
    assert_eq!(
        gate.state(|state| (state.items, state.most_in_flight)),
        (100, 3)
    );
    assert_eq!(
        budget.used(),
        pipeline.queue_budgeted(),
        "every batch gave its bytes back (the span lanes keep theirs)"
    );
}

/// A pipeline sending log records to `gate` within `budget`, the queue they
/// wait in, and a logger provider that queues them there.
fn log_pipeline(
    gate: &Gate,
    budget: &Arc<MemoryBudget>,
    schedule_delay: Duration,
) -> (LocalPipeline, Arc<LogQueue>, SdkLoggerProvider) {
    let queue = LogQueue::new(budget, None, 512);
    let logs = LogExport {
        queue: Arc::clone(&queue),
        sinks: vec![Box::new(LogExporterSink::new(gate.clone()))],
        batching: Batching {
            max_batch: 512,
            schedule_delay,
        },
    };
    let pipeline = LocalPipeline::configured(Vec::new(), |settings| {
        settings.budget = Arc::clone(budget);
        settings.logs = Some(logs);
    });
    let provider = SdkLoggerProvider::builder()
        .with_log_processor(QueueLogs(Arc::clone(&queue)))
        .build();
    (pipeline, queue, provider)
}

fn write_lines(provider: &SdkLoggerProvider, lines: usize) {
    let logger = provider.logger("burst");
    for n in 0..lines {
        let mut record = logger.create_log_record();
        record.set_body(format!("line {n}").into());
        logger.emit(record);
    }
}

#[test]
fn log_records_go_through_the_export_thread_whole() {
    let gate = Gate::opened();
    let budget = MemoryBudget::new(64 << 20);
    let (pipeline, queue, provider) = log_pipeline(&gate, &budget, Duration::from_secs(1));
    write_lines(&provider, 10_000);
    pipeline.flush();
    assert_eq!(gate.state(|state| state.items), 10_000);
    assert_eq!((queue.emitted(), queue.dropped()), (10_000, 0));
    assert_eq!(budget.used(), 0);
}

#[test]
fn log_records_past_the_budget_are_dropped_and_counted() {
    let gate = Gate::default();
    let budget = MemoryBudget::new(64 << 10);
    let (pipeline, queue, provider) = log_pipeline(&gate, &budget, Duration::from_millis(10));
    write_lines(&provider, 10_000);
    assert!(budget.used() <= 64 << 10, "{}", budget.used());
    std::thread::scope(|scope| {
        let flushing = scope.spawn(|| pipeline.try_flush());
        gate.open();
        assert_eq!(flushing.join().unwrap(), Ok(()));
    });
    let exported = gate.state(|state| state.items) as u64;
    assert!(exported > 0 && queue.dropped() > 0, "{exported}");
    assert_eq!(exported + queue.dropped(), 10_000);
    assert_eq!(queue.emitted(), 10_000);
    assert_eq!(budget.used(), 0);
}

/// Keeps every span; panics when asked to flush or shut down.
#[derive(Debug)]
struct PanicsOnFlushAndShutdown(Gate);

impl SpanExporter for PanicsOnFlushAndShutdown {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        SpanExporter::export(&self.0, batch).await
    }

    fn force_flush(&self) -> OTelSdkResult {
        panic!("flush exploded");
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        panic!("shutdown exploded");
    }
}

#[test]
fn repro_the_export_thread_survives_a_sink_whose_flush_or_shutdown_panics() {
    let gate = Gate::opened();
    let pipeline = LocalPipeline::configured(
        vec![Box::new(ExporterSink::new(PanicsOnFlushAndShutdown(
            gate.clone(),
        )))],
        |_| {},
    );
    for ended in 1..=2 {
        end_spans(&pipeline, 1);
        match pipeline.try_flush() {
            Err(FlushError::Export { signal, error }) => {
                assert_eq!(signal, SignalKind::Spans);
                assert_eq!(error, "the exporter panicked while flushing");
            }
            other => panic!("a failed flush, not {other:?}"),
        }
        assert_eq!(gate.state(|state| state.items), ended, "still exporting");
    }
    match pipeline.shutdown() {
        Err(FlushError::Export { error, .. }) => {
            assert_eq!(error, "the exporter panicked while shutting down");
        }
        other => panic!("a failed shutdown, not {other:?}"),
    }
}

#[test]
fn repro_a_schedule_delay_of_zero_exports_on_each_wake_without_spinning() {
    let gate = Gate::opened();
    let pipeline = LocalPipeline::configured(
        vec![Box::new(ExporterSink::new(gate.clone()))],
        |settings| settings.schedule_delay = Duration::ZERO,
    );
    // Idle: the thread looks at most every MIN_WAKE (10 ms), so about 50
    // times in half a second on any machine (a loaded one looks less
    // often); spinning, it went round hundreds of thousands of times.
    let before = pipeline.export_thread_wakes();
    std::thread::sleep(Duration::from_millis(500));
    let wakes = pipeline.export_thread_wakes() - before;
    assert!(wakes <= 150, "{wakes} wake-ups in 500 ms of idling");
    end_spans(&pipeline, 1);
    eventually("the span left without a flush", || {
        gate.state(|state| state.items) == 1
    });
}
