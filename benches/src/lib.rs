//! The same trivial function instrumented five ways, and the set-ups the
//! benchmarks, the allocation counts and the CPU measurements share.
//!
//! Every instrumented variant makes the same span: name, kind `internal`, the
//! three `code.*` attributes `#[traced]` records, current while the body runs.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context as TaskContext, Poll, Waker};
use std::time::Duration;

use opentelemetry::trace::{SpanKind, TraceContextExt, Tracer, TracerProvider as _};
use opentelemetry::{Context, InstrumentationScope, KeyValue, global};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, Sampler, SdkTracerProvider, SpanData, SpanExporter,
};

/// The body every variant wraps.
#[inline(never)]
pub fn work(x: u64) -> u64 {
    black_box(x).wrapping_mul(31).rotate_left(7)
}

/// Runs a future that never waits to completion with one poll.
pub fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut TaskContext::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("benchmarked futures complete in one poll"),
    }
}

/// No instrumentation at all.
pub mod plain {
    #[inline(never)]
    pub fn sync(x: u64) -> u64 {
        super::work(x)
    }

    #[inline(never)]
    pub async fn run(x: u64) -> u64 {
        super::work(x)
    }

    #[inline(never)]
    pub fn attrs(x: u64, name: &str, flag: bool) -> u64 {
        super::work(x ^ name.len() as u64 ^ u64::from(flag))
    }
}

/// One request through an axum router in the process, as a server's worker
/// runs it (no socket): a plain router, or one under `HttpServerLayer`.
pub mod server_requests {
    use std::net::SocketAddr;

    use axum::Router;
    use axum::body::Body;
    use axum::extract::{ConnectInfo, Path};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn item(Path(id): Path<u64>) -> String {
        super::work(id).to_string()
    }

    /// The router every request goes through; `layered`: under
    /// `HttpServerLayer`, one SERVER span a request. Its handlers are made
    /// into routes once, as `axum::serve` does.
    pub fn router(layered: bool) -> Router {
        let router = Router::new().route("/items/{id}", axum::routing::get(item));
        let router = if layered {
            router.layer(traced::integrations::HttpServerLayer::new())
        } else {
            router
        };
        router.with_state(())
    }

    /// One request as a client sends it, with the peer the server saw;
    /// its response read to the end.
    #[inline(never)]
    pub fn request(router: &Router, id: u64) -> usize {
        let mut request = http::Request::get(format!("/items/{id}"))
            .header(http::header::HOST, "127.0.0.1:8080")
            .header(http::header::USER_AGENT, "load/1.0")
            .body(Body::empty())
            .expect("a request");
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 50_000))));
        let response = super::ready(router.clone().oneshot(request)).expect("a response");
        let body = super::ready(response.into_body().collect()).expect("the body");
        body.to_bytes().len()
    }
}

/// `#[traced]`.
pub mod traced_fns {
    use traced::traced;

    #[traced]
    #[inline(never)]
    pub fn sync(x: u64) -> u64 {
        super::work(x)
    }

    #[traced]
    pub async fn run(x: u64) -> u64 {
        super::work(x)
    }

    #[traced]
    #[inline(never)]
    pub fn attrs(#[attr] x: u64, #[attr] name: &str, #[attr] flag: bool) -> u64 {
        super::work(x ^ name.len() as u64 ^ u64::from(flag))
    }

    #[traced(attrs(s = "hello", i = 42i64, flag = true))]
    #[inline(never)]
    pub fn literals(x: u64) -> u64 {
        super::work(x)
    }

    #[traced]
    #[inline(never)]
    pub fn numbers(#[attr] x: u64, #[attr] ratio: f64, #[attr] flag: bool) -> u64 {
        super::work(x ^ ratio.to_bits() ^ u64::from(flag))
    }
}

/// The same spans written by hand against the OpenTelemetry API, with a
/// tracer the caller keeps (the fastest way to use the SDK by hand).
pub mod sdk_fns {
    use super::*;
    use opentelemetry::context::FutureExt as _;
    use opentelemetry::global::BoxedTracer;

