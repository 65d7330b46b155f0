//! The W3C Trace Context test suite, the specification's own harness
//! (`shared/w3c-trace-context/test`, beside the repository), against a
//! service built on `traced::propagation` under `traced::init()`
//! (`src/bin/w3c_service.rs`), at Level 2 and the strictest level: every
//! one of its 41 cases must pass, with the default parent-based sampler
//! (an unsampled request makes no span, and what is sent on comes from the
//! caller's context) and with a sampler that records every request.
//!
//! The harness runs as its own script rather than under pytest: that way it
//! listens on the port given in `HARNESS_PORT` (under pytest it always takes
//! 7777), so runs side by side cannot clash.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};

use traced_peers::{free_port, peers_venv};

const CASES: usize = 41;

/// `shared/w3c-trace-context/test`, beside the repository.
fn harness_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/w3c-trace-context/test");
    assert!(
        dir.join("test.py").is_file(),
        "the W3C Trace Context harness is not at {}",
        dir.display()
    );
    dir
}

/// The service under test; stopped (stdin closed, then killed if need be)
/// when dropped.
struct Service {
    child: Child,
    stdin: Option<ChildStdin>,
    address: String,
}

impl Service {
    /// The service with `OTEL_TRACES_SAMPLER` set to `sampler`, or unset.
    fn start(sampler: Option<&str>) -> Service {
        let mut command = Command::new(env!("CARGO_BIN_EXE_w3c_service"));
        match sampler {
            Some(sampler) => command.env("OTEL_TRACES_SAMPLER", sampler),
            None => command.env_remove("OTEL_TRACES_SAMPLER"),
        };
        let mut child = command
            // Spans are made and propagated; nothing is exported.
            .env("OTEL_TRACES_EXPORTER", "none")
            .env("OTEL_LOGS_EXPORTER", "none")
            .env_remove("OTEL_TRACES_SAMPLER_ARG")
            .env_remove("TRACED_TAIL_SAMPLING")
            .env_remove("OTEL_PROPAGATORS")
            .env_remove("OTEL_SDK_DISABLED")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting the W3C service");
        let stdin = child.stdin.take();
        let mut address = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut address)
            .expect("reading the service's address");
        assert!(
            !address.is_empty(),
            "the service exited before announcing its address"
        );
        Service {
            child,
            stdin,
            address: address.trim().to_owned(),
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        drop(self.stdin.take());
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Whether the harness's report says that exactly [`CASES`] cases ran and
/// all passed (none skipped, failed or in error).
fn all_passed(report: &str) -> bool {
    let lines: Vec<&str> = report.lines().map(str::trim).collect();
    let ran = lines.iter().any(|line| {
        line.starts_with(&format!("Ran {CASES} tests ")) || *line == format!("Ran {CASES} tests")
    });
    let passed = lines
        .iter()
        .filter(|line| line.ends_with(" ... ok"))
        .count();
    ran && passed == CASES && lines.contains(&"OK")
}

/// Runs the whole suite against the service started with `sampler`.
fn suite_passes(sampler: Option<&str>) {
    let harness = harness_dir();
    let python = peers_venv().join("bin/python");
    let service = Service::start(sampler);
    let output = Command::new(&python)
        // Nothing is written into the harness's folder.
        .arg("-B")
        .arg("test.py")
        .arg(format!("http://{}/test", service.address))
        .current_dir(&harness)
        .env("STRICT_LEVEL", "2")
        .env("SPEC_LEVEL", "2")
        .env("HARNESS_HOST", "127.0.0.1")
        .env("HARNESS_PORT", free_port().to_string())
        .env_remove("HARNESS_DEBUG")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|error| panic!("running {}: {error}", python.display()));
    drop(service);
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success() && all_passed(&report),
        "the W3C Trace Context suite did not pass {CASES}/{CASES} ({}, sampler {sampler:?}):\n{report}",
        output.status
    );
}

/// The random-flag case sends an unsampled `traceparent` and asks for a
/// parent id of the service's own: the default sampler makes no span there,
/// and `inject` sends the caller's context under a new parent id.
#[test]
fn repro_the_w3c_trace_context_suite_passes_at_level_2_with_the_default_sampler() {
    suite_passes(None);
}

#[test]
fn the_w3c_trace_context_suite_passes_at_level_2_recording_every_request() {
    suite_passes(Some("always_on"));
}

#[test]
fn a_report_with_a_skipped_or_failed_case_does_not_pass() {
    let ok_line = |i: usize| format!("test_{i} (test.TraceContextTest.test_{i}) ... ok\n");
    let all: String = (0..CASES).map(ok_line).collect();
    assert!(all_passed(&format!("{all}\nRan 41 tests in 3.2s\n\nOK\n")));
    let skipped: String = (1..CASES).map(ok_line).collect();
    assert!(!all_passed(&format!(
        "{skipped}test_0 ... skipped 'strict'\nRan 41 tests in 3.2s\n\nOK (skipped=1)\n"
    )));
    assert!(!all_passed(&format!(
        "{skipped}Ran 40 tests in 3.2s\n\nOK\n"
    )));
    assert!(!all_passed(&format!(
        "{skipped}test_0 ... FAIL\nRan 41 tests in 3.2s\n\nFAILED (failures=1)\n"
    )));
}
