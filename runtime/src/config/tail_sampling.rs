//! Tail sampling's settings: [`TailSampling`] in code, else
//! `TRACED_TAIL_SAMPLING` in the environment, checked and resolved into the
//! policy the export thread applies.

use std::time::Duration;

use opentelemetry_sdk::trace::Sampler;

use super::env::Env;
use crate::pipeline::TailPolicy;

const VARIABLE: &str = "TRACED_TAIL_SAMPLING";

const DEFAULT_GRACE: Duration = Duration::from_secs(1);
const DEFAULT_MAX_HOLD: Duration = Duration::from_secs(30);
const DEFAULT_MAX_MEMORY: usize = 32 * 1024 * 1024;

/// Which traces to keep, decided when they end instead of when they start:
/// the argument of [`Config::tail_sampling`](crate::Config::tail_sampling).
///
/// A trace is kept when any of its spans in this process has status Error
/// (a returned `Err`, a 5xx), recorded a panic, or was a future dropped
/// before it completed (each selectable, all three on by default); when a
/// local root (a span whose parent is remote or absent) lasted at least
/// [`slower_than`](TailSampling::slower_than); or, for the rest, by
/// [`ratio`](TailSampling::ratio). Everything else is dropped.
///
/// # The ratio of the rest
///
/// Set with [`ratio`](TailSampling::ratio) (`ratio=` in
/// `TRACED_TAIL_SAMPLING`), it is that value whatever the head sampler.
/// Unset (as under `TRACED_TAIL_SAMPLING=on`), it comes from the head
/// sampler (`OTEL_TRACES_SAMPLER`, or [`Config::sampler`](crate::Config::sampler)),
/// which tail sampling replaces:
///
/// | head sampler | ratio of the rest |
/// |---|---|
/// | unset (`parentbased_always_on`), `always_on`, `parentbased_always_on` | 0: only failed, panicked, cancelled and slow traces are kept |
/// | `traceidratio`, `parentbased_traceidratio` | `OTEL_TRACES_SAMPLER_ARG` (1 when unset: every trace is kept) |
/// | `always_off`, `parentbased_always_off` | 0; every trace is still recorded and decided (`OTEL_SDK_DISABLED=true` turns tracing off) |
/// | any other sampler set in code | 0 |
///
/// So `always_on` does not mean 100 % here: it is the head sampler's way of
/// recording everything, and tail sampling records everything anyway. To
/// keep every trace, failed or not, write `ratio=1`.
///
/// ```
/// use std::time::Duration;
/// use traced::TailSampling;
///
/// // Every failed or cancelled request, every one slower than 500 ms, and
/// // 1 % of the rest.
/// let policy = TailSampling::new()
///     .slower_than(Duration::from_millis(500))
///     .ratio(0.01);
/// let config = traced::Config::new().tail_sampling(policy);
/// # let _ = config;
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct TailSampling {
    errors: bool,
    panics: bool,
    cancellations: bool,
    slower_than: Option<Duration>,
    ratio: Option<f64>,
    grace: Duration,
    max_hold: Option<Duration>,
    max_memory: usize,
}

impl Default for TailSampling {
    fn default() -> Self {
        TailSampling {
            errors: true,
            panics: true,
            cancellations: true,
            slower_than: None,
            ratio: None,
            grace: DEFAULT_GRACE,
            max_hold: None,
            max_memory: DEFAULT_MAX_MEMORY,
        }
    }
}

impl TailSampling {
    /// Keeps traces with an error, a panic or a cancellation; no slow
    /// threshold; the head sampler's ratio when it is a `traceidratio`
    /// sampler, else 0 (see [the table](TailSampling#the-ratio-of-the-rest)).
    pub fn new() -> Self {
        TailSampling::default()
    }

    /// Whether a span with status Error (other than a panic's) keeps its
    /// trace (default: yes).
    pub fn errors(mut self, keep: bool) -> Self {
        self.errors = keep;
        self
    }

    /// Whether a span a panic unwound through keeps its trace (default: yes).
    pub fn panics(mut self, keep: bool) -> Self {
        self.panics = keep;
        self
    }

    /// Whether a span whose future was dropped before completing (a
    /// `cancelled` event: a timeout, a client that went away) keeps its
    /// trace (default: yes).
    pub fn cancellations(mut self, keep: bool) -> Self {
        self.cancellations = keep;
        self
    }

    /// Keeps a trace whose local root lasted `threshold` or longer.
    pub fn slower_than(mut self, threshold: Duration) -> Self {
        self.slower_than = Some(threshold);
        self
    }

