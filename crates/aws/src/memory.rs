//! The local implementations of every port, for the lab, the demo, tests and in-process
//! benchmarks: the same conditions as the AWS ones (checked by the contract suite in
//! tests/contract.rs, which runs against both), under a mutex.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};
use selfheal_core::guardrail::{Budgets, budget_window};
use selfheal_core::{GuardrailState, Incident, IncidentId, Target};
use serde_json::Value;

use crate::audit::{Archive, AuditLog, Closing, FailureCount, TimelineEvent};
use crate::secrets::{SecretError, SecretSource};
use crate::starter::{ExecutionStarter, StartError, Started};
use crate::store::{
    Claim, ClaimToken, IncidentStore, ReplayGuard, Reservation, Settled, StoreError, cooldown_free,
    namespace_key, target_key,
};

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
struct Memory {
    incidents: HashMap<IncidentId, Record>,
    /// Target key -> (last action, the incident that took it).
    last_action: HashMap<String, (DateTime<Utc>, String)>,
    failures: HashMap<String, u32>,
    events: HashMap<IncidentId, Vec<TimelineEvent>>,
    closed: HashMap<IncidentId, Closing>,
    nonces: HashMap<String, DateTime<Utc>>,
    approvals: HashMap<IncidentId, String>,
    /// Actions per (hour, namespace key); `None` is the global budget.
    budgets: HashMap<(DateTime<Utc>, Option<String>), u32>,
    kill_switch: Option<bool>,
}

impl Memory {
    /// Actions counted in `now`'s hour: globally, or in one namespace.
    fn used(&self, now: DateTime<Utc>, namespace: Option<String>) -> u32 {
        self.budgets
            .get(&(budget_window(now), namespace))
            .copied()
            .unwrap_or(0)
    }
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
        self.lock().kill_switch = Some(on);
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

    /// Every incident opened (refusals open none), oldest first, with how it closed and when it
    /// resolved: what the lab lists for people and `selfheal chaos run`.
    pub fn incidents(&self) -> Vec<(Incident, Option<Closing>, Option<DateTime<Utc>>)> {
        let m = self.lock();
        let mut all: Vec<_> = m
            .incidents
            .iter()
            .filter_map(|(id, r)| {
                let incident = r.incident.as_deref()?.clone();
                Some((incident, m.closed.get(id).cloned(), r.resolved_at))
            })
            .collect();
        all.sort_by_key(|(i, _, _)| i.received_at);
        all
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Memory> {
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
            kill_switch: m.kill_switch.unwrap_or(false),
            last_action_at: m.last_action.get(&key).map(|(at, _)| *at),
            actions_last_hour: m.used(now, None),
            namespace_actions_last_hour: namespace_key(target)
                .map_or(0, |ns| m.used(now, Some(ns))),
            consecutive_failures: m.failures.get(&key).copied().unwrap_or(0),
            replicas: None,
            nodes: None,
        })
    }

    async fn reserve(
        &self,
        claim: &ClaimToken,
        incident: &Incident,
        budgets: Budgets,
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
        let namespace = namespace_key(&incident.target);
        let spent = m.used(now, None) >= budgets.hourly
            || namespace
                .clone()
                .is_some_and(|ns| m.used(now, Some(ns)) >= budgets.namespace_hourly);
        if !cooldown_free(last, incident, now) || spent {
            return Ok(Reservation::Contended);
        }
        m.last_action
            .insert(key, (now, incident.id.as_str().to_owned()));
        let window = budget_window(now);
        *m.budgets.entry((window, None)).or_default() += 1;
        if let Some(ns) = namespace {
            *m.budgets.entry((window, Some(ns))).or_default() += 1;
        }
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

    async fn kill_switch(&self) -> Result<Option<bool>, StoreError> {
        Ok(self.lock().kill_switch)
    }
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

/// A secret given in configuration (the local lab, tests).
#[derive(Debug, Clone)]
pub struct StaticSecret(pub String);

impl SecretSource for StaticSecret {
    async fn fetch(&self) -> Result<String, SecretError> {
        Ok(self.0.clone())
    }
}
