//! End to end over OTLP: a traced program's spans, read back from a real
//! collector (rotel) over gRPC and over HTTP/protobuf.
//!
//! `init()` installs a process-wide provider, so the tests of this binary take
//! turns.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use traced::opentelemetry::Context;
use traced::opentelemetry::trace::TraceContextExt;
use traced::{Compression, Config, Exporter, Protocol, traced};
use traced_peers::{Collector, ReceivedSpan};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

#[derive(Debug, thiserror::Error)]
#[error("article {0} not found")]
struct NotFound(u64);

#[traced(name = "warmup", root)]
fn warmup() -> Context {
    Context::current()
}

#[traced(kind = client, attrs(db.system.name = "postgresql", db.rows = 2_i64, cache.hit = false, ratio = 0.5, tags = vec!["a", "b"]))]
fn load(#[attr("article.id")] id: u64) -> Result<String, NotFound> {
    if id == 0 {
        return Err(NotFound(id));
    }
    Ok(format!("article {id}"))
}

#[traced(link = warm)]
fn render(warm: &Context, body: &str) -> usize {
    body.len()
}

#[traced(name = "GET /articles/{id}", kind = server)]
fn handle(#[attr] id: u64, warm: &Context) -> Result<usize, NotFound> {
    let _ = load(0);
    let body = load(id)?;
    Ok(render(warm, &body))
}

/// Runs the program and returns the trace id of the warm-up span.
fn traced_program() -> String {
    let warm = warmup();
    let warm_trace = warm.span().span_context().trace_id().to_string();
    handle(7, &warm).unwrap();
    warm_trace
}

fn by_name<'a>(spans: &'a [ReceivedSpan], name: &str) -> Vec<&'a ReceivedSpan> {
    spans.iter().filter(|span| span.name == name).collect()
}

fn check_program_spans(spans: &[ReceivedSpan], service: &str, warm_trace: &str) {
    let server = by_name(spans, "GET /articles/{id}");
    assert_eq!(server.len(), 1, "{spans:#?}");
    let server = server[0];
    let trace_id = &server.trace_id;
    assert_eq!(server.service_name, service);
    assert_eq!(server.scope_name, env!("CARGO_PKG_NAME"));
    assert_eq!(
        server.scope_version.as_deref(),
        Some(env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(server.kind, "SPAN_KIND_SERVER");
    assert_eq!(server.parent_id, None);
    assert_eq!(server.status_code, "STATUS_CODE_UNSET");
    assert_eq!(server.attribute("id"), Some("Int(7)"));
    assert!(
        server.attribute("code.function.name").is_some(),
        "{server:#?}"
    );
    assert!(
        server.resource_attribute("host.name").is_some(),
        "{server:#?}"
    );
    assert_eq!(
        server.resource_attribute("telemetry.sdk.language"),
        Some("Str(rust)")
    );

    let loads = by_name(spans, "load");
    assert_eq!(loads.len(), 2, "{spans:#?}");
    let failed = loads
        .iter()
        .find(|span| span.status_code == "STATUS_CODE_ERROR")
        .expect("failed load");
    let ok = loads
        .iter()
        .find(|span| span.status_code == "STATUS_CODE_UNSET")
        .expect("ok load");
    for load in [failed, ok] {
        assert_eq!(&load.trace_id, trace_id);
        assert_eq!(load.parent_id.as_ref(), Some(&server.span_id));
        assert_eq!(load.kind, "SPAN_KIND_CLIENT");
        assert_eq!(load.attribute("db.system.name"), Some("Str(postgresql)"));
        assert_eq!(load.attribute("db.rows"), Some("Int(2)"));
        assert_eq!(load.attribute("cache.hit"), Some("Bool(false)"));
        assert_eq!(load.attribute("ratio"), Some("Double(0.5)"));
        assert_eq!(load.attribute("tags"), Some("Slice(Str(a), Str(b))"));
    }
    assert_eq!(failed.attribute("article.id"), Some("Int(0)"));
    assert_eq!(ok.attribute("article.id"), Some("Int(7)"));
    assert_eq!(failed.status_message, "article 0 not found");
    assert_eq!(failed.events.len(), 1, "{failed:#?}");
    assert_eq!(failed.events[0].name, "exception");
    assert_eq!(
        failed.events[0].attribute("exception.message"),
        Some("Str(article 0 not found)")
    );
    assert!(ok.events.is_empty());

    let render = by_name(spans, "render");
    assert_eq!(render.len(), 1, "{spans:#?}");
    let render = render[0];
    assert_eq!(render.parent_id.as_ref(), Some(&server.span_id));
    assert_eq!(render.kind, "SPAN_KIND_INTERNAL");
    let warm = by_name(spans, "warmup");
    assert_eq!(warm.len(), 1, "{spans:#?}");
    assert_eq!(warm[0].trace_id, warm_trace);
    assert_ne!(&warm[0].trace_id, trace_id);
    assert_eq!(render.links.len(), 1, "{render:#?}");
    assert_eq!(render.links[0].trace_id, warm[0].trace_id);
    assert_eq!(render.links[0].span_id, warm[0].span_id);
}

fn run_against(collector: &Collector, config: Config, service: &str) {
    let guard = config.service_name(service).init().expect("init");
    let warm_trace = traced_program();
    guard.shutdown().expect("every span delivered");
    let spans = collector.wait_for(Duration::from_secs(20), |spans| spans.len() >= 5);
    assert_eq!(spans.len(), 5, "{spans:#?}");
    check_program_spans(&spans, service, &warm_trace);
}

#[test]
fn grpc_end_to_end() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let collector = Collector::start();
    let config = Config::new()
        .otlp_endpoint(collector.grpc_endpoint())
        .otlp_protocol(Protocol::Grpc)
        .otlp_header("x-tenant", "blue")
        .otlp_compression(Compression::Gzip);
    run_against(&collector, config, "articles-grpc");
}

#[test]
fn http_end_to_end() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let collector = Collector::start();
    let config = Config::new()
        .exporter(Exporter::Otlp)
        .otlp_endpoint(collector.http_endpoint())
        .otlp_protocol(Protocol::HttpProtobuf)
        .otlp_compression(Compression::Gzip)
        .resource_attribute("deployment.environment.name", "test");
    run_against(&collector, config, "articles-http");
    let spans = collector.spans();
    assert_eq!(
        spans[0].resource_attribute("deployment.environment.name"),
        Some("Str(test)")
    );
}