    /// The share of the other traces kept, from 0 to 1, whatever the head
    /// sampler. Unset, it is the ratio of a `traceidratio` or
    /// `parentbased_traceidratio` head sampler, and 0 for any other,
    /// `always_on` and the default `parentbased_always_on` included (see
    /// [the table](TailSampling#the-ratio-of-the-rest)). The answer depends
    /// on the trace id alone, as for OpenTelemetry's `TraceIdRatioBased`
    /// sampler: every process with the same ratio keeps the same traces.
    pub fn ratio(mut self, ratio: f64) -> Self {
        self.ratio = Some(ratio);
        self
    }

    /// How long a trace is held after its local root ended, for children
    /// that end later on other tasks (default: 1 s).
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// How long a trace is held at most (default: 30 s, or the slow
    /// threshold if longer). A local root still running by then (a server
    /// loop, a stream) has lasted that long: the trace is decided as slow
    /// when a slow threshold is set, and its later spans follow as they end.
    /// At least the slow threshold and the grace.
    pub fn max_hold(mut self, max_hold: Duration) -> Self {
        self.max_hold = Some(max_hold);
        self
    }

    /// Bytes the held spans and their bookkeeping may take (default:
    /// 32 MiB). Past it, the oldest traces are decided early on what they
    /// showed so far, and counted. Besides it, decisions are remembered for
    /// spans that end after their trace was decided, each for at least the
    /// maximum hold, in at most a quarter as much again (8 bytes a decision:
    /// by default 8 MiB, 40 s of traces at 10 000 a second); at rates past
    /// that they live shorter.
    pub fn max_memory(mut self, bytes: usize) -> Self {
        self.max_memory = bytes;
        self
    }
}

/// The head sampler while tail sampling is on: every trace this process
/// starts is recorded and sent on as sampled; an incoming `traceparent`
/// that says not sampled is still respected.
pub(crate) fn head_sampler() -> Sampler {
    Sampler::ParentBased(Box::new(Sampler::AlwaysOn))
}

/// The policy code or environment ask for, checked; `None` when tail
/// sampling is off. `head` is the head sampler configured, whose ratio
/// becomes the default ratio.
pub(crate) fn resolve(code: Option<TailSampling>, head: &Sampler, env: &Env) -> Option<TailPolicy> {
    let (settings, names) = match code {
        Some(settings) => (settings, CODE_NAMES),
        None => (from_env(env)?, ENV_NAMES),
    };
    Some(check(settings, head, env, &names))
}

/// What a bad value is reported under.
struct Names {
    ratio: &'static str,
    max_hold: &'static str,
    max_memory: &'static str,
}

const CODE_NAMES: Names = Names {
    ratio: "TailSampling::ratio",
    max_hold: "TailSampling::max_hold",
    max_memory: "TailSampling::max_memory",
};

const ENV_NAMES: Names = Names {
    ratio: VARIABLE,
    max_hold: VARIABLE,
    max_memory: VARIABLE,
};

fn check(settings: TailSampling, head: &Sampler, env: &Env, names: &Names) -> TailPolicy {
    let default_ratio = head_ratio(head);
    let ratio = match settings.ratio {
        Some(ratio) if (0.0..=1.0).contains(&ratio) => ratio,
        Some(ratio) => {
            env.warn(
                names.ratio,
                &ratio.to_string(),
                "a number from 0 to 1",
                default_ratio.to_string(),
            );
            default_ratio
        }
        None => default_ratio,
    };
    let max_memory = if settings.max_memory == 0 {
        env.warn(
            names.max_memory,
            "0",
            "1 byte or more",
            format!("{} MiB", DEFAULT_MAX_MEMORY / (1024 * 1024)),
        );
        DEFAULT_MAX_MEMORY
    } else {
        settings.max_memory
    };
    let shortest_hold = settings.slower_than.unwrap_or_default().max(settings.grace);
    let default_hold = DEFAULT_MAX_HOLD.max(shortest_hold);
    let max_hold = match settings.max_hold {
        None => default_hold,
        Some(max_hold) if max_hold.is_zero() || max_hold < shortest_hold => {
            env.warn(
                names.max_hold,
                &format!("max_hold={max_hold:?}"),
                format!(
                    "a maximum hold of at least the slow threshold and the grace \
                     ({shortest_hold:?}), and above 0"
                ),
                format!("{default_hold:?}"),
            );
            default_hold
        }
        Some(max_hold) => max_hold,
    };
    TailPolicy {
        errors: settings.errors,
        panics: settings.panics,
        cancellations: settings.cancellations,
        slower_than: settings.slower_than,
        ratio,
        grace: settings.grace,
        max_hold,
        max_memory,
    }
}

