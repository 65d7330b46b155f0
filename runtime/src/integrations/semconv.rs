//! Attribute values shared by the integrations, per the OpenTelemetry semantic
//! conventions for HTTP and RPC.
#![cfg_attr(not(feature = "tower"), allow(dead_code))]

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use opentelemetry::trace::SpanRef;
use opentelemetry::{KeyValue, StringValue};

use super::value_cap::ValueCap;

/// `http.request.method`: the methods the conventions know, or `_OTHER`.
pub(crate) fn method(method: &http::Method) -> &'static str {
    match *method {
        http::Method::GET => "GET",
        http::Method::HEAD => "HEAD",
        http::Method::POST => "POST",
        http::Method::PUT => "PUT",
        http::Method::DELETE => "DELETE",
        http::Method::CONNECT => "CONNECT",
        http::Method::OPTIONS => "OPTIONS",
        http::Method::TRACE => "TRACE",
        http::Method::PATCH => "PATCH",
        _ => "_OTHER",
    }
}

/// Method attributes: `http.request.method`, plus `http.request.method_original`
/// for a method outside the known set.
pub(crate) fn method_attributes(raw: &http::Method, cap: ValueCap, attributes: &mut Vec<KeyValue>) {
    let known = method(raw);
    attributes.push(KeyValue::new("http.request.method", known));
    if known == "_OTHER" {
        attributes.push(KeyValue::new(
            "http.request.method_original",
            cap.str(raw.as_str()),
        ));
    }
}

/// The method part of a span name: `HTTP` stands for an unknown method.
pub(crate) fn span_method(raw: &http::Method) -> &'static str {
    match method(raw) {
        "_OTHER" => "HTTP",
        known => known,
    }
}

/// `network.protocol.version`.
pub(crate) fn protocol_version(version: http::Version) -> Option<&'static str> {
    match version {
        http::Version::HTTP_09 => Some("0.9"),
        http::Version::HTTP_10 => Some("1.0"),
        http::Version::HTTP_11 => Some("1.1"),
        http::Version::HTTP_2 => Some("2"),
        http::Version::HTTP_3 => Some("3"),
        _ => None,
    }
}

/// `url.scheme` of a request: `http` when its URI names none, as a server's
/// requests seldom do; the usual schemes without a copy.
pub(crate) fn scheme(uri: &http::Uri, cap: ValueCap) -> StringValue {
    match uri.scheme_str() {
        None | Some("http") => StringValue::from("http"),
        Some("https") => StringValue::from("https"),
        Some(other) => StringValue::from(cap.str(other)),
    }
}

/// An IP address as text, in one allocation that every attribute holding
/// it shares.
pub(crate) fn address_text(ip: IpAddr) -> StringValue {
    let text: Arc<str> = match ip {
        IpAddr::V4(ip) => {
            let mut bytes = [0; 15];
            let len = write_v4(ip, &mut bytes);
            // Digits and dots only.
            Arc::from(std::str::from_utf8(&bytes[..len]).unwrap_or_default())
        }
        IpAddr::V6(ip) => Arc::from(ip.to_string()),
    };
    StringValue::from(text)
}

/// Writes the dotted-decimal text of `ip`, as its `Display` does, without
/// the formatting machinery; its length.
fn write_v4(ip: Ipv4Addr, bytes: &mut [u8; 15]) -> usize {
    let mut len = 0;
    for (index, octet) in ip.octets().into_iter().enumerate() {
        if index > 0 {
            bytes[len] = b'.';
            len += 1;
        }
        if octet >= 100 {
            bytes[len] = b'0' + octet / 100;
            len += 1;
        }
        if octet >= 10 {
            bytes[len] = b'0' + octet / 10 % 10;
            len += 1;
        }
        bytes[len] = b'0' + octet % 10;
        len += 1;
    }
    len
}

/// The port a scheme implies when the authority names none.
fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        _ => None,
    }
}

/// `server.address` and `server.port`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Authority {
    pub(crate) host: String,
    pub(crate) port: Option<u16>,
}

impl Authority {
    /// The authority of an absolute URI, with the port its scheme implies
    /// when it names none.
    #[cfg(feature = "grpc")]
    pub(crate) fn of_uri(uri: &http::Uri) -> Option<Authority> {
        Authority::parse(uri.authority()?.as_str(), uri)
    }

