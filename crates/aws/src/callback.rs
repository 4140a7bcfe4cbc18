//! The task-token port: complete a workflow's `.waitForTaskToken` state (a human approved or
//! rejected). Step Functions in AWS; the local executor in the lab.

use std::future::Future;

use selfheal_core::{Classified, ErrorClass};
use serde_json::Value;

use crate::{BoxError, error_chain};

/// The token could not be completed.
#[derive(Debug, thiserror::Error)]
pub enum CallbackError {
    /// The token is unknown, already used, or its state timed out: nothing to decide any more.
    #[error("the task token is no longer waiting: {message}")]
    Gone {
        /// The error and its sources, for the log.
        message: String,
        /// The error itself.
        #[source]
        source: BoxError,
    },
    /// The service could not be reached: try again.
    #[error("completing the task failed: {message}")]
    Unavailable {
        /// The error and its sources, for the log.
        message: String,
        /// The error itself.
        #[source]
        source: BoxError,
    },
}

impl CallbackError {
    /// The token is not waiting any more (`source` says why).
    pub fn gone(source: impl Into<BoxError>) -> Self {
        let source = source.into();
        CallbackError::Gone {
            message: error_chain(source.as_ref()),
            source,
        }
    }

    /// The service did not answer (`source` says how).
    pub fn unavailable(source: impl Into<BoxError>) -> Self {
        let source = source.into();
        CallbackError::Unavailable {
            message: error_chain(source.as_ref()),
            source,
        }
    }
}

impl Classified for CallbackError {
    fn class(&self) -> ErrorClass {
        match self {
            CallbackError::Gone { .. } => ErrorClass::NonRetryable,
            CallbackError::Unavailable { .. } => ErrorClass::Retryable,
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
