//! What `traced::init()` sets up, from code and from the `OTEL_*` environment.

use std::fmt;

/// Where finished spans go.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Exporter {
    /// Print each finished trace to stderr as a waterfall tree.
    Console,
    /// Send nothing; spans are still created so context propagates.
    None,
}

/// The tracing set-up; what code sets here wins over the environment.
///
/// ```
/// let _guard = traced::Config::new()
///     .service_name("articles")
///     .exporter(traced::Exporter::None)
///     .init()
///     .expect("tracing set-up");
/// ```
#[derive(Clone, Debug, Default)]
pub struct Config {
    pub(crate) service_name: Option<String>,
    pub(crate) exporter: Option<Exporter>,
}

impl Config {
    /// A configuration that takes everything from the environment.
    pub fn new() -> Self {
        Config::default()
    }

    /// The `service.name` resource attribute (else `OTEL_SERVICE_NAME`, else
    /// the executable's name).
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// Where spans go (else `OTEL_TRACES_EXPORTER`, else the console).
    pub fn exporter(mut self, exporter: Exporter) -> Self {
        self.exporter = Some(exporter);
        self
    }

    /// Installs this configuration; see [`crate::init`].
    pub fn init(self) -> Result<crate::TracingGuard, crate::InitError> {
        crate::init::install(self.resolve(&Env::process())?)
    }

    pub(crate) fn resolve(self, env: &Env) -> Result<Resolved, ConfigError> {
        let exporter = match self.exporter {
            Some(exporter) => exporter,
            None => match env.get("OTEL_TRACES_EXPORTER") {
                None => Exporter::Console,
                Some(value) => match value.trim() {
                    "console" => Exporter::Console,
                    "none" => Exporter::None,
                    other => {
                        return Err(ConfigError::invalid(
                            "OTEL_TRACES_EXPORTER",
                            other,
                            "console, none",
                        ));
                    }
                },
            },
        };
        let disabled = match env.get("OTEL_SDK_DISABLED") {
            None => false,
            Some(value) => match value.trim().to_ascii_lowercase().as_str() {
                "true" => true,
                "false" | "" => false,
                _ => return Err(ConfigError::invalid("OTEL_SDK_DISABLED", &value, "true, false")),
            },
        };
        let service_name = self
            .service_name
            .or_else(|| env.get("OTEL_SERVICE_NAME").filter(|name| !name.is_empty()))
            .unwrap_or_else(default_service_name);
        Ok(Resolved {
            service_name,
            exporter,
            disabled,
        })
    }
}

fn default_service_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|path| path.file_stem().map(|stem| stem.to_string_lossy().into_owned()))
        .map_or_else(|| "unknown_service".to_owned(), |name| format!("unknown_service:{name}"))
}

/// The configuration after code and environment are merged.
#[derive(Debug)]
pub(crate) struct Resolved {
    pub(crate) service_name: String,
    pub(crate) exporter: Exporter,
    pub(crate) disabled: bool,
}

/// Where `OTEL_*` values are read from: the process environment, or a fixed
/// map in tests.
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

    pub(crate) fn get(&self, name: &str) -> Option<String> {
        match &self.fixed {
            Some(vars) => vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()),
            None => std::env::var(name).ok(),
        }
    }
}

/// A configuration value that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    variable: &'static str,
    value: String,
    accepted: &'static str,
}

impl ConfigError {
    pub(crate) fn invalid(variable: &'static str, value: &str, accepted: &'static str) -> Self {
        ConfigError {
            variable,
            value: value.to_owned(),
            accepted,
        }
    }

    /// The environment variable (or builder setting) that holds the bad value.
    pub fn variable(&self) -> &str {
        self.variable
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: invalid value {:?}; expected one of: {}",
            self.variable, self.value, self.accepted
        )
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_wins_over_environment() {
        let env = Env::fixed(&[("OTEL_SERVICE_NAME", "from-env"), ("OTEL_TRACES_EXPORTER", "console")]);
        let resolved = Config::new()
            .service_name("from-code")
            .exporter(Exporter::None)
            .resolve(&env)
            .unwrap();
        assert_eq!(resolved.service_name, "from-code");
        assert_eq!(resolved.exporter, Exporter::None);
    }

    #[test]
    fn bad_exporter_names_variable_and_accepted_values() {
        let env = Env::fixed(&[("OTEL_TRACES_EXPORTER", "zipkin")]);
        let error = Config::new().resolve(&env).unwrap_err();
        assert_eq!(
            error.to_string(),
            "OTEL_TRACES_EXPORTER: invalid value \"zipkin\"; expected one of: console, none"
        );
    }
}
