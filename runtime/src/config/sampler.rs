//! `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`.

use opentelemetry_sdk::trace::Sampler;

use super::env::Env;

const SAMPLERS: &[&str] = &[
    "always_on",
    "always_off",
    "traceidratio",
    "parentbased_always_on",
    "parentbased_always_off",
    "parentbased_traceidratio",
];

/// The sampler that decides new traces: `sampler` itself, or the delegate of
/// a parent-based sampler when it is known (one built from the environment).
pub(crate) fn root_of(sampler: &Sampler, from_env: bool, env: &Env) -> Option<Sampler> {
    match sampler {
        Sampler::ParentBased(_) if from_env => Some(
            match env
                .get("OTEL_TRACES_SAMPLER")
                .map(|name| name.to_ascii_lowercase())
                .as_deref()
            {
                Some("parentbased_always_off") => Sampler::AlwaysOff,
                Some("parentbased_traceidratio") => Sampler::TraceIdRatioBased(ratio_quietly(env)),
                _ => Sampler::AlwaysOn,
            },
        ),
        Sampler::ParentBased(_) => None,
        other => Some(other.clone()),
    }
}

/// The ratio argument as [`ratio`] reads it, without warning twice.
fn ratio_quietly(env: &Env) -> f64 {
    env.get("OTEL_TRACES_SAMPLER_ARG")
        .and_then(|text| text.parse::<f64>().ok())
        .filter(|ratio| (0.0..=1.0).contains(ratio))
        .unwrap_or(1.0)
}

/// The sampler the environment asks for; `parentbased_always_on` when unset
/// or unknown (with a warning), the name read without regard to case.
pub(crate) fn from_env(env: &Env) -> Sampler {
    let name = env.choice("OTEL_TRACES_SAMPLER", SAMPLERS, "parentbased_always_on");
    let ratio = || ratio(env);
    match name.unwrap_or("parentbased_always_on") {
        "always_on" => Sampler::AlwaysOn,
        "always_off" => Sampler::AlwaysOff,
        "traceidratio" => Sampler::TraceIdRatioBased(ratio()),
        "parentbased_always_off" => Sampler::ParentBased(Box::new(Sampler::AlwaysOff)),
        "parentbased_traceidratio" => {
            Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(ratio())))
        }
        _ => Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
    }
}

/// The ratio argument: a number from 0 to 1, 1 when unset or invalid.
fn ratio(env: &Env) -> f64 {
    let Some(text) = env.get("OTEL_TRACES_SAMPLER_ARG") else {
        return 1.0;
    };
    match text.parse::<f64>() {
        Ok(ratio) if (0.0..=1.0).contains(&ratio) => ratio,
        _ => {
            env.warn(
                "OTEL_TRACES_SAMPLER_ARG",
                &text,
                "a number from 0 to 1",
                "1",
            );
            1.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sampler(vars: &[(&str, &str)]) -> Result<String, Vec<String>> {
        let env = Env::fixed(vars);
        let sampler = format!("{:?}", from_env(&env));
        let warnings: Vec<String> = env.warnings().iter().map(ToString::to_string).collect();
        if warnings.is_empty() {
            Ok(sampler)
        } else {
            Err(warnings)
        }
    }

    #[test]
    fn every_sampler_name() {
        let cases = [
            (None, "ParentBased(AlwaysOn)"),
            (Some("always_on"), "AlwaysOn"),
            (Some("ALWAYS_OFF"), "AlwaysOff"),
            (Some("traceidratio"), "TraceIdRatioBased(0.25)"),
            (Some("parentbased_always_on"), "ParentBased(AlwaysOn)"),
            (Some("parentbased_always_off"), "ParentBased(AlwaysOff)"),
            (
                Some("parentbased_traceidratio"),
                "ParentBased(TraceIdRatioBased(0.25))",
            ),
        ];
        for (name, expected) in cases {
            let mut vars = vec![("OTEL_TRACES_SAMPLER_ARG", "0.25")];
            if let Some(name) = name {
                vars.push(("OTEL_TRACES_SAMPLER", name));
            }
            assert_eq!(sampler(&vars).unwrap(), expected, "{name:?}");
        }
    }

    #[test]
    fn ratio_defaults_to_one() {
        assert_eq!(
            sampler(&[("OTEL_TRACES_SAMPLER", "traceidratio")]).unwrap(),
            "TraceIdRatioBased(1.0)"
        );
    }

    #[test]
    fn repro_unknown_samplers_warn_and_use_the_default() {
        for name in ["parentbased_jaeger_remote", "jaeger_remote", "xray"] {
            let env = Env::fixed(&[("OTEL_TRACES_SAMPLER", name)]);
            assert_eq!(format!("{:?}", from_env(&env)), "ParentBased(AlwaysOn)");
            assert_eq!(
                env.warnings()[0].to_string(),
                format!(
                    "OTEL_TRACES_SAMPLER: invalid value \"{name}\"; expected one of: always_on, \
                     always_off, traceidratio, parentbased_always_on, parentbased_always_off, \
                     parentbased_traceidratio; using parentbased_always_on"
                )
            );
        }
    }

    #[test]
    fn bad_ratios_warn_and_use_one() {
        for arg in ["1.5", "-0.1", "half", "NaN"] {
            let warnings = sampler(&[
                ("OTEL_TRACES_SAMPLER", "traceidratio"),
                ("OTEL_TRACES_SAMPLER_ARG", arg),
            ])
            .unwrap_err();
            assert_eq!(
                warnings,
                [format!(
                    "OTEL_TRACES_SAMPLER_ARG: invalid value \"{arg}\"; expected a number from 0 \
                     to 1; using 1"
                )]
            );
        }
    }
}
