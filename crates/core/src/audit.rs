//! The contract of the audit states (RecordOpened, RecordClosed, RecordEscalated).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::incident::Incident;

crate::spelled_enum!(
    /// Which moment of the incident the audit records.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum AuditEvent {
        /// The workflow started.
        Opened = "opened",
        /// The workflow ends: remediated, dry-run or escalated (when `state.error` is set).
        Closed = "closed",
    }
);

/// Input of the audit states.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRequest {
    /// Opened or closed.
    pub event: AuditEvent,
    /// The incident (the execution input).
    pub incident: Incident,
    /// The execution's ARN.
    pub execution: String,
    /// When the state was entered.
    pub at: DateTime<Utc>,
    /// At close, the workflow's state: approval, steps, analysis, error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<Value>,
}

crate::spelled_enum!(
    /// How the incident ended.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Outcome {
        /// The steps ran and the target is healthy.
        Remediated = "remediated",
        /// A human takes over: unhealthy, rejected, timed out, circuit open, or an error.
        Escalated = "escalated",
        /// Nothing was changed; the steps were validated by the API server.
        DryRun = "dry-run",
        /// Nothing was changed: the symptom was not present when the first step was about to
        /// act (a false positive, counted as such).
        Skipped = "skipped",
    }
);

/// Output of the audit states.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditResponse {
    /// At open: whether the target's circuit breaker is open (the workflow escalates at once).
    #[serde(default)]
    pub circuit_open: bool,
    /// At open: the target's failed remediations in a row.
    #[serde(default)]
    pub failures: u32,
    /// At close: how it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
}
