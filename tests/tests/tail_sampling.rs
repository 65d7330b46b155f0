//! Tail sampling as a service meets it: real spans through `traced::init()`'s
//! pipeline, decided on its export thread, into an exporter that keeps each
//! batch, the console, or a real collector (rotel). Each test runs in a
//! child process of its own, with its own `init()` and environment.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use traced::opentelemetry::global::{self, BoxedTracer};
use traced::opentelemetry::trace::{
    Span as _, SpanContext, SpanId, SpanKind, Status, TraceContextExt, TraceFlags, TraceId,
    TraceState, Tracer as _,
};
use traced::opentelemetry::{Context, KeyValue};
use traced::opentelemetry_sdk::error::OTelSdkResult;
use traced::opentelemetry_sdk::trace::{
    Sampler, SamplingDecision, ShouldSample, SpanData, SpanExporter,
};
use traced::{TailSampling, TracingGuard, traced};
use traced_peers::Collector;
use traced_tests::child::{in_child, rerun};

/// An exporter that keeps every batch it is given, as given.
#[derive(Clone, Debug, Default)]
struct Batches(Arc<Mutex<Vec<Vec<SpanData>>>>);

impl SpanExporter for Batches {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.0.lock().unwrap().push(batch);
        Ok(())
    }
}

impl Batches {
    fn spans(&self) -> Vec<SpanData> {
        self.0.lock().unwrap().iter().flatten().cloned().collect()
    }

    /// The exported spans of each trace, and whether each trace came in one
    /// batch.
    fn traces(&self) -> HashMap<TraceId, (Vec<SpanData>, bool)> {
        let batches = self.0.lock().unwrap();
        let mut traces: HashMap<TraceId, (Vec<SpanData>, BTreeSet<usize>)> = HashMap::new();
        for (n, batch) in batches.iter().enumerate() {
            for span in batch {
                let trace = traces.entry(span.span_context.trace_id()).or_default();
                trace.0.push(span.clone());
                trace.1.insert(n);
            }
        }
        traces
            .into_iter()
            .map(|(id, (spans, batches))| (id, (spans, batches.len() == 1)))
            .collect()
    }

    /// Names of the spans exported, sorted.
    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.spans().iter().map(|s| s.name.to_string()).collect();
        names.sort();
        names
    }
}

/// `init()` exporting to a [`Batches`], with `tail_sampling` in code (else
/// from `TRACED_TAIL_SAMPLING`).
fn init(tail_sampling: Option<TailSampling>) -> (TracingGuard, Batches) {
    let batches = Batches::default();
    let mut config = traced::Config::new()
        .service_name("tail")
        .span_exporter(batches.clone());
    if let Some(policy) = tail_sampling {
        config = config.tail_sampling(policy);
    }
    (config.init().expect("init"), batches)
}

/// What the SDK's ratio sampler answers for `trace_id`: what every process
/// sampling by that ratio answers.
fn sdk_ratio_keeps(ratio: f64, trace_id: TraceId) -> bool {
    Sampler::TraceIdRatioBased(ratio)
        .should_sample(None, trace_id, "any", &SpanKind::Server, &[], &[])
        .decision
        == SamplingDecision::RecordAndSample
}

/// What follows `marker` on a line a child printed (the test harness may
/// have written on the same line first).
fn after(line: &str, marker: &str) -> Option<String> {
    line.find(marker)
        .map(|at| line[at + marker.len()..].trim().to_owned())
}

/// Polls `done` until it holds; panics after 20 s.
fn wait_until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within 20 s");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[derive(Debug, thiserror::Error)]
#[error("request {0} failed")]
struct Failed(u64);

/// No attribute, no error: its span reaches the export thread with nothing
/// but ids and times, and is turned into `SpanData` only if kept.
#[traced]
fn load(n: u64) -> u64 {
    n * 2
}

#[traced]
fn render(#[attr] n: u64, fail: bool) -> Result<(), Failed> {
    if fail { Err(Failed(n)) } else { Ok(()) }
}

