use std::time::Duration;

use super::*;

fn resolve(vars: &[(&str, &str)]) -> Result<Resolved, ConfigError> {
    Config::new().resolve(&Env::fixed(vars))
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
    assert_eq!(resolved.export, Export::None);
    assert!(!resolved.disabled);
    assert_eq!(resolved.propagators, [Propagator::Jaeger]);
    assert_eq!(format!("{:?}", resolved.sampler), "AlwaysOn");
    assert_eq!(resolved.limits.attributes, 7);
    assert_eq!(resolved.batch.max_queue_size, 100);
}

#[test]
fn exporter_defaults_to_console_and_to_otlp_with_an_endpoint() {
    assert_eq!(resolve(&[]).unwrap().export, Export::Console);
    let Export::Otlp(otlp) = resolve(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")])
        .unwrap()
        .export
    else {
        panic!("an endpoint alone selects OTLP");
    };
    assert_eq!(otlp.endpoint, "http://127.0.0.1:4318/v1/traces");
    let traces_endpoint =
        resolve(&[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://h:1/v1/traces")]);
    assert!(matches!(traces_endpoint.unwrap().export, Export::Otlp(_)));
    let code = Config::new()
        .otlp_endpoint("http://h:4317")
        .resolve(&Env::fixed(&[]))
        .unwrap();
    assert!(matches!(code.export, Export::Otlp(_)));
    let explicit = resolve(&[
        ("OTEL_TRACES_EXPORTER", "console"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"),
    ]);
    assert_eq!(explicit.unwrap().export, Export::Console);
}

#[test]
fn exporter_values() {
    assert!(matches!(
        resolve(&[("OTEL_TRACES_EXPORTER", "otlp")]).unwrap().export,
        Export::Otlp(_)
    ));
    assert_eq!(
        resolve(&[("OTEL_TRACES_EXPORTER", "console")])
            .unwrap()
            .export,
        Export::Console
    );
    assert_eq!(
        resolve(&[("OTEL_TRACES_EXPORTER", "none")]).unwrap().export,
        Export::None
    );
    let error = resolve(&[("OTEL_TRACES_EXPORTER", "zipkin")]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "OTEL_TRACES_EXPORTER: invalid value \"zipkin\"; expected one of: otlp, console, none"
    );
}

#[test]
fn otlp_variables_are_checked_only_when_otlp_is_used() {
    let console = resolve(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "carrier-pigeon")]);
    assert_eq!(console.unwrap().export, Export::Console);
    let error = resolve(&[
        ("OTEL_TRACES_EXPORTER", "otlp"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "carrier-pigeon"),
    ])
    .unwrap_err();
    assert_eq!(error.variable(), "OTEL_EXPORTER_OTLP_PROTOCOL");
}

#[test]
fn sdk_disabled() {
    assert!(resolve(&[("OTEL_SDK_DISABLED", "true")]).unwrap().disabled);
    assert!(!resolve(&[("OTEL_SDK_DISABLED", "False")]).unwrap().disabled);
    assert!(!resolve(&[]).unwrap().disabled);
    let error = resolve(&[("OTEL_SDK_DISABLED", "1")]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "OTEL_SDK_DISABLED: invalid value \"1\"; expected one of: true, false"
    );
}

#[test]
fn resource_variables() {
    let resolved = resolve(&[
        ("OTEL_RESOURCE_ATTRIBUTES", "team=checkout,region=eu%2Dwest"),
        ("OTEL_SERVICE_NAME", "shop"),
    ])
    .unwrap();
    let text: Vec<String> = resolved
        .resource_attributes
        .iter()
        .map(|kv| format!("{}={}", kv.key, kv.value))
        .collect();
    assert_eq!(
        text,
        ["team=checkout", "region=eu-west", "service.name=shop"]
    );
    let error = resolve(&[("OTEL_RESOURCE_ATTRIBUTES", "team")]).unwrap_err();
    assert_eq!(error.variable(), "OTEL_RESOURCE_ATTRIBUTES");
    let error = resolve(&[("OTEL_RESOURCE_ATTRIBUTES", "team=%zz")]).unwrap_err();
    assert_eq!(error.variable(), "OTEL_RESOURCE_ATTRIBUTES");
}

#[test]
fn sampler_and_propagator_variables_are_read() {
    let resolved = resolve(&[
        ("OTEL_TRACES_SAMPLER", "traceidratio"),
        ("OTEL_TRACES_SAMPLER_ARG", "0.5"),
        ("OTEL_PROPAGATORS", "b3multi"),
    ])
    .unwrap();
    assert_eq!(format!("{:?}", resolved.sampler), "TraceIdRatioBased(0.5)");
    assert_eq!(resolved.propagators, [Propagator::B3Multi]);
    assert!(
        resolve(&[
            ("OTEL_TRACES_SAMPLER_ARG", "2"),
            ("OTEL_TRACES_SAMPLER", "traceidratio")
        ])
        .is_err()
    );
    assert!(resolve(&[("OTEL_PROPAGATORS", "ottrace")]).is_err());
}

#[test]
fn span_limits() {
    let defaults = resolve(&[]).unwrap().limits;
    assert_eq!(
        defaults,
        Limits {
            attributes: 128,
            events: 128,
            links: 128,
            value_length: None
        }
    );
    let set = resolve(&[
        ("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "3"),
        ("OTEL_SPAN_EVENT_COUNT_LIMIT", "4"),
        ("OTEL_SPAN_LINK_COUNT_LIMIT", "0"),
        ("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "16"),
    ])
    .unwrap()
    .limits;
    assert_eq!(
        set,
        Limits {
            attributes: 3,
            events: 4,
            links: 0,
            value_length: Some(16)
        }
    );
    for variable in [
        "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT",
        "OTEL_SPAN_EVENT_COUNT_LIMIT",
        "OTEL_SPAN_LINK_COUNT_LIMIT",
        "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
    ] {
        let error = resolve(&[(variable, "-1")]).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("{variable}: invalid value \"-1\"; expected a whole number, 0 or more")
        );
    }
    let error = resolve(&[("OTEL_SPAN_EVENT_COUNT_LIMIT", "99999999999")]).unwrap_err();
    assert_eq!(error.variable(), "OTEL_SPAN_EVENT_COUNT_LIMIT");
}

#[test]
fn batch_processor_variables() {
    let defaults = resolve(&[]).unwrap().batch;
    assert_eq!(
        defaults,
        Batch {
            schedule_delay: Duration::from_secs(5),
            export_timeout: Duration::from_secs(30),
            max_queue_size: 2048,
            max_export_batch_size: 512,
        }
    );
    let set = resolve(&[
        ("OTEL_BSP_SCHEDULE_DELAY", "250"),
        ("OTEL_BSP_EXPORT_TIMEOUT", "1000"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "100"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "10"),
    ])
    .unwrap()
    .batch;
    assert_eq!(
        set,
        Batch {
            schedule_delay: Duration::from_millis(250),
            export_timeout: Duration::from_secs(1),
            max_queue_size: 100,
            max_export_batch_size: 10,
        }
    );
    let small_queue = resolve(&[("OTEL_BSP_MAX_QUEUE_SIZE", "100")])
        .unwrap()
        .batch;
    assert_eq!(small_queue.max_export_batch_size, 100);
    for (variable, value) in [
        ("OTEL_BSP_SCHEDULE_DELAY", "5s"),
        ("OTEL_BSP_EXPORT_TIMEOUT", "-3"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "0"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "many"),
    ] {
        let error = resolve(&[(variable, value)]).unwrap_err();
        assert_eq!(error.variable(), variable, "{value}");
    }
    let error = resolve(&[
        ("OTEL_BSP_MAX_QUEUE_SIZE", "100"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "200"),
    ])
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "OTEL_BSP_MAX_EXPORT_BATCH_SIZE: invalid value \"200\"; expected a whole number from 1 \
         to the queue size (100)"
    );
}
