//! Reading `OTEL_*` values: from the process environment or, in tests, a
//! fixed map. A value that cannot be used is never fatal: the typed readers
//! note a [`Warning`] naming the variable, the value and what is used
//! instead, and hand back `None` so the caller takes its default, as the
//! OpenTelemetry specification asks. `Config::strict()` turns the first
//! warning into a [`ConfigError`].

use std::cell::RefCell;
use std::fmt;
use std::time::Duration;

use crate::global_state;

/// Where `OTEL_*` values are read from, and the warnings reading them gave.
#[derive(Debug, Default)]
pub(crate) struct Env {
    fixed: Option<Vec<(String, String)>>,
    warnings: RefCell<Vec<Warning>>,
    notices: RefCell<Vec<String>>,
}

impl Env {
    pub(crate) fn process() -> Self {
        Env::default()
    }

    #[cfg(test)]
    pub(crate) fn fixed(vars: &[(&str, &str)]) -> Self {
        Env {
            fixed: Some(
                vars.iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            ),
            warnings: RefCell::default(),
            notices: RefCell::default(),
        }
    }

    /// The value of `name`; an empty (or blank) value counts as unset, as the
    /// OpenTelemetry specification asks.
    pub(crate) fn get(&self, name: &str) -> Option<String> {
        let value = match &self.fixed {
            Some(vars) => vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()),
            None => std::env::var(name).ok(),
        }?;
        let trimmed = value.trim();
        (!trimmed.is_empty()).then(|| trimmed.to_owned())
    }

    /// The first of `names` that is set, with the name it came from.
    pub(crate) fn first(&self, names: &[&'static str]) -> Option<(&'static str, String)> {
        names
            .iter()
            .find_map(|name| self.get(name).map(|value| (*name, value)))
    }

    /// Notes that `variable` holds `value` (already free of secrets), which is
    /// not `expected`, so `used` is used instead.
    pub(crate) fn warn(
        &self,
        variable: &'static str,
        value: &str,
        expected: impl Into<String>,
        used: impl Into<String>,
    ) {
        let mut warnings = self.warnings.borrow_mut();
        if warnings.iter().any(|w| w.error.variable == variable) {
            return;
        }
        warnings.push(Warning {
            error: ConfigError::new(variable, value, expected),
            used: used.into(),
        });
    }

    /// Notes advice about a valid configuration (never an error, even
    /// under `Config::strict()`).
    pub(crate) fn notice(&self, text: String) {
        self.notices.borrow_mut().push(text);
    }

    /// The notices so far, in order.
    pub(crate) fn notices(&self) -> Vec<String> {
        self.notices.borrow().clone()
    }

    /// The warnings noted so far, in order.
    pub(crate) fn warnings(&self) -> Vec<Warning> {
        self.warnings.borrow().clone()
    }

    /// `true` only for `true` (any case); `false` for `false`; anything else
    /// warns and counts as `false`, as the specification says of booleans.
    pub(crate) fn bool(&self, name: &'static str) -> Option<bool> {
        let value = self.get(name)?;
        if value.eq_ignore_ascii_case("true") {
            return Some(true);
        }
        if !value.eq_ignore_ascii_case("false") {
            self.warn(name, &value, "true or false", "false");
        }
        Some(false)
    }

    /// A whole number, 0 or more; `default` (named in the warning) otherwise.
    pub(crate) fn count(&self, name: &'static str, default: &str) -> Option<usize> {
        let value = self.get(name)?;
        match value.parse::<usize>() {
            Ok(n) => Some(n),
            Err(_) => {
                self.warn(name, &value, "a whole number, 0 or more", default);
                None
            }
        }
    }

    /// A whole number, 1 or more.
    pub(crate) fn positive(&self, name: &'static str, default: &str) -> Option<usize> {
        let value = self.get(name)?;
        match value.parse::<usize>() {
            Ok(n) if n > 0 => Some(n),
            _ => {
                self.warn(name, &value, "a whole number, 1 or more", default);
                None
            }
        }
    }

    /// Milliseconds.
    pub(crate) fn millis(&self, name: &'static str, default: &str) -> Option<Duration> {
        let value = self.get(name)?;
        match value.parse::<u64>() {
            Ok(ms) => Some(Duration::from_millis(ms)),
            Err(_) => {
                self.warn(name, &value, "a whole number of milliseconds", default);
                None
            }
        }
    }

    /// A timeout in milliseconds, where 0 means no limit: `Some(None)`.
    pub(crate) fn timeout(&self, name: &'static str, default: &str) -> Option<Option<Duration>> {
        self.millis(name, default)
            .map(|timeout| (!timeout.is_zero()).then_some(timeout))
    }

    /// One of `accepted`, compared without regard to case.
    pub(crate) fn choice(
        &self,
        name: &'static str,
        accepted: &[&'static str],
        default: &str,
    ) -> Option<&'static str> {
        let value = self.get(name)?;
        let found = accepted
            .iter()
            .find(|candidate| candidate.eq_ignore_ascii_case(&value));
        if found.is_none() {
            self.warn(name, &value, one_of(accepted), default);
        }
        found.copied()
    }
}