/// One request: a server span that claims to have lasted `lasted` (so that
/// slow and fast are far apart without waiting), and two traced children,
/// the second failing when asked.
fn request(tracer: &BoxedTracer, n: u64, fail: bool, lasted: Duration) -> TraceId {
    let start = SystemTime::now();
    let span = tracer
        .span_builder("GET /items/{id}")
        .with_kind(SpanKind::Server)
        .with_start_time(start)
        .start(tracer);
    let cx = Context::current_with_span(span);
    {
        let _attached = cx.clone().attach();
        load(n);
        let _ = render(n, fail);
    }
    cx.span().end_with_timestamp(start + lasted);
    cx.span().span_context().trace_id()
}

#[test]
fn ten_thousand_requests_keep_exactly_the_failed_the_slow_and_the_ratios_share() {
    if !in_child() {
        rerun(
            "ten_thousand_requests_keep_exactly_the_failed_the_slow_and_the_ratios_share",
            &[],
        );
        return;
    }
    // Memory enough for every trace: the budget has a test of its own.
    let policy = TailSampling::new()
        .slower_than(Duration::from_secs(1))
        .ratio(0.01)
        .max_memory(256 * 1024 * 1024);
    let (guard, batches) = init(Some(policy));
    let tracer = global::tracer("load");
    let (mut failed, mut slow, mut rest) = (HashSet::new(), HashSet::new(), Vec::new());
    for n in 0..10_000_u64 {
        let fail = n % 100 == 7;
        let lasted = if n % 100 == 42 {
            Duration::from_secs(5)
        } else {
            Duration::from_millis(3)
        };
        let trace_id = request(&tracer, n, fail, lasted);
        if fail {
            failed.insert(trace_id);
        } else if lasted > Duration::from_secs(1) {
            slow.insert(trace_id);
        } else {
            rest.push(trace_id);
        }
    }
    guard.flush().expect("flush");
    let by_ratio: HashSet<TraceId> = rest
        .into_iter()
        .filter(|trace_id| sdk_ratio_keeps(0.01, *trace_id))
        .collect();
    // 9 800 others at 1 %: 98 expected, σ ≈ 9.9; five σ either side.
    assert!(
        (49..=147).contains(&by_ratio.len()),
        "{} of 9800 by ratio",
        by_ratio.len()
    );
    let traces = batches.traces();
    let exported: HashSet<TraceId> = traces.keys().copied().collect();
    let expected: HashSet<TraceId> = failed
        .iter()
        .chain(&slow)
        .chain(&by_ratio)
        .copied()
        .collect();
    assert_eq!(exported.len(), expected.len());
    assert!(exported == expected, "other traces than expected were kept");
    for (trace_id, (spans, one_batch)) in &traces {
        let mut names: Vec<&str> = spans.iter().map(|s| s.name.as_ref()).collect();
        names.sort_unstable();
        assert_eq!(names, ["GET /items/{id}", "load", "render"], "{trace_id}");
        assert!(one_batch, "trace {trace_id} came in several batches");
        let root = spans.iter().find(|s| s.name == "GET /items/{id}").unwrap();
        let load = spans.iter().find(|s| s.name == "load").unwrap();
        assert_eq!(load.parent_span_id, root.span_context.span_id());
        let function = load
            .attributes
            .iter()
            .find(|kv| kv.key.as_str() == "code.function.name")
            .map(|kv| kv.value.as_str().into_owned());
        assert_eq!(function.as_deref(), Some("tail_sampling::load"));
    }
    let report = guard.tail_sampling().expect("tail sampling is on");
    assert_eq!(
        (report.errors, report.slow, report.ratio, report.dropped),
        (
            100,
            100,
            by_ratio.len() as u64,
            9800 - by_ratio.len() as u64
        )
    );
    assert_eq!(report.decided_early, 0);
    assert_eq!(report.dropped_spans, 3 * report.dropped);
}

#[traced]
async fn write_back(
    #[attr] part: u32,
    fail: bool,
    done: tokio::sync::oneshot::Receiver<()>,
) -> Result<(), Failed> {
    let _ = done.await;
    if fail {
        Err(Failed(part.into()))
    } else {
        Ok(())
    }
}

