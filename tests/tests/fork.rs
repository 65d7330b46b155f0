//! A process that forks after `traced::init()` (a pre-fork server, a
//! daemon): real `fork(2)` children of a test process of its own.
#![allow(unsafe_code)]

use std::io::Read;
use std::os::fd::FromRawFd;
use std::time::{Duration, Instant};

use traced::opentelemetry::global;
use traced::opentelemetry::trace::{Span as _, TraceId, Tracer as _};
use traced::opentelemetry_sdk::trace::InMemorySpanExporter;
use traced::traced;
use traced_tests::child::{in_child, rerun};

#[traced]
fn unit_of_work(#[attr] n: u64) -> u64 {
    n + 1
}

/// The `n` of each span `exporter` holds, in order.
fn numbers(exporter: &InMemorySpanExporter) -> Vec<String> {
    let mut numbers: Vec<String> = exporter
        .get_finished_spans()
        .unwrap_or_default()
        .iter()
        .filter_map(|span| traced_tests::find(&span.attributes, "n").map(|n| n.to_string()))
        .collect();
    numbers.sort();
    numbers
}

/// Forks; the child runs `child` and ends with the code it returns, never
/// coming back; the parent gets the child's pid.
fn fork(child: impl FnOnce() -> i32) -> libc::pid_t {
    // SAFETY: fork(2) has no preconditions; the child runs `child` and
    // leaves through _exit(2), running no destructor of the parent's.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let code = child();
        // SAFETY: _exit(2) ends the child at once.
        unsafe { libc::_exit(code) }
    }
    pid
}

/// Waits for child `pid` to end; its wait status.
fn wait(pid: libc::pid_t) -> i32 {
    let mut status = 0;
    // SAFETY: `pid` is a child of this process; `status` outlives the call.
    let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(waited, pid, "waitpid");
    status
}

fn exited_with(status: i32) -> Option<i32> {
    libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status))
}

fn killed_by(status: i32) -> Option<i32> {
    libc::WIFSIGNALED(status).then(|| libc::WTERMSIG(status))
}

/// SIGTERM sent to a child forked after `init()` ends that child, as the
/// signal's default action would; the parent's signal handling never hears
/// of it, and the parent goes on tracing.
#[test]
fn repro_sigterm_to_a_forked_child_ends_the_child_and_spares_the_parent() {
    if !in_child() {
        rerun(
            "repro_sigterm_to_a_forked_child_ends_the_child_and_spares_the_parent",
            &[],
        );
        return;
    }
    let exporter = InMemorySpanExporter::default();
    let guard = traced::Config::new()
        .span_exporter(exporter.clone())
        .init()
        .expect("init");
    unit_of_work(1);
    let child = fork(|| {
        // Waits to be ended; gives up after a while, so that a child nobody
        // ends does not outlive the test.
        let give_up = Instant::now() + Duration::from_secs(30);
        while Instant::now() < give_up {
            std::thread::sleep(Duration::from_millis(10));
        }
        3
    });
    // SAFETY: kill(2) on our own child.
    assert_eq!(unsafe { libc::kill(child, libc::SIGTERM) }, 0);
    let status = wait(child);
    assert_eq!(
        killed_by(status),
        Some(libc::SIGTERM),
        "the child ended by SIGTERM (exit code {:?})",
        exited_with(status)
    );
    unit_of_work(2);
    guard.flush().expect("the parent flushes as usual");
    assert_eq!(numbers(&exporter), ["1", "2"]);
    guard.shutdown().expect("the parent shuts down as usual");
}

/// Trace ids made by the OpenTelemetry API, `count` of them.
fn trace_ids(count: usize) -> Vec<TraceId> {
    let tracer = global::tracer("fork");
    (0..count)
        .map(|_| {
            let mut span = tracer.start("id");
            let id = span.span_context().trace_id();
            span.end();
            id
        })
        .collect()
}

