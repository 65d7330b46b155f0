//! The resource every span carries: detected host, process, OS and SDK
//! attributes, then `OTEL_RESOURCE_ATTRIBUTES`, then `service.name`, then what
//! code set (later wins).

use opentelemetry::{Key, KeyValue, Value};
use opentelemetry_resource_detectors::{
    HostResourceDetector, OsResourceDetector, ProcessResourceDetector,
};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::resource::{ResourceDetector, TelemetryResourceDetector};

use super::env::{Env, key_value_list};

pub(crate) const SERVICE_NAME: &str = "service.name";
pub(crate) const SERVICE_VERSION: &str = "service.version";

/// Left out of the detected process attributes: command lines often carry
/// secrets (tokens, passwords) that must not leave the host.
const PRIVATE_PROCESS_ATTRIBUTES: &[&str] = &["process.command_args"];

/// The resource attributes from the environment, `service.name` included; a
/// pair that cannot be read is left out with a warning.
pub(crate) fn from_env(env: &Env) -> Vec<KeyValue> {
    let mut attributes = Vec::new();
    if let Some(text) = env.get("OTEL_RESOURCE_ATTRIBUTES") {
        let (pairs, bad) = key_value_list(&text);
        for pair in bad {
            env.warn(
                "OTEL_RESOURCE_ATTRIBUTES",
                pair.0,
                "comma-separated key=value pairs, percent-encoded",
                "the other attributes",
            );
        }
        attributes.extend(
            pairs
                .into_iter()
                .map(|(key, value)| KeyValue::new(key, value)),
        );
    }
    if let Some(name) = env.get("OTEL_SERVICE_NAME") {
        attributes.push(KeyValue::new(SERVICE_NAME, name));
    }
    attributes
}

/// Detected attributes, then `configured` (env and code, in that order) on top;
/// `service.name` falls back to `unknown_service:<executable>`.
pub(crate) fn build_resource(configured: Vec<KeyValue>) -> Resource {
    let detectors: [Box<dyn ResourceDetector>; 4] = [
        Box::new(HostResourceDetector::default()),
        Box::new(OsResourceDetector),
        Box::new(ProcessResourceDetector),
        Box::new(TelemetryResourceDetector),
    ];
    let detected: Vec<KeyValue> = detectors
        .iter()
        .flat_map(|detector| {
            detector
                .detect()
                .iter()
                .map(|(key, value)| KeyValue::new(key.clone(), value.clone()))
                .collect::<Vec<_>>()
        })
        .filter(|kv| !PRIVATE_PROCESS_ATTRIBUTES.contains(&kv.key.as_str()))
        .collect();
    let has_name = configured.iter().any(|kv| kv.key.as_str() == SERVICE_NAME);
    let mut builder = Resource::builder_empty()
        .with_attributes(detected)
        .with_attributes(configured);
    if !has_name {
        builder = builder.with_service_name(default_service_name());
    }
    builder.build()
}

/// The `service.name` of `resource`, as text.
pub(crate) fn service_name(resource: &Resource) -> String {
    resource
        .get(&Key::from_static_str(SERVICE_NAME))
        .map(|value| match value {
            Value::String(name) => name.to_string(),
            other => other.to_string(),
        })
        .unwrap_or_default()
}

fn default_service_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|path| {
            path.file_stem()
                .map(|stem| stem.to_string_lossy().into_owned())
        })
        .map_or_else(
            || "unknown_service".to_owned(),
            |name| format!("unknown_service:{name}"),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(resource: &Resource, key: &'static str) -> Option<String> {
        resource
            .get(&Key::from_static_str(key))
            .map(|v| v.to_string())
    }

    #[test]
    fn environment_attributes_are_decoded_and_service_name_wins() {
        let env = Env::fixed(&[
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "deployment.environment.name=prod,team=a%2Cb,service.name=attr",
            ),
            ("OTEL_SERVICE_NAME", "shop"),
        ]);
        let resource = build_resource(from_env(&env));
        assert_eq!(
            get(&resource, "deployment.environment.name").as_deref(),
            Some("prod")
        );
        assert_eq!(get(&resource, "team").as_deref(), Some("a,b"));
        assert_eq!(get(&resource, SERVICE_NAME).as_deref(), Some("shop"));
    }

    #[test]
    fn service_name_from_resource_attributes_when_no_service_name_variable() {
        let env = Env::fixed(&[("OTEL_RESOURCE_ATTRIBUTES", "service.name=attr")]);
        let resource = build_resource(from_env(&env));
        assert_eq!(get(&resource, SERVICE_NAME).as_deref(), Some("attr"));
    }

    #[test]
    fn detected_attributes_are_present_and_command_line_is_not() {
        let resource = build_resource(Vec::new());
        for key in [
            "host.name",
            "host.arch",
            "os.type",
            "process.pid",
            "process.runtime.name",
            "telemetry.sdk.name",
            "telemetry.sdk.language",
            "telemetry.sdk.version",
        ] {
            assert!(get(&resource, key).is_some(), "{key} missing");
        }
        assert_eq!(get(&resource, "process.command_args"), None);
        assert!(
            get(&resource, SERVICE_NAME)
                .unwrap()
                .starts_with("unknown_service")
        );
    }

    #[test]
    fn bad_pairs_warn_and_the_rest_is_kept() {
        let env = Env::fixed(&[("OTEL_RESOURCE_ATTRIBUTES", "a=1,oops,b=%zz,c=3")]);
        let attributes: Vec<String> = from_env(&env).iter().map(|kv| kv.key.to_string()).collect();
        assert_eq!(attributes, ["a", "c"]);
        let warnings = env.warnings();
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].error.variable(), "OTEL_RESOURCE_ATTRIBUTES");
        assert_eq!(warnings[0].error.value(), "oops");
    }
}
