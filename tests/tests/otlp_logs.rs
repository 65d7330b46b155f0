//! Log records and exception records over OTLP, read back from a real
//! collector (rotel) over gRPC and HTTP/protobuf, with the trace and span ids
//! of the span they were written in.
//!
//! `init()` installs process-wide state, so the tests of this binary take
//! turns.

use std::sync::Mutex;
use std::time::Duration;

use traced::{Config, ExceptionSignal, Protocol, ShutdownError, traced};
use traced_peers::{Collector, ReceivedLog, ReceivedSpan};
use traced_tests::child;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

#[traced]
fn reserve(item: &str) {
    tracing::info!(item, "reserving");
    log::warn!("only one {item} left");
    tracing::debug!("below the threshold");
}

#[traced]
async fn ship(order: u64) {
    tokio::task::yield_now().await;
    tracing::info!(order, "shipping");
}

fn program() {
    reserve("lamp");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async { traced::spawn(ship(7)).await.unwrap() });
}

fn span<'a>(spans: &'a [ReceivedSpan], name: &str) -> &'a ReceivedSpan {
    spans
        .iter()
        .find(|span| span.name == name)
        .unwrap_or_else(|| panic!("no span {name} in {spans:#?}"))
}

fn record<'a>(logs: &'a [ReceivedLog], message: &str) -> &'a ReceivedLog {
    logs.iter()
        .find(|record| record.message() == message)
        .unwrap_or_else(|| panic!("no record {message:?} in {logs:#?}"))
}

#[track_caller]
fn assert_written_in(record: &ReceivedLog, span: &ReceivedSpan) {
    assert_eq!(
        (&record.trace_id, &record.span_id),
        (&span.trace_id, &span.span_id),
        "{record:#?} not written in {span:#?}"
    );
}

fn logs_arrive_with_their_span(collector: &Collector, config: Config, service: &str) {
    let guard = config.service_name(service).init().expect("init");
    program();
    guard.shutdown().expect("everything delivered");
    let spans = collector.wait_for(Duration::from_secs(20), |spans| spans.len() >= 2);
    let logs = collector.wait_for_logs(Duration::from_secs(20), |logs| logs.len() >= 3);
    assert_eq!(
        logs.len(),
        3,
        "the debug record is below the threshold: {logs:#?}"
    );
    let (reserve, ship) = (span(&spans, "reserve"), span(&spans, "ship"));
    assert_ne!(reserve.trace_id, ship.trace_id);
    let reserving = record(&logs, "reserving");
    assert_written_in(reserving, reserve);
    assert_eq!(reserving.severity_text, "INFO");
    assert_eq!(reserving.attribute("item"), Some("Str(lamp)"));
    assert_eq!(reserving.service_name, service);
    let left = record(&logs, "only one lamp left");
    assert_written_in(left, reserve);
    assert_eq!(left.severity_text, "WARN");
    let shipping = record(&logs, "shipping");
    assert_written_in(shipping, ship);
    assert_eq!(shipping.attribute("order"), Some("Int(7)"));
}

#[test]
fn logs_over_grpc_carry_their_trace_and_span_ids() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let collector = Collector::start();
    let config = Config::new()
        .otlp_endpoint(collector.grpc_endpoint())
        .otlp_protocol(Protocol::Grpc);
    logs_arrive_with_their_span(&collector, config, "logs-grpc");
}

#[test]
fn logs_over_http_carry_their_trace_and_span_ids() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let collector = Collector::start();
    let config = Config::new()
        .otlp_endpoint(collector.http_endpoint())
        .otlp_protocol(Protocol::HttpProtobuf);
    logs_arrive_with_their_span(&collector, config, "logs-http");
}

#[derive(Debug, thiserror::Error)]
#[error("no lamp left in warehouse north")]
struct OutOfStock;

#[traced]
fn take_from_stock() -> Result<(), OutOfStock> {
    Err(OutOfStock)
}

#[traced]
fn print_label() {
    panic!("label printer jammed");
}

