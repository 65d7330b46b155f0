//! `OTEL_EXPORTER_OTLP_*`: where and how OTLP export sends one signal
//! (traces, or logs), with the signal-specific variables
//! (`OTEL_EXPORTER_OTLP_TRACES_*`, `OTEL_EXPORTER_OTLP_LOGS_*`) winning over
//! the general ones and what code sets winning over both.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use super::env::{Env, key_value_list, redact_pair, redact_url};

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

/// One kind of telemetry: what an exporter sends, and what an
/// [`ExporterError`](crate::ExporterError) names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Signal {
    /// Spans.
    Traces,
    /// Log records.
    Logs,
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Signal::Traces => "spans",
            Signal::Logs => "logs",
        })
    }
}

/// The variables of one signal, or the general ones.
struct Vars {
    endpoint: &'static str,
    protocol: &'static str,
    headers: &'static str,
    timeout: &'static str,
    compression: &'static str,
    certificate: &'static str,
    client_certificate: &'static str,
    client_key: &'static str,
    insecure: &'static str,
}

const GENERAL: Vars = Vars {
    endpoint: "OTEL_EXPORTER_OTLP_ENDPOINT",
    protocol: "OTEL_EXPORTER_OTLP_PROTOCOL",
    headers: "OTEL_EXPORTER_OTLP_HEADERS",
    timeout: "OTEL_EXPORTER_OTLP_TIMEOUT",
    compression: "OTEL_EXPORTER_OTLP_COMPRESSION",
    certificate: "OTEL_EXPORTER_OTLP_CERTIFICATE",
    client_certificate: "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
    client_key: "OTEL_EXPORTER_OTLP_CLIENT_KEY",
    insecure: "OTEL_EXPORTER_OTLP_INSECURE",
};

const TRACES: Vars = Vars {
    endpoint: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    protocol: "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    headers: "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    timeout: "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
    compression: "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
    certificate: "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
    client_certificate: "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE",
    client_key: "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY",
    insecure: "OTEL_EXPORTER_OTLP_TRACES_INSECURE",
};

const LOGS: Vars = Vars {
    endpoint: "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
    protocol: "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL",
    headers: "OTEL_EXPORTER_OTLP_LOGS_HEADERS",
    timeout: "OTEL_EXPORTER_OTLP_LOGS_TIMEOUT",
    compression: "OTEL_EXPORTER_OTLP_LOGS_COMPRESSION",
    certificate: "OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE",
    client_certificate: "OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE",
    client_key: "OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY",
    insecure: "OTEL_EXPORTER_OTLP_LOGS_INSECURE",
};

impl Signal {
    fn vars(self) -> &'static Vars {
        match self {
            Signal::Traces => &TRACES,
            Signal::Logs => &LOGS,
        }
    }

    /// The path the specification adds to a general endpoint over HTTP.
    fn path(self) -> &'static str {
        match self {
            Signal::Traces => "/v1/traces",
            Signal::Logs => "/v1/logs",
        }
    }
}

/// What code set for OTLP; each field left `None` comes from the environment.
#[derive(Clone, Default)]
pub(crate) struct OtlpOverrides {
    pub(crate) endpoint: Option<String>,
    pub(crate) protocol: Option<Protocol>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) compression: Option<Compression>,
    pub(crate) certificate: Option<PathBuf>,
    pub(crate) client_certificate: Option<(PathBuf, PathBuf)>,
}

/// OTLP export of one signal, fully resolved.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct OtlpSettings {
    /// The full URL requests go to (for HTTP, including `/v1/traces`).
    pub(crate) endpoint: String,
    pub(crate) protocol: Protocol,
    pub(crate) headers: Vec<(String, String)>,
    /// `OTEL_EXPORTER_OTLP_(SIGNAL_)TIMEOUT`, or code's; `None`: no limit.
    pub(crate) timeout: Option<Duration>,
    /// The longest one export may take, retries included: the shorter of
    /// the OTLP timeout and the signal's batch export timeout; `None`: no
    /// limit.
    pub(crate) deadline: Option<Duration>,
    pub(crate) compression: Compression,
    /// Over gRPC, opentelemetry-otlp applies a compression named in the
    /// environment even when code asked for none, and offers no way to say
    /// "none": the variable that wins there (`NAME=gzip`), if any.
    pub(crate) gzip_from_env_over_grpc: Option<String>,
    pub(crate) tls: Tls,
}