/// "one of: a, b, c".
pub(crate) fn one_of(accepted: &[&str]) -> String {
    format!("one of: {}", accepted.join(", "))
}

/// A value that could not be used, and what was used instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Warning {
    pub(crate) error: ConfigError,
    pub(crate) used: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}; using {}", self.error, self.used)
    }
}

/// Prints each warning and notice of `env` to stderr, at most once in the
/// life of the process (a program that sets tracing up twice is told once).
pub(crate) fn print_warnings(env: &Env) {
    let warnings = env.warnings();
    let lines = warnings
        .iter()
        .map(ToString::to_string)
        .chain(env.notices());
    for line in lines {
        if global_state::first_time_warned(&line) {
            eprintln!("traced: {line}");
        }
    }
}

/// A configuration value that cannot be used: which variable (or builder
/// setting), what it held (secrets redacted), and what would have been
/// accepted. Returned by `init()` only under [`Config::strict`]; otherwise
/// the same text is printed as a warning and the default is used.
///
/// [`Config::strict`]: crate::Config::strict
///
/// ```
/// let error = traced::Config::new()
///     .strict()
///     .max_queue_size(10)
///     .max_export_batch_size(20)
///     .init()
///     .unwrap_err();
/// assert_eq!(
///     error.to_string(),
///     "Config::max_export_batch_size: invalid value \"20\"; \
///      expected a whole number from 1 to the queue size (10)"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    variable: &'static str,
    value: String,
    expected: String,
}

impl ConfigError {
    /// `variable` holds `value`, which is not `expected` (a phrase such as "a
    /// whole number of milliseconds").
    pub(crate) fn new(variable: &'static str, value: &str, expected: impl Into<String>) -> Self {
        ConfigError {
            variable,
            value: value.to_owned(),
            expected: expected.into(),
        }
    }

    /// The environment variable (or builder setting) that holds the bad value.
    pub fn variable(&self) -> &str {
        self.variable
    }

    /// The bad value, as given, with header values and URL credentials
    /// redacted.
    pub fn value(&self) -> &str {
        &self.value
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: invalid value {:?}; expected {}",
            self.variable, self.value, self.expected
        )
    }
}

impl std::error::Error for ConfigError {}

/// One pair of a `key=value,key=value` list that could not be read.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct BadPair<'a>(pub(crate) &'a str);

/// Splits `key=value,key=value` lists (`OTEL_RESOURCE_ATTRIBUTES`,
/// `OTEL_EXPORTER_OTLP_HEADERS`), percent-decoding keys and values; the
/// pairs that cannot be read are returned apart.
pub(crate) fn key_value_list(text: &str) -> (Vec<(String, String)>, Vec<BadPair<'_>>) {
    let mut pairs = Vec::new();
    let mut bad = Vec::new();
    for item in text
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
    {
        let decoded = item.split_once('=').and_then(|(key, value)| {
            let key = percent_decode(key.trim())?;
            let value = percent_decode(value.trim())?;
            (!key.is_empty()).then_some((key, value))
        });
        match decoded {
            Some(pair) => pairs.push(pair),
            None => bad.push(BadPair(item)),
        }
    }
    (pairs, bad)
}

