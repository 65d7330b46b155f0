//! A collector that is down, killed or hung never blocks or crashes the traced
//! program: the queue stays bounded, losses are counted and reported, and
//! spans sent after the collector is back arrive.
//!
//! `init()` installs a process-wide provider, so the tests of this binary take
//! turns.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use traced::{Config, Protocol, ShutdownError, traced};
use traced_peers::{Collector, ReceivedSpan};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

#[traced]
fn step(#[attr] phase: &'static str, #[attr] n: usize) -> usize {
    n + 1
}

fn run_phase(phase: &'static str, count: usize) {
    for n in 0..count {
        assert_eq!(step(phase, n), n + 1);
    }
}

fn in_phase(spans: &[ReceivedSpan], phase: &str) -> usize {
    let wanted = format!("Str({phase})");
    spans
        .iter()
        .filter(|span| span.attribute("phase") == Some(wanted.as_str()))
        .count()
}

#[test]
fn collector_down_at_start_then_killed_mid_run_and_restarted() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    const N: usize = 200;
    let mut collector = Collector::start();
    collector.stop();
    let guard = Config::new()
        .service_name("restarts")
        .otlp_endpoint(collector.grpc_endpoint())
        .otlp_protocol(Protocol::Grpc)
        .otlp_timeout(Duration::from_secs(1))
        .schedule_delay(Duration::from_millis(50))
        .shutdown_timeout(Duration::from_secs(10))
        .init()
        .expect("init succeeds with the collector down");

    run_phase("down-at-start", N);
    // Exports retry until their timeout, then count as failed.
    let deadline = Instant::now() + Duration::from_secs(30);
    while guard
        .delivery()
        .is_some_and(|report| report.failed < N as u64)
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    let report = guard.delivery().expect("OTLP reports delivery");
    assert_eq!(
        (report.failed, report.exported),
        (N as u64, 0),
        "{report:?}"
    );
    collector.restart();
    run_phase("after-start", N);
    let spans = collector.wait_for(Duration::from_secs(30), |spans| {
        in_phase(spans, "after-start") == N
    });
    assert_eq!(in_phase(&spans, "after-start"), N);

    collector.stop();
    run_phase("killed", N);
    collector.restart();
    run_phase("after-restart", N);
    let spans = collector.wait_for(Duration::from_secs(30), |spans| {
        in_phase(spans, "after-restart") == N
    });
    assert_eq!(in_phase(&spans, "after-restart"), N);

    let report = guard.delivery().expect("OTLP reports delivery");
    assert_eq!(report.ended, 4 * N as u64);
    match guard.shutdown() {
        Err(ShutdownError::Undelivered(report)) => {
            assert_eq!(report.ended, 4 * N as u64);
            assert_eq!(
                report.ended,
                report.exported + report.failed + report.dropped
            );
            assert!(report.exported >= 2 * N as u64, "{report:?}");
            assert!(report.failed >= N as u64, "{report:?}");
        }
        other => panic!("spans sent while the collector was down are reported lost: {other:?}"),
    }
}

#[test]
fn hung_collector_leaves_a_bounded_queue_and_a_counted_loss() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    const QUEUE: usize = 100;
    const SPANS: usize = 5_000;
    let collector = Collector::start();
    collector.pause();
    let guard = Config::new()
        .service_name("hung")
        .otlp_endpoint(collector.http_endpoint())
        .otlp_protocol(Protocol::HttpProtobuf)
        .otlp_timeout(Duration::from_secs(20))
        .max_queue_size(QUEUE)
        .schedule_delay(Duration::from_millis(10))
        .shutdown_timeout(Duration::from_millis(500))
        .init()
        .expect("init");

    // The first export hangs until the request timeout; meanwhile at most
    // QUEUE spans wait and the rest are dropped, not piled up.
    run_phase("hung", SPANS);
    let report = guard.delivery().expect("OTLP reports delivery");
    assert_eq!(report.ended, SPANS as u64);
    assert_eq!(report.exported, 0);

    let error = guard
        .shutdown()
        .expect_err("the hung collector received nothing");
    let ShutdownError::Undelivered(report) = &error else {
        panic!("expected an undelivered report, got {error:?}");
    };
    assert_eq!(report.ended, SPANS as u64);
    assert_eq!(report.exported, 0);
    assert!(
        report.dropped >= (SPANS - 2 * QUEUE) as u64,
        "a bounded queue drops what does not fit: {report:?}"
    );
    assert!(
        error
            .to_string()
            .starts_with(&format!("{SPANS} of {SPANS} spans not delivered")),
        "{error}"
    );
    collector.resume();
}

#[test]
fn a_hung_collector_cannot_make_pending_spans_outgrow_their_memory() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    const SPANS: usize = 50_000;
    let collector = Collector::start();
    collector.pause();
    let guard = Config::new()
        .service_name("hung-memory")
        .otlp_endpoint(collector.http_endpoint())
        .otlp_protocol(Protocol::HttpProtobuf)
        .otlp_timeout(Duration::from_secs(20))
        .max_pending_memory(1024 * 1024)
        .shutdown_timeout(Duration::from_secs(60))
        .init()
        .expect("init");
    run_phase("over-budget", SPANS);
    collector.resume();
    // Everything still held is sent once the collector answers again.
    guard.flush().expect("flushed");
    let report = guard.delivery().expect("OTLP reports delivery");
    assert_eq!(report.ended, SPANS as u64, "{report:?}");
    assert_eq!(report.failed, 0, "{report:?}");
    // A record takes about 100 bytes: 1 MiB holds some ten thousand, beside
    // what the export thread took before the collector hung and the
    // thread's own lane. What did not fit was dropped, and is counted.
    assert!(report.exported > 0, "{report:?}");
    assert!(
        report.exported < (SPANS / 2) as u64,
        "pending spans outgrew the memory bound: {report:?}"
    );
    assert_eq!(report.exported + report.dropped, report.ended, "{report:?}");
    let spans = collector.wait_for(Duration::from_secs(30), |spans| {
        in_phase(spans, "over-budget") as u64 >= report.exported
    });
    assert_eq!(in_phase(&spans, "over-budget") as u64, report.exported);
    drop(guard);
}