/// The ratio of a `traceidratio` head sampler (parent-based or not); 0 for
/// any other.
fn head_ratio(head: &Sampler) -> f64 {
    match head {
        Sampler::TraceIdRatioBased(ratio) => *ratio,
        // The root sampler is a `dyn ShouldSample`: its `Debug` is all there
        // is to read.
        Sampler::ParentBased(root) => format!("{root:?}")
            .strip_prefix("TraceIdRatioBased(")
            .and_then(|rest| rest.strip_suffix(')'))
            .and_then(|ratio| ratio.parse().ok())
            .unwrap_or(0.0),
        _ => 0.0,
    }
}

const SETTINGS: &str = "on, off, or a comma list of errors|panics|cancellations=true|false, \
                        slow|grace|max_hold=<milliseconds, or a number with ms, s or m>, \
                        ratio=<0 to 1>, max_memory_mib=<1 or more>";

/// `TRACED_TAIL_SAMPLING`: unset or `off`: no tail sampling; `on`: the
/// defaults; or the defaults changed by a comma list of settings. Settings
/// that cannot be read warn (once, all of them named) and keep their default.
fn from_env(env: &Env) -> Option<TailSampling> {
    let text = env.get(VARIABLE)?;
    if text.eq_ignore_ascii_case("off") || text.eq_ignore_ascii_case("false") {
        return None;
    }
    let mut settings = TailSampling::new();
    let mut bad = Vec::new();
    for item in text
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
    {
        if !apply(&mut settings, item) {
            bad.push(item);
        }
    }
    if !bad.is_empty() {
        env.warn(VARIABLE, &bad.join(","), SETTINGS, "the defaults for those");
    }
    Some(settings)
}

/// Applies one `key=value` of the list; false when it cannot be read.
fn apply(settings: &mut TailSampling, item: &str) -> bool {
    if item.eq_ignore_ascii_case("on") || item.eq_ignore_ascii_case("true") {
        return true;
    }
    let Some((key, value)) = item.split_once('=') else {
        return false;
    };
    let value = value.trim();
    match key.trim().to_ascii_lowercase().as_str() {
        "errors" => flag(value).map(|keep| settings.errors = keep),
        "panics" => flag(value).map(|keep| settings.panics = keep),
        "cancellations" => flag(value).map(|keep| settings.cancellations = keep),
        "slow" => duration(value).map(|threshold| settings.slower_than = Some(threshold)),
        "grace" => duration(value).map(|grace| settings.grace = grace),
        "max_hold" => duration(value).map(|max_hold| settings.max_hold = Some(max_hold)),
        "ratio" => value
            .parse::<f64>()
            .ok()
            .filter(|ratio| (0.0..=1.0).contains(ratio))
            .map(|ratio| settings.ratio = Some(ratio)),
        "max_memory_mib" => value
            .parse::<usize>()
            .ok()
            .filter(|mib| *mib > 0)
            .map(|mib| settings.max_memory = mib.saturating_mul(1024 * 1024)),
        _ => None,
    }
    .is_some()
}

