//! What traced does with a collector's answers over OTLP/HTTP: a throttled
//! or unavailable collector is asked again (at most three times more), a
//! refused request is not, and what was not accepted in the end is counted
//! as failed. The "collector" is a loopback HTTP server answering from a
//! script.
//!
//! `init()` installs a process-wide provider, so the tests of this binary take
//! turns.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use traced::{Config, Exporter, Protocol, traced};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// A request as the server received it.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    content_type: String,
    body_length: usize,
}

/// Answers each request with the next status of `script` (the last one
/// again once the script is used up); `Retry-After: 0` with 429 and 503.
fn scripted_collector(script: &'static [u16]) -> (String, Arc<Mutex<Vec<Received>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("address"));
    let received: Arc<Mutex<Vec<Received>>> = Arc::default();
    let log = Arc::clone(&received);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                let mut writer = stream.try_clone().expect("clone the stream");
                let mut reader = BufReader::new(stream);
                loop {
                    let mut request_line = String::new();
                    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
                        return;
                    }
                    let path = request_line
                        .split_whitespace()
                        .nth(1)
                        .unwrap_or_default()
                        .to_owned();
                    let (mut length, mut content_type) = (0, String::new());
                    loop {
                        let mut header = String::new();
                        reader.read_line(&mut header).expect("a header");
                        let header = header.trim_end();
                        if header.is_empty() {
                            break;
                        }
                        let (name, value) = header.split_once(':').expect("name: value");
                        match name.to_ascii_lowercase().as_str() {
                            "content-length" => length = value.trim().parse().expect("a length"),
                            "content-type" => content_type = value.trim().to_owned(),
                            _ => {}
                        }
                    }
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body).expect("the body");
                    let answered = {
                        let mut log = log.lock().unwrap();
                        log.push(Received {
                            path,
                            content_type,
                            body_length: length,
                        });
                        script[(log.len() - 1).min(script.len() - 1)]
                    };
                    let retry_after = if matches!(answered, 429 | 503) {
                        "Retry-After: 0\r\n"
                    } else {
                        ""
                    };
                    let answer = format!(
                        "HTTP/1.1 {answered} Scripted\r\n{retry_after}Content-Length: 0\r\n\r\n"
                    );
                    if writer.write_all(answer.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (endpoint, received)
}

#[traced]
fn step(n: usize) -> usize {
    n + 1
}

/// Sends `spans` spans to a collector answering `script`; returns the
/// delivery report after a flush and the requests the collector saw.
fn export_against(script: &'static [u16], spans: usize) -> (traced::DeliveryReport, Vec<Received>) {
    let (endpoint, received) = scripted_collector(script);
    let guard = Config::new()
        .service_name("answers")
        .otlp_endpoint(endpoint)
        .otlp_protocol(Protocol::HttpProtobuf)
        .otlp_timeout(Duration::from_secs(20))
        // The script answers span exports only.
        .logs_exporter(Exporter::None)
        .metrics_exporter(Exporter::None)
        .init()
        .expect("init");
    for n in 0..spans {
        step(n);
    }
    // Failed exports make the flush report them; the counts tell.
    let _ = guard.flush();
    let report = guard.delivery().expect("OTLP reports delivery");
    drop(guard);
    let received = received.lock().unwrap().clone();
    (report, received)
}

#[test]
fn throttled_and_unavailable_answers_are_asked_again_until_accepted() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (report, received) = export_against(&[429, 503, 502, 200], 10);
    assert_eq!((report.exported, report.failed), (10, 0), "{report:?}");
    assert_eq!(received.len(), 4, "{received:#?}");
    for request in &received {
        assert_eq!(request.path, "/v1/traces");
        assert_eq!(request.content_type, "application/x-protobuf");
        assert_eq!(
            request.body_length, received[0].body_length,
            "the same body each time"
        );
    }
}

#[test]
fn a_refused_request_is_not_asked_again() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (report, received) = export_against(&[400], 10);
    assert_eq!((report.exported, report.failed), (0, 10), "{report:?}");
    assert_eq!(received.len(), 1, "{received:#?}");
}

#[test]
fn an_unavailable_collector_is_asked_three_times_more_then_the_spans_fail() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (report, received) = export_against(&[503], 10);
    assert_eq!((report.exported, report.failed), (0, 10), "{report:?}");
    assert_eq!(received.len(), 4, "{received:#?}");
}
