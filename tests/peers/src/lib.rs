//! A real OpenTelemetry collector for tests: rotel, installed from PyPI into
//! a pinned virtualenv (with the Python peers of the cross-language tests),
//! listening for OTLP over gRPC and HTTP on free loopback ports, logging
//! every received span and log record in detail. Tests read the spans and
//! log records back from that log. The standard library only, so that the
//! examples' tests can use it without building a test harness into
//! `cargo run --example`.
//!
//! ```no_run
//! use std::time::Duration;
//! use traced_peers::Collector;
//!
//! let collector = Collector::start();
//! // ... point a traced program at collector.grpc_endpoint() ...
//! let spans = collector.wait_for(Duration::from_secs(20), |spans| spans.len() >= 3);
//! assert_eq!(spans.len(), 3, "{spans:#?}");
//! ```

use std::fs::{File, OpenOptions};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The packages of the peers virtualenv, pinned so that pip never backtracks.
pub const PEER_PACKAGES: &[&str] = &[
    "rotel==0.0.1a15",
    "opentelemetry-sdk==1.45.1",
    "opentelemetry-exporter-otlp-proto-http==1.45.1",
    "opentelemetry-instrumentation-flask==0.66b1",
    "opentelemetry-instrumentation-requests==0.66b1",
    "flask",
    "requests",
    // the W3C Trace Context test suite's harness
    "aiohttp==3.14.5",
];

/// The workspace's target directory (where the virtualenv and logs live).
pub fn target_dir() -> PathBuf {
    match option_env!("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
    }
}

/// A Python virtualenv holding [`PEER_PACKAGES`], created on first use (under
/// a file lock, so parallel test binaries install it once).
///
/// Panics with pip's output when Python or the registry is unavailable:
/// the tests that need a collector cannot run without one.
pub fn peers_venv() -> PathBuf {
    let venv = target_dir().join("peers-venv");
    let marker = venv.join(".traced-peers");
    let wanted = PEER_PACKAGES.join(" ");
    let ready = || std::fs::read_to_string(&marker).is_ok_and(|text| text == wanted);
    if ready() {
        return venv;
    }
    std::fs::create_dir_all(target_dir()).expect("creating the target directory");
    let lock = File::create(target_dir().join("peers-venv.lock")).expect("creating the venv lock");
    lock.lock().expect("locking the venv lock");
    if !ready() {
        run(Command::new("python3")
            .args(["-m", "venv", "--clear"])
            .arg(&venv));
        run(Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .args(PEER_PACKAGES));
        std::fs::write(&marker, &wanted).expect("marking the venv ready");
    }
    venv
}

fn run(command: &mut Command) {
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("running {command:?}: {error}"));
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The rotel binary inside the peers virtualenv.
pub fn rotel_binary() -> PathBuf {
    let venv = peers_venv();
    let output = Command::new(venv.join("bin/python"))
        .args([
            "-c",
            "import os, rotel; print(os.path.join(os.path.dirname(rotel.__file__), 'rotel-agent'))",
        ])
        .output()
        .expect("asking the venv where rotel is");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&output.stdout).trim())
}

/// A running rotel collector; killed (by pid) when dropped.
#[derive(Debug)]
pub struct Collector {
    child: Option<Child>,
    grpc_port: u16,
    http_port: u16,
    log: PathBuf,
    binary: PathBuf,
}