#[test]
fn exceptions_arrive_as_span_events_log_records_or_both() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let collector = Collector::start();
    let previous_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let signals = [
        ("events", ExceptionSignal::SpanEvent, true, false),
        ("logs", ExceptionSignal::Log, false, true),
        ("dup", ExceptionSignal::LogAndSpanEvent, true, true),
    ];
    for (service, signal, _, _) in signals {
        let guard = Config::new()
            .service_name(service)
            .otlp_endpoint(collector.grpc_endpoint())
            .otlp_protocol(Protocol::Grpc)
            .exception_signal(signal)
            .init()
            .expect("init");
        let _ = take_from_stock();
        let _ = std::panic::catch_unwind(print_label);
        guard.shutdown().expect("everything delivered");
    }
    std::panic::set_hook(previous_hook);
    let spans = collector.wait_for(Duration::from_secs(20), |spans| spans.len() >= 6);
    let logs = collector.wait_for_logs(Duration::from_secs(20), |logs| logs.len() >= 4);
    assert_eq!((spans.len(), logs.len()), (6, 4), "{spans:#?}\n{logs:#?}");
    for (service, _, as_event, as_log) in signals {
        for (name, type_name, message) in [
            (
                "take_from_stock",
                "otlp_logs::OutOfStock",
                "no lamp left in warehouse north",
            ),
            ("print_label", "panic", "label printer jammed"),
        ] {
            let span = spans
                .iter()
                .find(|span| span.service_name == service && span.name == name)
                .unwrap_or_else(|| panic!("no span {name} of {service}: {spans:#?}"));
            assert_eq!(span.status_code, "STATUS_CODE_ERROR");
            assert_eq!(span.status_message, message);
            assert_eq!(
                span.attribute("error.type"),
                Some(format!("Str({type_name})").as_str())
            );
            let events: Vec<_> = span
                .events
                .iter()
                .filter(|e| e.name == "exception")
                .collect();
            assert_eq!(events.len(), usize::from(as_event), "{service} {span:#?}");
            let records: Vec<_> = logs
                .iter()
                .filter(|record| record.span_id == span.span_id)
                .collect();
            assert_eq!(records.len(), usize::from(as_log), "{service} {logs:#?}");
            for record in records {
                assert_written_in(record, span);
                assert_eq!(record.service_name, service);
                assert_eq!(record.event_name, "exception");
                assert_eq!(record.severity_text, "ERROR");
                assert_eq!(record.message(), message);
                assert_eq!(
                    record.attribute("exception.type"),
                    Some(format!("Str({type_name})").as_str())
                );
                assert_eq!(
                    record.attribute("exception.message"),
                    Some(format!("Str({message})").as_str())
                );
            }
        }
    }
}

/// One traced function writing `lines` log lines at once.
#[traced]
fn burst(lines: usize) {
    for n in 0..lines {
        tracing::info!(n, "burst line");
    }
}

const BURST: usize = 10_000;

/// A burst of lines in one traced function reaches the collector whole, and
/// the delivery report says so.
fn a_burst_arrives_whole(protocol: Protocol) {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let collector = Collector::start();
    let endpoint = match protocol {
        Protocol::Grpc => collector.grpc_endpoint(),
        _ => collector.http_endpoint(),
    };
    let guard = Config::new()
        .service_name("burst")
        .otlp_endpoint(endpoint)
        .otlp_protocol(protocol)
        .init()
        .expect("init");
    burst(BURST);
    guard.flush().expect("flushed");
    let report = guard.delivery().expect("OTLP reports delivery");
    let logs = report.logs.clone().expect("log records go over OTLP");
    assert_eq!(
        (logs.emitted, logs.exported, logs.dropped),
        (BURST as u64, BURST as u64, 0),
        "{report}"
    );
    guard.shutdown().expect("everything delivered");
    let arrived = |logs: &[ReceivedLog]| {
        logs.iter()
            .filter(|record| record.message() == "burst line")
            .count()
    };
    let logs = collector.wait_for_logs(Duration::from_secs(60), |logs| arrived(logs) >= BURST);
    assert_eq!(arrived(&logs), BURST, "{protocol:?}");
    let spans = collector.wait_for(Duration::from_secs(20), |spans| !spans.is_empty());
    let burst = span(&spans, "burst");
    assert!(
        logs.iter()
            .filter(|record| record.message() == "burst line")
            .all(|record| record.span_id == burst.span_id)
    );
}

