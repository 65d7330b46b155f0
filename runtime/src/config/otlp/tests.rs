use super::*;

fn settings(vars: &[(&str, &str)]) -> OtlpSettings {
    resolve(OtlpOverrides::default(), &Env::fixed(vars), Signal::Traces)
}

fn with_warnings(vars: &[(&str, &str)], signal: Signal) -> (OtlpSettings, Vec<String>) {
    let env = Env::fixed(vars);
    let settings = resolve(OtlpOverrides::default(), &env, signal);
    let warnings = env.warnings().iter().map(ToString::to_string).collect();
    (settings, warnings)
}

#[test]
fn defaults_follow_the_specification() {
    let settings = settings(&[]);
    assert_eq!(settings.protocol, Protocol::HttpProtobuf);
    assert_eq!(settings.endpoint, "http://localhost:4318/v1/traces");
    assert_eq!(settings.timeout, Some(Duration::from_secs(10)));
    assert_eq!(settings.compression, Compression::None);
    assert_eq!(settings.tls, Tls::default());
    let grpc = resolve(
        OtlpOverrides {
            protocol: Some(Protocol::Grpc),
            ..Default::default()
        },
        &Env::fixed(&[]),
        Signal::Traces,
    );
    assert_eq!(grpc.endpoint, "http://localhost:4317");
    let logs = resolve(OtlpOverrides::default(), &Env::fixed(&[]), Signal::Logs);
    assert_eq!(logs.endpoint, "http://localhost:4318/v1/logs");
}

#[test]
fn endpoints() {
    let general = settings(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/")]);
    assert_eq!(general.endpoint, "http://collector:4318/v1/traces");
    let traces = settings(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:1"),
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://b:2/custom"),
    ]);
    assert_eq!(traces.endpoint, "http://b:2/custom");
    let grpc = settings(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
    ]);
    assert_eq!(grpc.endpoint, "http://c:4317");
    let code = resolve(
        OtlpOverrides {
            endpoint: Some("http://code:9".into()),
            ..Default::default()
        },
        &Env::fixed(&[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://env:1")]),
        Signal::Traces,
    );
    assert_eq!(code.endpoint, "http://code:9/v1/traces");
    let https = settings(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "https://api.example.com")]);
    assert_eq!(https.endpoint, "https://api.example.com/v1/traces");
}

#[test]
fn repro_general_endpoint_with_a_path_gets_the_signal_path() {
    for (signal, expected) in [
        (Signal::Traces, "http://gw:4318/otlp/v1/traces"),
        (Signal::Logs, "http://gw:4318/otlp/v1/logs"),
    ] {
        let (settings, warnings) = with_warnings(
            &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://gw:4318/otlp")],
            signal,
        );
        assert_eq!(settings.endpoint, expected);
        assert!(warnings.is_empty(), "{warnings:?}");
    }
    let (logs, _) = with_warnings(
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://gw:4318/otlp"),
            (
                "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
                "http://logs:4318/custom",
            ),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces:4318/x"),
        ],
        Signal::Logs,
    );
    assert_eq!(logs.endpoint, "http://logs:4318/custom");
}

#[test]
fn bad_endpoints_warn_and_use_the_default_without_showing_credentials() {
    for bad in ["localhost:4318", "ftp://x", "http://", "not a url"] {
        let (settings, warnings) =
            with_warnings(&[("OTEL_EXPORTER_OTLP_ENDPOINT", bad)], Signal::Traces);
        assert_eq!(
            settings.endpoint, "http://localhost:4318/v1/traces",
            "{bad}"
        );
        assert_eq!(warnings.len(), 1, "{bad}");
        assert!(
            warnings[0].starts_with("OTEL_EXPORTER_OTLP_ENDPOINT: invalid value"),
            "{warnings:?}"
        );
        assert!(
            warnings[0].ends_with("; using http://localhost:4318/v1/traces"),
            "{warnings:?}"
        );
    }
    let (_, warnings) = with_warnings(
        &[(
            "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
            "ftp://user:hunter2@host/",
        )],
        Signal::Logs,
    );
    assert_eq!(
        warnings,
        [
            "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: invalid value \"ftp://REDACTED:REDACTED@host/\"; \
          expected an http:// or https:// URL such as https://collector.example.com:4318; \
          using http://localhost:4318/v1/logs"
        ]
    );
}