    fn start(
        tracer: &BoxedTracer,
        name: &'static str,
        function: &'static str,
        line: i64,
    ) -> Context {
        let span = tracer
            .span_builder(name)
            .with_kind(SpanKind::Internal)
            .with_attributes([
                KeyValue::new("code.function.name", function),
                KeyValue::new("code.file.path", file!()),
                KeyValue::new("code.line.number", line),
            ])
            .start(tracer);
        Context::current_with_span(span)
    }

    #[inline(never)]
    pub fn sync(tracer: &BoxedTracer, x: u64) -> u64 {
        let _attached = start(tracer, "sync", "traced_benches::sdk_fns::sync", 1).attach();
        work(x)
    }

    pub fn run(tracer: &BoxedTracer, x: u64) -> impl Future<Output = u64> + use<> {
        let cx = start(tracer, "run", "traced_benches::sdk_fns::run", 2);
        async move { work(x) }.with_context(cx)
    }

    #[inline(never)]
    pub fn attrs(tracer: &BoxedTracer, x: u64, name: &str, flag: bool) -> u64 {
        let cx = start(tracer, "attrs", "traced_benches::sdk_fns::attrs", 3);
        let span = cx.span();
        if span.is_recording() {
            span.set_attributes([
                KeyValue::new("x", x as i64),
                KeyValue::new("name", name.to_owned()),
                KeyValue::new("flag", flag),
            ]);
        }
        let _attached = cx.attach();
        work(x ^ name.len() as u64 ^ u64::from(flag))
    }

    /// Three constant attributes, given to the builder with the `code.*`
    /// ones (what a hand-written program would do with constants).
    #[inline(never)]
    pub fn literals(tracer: &BoxedTracer, x: u64) -> u64 {
        let span = tracer
            .span_builder("literals")
            .with_kind(SpanKind::Internal)
            .with_attributes([
                KeyValue::new("code.function.name", "traced_benches::sdk_fns::literals"),
                KeyValue::new("code.file.path", file!()),
                KeyValue::new("code.line.number", 4_i64),
                KeyValue::new("s", "hello"),
                KeyValue::new("i", 42_i64),
                KeyValue::new("flag", true),
            ])
            .start(tracer);
        let _attached = Context::current_with_span(span).attach();
        work(x)
    }

    /// The tracer a hand-written program would keep for these spans.
    pub fn tracer() -> BoxedTracer {
        global::tracer_with_scope(InstrumentationScope::builder("traced-benches").build())
    }
}

/// tracing's `#[instrument]`, exported through tracing-opentelemetry, or
/// recorded by traced's `tracing` layer (the library-span bridge).
pub mod tracing_fns {
    #[tracing::instrument(skip_all)]
    #[inline(never)]
    pub fn sync(x: u64) -> u64 {
        super::work(x)
    }

    #[tracing::instrument(skip_all)]
    pub async fn run(x: u64) -> u64 {
        super::work(x)
    }

    #[tracing::instrument(skip_all, fields(x = x, name = name, flag = flag))]
    #[inline(never)]
    pub fn attrs(x: u64, name: &str, flag: bool) -> u64 {
        super::work(x ^ name.len() as u64 ^ u64::from(flag))
    }

    #[tracing::instrument(skip_all, fields(s = "hello", i = 42_i64, flag = true))]
    #[inline(never)]
    pub fn literals(x: u64) -> u64 {
        super::work(x)
    }

    /// A `debug` span, which traced's default library-span filter (`info`)
    /// leaves out.
    #[tracing::instrument(level = "debug", skip_all)]
    #[inline(never)]
    pub fn debug(x: u64) -> u64 {
        super::work(x)
    }
}

/// fastrace's `#[trace]`.
pub mod fastrace_fns {
    #[fastrace::trace]
    #[inline(never)]
    pub fn sync(x: u64) -> u64 {
        super::work(x)
    }

    #[fastrace::trace]
    pub async fn run(x: u64) -> u64 {
        super::work(x)
    }

    #[fastrace::trace(properties = { "x": "{x}", "name": "{name}", "flag": "{flag}" })]
    #[inline(never)]
    pub fn attrs(x: u64, name: &str, flag: bool) -> u64 {
        super::work(x ^ name.len() as u64 ^ u64::from(flag))
    }