fn flag(value: &str) -> Option<bool> {
    if value.eq_ignore_ascii_case("true") {
        Some(true)
    } else if value.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// Milliseconds, or a whole number with `ms`, `s` or `m`.
fn duration(value: &str) -> Option<Duration> {
    let (number, unit) = match value.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => value.split_at(at),
        None => (value, "ms"),
    };
    let number: u64 = number.parse().ok()?;
    match unit.trim() {
        "ms" => Some(Duration::from_millis(number)),
        "s" => Some(Duration::from_secs(number)),
        "m" => Some(Duration::from_secs(number.checked_mul(60)?)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parent_based_ratio(ratio: f64) -> Sampler {
        Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(ratio)))
    }

    fn from(vars: &[(&str, &str)], head: &Sampler) -> (Option<TailPolicy>, Vec<String>) {
        let env = Env::fixed(vars);
        let policy = resolve(None, head, &env);
        let warnings = env.warnings().iter().map(ToString::to_string).collect();
        (policy, warnings)
    }

    fn defaults() -> TailPolicy {
        TailPolicy {
            errors: true,
            panics: true,
            cancellations: true,
            slower_than: None,
            ratio: 0.0,
            grace: DEFAULT_GRACE,
            max_hold: DEFAULT_MAX_HOLD,
            max_memory: DEFAULT_MAX_MEMORY,
        }
    }

    #[test]
    fn unset_or_off_is_no_tail_sampling() {
        let head = head_sampler();
        assert_eq!(from(&[], &head), (None, vec![]));
        assert_eq!(from(&[(VARIABLE, "off")], &head), (None, vec![]));
        assert_eq!(from(&[(VARIABLE, "FALSE")], &head), (None, vec![]));
    }

    #[test]
    fn on_is_the_defaults_and_a_list_changes_them() {
        let head = head_sampler();
        assert_eq!(from(&[(VARIABLE, "on")], &head), (Some(defaults()), vec![]));
        let (policy, warnings) = from(
            &[(
                VARIABLE,
                "slow=500ms, ratio=0.01,cancellations=false,grace=2s,max_hold=1m,max_memory_mib=8",
            )],
            &head,
        );
        assert_eq!(warnings, Vec::<String>::new());
        assert_eq!(
            policy,
            Some(TailPolicy {
                cancellations: false,
                slower_than: Some(Duration::from_millis(500)),
                ratio: 0.01,
                grace: Duration::from_secs(2),
                max_hold: Duration::from_secs(60),
                max_memory: 8 * 1024 * 1024,
                ..defaults()
            })
        );
        let (policy, _) = from(&[(VARIABLE, "slow=250,errors=FALSE,panics=false")], &head);
        let policy = policy.unwrap();
        assert_eq!(policy.slower_than, Some(Duration::from_millis(250)));
        assert!(!policy.errors && !policy.panics && policy.cancellations);
    }

    #[test]
    fn the_ratio_defaults_to_the_head_samplers() {
        let (policy, _) = from(&[(VARIABLE, "on")], &parent_based_ratio(0.05));
        assert_eq!(policy.unwrap().ratio, 0.05);
        let (policy, _) = from(&[(VARIABLE, "on")], &Sampler::TraceIdRatioBased(0.2));
        assert_eq!(policy.unwrap().ratio, 0.2);
        let (policy, _) = from(&[(VARIABLE, "ratio=0.5")], &parent_based_ratio(0.05));
        assert_eq!(policy.unwrap().ratio, 0.5);
        let (policy, _) = from(&[(VARIABLE, "on")], &Sampler::AlwaysOn);
        assert_eq!(policy.unwrap().ratio, 0.0);
    }

    #[test]
    fn bad_settings_warn_once_naming_each_and_keep_their_defaults() {
        let (policy, warnings) = from(
            &[(
                VARIABLE,
                "slow=fast,ratio=2,errors=1,loud,grace=1h,max_memory_mib=0,slow=3s",
            )],
            &head_sampler(),
        );
        assert_eq!(
            policy,
            Some(TailPolicy {
                slower_than: Some(Duration::from_secs(3)),
                ..defaults()
            })
        );
        assert_eq!(
            warnings,
            [format!(
                "TRACED_TAIL_SAMPLING: invalid value \"slow=fast,ratio=2,errors=1,loud,grace=1h,\
                 max_memory_mib=0\"; expected {SETTINGS}; using the defaults for those"
            )]
        );
    }

    #[test]
    fn the_maximum_hold_is_at_least_the_slow_threshold() {
        let (policy, warnings) = from(&[(VARIABLE, "slow=2m")], &head_sampler());
        assert_eq!(policy.unwrap().max_hold, Duration::from_secs(120));
        assert_eq!(warnings, Vec::<String>::new());
    }

    #[test]
    fn code_wins_over_the_environment_and_is_checked() {
        let env = Env::fixed(&[(VARIABLE, "off")]);
        let code = TailSampling::new()
            .ratio(1.5)
            .max_memory(0)
            .slower_than(Duration::from_secs(60))
            .max_hold(Duration::from_secs(10));
        let policy = resolve(Some(code), &parent_based_ratio(0.1), &env).expect("code turns it on");
        assert_eq!(policy.ratio, 0.1);
        assert_eq!(policy.max_memory, DEFAULT_MAX_MEMORY);
        assert_eq!(policy.max_hold, Duration::from_secs(60));
        let warnings: Vec<String> = env.warnings().iter().map(ToString::to_string).collect();
        assert_eq!(
            warnings,
            [
                "TailSampling::ratio: invalid value \"1.5\"; expected a number from 0 to 1; using 0.1",
                "TailSampling::max_memory: invalid value \"0\"; expected 1 byte or more; using 32 MiB",
                "TailSampling::max_hold: invalid value \"max_hold=10s\"; expected a maximum hold of \
                 at least the slow threshold and the grace (60s), and above 0; using 60s",
            ]
        );
    }
}