/// Certificates for `https://` endpoints; with none, the system's trusted
/// roots and Mozilla's are used and no client certificate is sent.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct Tls {
    /// The only CA trusted to sign the collector's certificate.
    pub(crate) ca_certificate: Option<Pem>,
    /// Certificate chain and private key for mutual TLS.
    pub(crate) client_identity: Option<(Pem, Pem)>,
}

/// The contents of a PEM file, and where they came from for messages.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Pem {
    pub(crate) path: PathBuf,
    /// The variable (or `Config` setter) that named the file.
    pub(crate) variable: &'static str,
    pub(crate) bytes: Vec<u8>,
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
            .field("endpoint", &self.endpoint.as_deref().map(redact_url))
            .field("protocol", &self.protocol)
            .field("headers", &HeaderNames(&self.headers))
            .field("timeout", &self.timeout)
            .field("compression", &self.compression)
            .field("certificate", &self.certificate)
            .field("client_certificate", &self.client_certificate)
            .finish()
    }
}

impl fmt::Debug for OtlpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtlpSettings")
            .field("endpoint", &redact_url(&self.endpoint))
            .field("protocol", &self.protocol)
            .field("headers", &HeaderNames(&self.headers))
            .field("timeout", &self.timeout)
            .field("deadline", &self.deadline)
            .field("compression", &self.compression)
            .field("tls", &self.tls)
            .finish()
    }
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls")
            .field("ca_certificate", &self.ca_certificate)
            .field("client_identity", &self.client_identity)
            .finish()
    }
}

impl fmt::Debug for Pem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pem({})", self.path.display())
    }
}

const CODE_ENDPOINT: &str = "Config::otlp_endpoint";
const CODE_HEADER: &str = "Config::otlp_header";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether an endpoint for `signal` is configured, in code or the
/// environment (which makes OTLP the default exporter).
pub(crate) fn endpoint_configured(overrides: &OtlpOverrides, env: &Env, signal: Signal) -> bool {
    overrides.endpoint.is_some()
        || env
            .first(&[signal.vars().endpoint, GENERAL.endpoint])
            .is_some()
}

/// The OTLP settings of `signal`: code first, then the signal's variables,
/// then the general ones, then the specification's defaults. Values that
/// cannot be used are noted as warnings on `env` and replaced by defaults.
pub(crate) fn resolve(overrides: OtlpOverrides, env: &Env, signal: Signal) -> OtlpSettings {
    let vars = signal.vars();
    let protocol = overrides.protocol.unwrap_or_else(|| {
        let variable = [vars.protocol, GENERAL.protocol]
            .into_iter()
            .find(|name| env.get(name).is_some());
        match variable
            .and_then(|name| env.choice(name, &["grpc", "http/protobuf"], "http/protobuf"))
        {
            Some("grpc") => Protocol::Grpc,
            _ => Protocol::HttpProtobuf,
        }
    });
    let insecure = [vars.insecure, GENERAL.insecure]
        .into_iter()
        .find_map(|name| env.bool(name))
        .unwrap_or(false);
    let endpoint = endpoint(overrides.endpoint, protocol, insecure, env, signal);
    let headers = headers(overrides.headers, env, vars);
    warn_of_clear_text_credentials(&endpoint, &headers, env);
    let timeout = match overrides.timeout {
        Some(timeout) => (!timeout.is_zero()).then_some(timeout),
        None => [vars.timeout, GENERAL.timeout]
            .into_iter()
            .find(|name| env.get(name).is_some())
            .and_then(|name| env.timeout(name, "10000 (10 s)"))
            .unwrap_or(Some(DEFAULT_TIMEOUT)),
    };
    let compression = overrides.compression.unwrap_or_else(|| {
        let variable = [vars.compression, GENERAL.compression]
            .into_iter()
            .find(|name| env.get(name).is_some());
        match variable.and_then(|name| env.choice(name, &["gzip", "none"], "none")) {
            Some("gzip") => Compression::Gzip,
            _ => Compression::None,
        }
    });
    let gzip_from_env_over_grpc = (protocol == Protocol::Grpc && compression == Compression::None)
        .then(|| gzip_named_in_env(env, vars))
        .flatten();
    let tls = tls(
        overrides.certificate,
        overrides.client_certificate,
        env,
        vars,
    );
    OtlpSettings {
        endpoint,
        protocol,
        headers,
        timeout,
        // The signal's batch export timeout shortens it: see `with_deadline`.
        deadline: timeout,
        compression,
        gzip_from_env_over_grpc,
        tls,
    }
}

