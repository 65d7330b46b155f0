//! Which `tracing` spans traced's layer records: a filter in `RUST_LOG`
//! syntax from [`Config::library_spans`], else `TRACED_LIBRARY_SPANS`, else
//! `info`. Directives that do not parse warn and leave the default.

use super::Config;
use super::env::Env;
use crate::library_spans::{DEFAULT_FILTER, parse};

const VARIABLE: &str = "TRACED_LIBRARY_SPANS";
const SETTING: &str = "Config::library_spans";

impl Config {
    /// Which `tracing` spans become spans, as `RUST_LOG` directives
    /// (`info`, `info,sqlx=debug,h2=off`, `off`; tracing-subscriber's
    /// `EnvFilter` syntax); else `TRACED_LIBRARY_SPANS`, else `info`. It
    /// applies to spans only: `tracing` events become log records by
    /// [`Config::log_level`]. See [`tracing_layer`](crate::tracing_layer).
    ///
    /// ```
    /// let config = traced::Config::new().library_spans("info,tower_http=debug,h2=off");
    /// # let _ = config;
    /// ```
    pub fn library_spans(mut self, directives: impl Into<String>) -> Self {
        self.library_spans = Some(directives.into());
        self
    }
}

/// The filter code set, else the environment's, else the default.
pub(crate) fn resolve(code: Option<String>, env: &Env) -> String {
    let (source, directives) = match code {
        Some(directives) => (SETTING, directives),
        None => match env.get(VARIABLE) {
            Some(directives) => (VARIABLE, directives),
            None => return DEFAULT_FILTER.to_owned(),
        },
    };
    match parse(&directives) {
        Ok(_) => directives,
        Err(error) => {
            env.warn(
                source,
                &directives,
                format!("filter directives such as `info,sqlx=debug` ({error})"),
                DEFAULT_FILTER,
            );
            DEFAULT_FILTER.to_owned()
        }
    }
}

/// The filter of the environment alone, for a layer built before `init()`.
pub(crate) fn library_spans_from_env(env: &Env) -> String {
    resolve(None, env)
}
