//! One request across three services in two languages, read back from a real
//! collector (rotel):
//!
//! ```text
//! test ──HTTP, baggage tenant=acme──▶ front (Rust)
//!                                       ├─gRPC──▶ ledger (Rust): reserve
//!                                       └─HTTP──▶ pricing (Python, Flask + OpenTelemetry SDK)
//!                                                   └─HTTP──▶ ledger (Rust): balance
//! ```
//!
//! Each service is its own process with its own `service.name`, exporting
//! over OTLP (the Rust ones through `traced::init()`, gRPC for the ledger and
//! HTTP/protobuf for the front; Python through its `OTLPSpanExporter`). No
//! service writes a line of header code: the integrations and the Python
//! instrumentations carry the trace context and the baggage.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use traced_peers::{Collector, ReceivedSpan, peers_venv};

/// A service under test: a child process that announced its addresses on its
/// first line of stdout and stops when its stdin closes.
struct Service {
    name: &'static str,
    child: Child,
    stdin: Option<ChildStdin>,
    announced: String,
}

impl Service {
    fn start(name: &'static str, mut command: Command) -> Service {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|error| panic!("starting {name} ({command:?}): {error}"));
        let stdin = child.stdin.take();
        let mut announced = String::new();
        let stdout = child.stdout.take().expect("piped stdout");
        BufReader::new(stdout)
            .read_line(&mut announced)
            .unwrap_or_else(|error| panic!("reading {name}'s address: {error}"));
        assert!(
            !announced.is_empty(),
            "{name} exited before announcing its address"
        );
        Service {
            name,
            child,
            stdin,
            announced: announced.trim().to_owned(),
        }
    }

    /// The address announced as `key=ADDRESS`.
    fn address(&self, key: &str) -> String {
        self.announced
            .split_whitespace()
            .find_map(|field| field.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("{} announced no {key}: {:?}", self.name, self.announced))
            .to_owned()
    }

    /// Closes stdin and waits for a clean exit (every span flushed).
    fn stop(mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match self.child.try_wait().expect("waiting for a service") {
                Some(status) => {
                    assert!(status.success(), "{} exited with {status}", self.name);
                    return;
                }
                None if Instant::now() >= deadline => {
                    panic!(
                        "{} did not stop within 30 s of its stdin closing",
                        self.name
                    )
                }
                None => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn rust_service(role: &'static str, endpoint: &str, protocol: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cross_language_service"));
    command
        .arg(role)
        .env("OTEL_SERVICE_NAME", role)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
        .env_remove("OTEL_TRACES_EXPORTER")
        .env_remove("OTEL_SDK_DISABLED");
    command
}

fn get(url: &str, baggage: &str) -> String {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let response = reqwest::Client::new()
            .get(url)
            .header("baggage", baggage)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.text().await.unwrap()
    })
}

fn one<'a>(spans: &'a [ReceivedSpan], service: &str, kind: &str, name: &str) -> &'a ReceivedSpan {
    let found: Vec<_> = spans
        .iter()
        .filter(|span| span.service_name == service && span.kind == kind && span.name == name)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one {service} {kind} span {name:?} in {spans:#?}"
    );
    found[0]
}

#[track_caller]
fn assert_parent(child: &ReceivedSpan, parent: &ReceivedSpan) {
    assert_eq!(
        child.parent_id.as_deref(),
        Some(parent.span_id.as_str()),
        "{}'s {:?} should be a child of {}'s {:?}",
        child.service_name,
        child.name,
        parent.service_name,
        parent.name
    );
}

