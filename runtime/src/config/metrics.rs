//! The metrics part of the set-up: where metrics go (`OTEL_METRICS_EXPORTER`,
//! `OTEL_EXPORTER_OTLP_METRICS_*`), how often and within what time
//! (`OTEL_METRIC_EXPORT_INTERVAL`, `OTEL_METRIC_EXPORT_TIMEOUT`), with which
//! temporality (`OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`), which
//! spans produce RED metrics (`TRACED_METRICS`) and how many series each
//! metric keeps (`TRACED_METRICS_CARDINALITY_LIMIT`).

use std::time::Duration;

use opentelemetry::trace::SpanKind;
use opentelemetry_sdk::metrics::Temporality;

use super::env::{Env, one_of};
use super::otlp::{OtlpOverrides, Signal};
use super::{Config, Export, Exporter, exports, following_traces, with_deadlines};
use crate::pipeline::Kind;

/// Which spans produce RED metrics: `function.calls`, and the semantic
/// conventions' duration histograms (see the crate's README, "Metrics").
///
/// ```
/// use traced::SpanMetrics;
/// use traced::opentelemetry::trace::SpanKind;
///
/// // Only the service's entry points: requests served, messages processed.
/// let config = traced::Config::new()
///     .span_metrics(SpanMetrics::kinds([SpanKind::Server, SpanKind::Consumer]));
/// # let _ = config;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpanMetrics {
    kinds: Vec<Kind>,
}

const ALL_KINDS: [Kind; 5] = [
    Kind::Internal,
    Kind::Server,
    Kind::Client,
    Kind::Producer,
    Kind::Consumer,
];

impl SpanMetrics {
    /// Every recorded span (the default; `TRACED_METRICS=on`). A function
    /// opts out with `#[traced(metrics = false)]`.
    pub fn all() -> Self {
        SpanMetrics {
            kinds: ALL_KINDS.to_vec(),
        }
    }

    /// None (`TRACED_METRICS=off`). The pipeline's health and the
    /// application's own instruments are still exported.
    pub fn off() -> Self {
        SpanMetrics { kinds: Vec::new() }
    }

    /// The spans of these kinds only (`TRACED_METRICS=server,consumer`).
    pub fn kinds(kinds: impl IntoIterator<Item = SpanKind>) -> Self {
        let mut chosen = Vec::new();
        for kind in kinds {
            let kind = match kind {
                SpanKind::Internal => Kind::Internal,
                SpanKind::Server => Kind::Server,
                SpanKind::Client => Kind::Client,
                SpanKind::Producer => Kind::Producer,
                SpanKind::Consumer => Kind::Consumer,
            };
            if !chosen.contains(&kind) {
                chosen.push(kind);
            }
        }
        SpanMetrics { kinds: chosen }
    }
}

impl Default for SpanMetrics {
    fn default() -> Self {
        SpanMetrics::all()
    }
}

const SPAN_METRICS_VARIABLE: &str = "TRACED_METRICS";
const LIMIT_VARIABLE: &str = "TRACED_METRICS_CARDINALITY_LIMIT";
const INTERVAL_VARIABLE: &str = "OTEL_METRIC_EXPORT_INTERVAL";
const TIMEOUT_VARIABLE: &str = "OTEL_METRIC_EXPORT_TIMEOUT";
const TEMPORALITY_VARIABLE: &str = "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE";

/// The specification's default cardinality limit per metric.
pub(crate) const DEFAULT_CARDINALITY_LIMIT: usize = 2000;
const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);

/// What code set for metrics; each field left `None` comes from the
/// environment.
#[derive(Clone, Debug, Default)]
pub(crate) struct MetricsOverrides {
    exporter: Option<Exporter>,
    interval: Option<Duration>,
    export_timeout: Option<Duration>,
    temporality: Option<Temporality>,
    span_metrics: Option<SpanMetrics>,
    cardinality_limit: Option<usize>,
}

/// Metrics, fully resolved.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Metrics {
    /// Where metrics go; empty: nowhere, and no span is measured.
    pub(crate) export: Vec<Export>,
    pub(crate) interval: Duration,
    pub(crate) temporality: Temporality,
    /// The kinds of span measured; empty: none.
    pub(crate) span_kinds: Vec<Kind>,
    pub(crate) cardinality_limit: usize,
}