    #[fastrace::trace(properties = { "s": "hello", "i": "42", "flag": "true" })]
    #[inline(never)]
    pub fn literals(x: u64) -> u64 {
        super::work(x)
    }
}

/// A span exporter that counts what reaches it and lets it go: the pipeline's
/// cost without the network's.
#[derive(Clone, Debug, Default)]
pub struct CountingExporter {
    exported: Arc<AtomicU64>,
}

impl CountingExporter {
    pub fn exported(&self) -> u64 {
        self.exported.load(Ordering::Relaxed)
    }
}

impl SpanExporter for CountingExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.exported
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        drop(black_box(batch));
        Ok(())
    }
}

/// The same for fastrace's collector.
#[derive(Clone, Debug, Default)]
pub struct CountingReporter {
    reported: Arc<AtomicU64>,
}

impl CountingReporter {
    pub fn reported(&self) -> u64 {
        self.reported.load(Ordering::Relaxed)
    }
}

impl fastrace::collector::Reporter for CountingReporter {
    fn report(&mut self, spans: Vec<fastrace::collector::SpanRecord>) {
        self.reported
            .fetch_add(spans.len() as u64, Ordering::Relaxed);
        drop(black_box(spans));
    }
}

/// Queue size for the recorded benchmarks: large enough that no span is
/// dropped while the export thread catches up (drops are counted and shown).
pub const QUEUE: usize = 1 << 18;

/// An SDK provider with a batch processor to `exporter` and a queue of
/// `QUEUE`: the pipeline `traced::init()` installs, with the network left out.
/// Install it with `opentelemetry::global::set_tracer_provider` for
/// `#[traced]`, or hand it to a tracing layer.
pub fn sdk_batch_provider(exporter: CountingExporter, sampler: Sampler) -> SdkTracerProvider {
    batch_provider(exporter, sampler, QUEUE)
}

/// An SDK provider with a batch processor to `exporter`, holding at most
/// `max_queue_size` spans; `traced::init()` builds the same, with the
/// `OTEL_BSP_*` settings.
pub fn batch_provider<E: SpanExporter + 'static>(
    exporter: E,
    sampler: Sampler,
    max_queue_size: usize,
) -> SdkTracerProvider {
    let processor = BatchSpanProcessor::builder(exporter)
        .with_batch_config(
            BatchConfigBuilder::default()
                .with_max_queue_size(max_queue_size)
                .with_max_export_batch_size(512)
                .with_scheduled_delay(Duration::from_millis(200))
                .build(),
        )
        .build();
    SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_sampler(sampler)
        .build()
}

/// `traced::init()` as a service runs it (the native pipeline, the default
/// parent-based always-on sampling when `OTEL_TRACES_SAMPLER` is unset),
/// exporting to `exporter` instead of the network.
pub fn init_recording(exporter: CountingExporter) -> traced::TracingGuard {
    traced::Config::new()
        .span_exporter(exporter)
        .init()
        .expect("init with a counting exporter")
}

/// [`init_recording`] with the RED metrics on: every span measured on the
/// export thread, and the metrics sent over OTLP/HTTP every second to
/// [`metrics_sink`], a local endpoint that takes and drops them.
pub fn init_recording_with_metrics(exporter: CountingExporter) -> traced::TracingGuard {
    traced::Config::new()
        .exporter(traced::Exporter::None)
        .span_exporter(exporter)
        .metrics_exporter(traced::Exporter::Otlp)
        .otlp_endpoint(metrics_sink())
        .otlp_protocol(traced::Protocol::HttpProtobuf)
        .metrics_export_interval(Duration::from_secs(1))
        .init()
        .expect("init with metrics")
}

/// An OTLP/HTTP endpoint on loopback that answers every request with
/// `200 OK` and keeps nothing: the metrics' cost without the collector's.
/// `traced::init()`'s pipeline as a service runs it: spans and metrics over
/// OTLP/HTTP, here to a local endpoint that answers `200 OK` and keeps
/// nothing ([`metrics_sink`]).
pub fn init_otlp() -> traced::TracingGuard {
    traced::Config::new()
        .exporter(traced::Exporter::Otlp)
        .otlp_endpoint(metrics_sink())
        .otlp_protocol(traced::Protocol::HttpProtobuf)
        .metrics_export_interval(Duration::from_secs(1))
        .init()
        .expect("init over OTLP")
}

