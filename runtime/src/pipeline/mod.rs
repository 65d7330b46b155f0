//! The native span pipeline `traced::init()` installs.
//!
//! A recorded span is a [`NativeSpan`]: a small handle of ours made current
//! with `Context::with_span`, so every OpenTelemetry API (children of other
//! tracers, `get_active_span`, propagators) sees a real span. It starts with
//! ids from a per-thread generator and a time-stamp-counter read; the call
//! site's static data stays in its `static`, and the values its call records
//! go into inline slots ([`values`]). When it ends, a fixed-size
//! [`Record`](record::Record) goes into the ending thread's lane
//! ([`queue`]); one export thread drains every lane, turns records into
//! `SpanData` ([`convert`]) and hands them to the exporters ([`sink`]).
//!
//! Spans that other OpenTelemetry code starts through the global tracer
//! provider are native spans too: `init()` installs a [`NativeTracerProvider`]
//! ([`tracer`]) as the global provider. `tracing` spans start through
//! `start_library` (feature `tracing`), with a call site made once per
//! `tracing` callsite.
//!
//! With tail sampling on, the export thread holds the spans of each local
//! trace until it can decide whether to keep it ([`tail`]).
//!
//! The same thread exports log records: a log processor queues each one
//! ([`log_queue`]) and the thread sends them in batches ([`log_batches`]).
//! Exports run concurrently up to a limit per sink ([`in_flight`]); what
//! waits for export, batches in flight included, shares one memory budget
//! ([`budget`]).

mod attributes;
mod batching;
mod budget;
mod clock;
mod convert;
mod export_thread;
mod ids;
mod in_flight;
#[cfg(feature = "tracing")]
mod library;
mod links;
mod log_batches;
mod log_queue;
mod metrics;
mod process;
mod queue;
mod record;
mod sampling;
mod settings;
mod sink;
mod site;
mod span;
mod span_details;
#[cfg_attr(not(feature = "otlp"), allow(dead_code))]
mod span_view;
mod start;
mod tail;
mod tracer;
mod truncate;
mod values;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use opentelemetry_sdk::trace::Sampler;

pub use attributes::Attributes;
pub(crate) use batching::Batching;
pub(crate) use budget::MemoryBudget;
pub(crate) use export_thread::{ExportThread, FlushError};
pub(crate) use in_flight::SignalKind;
#[cfg(feature = "tracing")]
pub(crate) use library::{Shape, start_library};
pub use links::{LinkTarget, Links};
pub(crate) use log_batches::LogExport;
pub(crate) use log_queue::{LogQueue, QueueLogs};
#[cfg(test)]
pub(crate) use metrics::SummaryRow;
/// What tests outside the pipeline build records with.
#[cfg(all(test, feature = "otlp"))]
pub(crate) mod for_tests {
    pub(crate) use super::clock::{WallClock, now};
    pub(crate) use super::convert::span_data;
    pub(crate) use super::record::Record;
    pub(crate) use super::span_details::SpanDetails;
    pub(crate) use super::values::{Slot, Slots};
}
#[cfg(feature = "otlp")]
pub(crate) use metrics::{Data, Exemplar, HistogramPoint, Metric, NumberPoint};
pub(crate) use metrics::{MetricSink, MetricsSettings, MetricsSnapshot, Summary, Temporality};
pub(crate) use process::forks;
pub(crate) use settings::{Limits, Settings};
#[cfg(feature = "otlp")]
pub(crate) use sink::LogExporterSink;
#[cfg(feature = "otlp")]
pub(crate) use sink::SpanEncoder;
pub(crate) use sink::{
    ExporterSink, Exporting, LogSink, Sink, SpanStarts, TraceDecision, describe,
};
#[cfg(feature = "tracing")]
pub(crate) use site::AddressHasher;
pub use site::{CallSite, Kind, SiteAttribute, StaticValue};
pub(crate) use span::END_NOW;
#[cfg(feature = "otlp")]
pub(crate) use span_view::{SpanView, leading_attributes};
pub use start::Parent;
pub(crate) use start::{Begun, Plan, Started, begin, finish, start};
pub use tail::TailSamplingReport;
pub(crate) use tail::{KeepReason, TailPolicy, is_local_root};
pub(crate) use tracer::{NativeTracer, NativeTracerProvider};
pub use values::AttrValue;
#[cfg(feature = "otlp")]
pub(crate) use values::{Cut, ValueRef};

use queue::Queue;

/// What the span path reads while a pipeline is installed: fixed from
/// installation to shutdown. Spans and per-thread caches hold it by plain
/// reference, so it is never freed; at shutdown its queue frees its lanes
/// and overflow, which leaves a few hundred bytes per `init()`.
#[derive(Debug)]
pub(crate) struct PipelineCore {
    pub(crate) sampler: Sampler,
    pub(crate) parent_based: bool,
    pub(crate) rule: sampling::Rule,
    pub(crate) recording: bool,
    pub(crate) limits: Limits,
    pub(crate) queue: Queue,
    /// Told of every recording span as it starts.
    pub(crate) span_starts: Option<Arc<dyn SpanStarts>>,
    /// Cleared at shutdown: spans that end afterwards are not queued.
    open: AtomicBool,
    /// The process that started it, by [`forks`]: in a forked child it has
    /// no export thread, and records nothing.
    forks: u32,
}