impl Metrics {
    /// The temporality of the span metrics and the pipeline's counters:
    /// low memory is delta for them, as for counters and histograms.
    pub(crate) fn span_temporality(&self) -> crate::pipeline::Temporality {
        match self.temporality {
            Temporality::Cumulative => crate::pipeline::Temporality::Cumulative,
            _ => crate::pipeline::Temporality::Delta,
        }
    }
}

impl Config {
    /// Where metrics go (else `OTEL_METRICS_EXPORTER`, else where spans go:
    /// OTLP to the same collector, or the console, whose table of calls,
    /// errors and latency per span name prints at shutdown). They are the
    /// RED metrics of the recorded spans, the pipeline's own health, and
    /// what the application records through `opentelemetry::global::meter`.
    pub fn metrics_exporter(mut self, exporter: Exporter) -> Self {
        self.metrics.exporter = Some(exporter);
        self
    }

    /// How often metrics are sent (else `OTEL_METRIC_EXPORT_INTERVAL`,
    /// else 60 s); a flush and the shutdown send them too.
    pub fn metrics_export_interval(mut self, interval: Duration) -> Self {
        self.metrics.interval = Some(interval);
        self
    }

    /// Longest time one export of metrics may take (else
    /// `OTEL_METRIC_EXPORT_TIMEOUT`, else 30 s); [`Duration::ZERO`] means no
    /// limit. The export deadline is the shorter of this and
    /// [`Config::otlp_timeout`].
    pub fn metrics_export_timeout(mut self, timeout: Duration) -> Self {
        self.metrics.export_timeout = Some(timeout);
        self
    }

    /// Whether counters and histograms count since the start (cumulative,
    /// the default, what Prometheus expects) or since the previous export
    /// (delta; low memory: delta for counters and histograms, cumulative
    /// for up-down counters); else
    /// `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`.
    pub fn metrics_temporality(mut self, temporality: Temporality) -> Self {
        self.metrics.temporality = Some(temporality);
        self
    }

    /// Which spans produce RED metrics (else `TRACED_METRICS`: `on`, `off`
    /// or a list of span kinds; else every span). See [`SpanMetrics`].
    pub fn span_metrics(mut self, spans: SpanMetrics) -> Self {
        self.metrics.span_metrics = Some(spans);
        self
    }

    /// Series each metric keeps at most, its overflow series
    /// (`otel.metric.overflow=true`) included (else
    /// `TRACED_METRICS_CARDINALITY_LIMIT`, else 2000, the specification's
    /// default).
    pub fn metrics_cardinality_limit(mut self, limit: usize) -> Self {
        self.metrics.cardinality_limit = Some(limit);
        self
    }
}