/// `NAME=gzip` for the compression variable of `vars` or the general one,
/// when it asks for gzip.
fn gzip_named_in_env(env: &Env, vars: &Vars) -> Option<String> {
    [vars.compression, GENERAL.compression]
        .into_iter()
        .find_map(|name| Some((name, env.get(name)?)))
        .filter(|(_, value)| value.trim().eq_ignore_ascii_case("gzip"))
        .map(|(name, value)| format!("{name}={}", value.trim()))
}

impl OtlpSettings {
    /// The collector `signal` goes to, fit to print: the endpoint without
    /// the path HTTP adds for the signal, credentials redacted.
    #[cfg_attr(not(feature = "otlp"), allow(dead_code))]
    pub(crate) fn collector(&self, signal: Signal) -> String {
        let endpoint = match self.protocol {
            Protocol::HttpProtobuf => self
                .endpoint
                .strip_suffix(signal.path())
                .unwrap_or(&self.endpoint),
            Protocol::Grpc => &self.endpoint,
        };
        redact_url(endpoint)
    }

    /// The deadline of one export, once the signal's batch export timeout
    /// (`None`: no limit) is known.
    pub(crate) fn with_deadline(mut self, export_timeout: Option<Duration>) -> Self {
        self.deadline = match (self.timeout, export_timeout) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (one, other) => one.or(other),
        };
        self
    }
}

/// The endpoint to send to. The signal-specific variable is a full URL used
/// as given; the general one is a base to which HTTP always adds the
/// signal's path (`http://gw:4318/otlp` → `http://gw:4318/otlp/v1/traces`);
/// one set in code gets the path only when it has none. A gRPC endpoint
/// without a scheme uses TLS unless `..._INSECURE=true`.
fn endpoint(
    code: Option<String>,
    protocol: Protocol,
    insecure: bool,
    env: &Env,
    signal: Signal,
) -> String {
    enum Kind {
        Code,
        Full,
        Base,
    }
    let default = match protocol {
        Protocol::Grpc => "http://localhost:4317".to_owned(),
        Protocol::HttpProtobuf => format!("http://localhost:4318{}", signal.path()),
    };
    let (variable, text, kind) = match (code, env.get(signal.vars().endpoint)) {
        (Some(code), _) => (CODE_ENDPOINT, code, Kind::Code),
        (None, Some(full)) => (signal.vars().endpoint, full, Kind::Full),
        (None, None) => match env.get(GENERAL.endpoint) {
            Some(base) => (GENERAL.endpoint, base, Kind::Base),
            None => return default,
        },
    };
    let text = match (protocol, text.contains("://")) {
        (Protocol::Grpc, false) if insecure => format!("http://{text}"),
        (Protocol::Grpc, false) => format!("https://{text}"),
        _ => text,
    };
    let valid = text.parse::<http::Uri>().ok().filter(|uri| {
        matches!(uri.scheme_str(), Some("http" | "https")) && uri.authority().is_some()
    });
    let Some(uri) = valid else {
        env.warn(
            variable,
            &redact_url(&text),
            "an http:// or https:// URL such as https://collector.example.com:4318",
            &default,
        );
        return default;
    };
    let has_path = !matches!(uri.path(), "" | "/");
    let append = match kind {
        Kind::Full => false,
        Kind::Base => true,
        Kind::Code => !has_path,
    };
    if protocol == Protocol::HttpProtobuf && append {
        format!("{}{}", text.trim_end_matches('/'), signal.path())
    } else {
        text
    }
}