/// A forked child does not repeat its parent's ids: the generator state it
/// inherited is reseeded.
#[test]
fn repro_a_forked_child_makes_trace_ids_of_its_own() {
    if !in_child() {
        rerun("repro_a_forked_child_makes_trace_ids_of_its_own", &[]);
        return;
    }
    let guard = traced::Config::new()
        .span_exporter(InMemorySpanExporter::default())
        .init()
        .expect("init");
    trace_ids(10);
    let mut fds = [0; 2];
    // SAFETY: pipe(2) writes two descriptors into `fds`.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    let [read_end, write_end] = fds;
    let child = fork(|| {
        let bytes: Vec<u8> = trace_ids(64)
            .into_iter()
            .flat_map(|id| id.to_bytes())
            .collect();
        // SAFETY: `bytes` outlives the call; the descriptor is the pipe's.
        let written = unsafe { libc::write(write_end, bytes.as_ptr().cast(), bytes.len()) };
        i32::from(usize::try_from(written).ok() != Some(bytes.len()))
    });
    // SAFETY: this process owns the write end, and the read end from here.
    unsafe { libc::close(write_end) };
    let mut pipe = unsafe { std::fs::File::from_raw_fd(read_end) };
    let mut bytes = Vec::new();
    pipe.read_to_end(&mut bytes).unwrap();
    assert_eq!(exited_with(wait(child)), Some(0));
    let parents = trace_ids(64);
    let childs: Vec<TraceId> = bytes
        .chunks(16)
        .map(|chunk| TraceId::from_bytes(chunk.try_into().unwrap()))
        .collect();
    assert_eq!(childs.len(), 64);
    let shared: Vec<&TraceId> = childs.iter().filter(|id| parents.contains(id)).collect();
    assert!(shared.is_empty(), "ids made by both: {shared:?}");
    drop(guard);
}

/// What a forked child does with the set-up it inherited returns at once
/// (it has no export thread: nothing of the child's is recorded through
/// it); the child can `init()` tracing of its own, which works; the parent
/// goes on, and never receives the child's spans.
#[test]
fn repro_a_forked_child_flushes_at_once_and_can_trace_on_its_own() {
    if !in_child() {
        rerun(
            "repro_a_forked_child_flushes_at_once_and_can_trace_on_its_own",
            &[],
        );
        return;
    }
    let exporter = InMemorySpanExporter::default();
    let guard = traced::Config::new()
        .span_exporter(exporter.clone())
        .shutdown_timeout(Duration::from_secs(2))
        .init()
        .expect("init");
    unit_of_work(1);
    // SAFETY: as in `fork`.
    let child = unsafe { libc::fork() };
    assert!(child >= 0, "fork failed");
    if child == 0 {
        let mut failed = 0;
        unit_of_work(10);
        if traced::flush().is_err() {
            failed |= 1;
        }
        if guard.shutdown().is_err() {
            failed |= 2;
        }
        let own = InMemorySpanExporter::default();
        match traced::Config::new().span_exporter(own.clone()).init() {
            Ok(guard) => {
                unit_of_work(20);
                if guard.flush().is_err() {
                    failed |= 4;
                }
                if numbers(&own) != ["20"] {
                    failed |= 8;
                }
                if guard.shutdown().is_err() {
                    failed |= 4;
                }
            }
            Err(_) => failed |= 16,
        }
        // SAFETY: _exit(2) ends the child at once.
        unsafe { libc::_exit(failed) }
    }
    let status = wait(child);
    assert_eq!(
        exited_with(status),
        Some(0),
        "in the child: 1 flush failed, 2 shutdown failed, 4 its own flush or shutdown failed, 8 \
         its own spans wrong, 16 init failed"
    );
    unit_of_work(2);
    guard.flush().expect("the parent flushes as usual");
    assert_eq!(numbers(&exporter), ["1", "2"]);
    guard.shutdown().expect("the parent shuts down as usual");
}
