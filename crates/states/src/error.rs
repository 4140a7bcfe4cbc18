//! Errors as Step Functions names them: an `Error` name and a `Cause`.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The predefined error names of the Amazon States Language.
pub mod names {
    /// Matches every error but the terminal ones.
    pub const ALL: &str = "States.ALL";
    /// Matches every non-terminal error except States.Timeout.
    pub const TASK_FAILED: &str = "States.TaskFailed";
    /// A path, a template or the definition could not be applied; never retried or caught.
    pub const RUNTIME: &str = "States.Runtime";
    /// A task or the execution ran past its TimeoutSeconds.
    pub const TIMEOUT: &str = "States.Timeout";
    /// A callback task's heartbeat did not come in time.
    pub const HEARTBEAT_TIMEOUT: &str = "States.HeartbeatTimeout";
    /// No Choice rule matched and there is no Default.
    pub const NO_CHOICE_MATCHED: &str = "States.NoChoiceMatched";
    /// ResultPath cannot be applied to the state's input.
    pub const RESULT_PATH_MATCH_FAILURE: &str = "States.ResultPathMatchFailure";
    /// An intrinsic function failed.
    pub const INTRINSIC_FAILURE: &str = "States.IntrinsicFailure";
    /// A branch of a Parallel state failed.
    pub const BRANCH_FAILED: &str = "States.BranchFailed";
    /// A Map state's failed items passed its tolerated threshold.
    pub const EXCEED_TOLERATED_FAILURE_THRESHOLD: &str = "States.ExceedToleratedFailureThreshold";
    /// A payload or result was over the size limit; never caught by States.ALL.
    pub const DATA_LIMIT_EXCEEDED: &str = "States.DataLimitExceeded";
}

/// An error raised inside an execution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatesError {
    /// The error name, which Retry and Catch match.
    #[serde(rename = "Error")]
    pub error: String,
    /// What happened.
    #[serde(rename = "Cause")]
    pub cause: String,
}

impl StatesError {
    /// An error with this name and cause.
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        StatesError {
            error: error.into(),
            cause: cause.into(),
        }
    }

    /// A States.Runtime error.
    pub fn runtime(cause: impl Into<String>) -> Self {
        Self::new(names::RUNTIME, cause)
    }

    /// Terminal errors: States.ALL does not match them and they are never retried.
    pub fn is_terminal(&self) -> bool {
        self.error == names::RUNTIME || self.error == names::DATA_LIMIT_EXCEEDED
    }

    /// Whether a retrier or catcher with these `ErrorEquals` handles this error.
    pub fn matches(&self, error_equals: &[String]) -> bool {
        // AWS: runtime errors always fail the execution; no retrier or catcher handles them.
        if self.is_terminal() {
            return false;
        }
        error_equals.iter().any(|name| {
            name == &self.error
                || name == names::ALL
                // AWS: in Retry and Catch, States.TaskFailed matches every known error name
                // except States.Timeout.
                || (name == names::TASK_FAILED && self.error != names::TIMEOUT)
        })
    }

    /// `{"Error": ..., "Cause": ...}`, what a Catch hands to its ResultPath.
    pub fn to_value(&self) -> Value {
        json!({"Error": self.error, "Cause": self.cause})
    }
}

impl fmt::Display for StatesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error, self.cause)
    }
}

impl std::error::Error for StatesError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(error: &str, equals: &[&str]) -> bool {
        let equals: Vec<String> = equals.iter().map(|s| s.to_string()).collect();
        StatesError::new(error, "").matches(&equals)
    }

    #[test]
    fn states_all_matches_everything_but_terminal_errors() {
        assert!(m("Retryable", &["States.ALL"]));
        assert!(m("States.Timeout", &["States.ALL"]));
        assert!(!m("States.Runtime", &["States.ALL"]));
        assert!(!m("States.DataLimitExceeded", &["States.ALL"]));
        assert!(
            !m("States.Runtime", &["States.Runtime"]),
            "not even by name"
        );
    }

    #[test]
    fn task_failed_matches_every_error_but_timeouts_and_terminal_ones() {
        assert!(m("Retryable", &["States.TaskFailed"]));
        assert!(m("States.HeartbeatTimeout", &["States.TaskFailed"]));
        assert!(!m("States.Timeout", &["States.TaskFailed"]));
        assert!(!m("States.Runtime", &["States.TaskFailed"]));
    }

    #[test]
    fn names_match_exactly() {
        assert!(m("Retryable", &["NonRetryable", "Retryable"]));
        assert!(!m("Retryable", &["retryable"]));
    }
}