#[test]
fn grpc_endpoints_without_a_scheme_use_tls_unless_insecure() {
    let secure = settings(&[
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317"),
    ]);
    assert_eq!(secure.endpoint, "https://collector:4317");
    let insecure = settings(&[
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317"),
        ("OTEL_EXPORTER_OTLP_TRACES_INSECURE", "TRUE"),
    ]);
    assert_eq!(insecure.endpoint, "http://collector:4317");
    // A scheme decides by itself.
    let explicit = settings(&[
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4317"),
        ("OTEL_EXPORTER_OTLP_INSECURE", "true"),
    ]);
    assert_eq!(explicit.endpoint, "https://collector:4317");
}

#[test]
fn protocol_values() {
    let traces_wins = settings(&[
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "GRPC"),
    ]);
    assert_eq!(traces_wins.protocol, Protocol::Grpc);
    let logs = resolve(
        OtlpOverrides::default(),
        &Env::fixed(&[
            ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "http/protobuf"),
        ]),
        Signal::Logs,
    );
    assert_eq!(logs.protocol, Protocol::HttpProtobuf);
}

#[test]
fn repro_http_json_falls_back_with_a_warning() {
    let (settings, warnings) = with_warnings(
        &[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")],
        Signal::Traces,
    );
    assert_eq!(settings.protocol, Protocol::HttpProtobuf);
    assert_eq!(
        warnings,
        [
            "OTEL_EXPORTER_OTLP_PROTOCOL: invalid value \"http/json\"; expected one of: grpc, \
          http/protobuf; using http/protobuf"
        ]
    );
}

#[test]
fn headers_merge_with_signal_and_code_winning() {
    for (signal, variable) in [
        (Signal::Traces, "OTEL_EXPORTER_OTLP_TRACES_HEADERS"),
        (Signal::Logs, "OTEL_EXPORTER_OTLP_LOGS_HEADERS"),
    ] {
        let resolved = resolve(
            OtlpOverrides {
                headers: vec![
                    ("X-Code".into(), "c".into()),
                    ("X-Tenant".into(), "code".into()),
                ],
                ..Default::default()
            },
            &Env::fixed(&[
                (
                    "OTEL_EXPORTER_OTLP_HEADERS",
                    "api-key=general,x-tenant=a%20b",
                ),
                (variable, "API-KEY=signal"),
            ]),
            signal,
        );
        assert_eq!(
            resolved.headers,
            [("api-key", "signal"), ("x-code", "c"), ("x-tenant", "code")]
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
        let debug = format!("{resolved:?}");
        assert!(
            debug.contains("api-key: <redacted>") && !debug.contains("signal"),
            "{debug}"
        );
    }
}

#[test]
fn repro_bad_header_pairs_warn_without_their_values_and_keep_the_rest() {
    let (settings, warnings) = with_warnings(
        &[(
            "OTEL_EXPORTER_OTLP_HEADERS",
            "authorization=Bearer%20s3cr3t,x-broken,bad key=hidden-value,x-ok=1",
        )],
        Signal::Traces,
    );
    assert_eq!(
        settings.headers,
        [
            ("authorization".to_owned(), "Bearer s3cr3t".to_owned()),
            ("x-ok".to_owned(), "1".to_owned())
        ]
    );
    assert_eq!(
        warnings,
        [
            "OTEL_EXPORTER_OTLP_HEADERS: invalid value \"<redacted>\"; expected comma-separated \
          key=value pairs; using the other headers"
        ]
    );
    let (_, warnings) = with_warnings(
        &[(
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
            "authorization=Bearer token\u{7f}",
        )],
        Signal::Traces,
    );
    assert_eq!(
        warnings,
        [
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS: invalid value \"authorization=<redacted>\"; \
          expected header names and values valid in HTTP; using the other headers"
        ]
    );
}

#[test]
fn credentials_sent_in_clear_text_to_another_host_give_one_notice() {
    let notices = |vars: &[(&str, &str)]| {
        let env = Env::fixed(vars);
        resolve(OtlpOverrides::default(), &env, Signal::Traces);
        env.notices()
    };
    let remote = notices(&[
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "http://user:pw@collector.example.com:4318",
        ),
        (
            "OTEL_EXPORTER_OTLP_HEADERS",
            "Authorization=Bearer%20x,x-honeycomb-team=y",
        ),
    ]);
    assert_eq!(
        remote,
        [
            "OTLP headers that look like credentials (authorization, x-honeycomb-team) are sent \
          unencrypted to http://REDACTED:REDACTED@collector.example.com:4318/v1/traces; use an \
          https:// endpoint"
        ]
    );
    for quiet in [
        &[("OTEL_EXPORTER_OTLP_HEADERS", "authorization=x")][..],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "authorization=x"),
        ],
        &[
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "https://collector.example.com",
            ),
            ("OTEL_EXPORTER_OTLP_HEADERS", "authorization=x"),
        ],
        &[
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "http://collector.example.com",
            ),
            ("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=blue"),
        ],
    ] {
        assert!(notices(quiet).is_empty(), "{quiet:?}");
    }
}