    /// The server a request is for: the authority of its URI, else its
    /// `Host` header.
    pub(crate) fn of_request(uri: &http::Uri, headers: &http::HeaderMap) -> Option<Authority> {
        let authority = match uri.authority() {
            Some(authority) => authority.as_str(),
            None => headers.get(http::header::HOST)?.to_str().ok()?,
        };
        Authority::parse(authority, uri)
    }

    fn parse(authority: &str, uri: &http::Uri) -> Option<Authority> {
        let (host, port) = host_and_port(authority)?;
        let port = port.or_else(|| default_port(uri.scheme_str().unwrap_or("http")));
        Some(Authority { host, port })
    }

    /// `server.address`, cut to `cap`, and, when known, `server.port`.
    pub(crate) fn push(self, cap: ValueCap, attributes: &mut Vec<KeyValue>) {
        attributes.push(KeyValue::new("server.address", cap.string(self.host)));
        if let Some(port) = self.port {
            attributes.push(KeyValue::new("server.port", i64::from(port)));
        }
    }
}

/// The host and port of an authority (`host[:port]`, IPv6 in brackets),
/// without any userinfo.
fn host_and_port(authority: &str) -> Option<(String, Option<u16>)> {
    // Byte scans: every delimiter is ASCII, so each split is on a char
    // boundary.
    let after_userinfo = authority
        .bytes()
        .rposition(|byte| byte == b'@')
        .map_or(0, |at| at + 1);
    let host_port = &authority[after_userinfo..];
    if host_port.is_empty() {
        return None;
    }
    if let Some(rest) = host_port.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = after.strip_prefix(':').and_then(|port| port.parse().ok());
        return Some((host.to_owned(), port));
    }
    match host_port.bytes().rposition(|byte| byte == b':') {
        Some(colon) => Some((
            host_port[..colon].to_owned(),
            host_port[colon + 1..].parse().ok(),
        )),
        None => Some((host_port.to_owned(), None)),
    }
}

/// Query parameters whose values are credentials: the semantic conventions'
/// list (pre-signed URLs) and the usual names of tokens, keys and passwords.
/// Compared without regard to case, after percent-decoding.
const SECRET_QUERY_KEYS: &[&str] = &[
    "AWSAccessKeyId",
    "Signature",
    "sig",
    "X-Goog-Signature",
    "X-Amz-Signature",
    "X-Amz-Credential",
    "X-Amz-Security-Token",
    "access_token",
    "refresh_token",
    "id_token",
    "token",
    "api_key",
    "api-key",
    "apikey",
    "key",
    "client_secret",
    "password",
    "passwd",
    "secret",
    "auth",
];

fn is_secret_key(raw: &str) -> bool {
    let key = percent_decoded(raw);
    SECRET_QUERY_KEYS
        .iter()
        .any(|secret| secret.eq_ignore_ascii_case(&key))
}

/// `%XX` escapes decoded (a malformed escape is kept as it is).
fn percent_decoded(text: &str) -> Cow<'_, str> {
    if !text.contains('%') {
        return Cow::Borrowed(text);
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| text.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// The query with the values of credential parameters replaced by
/// `REDACTED`.
pub(crate) fn redact_query(query: &str) -> Cow<'_, str> {
    let secret = |pair: &str| {
        let key = pair.split('=').next().unwrap_or(pair);
        pair.contains('=') && is_secret_key(key)
    };
    if !query.split('&').any(secret) {
        return Cow::Borrowed(query);
    }
    let redacted: Vec<Cow<'_, str>> = query
        .split('&')
        .map(|pair| {
            if secret(pair) {
                let key = pair.split('=').next().unwrap_or(pair);
                Cow::Owned(format!("{key}=REDACTED"))
            } else {
                Cow::Borrowed(pair)
            }
        })
        .collect();
    Cow::Owned(redacted.join("&"))
}

/// `url.full` for an absolute `http::Uri`: userinfo replaced by
/// `REDACTED:REDACTED`, credential query values redacted.
pub(crate) fn full_url(uri: &http::Uri) -> Option<String> {
    let scheme = uri.scheme_str()?;
    let authority = uri.authority()?.as_str();
    let authority = match authority.rsplit_once('@') {
        Some((_, host)) => Cow::Owned(format!("REDACTED:REDACTED@{host}")),
        None => Cow::Borrowed(authority),
    };
    let mut url = format!("{scheme}://{authority}{}", uri.path());
    if let Some(query) = uri.query() {
        url.push('?');
        url.push_str(&redact_query(query));
    }
    Some(url)
}

