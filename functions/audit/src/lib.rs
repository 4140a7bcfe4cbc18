//! The audit: what happened to an incident, as a timeline of events in the incident store and
//! one JSON record in the archive, written so that running any audit state twice leaves the same
//! data (events and the close are conditional writes; the record is written once).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use selfheal_aws::audit::{
    Archive, AuditLog, Closing, FailureCount, TimelineEvent, TimelineKind, record_key,
};
use selfheal_aws::store::{IncidentStore, StoreError};
use selfheal_core::audit::{AuditEvent, AuditRequest, AuditResponse, Outcome};
use selfheal_core::metrics::{ApprovalEvent, Discard, Event, Sink};
use selfheal_core::{Classified, Decision, ErrorClass, Incident, Mode, Policy};
use serde_json::{Value, json};
use tracing::info;

/// The audit could not be written.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct AuditError(#[from] StoreError);

impl Classified for AuditError {
    fn class(&self) -> ErrorClass {
        self.0.class()
    }
}

/// Timeline positions: fixed per kind (and per unit), so a retried state rewrites nothing.
mod seq {
    pub const OPENED: u32 = 1;
    pub const APPROVAL: u32 = 2;
    pub const FIRST_STEP: u32 = 10;
    pub const ERROR: u32 = 900;
    pub const SKIPPED: u32 = 905;
    pub const ANALYSIS: u32 = 910;
    pub const CLOSED: u32 = 999;
}

/// The audit handler.
pub struct Auditor<S, A> {
    store: S,
    archive: A,
    policy: Policy,
    metrics: Arc<dyn Sink>,
}

impl<S: IncidentStore + AuditLog, A: Archive> Auditor<S, A> {
    /// Writes to `store` and `archive`; the circuit breaker threshold comes from `policy`.
    pub fn new(store: S, archive: A, policy: Policy) -> Self {
        Auditor {
            store,
            archive,
            policy,
            metrics: Arc::new(Discard),
        }
    }