impl Collector {
    /// Starts rotel on two free loopback ports and waits until both listen.
    pub fn start() -> Collector {
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let logs = target_dir().join("collector-logs");
        std::fs::create_dir_all(&logs).expect("creating the collector log directory");
        let log = logs.join(format!(
            "rotel-{}-{}.log",
            std::process::id(),
            STARTED.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_file(&log);
        let mut collector = Collector {
            child: None,
            grpc_port: free_port(),
            http_port: free_port(),
            log,
            binary: rotel_binary(),
        };
        collector.launch();
        collector
    }

    fn launch(&mut self) {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("opening the collector log");
        let child = Command::new(&self.binary)
            .arg("start")
            .args([
                "--otlp-grpc-endpoint",
                &format!("127.0.0.1:{}", self.grpc_port),
            ])
            .args([
                "--otlp-http-endpoint",
                &format!("127.0.0.1:{}", self.http_port),
            ])
            .args(["--exporter", "blackhole"])
            .args(["--debug-log", "traces", "--debug-log", "logs"])
            .args(["--debug-log-verbosity", "detailed"])
            .arg("--pid-file")
            .arg(self.log.with_extension("pid"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("sharing the log file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|error| panic!("starting {}: {error}", self.binary.display()));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        for port in [self.grpc_port, self.http_port] {
            let address = SocketAddr::from(([127, 0, 0, 1], port));
            while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
                if let Some(status) = self
                    .child
                    .as_mut()
                    .and_then(|c| c.try_wait().ok().flatten())
                {
                    panic!(
                        "rotel exited ({status}) before listening:\n{}",
                        self.log_text()
                    );
                }
                assert!(
                    Instant::now() < deadline,
                    "rotel did not listen on {address} within 30 s:\n{}",
                    self.log_text()
                );
                std::thread::sleep(Duration::from_millis(25));
            }
        }
    }

    /// The port of the OTLP/gRPC receiver.
    pub fn grpc_port(&self) -> u16 {
        self.grpc_port
    }

    /// The port of the OTLP/HTTP receiver.
    pub fn http_port(&self) -> u16 {
        self.http_port
    }

    /// `http://127.0.0.1:PORT` of the OTLP/gRPC receiver.
    pub fn grpc_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.grpc_port)
    }

    /// `http://127.0.0.1:PORT` of the OTLP/HTTP receiver (append `/v1/traces`
    /// for a full traces URL; `OTEL_EXPORTER_OTLP_ENDPOINT` does that itself).
    pub fn http_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    /// The collector's whole log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Every span received so far, in arrival order.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        parse_log(&self.log_text())
    }

    /// Polls until `done` holds for the log records received (and the log has
    /// stopped changing), or `timeout` passes; returns what arrived either way.
    pub fn wait_for_logs(
        &self,
        timeout: Duration,
        done: impl Fn(&[ReceivedLog]) -> bool,
    ) -> Vec<ReceivedLog> {
        self.wait_until(timeout, parse_log_records, done)
    }

    /// Polls until `done` holds for the spans received (and the log has stopped
    /// changing, so no span is read half-written), or `timeout` passes;
    /// returns what arrived either way, for the test's assertion to show.
    pub fn wait_for(
        &self,
        timeout: Duration,
        done: impl Fn(&[ReceivedSpan]) -> bool,
    ) -> Vec<ReceivedSpan> {
        self.wait_until(timeout, parse_log, done)
    }

    /// Polls the log, read with `parse`, until `done` holds (and the log has
    /// stopped changing) or `timeout` passes.
    fn wait_until<T>(
        &self,
        timeout: Duration,
        parse: fn(&str) -> Vec<T>,
        done: impl Fn(&[T]) -> bool,
    ) -> Vec<T> {
        let deadline = Instant::now() + timeout;
        let mut previous = String::new();
        loop {
            let text = self.log_text();
            let received = parse(&text);
            let settled = text.len() == previous.len();
            if (settled && done(&received)) || Instant::now() >= deadline {
                return received;
            }
            previous = text;
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Kills the collector (its ports close; the log is kept).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Freezes the collector (SIGSTOP): its ports still accept connections but
    /// nothing is answered, like a collector that hangs.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Lets a paused collector run again (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let child = self.child.as_ref().expect("the collector is not running");
        run(Command::new("kill").arg(signal).arg(child.id().to_string()));
    }

    /// Stops the collector if it runs and starts it again on the same ports.
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        if self.child.is_some() {
            // A paused process must run again to die.
            let _ = Command::new("kill")
                .arg("-CONT")
                .arg(self.child.as_ref().map_or(0, Child::id).to_string())
                .output();
        }
        self.stop();
    }
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("finding a free loopback port")
}