impl PipelineCore {
    #[inline]
    pub(crate) fn is_open(&self) -> bool {
        self.open.load(Ordering::Relaxed) && self.forks == forks()
    }

    /// Whether it was started by the parent of a forked child.
    pub(crate) fn is_inherited(&self) -> bool {
        self.forks != forks()
    }
}

/// In a child right after fork(2): the parent's pipelines stop recording
/// here, and this thread's ids start anew. Touches atomics and this
/// thread's own thread-locals only.
pub(crate) fn forked() {
    process::count_fork();
    ids::reseed();
}

/// An installed pipeline: its export thread and what the span path reads.
#[derive(Debug)]
pub(crate) struct Pipeline {
    shared: &'static PipelineCore,
    thread: ExportThread,
    tail_sampling: Option<Arc<tail::Counters>>,
}

impl Pipeline {
    /// Starts the export thread. Spans reach the pipeline through
    /// [`NativeTracerProvider`], and through [`start`] for those who hold its
    /// [`PipelineCore`].
    pub(crate) fn start(settings: Settings) -> Pipeline {
        clock::choose(settings.monotonic_clock);
        let parent_based = matches!(settings.sampler, Sampler::ParentBased(_));
        let rule = if parent_based {
            sampling::Rule::of(settings.root_sampler.as_ref())
        } else {
            sampling::Rule::of(Some(&settings.sampler))
        };
        let shared: &'static PipelineCore = Box::leak(Box::new(PipelineCore {
            sampler: settings.sampler,
            parent_based,
            rule,
            recording: settings.recording,
            limits: settings.limits.clone(),
            queue: Queue::new(&settings.budget, settings.max_pending_spans),
            span_starts: settings.span_starts.clone(),
            open: AtomicBool::new(true),
            forks: forks(),
        }));
        let counters = settings
            .tail_sampling
            .as_ref()
            .map(|_| Arc::new(tail::Counters::default()));
        let metrics = settings
            .metrics
            .map(|metrics| metrics::RedMetrics::new(shared, metrics, counters.clone()));
        let sampler = settings
            .tail_sampling
            .zip(counters.clone())
            .map(|(policy, counters)| tail::TailSampler::new(policy, counters));
        let thread = ExportThread::start(
            shared,
            &settings.resource,
            export_thread::Exports {
                sinks: settings.sinks,
                batching: Batching {
                    max_batch: settings.max_export_batch_size,
                    schedule_delay: settings.schedule_delay,
                },
                logs: settings.logs,
                budget: settings.budget,
                max_concurrent_exports: settings.max_concurrent_exports,
                tail: sampler,
                metrics,
                on_wake: settings.on_wake,
            },
        );
        Pipeline {
            shared,
            thread,
            tail_sampling: counters,
        }
    }

    pub(crate) fn shared(&self) -> &'static PipelineCore {
        self.shared
    }

    /// What tail sampling has decided so far; `None` when it is off.
    pub(crate) fn tail_sampling(&self) -> Option<TailSamplingReport> {
        self.tail_sampling
            .as_ref()
            .map(|counters| counters.report())
    }

    /// Where tail sampling counts its decisions, to read after shutdown.
    pub(crate) fn tail_sampling_handle(&self) -> Option<Arc<tail::Counters>> {
        self.tail_sampling.clone()
    }

    /// Exports every span that ended before this call and flushes the
    /// exporters, waiting until `deadline` at most.
    pub(crate) fn flush(&self, deadline: Instant) -> Result<(), FlushError> {
        self.thread.flush(deadline, true)
    }

    /// Hands every span that ended before this call to the exporters,
    /// waiting until `deadline` at most.
    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn drain(&self, deadline: Instant) -> Result<(), FlushError> {
        self.thread.flush(deadline, false)
    }

    /// Stops new spans, exports what is pending and shuts the exporters
    /// down, waiting until `deadline` at most.
    pub(crate) fn shutdown(self, deadline: Instant) -> Result<(), FlushError> {
        // Spans that end from here on were not finished when shutdown began.
        self.shared.open.store(false, Ordering::Relaxed);
        let shut = self.thread.shutdown(deadline);
        // The core stays (spans still running may hold it); what it holds
        // of any size goes.
        self.shared.queue.close();
        shut
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! A pipeline of its own for unit tests, reached through its provider
    //! only, so tests running side by side do not share it.

    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use opentelemetry_sdk::Resource;
    use opentelemetry_sdk::trace::Sampler;

    use super::sink::Sink;
    use super::{
        FlushError, Limits, MemoryBudget, MetricsSettings, NativeTracerProvider, Pipeline,
        Settings, SpanStarts, TailPolicy,
    };

    #[derive(Debug)]
    pub(crate) struct LocalPipeline {
        pipeline: Option<Pipeline>,
    }

    impl LocalPipeline {
        pub(crate) fn start(
            sinks: Vec<Box<dyn Sink>>,
            span_starts: Option<Arc<dyn SpanStarts>>,
            sampler: Sampler,
        ) -> Self {
            Self::with_settings(sinks, span_starts, sampler, None, None)
        }

        /// The same, with tail sampling by `policy`.
        pub(crate) fn start_tail_sampling(
            sinks: Vec<Box<dyn Sink>>,
            span_starts: Option<Arc<dyn SpanStarts>>,
            policy: TailPolicy,
        ) -> Self {
            let sampler = Sampler::ParentBased(Box::new(Sampler::AlwaysOn));
            Self::with_settings(sinks, span_starts, sampler, Some(policy), None)
        }

        /// A pipeline that measures its spans into `metrics`, with tail
        /// sampling by `policy` when given.
        pub(crate) fn start_with_metrics(
            sinks: Vec<Box<dyn Sink>>,
            sampler: Sampler,
            policy: Option<TailPolicy>,
            metrics: MetricsSettings,
        ) -> Self {
            let sampler = match policy {
                Some(_) => Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
                None => sampler,
            };
            Self::with_settings(sinks, None, sampler, policy, Some(metrics))
        }

        fn with_settings(
            sinks: Vec<Box<dyn Sink>>,
            span_starts: Option<Arc<dyn SpanStarts>>,
            sampler: Sampler,
            tail_sampling: Option<TailPolicy>,
            metrics: Option<MetricsSettings>,
        ) -> Self {
            Self::configured(sinks, |settings| {
                settings.span_starts = span_starts;
                settings.sampler = sampler;
                settings.tail_sampling = tail_sampling;
                settings.metrics = metrics;
            })
        }

        /// A pipeline to `sinks`, with the settings `configure` leaves.
        pub(crate) fn configured(
            sinks: Vec<Box<dyn Sink>>,
            configure: impl FnOnce(&mut Settings),
        ) -> Self {
            let mut settings = Settings {
                root_sampler: None,
                sampler: Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
                recording: true,
                limits: Limits::default(),
                resource: Resource::builder_empty().with_service_name("shop").build(),
                sinks,
                span_starts: None,
                on_wake: None,
                monotonic_clock: false,
                max_export_batch_size: 512,
                schedule_delay: Duration::from_millis(100),
                max_concurrent_exports: 1,
                budget: MemoryBudget::new(1 << 20),
                max_pending_spans: None,
                logs: None,
                tail_sampling: None,
                metrics: None,
            };
            configure(&mut settings);
            LocalPipeline {
                pipeline: Some(Pipeline::start(settings)),
            }
        }

        /// What this pipeline's span queue holds of the memory budget.
        pub(crate) fn queue_budgeted(&self) -> usize {
            self.pipeline().shared.queue.budgeted()
        }

        pub(crate) fn provider(&self) -> NativeTracerProvider {
            NativeTracerProvider::new(self.pipeline().shared)
        }

        pub(crate) fn shared(&self) -> &'static super::PipelineCore {
            self.pipeline().shared
        }

        fn pipeline(&self) -> &Pipeline {
            self.pipeline.as_ref().expect("running")
        }

        /// Exports what has ended, flushes the sinks, and says how that went.
        pub(crate) fn try_flush(&self) -> Result<(), FlushError> {
            self.pipeline()
                .flush(Instant::now() + Duration::from_secs(10))
        }

        /// Shuts the pipeline down, and says how that went.
        pub(crate) fn shutdown(mut self) -> Result<(), FlushError> {
            let pipeline = self.pipeline.take().expect("running");
            pipeline.shutdown(Instant::now() + Duration::from_secs(10))
        }

        /// Times the export thread has gone round its loop.
        pub(crate) fn export_thread_wakes(&self) -> u64 {
            self.pipeline().thread.wakes()
        }

        /// What tail sampling has decided so far.
        pub(crate) fn tail_report(&self) -> super::TailSamplingReport {
            self.pipeline()
                .tail_sampling()
                .expect("tail sampling is on")
        }

        /// Every span ended so far has reached the sinks.
        pub(crate) fn drain(&self) {
            self.pipeline()
                .drain(Instant::now() + Duration::from_secs(10))
                .expect("drained");
        }

        /// The same, and the sinks flushed.
        pub(crate) fn flush(&self) {
            self.pipeline()
                .flush(Instant::now() + Duration::from_secs(10))
                .expect("flushed");
        }
    }

    impl Drop for LocalPipeline {
        fn drop(&mut self) {
            if let Some(pipeline) = self.pipeline.take() {
                let _ = pipeline.shutdown(Instant::now() + Duration::from_secs(10));
            }
        }
    }
}