/// `%XX` escapes to bytes; `None` for a malformed escape or bytes that are not
/// UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// A URL fit to print: user information (`user:password@`) replaced by
/// `REDACTED:REDACTED@`. Text that is not a URL is returned as it is.
pub(crate) fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://REDACTED:REDACTED@{}", &rest[at + 1..]),
        None => url.to_owned(),
    }
}

/// A `key=value` pair fit to print: the key only.
pub(crate) fn redact_pair(pair: &str) -> String {
    match pair.split_once('=') {
        Some((key, _)) => format!("{}=<redacted>", key.trim()),
        None => "<redacted>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b%2Cc%3D"), Some("a b,c=".to_owned()));
        assert_eq!(percent_decode("%e2%9c%93"), Some("✓".to_owned()));
        assert_eq!(percent_decode("bad%2"), None);
        assert_eq!(percent_decode("bad%zz"), None);
        assert_eq!(percent_decode("%ff"), None);
    }

    #[test]
    fn key_value_lists_keep_the_good_pairs() {
        let (pairs, bad) = key_value_list(" a=1 , b = two%20words,,c=,novalue,=1,d=%G1");
        assert_eq!(
            pairs,
            [("a", "1"), ("b", "two words"), ("c", "")].map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
        assert_eq!(bad, [BadPair("novalue"), BadPair("=1"), BadPair("d=%G1")]);
    }

    #[test]
    fn empty_values_count_as_unset() {
        let env = Env::fixed(&[("A", "  "), ("B", " x ")]);
        assert_eq!(env.get("A"), None);
        assert_eq!(env.get("B").as_deref(), Some("x"));
        assert_eq!(env.first(&["A", "B"]), Some(("B", "x".to_owned())));
    }

    #[test]
    fn typed_values_warn_and_fall_back() {
        let env = Env::fixed(&[
            ("T", "TRUE"),
            ("F", "False"),
            ("ONE", "1"),
            ("N", "-1"),
            ("Z", "0"),
            ("M", "1.5"),
            ("C", "Grpc"),
            ("X", "carrier-pigeon"),
        ]);
        assert_eq!(env.bool("T"), Some(true));
        assert_eq!(env.bool("F"), Some(false));
        assert_eq!(env.bool("ONE"), Some(false));
        assert_eq!(env.count("N", "128"), None);
        assert_eq!(env.count("Z", "128"), Some(0));
        assert_eq!(env.positive("Z", "2048"), None);
        assert_eq!(env.millis("M", "5000"), None);
        assert_eq!(env.millis("Z", "5000"), Some(Duration::ZERO));
        assert_eq!(env.timeout("Z", "10000"), Some(None));
        assert_eq!(env.count("unset", "128"), None);
        assert_eq!(
            env.choice("C", &["grpc", "http/protobuf"], "x"),
            Some("grpc")
        );
        assert_eq!(
            env.choice("X", &["grpc", "http/protobuf"], "http/protobuf"),
            None
        );
        let text: Vec<String> = env.warnings().iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "ONE: invalid value \"1\"; expected true or false; using false",
                "N: invalid value \"-1\"; expected a whole number, 0 or more; using 128",
                "Z: invalid value \"0\"; expected a whole number, 1 or more; using 2048",
                "M: invalid value \"1.5\"; expected a whole number of milliseconds; using 5000",
                "X: invalid value \"carrier-pigeon\"; expected one of: grpc, http/protobuf; \
                 using http/protobuf",
            ]
        );
    }

    #[test]
    fn secrets_are_redacted() {
        assert_eq!(
            redact_url("https://user:pa55@collector.example.com:4318/v1/traces?x=1"),
            "https://REDACTED:REDACTED@collector.example.com:4318/v1/traces?x=1"
        );
        assert_eq!(
            redact_url("https://token@h/"),
            "https://REDACTED:REDACTED@h/"
        );
        assert_eq!(redact_url("http://h:1/a@b"), "http://h:1/a@b");
        assert_eq!(redact_url("not a url"), "not a url");
        assert_eq!(
            redact_pair("authorization=Bearer abc"),
            "authorization=<redacted>"
        );
        assert_eq!(redact_pair("secret"), "<redacted>");
    }
}
