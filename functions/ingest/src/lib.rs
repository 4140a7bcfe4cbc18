//! The ingest: Alertmanager notifications (API Gateway HTTP API, or SNS from Amazon Managed
//! Prometheus) become incidents and workflow executions, exactly once per alert episode.
//!
//! Per firing alert: claim the incident (a conditional write that only one delivery wins), triage
//! it with the guardrail state, reserve the action (cooldown and hourly budget, one transaction),
//! start the execution named after the incident, settle the claim. A delivery that finds the
//! incident settled reports a duplicate; one that finds it claimed by a concurrent delivery gets
//! a 503 and Alertmanager retries; a crash leaves a claim that expires, and the retry completes
//! what was reserved without deciding again. Resolved alerts only mark their incident resolved.

pub mod auth;
pub mod event;
pub mod gateway;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use futures::StreamExt;
use selfheal_aws::secrets::SecretSource;
use selfheal_aws::starter::{ExecutionStarter, StartError, Started};
use selfheal_aws::store::{Claim, ClaimToken, IncidentStore, Reservation, Settled, StoreError};
use selfheal_core::alert::parse_sns_event;
use selfheal_core::metrics::{Discard, Event, Sink};
use selfheal_core::{
    Alert, AlertStatus, Catalog, Classified, Decision, Disposition, ErrorClass, Incident,
    IncidentId, Limits, PayloadError, Policy, Refusal, Target, WebhookPayload, assess,
};
use serde::Serialize;
use tracing::{Instrument, info, info_span, warn};

use crate::auth::{AuthError, WebhookAuth};

/// Settings that are not dependencies.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Body size and alert count limits.
    pub limits: Limits,
    /// How long a claim keeps concurrent deliveries away before a retry may take it over.
    pub claim_hold: TimeDelta,
    /// The SNS topic Amazon Managed Prometheus publishes to; SNS events from any other topic, or
    /// any SNS event when unset, are refused.
    pub sns_topic_arn: Option<String>,
    /// Alerts of one notification handled at the same time.
    pub concurrency: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            limits: Limits::default(),
            claim_hold: TimeDelta::seconds(30),
            sns_topic_arn: None,
            concurrency: 8,
        }
    }
}

selfheal_core::spelled_enum!(
    /// What happened to one alert.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum Outcome {
        /// An execution was started for it.
        Accepted = "accepted",
        /// An earlier delivery already decided it; nothing new was done.
        Duplicate = "duplicate",
        /// Nothing was started, for the reasons given.
        Refused = "refused",
        /// A resolved alert: its incident was marked resolved.
        Resolved = "resolved",
    }
);

/// One alert's line of the response.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertReport {
    /// The incident the alert episode maps to.
    pub incident_id: IncidentId,
    /// The `alertname` label.
    pub alertname: String,
    /// Firing or resolved.
    pub status: AlertStatus,
    /// What happened.
    pub outcome: Outcome,
    /// For accepted incidents (and duplicates of them): run, dry-run or needs-approval.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    /// The execution, when one was started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_arn: Option<String>,
    /// Reason codes (refusals, and duplicates of refusals).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub codes: Vec<String>,
    /// Reasons as sentences.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
}

