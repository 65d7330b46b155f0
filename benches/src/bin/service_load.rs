//! A real service under load: an axum service whose handler calls one sync
//! and one async function (four spans a request with the server span), run
//! three ways, each in its own process, against a load generator with a fixed
//! number of connections for a fixed time, exporting over OTLP/HTTP to rotel:
//!
//! - `plain`: no instrumentation;
//! - `traced`: `traced::init()`, `HttpServerLayer`, `#[traced]` functions;
//! - `tracing`: `#[instrument]` functions, tower-http's `TraceLayer`,
//!   tracing-opentelemetry over the SDK's batch processor and
//!   opentelemetry-otlp's HTTP exporter (their defaults).
//!
//! Rounds interleave the three services. Each prints requests per second,
//! the service's CPU per request (per thread from
//! `/proc/self/task/*/schedstat`, split into request workers, the export
//! thread, the OTLP exporter's threads and the rest), the collector's CPU per
//! request, and the spans delivered against the spans made; a summary gives
//! the medians.
//!
//! ```text
//! service_load [--quick] [--rounds N] [--seconds S] [--connections C] [--grpc]
//! ```
//!
//! `--grpc` sends traced's spans over OTLP/gRPC instead (the other two
//! services stay on OTLP/HTTP).
//!
//! `--quick` is one short round (a check that it runs, no figures to keep).
//! The service runs as `service_load --serve VARIANT ENDPOINT`, told when to
//! start and stop counting over its standard input.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use traced_peers::Collector;

/// The three services, in the order each round runs them.
const VARIANTS: [&str; 3] = ["plain", "traced", "tracing"];

/// Spans a request makes when instrumented: server, handler, sync, async.
const SPANS_PER_REQUEST: u64 = 4;

/// The request every connection sends.
const PATH: &str = "/items/42";

/// The functions a request runs, as each service instruments them.
mod handlers {
    use std::hint::black_box;

    /// What the functions do: a little work, so the service is not only
    /// instrumentation.
    fn work(id: u64) -> u64 {
        (0..64).fold(black_box(id), |acc, n| {
            acc.wrapping_mul(31).rotate_left(7) ^ n
        })
    }

    pub(crate) mod plain {
        use axum::extract::Path;

        fn price(id: u64) -> u64 {
            super::work(id)
        }

        async fn stock(id: u64) -> u64 {
            tokio::task::yield_now().await;
            super::work(id ^ 1)
        }

        pub(crate) async fn item(Path(id): Path<u64>) -> String {
            crate::counted();
            let price = price(id);
            let stock = stock(id).await;
            format!("{id}: {price} {stock}")
        }
    }

    pub(crate) mod traced_fns {
        use axum::extract::Path;
        use traced::traced;

        #[traced]
        fn price(id: u64) -> u64 {
            super::work(id)
        }

        #[traced]
        async fn stock(id: u64) -> u64 {
            tokio::task::yield_now().await;
            super::work(id ^ 1)
        }

        #[traced]
        pub(crate) async fn item(Path(id): Path<u64>) -> String {
            crate::counted();
            let price = price(id);
            let stock = stock(id).await;
            format!("{id}: {price} {stock}")
        }
    }

    pub(crate) mod tracing_fns {
        use axum::extract::Path;
        use tracing::instrument;

        #[instrument]
        fn price(id: u64) -> u64 {
            super::work(id)
        }

        #[instrument]
        async fn stock(id: u64) -> u64 {
            tokio::task::yield_now().await;
            super::work(id ^ 1)
        }

        #[instrument]
        pub(crate) async fn item(Path(id): Path<u64>) -> String {
            crate::counted();
            let price = price(id);
            let stock = stock(id).await;
            format!("{id}: {price} {stock}")
        }
    }
}

/// Requests the service's handler ran.
static REQUESTS: AtomicU64 = AtomicU64::new(0);

fn counted() {
    REQUESTS.fetch_add(1, Ordering::Relaxed);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--serve") {
        let variant = args.get(1).expect("--serve VARIANT ENDPOINT [grpc]");
        let endpoint = args.get(2).expect("--serve VARIANT ENDPOINT [grpc]");
        let grpc = args.get(3).is_some_and(|protocol| protocol == "grpc");
        serve(variant, endpoint, grpc);
    } else {
        drive(&Options::parse(&args));
    }
}

