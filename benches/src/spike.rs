//! A spike of the native span pipeline, measured beside the SDK and fastrace
//! before the runtime is touched: a small span handle of our own made current
//! with `Context::with_span`, ids from a thread-local generator, a TSC clock
//! read twice, and on end a fixed-size record pushed into a per-thread
//! single-producer ring that one export thread drains, converting to
//! `SpanData` only there.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, UNIX_EPOCH};

use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, Status, TraceContextExt, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{Context, InstrumentationScope, KeyValue};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanExporter, SpanLinks};

/// What the macro would put in a `static`.
#[derive(Debug)]
pub struct Site {
    pub name: &'static str,
    pub function: &'static str,
    pub line: u32,
}

/// A finished span as it travels to the export thread.
struct Record {
    trace_id: TraceId,
    span_id: SpanId,
    parent_id: SpanId,
    start: fastant::Instant,
    end: fastant::Instant,
    site: &'static Site,
    attributes: Option<Box<Vec<KeyValue>>>,
}

/// The span handle living in the `Context`.
#[derive(Debug)]
pub struct SpikeSpan {
    span_context: SpanContext,
    parent_id: SpanId,
    start: fastant::Instant,
    site: &'static Site,
    attributes: Option<Box<Vec<KeyValue>>>,
    ended: bool,
}

impl opentelemetry::trace::Span for SpikeSpan {
    fn add_event_with_timestamp<T>(
        &mut self,
        _name: T,
        _timestamp: std::time::SystemTime,
        _attributes: Vec<KeyValue>,
    ) where
        T: Into<Cow<'static, str>>,
    {
    }

    fn span_context(&self) -> &SpanContext {
        &self.span_context
    }

    fn is_recording(&self) -> bool {
        !self.ended
    }

    fn set_attribute(&mut self, attribute: KeyValue) {
        self.attributes.get_or_insert_default().push(attribute);
    }

    fn set_status(&mut self, _status: Status) {}

    fn update_name<T>(&mut self, _new_name: T)
    where
        T: Into<Cow<'static, str>>,
    {
    }

    fn add_link(&mut self, _span_context: SpanContext, _attributes: Vec<KeyValue>) {}

    fn end_with_timestamp(&mut self, _timestamp: std::time::SystemTime) {
        self.end();
    }

    fn end(&mut self) {
        if std::mem::replace(&mut self.ended, true) {
            return;
        }
        let record = Record {
            trace_id: self.span_context.trace_id(),
            span_id: self.span_context.span_id(),
            parent_id: self.parent_id,
            start: self.start,
            end: fastant::Instant::now(),
            site: self.site,
            attributes: self.attributes.take(),
        };
        push(record);
    }
}

thread_local! {
    static RNG: Cell<u64> = const { Cell::new(0) };
    static PRODUCER: RefCell<Option<rtrb::Producer<Record>>> = const { RefCell::new(None) };
}

static CONSUMERS: Mutex<Vec<rtrb::Consumer<Record>>> = Mutex::new(Vec::new());
static ROUNDS: AtomicU64 = AtomicU64::new(0);
static DROPPED: AtomicU64 = AtomicU64::new(0);
static EXPORTED: AtomicU64 = AtomicU64::new(0);
static RUNNING: AtomicBool = AtomicBool::new(false);

/// wyrand: one multiply per id.
#[inline]
fn next_u64() -> u64 {
    RNG.with(|state| {
        let mut s = state.get();
        if s == 0 {
            s = std::hash::BuildHasher::hash_one(
                &std::collections::hash_map::RandomState::new(),
                1,
            ) | 1;
        }
        s = s.wrapping_add(0xa076_1d64_78bd_642f);
        state.set(s);
        let t = u128::from(s) * u128::from(s ^ 0xe703_7ed1_a0b4_28db);
        (t >> 64) as u64 ^ t as u64
    })
}

#[inline]
fn push(record: Record) {
    PRODUCER.with(|slot| {
        let mut slot = slot.borrow_mut();
        let producer = slot.get_or_insert_with(|| {
            let (producer, consumer) = rtrb::RingBuffer::new(1 << 14);
            CONSUMERS
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(consumer);
            producer
        });
        if producer.push(record).is_err() {
            DROPPED.fetch_add(1, Ordering::Relaxed);
        }
    });
}

/// Starts a span of `site` under the current context and returns the context
/// holding it (not attached).
#[inline]
pub fn start(site: &'static Site) -> Context {
    Context::map_current(|cx| {
        let parent = cx.span();
        let parent = parent.span_context();
        let (trace_id, parent_id) = if parent.is_valid() {
            (parent.trace_id(), parent.span_id())
        } else {
            let high = u128::from(next_u64());
            (
                TraceId::from((high << 64) | u128::from(next_u64())),
                SpanId::INVALID,
            )
        };
        let span_context = SpanContext::new(
            trace_id,
            SpanId::from(next_u64() | 1),
            TraceFlags::SAMPLED,
            false,
            TraceState::NONE,
        );
        cx.with_span(SpikeSpan {
            span_context,
            parent_id,
            start: fastant::Instant::now(),
            site,
            attributes: None,
            ended: false,
        })
    })
}