type Parts = Vec<(
    tokio::task::JoinHandle<Result<(), Failed>>,
    tokio::sync::oneshot::Sender<()>,
)>;

/// Starts three parts on the runtime, the last one failing when asked,
/// and returns before they end: the root ends first.
#[traced(name = "POST /upload", kind = server)]
fn upload(runtime: &tokio::runtime::Runtime, last_fails: bool) -> (Parts, Context) {
    let _entered = runtime.enter();
    let parts = (0..3)
        .map(|part| {
            let (finish, done) = tokio::sync::oneshot::channel();
            let task = traced::spawn(write_back(part, last_fails && part == 2, done));
            (task, finish)
        })
        .collect();
    (parts, Context::current())
}

/// Lets each part end, on the runtime's workers, and waits for them.
fn finish(runtime: &tokio::runtime::Runtime, parts: Parts) {
    for (task, finish) in parts {
        finish.send(()).unwrap();
        let _ = runtime.block_on(task).unwrap();
    }
}

/// A part started under `cx` after its trace was decided.
fn late_part(runtime: &tokio::runtime::Runtime, cx: &Context, fail: bool) {
    let (finish, done) = tokio::sync::oneshot::channel();
    let task = {
        let _attached = cx.clone().attach();
        let _entered = runtime.enter();
        traced::spawn(write_back(9, fail, done))
    };
    finish.send(()).unwrap();
    let _ = runtime.block_on(task).unwrap();
}

