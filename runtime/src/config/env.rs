//! Reading `OTEL_*` values: from the process environment or, in tests, a
//! fixed map; typed parsers that turn a bad value into a [`ConfigError`].

use std::fmt;
use std::time::Duration;

/// Where `OTEL_*` values are read from.
#[derive(Debug, Default)]
pub(crate) struct Env {
    fixed: Option<Vec<(String, String)>>,
}

impl Env {
    pub(crate) fn process() -> Self {
        Env { fixed: None }
    }

    #[cfg(test)]
    pub(crate) fn fixed(vars: &[(&str, &str)]) -> Self {
        Env {
            fixed: Some(
                vars.iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            ),
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

    pub(crate) fn bool(&self, name: &'static str) -> Result<Option<bool>, ConfigError> {
        self.get(name)
            .map(|value| match value.to_ascii_lowercase().as_str() {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(ConfigError::one_of(name, &value, &["true", "false"])),
            })
            .transpose()
    }

    pub(crate) fn count(&self, name: &'static str) -> Result<Option<usize>, ConfigError> {
        self.get(name)
            .map(|value| {
                value
                    .parse::<usize>()
                    .map_err(|_| ConfigError::new(name, &value, "a whole number, 0 or more"))
            })
            .transpose()
    }

    pub(crate) fn positive(&self, name: &'static str) -> Result<Option<usize>, ConfigError> {
        self.get(name)
            .map(|value| match value.parse::<usize>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(ConfigError::new(name, &value, "a whole number, 1 or more")),
            })
            .transpose()
    }

    pub(crate) fn millis(&self, name: &'static str) -> Result<Option<Duration>, ConfigError> {
        self.get(name)
            .map(|value| {
                value
                    .parse::<u64>()
                    .map(Duration::from_millis)
                    .map_err(|_| ConfigError::new(name, &value, "a whole number of milliseconds"))
            })
            .transpose()
    }
}

/// A configuration value that cannot be used: which variable (or builder
/// setting), what it held, and what would have been accepted.
///
/// ```
/// let error = traced::Config::new()
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

    /// `variable` holds `value`, which is none of `accepted`.
    pub(crate) fn one_of(variable: &'static str, value: &str, accepted: &[&str]) -> Self {
        ConfigError::new(variable, value, format!("one of: {}", accepted.join(", ")))
    }

    /// The environment variable (or builder setting) that holds the bad value.
    pub fn variable(&self) -> &str {
        self.variable
    }

    /// The bad value, as given.
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

/// Splits `key=value,key=value` lists (`OTEL_RESOURCE_ATTRIBUTES`,
/// `OTEL_EXPORTER_OTLP_HEADERS`), percent-decoding keys and values.
pub(crate) fn key_value_list(
    variable: &'static str,
    text: &str,
) -> Result<Vec<(String, String)>, ConfigError> {
    let mut pairs = Vec::new();
    for item in text
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
    {
        let bad = || ConfigError::new(variable, item, "comma-separated key=value pairs");
        let (key, value) = item.split_once('=').ok_or_else(bad)?;
        let key = percent_decode(key.trim()).ok_or_else(bad)?;
        let value = percent_decode(value.trim()).ok_or_else(bad)?;
        if key.is_empty() {
            return Err(bad());
        }
        pairs.push((key, value));
    }
    Ok(pairs)
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
    fn key_value_lists() {
        let pairs = key_value_list("X", " a=1 , b = two%20words,,c=").unwrap();
        assert_eq!(
            pairs,
            [("a", "1"), ("b", "two words"), ("c", "")].map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
        let error = key_value_list("X", "a=1,novalue").unwrap_err();
        assert_eq!(
            error.to_string(),
            "X: invalid value \"novalue\"; expected comma-separated key=value pairs"
        );
        assert!(key_value_list("X", "=1").is_err());
        assert!(key_value_list("X", "a=%G1").is_err());
    }

    #[test]
    fn empty_values_count_as_unset() {
        let env = Env::fixed(&[("A", "  "), ("B", " x ")]);
        assert_eq!(env.get("A"), None);
        assert_eq!(env.get("B").as_deref(), Some("x"));
        assert_eq!(env.first(&["A", "B"]), Some(("B", "x".to_owned())));
    }

    #[test]
    fn typed_values() {
        let env = Env::fixed(&[
            ("T", "TRUE"),
            ("F", "yes"),
            ("N", "-1"),
            ("Z", "0"),
            ("M", "1.5"),
        ]);
        assert_eq!(env.bool("T"), Ok(Some(true)));
        assert_eq!(
            env.bool("F").unwrap_err().to_string(),
            "F: invalid value \"yes\"; expected one of: true, false"
        );
        assert!(env.count("N").is_err());
        assert_eq!(env.count("Z"), Ok(Some(0)));
        assert!(env.positive("Z").is_err());
        assert!(env.millis("M").is_err());
        assert_eq!(env.millis("Z"), Ok(Some(Duration::ZERO)));
        assert_eq!(env.count("unset"), Ok(None));
    }
}
