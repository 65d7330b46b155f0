//! `OTEL_EXPORTER_OTLP_(TRACES_)*`: where and how OTLP export sends spans.

use std::fmt;
use std::time::Duration;

use super::env::{ConfigError, Env, key_value_list};

/// The OTLP transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Protocol {
    /// OTLP over gRPC (default port 4317).
    Grpc,
    /// OTLP over HTTP with protobuf bodies (default port 4318), the
    /// specification's default.
    HttpProtobuf,
}

/// Compression of OTLP requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Compression {
    /// Send bodies as they are (default).
    None,
    /// gzip bodies.
    Gzip,
}

/// What code set for OTLP; each field left `None` comes from the environment.
#[derive(Clone, Default)]
pub(crate) struct OtlpOverrides {
    pub(crate) endpoint: Option<String>,
    pub(crate) protocol: Option<Protocol>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) compression: Option<Compression>,
}

/// OTLP export, fully resolved.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct OtlpSettings {
    /// The full URL requests go to (for HTTP, including `/v1/traces`).
    pub(crate) endpoint: String,
    pub(crate) protocol: Protocol,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) timeout: Duration,
    pub(crate) compression: Compression,
}

/// Header values often hold credentials: debug output names the headers only.
struct HeaderNames<'a>(&'a [(String, String)]);

impl fmt::Debug for HeaderNames<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(name, _)| format!("{name}: <redacted>")))
            .finish()
    }
}

impl fmt::Debug for OtlpOverrides {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtlpOverrides")
            .field("endpoint", &self.endpoint)
            .field("protocol", &self.protocol)
            .field("headers", &HeaderNames(&self.headers))
            .field("timeout", &self.timeout)
            .field("compression", &self.compression)
            .finish()
    }
}

impl fmt::Debug for OtlpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtlpSettings")
            .field("endpoint", &self.endpoint)
            .field("protocol", &self.protocol)
            .field("headers", &HeaderNames(&self.headers))
            .field("timeout", &self.timeout)
            .field("compression", &self.compression)
            .finish()
    }
}

const ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
const TRACES_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
const CODE_ENDPOINT: &str = "Config::otlp_endpoint";

/// The telemetry signal an OTLP exporter sends: it picks the signal-specific
/// variables (`OTEL_EXPORTER_OTLP_{TRACES,LOGS}_*`) and the HTTP path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Signal {
    Traces,
    Logs,
}

impl Signal {
    /// `OTEL_EXPORTER_OTLP_<SIGNAL>_<setting>` for each setting, then the path.
    const fn variables(self) -> SignalVariables {
        match self {
            Signal::Traces => SignalVariables {
                endpoint: TRACES_ENDPOINT,
                protocol: "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
                headers: "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
                timeout: "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
                compression: "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
                path: "/v1/traces",
            },
            Signal::Logs => SignalVariables {
                endpoint: "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
                protocol: "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL",
                headers: "OTEL_EXPORTER_OTLP_LOGS_HEADERS",
                timeout: "OTEL_EXPORTER_OTLP_LOGS_TIMEOUT",
                compression: "OTEL_EXPORTER_OTLP_LOGS_COMPRESSION",
                path: "/v1/logs",
            },
        }
    }
}

struct SignalVariables {
    endpoint: &'static str,
    protocol: &'static str,
    headers: &'static str,
    timeout: &'static str,
    compression: &'static str,
    path: &'static str,
}

/// Whether an endpoint is configured, in code or the environment (which makes
/// OTLP the default exporter).
pub(crate) fn endpoint_configured(overrides: &OtlpOverrides, env: &Env) -> bool {
    overrides.endpoint.is_some() || env.first(&[TRACES_ENDPOINT, ENDPOINT]).is_some()
}

/// Whether the logs signal has an endpoint of its own in the environment.
pub(crate) fn logs_endpoint_configured(env: &Env) -> bool {
    env.get(Signal::Logs.variables().endpoint).is_some()
}

pub(crate) fn resolve(overrides: OtlpOverrides, env: &Env) -> Result<OtlpSettings, ConfigError> {
    resolve_for(overrides, env, Signal::Traces)
}

