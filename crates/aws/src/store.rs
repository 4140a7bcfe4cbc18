//! The incident store port: exactly-once claims on incidents (the idempotency pattern of AWS
//! Lambda Powertools: a record that does not exist or whose in-progress claim expired), the
//! guardrail state the ingest decides with, and the reservation that records an action against
//! the cooldown and the hourly budget together with the incident it is for.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};
use selfheal_core::guardrail::budget_window;
use selfheal_core::{
    Classified, Decision, ErrorClass, GuardrailState, Incident, IncidentId, Refusal, Target,
};
use serde::{Deserialize, Serialize};

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
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// Throttled, timed out, or unreachable: try again.
    #[error("incident store unavailable: {0}")]
    Unavailable(String),
    /// The claim expired and another delivery holds it now.
    #[error("claim on {0} was taken over by another delivery")]
    ClaimLost(IncidentId),
    /// An item the store holds cannot be read back.
    #[error("incident store holds an unreadable item: {0}")]
    Corrupt(String),
}

impl Classified for StoreError {
    fn class(&self) -> ErrorClass {
        match self {
            StoreError::Unavailable(_) | StoreError::ClaimLost(_) => ErrorClass::Retryable,
            StoreError::Corrupt(_) => ErrorClass::NonRetryable,
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
    /// another incident is still running) and counts one action against the hour's `budget`.
    fn reserve(
        &self,
        claim: &ClaimToken,
        incident: &Incident,
        budget: u32,
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

/// The key guardrail state is kept under for a target.
pub fn target_key(target: &Target) -> String {
    target.to_string()
}

/// Whether a target's cooldown (started at `last` by `last_incident`) lets `incident` act now.
fn cooldown_free(
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

/// One incident's record in the memory store.
#[derive(Debug, Clone)]
struct Record {
    token: Option<String>,
    claim_expires: DateTime<Utc>,
    // Boxed: records move when the map grows, and an incident is a few hundred bytes.
    incident: Option<Box<Incident>>,
    settled: Option<Settled>,
    resolved_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Default)]
pub(crate) struct Memory {
    incidents: HashMap<IncidentId, Record>,
    /// Target key -> (last action, the incident that took it).
    last_action: HashMap<String, (DateTime<Utc>, String)>,
    pub(crate) failures: HashMap<String, u32>,
    pub(crate) events: HashMap<IncidentId, Vec<crate::audit::TimelineEvent>>,
    pub(crate) closed: HashMap<IncidentId, crate::audit::Closing>,
    nonces: HashMap<String, DateTime<Utc>>,
    pub(crate) approvals: HashMap<IncidentId, String>,
    budgets: HashMap<DateTime<Utc>, u32>,
    kill_switch: bool,
}

/// The local store: the same conditions as the DynamoDB one, under a mutex.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Memory>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Turns the kill switch on or off.
    pub fn set_kill_switch(&self, on: bool) {
        self.lock().kill_switch = on;
    }

    /// Sets a target's failed-remediation count (the circuit breaker's input).
    pub fn set_failures(&self, target: &Target, failures: u32) {
        self.lock().failures.insert(target_key(target), failures);
    }

    /// How an incident's triage ended, and when it was resolved.
    pub fn settled(&self, id: &IncidentId) -> Option<(Option<Settled>, Option<DateTime<Utc>>)> {
        self.lock()
            .incidents
            .get(id)
            .map(|r| (r.settled.clone(), r.resolved_at))
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, Memory> {
        // A panic while holding the lock leaves plain data behind; keep serving it.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl ReplayGuard for MemoryStore {
    async fn first_time(
        &self,
        key: &str,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut m = self.lock();
        if m.nonces.get(key).is_some_and(|until| *until > now) {
            return Ok(false);
        }
        m.nonces.insert(key.to_owned(), expires);
        Ok(true)
    }
}

impl IncidentStore for MemoryStore {
    async fn claim(
        &self,
        id: &IncidentId,
        now: DateTime<Utc>,
        hold: TimeDelta,
    ) -> Result<Claim, StoreError> {
        let mut m = self.lock();
        let token = ClaimToken::new(id);
        let record = m.incidents.entry(id.clone()).or_insert_with(|| Record {
            token: None,
            claim_expires: DateTime::<Utc>::MIN_UTC,
            incident: None,
            settled: None,
            resolved_at: None,
        });
        let claimable = match &record.settled {
            None => record.token.is_none() || record.claim_expires < now,
            Some(Settled::Refused(r)) => r.retry_after.is_some_and(|t| t < now),
            Some(Settled::Accepted { .. }) => false,
        };
        if !claimable {
            return Ok(match &record.settled {
                Some(s) => Claim::Settled(s.clone()),
                None => Claim::InProgress,
            });
        }
        record.token = Some(token.token.clone());
        record.claim_expires = now + hold;
        record.settled = None;
        Ok(Claim::Acquired {
            token,
            reserved: record.incident.clone(),
        })
    }

    async fn guardrail_state(
        &self,
        target: &Target,
        now: DateTime<Utc>,
    ) -> Result<GuardrailState, StoreError> {
        let m = self.lock();
        let key = target_key(target);
        Ok(GuardrailState {
            kill_switch: m.kill_switch,
            last_action_at: m.last_action.get(&key).map(|(at, _)| *at),
            actions_last_hour: m.budgets.get(&budget_window(now)).copied().unwrap_or(0),
            consecutive_failures: m.failures.get(&key).copied().unwrap_or(0),
            replicas: None,
            nodes: None,
        })
    }

    async fn reserve(
        &self,
        claim: &ClaimToken,
        incident: &Incident,
        budget: u32,
        now: DateTime<Utc>,
    ) -> Result<Reservation, StoreError> {
        let mut m = self.lock();
        let holds = m
            .incidents
            .get(&claim.id)
            .is_some_and(|r| r.token.as_deref() == Some(claim.token.as_str()));
        if !holds {
            return Ok(Reservation::ClaimLost);
        }
        let key = target_key(&incident.target);
        let last = m.last_action.get(&key).map(|(at, by)| (*at, by.as_str()));
        let used = m.budgets.get(&budget_window(now)).copied().unwrap_or(0);
        if !cooldown_free(last, incident, now) || used >= budget {
            return Ok(Reservation::Contended);
        }
        m.last_action
            .insert(key, (now, incident.id.as_str().to_owned()));
        *m.budgets.entry(budget_window(now)).or_default() += 1;
        if let Some(r) = m.incidents.get_mut(&claim.id) {
            r.incident = Some(Box::new(incident.clone()));
        }
        Ok(Reservation::Reserved)
    }

    async fn settle(
        &self,
        claim: &ClaimToken,
        settled: &Settled,
        _now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut m = self.lock();
        match m.incidents.get_mut(&claim.id) {
            Some(r) if r.token.as_deref() == Some(claim.token.as_str()) => {
                r.settled = Some(settled.clone());
                r.token = None;
                Ok(())
            }
            _ => Err(StoreError::ClaimLost(claim.id.clone())),
        }
    }

    async fn release(&self, claim: &ClaimToken) -> Result<(), StoreError> {
        let mut m = self.lock();
        if let Some(r) = m.incidents.get_mut(&claim.id)
            && r.token.as_deref() == Some(claim.token.as_str())
        {
            r.claim_expires = DateTime::<Utc>::MIN_UTC;
        }
        Ok(())
    }

    async fn resolve(&self, id: &IncidentId, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let mut m = self.lock();
        Ok(match m.incidents.get_mut(id) {
            Some(r) => {
                r.resolved_at.get_or_insert(at);
                true
            }
            None => false,
        })
    }
}

#[cfg(test)]
mod tests {
    use selfheal_core::triage::Disposition;
    use selfheal_core::{Catalog, Policy, assess};

    use super::*;

    fn incident(now: DateTime<Utc>) -> Incident {
        let catalog = Catalog::parse([(
            "restart.yaml",
            "id: restart\ndescription: d\nmatch: ['alertname=\"X\"']\nrisk: low\nmax_attempts: 1\ncooldown: 15m\nsteps: [{action: restart-pods}]\n",
        )])
        .unwrap();
        let alert = serde_json::from_value(serde_json::json!({
            "status": "firing", "labels": {"alertname": "X", "namespace": "shop", "deployment": "web"},
            "startsAt": "2026-11-25T21:30:00Z",
        }))
        .unwrap();
        match assess(
            &alert,
            &catalog,
            &Policy::default(),
            |_| GuardrailState::default(),
            now,
        )
        .disposition
        {
            Disposition::Open { incident } => *incident,
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn claims_exclude_until_settled_released_or_expired() {
        let store = MemoryStore::new();
        let now = DateTime::UNIX_EPOCH + TimeDelta::days(20000);
        let incident = incident(now);
        let hold = TimeDelta::seconds(30);
        let Claim::Acquired {
            token,
            reserved: None,
        } = store.claim(&incident.id, now, hold).await.unwrap()
        else {
            panic!("first claim")
        };
        assert_eq!(
            store.claim(&incident.id, now, hold).await.unwrap(),
            Claim::InProgress
        );
        // Released: the next delivery takes over at once.
        store.release(&token).await.unwrap();
        let Claim::Acquired { token, .. } = store.claim(&incident.id, now, hold).await.unwrap()
        else {
            panic!("after release")
        };
        assert_eq!(
            store.reserve(&token, &incident, 10, now).await.unwrap(),
            Reservation::Reserved
        );
        // The holder stops here. After the hold, a retry gets the reserved incident back.
        let later = now + hold + TimeDelta::seconds(1);
        let Claim::Acquired {
            token: retry,
            reserved: Some(reserved),
        } = store.claim(&incident.id, later, hold).await.unwrap()
        else {
            panic!("after expiry")
        };
        assert_eq!(*reserved, incident);
        // The stale holder can no longer settle; the new one can, once.
        let settled = Settled::Accepted {
            decision: incident.decision,
            execution_arn: "arn".into(),
        };
        assert_eq!(
            store.settle(&token, &settled, later).await,
            Err(StoreError::ClaimLost(incident.id.clone()))
        );
        store.settle(&retry, &settled, later).await.unwrap();
        assert_eq!(
            store.claim(&incident.id, later, hold).await.unwrap(),
            Claim::Settled(settled)
        );
        // Its own reservation started the cooldown, which another incident on the target meets.
        let state = store
            .guardrail_state(&incident.target, later)
            .await
            .unwrap();
        assert_eq!(
            (state.last_action_at, state.actions_last_hour),
            (Some(now), 1)
        );
    }
}