#[test]
fn children_that_end_after_their_root_on_other_tasks_are_kept_with_it() {
    if !in_child() {
        rerun(
            "children_that_end_after_their_root_on_other_tasks_are_kept_with_it",
            &[],
        );
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // A grace no test outlasts: the flush decides.
    let (guard, batches) = init(Some(TailSampling::new().grace(Duration::from_secs(3600))));
    let (parts, failed) = upload(&runtime, true);
    finish(&runtime, parts);
    let (parts, fine) = upload(&runtime, false);
    finish(&runtime, parts);
    assert!(batches.spans().is_empty(), "exported before the decision");
    guard.flush().expect("flush");
    let failed_id = failed.span().span_context().trace_id();
    let traces = batches.traces();
    assert_eq!(traces.len(), 1, "{:?}", batches.names());
    let (spans, one_batch) = &traces[&failed_id];
    assert!(one_batch);
    let root = spans
        .iter()
        .find(|s| s.name == "POST /upload")
        .expect("root");
    let parts: Vec<&SpanData> = spans.iter().filter(|s| s.name == "write_back").collect();
    assert_eq!(parts.len(), 3);
    for part in parts {
        assert_eq!(part.parent_span_id, root.span_context.span_id());
        assert!(
            part.end_time > root.end_time,
            "a part ended before its root"
        );
    }

    // After the decisions: a part of the kept trace is exported as it ends;
    // a failing part of the dropped trace is not.
    late_part(&runtime, &failed, false);
    late_part(&runtime, &fine, true);
    guard.flush().expect("flush");
    let late: Vec<SpanData> = batches
        .spans()
        .into_iter()
        .filter(|s| {
            s.attributes
                .iter()
                .any(|kv| kv.key.as_str() == "part" && kv.value == 9_i64.into())
        })
        .collect();
    assert_eq!(late.len(), 1);
    assert_eq!(late[0].span_context.trace_id(), failed_id);
    let report = guard.tail_sampling().unwrap();
    assert_eq!((report.errors, report.dropped), (1, 1));
    assert_eq!(report.dropped_spans, 5, "four, and the late failing part");
}

#[traced]
fn explode() {
    panic!("the lamp exploded");
}

#[traced]
async fn stalled() {
    std::future::pending::<()>().await;
}

/// Polls a traced future once and drops it: a cancelled call.
fn cancel(future: impl Future<Output = ()>) {
    let mut future = pin!(future);
    let waker = std::task::Waker::noop();
    let mut poll_cx = std::task::Context::from_waker(waker);
    assert!(future.as_mut().poll(&mut poll_cx).is_pending());
}

#[test]
fn a_panic_and_a_cancelled_future_keep_their_traces_each_selectably() {
    const EXPECT: &str = "TRACED_TEST_EXPECT";
    if !in_child() {
        let test = "a_panic_and_a_cancelled_future_keep_their_traces_each_selectably";
        rerun(test, &[("TRACED_TAIL_SAMPLING", "on"), (EXPECT, "all")]);
        rerun(
            test,
            &[
                ("TRACED_TAIL_SAMPLING", "panics=false,cancellations=false"),
                (EXPECT, "errors"),
            ],
        );
        rerun(
            test,
            &[
                ("TRACED_TAIL_SAMPLING", "errors=false"),
                (EXPECT, "not errors"),
            ],
        );
        return;
    }
    let (guard, batches) = init(None);
    assert!(std::panic::catch_unwind(explode).is_err());
    cancel(stalled());
    let _ = render(1, true);
    let _ = render(2, false);
    guard.flush().expect("flush");
    let report = guard.tail_sampling().expect("on from the environment");
    let kept = batches.names();
    match std::env::var(EXPECT).unwrap().as_str() {
        "all" => {
            assert_eq!(kept, ["explode", "render", "stalled"]);
            assert_eq!(
                (
                    report.panics,
                    report.cancellations,
                    report.errors,
                    report.dropped
                ),
                (1, 1, 1, 1)
            );
            let spans = batches.spans();
            let exploded = spans.iter().find(|s| s.name == "explode").unwrap();
            assert!(exploded.events.iter().any(|e| e.name == "exception"));
        }
        "errors" => {
            assert_eq!(kept, ["render"]);
            assert_eq!((report.errors, report.dropped), (1, 3));
        }
        "not errors" => {
            assert_eq!(kept, ["explode", "stalled"]);
            assert_eq!(
                (report.panics, report.cancellations, report.dropped),
                (1, 1, 2)
            );
        }
        other => panic!("unknown expectation {other}"),
    }
}

#[test]
fn a_root_that_never_ends_does_not_hold_its_children() {
    if !in_child() {
        rerun("a_root_that_never_ends_does_not_hold_its_children", &[]);
        return;
    }
    let policy = TailSampling::new()
        .slower_than(Duration::from_millis(50))
        .grace(Duration::ZERO)
        .max_hold(Duration::from_millis(100));
    let batches = Batches::default();
    let guard = traced::Config::new()
        .span_exporter(batches.clone())
        .schedule_delay(Duration::from_millis(20))
        .tail_sampling(policy)
        .init()
        .expect("init");
    let tracer = global::tracer("server");
    let server = Context::current_with_span(tracer.start("accept loop"));
    for n in 0..3 {
        let mut span = tracer.start_with_context("connection", &server);
        span.set_attribute(KeyValue::new("n", n));
        span.end();
    }
    // No flush: the maximum hold lets them go.
    wait_until("the first connections exported", || {
        batches.spans().len() == 3
    });
    tracer.start_with_context("connection", &server).end();
    wait_until("a later connection exported", || batches.spans().len() == 4);
    let report = guard.tail_sampling().unwrap();
    assert_eq!((report.slow, report.dropped), (1, 0));
    assert!(batches.names().iter().all(|name| name == "connection"));
    drop(server);
}

#[test]
fn held_spans_over_the_memory_budget_are_decided_early_and_counted() {
    if !in_child() {
        rerun(
            "held_spans_over_the_memory_budget_are_decided_early_and_counted",
            &[],
        );
        return;
    }
    let policy = TailSampling::new()
        .grace(Duration::from_secs(3600))
        .max_memory(64 * 1024);
    let (guard, batches) = init(Some(policy));
    let tracer = global::tracer("load");
    // One span per trace: an early decision knows the whole trace. (Spans
    // of a trace that reach the export thread after its early decision
    // follow it, whatever they hold.)
    let failed: HashSet<TraceId> = (0..2000_u64)
        .filter_map(|n| {
            let fail = n % 10 == 3;
            let mut span = tracer.start("GET /items/{id}");
            span.set_attribute(KeyValue::new("item.description", "a lamp ".repeat(20)));
            if fail {
                span.set_status(Status::error("out of stock"));
            }
            let trace_id = span.span_context().trace_id();
            span.end();
            fail.then_some(trace_id)
        })
        .collect();
    guard.flush().expect("flush");
    let report = guard.tail_sampling().unwrap();
    assert!(
        report.decided_early > 1000,
        "64 KiB holds a hundred such spans at most: {report:?}"
    );
    assert_eq!((report.errors, report.dropped), (200, 1800));
    let kept: HashSet<TraceId> = batches
        .spans()
        .iter()
        .map(|span| span.span_context.trace_id())
        .collect();
    assert!(
        kept == failed,
        "other traces than the failed ones were kept"
    );
}

/// Trace ids that look random but are the same in every process.
fn fixed_trace_ids() -> impl Iterator<Item = TraceId> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    (0..400).map(move |_| {
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        TraceId::from((u128::from(next()) << 64) | u128::from(next()))
    })
}