/// What the driver was asked for.
#[derive(Debug)]
struct Options {
    rounds: usize,
    seconds: f64,
    warm_up: f64,
    connections: usize,
    /// traced's spans over OTLP/gRPC.
    grpc: bool,
}

impl Options {
    fn parse(args: &[String]) -> Options {
        let mut options = Options {
            rounds: 3,
            seconds: 10.0,
            warm_up: 2.0,
            connections: 32,
            grpc: false,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut value = |name: &str| -> f64 {
                args.next()
                    .and_then(|value| value.parse().ok())
                    .unwrap_or_else(|| panic!("{name} takes a number"))
            };
            match arg.as_str() {
                "--quick" => {
                    options.rounds = 1;
                    options.seconds = 1.0;
                    options.warm_up = 0.3;
                }
                "--rounds" => options.rounds = value("--rounds") as usize,
                "--seconds" => options.seconds = value("--seconds"),
                "--connections" => options.connections = value("--connections") as usize,
                "--grpc" => options.grpc = true,
                other => panic!(
                    "unknown argument {other}: service_load [--quick] [--rounds N] [--seconds S] \
                     [--connections C] [--grpc]"
                ),
            }
        }
        options
    }
}

// ---------------------------------------------------------------- the service

/// Runs one service until its standard input says `stop`, then prints its
/// measurement as `key=value` pairs on one line.
fn serve(variant: &str, endpoint: &str, grpc: bool) {
    let instrumentation = Instrumentation::install(variant, endpoint, grpc);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("service-worker")
        .enable_all()
        .build()
        .expect("the service's runtime");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let port = listener.local_addr().expect("address").port();
    let router = match variant {
        "plain" => {
            axum::Router::new().route("/items/{id}", axum::routing::get(handlers::plain::item))
        }
        "traced" => axum::Router::new()
            .route(
                "/items/{id}",
                axum::routing::get(handlers::traced_fns::item),
            )
            .layer(traced::integrations::HttpServerLayer::new()),
        "tracing" => axum::Router::new()
            .route(
                "/items/{id}",
                axum::routing::get(handlers::tracing_fns::item),
            )
            .layer(tower_http::trace::TraceLayer::new_for_http()),
        other => panic!("unknown variant {other}"),
    };
    runtime.spawn(async move { axum::serve(listener, router).await.expect("serving") });
    let mut out = std::io::stdout().lock();
    writeln!(out, "port={port}").expect("stdout");
    out.flush().expect("stdout");

    let mut lines = std::io::stdin().lock().lines();
    let mut expect = |word: &str| {
        let line = lines
            .next()
            .expect("the driver's next word")
            .expect("stdin");
        assert_eq!(line, word, "the driver says {word} next");
    };
    expect("start");
    let cpu_before = thread_cpu();
    let requests_before = REQUESTS.load(Ordering::Relaxed);
    writeln!(out, "started").expect("stdout");
    out.flush().expect("stdout");
    expect("stop");
    let requests = REQUESTS.load(Ordering::Relaxed) - requests_before;
    // What the window's spans cost to export is part of the window.
    instrumentation.flush();
    let cpu = cpu_split(&cpu_before, &thread_cpu());
    let made = REQUESTS.load(Ordering::Relaxed) * spans_per_request(variant);
    let delivered = instrumentation.delivered();
    drop(runtime);
    let mut line = format!("requests={requests} made={made} delivered={delivered}");
    for (group, time) in cpu {
        line.push_str(&format!(" cpu.{group}={}", time.as_nanos()));
    }
    writeln!(out, "{line}").expect("stdout");
    out.flush().expect("stdout");
    instrumentation.shut_down();
}

fn spans_per_request(variant: &str) -> u64 {
    if variant == "plain" {
        0
    } else {
        SPANS_PER_REQUEST
    }
}

/// What a service installed to export its spans.
enum Instrumentation {
    None,
    Traced(traced::TracingGuard),
    Tracing {
        provider: opentelemetry_sdk::trace::SdkTracerProvider,
        delivered: Arc<AtomicU64>,
    },
}

