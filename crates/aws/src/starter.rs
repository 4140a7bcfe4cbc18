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
    /// The error itself (an SDK error a caller can downcast to tell throttling from invalid input).
    #[source]
    pub source: BoxError,
}

impl StartError {
    /// Starting failed because of `source`.
    pub fn new(source: impl Into<BoxError>) -> Self {
        let source = source.into();
        StartError {
            message: error_chain(source.as_ref()),
            source,
        }
    }
}

impl Classified for StartError {
    fn class(&self) -> ErrorClass {
        // Throttling, outages and misconfiguration alike: retrying later is the only remedy
        // that loses nothing.
        ErrorClass::Retryable
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
