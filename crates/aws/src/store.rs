//! The incident store port: exactly-once claims on incidents (the idempotency pattern of AWS
//! Lambda Powertools: a record that does not exist or whose in-progress claim expired), the
//! guardrail state the ingest decides with, and the reservation that records an action against
//! the cooldown and the hourly budget together with the incident it is for.

use std::future::Future;

use chrono::{DateTime, TimeDelta, Utc};
use selfheal_core::guardrail::Budgets;
use selfheal_core::{
    Classified, Decision, ErrorClass, GuardrailState, Incident, IncidentId, Refusal, Target,
};
use serde::{Deserialize, Serialize};

use crate::{BoxError, error_chain};

/// The right to triage one incident, held until it is settled or its claim expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimToken {
    /// The incident claimed.
    pub id: IncidentId,
    /// Random, so a stale holder (whose claim expired and was taken over) cannot settle it.
    pub token: String,
}

impl ClaimToken {
    /// A fresh token for `id`.
    pub fn new(id: &IncidentId) -> Self {
        ClaimToken {
            id: id.clone(),
            token: format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..)),
        }
    }
}

/// The answer to a claim.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// Ours. `reserved` holds the incident when an earlier, interrupted delivery already passed
    /// the guardrails and reserved its action: start it, do not decide again.
    Acquired {
        /// Proof of the claim for [`IncidentStore::reserve`] and [`IncidentStore::settle`].
        token: ClaimToken,
        /// The incident an earlier delivery reserved, if any.
        reserved: Option<Box<Incident>>,
    },
    /// Already decided by an earlier delivery.
    Settled(Settled),
    /// Another delivery holds an unexpired claim right now.
    InProgress,
}

/// How an incident's triage ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Settled {
    /// The workflow was started.
    Accepted {
        /// run, dry-run or needs-approval.
        decision: Decision,
        /// The execution.
        execution_arn: String,
    },
    /// Nothing was started, for these reasons.
    Refused(Refusal),
}

/// The answer to a reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// Recorded: the cooldown starts now and the hour's budget holds one more action.
    Reserved,
    /// A concurrent action on the target or the budget got there first: read the state again.
    Contended,
    /// The claim expired and another delivery took it over.
    ClaimLost,
}

/// The store could not answer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Throttled, timed out, or unreachable: try again.
    #[error("incident store unavailable: {message}")]
    Unavailable {
        /// The error and its sources, for the log.
        message: String,
        /// The error itself (an SDK error a caller can downcast and act on).
        #[source]
        source: BoxError,
    },
    /// The claim expired and another delivery holds it now.
    #[error("claim on {0} was taken over by another delivery")]
    ClaimLost(IncidentId),
    /// An item the store holds cannot be written or read back.
    #[error("incident store holds an unreadable item: {what}: {source}")]
    Corrupt {
        /// Which item or attribute.
        what: &'static str,
        /// Why it cannot be read.
        #[source]
        source: BoxError,
    },
}

impl StoreError {
    /// The store could not be reached or refused the call; `source` says how.
    pub fn unavailable(source: impl Into<BoxError>) -> Self {
        let source = source.into();
        StoreError::Unavailable {
            message: error_chain(source.as_ref()),
            source,
        }
    }

    /// `what` cannot be serialized or read back.
    pub fn corrupt(what: &'static str, source: impl Into<BoxError>) -> Self {
        StoreError::Corrupt {
            what,
            source: source.into(),
        }
    }
}

impl Classified for StoreError {
    fn class(&self) -> ErrorClass {
        match self {
            StoreError::Unavailable { .. } | StoreError::ClaimLost(_) => ErrorClass::Retryable,
            StoreError::Corrupt { .. } => ErrorClass::NonRetryable,
        }
    }
}

/// Incident claims and guardrail state. Every write that another delivery could race is
/// conditional.
pub trait IncidentStore: Send + Sync {
    /// Claims `id` for `hold`: succeeds when no record exists, when an earlier claim expired
    /// unsettled, or when a refusal's `retry_after` has passed.
    fn claim(
        &self,
        id: &IncidentId,
        now: DateTime<Utc>,
        hold: TimeDelta,
    ) -> impl Future<Output = Result<Claim, StoreError>> + Send;

    /// What the guardrails need to know about `target` and the budget at `now`.
    fn guardrail_state(
        &self,
        target: &Target,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<GuardrailState, StoreError>> + Send;

    /// Atomically: stores `incident` on the claim, starts the target's cooldown (unless one from
    /// another incident is still running) and counts one action against the hour's budgets, the
    /// global one and the target namespace's.
    fn reserve(
        &self,
        claim: &ClaimToken,
        incident: &Incident,
        budgets: Budgets,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Reservation, StoreError>> + Send;

    /// Records how the triage ended and releases the claim.
    fn settle(
        &self,
        claim: &ClaimToken,
        settled: &Settled,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Gives the claim up unsettled, so a retry may take it at once instead of waiting for it to
    /// expire. A claim already lost is left alone.
    fn release(&self, claim: &ClaimToken) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Marks the incident resolved at `at` (the first resolution wins). False when no record of
    /// the incident exists.
    fn resolve(
        &self,
        id: &IncidentId,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The kill switch (strongly consistent); `None` when it was never set.
    fn kill_switch(&self) -> impl Future<Output = Result<Option<bool>, StoreError>> + Send;
}

/// Remembers keys once, until they expire: what makes a replayed request a no-op.
pub trait ReplayGuard: Send + Sync {
    /// True the first time `key` is seen (before `expires`), false on every repeat.
    fn first_time(
        &self,
        key: &str,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// The key guardrail state is kept under for a target: its workload, for a pod.
pub fn target_key(target: &Target) -> String {
    target.guard_key()
}

/// The key a namespace's budget is counted under (`cluster/namespace`); none for nodes.
pub fn namespace_key(target: &Target) -> Option<String> {
    target
        .namespace
        .as_ref()
        .map(|ns| format!("{}/{ns}", target.cluster))
}

/// Whether a target's cooldown (started at `last` by `last_incident`) lets `incident` act now.
pub(crate) fn cooldown_free(
    last: Option<(DateTime<Utc>, &str)>,
    incident: &Incident,
    now: DateTime<Utc>,
) -> bool {
    match last {
        None => true,
        Some((at, by)) => {
            by == incident.id.as_str() || at + incident.runbook.cooldown.as_duration() <= now
        }
    }
}
