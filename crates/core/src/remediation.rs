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
    /// The kill switch as the state machine read it just before this step (`dynamodb:getItem`):
    /// when on, the step runs as a dry run.
    pub kill_switch: bool,
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
    /// The step did not act: the cluster showed no sign of the alert's symptom. Always
    /// written, as the state machine's Choice reads it.
    pub skipped: bool,
    /// What the cluster showed of the symptom before the runbook's first action (pods
    /// crashlooping, the node NotReady, CPU near its limit), or why it was not looked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symptom: Option<String>,
    /// Before and after.
    pub change: Change,
    /// One line for the audit trail and Slack.
    pub summary: String,
    /// How long the step took.
    pub duration_ms: u64,
}

schema_tag!(
    /// Schema of [`HealthCheckRequest`].
    HealthCheckRequestSchema = "selfheal.health-check-request/v1"
);

schema_tag!(
    /// Schema of [`HealthResult`].
    HealthResultSchema = "selfheal.health-result/v1"
);

/// Input of the HealthCheck state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthCheckRequest {
    /// Always [`HealthCheckRequestSchema::VALUE`].
    pub schema: HealthCheckRequestSchema,
    /// The incident.
    pub incident: Incident,
    /// Index of the health-check step (its SLI, if any, is evaluated).
    pub step: usize,
    /// When the remediation acted: restarts after this count against health.
    pub since: chrono::DateTime<chrono::Utc>,
}

/// The verdict of a health check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Health {
    /// Every check passed.
    Healthy,
    /// At least one check failed.
    Unhealthy,
    /// The checks could not be made (API or Prometheus unreachable, no data).
    Unknown,
}

/// One check and what it saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// What was checked, e.g. `rollout`, `pods-ready`, `restarts`, `sli`.
    pub name: String,
    /// Passed, failed, or could not tell.
    pub health: Health,
    /// The evidence, in one line.
    pub detail: String,
}

/// Output of the HealthCheck state; an unhealthy target is a result, never an error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthResult {
    /// Always [`HealthResultSchema::VALUE`].
    pub schema: HealthResultSchema,
    /// The overall verdict: unhealthy if any check failed, else unknown if any could not tell.
    pub health: Health,
    /// Every check.
    pub checks: Vec<Check>,
}

impl HealthResult {
    /// The overall verdict of these checks.
    pub fn from_checks(checks: Vec<Check>) -> Self {
        let health = if checks.iter().any(|c| c.health == Health::Unhealthy) {
            Health::Unhealthy
        } else if checks.is_empty() || checks.iter().any(|c| c.health == Health::Unknown) {
            Health::Unknown
        } else {
            Health::Healthy
        };
        HealthResult {
            schema: HealthResultSchema,
            health,
            checks,
        }
    }
}
