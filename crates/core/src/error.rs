//! Error classes the state machine can tell apart. A Lambda reports `error_type` as one of these
//! names and `Retry.ErrorEquals` in statemachines/remediation.asl.json matches on it.

crate::spelled_enum!(
    /// Transient or permanent: the only distinction a retry policy needs.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum ErrorClass {
        /// Worth another attempt: conflicts, throttling, 5xx, timeouts.
        Retryable = "Retryable",
        /// Will fail the same way again: invalid input, forbidden, not found, refused by a guardrail.
        NonRetryable = "NonRetryable",
    }
);

crate::spelled_enum!(
    /// The errors the workflow raises and matches by name (statemachines/remediation.asl.json's
    /// Fail states and Catch clauses, the approval's task failure), so code that reads
    /// `$.error.Error` matches an enum, not a string.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum WorkflowError {
        /// A human rejected the runbook (the approval task fails with it).
        Rejected = "Rejected",
        /// Nobody could be asked to approve (the approval request was not posted).
        ApprovalNotRequested = "ApprovalNotRequested",
        /// Nobody answered within the approval's timeout.
        Timeout = "States.Timeout",
        /// The target's circuit breaker is open: it escalates without acting.
        CircuitOpen = "CircuitOpen",
        /// The target stayed unhealthy after every attempt.
        Unhealthy = "Unhealthy",
        /// Before the first action the cluster showed no sign of the alert's symptom (a forged,
        /// stale or already healed alert): nothing was changed.
        SymptomAbsent = "SymptomAbsent",
        /// The workflow hands the incident to a human (its final Fail state).
        Escalated = "Escalated",
    }
);

/// An error that knows whether retrying it can help.
pub trait Classified: std::error::Error {
    /// Transient or permanent.
    fn class(&self) -> ErrorClass;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_what_the_state_machine_matches() {
        assert_eq!(ErrorClass::Retryable.to_string(), "Retryable");
        assert_eq!(ErrorClass::NonRetryable.as_str(), "NonRetryable");
        assert_eq!(
            serde_json::to_string(&ErrorClass::Retryable).unwrap(),
            "\"Retryable\""
        );
    }
}