/// The settings of `signal`'s exporter: its own variables win over the
/// general ones, and code wins over both.
pub(crate) fn resolve_for(
    overrides: OtlpOverrides,
    env: &Env,
    signal: Signal,
) -> Result<OtlpSettings, ConfigError> {
    let vars = signal.variables();
    let protocol = match overrides.protocol {
        Some(protocol) => protocol,
        None => match env.first(&[vars.protocol, "OTEL_EXPORTER_OTLP_PROTOCOL"]) {
            None => Protocol::HttpProtobuf,
            Some((variable, value)) => match value.as_str() {
                "grpc" => Protocol::Grpc,
                "http/protobuf" => Protocol::HttpProtobuf,
                _ => {
                    return Err(ConfigError::one_of(
                        variable,
                        &value,
                        &["grpc", "http/protobuf"],
                    ));
                }
            },
        },
    };
    let endpoint = endpoint(overrides.endpoint, protocol, env, &vars)?;
    let mut headers = Vec::new();
    for variable in ["OTEL_EXPORTER_OTLP_HEADERS", vars.headers] {
        if let Some(text) = env.get(variable) {
            for (key, value) in key_value_list(variable, &text)? {
                check_header(variable, &key, &value)?;
                set_header(&mut headers, key, value);
            }
        }
    }
    for (key, value) in overrides.headers {
        check_header("Config::otlp_header", &key, &value)?;
        set_header(&mut headers, key, value);
    }
    let timeout = match overrides.timeout {
        Some(timeout) => timeout,
        None => match env.first(&[vars.timeout, "OTEL_EXPORTER_OTLP_TIMEOUT"]) {
            None => Duration::from_secs(10),
            Some((variable, _)) => env.millis(variable)?.unwrap_or_default(),
        },
    };
    let compression = match overrides.compression {
        Some(compression) => compression,
        None => match env.first(&[vars.compression, "OTEL_EXPORTER_OTLP_COMPRESSION"]) {
            None => Compression::None,
            Some((variable, value)) => match value.as_str() {
                "gzip" => Compression::Gzip,
                "none" => Compression::None,
                _ => return Err(ConfigError::one_of(variable, &value, &["gzip", "none"])),
            },
        },
    };
    Ok(OtlpSettings {
        endpoint,
        protocol,
        headers,
        timeout,
        compression,
    })
}

/// The signal-specific variable is a full URL used as given; the general one
/// (and one set in code) is a base to which HTTP adds the signal's path
/// (`/v1/traces`, `/v1/logs`) when it has no path of its own.
fn endpoint(
    code: Option<String>,
    protocol: Protocol,
    env: &Env,
    vars: &SignalVariables,
) -> Result<String, ConfigError> {
    let path = vars.path;
    let (variable, base, full) = match (code, env.get(vars.endpoint), env.get(ENDPOINT)) {
        (Some(code), _, _) => (CODE_ENDPOINT, code, false),
        (None, Some(own), _) => (vars.endpoint, own, true),
        (None, None, Some(general)) => (ENDPOINT, general, false),
        (None, None, None) => match protocol {
            Protocol::Grpc => return Ok("http://localhost:4317".to_owned()),
            Protocol::HttpProtobuf => return Ok(format!("http://localhost:4318{path}")),
        },
    };
    let uri: http::Uri = base.parse().map_err(|_| url_error(variable, &base))?;
    if uri.scheme_str() != Some("http") || uri.authority().is_none() {
        return Err(url_error(variable, &base));
    }
    let has_path = !matches!(uri.path(), "" | "/");
    Ok(match protocol {
        Protocol::HttpProtobuf if !full && !has_path => {
            format!("{}{path}", base.trim_end_matches('/'))
        }
        _ => base,
    })
}

fn url_error(variable: &'static str, value: &str) -> ConfigError {
    ConfigError::new(
        variable,
        value,
        "an http:// or https:// URL such as http://localhost:4318",
    )
}

fn check_header(variable: &'static str, key: &str, value: &str) -> Result<(), ConfigError> {
    let valid = http::HeaderName::from_bytes(key.as_bytes()).is_ok()
        && http::HeaderValue::from_str(value).is_ok();
    if valid {
        Ok(())
    } else {
        Err(ConfigError::new(
            variable,
            &format!("{key}={value}"),
            "header names and values valid in HTTP",
        ))
    }
}