#[test]
fn repro_a_burst_of_ten_thousand_lines_arrives_whole_over_grpc() {
    a_burst_arrives_whole(Protocol::Grpc);
}

#[test]
fn repro_a_burst_of_ten_thousand_lines_arrives_whole_over_http() {
    a_burst_arrives_whole(Protocol::HttpProtobuf);
}

/// A "collector" that takes connections and never answers.
fn stalled_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("address"));
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    endpoint
}

#[test]
fn repro_log_records_past_the_pending_memory_are_dropped_counted_and_reported() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let guard = Config::new()
        .service_name("stalled")
        .otlp_endpoint(stalled_endpoint())
        .otlp_protocol(Protocol::HttpProtobuf)
        .otlp_timeout(Duration::from_millis(300))
        .max_pending_memory(256 * 1024)
        .shutdown_timeout(Duration::from_secs(10))
        .init()
        .expect("init");
    burst(BURST);
    let report = match guard.shutdown() {
        Err(ShutdownError::Undelivered(report)) => report,
        other => panic!("nothing can be delivered: {other:?}"),
    };
    let logs = report.logs.clone().expect("log records go over OTLP");
    assert_eq!(logs.emitted, BURST as u64, "{report}");
    assert_eq!(logs.exported, 0, "{report}");
    assert!(
        logs.dropped > 0 && logs.failed > 0,
        "over 256 KiB, records are dropped; those sent time out: {report}"
    );
    assert_eq!(logs.failed + logs.dropped, logs.emitted, "{report}");
    assert!(
        report
            .to_string()
            .contains(&format!("{BURST} of {BURST} log records not delivered")),
        "{report}"
    );
}

#[test]
fn repro_a_failed_log_export_is_reported_with_the_spans() {
    const NAME: &str = "repro_a_failed_log_export_is_reported_with_the_spans";
    if child::in_child() {
        let guard = Config::new()
            .service_name("logs-refused")
            .otlp_timeout(Duration::from_secs(2))
            .init()
            .expect("init");
        reserve("lamp");
        match guard.flush() {
            Err(ShutdownError::Exporter(error)) => {
                assert_eq!(error.signal(), traced::Signal::Logs, "{error}");
            }
            other => panic!("the log export failed: {other:?}"),
        }
        let report = match guard.shutdown() {
            Err(ShutdownError::Undelivered(report)) => report,
            other => panic!("the log records were not delivered: {other:?}"),
        };
        assert_eq!(
            (report.ended, report.exported),
            (1, 1),
            "the span arrived: {report}"
        );
        let logs = report.logs.clone().expect("log records go over OTLP");
        assert_eq!(
            (logs.emitted, logs.failed, logs.exported),
            (2, 2, 0),
            "{report}"
        );
        assert!(
            logs.last_error
                .as_deref()
                .is_some_and(|error| error.contains("Connection refused")),
            "{report}"
        );
        return;
    }
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let collector = Collector::start();
    let nobody = format!("http://127.0.0.1:{}", traced_peers::free_port());
    // Spans go to the collector; log records to a port nobody listens on.
    let output = child::rerun(
        NAME,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &collector.http_endpoint()),
            (
                "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
                &format!("{nobody}/v1/logs"),
            ),
        ],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    let failures: Vec<&str> = stderr
        .lines()
        .filter(|line| line.starts_with("traced: exporting logs to "))
        .collect();
    assert_eq!(failures.len(), 1, "the first failure, once: {stderr}");
    assert!(
        failures[0].starts_with(&format!(
            "traced: exporting logs to {nobody}/v1/logs failed: HTTP export failed: network \
             error: "
        )) && failures[0].contains("Connection refused"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "traced: spans go to {} over OTLP/HTTP; logs go to {nobody} over OTLP/HTTP",
            collector.http_endpoint()
        )),
        "{stderr}"
    );
    let spans = collector.wait_for(Duration::from_secs(20), |spans| !spans.is_empty());
    assert_eq!(span(&spans, "reserve").service_name, "logs-refused");
}