impl Instrumentation {
    fn install(variant: &str, endpoint: &str, grpc: bool) -> Instrumentation {
        match variant {
            "plain" => Instrumentation::None,
            "traced" => Instrumentation::Traced(
                traced::Config::new()
                    .service_name("service-load")
                    .exporter(traced::Exporter::Otlp)
                    .otlp_endpoint(endpoint)
                    .otlp_protocol(if grpc {
                        traced::Protocol::Grpc
                    } else {
                        traced::Protocol::HttpProtobuf
                    })
                    .init()
                    .expect("init"),
            ),
            "tracing" => {
                use opentelemetry::trace::TracerProvider as _;
                use opentelemetry_otlp::WithExportConfig as _;
                use tracing_subscriber::layer::SubscriberExt as _;

                let exporter = opentelemetry_otlp::SpanExporter::builder()
                    .with_http()
                    .with_endpoint(format!("{endpoint}/v1/traces"))
                    .build()
                    .expect("the OTLP exporter");
                let delivered = Arc::new(AtomicU64::new(0));
                let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
                    .with_resource(
                        opentelemetry_sdk::Resource::builder()
                            .with_service_name("service-load")
                            .build(),
                    )
                    .with_batch_exporter(Delivered {
                        inner: exporter,
                        delivered: Arc::clone(&delivered),
                    })
                    .build();
                let subscriber = tracing_subscriber::registry().with(
                    tracing_opentelemetry::layer().with_tracer(provider.tracer("service-load")),
                );
                tracing::subscriber::set_global_default(subscriber).expect("one subscriber");
                Instrumentation::Tracing {
                    provider,
                    delivered,
                }
            }
            other => panic!("unknown variant {other}"),
        }
    }

    fn flush(&self) {
        match self {
            Instrumentation::None => {}
            Instrumentation::Traced(guard) => guard.flush().expect("flush"),
            Instrumentation::Tracing { provider, .. } => {
                provider.force_flush().expect("flush");
            }
        }
    }

    /// Spans the collector accepted so far.
    fn delivered(&self) -> u64 {
        match self {
            Instrumentation::None => 0,
            Instrumentation::Traced(guard) => guard.delivery().map_or(0, |report| report.exported),
            Instrumentation::Tracing { delivered, .. } => delivered.load(Ordering::Relaxed),
        }
    }

    fn shut_down(self) {
        match self {
            Instrumentation::None => {}
            Instrumentation::Traced(guard) => drop(guard),
            Instrumentation::Tracing { provider, .. } => {
                let _ = provider.shutdown();
            }
        }
    }
}

/// An SDK span exporter counting the spans of the exports that succeeded.
#[derive(Debug)]
struct Delivered<E> {
    inner: E,
    delivered: Arc<AtomicU64>,
}

impl<E: opentelemetry_sdk::trace::SpanExporter> opentelemetry_sdk::trace::SpanExporter
    for Delivered<E>
{
    async fn export(
        &self,
        batch: Vec<opentelemetry_sdk::trace::SpanData>,
    ) -> opentelemetry_sdk::error::OTelSdkResult {
        let spans = batch.len() as u64;
        let result = self.inner.export(batch).await;
        if result.is_ok() {
            self.delivered.fetch_add(spans, Ordering::Relaxed);
        }
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> opentelemetry_sdk::error::OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        self.inner.set_resource(resource);
    }
}

/// CPU time of each live thread of this process, by thread id, with its name.
fn thread_cpu() -> BTreeMap<u64, (String, Duration)> {
    let mut threads = BTreeMap::new();
    for task in std::fs::read_dir("/proc/self/task").expect("/proc/self/task") {
        let task = task.expect("a task");
        let Ok(tid) = task.file_name().to_string_lossy().parse::<u64>() else {
            continue;
        };
        // A thread that ended meanwhile has no files left.
        let Ok(schedstat) = std::fs::read_to_string(task.path().join("schedstat")) else {
            continue;
        };
        let Ok(name) = std::fs::read_to_string(task.path().join("comm")) else {
            continue;
        };
        let nanos: u64 = schedstat
            .split_whitespace()
            .next()
            .and_then(|field| field.parse().ok())
            .expect("schedstat starts with the time on CPU in ns");
        threads.insert(tid, (name.trim().to_owned(), Duration::from_nanos(nanos)));
    }
    threads
}

/// Which part of the service a thread is, by its name.
fn thread_group(name: &str) -> &'static str {
    match name {
        "service-worker" => "workers",
        // traced's export thread; the SDK's batch span processor
        "traced-export" => "export",
        name if name.starts_with("OpenTelemetry") => "export",
        // traced's OTLP runtime; opentelemetry-otlp's blocking reqwest client
        "traced-otlp" => "otlp",
        name if name.starts_with("reqwest") => "otlp",
        _ => "other",
    }
}