/// The general headers, then the signal's (winning on a name), then code's
/// (winning over both). A pair that cannot be sent is left out with a
/// warning that names it but never shows its value.
fn headers(code: Vec<(String, String)>, env: &Env, vars: &Vars) -> Vec<(String, String)> {
    let mut headers = Vec::new();
    for variable in [GENERAL.headers, vars.headers] {
        let Some(text) = env.get(variable) else {
            continue;
        };
        let (pairs, bad) = key_value_list(&text);
        for pair in bad {
            env.warn(
                variable,
                &redact_pair(pair.0),
                "comma-separated key=value pairs",
                "the other headers",
            );
        }
        for (key, value) in pairs {
            if header_is_valid(variable, &key, &value, env) {
                set_header(&mut headers, key, value);
            }
        }
    }
    for (key, value) in code {
        if header_is_valid(CODE_HEADER, &key, &value, env) {
            set_header(&mut headers, key, value);
        }
    }
    headers
}

fn header_is_valid(variable: &'static str, key: &str, value: &str, env: &Env) -> bool {
    let valid = http::HeaderName::from_bytes(key.as_bytes()).is_ok()
        && http::HeaderValue::from_str(value).is_ok();
    if !valid {
        env.warn(
            variable,
            &format!("{key}=<redacted>"),
            "header names and values valid in HTTP",
            "the other headers",
        );
    }
    valid
}

fn set_header(headers: &mut Vec<(String, String)>, key: String, value: String) {
    headers.retain(|(existing, _)| !existing.eq_ignore_ascii_case(&key));
    headers.push((key.to_ascii_lowercase(), value));
}

/// Header names that usually carry credentials.
const CREDENTIAL_WORDS: &[&str] = &[
    "auth",
    "key",
    "token",
    "secret",
    "pass",
    "cookie",
    "credential",
    "signature",
    "-team",
];

