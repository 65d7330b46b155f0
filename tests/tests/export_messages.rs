//! What traced says on stderr about export, read from child processes: the
//! one start-up line saying where spans and logs go, and the first failure
//! of each signal, said once, with its cause said once and a hint that names
//! the certificate variable and file in use.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use traced::Config;
use traced_peers::free_port;
use traced_tests::child::{in_child, rerun};
use traced_tests::tls::Certificates;

#[traced::traced]
fn checkout() {
    tracing::info!("paid");
}

/// In the child: traced set up from the environment, one span and one log
/// line, and the guard dropped (which reports what was not delivered).
fn run_and_shut_down() {
    let guard = Config::new().service_name("shop").init().expect("init");
    checkout();
    drop(guard);
}

fn stderr_of(test: &str, env: &[(&str, &str)]) -> String {
    String::from_utf8_lossy(&rerun(test, env).stderr).into_owned()
}

fn lines_starting<'a>(stderr: &'a str, prefix: &str) -> Vec<&'a str> {
    stderr
        .lines()
        .filter(|line| line.starts_with(prefix))
        .collect()
}

/// A line of `stderr` that says a run of causes (`a: b`) twice in a row.
fn said_twice(stderr: &str) -> Option<&str> {
    stderr.lines().find(|line| {
        let parts: Vec<&str> = line.split(": ").collect();
        (1..=parts.len() / 2).any(|run| {
            parts
                .windows(2 * run)
                .any(|window| window[..run] == window[run..])
        })
    })
}

#[test]
fn one_line_at_start_says_where_spans_and_logs_go() {
    const NAME: &str = "one_line_at_start_says_where_spans_and_logs_go";
    if in_child() {
        return run_and_shut_down();
    }
    let port = free_port();
    for (protocol, shown) in [("http/protobuf", "OTLP/HTTP"), ("grpc", "OTLP/gRPC")] {
        let endpoint = format!("http://127.0.0.1:{port}");
        let stderr = stderr_of(
            NAME,
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
                ("OTEL_EXPORTER_OTLP_TIMEOUT", "500"),
            ],
        );
        assert_eq!(
            lines_starting(&stderr, "traced: spans"),
            [format!(
                "traced: spans and logs go to {endpoint} over {shown}"
            )],
            "{stderr}"
        );
    }
    let console = stderr_of(NAME, &[]);
    assert!(
        !console.contains(" go to "),
        "the console shows itself: {console}"
    );
}

#[test]
fn repro_a_failed_export_says_what_failed_once() {
    const NAME: &str = "repro_a_failed_export_says_what_failed_once";
    if in_child() {
        return run_and_shut_down();
    }
    let endpoint = format!("http://127.0.0.1:{}", free_port());
    for protocol in ["http/protobuf", "grpc"] {
        let stderr = stderr_of(
            NAME,
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
                ("OTEL_EXPORTER_OTLP_TIMEOUT", "2000"),
            ],
        );
        for signal in ["spans", "logs"] {
            let failures = lines_starting(&stderr, &format!("traced: exporting {signal} to "));
            assert_eq!(failures.len(), 1, "{protocol}: {stderr}");
            assert!(failures[0].contains("Connection refused"), "{stderr}");
        }
        assert!(
            !stderr.contains("Operation failed"),
            "{protocol}: the message says what failed: {stderr}"
        );
        assert_eq!(said_twice(&stderr), None, "{protocol}: a cause said twice");
        assert!(
            stderr.contains("1 of 1 spans not delivered")
                && stderr.contains("1 of 1 log records not delivered"),
            "{protocol}: the shutdown report counts both: {stderr}"
        );
    }
}

/// A TLS server on a free loopback port presenting `certificates`' server
/// certificate (Python's `ssl`, so nothing needs installing); it completes
/// handshakes and says nothing. Killed when dropped.
struct TlsServer {
    child: Child,
    port: u16,
}

const TLS_SERVER: &str = r#"
import socket, ssl, sys
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[1], sys.argv[2])
context.set_alpn_protocols(["h2", "http/1.1"])
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(16)
print(listener.getsockname()[1], flush=True)
while True:
    connection, _ = listener.accept()
    try:
        with context.wrap_socket(connection, server_side=True) as tls:
            tls.recv(1)
    except Exception:
        pass
"#;

impl TlsServer {
    fn start(certificates: &Certificates) -> TlsServer {
        let mut child = Command::new("python3")
            .arg("-c")
            .arg(TLS_SERVER)
            .arg(&certificates.server_certificate)
            .arg(&certificates.server_key)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs the TLS server");
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().expect("its stdout"))
            .read_line(&mut line)
            .expect("the port it listens on");
        let port = line.trim().parse().expect("a port number");
        TlsServer { child, port }
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_refused_certificate_names_the_variable_and_file_in_use() {
    const NAME: &str = "a_refused_certificate_names_the_variable_and_file_in_use";
    if in_child() {
        return run_and_shut_down();
    }
    let certificates = Certificates::generate();
    let server = TlsServer::start(&certificates);
    let endpoint = format!("https://localhost:{}", server.port);
    let other_ca = certificates.other_ca.display().to_string();
    for protocol in ["http/protobuf", "grpc"] {
        let stderr = stderr_of(
            NAME,
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
                ("OTEL_EXPORTER_OTLP_CERTIFICATE", &other_ca),
                ("OTEL_EXPORTER_OTLP_TIMEOUT", "2000"),
            ],
        );
        for signal in ["spans", "logs"] {
            let failures = lines_starting(&stderr, &format!("traced: exporting {signal} to "));
            assert_eq!(failures.len(), 1, "{protocol}: {stderr}");
            assert!(
                failures[0].contains("invalid peer certificate: UnknownIssuer")
                    && failures[0].contains(&format!(
                        "(the collector's certificate was checked against {other_ca} only, the \
                         CA that OTEL_EXPORTER_OTLP_CERTIFICATE names)"
                    )),
                "{protocol}: {stderr}"
            );
        }
        assert_eq!(said_twice(&stderr), None, "{protocol}: a cause said twice");
    }
}
