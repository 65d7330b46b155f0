//! No span lost when a service is stopped: real server processes
//! (`src/bin/shutdown_service.rs`) under load, sent SIGTERM or SIGINT, read
//! back from a real collector.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use traced_peers::{Collector, ReceivedSpan, unwrap_typed};

const SIGINT: i32 = 2;
const SIGTERM: i32 = 15;

/// The service in `mode`, exporting to `collector` over OTLP/HTTP with a
/// queue large enough that nothing is dropped for want of room; its stdout
/// and the address it printed.
fn start(mode: &[&str], collector: &Collector) -> (Child, BufReader<ChildStdout>, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_shutdown_service"));
    for (key, _) in std::env::vars() {
        if key.starts_with("OTEL_") {
            command.env_remove(key);
        }
    }
    let mut child = command
        .args(mode)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", collector.http_endpoint())
        .env("OTEL_SERVICE_NAME", "stopped")
        .env("OTEL_BSP_MAX_QUEUE_SIZE", "1000000")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("starting shutdown_service");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut address = String::new();
    if !mode.contains(&"exit") {
        stdout.read_line(&mut address).expect("the address line");
    }
    (child, stdout, address.trim().to_owned())
}

fn signal(child: &Child, signal: i32) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status()
        .expect("running kill");
    assert!(status.success());
}

/// Waits for the child to end (it must, by itself).
fn ended(child: &mut Child) -> ExitStatus {
    child.wait().expect("waiting for the service")
}

/// The ids of the `handled` spans received.
fn handled_ids(spans: &[ReceivedSpan]) -> Vec<u64> {
    spans
        .iter()
        .filter(|span| span.name == "handled")
        .filter_map(|span| {
            let id = span.attribute("id")?;
            id.strip_prefix("Int(")?.strip_suffix(')')?.parse().ok()
        })
        .collect()
}

/// Clients sending requests as fast as they can until the server is gone;
/// the ids it answered are collected.
fn load(address: &str, clients: u64, runtime: &tokio::runtime::Runtime) -> Arc<Mutex<Vec<u64>>> {
    let answered = Arc::new(Mutex::new(Vec::new()));
    for client in 0..clients {
        let answered = Arc::clone(&answered);
        let address = address.to_owned();
        runtime.spawn(async move {
            let http = reqwest::Client::new();
            for n in 0.. {
                let id = client * 1_000_000 + n;
                match http.get(format!("http://{address}/work/{id}")).send().await {
                    Ok(response) if response.status().is_success() => {
                        answered.lock().unwrap().push(id);
                    }
                    _ => return,
                }
            }
        });
    }
    answered
}

