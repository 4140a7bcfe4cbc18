//! The execution starter port: start the remediation workflow for an incident, named after it so
//! a second start of the same incident is recognised, never run twice.

use std::future::Future;

use selfheal_core::{Classified, ErrorClass, Incident};

use crate::{BoxError, error_chain};

/// A started (or already started) execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Started {
    /// This call started it.
    New {
        /// The execution.
        arn: String,
    },
    /// An execution with this name already exists: an earlier delivery started it.
    AlreadyExists {
        /// The execution.
        arn: String,
    },
}

impl Started {
    /// The execution, however it came to be.
    pub fn arn(&self) -> &str {
        match self {
            Started::New { arn } | Started::AlreadyExists { arn } => arn,
        }
    }
}

/// The workflow could not be started; the incident stays claimed until its claim expires and a
/// retry completes it.
#[derive(Debug, thiserror::Error)]
#[error("starting the execution failed: {message}")]
pub struct StartError {
    /// The error and its sources, for the log.
    pub message: String,
    /// Retryable (throttling, an outage, a missing state machine that a deploy will bring), or
    /// not: Step Functions refused this input and would refuse it again.
    pub class: ErrorClass,
    /// The error itself (an SDK error a caller can downcast).
    #[source]
    pub source: BoxError,
}

impl StartError {
    /// Starting failed because of `source`; a later try may work.
    pub fn new(source: impl Into<BoxError>) -> Self {
        Self::classed(source, ErrorClass::Retryable)
    }

    /// Step Functions refused this execution's input or name: it never will start.
    pub fn refused(source: impl Into<BoxError>) -> Self {
        Self::classed(source, ErrorClass::NonRetryable)
    }

    fn classed(source: impl Into<BoxError>, class: ErrorClass) -> Self {
        let source = source.into();
        StartError {
            message: error_chain(source.as_ref()),
            class,
            source,
        }
    }
}

impl Classified for StartError {
    fn class(&self) -> ErrorClass {
        self.class
    }
}

/// Starts workflow executions.
pub trait ExecutionStarter: Send + Sync {
    /// Starts the execution named `incident.id` with the incident as its input.
    fn start(
        &self,
        incident: &Incident,
    ) -> impl Future<Output = Result<Started, StartError>> + Send;
}
