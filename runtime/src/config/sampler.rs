//! `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`.

use opentelemetry_sdk::trace::Sampler;

use super::env::{ConfigError, Env};

const SAMPLERS: &[&str] = &[
    "always_on",
    "always_off",
    "traceidratio",
    "parentbased_always_on",
    "parentbased_always_off",
    "parentbased_traceidratio",
];

/// The sampler the environment asks for; `parentbased_always_on` when unset.
pub(crate) fn from_env(env: &Env) -> Result<Sampler, ConfigError> {
    let name = env
        .get("OTEL_TRACES_SAMPLER")
        .unwrap_or_else(|| "parentbased_always_on".to_owned());
    let ratio = || ratio(env);
    Ok(match name.to_ascii_lowercase().as_str() {
        "always_on" => Sampler::AlwaysOn,
        "always_off" => Sampler::AlwaysOff,
        "traceidratio" => Sampler::TraceIdRatioBased(ratio()?),
        "parentbased_always_on" => Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
        "parentbased_always_off" => Sampler::ParentBased(Box::new(Sampler::AlwaysOff)),
        "parentbased_traceidratio" => {
            Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(ratio()?)))
        }
        _ => return Err(ConfigError::one_of("OTEL_TRACES_SAMPLER", &name, SAMPLERS)),
    })
}

/// The ratio argument: a number from 0 to 1, 1 when unset.
fn ratio(env: &Env) -> Result<f64, ConfigError> {
    let Some(text) = env.get("OTEL_TRACES_SAMPLER_ARG") else {
        return Ok(1.0);
    };
    match text.parse::<f64>() {
        Ok(ratio) if (0.0..=1.0).contains(&ratio) => Ok(ratio),
        _ => Err(ConfigError::new(
            "OTEL_TRACES_SAMPLER_ARG",
            &text,
            "a number from 0 to 1",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sampler(vars: &[(&str, &str)]) -> Result<String, ConfigError> {
        from_env(&Env::fixed(vars)).map(|sampler| format!("{sampler:?}"))
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
    fn bad_values() {
        let error = sampler(&[("OTEL_TRACES_SAMPLER", "jaeger_remote")]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "OTEL_TRACES_SAMPLER: invalid value \"jaeger_remote\"; expected one of: always_on, \
             always_off, traceidratio, parentbased_always_on, parentbased_always_off, \
             parentbased_traceidratio"
        );
        for arg in ["1.5", "-0.1", "half", "NaN"] {
            let error = sampler(&[
                ("OTEL_TRACES_SAMPLER", "traceidratio"),
                ("OTEL_TRACES_SAMPLER_ARG", arg),
            ])
            .unwrap_err();
            assert_eq!(error.variable(), "OTEL_TRACES_SAMPLER_ARG", "{arg}");
        }
    }
}