#[test]
fn timeouts_zero_means_no_limit() {
    let resolved = settings(&[
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "100"),
        ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "2500"),
    ]);
    assert_eq!(resolved.timeout, Some(Duration::from_millis(2500)));
    assert_eq!(
        settings(&[("OTEL_EXPORTER_OTLP_TIMEOUT", "0")]).timeout,
        None
    );
    let code = resolve(
        OtlpOverrides {
            timeout: Some(Duration::ZERO),
            ..Default::default()
        },
        &Env::fixed(&[("OTEL_EXPORTER_OTLP_TIMEOUT", "100")]),
        Signal::Logs,
    );
    assert_eq!(code.timeout, None);
    let (resolved, warnings) =
        with_warnings(&[("OTEL_EXPORTER_OTLP_LOGS_TIMEOUT", "10s")], Signal::Logs);
    assert_eq!(resolved.timeout, Some(Duration::from_secs(10)));
    assert_eq!(
        warnings,
        [
            "OTEL_EXPORTER_OTLP_LOGS_TIMEOUT: invalid value \"10s\"; expected a whole number of \
          milliseconds; using 10000 (10 s)"
        ]
    );
}

#[test]
fn compression_values() {
    let gzip = settings(&[("OTEL_EXPORTER_OTLP_COMPRESSION", "GZIP")]);
    assert_eq!(gzip.compression, Compression::Gzip);
    let (resolved, warnings) = with_warnings(
        &[("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "zstd")],
        Signal::Traces,
    );
    assert_eq!(resolved.compression, Compression::None);
    assert_eq!(
        warnings,
        [
            "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: invalid value \"zstd\"; expected one of: gzip, \
          none; using none"
        ]
    );
    let code = resolve(
        OtlpOverrides {
            compression: Some(Compression::None),
            ..Default::default()
        },
        &Env::fixed(&[("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")]),
        Signal::Traces,
    );
    assert_eq!(code.compression, Compression::None);
}

#[test]
fn port_and_protocol_mismatches_have_a_hint() {
    let grpc_to_http = settings(&[
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
    ]);
    assert!(
        protocol_hint(&grpc_to_http)
            .unwrap()
            .contains("use port 4317")
    );
    let http_to_grpc = settings(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317")]);
    assert!(
        protocol_hint(&http_to_grpc)
            .unwrap()
            .contains("use port 4318")
    );
    assert_eq!(protocol_hint(&settings(&[])), None);
}

mod certificates {
    use super::*;

    const CERTIFICATE: &str =
        "-----BEGIN CERTIFICATE-----\nMIIBLDCB06ADAgECAhQ=\n-----END CERTIFICATE-----\n";

    fn file(name: &str, text: &str) -> String {
        let dir = std::env::temp_dir().join(format!("traced-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    }

    #[test]
    fn missing_or_broken_files_warn_and_use_the_defaults() {
        let (resolved, warnings) = with_warnings(
            &[
                ("OTEL_EXPORTER_OTLP_CERTIFICATE", "/nonexistent/ca.pem"),
                (
                    "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
                    &file("c.pem", "not pem"),
                ),
                ("OTEL_EXPORTER_OTLP_CLIENT_KEY", &file("k.pem", "not pem")),
            ],
            Signal::Traces,
        );
        assert_eq!(resolved.tls, Tls::default());
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(
            warnings[0].starts_with(
                "OTEL_EXPORTER_OTLP_CERTIFICATE: invalid value \"/nonexistent/ca.pem\"; \
                 expected a readable file"
            ),
            "{warnings:?}"
        );
        assert!(
            warnings[0].ends_with("using the system's trusted roots"),
            "{warnings:?}"
        );
        assert!(
            warnings[1].starts_with("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: invalid value"),
            "{warnings:?}"
        );
        let (_, lone) = with_warnings(
            &[("OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY", "/k.pem")],
            Signal::Logs,
        );
        assert_eq!(
            lone,
            [
                "OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY: invalid value \"/k.pem\"; expected a client \
              certificate and a client key together; using no client certificate"
            ]
        );
    }

    #[test]
    fn signal_files_win_over_general_ones() {
        let traces = file("traces.pem", CERTIFICATE);
        let resolved = settings(&[
            ("OTEL_EXPORTER_OTLP_CERTIFICATE", "/nonexistent/general.pem"),
            ("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", &traces),
        ]);
        let ca = resolved.tls.ca_certificate.expect("the traces CA");
        assert_eq!(ca.path.display().to_string(), traces);
        assert_eq!(ca.bytes, CERTIFICATE.as_bytes());
    }
}