impl MetricsOverrides {
    /// Metrics go where the spans go unless code or
    /// `OTEL_METRICS_EXPORTER` say otherwise, and over OTLP too when a
    /// metrics endpoint of their own is set.
    pub(super) fn resolve(
        self,
        env: &Env,
        traces: &[Export],
        otlp_overrides: OtlpOverrides,
    ) -> Metrics {
        let exporters = following_traces(
            self.exporter,
            env,
            "OTEL_METRICS_EXPORTER",
            traces,
            &otlp_overrides,
            Signal::Metrics,
        );
        let export = exports(&exporters, otlp_overrides, env, Signal::Metrics);
        let interval = match self.interval {
            Some(interval) if !interval.is_zero() => interval,
            Some(_) => {
                env.warn(
                    "Config::metrics_export_interval",
                    "0",
                    "a duration longer than zero",
                    "60000 ms",
                );
                DEFAULT_INTERVAL
            }
            None => match env.millis(INTERVAL_VARIABLE, "60000") {
                Some(interval) if !interval.is_zero() => interval,
                Some(_) => {
                    env.warn(
                        INTERVAL_VARIABLE,
                        "0",
                        "a whole number of milliseconds, 1 or more",
                        "60000",
                    );
                    DEFAULT_INTERVAL
                }
                None => DEFAULT_INTERVAL,
            },
        };
        let export_timeout = match self.export_timeout {
            Some(timeout) => (!timeout.is_zero()).then_some(timeout),
            None => env
                .timeout(TIMEOUT_VARIABLE, "30000")
                .unwrap_or(Some(Duration::from_secs(30))),
        };
        let temporality = self.temporality.unwrap_or_else(|| {
            match env.choice(
                TEMPORALITY_VARIABLE,
                &["cumulative", "delta", "lowmemory"],
                "cumulative",
            ) {
                Some("delta") => Temporality::Delta,
                Some("lowmemory") => Temporality::LowMemory,
                _ => Temporality::Cumulative,
            }
        });
        let span_kinds = self
            .span_metrics
            .unwrap_or_else(|| span_metrics_from_env(env))
            .kinds;
        let cardinality_limit = match self.cardinality_limit {
            Some(0) => {
                env.warn(
                    "Config::metrics_cardinality_limit",
                    "0",
                    "1 or more",
                    "2000",
                );
                DEFAULT_CARDINALITY_LIMIT
            }
            Some(limit) => limit,
            None => env
                .positive(LIMIT_VARIABLE, "2000")
                .unwrap_or(DEFAULT_CARDINALITY_LIMIT),
        };
        Metrics {
            export: with_deadlines(export, export_timeout),
            interval,
            temporality,
            span_kinds,
            cardinality_limit,
        }
    }
}

const KIND_NAMES: &[&str] = &["server", "client", "producer", "consumer", "internal"];

