//! The contract of the Remediate state: which step of which incident to run, and what it did.

use serde::{Deserialize, Serialize};

use crate::incident::Incident;
use crate::schema_tag;

schema_tag!(
    /// Schema of [`RemediateRequest`].
    RemediateRequestSchema = "selfheal.remediate-request/v1"
);

schema_tag!(
    /// Schema of [`StepResult`].
    StepResultSchema = "selfheal.step-result/v1"
);

/// Input of the Remediate state: one step of the incident's runbook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemediateRequest {
    /// Always [`RemediateRequestSchema::VALUE`].
    pub schema: RemediateRequestSchema,
    /// The incident (the execution input).
    pub incident: Incident,
    /// Index of the step in `incident.runbook.steps`.
    pub step: usize,
}

/// What a step changed, before and after.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Change {
    /// Replica count before and after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<(i32, i32)>,
    /// Deployment revision before and (for a rollback) the revision restored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<(String, String)>,
    /// Image before and after (rollback).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<(String, String)>,
    /// Node schedulability before and after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unschedulable: Option<(bool, bool)>,
    /// Pods evicted or deleted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pods: Vec<String>,
}

/// Output of the Remediate state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepResult {
    /// Always [`StepResultSchema::VALUE`].
    pub schema: StepResultSchema,
    /// The step's index.
    pub step: usize,
    /// The action (`restart-pods`, `scale`, ...).
    pub action: String,
    /// The object acted on, e.g. `deployment/shop/backend` (a pod target resolves to its owner).
    pub object: String,
    /// Whether the API calls carried `dryRun=All`.
    pub dry_run: bool,
    /// Whether anything changed (or would have, in a dry run).
    pub changed: bool,
    /// Before and after.
    pub change: Change,
    /// One line for the audit trail and Slack.
    pub summary: String,
    /// How long the step took.
    pub duration_ms: u64,
}