/// One span as the collector logged it. Attribute values keep rotel's typed
/// form: `Str(text)`, `Int(3)`, `Double(1.5)`, `Bool(true)`, `Slice(..)`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReceivedSpan {
    /// `service.name` of the resource.
    pub service_name: String,
    /// The instrumentation scope's name.
    pub scope_name: String,
    /// The instrumentation scope's version.
    pub scope_version: Option<String>,
    /// 32 hex digits.
    pub trace_id: String,
    /// 16 hex digits.
    pub span_id: String,
    /// 16 hex digits, `None` for a root.
    pub parent_id: Option<String>,
    /// The span name.
    pub name: String,
    /// `SPAN_KIND_SERVER`, `SPAN_KIND_CLIENT`, `SPAN_KIND_INTERNAL`, ...
    pub kind: String,
    /// `STATUS_CODE_UNSET`, `STATUS_CODE_OK` or `STATUS_CODE_ERROR`.
    pub status_code: String,
    /// The status description (empty unless an error).
    pub status_message: String,
    /// Every attribute, in order, with its typed value.
    pub attributes: Vec<(String, String)>,
    /// Events, in order.
    pub events: Vec<ReceivedEvent>,
    /// Links, in order.
    pub links: Vec<ReceivedLink>,
    /// Every resource attribute, with its typed value.
    pub resource: Vec<(String, String)>,
}

impl ReceivedSpan {
    /// The typed value of attribute `key` (`Str(..)`, `Int(..)`, ...).
    pub fn attribute(&self, key: &str) -> Option<&str> {
        find(&self.attributes, key)
    }

    /// The typed value of resource attribute `key`.
    pub fn resource_attribute(&self, key: &str) -> Option<&str> {
        find(&self.resource, key)
    }
}

/// One span event as the collector logged it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReceivedEvent {
    /// The event name.
    pub name: String,
    /// Its attributes with typed values.
    pub attributes: Vec<(String, String)>,
}

impl ReceivedEvent {
    /// The typed value of attribute `key`.
    pub fn attribute(&self, key: &str) -> Option<&str> {
        find(&self.attributes, key)
    }
}

/// One span link as the collector logged it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReceivedLink {
    /// The linked span's trace id.
    pub trace_id: String,
    /// The linked span's id.
    pub span_id: String,
}

/// One log record as the collector logged it. Values keep rotel's typed
/// form, as for spans.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReceivedLog {
    /// `service.name` of the resource.
    pub service_name: String,
    /// The instrumentation scope's name.
    pub scope_name: String,
    /// `INFO`, `WARN`, ...
    pub severity_text: String,
    /// `SEVERITY_NUMBER_INFO(9)`, ...
    pub severity_number: String,
    /// The event name, empty if none.
    pub event_name: String,
    /// The body, typed: `Str(text)`.
    pub body: String,
    /// 32 hex digits, empty when the record belongs to no trace.
    pub trace_id: String,
    /// 16 hex digits, empty when the record belongs to no span.
    pub span_id: String,
    /// Every attribute, in order, with its typed value.
    pub attributes: Vec<(String, String)>,
}

impl ReceivedLog {
    /// The typed value of attribute `key`.
    pub fn attribute(&self, key: &str) -> Option<&str> {
        find(&self.attributes, key)
    }

    /// The body's text (`Str(..)` unwrapped).
    pub fn message(&self) -> &str {
        unwrap_typed(&self.body)
    }
}