/// Credentials sent unencrypted to another host are worth one line on stderr.
fn warn_of_clear_text_credentials(endpoint: &str, headers: &[(String, String)], env: &Env) {
    let Ok(uri) = endpoint.parse::<http::Uri>() else {
        return;
    };
    let loopback = match uri.host() {
        Some(host) => {
            host.eq_ignore_ascii_case("localhost")
                || host
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        None => true,
    };
    if uri.scheme_str() != Some("http") || loopback {
        return;
    }
    let credentials: Vec<&str> = headers
        .iter()
        .map(|(name, _)| name.as_str())
        .filter(|name| CREDENTIAL_WORDS.iter().any(|word| name.contains(word)))
        .collect();
    if !credentials.is_empty() {
        env.notice(format!(
            "OTLP headers that look like credentials ({}) are sent unencrypted to {}; use an \
             https:// endpoint",
            credentials.join(", "),
            redact_url(endpoint)
        ));
    }
}

/// The CA and client certificate files: read and checked now, so a missing
/// or broken file is reported with its variable instead of failing exports.
fn tls(
    code_ca: Option<PathBuf>,
    code_identity: Option<(PathBuf, PathBuf)>,
    env: &Env,
    vars: &Vars,
) -> Tls {
    let from_env = |names: [&'static str; 2]| {
        names
            .into_iter()
            .find_map(|name| env.get(name).map(|path| (name, PathBuf::from(path))))
    };
    let ca = match code_ca {
        Some(path) => Some(("Config::otlp_certificate", path)),
        None => from_env([vars.certificate, GENERAL.certificate]),
    };
    let ca_certificate = ca.and_then(|(variable, path)| {
        read_pem(
            variable,
            path,
            PemKind::Certificates,
            env,
            "the system's trusted roots",
        )
    });
    let identity = match code_identity {
        Some((certificate, key)) => Some((
            ("Config::otlp_client_certificate", certificate),
            ("Config::otlp_client_certificate", key),
        )),
        None => match (
            from_env([vars.client_certificate, GENERAL.client_certificate]),
            from_env([vars.client_key, GENERAL.client_key]),
        ) {
            (Some(certificate), Some(key)) => Some((certificate, key)),
            (Some((variable, path)), None) | (None, Some((variable, path))) => {
                env.warn(
                    variable,
                    &path.display().to_string(),
                    "a client certificate and a client key together",
                    "no client certificate",
                );
                None
            }
            (None, None) => None,
        },
    };
    let client_identity = identity.and_then(|((cert_variable, cert), (key_variable, key))| {
        let certificate = read_pem(
            cert_variable,
            cert,
            PemKind::Certificates,
            env,
            "no client certificate",
        )?;
        let key = read_pem(
            key_variable,
            key,
            PemKind::PrivateKey,
            env,
            "no client certificate",
        )?;
        Some((certificate, key))
    });
    Tls {
        ca_certificate,
        client_identity,
    }
}

#[derive(Clone, Copy)]
enum PemKind {
    Certificates,
    PrivateKey,
}

fn read_pem(
    variable: &'static str,
    path: PathBuf,
    kind: PemKind,
    env: &Env,
    used: &str,
) -> Option<Pem> {
    let shown = path.display().to_string();
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(error) => {
            env.warn(variable, &shown, format!("a readable file ({error})"), used);
            return None;
        }
    };
    if !pem_holds(kind, &bytes) {
        let what = match kind {
            PemKind::Certificates => "a PEM file holding certificates",
            PemKind::PrivateKey => "a PEM file holding a private key",
        };
        env.warn(variable, &shown, what, used);
        return None;
    }
    Some(Pem {
        path,
        variable,
        bytes,
    })
}

#[cfg(feature = "otlp")]
fn pem_holds(kind: PemKind, bytes: &[u8]) -> bool {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    match kind {
        PemKind::Certificates => {
            let mut certificates = CertificateDer::pem_slice_iter(bytes).peekable();
            certificates.peek().is_some() && certificates.all(|certificate| certificate.is_ok())
        }
        PemKind::PrivateKey => PrivateKeyDer::from_pem_slice(bytes).is_ok(),
    }
}

#[cfg(not(feature = "otlp"))]
fn pem_holds(_kind: PemKind, bytes: &[u8]) -> bool {
    bytes.starts_with(b"-----BEGIN")
}

#[cfg_attr(not(feature = "otlp"), allow(dead_code))]
/// A hint for a failed export when the port is the other protocol's
/// well-known one (gRPC sent to 4318, HTTP to 4317).
pub(crate) fn protocol_hint(settings: &OtlpSettings) -> Option<String> {
    let port = settings.endpoint.parse::<http::Uri>().ok()?.port_u16()?;
    match (settings.protocol, port) {
        (Protocol::Grpc, 4318) => Some(
            "port 4318 is where collectors take OTLP over HTTP, but the protocol is grpc: use \
             port 4317, or set OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf"
                .to_owned(),
        ),
        (Protocol::HttpProtobuf, 4317) => Some(
            "port 4317 is where collectors take OTLP over gRPC, but the protocol is \
             http/protobuf: use port 4318, or set OTEL_EXPORTER_OTLP_PROTOCOL=grpc"
                .to_owned(),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