/// CPU used between two readings, summed by [`thread_group`].
fn cpu_split(
    before: &BTreeMap<u64, (String, Duration)>,
    after: &BTreeMap<u64, (String, Duration)>,
) -> BTreeMap<&'static str, Duration> {
    let mut groups: BTreeMap<&'static str, Duration> = ["workers", "export", "otlp", "other"]
        .into_iter()
        .map(|group| (group, Duration::ZERO))
        .collect();
    for (tid, (name, time)) in after {
        let earlier = before.get(tid).map_or(Duration::ZERO, |(_, time)| *time);
        *groups.entry(thread_group(name)).or_default() += time.saturating_sub(earlier);
    }
    groups
}

// ----------------------------------------------------------------- the driver

/// One service's run: what it served and what it cost.
#[derive(Debug, Clone)]
struct Run {
    variant: &'static str,
    rate: f64,
    /// Service CPU by thread group, in ns per request.
    cpu: BTreeMap<String, f64>,
    collector_ns: f64,
    made: u64,
    delivered: u64,
}

impl Run {
    fn service_ns(&self) -> f64 {
        self.cpu.values().sum()
    }
}

fn drive(options: &Options) {
    let collector = Collector::start_quiet();
    let endpoint = collector.http_endpoint();
    let collector_pid = collector.pid().expect("the collector runs");
    println!(
        "service_load: {} connections, {} s per run (after {} s warm-up), {} rounds; OTLP/HTTP to \
         rotel at {endpoint}{}",
        options.connections,
        options.seconds,
        options.warm_up,
        options.rounds,
        if options.grpc {
            " (traced over OTLP/gRPC)"
        } else {
            ""
        }
    );
    let mut runs = Vec::new();
    for round in 1..=options.rounds {
        for variant in VARIANTS {
            let run = run_once(variant, &collector, collector_pid, options);
            println!(
                "round {round} {variant:>7}: {:>8.0} req/s, service {:>6.2} µs/req ({}), \
                 collector {:>5.2} µs/req, spans delivered {}/{}",
                run.rate,
                run.service_ns() / 1000.0,
                run.cpu
                    .iter()
                    .map(|(group, ns)| format!("{group} {:.2}", ns / 1000.0))
                    .collect::<Vec<_>>()
                    .join(", "),
                run.collector_ns / 1000.0,
                run.delivered,
                run.made,
            );
            runs.push(run);
        }
    }
    summary(&runs);
    drop(collector);
}