/// A sync call under a spike span.
#[inline(never)]
pub fn sync(x: u64) -> u64 {
    static SITE: Site = Site {
        name: "sync",
        function: "traced_benches::spike::sync",
        line: 1,
    };
    let cx = start(&SITE);
    let value = {
        let _attached = cx.clone().attach();
        crate::work(x)
    };
    cx.span().end();
    value
}

/// The same with three attributes set before the span is shared.
#[inline(never)]
pub fn attrs(x: u64, name: &str, flag: bool) -> u64 {
    static SITE: Site = Site {
        name: "attrs",
        function: "traced_benches::spike::attrs",
        line: 2,
    };
    let cx = start(&SITE);
    cx.span().set_attributes([
        KeyValue::new("x", x as i64),
        KeyValue::new("name", name.to_owned()),
        KeyValue::new("flag", flag),
    ]);
    let value = {
        let _attached = cx.clone().attach();
        crate::work(x ^ name.len() as u64 ^ u64::from(flag))
    };
    cx.span().end();
    value
}

/// An async call: the span is current during every poll and ends on completion.
pub fn run(x: u64) -> impl Future<Output = u64> {
    // Boxed only to keep the spike free of pin projection; the box is part of
    // the figure.
    static SITE: Site = Site {
        name: "run",
        function: "traced_benches::spike::run",
        line: 3,
    };
    Spanned {
        cx: start(&SITE),
        inner: Box::pin(async move { crate::work(x) }),
    }
}

struct Spanned<F> {
    cx: Context,
    inner: F,
}

impl<F: Future + Unpin> Future for Spanned<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        let _attached = this.cx.clone().attach();
        let poll = Pin::new(&mut this.inner).poll(task);
        if poll.is_ready() {
            this.cx.span().end();
        }
        poll
    }
}

/// Starts the export thread that drains every ring into `exporter`.
pub fn install<E: SpanExporter + 'static>(exporter: E) {
    if RUNNING.swap(true, Ordering::AcqRel) {
        return;
    }
    std::thread::Builder::new()
        .name("spike-export".into())
        .spawn(move || export_loop(&exporter))
        .expect("spawn the export thread");
}

fn export_loop<E: SpanExporter>(exporter: &E) {
    let anchor = fastant::Anchor::new();
    let scope = InstrumentationScope::builder("traced-benches").build();
    let mut batch = Vec::with_capacity(512);
    loop {
        let mut drained = 0;
        {
            let mut consumers = CONSUMERS.lock().unwrap_or_else(PoisonError::into_inner);
            for consumer in consumers.iter_mut() {
                while let Ok(record) = consumer.pop() {
                    batch.push(convert(record, &anchor, &scope));
                    drained += 1;
                    if batch.len() == 512 {
                        let full = std::mem::replace(&mut batch, Vec::with_capacity(512));
                        export(exporter, full);
                    }
                }
            }
        }
        if !batch.is_empty() {
            export(
                exporter,
                std::mem::replace(&mut batch, Vec::with_capacity(512)),
            );
        }
        ROUNDS.fetch_add(1, Ordering::Release);
        if drained == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

fn export<E: SpanExporter>(exporter: &E, batch: Vec<SpanData>) {
    let spans = batch.len() as u64;
    let _ = crate::ready(exporter.export(batch));
    EXPORTED.fetch_add(spans, Ordering::Release);
}

fn convert(record: Record, anchor: &fastant::Anchor, scope: &InstrumentationScope) -> SpanData {
    let to_time = |instant: fastant::Instant| {
        UNIX_EPOCH + Duration::from_nanos(instant.as_unix_nanos(anchor))
    };
    let mut attributes = Vec::with_capacity(3 + record.attributes.as_ref().map_or(0, |a| a.len()));
    attributes.extend([
        KeyValue::new("code.function.name", record.site.function),
        KeyValue::new("code.file.path", file!()),
        KeyValue::new("code.line.number", i64::from(record.site.line)),
    ]);
    if let Some(extra) = &record.attributes {
        attributes.extend(extra.iter().cloned());
    }
    SpanData {
        span_context: SpanContext::new(
            record.trace_id,
            record.span_id,
            TraceFlags::SAMPLED,
            false,
            TraceState::NONE,
        ),
        parent_span_id: record.parent_id,
        parent_span_is_remote: false,
        span_kind: SpanKind::Internal,
        name: Cow::Borrowed(record.site.name),
        start_time: to_time(record.start),
        end_time: to_time(record.end),
        attributes,
        dropped_attributes_count: 0,
        events: SpanEvents::default(),
        links: SpanLinks::default(),
        status: Status::Unset,
        instrumentation_scope: scope.clone(),
    }
}

/// Waits until every span ended so far has been exported: the rings are
/// empty and the export thread finished a whole round after that.
pub fn flush() {
    loop {
        let round = ROUNDS.load(Ordering::Acquire);
        let queued: usize = CONSUMERS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(rtrb::Consumer::slots)
            .sum();
        if queued == 0 {
            while ROUNDS.load(Ordering::Acquire) < round + 2 {
                std::thread::sleep(Duration::from_micros(100));
            }
            return;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// Spans that found their ring full.
pub fn dropped() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

/// Spans the exporter received.
pub fn exported() -> u64 {
    EXPORTED.load(Ordering::Acquire)
}
