//! OTLP export over TLS to a real collector: rotel behind a TLS terminator
//! (`peers/tls_terminator.py`, Python's `ssl`: ALPN `http/1.1` for
//! HTTP/protobuf, `h2` for gRPC), with certificates made by the test:
//! server-only TLS, mutual TLS, and a CA that did not sign the server's
//! certificate.
//!
//! `init()` installs a process-wide provider, so the tests of this binary take
//! turns.

use std::sync::Mutex;
use std::time::Duration;

use traced::{Config, Protocol, ShutdownError, traced};
use traced_peers::{Collector, ReceivedSpan};
use traced_tests::tls::{Certificates, ClientAuth, Terminator};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

#[traced]
fn over_tls(#[attr] n: u32) -> u32 {
    n * 2
}

/// The collector, a terminator in front of the port `protocol` uses, and
/// the certificates.
fn collector_behind_tls(
    protocol: Protocol,
    client_auth: ClientAuth,
) -> (Collector, Terminator, Certificates) {
    let collector = Collector::start();
    let certificates = Certificates::generate();
    let terminator = match protocol {
        Protocol::Grpc => Terminator::grpc(&certificates, client_auth, collector.grpc_port()),
        _ => Terminator::http(&certificates, client_auth, collector.http_port()),
    };
    (collector, terminator, certificates)
}

fn config(protocol: Protocol, terminator: &Terminator) -> Config {
    Config::new()
        .service_name("over-tls")
        .otlp_endpoint(terminator.endpoint())
        .otlp_protocol(protocol)
        .otlp_timeout(Duration::from_secs(5))
        .shutdown_timeout(Duration::from_secs(15))
}

/// Makes three spans and shuts down, returning what shutting down said.
fn send_three(config: Config) -> Result<(), ShutdownError> {
    let guard = config.init().expect("init");
    for n in 0..3 {
        over_tls(n);
    }
    guard.shutdown()
}

fn arrived(collector: &Collector) -> Vec<ReceivedSpan> {
    collector.wait_for(Duration::from_secs(20), |spans| spans.len() >= 3)
}

const BOTH: [Protocol; 2] = [Protocol::HttpProtobuf, Protocol::Grpc];

#[test]
fn server_only_tls_with_the_collectors_ca() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    for protocol in BOTH {
        let (collector, terminator, certificates) =
            collector_behind_tls(protocol, ClientAuth::None);
        let result = send_three(config(protocol, &terminator).otlp_certificate(&certificates.ca));
        assert!(
            result.is_ok(),
            "{protocol:?}: {result:?}\n{}",
            terminator.log_text()
        );
        let spans = arrived(&collector);
        assert_eq!(spans.len(), 3, "{protocol:?}: {spans:#?}");
        if protocol == Protocol::Grpc {
            assert!(
                terminator.log_text().contains("alpn=h2"),
                "gRPC went over h2:\n{}",
                terminator.log_text()
            );
        }
        assert!(
            spans
                .iter()
                .all(|span| span.name == "over_tls" && span.service_name == "over-tls")
        );
    }
}

#[test]
fn mutual_tls_with_and_without_a_client_certificate() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    for protocol in BOTH {
        let (collector, terminator, certificates) =
            collector_behind_tls(protocol, ClientAuth::Required);
        let with_certificate = config(protocol, &terminator)
            .otlp_certificate(&certificates.ca)
            .otlp_client_certificate(&certificates.client_certificate, &certificates.client_key);
        let result = send_three(with_certificate);
        assert!(
            result.is_ok(),
            "{protocol:?}: {result:?}\n{}",
            terminator.log_text()
        );
        assert_eq!(arrived(&collector).len(), 3, "{protocol:?}");
        assert!(
            terminator.log_text().contains("client=traced test client"),
            "{protocol:?}: the terminator saw the client certificate:\n{}",
            terminator.log_text()
        );

        let without = config(protocol, &terminator).otlp_certificate(&certificates.ca);
        match send_three(without) {
            Err(ShutdownError::Undelivered(report)) => {
                assert_eq!(
                    (report.ended, report.exported),
                    (3, 0),
                    "{protocol:?}: {report}"
                );
            }
            other => panic!("{protocol:?}: the terminator wants a client certificate: {other:?}"),
        }
        assert_eq!(
            collector.spans().len(),
            3,
            "{protocol:?}: nothing more arrived"
        );
    }
}

#[test]
fn a_ca_that_did_not_sign_the_server_fails_clearly() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    for protocol in BOTH {
        let (collector, terminator, certificates) =
            collector_behind_tls(protocol, ClientAuth::None);
        let wrong_ca = config(protocol, &terminator).otlp_certificate(&certificates.other_ca);
        match send_three(wrong_ca) {
            Err(ShutdownError::Undelivered(report)) => {
                assert_eq!(
                    (report.ended, report.exported),
                    (3, 0),
                    "{protocol:?}: {report}"
                );
                let error = report.last_error.unwrap_or_default();
                assert!(
                    error.contains("certificate") && error.contains("UnknownIssuer"),
                    "{protocol:?}: the reason is named: {error}"
                );
            }
            other => panic!("{protocol:?}: an untrusted server must fail: {other:?}"),
        }
        assert!(collector.spans().is_empty());
    }
}
