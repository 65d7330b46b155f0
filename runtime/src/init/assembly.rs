//! One assembly for every signal: per exporter (the console, OTLP), what it
//! contributes to spans, to logs and to metrics, built once from config's
//! resolved values. Adding a signal adds one part to each exporter's arm
//! here.
//!
//! Spans and log records that go to an exporter leave through the
//! pipeline's export thread, one sink per signal and exporter, and share
//! one memory budget; log records reach it through the logger provider's
//! [`QueueLogs`] processor. The console prints log records where they are
//! written. The metrics measured from the spans leave from the export
//! thread too, through its metric sinks; the application's own
//! instruments through the meter provider's readers, over the same client.

use std::io::Write;
use std::sync::Arc;

use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::{LoggerProviderBuilder, SdkLoggerProvider};
use opentelemetry_sdk::metrics::{MeterProviderBuilder, SdkMeterProvider, Temporality};

use super::destinations::Destination;
use super::guard::{ExporterError, InitError};
use crate::config::{CustomExporter, Export, OtlpSettings, Resolved, Signal};
use crate::export::{
    ConsoleInstruments, ConsoleLogs, ConsoleSink, Delivery, LineSink, MeterReader, Output,
    RedTable, TraceLogs,
};
use crate::logs::AtLeast;
use crate::pipeline::{
    Batching, LogExport, LogQueue, LogSink, MemoryBudget, MetricSink, QueueLogs, Sink, SpanStarts,
};

/// What the exporters contribute to each signal.
pub(super) struct Assembly {
    /// Where the export thread sends spans.
    pub(super) span_sinks: Vec<Box<dyn Sink>>,
    /// Told of every span that starts (the console waits for whole traces).
    pub(super) span_starts: Option<Arc<dyn SpanStarts>>,
    /// Counts of the spans sent over OTLP.
    pub(super) span_delivery: Option<Arc<Delivery>>,
    /// The logger provider, when log records go anywhere.
    pub(super) log_provider: Option<SdkLoggerProvider>,
    /// Where the export thread sends log records, when any go to an
    /// exporter.
    pub(super) log_export: Option<LogExport>,
    /// Counts of the log records sent over OTLP.
    pub(super) log_delivery: Option<Arc<Delivery>>,
    /// What every signal waiting for export may hold, batches in flight
    /// included.
    pub(super) budget: Arc<MemoryBudget>,
    /// Where the export thread sends the span metrics and its health.
    pub(super) metric_sinks: Vec<Box<dyn MetricSink>>,
    /// The meter provider of the application's own instruments, when
    /// metrics go anywhere.
    pub(super) meter_provider: Option<SdkMeterProvider>,
    /// Where each signal goes over OTLP.
    pub(super) destinations: Vec<Destination>,
}

/// Builds what `config` asks of each exporter. An exporter that cannot be
/// built is left out with a warning, unless `config.strict`.
pub(super) fn assemble(config: &Resolved, resource: &Resource) -> Result<Assembly, InitError> {
    let mut parts = Parts {
        assembly: Assembly {
            span_sinks: Vec::new(),
            span_starts: None,
            span_delivery: None,
            log_provider: None,
            log_export: None,
            log_delivery: None,
            budget: MemoryBudget::new(config.pending_memory),
            metric_sinks: Vec::new(),
            meter_provider: None,
            destinations: Vec::new(),
        },
        logs: SdkLoggerProvider::builder().with_resource(resource.clone()),
        log_processors: 0,
        meters: SdkMeterProvider::builder().with_resource(resource.clone()),
        meter_readers: 0,
        config,
    };
    let console_spans = config.export.contains(&Export::Console);
    let console_logs = config.logs.export.contains(&Export::Console);
    let console_metrics = config.metrics.export.contains(&Export::Console);
    if console_spans || console_logs || console_metrics {
        parts.console(console_spans, console_logs, console_metrics);
    }
    let otlp_spans = otlp_settings(&config.export);
    let otlp_logs = otlp_settings(&config.logs.export);
    let otlp_metrics = otlp_settings(&config.metrics.export);
    if otlp_spans.is_some() || otlp_logs.is_some() || otlp_metrics.is_some() {
        parts.otlp(otlp_spans, otlp_logs, otlp_metrics)?;
    }
    parts.assembly.span_sinks.extend(
        config
            .span_exporters
            .iter()
            .filter_map(CustomExporter::take),
    );
    let Parts {
        mut assembly,
        logs,
        log_processors,
        meters,
        meter_readers,
        ..
    } = parts;
    assembly.log_provider = (log_processors > 0).then(|| logs.build());
    assembly.meter_provider = (meter_readers > 0).then(|| meters.build());
    Ok(assembly)
}