/// Status code, protocol version and, for a 4xx or 5xx, the error status:
/// a client span fails when its request does (the conventions' SHOULD for
/// clients; server spans leave 4xx unset).
pub(crate) fn record_client_response(
    span: &SpanRef<'_>,
    status: http::StatusCode,
    version: http::Version,
) {
    span.set_attribute(KeyValue::new(
        "http.response.status_code",
        i64::from(status.as_u16()),
    ));
    if let Some(version) = protocol_version(version) {
        span.set_attribute(KeyValue::new("network.protocol.version", version));
    }
    if status.is_client_error() || status.is_server_error() {
        crate::span_error::record(span, status.as_str().to_owned(), status.to_string(), None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_written_as_their_display_says() {
        for ip in [
            "127.0.0.1",
            "0.0.0.0",
            "10.20.100.9",
            "255.255.255.255",
            "::1",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "::ffff:255.255.255.255",
            "fe80::1:2:3:4",
        ] {
            let ip: IpAddr = ip.parse().expect("an address");
            assert_eq!(address_text(ip).as_str(), ip.to_string());
        }
    }

    #[test]
    fn schemes() {
        let cap = ValueCap::default();
        let scheme = |uri: &str| {
            scheme(&uri.parse().expect("a URI"), cap)
                .as_str()
                .to_owned()
        };
        assert_eq!(scheme("/items/1"), "http");
        assert_eq!(scheme("http://example.com/"), "http");
        assert_eq!(scheme("https://example.com/"), "https");
        assert_eq!(scheme("ftp://example.com/"), "ftp");
    }

    #[test]
    fn authority_forms() {
        assert_eq!(
            host_and_port("example.com"),
            Some(("example.com".into(), None))
        );
        assert_eq!(
            host_and_port("example.com:8080"),
            Some(("example.com".into(), Some(8080)))
        );
        assert_eq!(
            host_and_port("u:p@example.com:81"),
            Some(("example.com".into(), Some(81)))
        );
        assert_eq!(
            host_and_port("[::1]:3000"),
            Some(("::1".into(), Some(3000)))
        );
        assert_eq!(host_and_port("[::1]"), Some(("::1".into(), None)));
        assert_eq!(host_and_port("[::1"), None);
        assert_eq!(host_and_port(""), None);
    }

    #[test]
    fn repro_credential_query_keys_are_redacted_whatever_their_case() {
        assert_eq!(
            redact_query("ACCESS_TOKEN=a&Token=b&api_key=c&password=d&secret=e&SIGNATURE=f&q=1"),
            "ACCESS_TOKEN=REDACTED&Token=REDACTED&api_key=REDACTED&password=REDACTED&\
             secret=REDACTED&SIGNATURE=REDACTED&q=1"
        );
        assert_eq!(
            redact_query("%73ig=x&x-amz-signature=y&X-Amz-Credential=z"),
            "%73ig=REDACTED&x-amz-signature=REDACTED&X-Amz-Credential=REDACTED"
        );
        assert_eq!(redact_query("tokens=1&keyword=2"), "tokens=1&keyword=2");
    }

    #[test]
    fn query_secrets_are_redacted_and_the_rest_kept() {
        assert_eq!(redact_query("a=1&b=2"), "a=1&b=2");
        assert_eq!(
            redact_query("X-Goog-Signature=abc&page=2&sig=zz&Signature"),
            "X-Goog-Signature=REDACTED&page=2&sig=REDACTED&Signature"
        );
        assert_eq!(
            redact_query("AWSAccessKeyId=AK&sigx=1"),
            "AWSAccessKeyId=REDACTED&sigx=1"
        );
    }

    #[test]
    fn full_url_hides_credentials() {
        let uri: http::Uri = "http://alice:secret@127.0.0.1:8080/a/b?sig=x&q=1"
            .parse()
            .unwrap();
        assert_eq!(
            full_url(&uri).as_deref(),
            Some("http://REDACTED:REDACTED@127.0.0.1:8080/a/b?sig=REDACTED&q=1")
        );
        let relative: http::Uri = "/only/path".parse().unwrap();
        assert_eq!(full_url(&relative), None);
    }

    #[test]
    fn unknown_methods() {
        let custom = http::Method::from_bytes(b"PURGE").unwrap();
        assert_eq!(method(&custom), "_OTHER");
        assert_eq!(span_method(&custom), "HTTP");
        let mut attributes = Vec::new();
        method_attributes(&custom, ValueCap::default(), &mut attributes);
        assert_eq!(
            attributes[1],
            KeyValue::new("http.request.method_original", "PURGE")
        );
    }
}