#[test]
fn processes_with_the_same_ratio_keep_the_same_traces() {
    const KEPT: &str = "kept trace ";
    if !in_child() {
        let test = "processes_with_the_same_ratio_keep_the_same_traces";
        let kept = |env: &[(&str, &str)]| -> BTreeSet<String> {
            String::from_utf8(rerun(test, env).stderr)
                .unwrap()
                .lines()
                .filter_map(|line| after(line, KEPT))
                .collect()
        };
        let tail = ("TRACED_TAIL_SAMPLING", "errors=false,ratio=0.25");
        let first = kept(&[tail]);
        let second = kept(&[tail]);
        // A service that head-samples by the same ratio records the same.
        let head = kept(&[
            ("OTEL_TRACES_SAMPLER", "traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
        ]);
        let expected: BTreeSet<String> = fixed_trace_ids()
            .filter(|trace_id| sdk_ratio_keeps(0.25, *trace_id))
            .map(|trace_id| trace_id.to_string())
            .collect();
        assert!((60..=140).contains(&expected.len()), "{}", expected.len());
        assert_eq!(first, expected);
        assert_eq!(second, expected);
        assert_eq!(head, expected);
        return;
    }
    end_fixed_traces_and_print_the_kept(KEPT, "decided traces ");
}

/// Ends one all-OK span for each of [`fixed_trace_ids`], each continuing an
/// upstream that sampled it, then prints each trace kept and, under tail
/// sampling, how many were decided.
fn end_fixed_traces_and_print_the_kept(kept: &str, decided: &str) {
    let (guard, batches) = init(None);
    let tracer = global::tracer("consumer");
    for trace_id in fixed_trace_ids() {
        // A request from upstream, sampled there.
        let upstream = Context::new().with_remote_span_context(SpanContext::new(
            trace_id,
            SpanId::from(7_u64),
            TraceFlags::SAMPLED,
            true,
            TraceState::NONE,
        ));
        drop(
            tracer
                .span_builder("handle")
                .with_kind(SpanKind::Server)
                .start_with_context(&tracer, &upstream),
        );
    }
    guard.flush().expect("flush");
    if let Some(report) = guard.tail_sampling() {
        eprintln!("{decided}{}", report.kept() + report.dropped);
    }
    for trace_id in batches.traces().keys() {
        eprintln!("{kept}{trace_id}");
    }
}

#[test]
fn the_ratio_of_the_rest_is_the_head_samplers_trace_id_ratio_else_0() {
    const KEPT: &str = "kept trace ";
    const DECIDED: &str = "decided traces ";
    if !in_child() {
        let test = "the_ratio_of_the_rest_is_the_head_samplers_trace_id_ratio_else_0";
        let kept = |env: &[(&str, &str)]| -> BTreeSet<String> {
            let stderr = String::from_utf8(rerun(test, env).stderr).unwrap();
            let decided: Vec<String> = stderr
                .lines()
                .filter_map(|line| after(line, DECIDED))
                .collect();
            assert_eq!(decided, ["400"], "{env:?}:\n{stderr}");
            stderr
                .lines()
                .filter_map(|line| after(line, KEPT))
                .collect()
        };
        let every: BTreeSet<String> = fixed_trace_ids().map(|id| id.to_string()).collect();
        let quarter: BTreeSet<String> = fixed_trace_ids()
            .filter(|trace_id| sdk_ratio_keeps(0.25, *trace_id))
            .map(|trace_id| trace_id.to_string())
            .collect();
        assert!((60..=140).contains(&quarter.len()), "{}", quarter.len());
        let none = BTreeSet::new();
        let on = ("TRACED_TAIL_SAMPLING", "on");
        let sampler = |name| ("OTEL_TRACES_SAMPLER", name);
        let arg = ("OTEL_TRACES_SAMPLER_ARG", "0.25");
        let check = |env: &[(&str, &str)], expected: &BTreeSet<String>| {
            assert_eq!(&kept(env), expected, "{env:?}");
        };
        check(&[on], &none);
        check(&[on, sampler("always_on")], &none);
        check(&[on, sampler("parentbased_always_on")], &none);
        check(&[on, sampler("always_off")], &none);
        check(&[on, sampler("parentbased_always_off")], &none);
        check(&[on, sampler("parentbased_traceidratio"), arg], &quarter);
        check(&[on, sampler("traceidratio"), arg], &quarter);
        check(&[on, sampler("traceidratio")], &every);
        let quarter_of_the_rest = ("TRACED_TAIL_SAMPLING", "ratio=0.25");
        check(&[quarter_of_the_rest, sampler("always_on")], &quarter);
        check(&[("TRACED_TAIL_SAMPLING", "ratio=1")], &every);
        return;
    }
    end_fixed_traces_and_print_the_kept(KEPT, DECIDED);
}

#[traced(root, kind = server)]
fn checkout(fail: bool) -> Result<HashMap<String, String>, Failed> {
    let mut headers = HashMap::new();
    traced::propagation::inject(&mut headers);
    if fail { Err(Failed(1)) } else { Ok(headers) }
}

#[traced(kind = server, parent = upstream)]
fn handle_unsampled(upstream: &Context) -> Result<(), Failed> {
    Err(Failed(2))
}

#[test]
fn every_trace_is_recorded_and_sent_on_as_sampled_whatever_the_head_ratio() {
    if !in_child() {
        rerun(
            "every_trace_is_recorded_and_sent_on_as_sampled_whatever_the_head_ratio",
            &[
                ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
                ("OTEL_TRACES_SAMPLER_ARG", "0"),
                ("TRACED_TAIL_SAMPLING", "on"),
            ],
        );
        return;
    }
    let (guard, batches) = init(None);
    let headers = checkout(false).unwrap();
    let traceparent = &headers["traceparent"];
    assert!(
        traceparent.ends_with("-01") || traceparent.ends_with("-03"),
        "sent on as not sampled: {traceparent}"
    );
    assert!(checkout(true).is_err());
    // An upstream service decided not to sample: that decision stands.
    let mut incoming = HashMap::new();
    incoming.insert(
        "traceparent".to_owned(),
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00".to_owned(),
    );
    let upstream = traced::propagation::extract(&incoming);
    assert!(handle_unsampled(&upstream).is_err());
    guard.flush().expect("flush");
    assert_eq!(batches.names(), ["checkout"]);
    let report = guard.tail_sampling().unwrap();
    assert_eq!((report.errors, report.dropped), (1, 1));
}

#[test]
fn the_console_prints_only_kept_traces_and_the_guard_reports_the_decisions() {
    if !in_child() {
        let output = rerun(
            "the_console_prints_only_kept_traces_and_the_guard_reports_the_decisions",
            &[
                ("TRACED_TAIL_SAMPLING", "on"),
                ("OTEL_TRACES_EXPORTER", "console"),
            ],
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        let headers: Vec<&str> = stderr
            .lines()
            .filter(|line| line.starts_with("trace "))
            .collect();
        assert_eq!(headers.len(), 1, "{stderr}");
        assert!(
            headers[0].contains(" · 3 spans · ") && headers[0].ends_with(" · kept: error · tail"),
            "{stderr}"
        );
        assert!(stderr.contains("✗ request 13 failed"), "{stderr}");
        assert!(
            stderr.contains("traced: tail sampling kept 1 of 20 traces (1 error) and dropped 19\n"),
            "{stderr}"
        );
        return;
    }
    let _guard = traced::Config::new()
        .service_name("tail")
        .init()
        .expect("init");
    let tracer = global::tracer("load");
    for n in 0..20 {
        request(&tracer, n, n == 13, Duration::from_millis(1));
    }
}

#[test]
fn at_the_collector_kept_traces_arrive_whole_and_dropped_ones_never() {
    const KEPT: &str = "kept trace ";
    const DROPPED: &str = "dropped trace ";
    if !in_child() {
        let collector = Collector::start();
        let output = rerun(
            "at_the_collector_kept_traces_arrive_whole_and_dropped_ones_never",
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", &collector.grpc_endpoint()),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
                ("TRACED_TAIL_SAMPLING", "on"),
            ],
        );
        let stderr = String::from_utf8(output.stderr).unwrap();
        let ids = |prefix: &str| -> BTreeSet<String> {
            stderr
                .lines()
                .filter_map(|line| after(line, prefix))
                .collect()
        };
        let (kept, dropped) = (ids(KEPT), ids(DROPPED));
        assert_eq!((kept.len(), dropped.len()), (6, 45), "{stderr}");
        // The last kept trace leaves in the last batch: once it is in, all is.
        let spans = collector.wait_for(Duration::from_secs(20), |spans| {
            spans.iter().any(|s| s.attribute("n") == Some("Int(49)"))
        });
        let mut arrived: HashMap<&str, Vec<&str>> = HashMap::new();
        for span in &spans {
            arrived.entry(&span.trace_id).or_default().push(&span.name);
        }
        let arrived_ids: BTreeSet<String> = arrived.keys().map(|id| (*id).to_owned()).collect();
        assert_eq!(arrived_ids, kept, "{spans:#?}");
        for (trace_id, names) in &mut arrived {
            names.sort_unstable();
            assert_eq!(*names, ["GET /items/{id}", "load", "render"], "{trace_id}");
        }
        assert!(kept.is_disjoint(&dropped));
        return;
    }
    let guard = traced::Config::new()
        .service_name("tail")
        .init()
        .expect("init");
    let tracer = global::tracer("load");
    for n in 0..51_u64 {
        let fail = n % 10 == 9 || n == 0;
        let trace_id = request(&tracer, n, fail, Duration::from_millis(1));
        eprintln!("{}{trace_id}", if fail { KEPT } else { DROPPED });
    }
    guard.flush().expect("flush");
    let delivery = guard.delivery().expect("OTLP export is on");
    assert_eq!(delivery.sampled_out, 45 * 3, "{delivery:?}");
    assert!(delivery.is_complete(), "{delivery}");
    guard
        .shutdown()
        .expect("nothing lost: the dropped spans were sampled out");
}

#[traced]
fn quick() {}

#[traced]
fn sluggish() {
    std::thread::sleep(Duration::from_secs(1));
}

#[test]
fn a_traced_root_with_nothing_but_its_times_is_timed_against_the_threshold() {
    if !in_child() {
        rerun(
            "a_traced_root_with_nothing_but_its_times_is_timed_against_the_threshold",
            &[],
        );
        return;
    }
    // A microsecond and a second, either side of a fifth of a second.
    let (guard, batches) = init(Some(
        TailSampling::new().slower_than(Duration::from_millis(200)),
    ));
    quick();
    sluggish();
    guard.flush().expect("flush");
    assert_eq!(batches.names(), ["sluggish"]);
    let report = guard.tail_sampling().unwrap();
    assert_eq!((report.slow, report.dropped), (1, 1));
}