fn run_once(
    variant: &'static str,
    collector: &Collector,
    collector_pid: u32,
    options: &Options,
) -> Run {
    let grpc = options.grpc && variant == "traced";
    let endpoint = if grpc {
        collector.grpc_endpoint()
    } else {
        collector.http_endpoint()
    };
    let mut child = Command::new(std::env::current_exe().expect("this program"))
        .args(["--serve", variant, &endpoint])
        .args(grpc.then_some("grpc"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("starting the service");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut read_line = || {
        let mut line = String::new();
        stdout.read_line(&mut line).expect("the service's output");
        line.trim().to_owned()
    };
    let port: u16 = read_line()
        .strip_prefix("port=")
        .and_then(|port| port.parse().ok())
        .expect("the service says its port");
    let load = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("the load generator's runtime");
    load.block_on(generate_load(port, options.connections, options.warm_up));
    writeln!(stdin, "start").expect("telling the service");
    assert_eq!(read_line(), "started");
    let collector_before = process_cpu(collector_pid);
    let started = Instant::now();
    let requests = load.block_on(generate_load(port, options.connections, options.seconds));
    let elapsed = started.elapsed();
    writeln!(stdin, "stop").expect("telling the service");
    let report = read_line();
    let collector = process_cpu(collector_pid).saturating_sub(collector_before);
    drop(stdin);
    let status = child.wait().expect("the service's exit");
    assert!(status.success(), "the {variant} service failed: {status}");

    let fields: BTreeMap<&str, u64> = report
        .split_whitespace()
        .filter_map(|pair| pair.split_once('='))
        .map(|(key, value)| (key, value.parse().expect("a number")))
        .collect();
    let served = fields["requests"];
    assert!(
        served >= requests,
        "the service served {served} of the {requests} answered requests"
    );
    let per_request = |nanos: u64| nanos as f64 / served.max(1) as f64;
    Run {
        variant,
        rate: requests as f64 / elapsed.as_secs_f64(),
        cpu: fields
            .iter()
            .filter_map(|(key, value)| {
                Some((key.strip_prefix("cpu.")?.to_owned(), per_request(*value)))
            })
            .collect(),
        collector_ns: per_request(collector.as_nanos() as u64),
        made: fields["made"],
        delivered: fields["delivered"],
    }
}

/// Keeps `connections` HTTP/1.1 connections busy for `seconds`, one request
/// at a time each; returns the requests answered with 200.
async fn generate_load(port: u16, connections: usize, seconds: f64) -> u64 {
    let deadline = tokio::time::Instant::now() + Duration::from_secs_f64(seconds);
    let answered = Arc::new(AtomicU64::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..connections {
        let answered = Arc::clone(&answered);
        tasks.spawn(async move {
            use http_body_util::BodyExt as _;

            let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .expect("connecting to the service");
            stream.set_nodelay(true).expect("nodelay");
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                    .await
                    .expect("HTTP/1.1 handshake");
            let connection = tokio::spawn(connection);
            while tokio::time::Instant::now() < deadline {
                let request = hyper::Request::get(PATH)
                    .header(hyper::header::HOST, "127.0.0.1")
                    .body(http_body_util::Empty::<hyper::body::Bytes>::new())
                    .expect("a request");
                let response = sender.send_request(request).await.expect("a response");
                let ok = response.status() == hyper::StatusCode::OK;
                response.into_body().collect().await.expect("the body");
                if ok {
                    answered.fetch_add(1, Ordering::Relaxed);
                }
            }
            drop(sender);
            let _ = connection.await;
        });
    }
    while let Some(task) = tasks.join_next().await {
        task.expect("a connection");
    }
    answered.load(Ordering::Relaxed)
}

/// A process's CPU time (user + system, every thread) from `/proc/PID/stat`.
fn process_cpu(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command's closing parenthesis, from the state on.
    let Some((_, fields)) = stat.rsplit_once(')') else {
        return Duration::ZERO;
    };
    let fields: Vec<&str> = fields.split_whitespace().collect();
    let ticks = |index: usize| fields.get(index).and_then(|f| f.parse::<u64>().ok());
    let (Some(user), Some(system)) = (ticks(11), ticks(12)) else {
        return Duration::ZERO;
    };
    // Clock ticks of USER_HZ, which is 100 on Linux.
    Duration::from_millis((user + system) * 10)
}

fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.collect();
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// Medians over the rounds, and each instrumentation against `plain`.
fn summary(runs: &[Run]) {
    let of = |variant: &'static str| runs.iter().filter(move |run| run.variant == variant);
    let plain_rate = median(of("plain").map(|run| run.rate));
    let plain_ns = median(of("plain").map(Run::service_ns));
    println!();
    println!(
        "| service | req/s | throughput kept | service CPU µs/req | added µs/req | workers | export \
         thread | OTLP threads | other | collector µs/req | spans delivered / made |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for variant in VARIANTS {
        let rate = median(of(variant).map(|run| run.rate));
        let service = median(of(variant).map(Run::service_ns));
        let group = |name: &str| {
            median(of(variant).map(|run| run.cpu.get(name).copied().unwrap_or(0.0))) / 1000.0
        };
        let made: u64 = of(variant).map(|run| run.made).sum();
        let delivered: u64 = of(variant).map(|run| run.delivered).sum();
        let delivery = if made == 0 {
            "-".to_owned()
        } else {
            format!(
                "{delivered} / {made} ({:.2} % lost)",
                (made - delivered.min(made)) as f64 * 100.0 / made as f64
            )
        };
        println!(
            "| {variant} | {rate:.0} | {:.0} % | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | \
             {:.2} | {delivery} |",
            rate * 100.0 / plain_rate,
            service / 1000.0,
            (service - plain_ns) / 1000.0,
            group("workers"),
            group("export"),
            group("otlp"),
            group("other"),
            median(of(variant).map(|run| run.collector_ns)) / 1000.0,
        );
    }
    let traced_added = median(of("traced").map(Run::service_ns)) - plain_ns;
    let traced_export = median(of("traced").map(|run| {
        run.cpu.get("export").copied().unwrap_or(0.0) + run.cpu.get("otlp").copied().unwrap_or(0.0)
    }));
    println!();
    println!(
        "traced: {:.0} ns of added service CPU per span, {:.0} ns of export CPU per span \
         (export thread + OTLP threads)",
        traced_added / SPANS_PER_REQUEST as f64,
        traced_export / SPANS_PER_REQUEST as f64,
    );
}