/// A service with no signal code of its own, sent SIGTERM (then SIGINT) in
/// the middle of a load: every span that finished before the signal reaches
/// the collector, and the process ends as the signal's default action would.
#[test]
fn repro_a_service_without_signal_code_delivers_every_finished_span_on_sigterm_and_sigint() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for sent in [SIGTERM, SIGINT] {
        let collector = Collector::start();
        let (mut child, _stdout, address) = start(&["plain"], &collector);
        let answered = load(&address, 4, &runtime);
        // Let the load build up; how far is a count, never a time.
        let give_up = std::time::Instant::now() + Duration::from_secs(120);
        while answered.lock().unwrap().len() < 1000 {
            assert!(
                child.try_wait().unwrap().is_none(),
                "the service ended early"
            );
            assert!(
                std::time::Instant::now() < give_up,
                "the load never built up"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        let finished: BTreeSet<u64> = answered.lock().unwrap().iter().copied().collect();
        signal(&child, sent);
        let status = ended(&mut child);
        assert_eq!(
            status.signal(),
            Some(sent),
            "ended as the signal's default would: {status:?}"
        );
        let spans = collector.wait_for(Duration::from_secs(30), |spans| {
            let received: BTreeSet<u64> = handled_ids(spans).into_iter().collect();
            finished.is_subset(&received)
        });
        let received = handled_ids(&spans);
        let unique: BTreeSet<u64> = received.iter().copied().collect();
        let lost: Vec<&u64> = finished.difference(&unique).collect();
        eprintln!(
            "signal {sent}: {} requests answered before the signal, {} spans received, {} lost",
            finished.len(),
            unique.len(),
            lost.len()
        );
        assert!(
            lost.is_empty(),
            "{} of {} lost: {lost:?}",
            lost.len(),
            finished.len()
        );
        assert_eq!(unique.len(), received.len(), "no span arrives twice");
    }
}

/// A service that shuts down gracefully on the signal with
/// `traced::shutdown_signal()`: the requests in flight finish, and their
/// spans arrive too; the process ends by returning from `main`.
#[test]
fn a_graceful_shutdown_finishes_in_flight_requests_and_delivers_their_spans() {
    const IN_FLIGHT: u64 = 5;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let collector = Collector::start();
    let (mut child, mut stdout, address) = start(&["graceful"], &collector);
    let requests: Vec<_> = (0..IN_FLIGHT)
        .map(|id| {
            let url = format!("http://{address}/slow/{id}");
            runtime.spawn(async move {
                let response = reqwest::get(url).await.expect("an answer");
                (
                    response.status().as_u16(),
                    response.text().await.unwrap_or_default(),
                )
            })
        })
        .collect();
    let mut started = 0;
    let mut line = String::new();
    while started < IN_FLIGHT {
        line.clear();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "the service ended early"
        );
        started += u64::from(line.starts_with("started "));
    }
    signal(&child, SIGTERM);
    let answers: Vec<(u16, String)> = requests
        .into_iter()
        .map(|request| runtime.block_on(request).unwrap())
        .collect();
    let expected: Vec<(u16, String)> = (0..IN_FLIGHT).map(|id| (200, id.to_string())).collect();
    assert_eq!(answers, expected, "every request in flight was answered");
    let status = ended(&mut child);
    assert!(status.success(), "returned from main: {status:?}");
    let spans = collector.wait_for(Duration::from_secs(30), |spans| {
        spans.len() >= 2 * IN_FLIGHT as usize
    });
    let mut ids = handled_ids(&spans);
    ids.sort_unstable();
    assert_eq!(ids, (0..IN_FLIGHT).collect::<Vec<_>>(), "{spans:#?}");
    let servers = spans
        .iter()
        .filter(|span| span.name == "GET /slow/{id}" && span.kind == "SPAN_KIND_SERVER")
        .count();
    assert_eq!(servers, IN_FLIGHT as usize, "{spans:#?}");
    assert!(spans.iter().all(|span| unwrap_typed(
        span.resource_attribute("service.name").unwrap_or_default()
    ) == "stopped"));
}

/// `std::process::exit` runs no destructor: `traced::flush()` before it
/// delivers the spans.
#[test]
fn flush_before_process_exit_delivers_every_span() {
    let collector = Collector::start();
    let (mut child, _stdout, _) = start(&["exit", "25"], &collector);
    let status = ended(&mut child);
    assert_eq!(status.code(), Some(3));
    let spans = collector.wait_for(Duration::from_secs(20), |spans| spans.len() >= 25);
    let mut ids = handled_ids(&spans);
    ids.sort_unstable();
    assert_eq!(ids, (0..25).collect::<Vec<_>>());
}

/// On SIGTERM, a span that ends while the flush is under way (here: while
/// the batch with the last span before the signal is being exported) is
/// delivered too: the pipeline drains once more before the process ends.
#[test]
fn repro_a_span_ending_while_the_sigterm_flush_runs_is_delivered() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_shutdown_service"))
        .arg("late")
        .env_remove("OTEL_TRACES_EXPORTER")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("starting shutdown_service");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    stdout.read_line(&mut line).expect("the ready line");
    assert_eq!(line.trim(), "ready");
    signal(&child, SIGTERM);
    let status = ended(&mut child);
    assert_eq!(status.signal(), Some(SIGTERM), "{status:?}");
    let exported: Vec<String> = stdout.lines().map(Result::unwrap).collect();
    assert_eq!(exported, ["before", "late"]);
}