    /// Counts each incident's close (outcome, MTTR) in `metrics`, once.
    pub fn with_metrics(mut self, metrics: Arc<dyn Sink>) -> Self {
        self.metrics = metrics;
        self
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The archive.
    pub fn archive(&self) -> &A {
        &self.archive
    }

    /// One audit state.
    pub async fn handle(&self, request: &AuditRequest) -> Result<AuditResponse, AuditError> {
        match request.event {
            AuditEvent::Opened => self.opened(request).await,
            AuditEvent::Closed => self.closed(request).await,
        }
    }

    async fn opened(&self, r: &AuditRequest) -> Result<AuditResponse, AuditError> {
        let incident = &r.incident;
        let state = self.store.guardrail_state(&incident.target, r.at).await?;
        let circuit_open = state.consecutive_failures >= self.policy.circuit_breaker_failures;
        let summary = format!(
            "{} on {}: runbook {} ({}, {}){}",
            incident.alert.name(),
            incident.target,
            incident.runbook.id,
            incident.decision,
            match incident.mode {
                Mode::Enforce => "enforce",
                Mode::DryRun => "dry run",
            },
            if circuit_open {
                "; circuit breaker open"
            } else {
                ""
            }
        );
        self.store
            .record(
                &incident.id,
                &TimelineEvent {
                    seq: seq::OPENED,
                    kind: TimelineKind::Opened,
                    at: r.at,
                    summary,
                    detail: json!({"execution": r.execution, "failures": state.consecutive_failures}),
                },
            )
            .await?;
        info!(incident_id = %incident.id, circuit_open, "opened");
        Ok(AuditResponse {
            circuit_open,
            failures: state.consecutive_failures,
            outcome: None,
        })
    }

    async fn closed(&self, r: &AuditRequest) -> Result<AuditResponse, AuditError> {
        let incident = &r.incident;
        let state = r.state.clone().unwrap_or(Value::Null);
        let error = state.get("error").filter(|e| !e.is_null());
        let skipped = state.get("skipped").filter(|e| !e.is_null());
        let outcome = match (error, incident.mode) {
            (Some(_), _) => Outcome::Escalated,
            // The symptom was not there: a false positive, neither a success nor a failure.
            (None, _) if skipped.is_some() => Outcome::Skipped,
            (None, Mode::DryRun) => Outcome::DryRun,
            // The kill switch went on while the incident ran: a step that only dry-ran did not
            // remediate, and must not reset the circuit breaker as if it had.
            (None, Mode::Enforce) if step_results(&state).any(|r| r["dry_run"] == true) => {
                Outcome::DryRun
            }
            (None, Mode::Enforce) => Outcome::Remediated,
        };
        for event in timeline(&state, r.at) {
            self.store.record(&incident.id, &event).await?;
        }
        let mttr_seconds = (outcome == Outcome::Remediated)
            .then(|| (r.at - incident.alert.starts_at).num_seconds());
        self.store
            .record(
                &incident.id,
                &TimelineEvent {
                    seq: seq::CLOSED,
                    kind: TimelineKind::Closed,
                    at: r.at,
                    summary: match mttr_seconds {
                        Some(s) => format!("{} in {s} s from the alert", outcome.as_str()),
                        None => outcome.as_str().to_owned(),
                    },
                    detail: Value::Null,
                },
            )
            .await?;
        let closing = Closing {
            outcome,
            closed_at: r.at,
            mttr_seconds,
            execution: r.execution.clone(),
            target: incident.target.clone(),
            runbook: incident.runbook.id.clone(),
            mode: incident.mode,
        };
        let failures = match outcome {
            Outcome::Remediated => FailureCount::Reset,
            Outcome::Escalated => FailureCount::Increment,
            Outcome::DryRun | Outcome::Skipped => FailureCount::Keep,
        };
        let first = self.store.close(&incident.id, &closing, failures).await?;
        let record = json!({
            "incident": incident,
            "execution": first.execution,
            "outcome": first.outcome,
            "closed_at": first.closed_at,
            "mttr_seconds": first.mttr_seconds,
            "timeline": self.store.timeline(&incident.id).await?,
            "state": state,
        });
        let written = self
            .archive
            .put_once(&record_key(&incident.id, incident.received_at), &record)
            .await?;
        info!(incident_id = %incident.id, outcome = first.outcome.as_str(), written, "closed");
        // The record is written once per incident, so a retried close counts nothing twice.
        if written {
            self.metrics.record(&Event::IncidentClosed {
                outcome: first.outcome,
                mttr_seconds: first.mttr_seconds,
            });
            if approval_expired(incident, &state) {
                self.metrics.record(&Event::Approval {
                    event: ApprovalEvent::Expired,
                });
            }
        }
        Ok(AuditResponse {
            circuit_open: false,
            failures: 0,
            outcome: Some(first.outcome),
        })
    }
}

/// Whether the incident waited for an approval that nobody gave before its timeout: nothing runs
/// before the approval, so a timeout without one is the approval's.
fn approval_expired(incident: &Incident, state: &Value) -> bool {
    incident.decision == Decision::NeedsApproval
        && state.get("approval").is_none_or(Value::is_null)
        && state["error"]["Error"] == "States.Timeout"
}

/// What each unit's remediate step returned, for the units that acted.
fn step_results(state: &Value) -> impl Iterator<Item = &Value> {
    state["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|unit| &unit["remediation"]["result"])
        .filter(|r| r.is_object())
}

/// The events the workflow's state holds at close: approval, each unit, the error, the analysis.
fn timeline(state: &Value, at: DateTime<Utc>) -> Vec<TimelineEvent> {
    let mut events = Vec::new();
    let event = |seq, kind, summary: String, detail: &Value| TimelineEvent {
        seq,
        kind,
        at,
        summary,
        detail: detail.clone(),
    };
    if let Some(approval) = state.get("approval").filter(|a| !a.is_null()) {
        let by = approval["decided_by"].as_str().unwrap_or("someone");
        events.push(event(
            seq::APPROVAL,
            TimelineKind::Approval,
            format!("approved by {by}"),
            approval,
        ));
    }
    for (i, unit) in state["steps"].as_array().into_iter().flatten().enumerate() {
        let remediation = &unit["remediation"]["result"];
        let health = &unit["health"]["result"];
        let mut summary = remediation["summary"].as_str().map_or_else(
            || unit["action"].as_str().unwrap_or("step").to_owned(),
            str::to_owned,
        );
        if let Some(h) = health["health"].as_str() {
            summary.push_str(&format!("; health: {h}"));
        }
        if unit["attempts"].as_u64().is_some_and(|n| n > 1) {
            summary.push_str(&format!(" (attempt {})", unit["attempts"]));
        }
        let seq = seq::FIRST_STEP + u32::try_from(i).unwrap_or(u32::MAX - seq::FIRST_STEP);
        events.push(event(seq, TimelineKind::Step, summary, unit));
    }
    if let Some(error) = state.get("error").filter(|e| !e.is_null()) {
        let summary = format!(
            "{}: {}",
            error["Error"].as_str().unwrap_or("error"),
            error["Cause"].as_str().unwrap_or("")
        );
        events.push(event(seq::ERROR, TimelineKind::Error, summary, error));
    }
    if let Some(skipped) = state.get("skipped").filter(|e| !e.is_null()) {
        let summary = skipped["Cause"].as_str().unwrap_or("skipped").to_owned();
        events.push(event(seq::SKIPPED, TimelineKind::Skipped, summary, skipped));
    }
    if let Some(analysis) = state.get("analysis").filter(|a| !a.is_null()) {
        let summary = analysis["result"]["summary"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        events.push(event(
            seq::ANALYSIS,
            TimelineKind::Analysis,
            summary,
            analysis,
        ));
    }
    events
}