pub fn metrics_sink() -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding the metrics sink");
    let address = listener.local_addr().expect("its address");
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream);
                loop {
                    let mut length = 0;
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        let line = line.trim_end();
                        if line.is_empty() {
                            break;
                        }
                        if let Some((name, value)) = line.split_once(':')
                            && name.eq_ignore_ascii_case("content-length")
                        {
                            length = value.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
                    if reader.get_mut().write_all(answer).is_err() {
                        return;
                    }
                }
            });
        }
    });
    format!("http://{address}")
}

/// [`init_recording`] with tail sampling on, keeping `ratio` of the traces
/// (none of the benchmarked spans fails or is slow).
pub fn init_tail_sampling(exporter: CountingExporter, ratio: f64) -> traced::TracingGuard {
    traced::Config::new()
        .span_exporter(exporter)
        .tail_sampling(traced::TailSampling::new().ratio(ratio))
        .init()
        .expect("init with tail sampling")
}

/// `traced::init()` with `sampler` and no exporter: the provider a service
/// gets, for spans that are sampled out and never reach an exporter anyway.
pub fn init_with_sampler(sampler: Sampler) -> traced::TracingGuard {
    traced::Config::new()
        .exporter(traced::Exporter::None)
        .sampler(sampler)
        .init()
        .expect("init with exporter none")
}

/// An SDK provider whose spans are made and then dropped: no processor.
pub fn sdk_bare_provider(sampler: Sampler) -> SdkTracerProvider {
    SdkTracerProvider::builder().with_sampler(sampler).build()
}

/// The subscriber `traced::init()` sets when none is: traced's `tracing`
/// layer alone, recording `tracing` spans through the native pipeline.
pub fn traced_subscriber() -> impl tracing::Subscriber + Send + Sync {
    use tracing_subscriber::layer::SubscriberExt as _;
    tracing_subscriber::registry().with(traced::tracing_layer())
}

/// A tracing subscriber exporting through tracing-opentelemetry to `provider`.
pub fn tracing_subscriber_for(
    provider: &SdkTracerProvider,
) -> impl tracing::Subscriber + Send + Sync {
    use tracing_subscriber::layer::SubscriberExt as _;
    let tracer = provider.tracer("traced-benches");
    tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(tracer))
}

/// A context whose span is remote and not sampled: what an incoming request
/// with `traceparent: ..-00` looks like.
pub fn unsampled_parent() -> Context {
    use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
    Context::new().with_remote_span_context(SpanContext::new(
        TraceId::from(0x0af7_6519_16cd_43dd_8448_eb21_1c80_319c_u128),
        SpanId::from(0xb7ad_6b71_6920_3331_u64),
        TraceFlags::default(),
        true,
        TraceState::default(),
    ))
}

/// Removes any provider from the global slot.
pub fn uninstall() {
    global::set_tracer_provider(opentelemetry::trace::noop::NoopTracerProvider::new());
}

/// CPU time the calling thread has used, in nanoseconds of the scheduler's
/// own accounting (`/proc/thread-self/schedstat`).
pub fn thread_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").expect("read schedstat");
    let nanos: u64 = stat
        .split_whitespace()
        .next()
        .and_then(|field| field.parse().ok())
        .expect("schedstat format");
    Duration::from_nanos(nanos)
}

/// Total CPU time (user + system, every thread) this process has used.
pub fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("read /proc/self/stat");
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')').expect("stat format") + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let ticks: u64 =
        fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    // The kernel reports in USER_HZ, 100 on Linux.
    Duration::from_millis(ticks * 10)
}

/// A memory field of `/proc/self/status` (`VmRSS:`, `VmHWM:`), in KiB.
pub fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|value| value.trim().trim_end_matches(" kB").trim().parse().ok())
        .expect("a memory field of /proc/self/status")
}