#[traced]
fn unit_of_work(worker: usize, n: usize) -> usize {
    worker * n
}

#[test]
fn ten_thousand_spans_across_threads_all_arrive() {
    const THREADS: usize = 8;
    const PER_THREAD: usize = 1250;
    const TOTAL: usize = THREADS * PER_THREAD;
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let collector = Collector::start();
    let guard = Config::new()
        .otlp_endpoint(collector.grpc_endpoint())
        .otlp_protocol(Protocol::Grpc)
        .max_queue_size(TOTAL)
        .service_name("bulk")
        .shutdown_timeout(Duration::from_secs(30))
        .init()
        .expect("init");
    let started = Instant::now();
    std::thread::scope(|scope| {
        for worker in 0..THREADS {
            scope.spawn(move || {
                for n in 0..PER_THREAD {
                    unit_of_work(worker, n);
                }
            });
        }
    });
    let report = guard.delivery().expect("OTLP reports delivery");
    assert_eq!(report.ended, TOTAL as u64);
    drop(guard);
    let flushed = started.elapsed();
    let spans = collector.wait_for(Duration::from_secs(60), |spans| spans.len() >= TOTAL);
    eprintln!(
        "{TOTAL} spans from {THREADS} threads: ended and flushed in {flushed:?}, all read back from the collector after {:?}",
        started.elapsed()
    );
    assert_eq!(spans.len(), TOTAL);
    let mut ids: Vec<&str> = spans.iter().map(|span| span.span_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), TOTAL, "every span arrives exactly once");
}

#[traced(kind = consumer)]
async fn consume(#[attr] message: u32) -> u32 {
    tokio::task::yield_now().await;
    message
}

/// The gRPC client runs on its own runtime, so a guard dropped inside a
/// single-threaded host runtime neither deadlocks nor loses spans.
#[test]
fn guard_dropped_inside_a_current_thread_runtime() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let collector = Collector::start();
    for protocol in [Protocol::Grpc, Protocol::HttpProtobuf] {
        let endpoint = match protocol {
            Protocol::Grpc => collector.grpc_endpoint(),
            _ => collector.http_endpoint(),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let guard = Config::new()
                .otlp_endpoint(endpoint)
                .otlp_protocol(protocol)
                .service_name("single-threaded")
                .init()
                .expect("init");
            assert_eq!(consume(1).await, 1);
            drop(guard);
        });
    }
    let spans = collector.wait_for(Duration::from_secs(20), |spans| spans.len() >= 2);
    assert_eq!(spans.len(), 2, "{spans:#?}");
    assert!(
        spans
            .iter()
            .all(|span| span.name == "consume" && span.kind == "SPAN_KIND_CONSUMER")
    );
}
