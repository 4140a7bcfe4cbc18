//! The execution starter port: start the remediation workflow for an incident, named after it so
//! a second start of the same incident is recognised, never run twice.

use std::collections::HashSet;
use std::future::Future;
use std::sync::Mutex;

use selfheal_core::{Classified, ErrorClass, Incident, IncidentId};

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
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("starting the execution failed: {0}")]
pub struct StartError(pub String);

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

/// The local starter: keeps the incidents it was asked to start, in order, for whoever runs them
/// (the lab's executor, a test).
#[derive(Debug, Default)]
pub struct MemoryStarter {
    started: Mutex<(HashSet<IncidentId>, Vec<Incident>)>,
}

impl MemoryStarter {
    /// No executions yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The incidents started so far.
    pub fn started(&self) -> Vec<Incident> {
        self.started
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .1
            .clone()
    }
}

impl ExecutionStarter for MemoryStarter {
    async fn start(&self, incident: &Incident) -> Result<Started, StartError> {
        let mut started = self.started.lock().unwrap_or_else(|e| e.into_inner());
        let arn = format!("local:execution:remediation:{}", incident.id);
        if !started.0.insert(incident.id.clone()) {
            return Ok(Started::AlreadyExists { arn });
        }
        started.1.push(incident.clone());
        Ok(Started::New { arn })
    }
}
