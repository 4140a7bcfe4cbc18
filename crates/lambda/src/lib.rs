//! The start-up every Lambda shares, so each `main.rs` only wires its handler: JSON logs
//! ([`init_tracing`]), configuration from the environment ([`env`]), the guardrail policy
//! ([`policy`]), and a failed invocation as the [`Diagnostic`] whose `error_type` Step Functions'
//! `Retry.ErrorEquals` and `Catch` match ([`diagnostic`], [`failure`]).

use std::fmt::Display;

use lambda_runtime::Diagnostic;
use selfheal_core::{Classified, Policy, PolicyError};

/// A setting that is missing or cannot be read; the function does not start.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is unset or empty.
    #[error("{0} is not set")]
    Missing(&'static str),
    /// A variable's value cannot be used.
    #[error("{name}={value:?}: {expected}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
        /// What it should be.
        expected: String,
    },
    /// SELFHEAL_POLICY does not hold a usable policy.
    #[error("SELFHEAL_POLICY: {0}")]
    Policy(#[from] PolicyError),
}

/// JSON log lines on stdout, one per event, with the current span's fields (the incident id);
/// no timestamp, which CloudWatch adds.
pub fn init_tracing() {
    tracing_subscriber::fmt()
        .json()
        .with_target(false)
        .with_current_span(true)
        .with_span_list(false)
        .without_time()
        .init();
}

/// Reading the function's environment.
pub mod env {
    use std::str::FromStr;

    use super::ConfigError;

    /// The variable, unless it is unset or empty.
    pub fn optional(name: &'static str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.trim().is_empty())
    }

    /// The variable; unset or empty is an error.
    pub fn required(name: &'static str) -> Result<String, ConfigError> {
        optional(name).ok_or(ConfigError::Missing(name))
    }

    /// The variable parsed as `T`, or `default` when unset.
    pub fn parsed<T: FromStr>(name: &'static str, default: T) -> Result<T, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        parse(name, optional(name), default)
    }

    /// A comma-separated list; unset is empty, blanks are dropped.
    pub fn list(name: &'static str) -> Vec<String> {
        split(optional(name).as_deref().unwrap_or(""))
    }

    pub(crate) fn parse<T: FromStr>(
        name: &'static str,
        value: Option<String>,
        default: T,
    ) -> Result<T, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        match value {
            None => Ok(default),
            Some(value) => value
                .trim()
                .parse()
                .map_err(|e: T::Err| ConfigError::Invalid {
                    name,
                    expected: e.to_string(),
                    value,
                }),
        }
    }

    pub(crate) fn split(value: &str) -> Vec<String> {
        value
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    }
}

/// The guardrail policy: SELFHEAL_POLICY (JSON, which Terraform renders from
/// statemachines/policy.yaml) or, without it, [`Policy::default`], which is that file's content.
pub fn policy() -> Result<Policy, ConfigError> {
    match env::optional("SELFHEAL_POLICY") {
        Some(json) => Ok(Policy::from_json(&json)?),
        None => Ok(Policy::default()),
    }
}

/// A classified error as Lambda reports it: `error_type` is `Retryable` or `NonRetryable`.
pub fn diagnostic(e: &(impl Classified + ?Sized)) -> Diagnostic {
    failure(e.class(), e)
}

/// A failure reported under `error_type` (an [`selfheal_core::ErrorClass`], or a name the state
/// machine catches on its own).
pub fn failure(error_type: impl Display, e: impl Display) -> Diagnostic {
    Diagnostic {
        error_type: error_type.to_string(),
        error_message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use selfheal_core::ErrorClass;

    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("throttled")]
    struct Throttled;

    impl Classified for Throttled {
        fn class(&self) -> ErrorClass {
            ErrorClass::Retryable
        }
    }

    #[test]
    fn a_classified_error_is_reported_under_its_class() {
        let d = diagnostic(&Throttled);
        assert_eq!(
            (d.error_type.as_str(), d.error_message.as_str()),
            ("Retryable", "throttled")
        );
        let d = failure(ErrorClass::NonRetryable, "bad input");
        assert_eq!(d.error_type, "NonRetryable");
    }

    #[test]
    fn settings_are_parsed_and_named_when_wrong() {
        assert_eq!(env::parse("LLM_MAX_TOKENS", None, 600u32).unwrap(), 600);
        assert_eq!(
            env::parse("LLM_MAX_TOKENS", Some(" 800 ".into()), 600u32).unwrap(),
            800
        );
        let err = env::parse("LLM_MAX_TOKENS", Some("many".into()), 600u32).unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"LLM_MAX_TOKENS="many": invalid digit found in string"#
        );
        assert_eq!(env::split(" U1, ,U2,"), ["U1", "U2"]);
        assert!(matches!(
            env::required("SELFHEAL_LAMBDA_TEST_UNSET"),
            Err(ConfigError::Missing("SELFHEAL_LAMBDA_TEST_UNSET"))
        ));
    }
}