/// `TRACED_METRICS`: `on` (the default), `off`, or a comma list of span
/// kinds. Unknown words warn; with no kind left, every span is measured.
fn span_metrics_from_env(env: &Env) -> SpanMetrics {
    let Some(value) = env.get(SPAN_METRICS_VARIABLE) else {
        return SpanMetrics::all();
    };
    let words: Vec<String> = value
        .split(',')
        .map(|word| word.trim().to_ascii_lowercase())
        .filter(|word| !word.is_empty())
        .collect();
    match words.as_slice() {
        [word] if matches!(word.as_str(), "on" | "true" | "all") => return SpanMetrics::all(),
        [word] if matches!(word.as_str(), "off" | "false" | "none") => {
            return SpanMetrics::off();
        }
        _ => {}
    }
    let mut kinds = Vec::new();
    for word in &words {
        let kind = match word.as_str() {
            "server" => SpanKind::Server,
            "client" => SpanKind::Client,
            "producer" => SpanKind::Producer,
            "consumer" => SpanKind::Consumer,
            "internal" => SpanKind::Internal,
            _ => {
                env.warn(
                    SPAN_METRICS_VARIABLE,
                    word,
                    format!("on, off, or {}", one_of(KIND_NAMES)),
                    "the other kinds named",
                );
                continue;
            }
        };
        kinds.push(kind);
    }
    if kinds.is_empty() {
        return SpanMetrics::all();
    }
    SpanMetrics::kinds(kinds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ConfigError, Protocol};

    fn metrics(config: Config, vars: &[(&str, &str)]) -> Result<Metrics, ConfigError> {
        config
            .resolve(&Env::fixed(vars))
            .map(|resolved| resolved.metrics)
    }

    #[test]
    fn metrics_follow_the_span_exporter_with_the_specifications_defaults() {
        let console = metrics(Config::new(), &[]).unwrap();
        assert_eq!(console.export, [Export::Console]);
        assert_eq!(console.interval, Duration::from_secs(60));
        assert_eq!(console.temporality, Temporality::Cumulative);
        assert_eq!(console.span_kinds, ALL_KINDS);
        assert_eq!(console.cardinality_limit, 2000);

        let otlp = metrics(
            Config::new(),
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
                ("OTEL_EXPORTER_OTLP_TIMEOUT", "20000"),
            ],
        )
        .unwrap();
        let [Export::Otlp(settings)] = &otlp.export[..] else {
            panic!("{:?}", otlp.export)
        };
        assert_eq!(settings.endpoint, "http://collector:4318/v1/metrics");
        assert_eq!(settings.deadline, Some(Duration::from_secs(20)));

        let none = metrics(Config::new().exporter(Exporter::None), &[]).unwrap();
        assert!(none.export.is_empty());
        let own_endpoint = metrics(
            Config::new().exporter(Exporter::None),
            &[(
                "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
                "http://metrics:4318/v1/metrics",
            )],
        )
        .unwrap();
        assert!(matches!(own_endpoint.export[..], [Export::Otlp(_)]));
    }

    #[test]
    fn the_metrics_variables_and_code_that_wins_over_them() {
        let env = [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
            ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "grpc"),
            (
                "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
                "http://collector:4317",
            ),
            ("OTEL_METRIC_EXPORT_INTERVAL", "5000"),
            ("OTEL_METRIC_EXPORT_TIMEOUT", "2000"),
            ("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "Delta"),
            ("TRACED_METRICS", "server, consumer"),
            ("TRACED_METRICS_CARDINALITY_LIMIT", "100"),
        ];
        let from_env = metrics(Config::new(), &env).unwrap();
        let [Export::Otlp(settings)] = &from_env.export[..] else {
            panic!("{:?}", from_env.export)
        };
        assert_eq!(settings.protocol, Protocol::Grpc);
        assert_eq!(settings.endpoint, "http://collector:4317");
        assert_eq!(settings.deadline, Some(Duration::from_secs(2)));
        assert_eq!(from_env.interval, Duration::from_secs(5));
        assert_eq!(from_env.temporality, Temporality::Delta);
        assert_eq!(from_env.span_kinds, [Kind::Server, Kind::Consumer]);
        assert_eq!(from_env.cardinality_limit, 100);

        let from_code = metrics(
            Config::new()
                .metrics_exporter(Exporter::Console)
                .metrics_export_interval(Duration::from_millis(250))
                .metrics_temporality(Temporality::LowMemory)
                .span_metrics(SpanMetrics::off())
                .metrics_cardinality_limit(10),
            &env,
        )
        .unwrap();
        assert_eq!(from_code.export, [Export::Console]);
        assert_eq!(from_code.interval, Duration::from_millis(250));
        assert_eq!(from_code.temporality, Temporality::LowMemory);
        assert!(from_code.span_kinds.is_empty());
        assert_eq!(from_code.cardinality_limit, 10);
    }

    #[test]
    fn traced_metrics_values() {
        for (value, expected) in [
            ("on", SpanMetrics::all()),
            ("OFF", SpanMetrics::off()),
            ("false", SpanMetrics::off()),
            ("client", SpanMetrics::kinds([SpanKind::Client])),
            (
                "internal,client,internal",
                SpanMetrics::kinds([SpanKind::Internal, SpanKind::Client]),
            ),
        ] {
            let env = Env::fixed(&[(SPAN_METRICS_VARIABLE, value)]);
            assert_eq!(span_metrics_from_env(&env), expected, "{value}");
            assert!(env.warnings().is_empty(), "{value}");
        }
        let env = Env::fixed(&[(SPAN_METRICS_VARIABLE, "server,sever")]);
        assert_eq!(
            span_metrics_from_env(&env),
            SpanMetrics::kinds([SpanKind::Server])
        );
        assert_eq!(env.warnings().len(), 1);
    }

    #[test]
    fn bad_values_name_their_variable_under_strict_checking() {
        for (variable, value) in [
            ("OTEL_METRICS_EXPORTER", "prometheus"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "1m"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "0"),
            ("OTEL_METRIC_EXPORT_TIMEOUT", "soon"),
            (
                "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
                "monthly",
            ),
            ("TRACED_METRICS", "sometimes"),
            ("TRACED_METRICS_CARDINALITY_LIMIT", "0"),
        ] {
            let error = metrics(Config::new().strict(), &[(variable, value)]).unwrap_err();
            assert_eq!(error.variable(), variable, "{error}");
        }
        let error = metrics(
            Config::new()
                .strict()
                .metrics_export_interval(Duration::ZERO),
            &[],
        )
        .unwrap_err();
        assert_eq!(error.variable(), "Config::metrics_export_interval");
    }
}