fn otlp_settings(exports: &[Export]) -> Option<&OtlpSettings> {
    exports.iter().find_map(|export| match export {
        Export::Otlp(settings) => Some(settings),
        Export::Console => None,
    })
}

/// The assembly under way.
struct Parts<'a> {
    assembly: Assembly,
    logs: LoggerProviderBuilder,
    log_processors: usize,
    meters: MeterProviderBuilder,
    meter_readers: usize,
    config: &'a Resolved,
}

impl Parts<'_> {
    /// The console: spans as waterfalls, log records under their spans (or
    /// one line each when spans do not print there), and at shutdown the
    /// table of calls per span name and the application's instruments.
    fn console(&mut self, spans: bool, logs: bool, metrics: bool) {
        // Log records of a trace print under its spans when both go here.
        let held = (spans && logs).then(|| Arc::new(TraceLogs::default()));
        if spans {
            let mut console = ConsoleSink::stderr(&self.config.console);
            if let Some(held) = &held {
                console = console.with_logs(Arc::clone(held));
            }
            let starts: Arc<dyn SpanStarts> = console.span_starts();
            self.assembly.span_starts = Some(starts);
            self.assembly.span_sinks.push(Box::new(console));
        }
        if logs {
            let stderr: LineSink = Arc::new(|line: &str| {
                // A closed stderr must not take the program down.
                let _ = std::io::stderr().lock().write_all(line.as_bytes());
            });
            self.add_log_processor(ConsoleLogs {
                held,
                untraced: stderr,
            });
        }
        if metrics {
            let stderr: Output = Arc::new(|text: &str| {
                let _ = std::io::stderr().lock().write_all(text.as_bytes());
            });
            self.assembly
                .metric_sinks
                .push(Box::new(RedTable::new(Arc::clone(&stderr))));
            // Totals since the start: what prints at shutdown is the whole run.
            let reader = self.meter_reader(Temporality::Cumulative);
            self.assembly
                .metric_sinks
                .push(Box::new(ConsoleInstruments::new(reader, stderr)));
        }
    }

    /// OTLP: spans, log records and metrics to a collector, each with its
    /// own settings, on one export runtime.
    #[cfg(feature = "otlp")]
    fn otlp(
        &mut self,
        spans: Option<&OtlpSettings>,
        logs: Option<&OtlpSettings>,
        metrics: Option<&OtlpSettings>,
    ) -> Result<(), InitError> {
        use crate::config::Protocol;
        use crate::export::{
            CountExported, ExportRuntime, MetricsClient, OtlpMetricSink, OtlpSpanSink,
            SpanExporterHealth, otlp_log_exporter, otlp_span_exporter,
        };
        use crate::pipeline::LogExporterSink;

        let runtime = match ExportRuntime::start() {
            Ok(runtime) => runtime,
            Err(reason) => {
                let signal = if spans.is_some() {
                    Signal::Traces
                } else if logs.is_some() {
                    Signal::Logs
                } else {
                    Signal::Metrics
                };
                return self.left_out(signal, reason);
            }
        };
        if let Some(settings) = spans {
            // traced's own client sends the spans, compressed as resolved.
            match otlp_span_exporter(settings, &runtime) {
                Ok(exporter) => {
                    let counted = CountExported::otlp(exporter, Signal::Traces, settings);
                    self.assembly.span_delivery = Some(Arc::clone(&counted.delivery));
                    self.assembly
                        .span_sinks
                        .push(Box::new(OtlpSpanSink::new(counted)));
                    self.went_out(Signal::Traces, settings);
                }
                Err(reason) => self.left_out(Signal::Traces, reason)?,
            }
        }
        if let Some(settings) = logs {
            warn_of_gzip_code_cannot_override(settings);
            match otlp_log_exporter(settings, &runtime) {
                Ok(exporter) => {
                    let counted = CountExported::otlp(exporter, Signal::Logs, settings);
                    self.assembly.log_delivery = Some(Arc::clone(&counted.delivery));
                    self.add_log_sink(Box::new(LogExporterSink::new(counted)));
                    self.went_out(Signal::Logs, settings);
                }
                Err(reason) => self.left_out(Signal::Logs, reason)?,
            }
        }
        if let Some(settings) = metrics {
            match MetricsClient::new(settings, &runtime) {
                Ok(client) => {
                    let client = Arc::new(client);
                    let spans = spans.zip(self.assembly.span_delivery.as_ref()).map(
                        |(settings, delivery)| SpanExporterHealth {
                            delivery: Arc::clone(delivery),
                            component_type: match settings.protocol {
                                Protocol::Grpc => "otlp_grpc_span_exporter",
                                _ => "otlp_http_span_exporter",
                            },
                        },
                    );
                    let instruments = self.meter_reader(self.config.metrics.temporality);
                    self.assembly
                        .metric_sinks
                        .push(Box::new(OtlpMetricSink::new(
                            client,
                            instruments,
                            spans,
                            self.config.metrics.span_temporality(),
                        )));
                    self.went_out(Signal::Metrics, settings);
                }
                Err(reason) => self.left_out(Signal::Metrics, reason)?,
            }
        }
        Ok(())
    }

    #[cfg(not(feature = "otlp"))]
    fn otlp(
        &mut self,
        spans: Option<&OtlpSettings>,
        logs: Option<&OtlpSettings>,
        metrics: Option<&OtlpSettings>,
    ) -> Result<(), InitError> {
        let reason = "it needs the `otlp` feature of traced";
        if spans.is_some() {
            self.left_out(Signal::Traces, reason)?;
        }
        if logs.is_some() {
            self.left_out(Signal::Logs, reason)?;
        }
        if metrics.is_some() {
            self.left_out(Signal::Metrics, reason)?;
        }
        Ok(())
    }

    /// Sends log records to `sink` through the export thread: the first
    /// sink puts the queue that takes them there in place.
    #[cfg_attr(not(feature = "otlp"), allow(dead_code))]
    fn add_log_sink(&mut self, sink: Box<dyn LogSink>) {
        if let Some(export) = &mut self.assembly.log_export {
            export.sinks.push(sink);
            return;
        }
        let batch = &self.config.logs.batch;
        let queue = LogQueue::new(
            &self.assembly.budget,
            batch.queue_size_set.then_some(batch.max_queue_size),
            batch.max_export_batch_size,
        );
        self.add_log_processor(QueueLogs(Arc::clone(&queue)));
        self.assembly.log_export = Some(LogExport {
            queue,
            sinks: vec![sink],
            batching: Batching {
                max_batch: batch.max_export_batch_size,
                schedule_delay: batch.schedule_delay,
            },
        });
    }

    /// Notes that `signal` goes over OTLP as `settings` say.
    #[cfg(feature = "otlp")]
    fn went_out(&mut self, signal: Signal, settings: &OtlpSettings) {
        self.assembly.destinations.push(Destination {
            signal,
            collector: settings.collector(signal),
            protocol: settings.protocol,
        });
    }

    /// Adds a processor to the logger provider, keeping records from the
    /// configured level up.
    fn add_log_processor<P>(&mut self, processor: P)
    where
        P: opentelemetry_sdk::logs::LogProcessor + 'static,
    {
        let logs = std::mem::replace(&mut self.logs, SdkLoggerProvider::builder());
        self.logs = logs.with_log_processor(AtLeast {
            inner: processor,
            level: self.config.logs.level,
        });
        self.log_processors += 1;
    }

    /// A reader of the application's instruments, added to the meter
    /// provider: a metric sink reads it on the export thread at each
    /// collection of the span metrics (every export interval, each flush and
    /// the shutdown), so it needs no thread of its own.
    fn meter_reader(&mut self, temporality: Temporality) -> MeterReader {
        let reader = MeterReader::new(temporality);
        let meters = std::mem::replace(&mut self.meters, SdkMeterProvider::builder());
        self.meters = meters.with_reader(reader.clone());
        self.meter_readers += 1;
        reader
    }

    /// An exporter of `signal` that cannot be built: an error under strict
    /// checking, else a warning, and the signal goes on without it.
    fn left_out(&self, signal: Signal, reason: impl Into<String>) -> Result<(), InitError> {
        let error = ExporterError::new(signal, reason);
        if self.config.strict {
            return Err(InitError::Exporter(error));
        }
        match signal {
            Signal::Traces => eprintln!("traced: OTLP export is off: {}", error.reason()),
            _ => eprintln!("traced: OTLP export of {signal} is off: {}", error.reason()),
        }
        Ok(())
    }
}

/// opentelemetry-otlp applies a gzip named in the environment over gRPC even
/// when code asked for none (to log records: spans go through traced's own
/// client): said once, when it happens.
#[cfg(feature = "otlp")]
fn warn_of_gzip_code_cannot_override(settings: &OtlpSettings) {
    if let Some(setting) = &settings.gzip_from_env_over_grpc {
        eprintln!(
            "traced: {setting} still applies over gRPC although code asked for no compression: \
             opentelemetry-otlp reads it itself"
        );
    }
}
