use std::time::Duration;

use super::*;

fn resolve(vars: &[(&str, &str)]) -> Resolved {
    Config::new()
        .resolve(&Env::fixed(vars))
        .expect("lenient resolution never fails")
}

/// The resolved configuration and the warnings it gave, as printed.
fn resolve_warned(vars: &[(&str, &str)]) -> (Resolved, Vec<String>) {
    let env = Env::fixed(vars);
    let resolved = Config::new().resolve(&env).unwrap();
    let warnings = env.warnings().iter().map(ToString::to_string).collect();
    (resolved, warnings)
}

#[test]
fn code_wins_over_environment() {
    let env = Env::fixed(&[
        ("OTEL_SERVICE_NAME", "from-env"),
        ("OTEL_TRACES_EXPORTER", "console"),
        ("OTEL_SDK_DISABLED", "true"),
        ("OTEL_PROPAGATORS", "b3"),
        ("OTEL_TRACES_SAMPLER", "always_off"),
        ("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "1"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "5"),
    ]);
    let resolved = Config::new()
        .service_name("from-code")
        .exporter(Exporter::None)
        .disabled(false)
        .propagators([Propagator::Jaeger])
        .sampler(Sampler::AlwaysOn)
        .max_attributes_per_span(7)
        .max_queue_size(100)
        .resolve(&env)
        .unwrap();
    let name = resolved
        .resource_attributes
        .iter()
        .rev()
        .find(|kv| kv.key.as_str() == "service.name")
        .unwrap();
    assert_eq!(name.value.as_str(), "from-code");
    assert_eq!(resolved.export, []);
    assert!(!resolved.disabled);
    assert_eq!(resolved.propagators, [Propagator::Jaeger]);
    assert_eq!(format!("{:?}", resolved.sampler), "AlwaysOn");
    assert_eq!(resolved.limits.attributes, 7);
    assert_eq!(resolved.batch.max_queue_size, 100);
}

#[test]
fn exporter_defaults_to_console_and_to_otlp_with_an_endpoint() {
    assert_eq!(resolve(&[]).export, [Export::Console]);
    let export = resolve(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")]).export;
    let [Export::Otlp(otlp)] = &export[..] else {
        panic!("an endpoint alone selects OTLP: {export:?}");
    };
    assert_eq!(otlp.endpoint, "http://127.0.0.1:4318/v1/traces");
    let traces_endpoint =
        resolve(&[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://h:1/v1/traces")]);
    assert!(matches!(traces_endpoint.export[..], [Export::Otlp(_)]));
    let code = Config::new()
        .otlp_endpoint("http://h:4317")
        .resolve(&Env::fixed(&[]))
        .unwrap();
    assert!(matches!(code.export[..], [Export::Otlp(_)]));
    let explicit = resolve(&[
        ("OTEL_TRACES_EXPORTER", "console"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"),
    ]);
    assert_eq!(explicit.export, [Export::Console]);
}

#[test]
fn exporter_values() {
    assert!(matches!(
        resolve(&[("OTEL_TRACES_EXPORTER", "OTLP")]).export[..],
        [Export::Otlp(_)]
    ));
    assert_eq!(
        resolve(&[("OTEL_TRACES_EXPORTER", "console")]).export,
        [Export::Console]
    );
    assert_eq!(resolve(&[("OTEL_TRACES_EXPORTER", "none")]).export, []);
    let (resolved, warnings) = resolve_warned(&[("OTEL_TRACES_EXPORTER", "zipkin")]);
    assert_eq!(resolved.export, [Export::Console]);
    assert_eq!(
        warnings,
        [
            "OTEL_TRACES_EXPORTER: invalid value \"zipkin\"; expected one of: otlp, console, none; \
          using console"
        ]
    );
}

#[test]
fn repro_several_exporters_at_once() {
    let (resolved, warnings) = resolve_warned(&[
        ("OTEL_TRACES_EXPORTER", "otlp,console,logging"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"),
    ]);
    assert!(
        matches!(&resolved.export[..], [Export::Otlp(_), Export::Console]),
        "{:?}",
        resolved.export
    );
    assert_eq!(
        warnings,
        [
            "OTEL_TRACES_EXPORTER: invalid value \"logging\"; expected one of: otlp, console, none; \
          using otlp,console"
        ]
    );
    let code = Config::new()
        .exporters([Exporter::Console, Exporter::Otlp, Exporter::Console])
        .resolve(&Env::fixed(&[]))
        .unwrap();
    assert!(matches!(
        &code.export[..],
        [Export::Console, Export::Otlp(_)]
    ));
}

#[test]
fn otlp_variables_are_checked_only_when_otlp_is_used() {
    let (console, warnings) = resolve_warned(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "carrier-pigeon")]);
    assert_eq!(console.export, [Export::Console]);
    assert!(warnings.is_empty(), "{warnings:?}");
    let (_, warnings) = resolve_warned(&[
        ("OTEL_TRACES_EXPORTER", "otlp"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "carrier-pigeon"),
    ]);
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].starts_with("OTEL_EXPORTER_OTLP_PROTOCOL: invalid value"));
}

#[test]
fn repro_sdk_disabled_is_true_only_for_true() {
    assert!(resolve(&[("OTEL_SDK_DISABLED", "true")]).disabled);
    assert!(resolve(&[("OTEL_SDK_DISABLED", "TRUE")]).disabled);
    assert!(!resolve(&[("OTEL_SDK_DISABLED", "False")]).disabled);
    assert!(!resolve(&[]).disabled);
    let (resolved, warnings) = resolve_warned(&[("OTEL_SDK_DISABLED", "1")]);
    assert!(!resolved.disabled);
    assert_eq!(
        warnings,
        ["OTEL_SDK_DISABLED: invalid value \"1\"; expected true or false; using false"]
    );
}

/// The values the issue was filed with, from stock platform environments.
#[test]
fn repro_stock_platform_values_never_stop_start_up() {
    let (resolved, warnings) = resolve_warned(&[
        ("OTEL_PROPAGATORS", "tracecontext,baggage,xray"),
        ("OTEL_TRACES_SAMPLER", "parentbased_jaeger_remote"),
        ("OTEL_TRACES_EXPORTER", "otlp,console"),
        ("OTEL_SDK_DISABLED", "1"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
    ]);
    assert_eq!(
        resolved.propagators,
        [
            Propagator::TraceContext,
            Propagator::Baggage,
            Propagator::XRay
        ]
    );
    assert_eq!(format!("{:?}", resolved.sampler), "ParentBased(AlwaysOn)");
    assert!(matches!(
        &resolved.export[..],
        [Export::Otlp(settings), Export::Console] if settings.protocol == Protocol::HttpProtobuf
    ));
    let variables: Vec<&str> = warnings
        .iter()
        .map(|w| w.split(':').next().unwrap())
        .collect();
    assert_eq!(
        variables,
        [
            "OTEL_SDK_DISABLED",
            "OTEL_EXPORTER_OTLP_PROTOCOL",
            "OTEL_TRACES_SAMPLER"
        ]
    );
}

#[test]
fn strict_turns_the_first_warning_into_the_error() {
    let env = Env::fixed(&[
        ("OTEL_TRACES_SAMPLER", "sometimes"),
        ("OTEL_SDK_DISABLED", "1"),
    ]);
    let error = Config::new().strict().resolve(&env).unwrap_err();
    assert_eq!(
        error.to_string(),
        "OTEL_SDK_DISABLED: invalid value \"1\"; expected true or false"
    );
    assert!(Config::new().strict().resolve(&Env::fixed(&[])).is_ok());
}

#[test]
fn strict_errors_never_show_secrets() {
    let env = Env::fixed(&[
        ("OTEL_TRACES_EXPORTER", "otlp"),
        (
            "OTEL_EXPORTER_OTLP_HEADERS",
            "authorization=Bearer s3cr3t,oops",
        ),
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "ftp://alice:s3cr3t@collector",
        ),
    ]);
    let error = Config::new().strict().resolve(&env).unwrap_err();
    assert!(!error.to_string().contains("s3cr3t"), "{error}");
    assert!(!format!("{error:?}").contains("s3cr3t"), "{error:?}");
    for warning in env.warnings() {
        assert!(!warning.to_string().contains("s3cr3t"), "{warning}");
    }
}

#[test]
fn resource_variables() {
    let resolved = resolve(&[
        ("OTEL_RESOURCE_ATTRIBUTES", "team=checkout,region=eu%2Dwest"),
        ("OTEL_SERVICE_NAME", "shop"),
    ]);
    let text: Vec<String> = resolved
        .resource_attributes
        .iter()
        .map(|kv| format!("{}={}", kv.key, kv.value))
        .collect();
    assert_eq!(
        text,
        ["team=checkout", "region=eu-west", "service.name=shop"]
    );
    let (resolved, warnings) = resolve_warned(&[("OTEL_RESOURCE_ATTRIBUTES", "team,a=1")]);
    assert_eq!(resolved.resource_attributes.len(), 1);
    assert_eq!(warnings.len(), 1);
}

#[test]
fn sampler_and_propagator_variables_are_read() {
    let resolved = resolve(&[
        ("OTEL_TRACES_SAMPLER", "TraceIdRatio"),
        ("OTEL_TRACES_SAMPLER_ARG", "0.5"),
        ("OTEL_PROPAGATORS", "b3multi"),
    ]);
    assert_eq!(format!("{:?}", resolved.sampler), "TraceIdRatioBased(0.5)");
    assert_eq!(resolved.propagators, [Propagator::B3Multi]);
}

#[test]
fn span_limits() {
    let defaults = resolve(&[]).limits;
    assert_eq!(
        defaults,
        Limits {
            attributes: 128,
            events: 128,
            links: 128,
            event_attributes: 128,
            link_attributes: 128,
            value_length: None
        }
    );
    let set = resolve(&[
        ("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "3"),
        ("OTEL_SPAN_EVENT_COUNT_LIMIT", "4"),
        ("OTEL_SPAN_LINK_COUNT_LIMIT", "0"),
        ("OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", "5"),
        ("OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", "6"),
        ("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "16"),
    ])
    .limits;
    assert_eq!(
        set,
        Limits {
            attributes: 3,
            events: 4,
            links: 0,
            event_attributes: 5,
            link_attributes: 6,
            value_length: Some(16)
        }
    );
    let (resolved, warnings) = resolve_warned(&[("OTEL_SPAN_LINK_COUNT_LIMIT", "-1")]);
    assert_eq!(resolved.limits.links, 128);
    assert_eq!(
        warnings,
        [
            "OTEL_SPAN_LINK_COUNT_LIMIT: invalid value \"-1\"; expected a whole number, 0 or more; \
          using 128"
        ]
    );
    let (resolved, warnings) = resolve_warned(&[("OTEL_SPAN_EVENT_COUNT_LIMIT", "99999999999")]);
    assert_eq!(resolved.limits.events, 128);
    assert_eq!(warnings.len(), 1);
}

#[test]
fn repro_general_and_span_specific_limits() {
    let general = resolve(&[
        ("OTEL_ATTRIBUTE_COUNT_LIMIT", "7"),
        ("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "20"),
    ])
    .limits;
    assert_eq!(
        (
            general.attributes,
            general.event_attributes,
            general.link_attributes,
            general.value_length
        ),
        (7, 7, 7, Some(20))
    );
    let specific = resolve(&[
        ("OTEL_ATTRIBUTE_COUNT_LIMIT", "7"),
        ("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "9"),
        ("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "20"),
        ("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "30"),
    ])
    .limits;
    assert_eq!(
        (
            specific.attributes,
            specific.event_attributes,
            specific.value_length
        ),
        (9, 7, Some(30))
    );
}

#[test]
fn exports_in_flight_from_code_the_environment_or_the_default() {
    assert_eq!(resolve(&[]).max_concurrent_exports, 4);
    let env = [("OTEL_BSP_MAX_CONCURRENT_EXPORTS", "2")];
    assert_eq!(resolve(&env).max_concurrent_exports, 2);
    let code = Config::new()
        .max_concurrent_exports(8)
        .resolve(&Env::fixed(&env))
        .unwrap();
    assert_eq!(code.max_concurrent_exports, 8);
    let (resolved, warnings) = resolve_warned(&[("OTEL_BSP_MAX_CONCURRENT_EXPORTS", "0")]);
    assert_eq!(resolved.max_concurrent_exports, 4);
    assert_eq!(
        warnings,
        [
            "OTEL_BSP_MAX_CONCURRENT_EXPORTS: invalid value \"0\"; expected a whole number, 1 or \
             more; using 4"
        ]
    );
    let error = Config::new()
        .strict()
        .max_concurrent_exports(0)
        .resolve(&Env::fixed(&[]))
        .unwrap_err();
    assert_eq!(error.variable(), "Config::max_concurrent_exports");
}

#[test]
fn batch_processor_variables() {
    let defaults = resolve(&[]).batch;
    assert_eq!(
        defaults,
        Batch {
            schedule_delay: Duration::from_secs(5),
            export_timeout: Some(Duration::from_secs(30)),
            max_queue_size: 2048,
            queue_size_set: false,
            max_export_batch_size: 512,
        }
    );
    let set = resolve(&[
        ("OTEL_BSP_SCHEDULE_DELAY", "250"),
        ("OTEL_BSP_EXPORT_TIMEOUT", "1000"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "100"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "10"),
    ])
    .batch;
    assert_eq!(
        set,
        Batch {
            schedule_delay: Duration::from_millis(250),
            export_timeout: Some(Duration::from_secs(1)),
            max_queue_size: 100,
            queue_size_set: true,
            max_export_batch_size: 10,
        }
    );
    let small_queue = resolve(&[("OTEL_BSP_MAX_QUEUE_SIZE", "100")]).batch;
    assert_eq!(small_queue.max_export_batch_size, 100);
    assert_eq!(
        resolve(&[("OTEL_BSP_EXPORT_TIMEOUT", "0")])
            .batch
            .export_timeout,
        None
    );
    for (variable, value) in [
        ("OTEL_BSP_SCHEDULE_DELAY", "5s"),
        ("OTEL_BSP_EXPORT_TIMEOUT", "-3"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "0"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "many"),
    ] {
        let (resolved, warnings) = resolve_warned(&[(variable, value)]);
        assert_eq!(resolved.batch, defaults, "{variable}");
        assert_eq!(warnings.len(), 1, "{variable}");
        assert!(warnings[0].starts_with(variable), "{warnings:?}");
    }
    let (resolved, warnings) = resolve_warned(&[
        ("OTEL_BSP_MAX_QUEUE_SIZE", "100"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "200"),
    ]);
    assert_eq!(resolved.batch.max_export_batch_size, 100);
    assert_eq!(
        warnings,
        [
            "OTEL_BSP_MAX_EXPORT_BATCH_SIZE: invalid value \"200\"; expected a whole number from 1 \
          to the queue size (100); using 100"
        ]
    );
}

#[test]
fn repro_the_shutdown_wait_outlasts_one_slow_export() {
    let otlp = [("OTEL_TRACES_EXPORTER", "otlp")];
    let default = resolve(&otlp);
    assert_eq!(default.shutdown_timeout, Duration::from_secs(15));
    let short = resolve(&[otlp[0], ("OTEL_EXPORTER_OTLP_TIMEOUT", "2000")]);
    assert_eq!(short.shutdown_timeout, Duration::from_secs(7));
    let capped_by_batch = resolve(&[
        otlp[0],
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "20000"),
        ("OTEL_BSP_EXPORT_TIMEOUT", "3000"),
    ]);
    assert_eq!(capped_by_batch.shutdown_timeout, Duration::from_secs(8));
    let unlimited = resolve(&[
        otlp[0],
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "0"),
        ("OTEL_BSP_EXPORT_TIMEOUT", "0"),
    ]);
    assert_eq!(unlimited.shutdown_timeout, Duration::from_secs(30));
    let code = Config::new()
        .shutdown_timeout(Duration::from_secs(2))
        .resolve(&Env::fixed(&otlp))
        .unwrap();
    assert_eq!(code.shutdown_timeout, Duration::from_secs(2));
}

#[test]
fn tail_sampling_records_every_trace_it_starts_and_takes_the_head_ratio() {
    let head = [
        ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
        ("OTEL_TRACES_SAMPLER_ARG", "0.01"),
    ];
    let resolved = resolve(&head);
    assert_eq!(
        format!("{:?}", resolved.sampler),
        "ParentBased(TraceIdRatioBased(0.01))"
    );
    assert_eq!(resolved.tail_sampling, None);

    let resolved = resolve(&[head[0], head[1], ("TRACED_TAIL_SAMPLING", "slow=500ms")]);
    assert_eq!(format!("{:?}", resolved.sampler), "ParentBased(AlwaysOn)");
    let policy = resolved.tail_sampling.expect("on");
    assert_eq!(policy.ratio, 0.01);
    assert_eq!(policy.slower_than, Some(Duration::from_millis(500)));

    let resolved = Config::new()
        .sampler(Sampler::AlwaysOff)
        .tail_sampling(TailSampling::new())
        .resolve(&Env::fixed(&[]))
        .unwrap();
    assert_eq!(format!("{:?}", resolved.sampler), "ParentBased(AlwaysOn)");
    assert_eq!(resolved.tail_sampling.expect("on").ratio, 0.0);
}

#[test]
fn a_bad_tail_sampling_value_is_an_error_when_strict() {
    let error = Config::new()
        .strict()
        .tail_sampling(TailSampling::new().ratio(f64::NAN))
        .resolve(&Env::fixed(&[]))
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "TailSampling::ratio: invalid value \"NaN\"; expected a number from 0 to 1"
    );
    let error = Config::new()
        .strict()
        .resolve(&Env::fixed(&[("TRACED_TAIL_SAMPLING", "slow=soon")]))
        .unwrap_err();
    assert_eq!(error.variable(), "TRACED_TAIL_SAMPLING");
    assert_eq!(error.value(), "slow=soon");
}
