//! `traced::init()` driven by the environment alone, as a deployed service
//! would be. Each test runs its program in a child process with its own
//! `OTEL_*` variables (and a fresh global provider).

use std::collections::HashMap;
use std::time::Duration;

use traced::{InitError, traced};
use traced_peers::Collector;

use traced_tests::child::{in_child, rerun};

/// What a child tells its parent test, on stdout (stderr is the console
/// exporter's).
#[allow(clippy::print_stdout)]
fn report(line: &str) {
    println!("{line}");
}

#[traced(kind = server, attrs(note = "a fairly long attribute value", a = 1, b = 2, c = 3))]
fn serve(#[attr] request: u32) -> u32 {
    request + 1
}

#[derive(Debug, thiserror::Error)]
#[error("refused")]
struct Refused;

#[traced]
fn refuse() -> Result<(), Refused> {
    Err(Refused)
}

#[test]
fn the_environment_alone_sends_spans_to_a_collector() {
    if in_child() {
        let _guard = traced::init().expect("init from the environment");
        serve(1);
        let _ = refuse();
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
                ("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "8"),
                ("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "100"),
                ("OTEL_ATTRIBUTE_COUNT_LIMIT", "5"),
                ("OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", "1"),
                ("OTEL_BSP_SCHEDULE_DELAY", "100"),
                ("OTEL_BSP_MAX_QUEUE_SIZE", "64"),
                ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "16"),
            ],
        );
        let spans = collector.wait_for(Duration::from_secs(20), |spans| spans.len() >= 2);
        assert_eq!(spans.len(), 2, "{protocol}: {spans:#?}");
        let refused = spans
            .iter()
            .find(|span| span.name == "refuse")
            .expect("refuse");
        assert_eq!(refused.events.len(), 1, "{refused:#?}");
        assert_eq!(
            refused.events[0].attributes.len(),
            1,
            "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT: {refused:#?}"
        );
        let span = spans
            .iter()
            .find(|span| span.name == "serve")
            .expect("serve");
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

/// The values of stock platform environments, and plain mistakes: the
/// service starts, traces, and says once per variable what it used instead.
#[test]
fn repro_bad_values_warn_once_and_the_service_starts() {
    if in_child() {
        let first = traced::init().expect("a bad value never stops start-up");
        serve(1);
        drop(first);
        let _again = traced::init().expect("again");
        serve(2);
        return;
    }
    let cases: &[(&str, &str, &str)] = &[
        ("OTEL_TRACES_EXPORTER", "jaeger", "console"),
        ("OTEL_SDK_DISABLED", "1", "false"),
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "key-without-value",
            "the other attributes",
        ),
        (
            "OTEL_TRACES_SAMPLER",
            "parentbased_jaeger_remote",
            "parentbased_always_on",
        ),
        ("OTEL_PROPAGATORS", "ottrace", "tracecontext,baggage"),
        ("OTEL_SPAN_LINK_COUNT_LIMIT", "lots", "128"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "0", "2048"),
    ];
    for (variable, value, used) in cases {
        let output = rerun(
            "repro_bad_values_warn_once_and_the_service_starts",
            &[(variable, value)],
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        let warning = format!("traced: {variable}: invalid value \"{value}\"; expected ");
        assert_eq!(stderr.matches(&warning).count(), 1, "{stderr}");
        assert!(stderr.contains(&format!("; using {used}\n")), "{stderr}");
        let trees = stderr
            .lines()
            .filter(|line| line.starts_with("serve "))
            .count();
        assert_eq!(trees, 2, "traced as usual: {stderr}");
    }
}

/// A client key that no TLS library can use passes the configuration (it
/// is a PEM file) and fails only when the exporters are built: the spans'
/// exporter and the logs' exporter alike are left out with a warning, and
/// the service starts; strict mode refuses instead.
#[test]
fn repro_an_exporter_that_cannot_be_built_warns_and_the_service_starts() {
    if in_child() {
        if std::env::var_os("STRICT").is_some() {
            let error = traced::Config::new()
                .strict()
                .init()
                .expect_err("strict mode refuses");
            report(&format!("error: {error}"));
            assert!(matches!(error, InitError::Exporter(_)));
            return;
        }
        let _guard = traced::init().expect("an exporter that cannot be built never stops start-up");
        serve(1);
        return;
    }
    let certificates = traced_tests::tls::Certificates::generate();
    let bad_key = certificates.client_key.with_file_name("unusable-key.pem");
    std::fs::write(
        &bad_key,
        "-----BEGIN PRIVATE KEY-----\nAAAAAAAA\n-----END PRIVATE KEY-----\n",
    )
    .expect("writing the key");
    let certificate = certificates.client_certificate.to_str().expect("a path");
    let key = bad_key.to_str().expect("a path");
    for protocol in ["http/protobuf", "grpc"] {
        let env = [
            ("OTEL_TRACES_EXPORTER", "otlp,console"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://127.0.0.1:1"),
            ("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", certificate),
            ("OTEL_EXPORTER_OTLP_CLIENT_KEY", key),
        ];
        let output = rerun(
            "repro_an_exporter_that_cannot_be_built_warns_and_the_service_starts",
            &env,
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("traced: OTLP export is off: ")
                && stderr.contains("traced: OTLP export of logs is off: "),
            "{protocol}: {stderr}"
        );
        assert!(
            stderr.lines().any(|line| line.starts_with("serve ")),
            "{protocol}: traced as usual on the console: {stderr}"
        );
        let mut strict = env.to_vec();
        strict.push(("STRICT", "1"));
        let output = rerun(
            "repro_an_exporter_that_cannot_be_built_warns_and_the_service_starts",
            &strict,
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(stdout.contains("error: "), "{protocol}: {stdout}");
    }
}

#[test]
fn strict_mode_refuses_a_bad_value_and_never_shows_secrets() {
    if in_child() {
        let error = traced::Config::new()
            .strict()
            .init()
            .expect_err("strict mode refuses");
        report(&format!("error: {error}"));
        assert!(matches!(error, InitError::Config(_)));
        return;
    }
    let output = rerun(
        "strict_mode_refuses_a_bad_value_and_never_shows_secrets",
        &[
            ("OTEL_TRACES_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "soon"),
        ],
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains(
        "error: OTEL_EXPORTER_OTLP_TIMEOUT: invalid value \"soon\"; expected a whole number of milliseconds"
    ));
    let output = rerun(
        "strict_mode_refuses_a_bad_value_and_never_shows_secrets",
        &[
            ("OTEL_TRACES_EXPORTER", "otlp"),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "authorization=Bearer%20hunter2,junk",
            ),
        ],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("error: OTEL_EXPORTER_OTLP_HEADERS"),
        "{stdout}"
    );
    assert!(!stdout.contains("hunter2"), "{stdout}");
}

/// `let _ = traced::init()` drops the guard at once: the first span after it
/// says so, once.
#[test]
fn repro_a_span_after_the_guard_is_gone_warns_once() {
    if in_child() {
        #[allow(clippy::let_underscore_must_use, let_underscore_drop)]
        let _ = traced::init();
        serve(1);
        serve(2);
        return;
    }
    let output = rerun("repro_a_span_after_the_guard_is_gone_warns_once", &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr
            .matches("traced: a span was started after the TracingGuard was dropped")
            .count(),
        1,
        "{stderr}"
    );
    assert!(
        stderr.contains("`let _guard = traced::init()?;`"),
        "{stderr}"
    );
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

/// opentelemetry-otlp reads `OTEL_EXPORTER_OTLP_*` itself; what code set
/// must still win on the wire. rotel does not log request headers, so the
/// collector here is a recording HTTP endpoint.
#[test]
fn repro_headers_and_compression_set_in_code_win_over_the_environment() {
    if in_child() {
        let endpoint = std::env::var("RECORDER").expect("the recorder's address");
        let guard = traced::Config::new()
            .otlp_endpoint(endpoint)
            .otlp_header("Authorization", "from-code")
            .otlp_compression(traced::Compression::None)
            .init()
            .expect("init");
        serve(1);
        guard.shutdown().expect("delivered");
        return;
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let recorded = std::sync::Arc::new(std::sync::Mutex::new(Vec::<http::HeaderMap>::new()));
    let address = runtime.block_on({
        let recorded = std::sync::Arc::clone(&recorded);
        async move {
            let app = axum::Router::new().route(
                "/v1/traces",
                axum::routing::post(move |headers: http::HeaderMap| {
                    let recorded = std::sync::Arc::clone(&recorded);
                    async move {
                        recorded.lock().unwrap().push(headers);
                        ""
                    }
                }),
            );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let address = listener.local_addr().unwrap();
            tokio::spawn(async move { axum::serve(listener, app).await });
            address
        }
    });
    rerun(
        "repro_headers_and_compression_set_in_code_win_over_the_environment",
        &[
            ("RECORDER", &format!("http://{address}")),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "authorization=from-env,x-tenant=blue",
            ),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
        ],
    );
    let recorded = recorded.lock().unwrap();
    assert_eq!(recorded.len(), 1, "one export");
    let headers = &recorded[0];
    assert_eq!(headers.get_all("authorization").iter().count(), 1);
    assert_eq!(headers["authorization"], "from-code");
    assert_eq!(headers["x-tenant"], "blue");
    assert_eq!(headers.get("content-encoding"), None, "not compressed");
}
