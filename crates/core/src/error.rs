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