fn set_header(headers: &mut Vec<(String, String)>, key: String, value: String) {
    headers.retain(|(existing, _)| !existing.eq_ignore_ascii_case(&key));
    headers.push((key.to_ascii_lowercase(), value));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<OtlpSettings, ConfigError> {
        resolve(OtlpOverrides::default(), &Env::fixed(vars))
    }

    #[test]
    fn defaults_follow_the_specification() {
        let settings = settings(&[]).unwrap();
        assert_eq!(settings.protocol, Protocol::HttpProtobuf);
        assert_eq!(settings.endpoint, "http://localhost:4318/v1/traces");
        assert_eq!(settings.timeout, Duration::from_secs(10));
        assert_eq!(settings.compression, Compression::None);
        let grpc = resolve(
            OtlpOverrides {
                protocol: Some(Protocol::Grpc),
                ..Default::default()
            },
            &Env::fixed(&[]),
        )
        .unwrap();
        assert_eq!(grpc.endpoint, "http://localhost:4317");
    }

    #[test]
    fn endpoints() {
        let general = settings(&[(ENDPOINT, "http://collector:4318/")]).unwrap();
        assert_eq!(general.endpoint, "http://collector:4318/v1/traces");
        let traces = settings(&[
            (ENDPOINT, "http://a:1"),
            (TRACES_ENDPOINT, "http://b:2/custom"),
        ])
        .unwrap();
        assert_eq!(traces.endpoint, "http://b:2/custom");
        let grpc = settings(&[
            (ENDPOINT, "http://c:4317"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ])
        .unwrap();
        assert_eq!(grpc.endpoint, "http://c:4317");
        let code = resolve(
            OtlpOverrides {
                endpoint: Some("http://code:9".into()),
                ..Default::default()
            },
            &Env::fixed(&[(TRACES_ENDPOINT, "http://env:1")]),
        )
        .unwrap();
        assert_eq!(code.endpoint, "http://code:9/v1/traces");
        for bad in [
            "localhost:4318",
            "ftp://x",
            "http://",
            "not a url",
            "https://api.example.com",
        ] {
            let error = settings(&[(ENDPOINT, bad)]).unwrap_err();
            assert_eq!(error.variable(), ENDPOINT, "{bad}");
        }
    }

    #[test]
    fn logs_use_their_own_variables_and_path() {
        let logs = |vars: &[(&str, &str)]| {
            resolve_for(OtlpOverrides::default(), &Env::fixed(vars), Signal::Logs).unwrap()
        };
        assert_eq!(logs(&[]).endpoint, "http://localhost:4318/v1/logs");
        let general = logs(&[(ENDPOINT, "http://collector:4318")]);
        assert_eq!(general.endpoint, "http://collector:4318/v1/logs");
        let own = logs(&[
            (ENDPOINT, "http://a:1"),
            (TRACES_ENDPOINT, "http://traces:2"),
            ("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "http://logs:3/ingest"),
            ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_LOGS_HEADERS", "k=logs"),
            ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "k=traces"),
            ("OTEL_EXPORTER_OTLP_LOGS_TIMEOUT", "700"),
        ]);
        assert_eq!(own.endpoint, "http://logs:3/ingest");
        assert_eq!(own.protocol, Protocol::HttpProtobuf);
        assert_eq!(own.headers, [("k".to_owned(), "logs".to_owned())]);
        assert_eq!(own.timeout, Duration::from_millis(700));
        let error = resolve_for(
            OtlpOverrides::default(),
            &Env::fixed(&[("OTEL_EXPORTER_OTLP_LOGS_COMPRESSION", "zstd")]),
            Signal::Logs,
        )
        .unwrap_err();
        assert_eq!(error.variable(), "OTEL_EXPORTER_OTLP_LOGS_COMPRESSION");
    }

    #[test]
    fn protocol_values() {
        let traces_wins = settings(&[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc"),
        ])
        .unwrap();
        assert_eq!(traces_wins.protocol, Protocol::Grpc);
        let error = settings(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "OTEL_EXPORTER_OTLP_PROTOCOL: invalid value \"http/json\"; expected one of: grpc, http/protobuf"
        );
    }

    #[test]
    fn headers_merge_with_traces_and_code_winning() {
        let resolved = resolve(
            OtlpOverrides {
                headers: vec![("X-Code".into(), "c".into())],
                ..Default::default()
            },
            &Env::fixed(&[
                (
                    "OTEL_EXPORTER_OTLP_HEADERS",
                    "api-key=general,x-tenant=a%20b",
                ),
                ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "API-KEY=traces"),
            ]),
        )
        .unwrap();
        assert_eq!(
            resolved.headers,
            [("x-tenant", "a b"), ("api-key", "traces"), ("x-code", "c")]
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
        let debug = format!("{resolved:?}");
        assert!(
            debug.contains("api-key: <redacted>") && !debug.contains("a b"),
            "{debug}"
        );
        let error = settings(&[("OTEL_EXPORTER_OTLP_HEADERS", "api-key")]).unwrap_err();
        assert_eq!(error.variable(), "OTEL_EXPORTER_OTLP_HEADERS");
        let error = settings(&[("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "bad key=1")]).unwrap_err();
        assert_eq!(error.variable(), "OTEL_EXPORTER_OTLP_TRACES_HEADERS");
    }

    #[test]
    fn timeout_and_compression() {
        let resolved = settings(&[
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "100"),
            ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "2500"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
        ])
        .unwrap();
        assert_eq!(resolved.timeout, Duration::from_millis(2500));
        assert_eq!(resolved.compression, Compression::Gzip);
        let error = settings(&[("OTEL_EXPORTER_OTLP_TIMEOUT", "10s")]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "OTEL_EXPORTER_OTLP_TIMEOUT: invalid value \"10s\"; expected a whole number of milliseconds"
        );
        let error = settings(&[("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "zstd")]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: invalid value \"zstd\"; expected one of: gzip, none"
        );
    }
}
