//! The task-token port: complete a workflow's `.waitForTaskToken` state (a human approved or
//! rejected). Step Functions in AWS; the local executor in the lab.

use std::future::Future;

use selfheal_core::{Classified, ErrorClass};
use serde_json::Value;

/// The token could not be completed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    /// The token is unknown, already used, or its state timed out: nothing to decide any more.
    #[error("the task token is no longer waiting: {0}")]
    Gone(String),
    /// The service could not be reached: try again.
    #[error("completing the task failed: {0}")]
    Unavailable(String),
}

impl Classified for CallbackError {
    fn class(&self) -> ErrorClass {
        match self {
            CallbackError::Gone(_) => ErrorClass::NonRetryable,
            CallbackError::Unavailable(_) => ErrorClass::Retryable,
        }
    }
}

/// Completes waiting tasks.
pub trait TaskCallback: Send + Sync {
    /// SendTaskSuccess: the waiting state continues with `output` as its result.
    fn succeed(
        &self,
        token: &str,
        output: &Value,
    ) -> impl Future<Output = Result<(), CallbackError>> + Send;

    /// SendTaskFailure: the waiting state fails with `error` (Catch matches it) and `cause`.
    fn fail(
        &self,
        token: &str,
        error: &str,
        cause: &str,
    ) -> impl Future<Output = Result<(), CallbackError>> + Send;
}