#[test]
fn a_request_crosses_rust_grpc_and_python_as_one_trace() {
    let venv = peers_venv();
    let collector = Collector::start();

    let ledger = Service::start(
        "ledger",
        rust_service("ledger", &collector.grpc_endpoint(), "grpc"),
    );
    let mut python = Command::new(venv.join("bin/python"));
    python
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/pricing.py"))
        .env("OTEL_SERVICE_NAME", "pricing")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", collector.http_endpoint())
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
        .env("LEDGER_URL", format!("http://{}", ledger.address("http")));
    let pricing = Service::start("pricing", python);
    let pricing_address = pricing.address("http");
    let mut front = rust_service("front", &collector.http_endpoint(), "http/protobuf");
    front
        .env("LEDGER_GRPC", format!("http://{}", ledger.address("grpc")))
        .env("PRICING_URL", format!("http://{pricing_address}"));
    let front = Service::start("front", front);

    let body = get(
        &format!("http://{}/checkout/7", front.address("http")),
        "tenant=acme",
    );
    assert_eq!(
        body,
        "reserved 7 for acme; quote 7 for acme (balance of 7 for acme)"
    );

    for service in [front, pricing, ledger] {
        service.stop();
    }
    let spans = collector.wait_for(Duration::from_secs(60), |spans| spans.len() >= 9);
    assert_eq!(spans.len(), 9, "{spans:#?}");

    let front_server = one(&spans, "front", "SPAN_KIND_SERVER", "GET /checkout/{item}");
    let front_grpc = one(&spans, "front", "SPAN_KIND_CLIENT", "ledger.Ledger/Reserve");
    let front_http = one(&spans, "front", "SPAN_KIND_CLIENT", "GET");
    let ledger_grpc = one(
        &spans,
        "ledger",
        "SPAN_KIND_SERVER",
        "ledger.Ledger/Reserve",
    );
    let reserve = one(&spans, "ledger", "SPAN_KIND_INTERNAL", "reserve");
    let pricing_server = one(
        &spans,
        "pricing",
        "SPAN_KIND_SERVER",
        "GET /quote/<int:item>",
    );
    let pricing_client = one(&spans, "pricing", "SPAN_KIND_CLIENT", "GET");
    let ledger_http = one(&spans, "ledger", "SPAN_KIND_SERVER", "GET /balance/{item}");
    let balance = one(&spans, "ledger", "SPAN_KIND_INTERNAL", "balance");

    assert!(
        spans
            .iter()
            .all(|span| span.trace_id == front_server.trace_id),
        "one trace: {spans:#?}"
    );
    assert_eq!(front_server.parent_id, None, "the front starts the trace");
    assert_parent(front_grpc, front_server);
    assert_parent(ledger_grpc, front_grpc);
    assert_parent(reserve, ledger_grpc);
    assert_parent(front_http, front_server);
    assert_parent(pricing_server, front_http);
    assert_parent(pricing_client, pricing_server);
    assert_parent(ledger_http, pricing_client);
    assert_parent(balance, ledger_http);

    // Baggage set by the caller reached every service, through both languages.
    for span in [reserve, pricing_server, balance] {
        assert_eq!(span.attribute("tenant"), Some("Str(acme)"), "{span:#?}");
    }

    // Our spans as the collector received them.
    assert_eq!(
        front_server.attribute("http.route"),
        Some("Str(/checkout/{item})")
    );
    assert_eq!(
        front_server.attribute("http.response.status_code"),
        Some("Int(200)")
    );
    assert_eq!(front_server.scope_name, "traced");
    assert_eq!(ledger_grpc.attribute("rpc.system"), Some("Str(grpc)"));
    assert_eq!(
        ledger_grpc.attribute("rpc.service"),
        Some("Str(ledger.Ledger)")
    );
    assert_eq!(ledger_grpc.attribute("rpc.method"), Some("Str(Reserve)"));
    assert_eq!(front_grpc.attribute("rpc.grpc.status_code"), Some("Int(0)"));
    assert_eq!(
        front_http.attribute("url.full"),
        Some(format!("Str(http://{pricing_address}/quote/7)").as_str())
    );
    for span in &spans {
        assert_eq!(span.status_code, "STATUS_CODE_UNSET", "{span:#?}");
    }
}
