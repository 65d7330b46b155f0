//! `traced::init()` driven by the environment alone, as a deployed service
//! would be. Each test runs its program in a child process with its own
//! `OTEL_*` variables (and a fresh global provider).

use std::collections::HashMap;
use std::process::{Command, Output};
use std::time::Duration;

use traced::{InitError, traced};
use traced_tests::collector::Collector;

const CHILD: &str = "TRACED_TEST_CHILD";

/// Runs test `name` of this binary again in a child process with `env`, and
/// no inherited `OTEL_*` variable.
fn rerun(name: &str, env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(std::env::current_exe().expect("test binary"));
    command.args([name, "--exact", "--nocapture", "--test-threads=1"]);
    for (key, _) in std::env::vars() {
        if key.starts_with("OTEL_") {
            command.env_remove(key);
        }
    }
    command.env(CHILD, "1").envs(env.iter().copied());
    let output = command.output().expect("running the child test");
    assert!(
        output.status.success(),
        "child failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// What a child tells its parent test, on stdout (stderr is the console
/// exporter's).
#[allow(clippy::print_stdout)]
fn report(line: &str) {
    println!("{line}");
}

fn in_child() -> bool {
    std::env::var_os(CHILD).is_some()
}

#[traced(kind = server, attrs(note = "a fairly long attribute value", a = 1, b = 2, c = 3))]
fn serve(#[attr] request: u32) -> u32 {
    request + 1
}

#[test]
fn the_environment_alone_sends_spans_to_a_collector() {
    if in_child() {
        let _guard = traced::init().expect("init from the environment");
        serve(1);
        return;
    }
    for protocol in ["grpc", "http/protobuf"] {
        let collector = Collector::start();
        let endpoint = match protocol {
            "grpc" => collector.grpc_endpoint(),
            _ => collector.http_endpoint(),
        };
        rerun(
            "the_environment_alone_sends_spans_to_a_collector",
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
                ("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=secret%20value"),
                ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
                ("OTEL_SERVICE_NAME", "env-only"),
                (
                    "OTEL_RESOURCE_ATTRIBUTES",
                    "deployment.environment.name=prod,team=a%2Cb",
                ),
                ("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "8"),
                ("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "5"),
                ("OTEL_BSP_SCHEDULE_DELAY", "100"),
                ("OTEL_BSP_MAX_QUEUE_SIZE", "64"),
                ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "16"),
            ],
        );
        let spans = collector.wait_for(Duration::from_secs(20), |spans| !spans.is_empty());
        assert_eq!(spans.len(), 1, "{protocol}: {spans:#?}");
        let span = &spans[0];
        assert_eq!(span.name, "serve");
        assert_eq!(span.service_name, "env-only");
        assert_eq!(
            span.resource_attribute("deployment.environment.name"),
            Some("Str(prod)")
        );
        assert_eq!(span.resource_attribute("team"), Some("Str(a,b)"));
        assert_eq!(span.attribute("note"), Some("Str(a fairly)"), "{span:#?}");
        assert_eq!(span.attributes.len(), 5, "{span:#?}");
    }
}

#[test]
fn a_bad_value_is_an_error_naming_the_variable_not_a_panic() {
    if in_child() {
        let error = traced::init().expect_err("a bad value must fail");
        report(&format!("error: {error}"));
        assert!(matches!(error, InitError::Config(_)));
        return;
    }
    let cases: &[(&str, &str)] = &[
        ("OTEL_TRACES_EXPORTER", "jaeger"),
        ("OTEL_SDK_DISABLED", "maybe"),
        ("OTEL_RESOURCE_ATTRIBUTES", "key-without-value"),
        ("OTEL_TRACES_SAMPLER", "sometimes"),
        ("OTEL_PROPAGATORS", "xray"),
        ("OTEL_SPAN_LINK_COUNT_LIMIT", "lots"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "0"),
    ];
    for (variable, value) in cases {
        let output = rerun(
            "a_bad_value_is_an_error_naming_the_variable_not_a_panic",
            &[(variable, value)],
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            stdout.contains(&format!(
                "error: {variable}: invalid value \"{value}\"; expected "
            )),
            "{stdout}"
        );
    }
    let output = rerun(
        "a_bad_value_is_an_error_naming_the_variable_not_a_panic",
        &[
            ("OTEL_TRACES_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "soon"),
        ],
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains(
        "error: OTEL_EXPORTER_OTLP_TIMEOUT: invalid value \"soon\"; expected a whole number of milliseconds"
    ));
}

#[test]
fn init_twice_is_an_error_until_the_guard_is_dropped() {
    if in_child() {
        let guard = traced::init().expect("first init");
        let error = traced::init().expect_err("second init while the guard lives");
        assert!(matches!(error, InitError::AlreadyInitialised), "{error}");
        assert_eq!(
            error.to_string(),
            "tracing is already initialised; drop the first guard before calling init() again"
        );
        guard.shutdown().expect("console shutdown");
        let again = traced::init().expect("init after the guard is gone");
        serve(2);
        drop(again);
        return;
    }
    let output = rerun("init_twice_is_an_error_until_the_guard_is_dropped", &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let trees = stderr
        .lines()
        .filter(|line| line.starts_with("serve "))
        .count();
    assert_eq!(trees, 1, "only the second set-up printed a span: {stderr}");
}

#[test]
fn disabled_or_no_exporter_prints_nothing_and_still_propagates() {
    if in_child() {
        let _guard = traced::init().expect("init");
        serve(3);
        let mut headers: HashMap<String, String> = HashMap::new();
        let remote = traced::opentelemetry::trace::SpanContext::new(
            traced::opentelemetry::trace::TraceId::from(0xabc_u128),
            traced::opentelemetry::trace::SpanId::from(0xdef_u64),
            traced::opentelemetry::trace::TraceFlags::SAMPLED,
            true,
            Default::default(),
        );
        use traced::opentelemetry::trace::TraceContextExt;
        let cx = traced::opentelemetry::Context::new().with_remote_span_context(remote);
        traced::propagation::inject_context(&cx, &mut headers);
        report(&format!("headers: {headers:?}"));
        return;
    }
    for env in [
        &[("OTEL_SDK_DISABLED", "true")][..],
        &[("OTEL_TRACES_EXPORTER", "none")][..],
    ] {
        let output = rerun(
            "disabled_or_no_exporter_prints_nothing_and_still_propagates",
            env,
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("serve "), "{env:?}: {stderr}");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            stdout.contains("00000000000000000000000000000abc-0000000000000def-01"),
            "{env:?}: {stdout}"
        );
    }
}

#[test]
fn propagators_from_the_environment() {
    if in_child() {
        let _guard = traced::init().expect("init");
        let remote = traced::opentelemetry::trace::SpanContext::new(
            traced::opentelemetry::trace::TraceId::from(0xabc_u128),
            traced::opentelemetry::trace::SpanId::from(0xdef_u64),
            traced::opentelemetry::trace::TraceFlags::SAMPLED,
            true,
            Default::default(),
        );
        use traced::opentelemetry::trace::TraceContextExt;
        let cx = traced::opentelemetry::Context::new().with_remote_span_context(remote);
        let mut ours: HashMap<String, String> = HashMap::new();
        traced::propagation::inject_context(&cx, &mut ours);
        let mut global: HashMap<String, String> = HashMap::new();
        traced::opentelemetry::global::get_text_map_propagator(|propagator| {
            propagator.inject_context(&cx, &mut global)
        });
        let mut keys: Vec<_> = ours.keys().cloned().collect();
        keys.sort();
        report(&format!("ours: {keys:?}"));
        let mut keys: Vec<_> = global.keys().cloned().collect();
        keys.sort();
        report(&format!("global: {keys:?}"));
        return;
    }
    // `traced::propagation` never sends an empty `tracestate`; the upstream
    // propagator installed as the global one does.
    let cases = [
        ("b3", r#"["b3"]"#, r#"["b3"]"#),
        (
            "b3multi",
            r#"["x-b3-sampled", "x-b3-spanid", "x-b3-traceid"]"#,
            r#"["x-b3-sampled", "x-b3-spanid", "x-b3-traceid"]"#,
        ),
        ("jaeger", r#"["uber-trace-id"]"#, r#"["uber-trace-id"]"#),
        (
            "tracecontext,baggage",
            r#"["traceparent"]"#,
            r#"["traceparent", "tracestate"]"#,
        ),
        ("none", "[]", "[]"),
    ];
    for (propagators, keys, global_keys) in cases {
        let output = rerun(
            "propagators_from_the_environment",
            &[
                ("OTEL_PROPAGATORS", propagators),
                ("OTEL_TRACES_EXPORTER", "none"),
            ],
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            stdout.contains(&format!("ours: {keys}")),
            "{propagators}: {stdout}"
        );
        assert!(
            stdout.contains(&format!("global: {global_keys}")),
            "{propagators}: {stdout}"
        );
    }
}