/// Parses the log records of rotel's `--debug-log logs` detailed output.
pub fn parse_log_records(text: &str) -> Vec<ReceivedLog> {
    let mut logs: Vec<ReceivedLog> = Vec::new();
    let mut in_logs = false;
    let mut resource: Vec<(String, String)> = Vec::new();
    let mut scope = String::new();
    let mut in_resource = false;
    let mut current: Option<ReceivedLog> = None;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("ResourceLog #") || trimmed.starts_with("ResourceSpans #") {
            logs.extend(current.take());
            in_logs = trimmed.starts_with("ResourceLog #");
            resource.clear();
            in_resource = false;
            continue;
        }
        if !in_logs {
            continue;
        }
        if trimmed == "Resource attributes:" {
            in_resource = true;
        } else if let Some(rest) = trimmed.strip_prefix("InstrumentationScope") {
            logs.extend(current.take());
            scope = rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned();
            in_resource = false;
        } else if trimmed.starts_with("LogRecord #") {
            logs.extend(current.take());
            current = Some(ReceivedLog {
                service_name: find(&resource, "service.name")
                    .map(|value| unwrap_typed(value).to_owned())
                    .unwrap_or_default(),
                scope_name: scope.clone(),
                ..ReceivedLog::default()
            });
            in_resource = false;
        } else if let Some(record) = current.as_mut() {
            if let Some(pair) = arrow_pair(trimmed) {
                record.attributes.push(pair);
            } else if let Some((field, value)) = trimmed
                .split_once(':')
                .map(|(field, value)| (field.trim(), value.trim().to_owned()))
            {
                match field {
                    "SeverityText" => record.severity_text = value,
                    "SeverityNumber" => record.severity_number = value,
                    "EventName" => record.event_name = value,
                    "Body" => record.body = value,
                    "Trace ID" => record.trace_id = value,
                    "Span ID" => record.span_id = value,
                    _ => {}
                }
            }
        } else if in_resource && let Some(pair) = arrow_pair(trimmed) {
            resource.push(pair);
        }
    }
    logs.extend(current);
    logs
}

fn find<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    None,
    Resource,
    Attributes,
    Events,
    Links,
}

/// Parses rotel's `--debug-log-verbosity detailed` output.
pub fn parse_log(text: &str) -> Vec<ReceivedSpan> {
    let mut spans: Vec<ReceivedSpan> = Vec::new();
    let mut resource: Vec<(String, String)> = Vec::new();
    let mut scope = (String::new(), None::<String>);
    let mut section = Section::None;
    let mut current: Option<ReceivedSpan> = None;
    let finish = |spans: &mut Vec<ReceivedSpan>, current: &mut Option<ReceivedSpan>| {
        if let Some(span) = current.take() {
            spans.push(span);
        }
    };
    let mut in_logs = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("ResourceLog #") {
            finish(&mut spans, &mut current);
            in_logs = true;
        } else if trimmed.starts_with("ResourceSpans #") {
            finish(&mut spans, &mut current);
            in_logs = false;
            resource.clear();
            section = Section::None;
        } else if in_logs {
        } else if trimmed == "Resource attributes:" {
            section = Section::Resource;
        } else if let Some(rest) = trimmed.strip_prefix("InstrumentationScope ") {
            finish(&mut spans, &mut current);
            let mut words = rest.split_whitespace();
            scope = (
                words.next().unwrap_or_default().to_owned(),
                words.next().map(str::to_owned),
            );
            section = Section::None;
        } else if trimmed == "InstrumentationScope" {
            finish(&mut spans, &mut current);
            scope = (String::new(), None);
        } else if trimmed.starts_with("Span #") {
            finish(&mut spans, &mut current);
            let service_name = find(&resource, "service.name")
                .map(|value| unwrap_typed(value).to_owned())
                .unwrap_or_default();
            current = Some(ReceivedSpan {
                service_name,
                scope_name: scope.0.clone(),
                scope_version: scope.1.clone(),
                resource: resource.clone(),
                ..ReceivedSpan::default()
            });
            section = Section::None;
        } else if trimmed == "Attributes:" {
            section = Section::Attributes;
        } else if trimmed == "Events:" {
            section = Section::Events;
        } else if trimmed == "Links:" {
            section = Section::Links;
        } else if let Some(span) = current.as_mut() {
            parse_span_line(span, section, line, trimmed);
        } else if section == Section::Resource
            && let Some(pair) = arrow_pair(trimmed)
        {
            resource.push(pair);
        }
    }
    finish(&mut spans, &mut current);
    spans
}

