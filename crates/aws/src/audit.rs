//! The audit ports: the incident's timeline (one item per event, written once) and its close
//! (outcome, MTTR and the target's failure count for the circuit breaker, together and once);
//! and the archive that keeps the full record (S3, written once).

use std::future::Future;

use chrono::{DateTime, Utc};
use selfheal_core::audit::Outcome;
use selfheal_core::{IncidentId, Mode, Target};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::store::StoreError;

selfheal_core::spelled_enum!(
    /// What a timeline line records.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum TimelineKind {
        /// The workflow started.
        Opened = "opened",
        /// A human approved the runbook.
        Approval = "approval",
        /// One unit of the runbook: its action, the wait and the health check.
        Step = "step",
        /// What made the workflow escalate.
        Error = "error",
        /// Why nothing was done: the symptom was not present.
        Skipped = "skipped",
        /// The analyzer's finding.
        Analysis = "analysis",
        /// The workflow ended.
        Closed = "closed",
    }
);

/// One line of the timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEvent {
    /// Position in the timeline; also what makes a retried write a no-op.
    pub seq: u32,
    /// What it records.
    pub kind: TimelineKind,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// One line for humans.
    pub summary: String,
    /// The details as the workflow recorded them.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub detail: Value,
}

/// How an incident ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Closing {
    /// remediated, escalated or dry-run.
    pub outcome: Outcome,
    /// When the workflow closed it.
    pub closed_at: DateTime<Utc>,
    /// From the alert's start to the close, for remediated incidents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mttr_seconds: Option<i64>,
    /// The execution.
    pub execution: String,
    /// The target, whose failure count the outcome moves.
    pub target: Target,
    /// The runbook that ran.
    pub runbook: String,
    /// enforce or dry-run.
    pub mode: Mode,
}

/// What closing changes in the circuit breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureCount {
    /// A remediation worked: start counting again.
    Reset,
    /// It did not: one more.
    Increment,
    /// A dry run proves nothing either way.
    Keep,
}

/// The timeline and the close, on the incident store.
pub trait AuditLog: Send + Sync {
    /// Writes `event` unless an event with its `seq` exists. True when written now.
    fn record(
        &self,
        id: &IncidentId,
        event: &TimelineEvent,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Closes the incident once; a second close leaves the first in place and returns it.
    fn close(
        &self,
        id: &IncidentId,
        closing: &Closing,
        failures: FailureCount,
    ) -> impl Future<Output = Result<Closing, StoreError>> + Send;

    /// Remembers the task token the incident's approval request waits on (for approvals that do
    /// not come through the Slack button, e.g. `selfheal approve`).
    fn await_approval(
        &self,
        id: &IncidentId,
        token: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The token the incident's approval request waits on, if any.
    fn approval_token(
        &self,
        id: &IncidentId,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    /// How the incident was closed, once it is.
    fn closing(
        &self,
        id: &IncidentId,
    ) -> impl Future<Output = Result<Option<Closing>, StoreError>> + Send;

    /// The timeline, in order.
    fn timeline(
        &self,
        id: &IncidentId,
    ) -> impl Future<Output = Result<Vec<TimelineEvent>, StoreError>> + Send;
}

/// Where full incident records are kept.
pub trait Archive: Send + Sync {
    /// Stores `body` under `key` unless something is there already. True when written now.
    fn put_once(
        &self,
        key: &str,
        body: &Value,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// The key of an incident's record: `incidents/YYYY/MM/DD/<id>.json` (the day it was received).
pub fn record_key(id: &IncidentId, received_at: DateTime<Utc>) -> String {
    format!("incidents/{}/{id}.json", received_at.format("%Y/%m/%d"))
}
