//! The audit ports: the incident's timeline (one item per event, written once) and its close
//! (outcome, MTTR and the target's failure count for the circuit breaker, together and once);
//! and the archive that keeps the full record (S3, written once).

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use selfheal_core::audit::Outcome;
use selfheal_core::{IncidentId, Mode, Target};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::store::{MemoryStore, StoreError, target_key};

/// One line of the timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEvent {
    /// Position in the timeline; also what makes a retried write a no-op.
    pub seq: u32,
    /// `opened`, `approval`, `step`, `error`, `analysis`, `closed`.
    pub kind: String,
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

impl AuditLog for MemoryStore {
    async fn record(&self, id: &IncidentId, event: &TimelineEvent) -> Result<bool, StoreError> {
        let mut m = self.lock();
        let list = m.events.entry(id.clone()).or_default();
        if list.iter().any(|e| e.seq == event.seq) {
            return Ok(false);
        }
        list.push(event.clone());
        list.sort_by_key(|e| e.seq);
        Ok(true)
    }

    async fn close(
        &self,
        id: &IncidentId,
        closing: &Closing,
        failures: FailureCount,
    ) -> Result<Closing, StoreError> {
        let mut m = self.lock();
        if let Some(first) = m.closed.get(id) {
            return Ok(first.clone());
        }
        m.closed.insert(id.clone(), closing.clone());
        let count = m.failures.entry(target_key(&closing.target)).or_default();
        *count = match failures {
            FailureCount::Reset => 0,
            FailureCount::Increment => *count + 1,
            FailureCount::Keep => *count,
        };
        Ok(closing.clone())
    }

    async fn await_approval(&self, id: &IncidentId, token: &str) -> Result<(), StoreError> {
        self.lock().approvals.insert(id.clone(), token.to_owned());
        Ok(())
    }

    async fn approval_token(&self, id: &IncidentId) -> Result<Option<String>, StoreError> {
        Ok(self.lock().approvals.get(id).cloned())
    }

    async fn closing(&self, id: &IncidentId) -> Result<Option<Closing>, StoreError> {
        Ok(self.lock().closed.get(id).cloned())
    }

    async fn timeline(&self, id: &IncidentId) -> Result<Vec<TimelineEvent>, StoreError> {
        Ok(self.lock().events.get(id).cloned().unwrap_or_default())
    }
}

/// The local archive.
#[derive(Debug, Default)]
pub struct MemoryArchive {
    objects: Mutex<HashMap<String, Value>>,
}

impl MemoryArchive {
    /// The object under `key`.
    pub fn get(&self, key: &str) -> Option<Value> {
        self.objects
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned()
    }
}

impl Archive for MemoryArchive {
    async fn put_once(&self, key: &str, body: &Value) -> Result<bool, StoreError> {
        let mut objects = self.objects.lock().unwrap_or_else(|e| e.into_inner());
        if objects.contains_key(key) {
            return Ok(false);
        }
        objects.insert(key.to_owned(), body.clone());
        Ok(true)
    }
}
