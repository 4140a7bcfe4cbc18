//! Why a step failed, classified so the state machine retries only what can succeed later.

use selfheal_core::{Classified, ErrorClass};
use thiserror::Error;

/// A failed remediation step.
#[derive(Debug, Error)]
pub enum RemediateError {
    /// A guardrail or a safety check said no (paused deployment, bare pod, bounds, drain lock).
    #[error("refused: {0}")]
    Refused(String),
    /// The object does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// RBAC denied the call.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The API server refused the request as invalid.
    #[error("invalid: {0}")]
    Invalid(String),
    /// Someone else changed the object first (409).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The API server or a PodDisruptionBudget asked to wait (429).
    #[error("throttled: {0}")]
    Throttled(String),
    /// The API server failed (5xx).
    #[error("API server error: {0}")]
    Server(String),
    /// The step ran out of time (a drain still blocked by budgets).
    #[error("timed out: {0}")]
    Timeout(String),
    /// The API server could not be reached.
    #[error("transport: {0}")]
    Transport(String),
    /// The request itself is malformed (a bug upstream).
    #[error("internal: {0}")]
    Internal(String),
}

impl Classified for RemediateError {
    fn class(&self) -> ErrorClass {
        match self {
            RemediateError::Conflict(_)
            | RemediateError::Throttled(_)
            | RemediateError::Server(_)
            | RemediateError::Timeout(_)
            | RemediateError::Transport(_) => ErrorClass::Retryable,
            RemediateError::Refused(_)
            | RemediateError::NotFound(_)
            | RemediateError::Forbidden(_)
            | RemediateError::Invalid(_)
            | RemediateError::Internal(_) => ErrorClass::NonRetryable,
        }
    }
}

impl From<selfheal_eks::OwnerError> for RemediateError {
    fn from(e: selfheal_eks::OwnerError) -> Self {
        match e {
            selfheal_eks::OwnerError::NotOwned(why) => RemediateError::Refused(why),
            selfheal_eks::OwnerError::Kube(e) => e.into(),
        }
    }
}

impl From<kube::Error> for RemediateError {
    fn from(e: kube::Error) -> Self {
        match e {
            kube::Error::Api(s) => {
                let msg = s.message.clone();
                match s.code {
                    404 => RemediateError::NotFound(msg),
                    401 | 403 => RemediateError::Forbidden(msg),
                    409 if s.reason == "AlreadyExists" => RemediateError::Invalid(msg),
                    409 => RemediateError::Conflict(msg),
                    429 => RemediateError::Throttled(msg),
                    400 | 405 | 415 | 422 => RemediateError::Invalid(msg),
                    c if c >= 500 => RemediateError::Server(msg),
                    _ => RemediateError::Internal(msg),
                }
            }
            other => RemediateError::Transport(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(code: u16, reason: &str) -> RemediateError {
        kube::Error::Api(Box::new(kube::core::Status {
            code,
            reason: reason.into(),
            message: "m".into(),
            ..Default::default()
        }))
        .into()
    }

    #[test]
    fn transient_errors_are_retryable_and_permanent_ones_are_not() {
        for (code, reason) in [
            (409, "Conflict"),
            (429, "TooManyRequests"),
            (500, "InternalError"),
            (503, "ServiceUnavailable"),
        ] {
            assert_eq!(api(code, reason).class(), ErrorClass::Retryable, "{code}");
        }
        for (code, reason) in [
            (404, "NotFound"),
            (403, "Forbidden"),
            (422, "Invalid"),
            (409, "AlreadyExists"),
        ] {
            assert_eq!(
                api(code, reason).class(),
                ErrorClass::NonRetryable,
                "{code} {reason}"
            );
        }
        assert_eq!(
            RemediateError::Refused("x".into()).class(),
            ErrorClass::NonRetryable
        );
        assert_eq!(
            RemediateError::Timeout("x".into()).class(),
            ErrorClass::Retryable
        );
    }
}