fn parse_span_line(span: &mut ReceivedSpan, section: Section, line: &str, trimmed: &str) {
    if let Some((field, value)) = trimmed
        .split_once(" : ")
        .or_else(|| trimmed.strip_suffix(" :").map(|field| (field, "")))
    {
        let value = value.trim().to_owned();
        match field.trim() {
            "Trace ID" => return span.trace_id = value,
            "Parent ID" => return span.parent_id = Some(value).filter(|id| !id.is_empty()),
            "ID" => return span.span_id = value,
            "Name" => return span.name = value,
            "Kind" => return span.kind = value,
            "Status code" => return span.status_code = value,
            "Status message" => return span.status_message = value,
            _ => {}
        }
    }
    match section {
        Section::Attributes => {
            if let Some(pair) = arrow_pair(trimmed) {
                span.attributes.push(pair);
            }
        }
        Section::Events => {
            if trimmed.starts_with("SpanEvent #") {
                span.events.push(ReceivedEvent::default());
            } else if let (Some(event), Some((key, value))) =
                (span.events.last_mut(), arrow_pair(trimmed))
            {
                if nesting(line) > 5 {
                    event.attributes.push((key, value));
                } else if key == "Name" {
                    event.name = value;
                }
            }
        }
        Section::Links => {
            if trimmed.starts_with("SpanLink #") {
                span.links.push(ReceivedLink::default());
            } else if let (Some(link), Some((key, value))) =
                (span.links.last_mut(), arrow_pair(trimmed))
                && nesting(line) <= 5
            {
                match key.as_str() {
                    "Trace ID" => link.trace_id = value,
                    "ID" => link.span_id = value,
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

/// `-> key: value` as a pair.
fn arrow_pair(trimmed: &str) -> Option<(String, String)> {
    let rest = trimmed.strip_prefix("-> ")?;
    let (key, value) = rest.split_once(':')?;
    Some((key.trim().to_owned(), value.trim().to_owned()))
}

/// How far a line is indented.
fn nesting(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// `Str(text)` → `text`; other values unchanged.
pub fn unwrap_typed(value: &str) -> &str {
    value
        .strip_prefix("Str(")
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "\
ResourceSpans #0
Resource SchemaURL: 
Resource attributes:
     -> telemetry.sdk.language: Str(python)
     -> service.name: Str(py)
ScopeSpans #0
ScopeSpans SchemaURL: 
InstrumentationScope scope.x 1.2
Span #0
    Trace ID       : 55848e76027327121ee9c6ae5a7b3c58
    Parent ID      : 2a0dd360a12ccbc1
    ID             : a5c3e68a4dbc6599
    Name           : b
    Kind           : SPAN_KIND_INTERNAL
Start time: 1795308132163888902
End time: 1795308132163916263
    Status code    : STATUS_CODE_ERROR
    Status message : bad thing
Events:
SpanEvent #0
     -> Name: ev
     -> Timestamp: 1795308132163901326
     -> DroppedAttributesCount: 0
     -> Attributes::
          -> e.k: Str(v1)
          -> n: Int(2)
Links:
SpanLink #0
     -> Trace ID: 55848e76027327121ee9c6ae5a7b3c58
     -> ID: 2a0dd360a12ccbc1
     -> TraceState: 
     -> DroppedAttributesCount: 0
     -> Attributes::
          -> k: Str(v)
Span #1
    Trace ID       : 55848e76027327121ee9c6ae5a7b3c58
    Parent ID      : 
    ID             : 2a0dd360a12ccbc1
    Name           : a
    Kind           : SPAN_KIND_SERVER
Start time: 1795308132163835023
End time: 1795308132166354809
    Status code    : STATUS_CODE_UNSET
    Status message : 
Attributes:
     -> i: Int(3)
     -> s: Str(x y)
";

    const LOGS: &str = "\
ResourceLog #0
Resource SchemaURL: 
Resource attributes:
     -> service.name: Str(shop)
ScopeLogs #0
ScopeLogs SchemaURL: 
InstrumentationScope traced 0.1.0
LogRecord #0
ObservedTimestamp: 1795992152948301436
Timestamp: 0
SeverityText: ERROR
SeverityNumber: SEVERITY_NUMBER_ERROR(17)
EventName: exception
Body: Str(no lamp: left)
Attributes:
     -> exception.type: Str(panic)
    Trace ID       : 3165e04a620f35a2918d55182fae9de3
    Span ID        : 17444c3727be65ea
Flags: 1
LogRecord #1
SeverityText: INFO
Body: Str(starting)
    Trace ID       : 
    Span ID        : 
Flags: 0
";

    #[test]
    fn parses_log_records_and_keeps_them_out_of_spans() {
        let text = format!("{LOGS}{LOG}{LOGS}");
        let logs = parse_log_records(&text);
        assert_eq!(logs.len(), 4, "{logs:#?}");
        let exception = &logs[0];
        assert_eq!(exception.service_name, "shop");
        assert_eq!(exception.scope_name, "traced");
        assert_eq!(exception.severity_text, "ERROR");
        assert_eq!(exception.severity_number, "SEVERITY_NUMBER_ERROR(17)");
        assert_eq!(exception.event_name, "exception");
        assert_eq!(exception.message(), "no lamp: left");
        assert_eq!(exception.attribute("exception.type"), Some("Str(panic)"));
        assert_eq!(exception.trace_id, "3165e04a620f35a2918d55182fae9de3");
        assert_eq!(exception.span_id, "17444c3727be65ea");
        assert_eq!(
            (logs[1].trace_id.as_str(), logs[1].span_id.as_str()),
            ("", "")
        );
        let spans = parse_log(&text);
        assert_eq!(spans.len(), 2, "{spans:#?}");
        assert_eq!(spans[0].trace_id, "55848e76027327121ee9c6ae5a7b3c58");
        assert_eq!(spans[1].trace_id, "55848e76027327121ee9c6ae5a7b3c58");
        assert_eq!(spans[1].service_name, "py");
    }

    #[test]
    fn parses_the_detailed_log() {
        let spans = parse_log(LOG);
        assert_eq!(spans.len(), 2);
        let b = &spans[0];
        assert_eq!(b.service_name, "py");
        assert_eq!(
            (b.scope_name.as_str(), b.scope_version.as_deref()),
            ("scope.x", Some("1.2"))
        );
        assert_eq!(b.parent_id.as_deref(), Some("2a0dd360a12ccbc1"));
        assert_eq!(b.span_id, "a5c3e68a4dbc6599");
        assert_eq!(b.status_code, "STATUS_CODE_ERROR");
        assert_eq!(b.status_message, "bad thing");
        assert_eq!(b.events.len(), 1);
        assert_eq!(b.events[0].name, "ev");
        assert_eq!(b.events[0].attribute("n"), Some("Int(2)"));
        assert_eq!(b.events[0].attributes.len(), 2);
        assert_eq!(
            b.links,
            [ReceivedLink {
                trace_id: "55848e76027327121ee9c6ae5a7b3c58".into(),
                span_id: "2a0dd360a12ccbc1".into()
            }]
        );
        assert!(b.attributes.is_empty());
        let a = &spans[1];
        assert_eq!(a.parent_id, None);
        assert_eq!(a.kind, "SPAN_KIND_SERVER");
        assert_eq!(a.status_message, "");
        assert_eq!(a.attribute("i"), Some("Int(3)"));
        assert_eq!(a.attribute("s").map(unwrap_typed), Some("x y"));
        assert_eq!(
            a.resource_attribute("telemetry.sdk.language"),
            Some("Str(python)")
        );
    }
}