/// Why a notification could not be (completely) handled.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The request did not authenticate.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The payload can never be accepted.
    #[error(transparent)]
    Payload(#[from] PayloadError),
    /// An SNS event from a topic that is not the configured one.
    #[error("SNS topic {0} is not the configured one")]
    Topic(String),
    /// The incident store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Starting the execution failed.
    #[error(transparent)]
    Start(#[from] StartError),
    /// A concurrent delivery is handling the incident right now.
    #[error("incident {0} is being handled by another delivery; retry")]
    InProgress(IncidentId),
    /// Some alerts were handled and others failed; the handled ones are duplicates on retry.
    #[error("{} of {} alerts failed: {}", .failed.len(), .failed.len() + .done.len(), .failed[0])]
    Partial {
        /// What was done.
        done: Vec<AlertReport>,
        /// What failed (at least one).
        failed: Vec<IngestError>,
    },
}

impl IngestError {
    /// The HTTP status: 4xx only for what can never succeed, so Alertmanager retries the rest.
    pub fn status(&self) -> u16 {
        match self {
            IngestError::Auth(AuthError::Missing | AuthError::Invalid | AuthError::Expired) => 401,
            // Not the caller's fault: a delivery refused now is retried once the secret is set.
            IngestError::Auth(AuthError::Secret(_) | AuthError::Unconfigured) => 503,
            IngestError::Payload(PayloadError::TooLarge { .. }) => 413,
            IngestError::Payload(_) => 400,
            IngestError::Topic(_) => 403,
            IngestError::Store(_)
            | IngestError::Start(_)
            | IngestError::InProgress(_)
            | IngestError::Partial { .. } => 503,
        }
    }
}

/// The ingest handler and its dependencies.
pub struct Ingest<S, E, K> {
    store: S,
    starter: E,
    auth: WebhookAuth<K>,
    catalog: Catalog,
    policy: Policy,
    settings: Settings,
    metrics: Arc<dyn Sink>,
}

impl<S: IncidentStore, E: ExecutionStarter, K: SecretSource> Ingest<S, E, K> {
    /// A handler over these dependencies; the webhook secret is cached for five minutes.
    pub fn new(store: S, starter: E, secret: K, catalog: Catalog, policy: Policy) -> Self {
        Ingest {
            store,
            starter,
            auth: WebhookAuth::new(secret, Duration::from_secs(300)),
            catalog,
            policy,
            settings: Settings::default(),
            metrics: Arc::new(Discard),
        }
    }

    /// Counts accepted and refused alerts in `metrics` (EMF in Lambda, the lab's /metrics).
    pub fn with_metrics(mut self, metrics: Arc<dyn Sink>) -> Self {
        self.metrics = metrics;
        self
    }

    /// Replaces the settings.
    pub fn with_settings(mut self, settings: Settings) -> Self {
        self.settings = settings;
        self
    }

    /// The incident store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The execution starter.
    pub fn starter(&self) -> &E {
        &self.starter
    }

    /// Counts the notification's alerts by outcome, and each refusal's reasons.
    fn metrics(&self, result: &Result<Vec<AlertReport>, IngestError>) {
        for (outcome, count) in counts(result) {
            self.metrics.record(&Event::Alerts { outcome, count });
        }
        let done = match result {
            Ok(done) | Err(IngestError::Partial { done, .. }) => done.as_slice(),
            Err(_) => &[],
        };
        for r in done.iter().filter(|r| r.outcome == Outcome::Refused) {
            for reason in &r.codes {
                self.metrics.record(&Event::Refused { reason });
            }
        }
    }

    /// An HTTP delivery: authenticate, then parse and handle the body.
    pub async fn webhook(
        &self,
        headers: &http::HeaderMap,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Vec<AlertReport>, IngestError> {
        let result = async {
            self.auth.verify(headers, body, now).await?;
            let payload = selfheal_core::alert::parse_webhook(
                body,
                &self.settings.limits,
                selfheal_core::Door::Webhook,
            )?;
            self.notification(&payload, now).await
        }
        .await;
        self.metrics(&result);
        result
    }

    /// An SNS event: every record must come from the configured topic.
    pub async fn sns(
        &self,
        event: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Vec<AlertReport>, IngestError> {
        let result = self.sns_deliveries(event, now).await;
        self.metrics(&result);
        result
    }

    async fn sns_deliveries(
        &self,
        event: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Vec<AlertReport>, IngestError> {
        let deliveries = parse_sns_event(event, &self.settings.limits)?;
        if let Some(d) = deliveries
            .iter()
            .find(|d| Some(&d.topic_arn) != self.settings.sns_topic_arn.as_ref())
        {
            return Err(IngestError::Topic(d.topic_arn.clone()));
        }
        let mut reports = Vec::new();
        let mut failed = Vec::new();
        for d in &deliveries {
            match self.notification(&d.payload, now).await {
                Ok(r) => reports.extend(r),
                Err(IngestError::Partial { done, failed: f }) => {
                    reports.extend(done);
                    failed.extend(f);
                }
                Err(e) => failed.push(e),
            }
        }
        finish(reports, failed)
    }

    /// Handles every alert of a parsed notification.
    pub async fn notification(
        &self,
        payload: &WebhookPayload,
        now: DateTime<Utc>,
    ) -> Result<Vec<AlertReport>, IngestError> {
        // The same alert twice in one notification is handled once.
        let mut seen = HashSet::new();
        let mut pending = Vec::with_capacity(payload.alerts.len());
        for alert in &payload.alerts {
            let id = IncidentId::derive(&alert.fingerprint(), alert.starts_at);
            let first = seen.insert(id.clone());
            pending.push(self.traced(alert, id, first, now));
        }
        let results: Vec<Result<AlertReport, IngestError>> = futures::stream::iter(pending)
            .buffered(self.settings.concurrency.max(1))
            .collect()
            .await;
        let (mut done, mut failed) = (Vec::new(), Vec::new());
        for r in results {
            match r {
                Ok(r) => done.push(r),
                Err(e) => failed.push(e),
            }
        }
        finish(done, failed)
    }

    /// One alert, in a span that puts its incident id on every log line.
    async fn traced(
        &self,
        alert: &Alert,
        id: IncidentId,
        first: bool,
        now: DateTime<Utc>,
    ) -> Result<AlertReport, IngestError> {
        if !first {
            return Ok(report(alert, id, Outcome::Duplicate));
        }
        let span = info_span!("alert", incident_id = %id, alertname = alert.name());
        self.alert(alert, id, now).instrument(span).await
    }

    /// One alert.
    async fn alert(
        &self,
        alert: &Alert,
        id: IncidentId,
        now: DateTime<Utc>,
    ) -> Result<AlertReport, IngestError> {
        if alert.status == AlertStatus::Resolved {
            let at = alert.ends_at.unwrap_or(now);
            let known = self.store.resolve(&id, at).await?;
            info!(known, "resolved");
            return Ok(report(alert, id, Outcome::Resolved));
        }
        let (token, reserved) = match self.store.claim(&id, now, self.settings.claim_hold).await? {
            Claim::Settled(settled) => {
                info!("duplicate");
                return Ok(settled_report(alert, id, Outcome::Duplicate, &settled));
            }
            Claim::InProgress => {
                warn!("claimed by a concurrent delivery");
                return Err(IngestError::InProgress(id));
            }
            Claim::Acquired { token, reserved } => (token, reserved),
        };
        let result = match reserved {
            // An earlier delivery decided and reserved, then stopped: finish its work.
            Some(incident) => self.start(&token, &incident, alert, now).await,
            None => self.triage(&token, alert, now).await,
        };
        if result.is_err() {
            // Let the retry take over at once instead of waiting for the claim to expire.
            if let Err(e) = self.store.release(&token).await {
                warn!(error = %e, "releasing the claim failed; it expires on its own");
            }
        }
        result
    }

    /// Decides with the guardrail state and acts on the decision.
    async fn triage(
        &self,
        token: &ClaimToken,
        alert: &Alert,
        now: DateTime<Utc>,
    ) -> Result<AlertReport, IngestError> {
        let mut contended = false;
        loop {
            let state = match Target::from_labels(&alert.labels, &self.policy.default_cluster) {
                Ok(target) => self.store.guardrail_state(&target, now).await?,
                Err(_) => Default::default(),
            };
            let assessment = assess(alert, &self.catalog, &self.policy, |_| state, now);
            let Disposition::Open { incident } = &assessment.disposition else {
                let Some(refusal) = assessment.refusal(now) else {
                    unreachable!("a firing alert is opened or refused")
                };
                let settled = Settled::Refused(refusal);
                self.store.settle(token, &settled, now).await?;
                info!(codes = ?assessment.reasons(), "refused");
                return Ok(settled_report(
                    alert,
                    token.id.clone(),
                    Outcome::Refused,
                    &settled,
                ));
            };
            match self
                .store
                .reserve(token, incident, self.policy.budgets(), now)
                .await?
            {
                Reservation::Reserved => return self.start(token, incident, alert, now).await,
                Reservation::ClaimLost => {
                    return Err(StoreError::ClaimLost(token.id.clone()).into());
                }
                // Someone acted on the target or spent the budget between the read and the
                // write: decide once more with what they wrote.
                Reservation::Contended if !contended => contended = true,
                Reservation::Contended => return Err(IngestError::InProgress(token.id.clone())),
            }
        }
    }

    /// Starts the reserved incident's execution and settles the claim.
    async fn start(
        &self,
        token: &ClaimToken,
        incident: &Incident,
        alert: &Alert,
        now: DateTime<Utc>,
    ) -> Result<AlertReport, IngestError> {
        let started = match self.starter.start(incident).await {
            Ok(started) => started,
            // Step Functions refused this input and would refuse every retry: settle it refused,
            // so redeliveries are answered instead of retried for ever.
            Err(e) if e.class() == ErrorClass::NonRetryable => {
                let settled = Settled::Refused(Refusal {
                    codes: vec!["start-refused".into()],
                    reasons: vec![e.to_string()],
                    retry_after: None,
                });
                self.store.settle(token, &settled, now).await?;
                warn!(error = %e, "Step Functions refused the execution");
                return Ok(settled_report(
                    alert,
                    token.id.clone(),
                    Outcome::Refused,
                    &settled,
                ));
            }
            Err(e) => return Err(e.into()),
        };
        let settled = Settled::Accepted {
            decision: incident.decision,
            execution_arn: started.arn().to_owned(),
        };
        self.store.settle(token, &settled, now).await?;
        let outcome = match started {
            Started::New { .. } => Outcome::Accepted,
            Started::AlreadyExists { .. } => Outcome::Duplicate,
        };
        info!(
            outcome = outcome.as_str(),
            decision = incident.decision.as_str(),
            runbook = incident.runbook.id,
            target = %incident.target,
            "execution started"
        );
        Ok(settled_report(alert, token.id.clone(), outcome, &settled))
    }
}

fn finish(
    done: Vec<AlertReport>,
    failed: Vec<IngestError>,
) -> Result<Vec<AlertReport>, IngestError> {
    match failed.len() {
        0 => Ok(done),
        1 if done.is_empty() => Err(failed.into_iter().next().expect("one error")),
        _ => Err(IngestError::Partial { done, failed }),
    }
}

fn report(alert: &Alert, id: IncidentId, outcome: Outcome) -> AlertReport {
    AlertReport {
        incident_id: id,
        alertname: alert.name().to_owned(),
        status: alert.status,
        outcome,
        decision: None,
        execution_arn: None,
        codes: Vec::new(),
        reasons: Vec::new(),
    }
}

fn settled_report(
    alert: &Alert,
    id: IncidentId,
    outcome: Outcome,
    settled: &Settled,
) -> AlertReport {
    let mut r = report(alert, id, outcome);
    match settled {
        Settled::Accepted {
            decision,
            execution_arn,
        } => {
            r.decision = Some(*decision);
            r.execution_arn = Some(execution_arn.clone());
        }
        Settled::Refused(refusal) => {
            r.codes = refusal.codes.clone();
            r.reasons = refusal.reasons.clone();
        }
    }
    r
}

/// Alerts per outcome of one notification, failures under `error`.
pub fn counts(result: &Result<Vec<AlertReport>, IngestError>) -> BTreeMap<&'static str, u64> {
    let mut counts = BTreeMap::new();
    let (done, errors): (&[AlertReport], u64) = match result {
        Ok(done) => (done, 0),
        Err(IngestError::Partial { done, failed }) => (done, failed.len() as u64),
        Err(_) => (&[], 1),
    };
    for r in done {
        *counts.entry(r.outcome.as_str()).or_default() += 1;
    }
    if errors > 0 {
        counts.insert("error", errors);
    }
    counts
}

#[cfg(test)]
mod tests {
    use selfheal_aws::memory::{MemoryStarter, MemoryStore, StaticSecret};
    use selfheal_core::embedded;

    use super::*;

    fn ingest() -> Ingest<MemoryStore, MemoryStarter, StaticSecret> {
        Ingest::new(
            MemoryStore::new(),
            MemoryStarter::new(),
            StaticSecret("t".into()),
            embedded::catalog().unwrap(),
            embedded::policy().unwrap(),
        )
    }

    fn payload(pods: &[&str]) -> WebhookPayload {
        let alerts: Vec<_> = pods
            .iter()
            .map(|pod| {
                serde_json::json!({
                    "status": "firing",
                    "labels": {"alertname": "KubePodCrashLooping", "severity": "warning",
                               "namespace": "shop", "pod": pod},
                    "startsAt": "2026-11-25T21:30:00Z",
                })
            })
            .collect();
        serde_json::from_value(
            serde_json::json!({"version": "4", "status": "firing", "alerts": alerts}),
        )
        .unwrap()
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-25T21:31:00Z")
            .unwrap()
            .to_utc()
    }

    /// A Step Functions that refuses every input as invalid.
    struct Refusing;

    impl ExecutionStarter for Refusing {
        async fn start(&self, _: &Incident) -> Result<Started, StartError> {
            Err(StartError::refused(
                "InvalidExecutionInput: input too large",
            ))
        }
    }

    #[tokio::test]
    async fn an_execution_step_functions_refuses_is_refused_once_not_retried_for_ever() {
        let store = std::sync::Arc::new(MemoryStore::new());
        let ingest = Ingest::new(
            store.clone(),
            Refusing,
            StaticSecret("t".into()),
            embedded::catalog().unwrap(),
            embedded::policy().unwrap(),
        );
        let out = ingest
            .notification(&payload(&["web1"]), now())
            .await
            .unwrap();
        assert_eq!(out[0].outcome, Outcome::Refused);
        // The redelivery is answered from the store, not sent to Step Functions again.
        let again = ingest
            .notification(&payload(&["web1"]), now())
            .await
            .unwrap();
        assert_eq!(again[0].outcome, Outcome::Duplicate);
        let json = serde_json::to_value(&again[0]).unwrap();
        assert!(json.to_string().contains("start-refused"), "{json}");
    }

    #[tokio::test]
    async fn one_alert_twice_in_a_notification_is_handled_once() {
        let ingest = ingest();
        let out = ingest
            .notification(&payload(&["web1", "web1", "web2"]), now())
            .await
            .unwrap();
        let outcomes: Vec<_> = out.iter().map(|r| r.outcome).collect();
        assert_eq!(
            outcomes,
            [Outcome::Accepted, Outcome::Duplicate, Outcome::Accepted]
        );
        assert_eq!(ingest.starter().started().len(), 2);
    }

    #[tokio::test]
    async fn an_alert_for_a_cluster_selfheal_does_not_remediate_is_refused() {
        let registry = std::sync::Arc::new(selfheal_core::metrics::Registry::new());
        let ingest = ingest().with_metrics(registry.clone());
        let mut payload = payload(&["web1"]);
        payload.alerts[0]
            .labels
            .insert("cluster".into(), "prod-eu".into());
        let body = serde_json::to_vec(&payload).unwrap();
        let mut headers = http::HeaderMap::new();
        headers.insert("authorization", "Bearer t".parse().unwrap());
        let out = ingest.webhook(&headers, &body, now()).await.unwrap();
        assert_eq!(out[0].outcome, Outcome::Refused);
        assert_eq!(out[0].codes, ["unknown-cluster"]);
        assert!(ingest.starter().started().is_empty());
        let text = registry.render();
        for line in [
            r#"selfheal_alerts_total{outcome="refused"} 1"#,
            r#"selfheal_alerts_refused_total{reason="unknown-cluster"} 1"#,
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
    }

    #[tokio::test]
    async fn crashloops_of_several_pods_of_one_deployment_open_one_incident() {
        let ingest = ingest();
        let pods = [
            "web-5d8f7b9c4-x2kq9",
            "web-5d8f7b9c4-7hm2v",
            "web-5d8f7b9c4-b4nzp",
            "api-6c7d8f9b5-q8wzt",
        ];
        let out = ingest.notification(&payload(&pods), now()).await.unwrap();
        let outcomes: Vec<_> = out.iter().map(|r| (r.outcome, r.codes.clone())).collect();
        let cooldown = (Outcome::Refused, vec!["cooldown".to_owned()]);
        assert_eq!(
            outcomes,
            [
                (Outcome::Accepted, vec![]),
                cooldown.clone(),
                cooldown,
                (Outcome::Accepted, vec![]),
            ]
        );
        assert_eq!(ingest.starter().started().len(), 2, "one per deployment");
    }

    #[tokio::test]
    async fn the_hourly_budget_refuses_what_it_cannot_pay_for() {
        let ingest = ingest().with_settings(Settings::default());
        // 25 crashloops over five namespaces: no namespace reaches its own budget of 10.
        let alerts: Vec<_> = (0..25)
            .map(|i| {
                serde_json::json!({
                    "status": "firing",
                    "labels": {"alertname": "KubePodCrashLooping", "severity": "warning",
                               "namespace": format!("team-{}", i % 5), "pod": format!("web{i}")},
                    "startsAt": "2026-11-25T21:30:00Z",
                })
            })
            .collect();
        let payload: WebhookPayload = serde_json::from_value(
            serde_json::json!({"version": "4", "status": "firing", "alerts": alerts}),
        )
        .unwrap();
        let out = ingest.notification(&payload, now()).await.unwrap();
        let accepted = out
            .iter()
            .filter(|r| r.outcome == Outcome::Accepted)
            .count();
        let refused: Vec<_> = out
            .iter()
            .filter(|r| r.outcome == Outcome::Refused)
            .collect();
        // The policy's budget is 20 actions an hour, whatever the concurrency.
        assert_eq!((accepted, refused.len()), (20, 5));
        assert!(
            refused.iter().all(|r| r.codes == ["budget-exhausted"]),
            "{refused:?}"
        );
        assert_eq!(ingest.starter().started().len(), 20);
    }

    #[tokio::test]
    async fn a_burst_in_one_namespace_leaves_the_budget_for_the_others() {
        let ingest = ingest().with_settings(Settings::default());
        let pods: Vec<String> = (0..15).map(|i| format!("web{i}")).collect();
        let pods: Vec<&str> = pods.iter().map(String::as_str).collect();
        let out = ingest.notification(&payload(&pods), now()).await.unwrap();
        let refused: Vec<_> = out
            .iter()
            .filter(|r| r.outcome == Outcome::Refused)
            .collect();
        // shop's own budget is 10 an hour.
        assert_eq!(refused.len(), 5);
        assert!(
            refused
                .iter()
                .all(|r| r.codes == ["namespace-budget-exhausted"]),
            "{refused:?}"
        );
        assert_eq!(ingest.starter().started().len(), 10);
    }

    #[tokio::test]
    async fn an_open_circuit_refuses_and_waits_for_a_human() {
        let ingest = ingest();
        let target = Target::from_labels(
            &payload(&["web1"]).alerts[0].labels,
            &embedded::policy().unwrap().default_cluster,
        )
        .unwrap();
        ingest.store().set_failures(&target, 3);
        let out = ingest
            .notification(&payload(&["web1"]), now())
            .await
            .unwrap();
        assert_eq!(out[0].outcome, Outcome::Refused);
        assert_eq!(out[0].codes, ["circuit-open"]);
        let (settled, _) = ingest.store().settled(&out[0].incident_id).unwrap();
        let Some(Settled::Refused(r)) = settled else {
            panic!("{settled:?}")
        };
        assert_eq!(r.retry_after, None);
    }

    #[test]
    fn statuses_tell_alertmanager_whether_to_retry() {
        let id = IncidentId::derive("f", now());
        assert_eq!(IngestError::Auth(AuthError::Invalid).status(), 401);
        assert_eq!(
            IngestError::Payload(PayloadError::TooLarge { bytes: 2, max: 1 }).status(),
            413
        );
        assert_eq!(IngestError::Payload(PayloadError::NoAlerts).status(), 400);
        assert_eq!(IngestError::InProgress(id.clone()).status(), 503);
        assert_eq!(
            IngestError::Store(StoreError::unavailable("x")).status(),
            503
        );
        assert_eq!(IngestError::Start(StartError::new("x")).status(), 503);
        let partial = IngestError::Partial {
            done: vec![],
            failed: vec![IngestError::InProgress(id)],
        };
        assert_eq!(partial.status(), 503);
        assert_eq!(counts(&Err(partial)), BTreeMap::from([("error", 1)]));
    }
}
