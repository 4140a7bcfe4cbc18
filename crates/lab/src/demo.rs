//! A chaos scenario on the lab's virtual clock, from the fault to healthy: the same definition,
//! handlers and kube-sim as `selfheal lab`, observability/'s real alert rules evaluated by a real
//! Prometheus at each virtual instant ([`VirtualPrometheus`]), every alert meant for automation
//! posted to the ingest as Alertmanager's selfheal route posts it, and an on-call who approves a
//! waiting request by clicking the posted button (a click signed as Slack signs it). Waits,
//! polls, back-offs and the rules' `for` cost no wall time; the times reported are the
//! simulated ones. Run without selfheal, the same fault is left alone for the window.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use selfheal_aws::audit::AuditLog;
use selfheal_core::alert_rules::AUTOMATION;
use selfheal_core::{Catalog, Policy};
use selfheal_kube_sim::Scenario as Cluster;
use selfheal_slack::Slack;
use serde_json::{Value, json};

use crate::chaos::{ChaosError, Scenario};
use crate::serve::IncidentSummary;
use crate::stack::{Stack, StackOptions};
use crate::virtual_prometheus::{Alert, Change, PromError, VirtualPrometheus};
use crate::{Lab, StartError};

/// Slack's signing secret in the demo: the on-call's clicks are signed with it.
const SIGNING_SECRET: &str = "demo-signing-secret";
/// The on-call's Slack user id, the one approver.
pub const ON_CALL: &str = "U0DEMOONCALL";
const TOKEN: &str = "demo-token";

/// Why a run could not complete.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The lab did not start.
    #[error(transparent)]
    Start(#[from] StartError),
    /// Prometheus did not answer.
    #[error(transparent)]
    Prometheus(#[from] PromError),
    /// The scenario could not be injected.
    #[error(transparent)]
    Chaos(#[from] ChaosError),
    /// The scratch directory.
    #[error("scratch directory: {0}")]
    Io(#[from] std::io::Error),
    /// The run's task panicked.
    #[error("the run stopped: {0}")]
    Task(String),
}

/// How runs are set up.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The real Prometheus (with `--web.enable-remote-write-receiver`).
    pub prometheus: String,
    /// observability/prometheus/rules.
    pub rules: PathBuf,
    /// Virtual time at the start of the run (in the past: Prometheus takes no future samples).
    pub start: DateTime<Utc>,
    /// Scrape interval (and how often the demo looks at the cluster).
    pub step: Duration,
    /// Rule evaluation interval (Prometheus' default is a minute).
    pub evaluation: Duration,
    /// How long the workload must stay healthy to count as healed (a flapping fault's quiet
    /// minutes are not a recovery).
    pub stable: Duration,
    /// Healthy minutes before the fault, so rates have a history.
    pub warmup: Duration,
    /// How long after the fault the run may last.
    pub window: Duration,
    /// The guardrail policy.
    pub policy: Policy,
    /// The runbooks.
    pub catalog: Catalog,
    /// The Slack messages' file.
    pub slack_file: PathBuf,
}

/// What one run saw, in virtual time.
#[derive(Debug, Clone)]
pub struct Run {
    /// With selfheal acting, or the fault left alone.
    pub selfheal: bool,
    /// When the faults went in.
    pub fault_at: DateTime<Utc>,
    /// When the scenario's alert fired.
    pub firing_at: Option<DateTime<Utc>>,
    /// Every alert meant for automation that fired, and what the ingest answered.
    pub alerts: Vec<(Alert, Value)>,
    /// The incidents opened, with how they closed.
    pub incidents: Vec<IncidentSummary>,
    /// When the workload was healthy again, every incident closed.
    pub healthy_at: Option<DateTime<Utc>>,
    /// The approvals the on-call clicked, by incident.
    pub approved: Vec<String>,
    /// When the run ended.
    pub end: DateTime<Utc>,
    /// The audit's record of each closed incident (what S3 keeps).
    pub records: Vec<Value>,
    /// The Slack messages posted, in order.
    pub messages: Vec<Value>,
}

/// PromQL that returns a series while the workload in `selector`'s namespace is not healthy:
/// replicas missing, a container crashlooping, over 1% of a service's requests failing, its p99
/// over 0.5 s, or a queue with messages and no consumer acknowledging them (one query, `or`).
fn unhealthy(selector: &str) -> String {
    let checks = [
        format!(
            "sum by (namespace, deployment) (kube_deployment_spec_replicas{{{selector}}}) > sum by (namespace, deployment) (kube_deployment_status_replicas_available{{{selector}}})"
        ),
        format!(
            "max by (namespace, pod) (kube_pod_container_status_waiting_reason{{{selector}, reason=\"CrashLoopBackOff\"}}) > 0"
        ),
        format!(
            "sum by (namespace, service) (rate(http_requests_total{{{selector}, code=~\"5..\"}}[1m])) / sum by (namespace, service) (rate(http_requests_total{{{selector}}}[1m])) > 0.01"
        ),
        format!(
            "histogram_quantile(0.99, sum by (namespace, service, le) (rate(http_request_duration_seconds_bucket{{{selector}}}[1m]))) > 0.5"
        ),
        format!(
            "(sum by (namespace, queue) (queue_messages_ready{{{selector}}}) > 0) unless (sum by (namespace, queue) (rate(queue_messages_acked_total{{{selector}}}[2m])) > 0)"
        ),
    ];
    checks.map(|q| format!("({q})")).join(" or ")
}

/// Runs `scenario` on `cluster`: with selfheal until healthy with every incident closed, or the
/// fault left alone until healthy; either way no longer than the window.
pub async fn run(
    scenario: &Scenario,
    cluster: &Cluster,
    settings: &Settings,
    selfheal: bool,
) -> Result<Run, DemoError> {
    // A task of its own, as the executions are: on one thread, a task woken by the clock runs
    // before another driver moves the clock again; a caller's `block_on` future is polled less
    // often than that and could sleep through an approval's whole wait.
    let (scenario, cluster, settings) = (scenario.clone(), cluster.clone(), settings.clone());
    tokio::spawn(async move { run_task(&scenario, &cluster, &settings, selfheal).await })
        .await
        .map_err(|e| DemoError::Task(e.to_string()))?
}

async fn run_task(
    scenario: &Scenario,
    cluster: &Cluster,
    settings: &Settings,
    selfheal: bool,
) -> Result<Run, DemoError> {
    let lab = Lab::start(cluster, settings.start).await?;
    let stack = Stack::build(
        lab.clone(),
        StackOptions {
            catalog: settings.catalog.clone(),
            policy: settings.policy.clone(),
            token: TOKEN.into(),
            slack: Slack::File(settings.slack_file.clone()),
            prometheus: Some(settings.prometheus.clone()),
            signing_secret: SIGNING_SECRET.into(),
            approvers: vec![ON_CALL.into()],
        },
    )?;
    let mut prometheus = VirtualPrometheus::new(
        &settings.prometheus,
        &settings.rules,
        [("cluster".to_owned(), cluster.cluster.clone())].into(),
    )?;
    let selector = match &scenario.expect.namespace {
        Some(ns) => format!("namespace=\"{ns}\""),
        None => "namespace!~\"kube-.*|selfheal\"".to_owned(),
    };
    let unhealthy = unhealthy(&selector);
    let clock = lab.clock.clone();
    let fault_at = settings.start + settings.warmup;
    let deadline = fault_at + settings.window;
    let mut report = Run {
        selfheal,
        fault_at,
        firing_at: None,
        alerts: Vec::new(),
        incidents: Vec::new(),
        healthy_at: None,
        approved: Vec::new(),
        end: settings.start,
        records: Vec::new(),
        messages: Vec::new(),
    };
    let mut injected = false;
    let mut healthy_since: Option<DateTime<Utc>> = None;
    let mut evaluated: Option<DateTime<Utc>> = None;
    let stable = chrono::Duration::from_std(settings.stable).unwrap_or_default();
    let evaluation = chrono::Duration::from_std(settings.evaluation).unwrap_or_default();
    clock
        .clone()
        .drive(async {
            loop {
                {
                    let _hold = clock.hold();
                    lab.sync();
                    let now = clock.now();
                    if !injected && now >= fault_at {
                        for fault in &scenario.faults {
                            lab.sim.world().add_fault(fault.clone());
                        }
                        if let Some(release) = &scenario.release {
                            release.apply(&lab.kube).await?;
                        }
                        injected = true;
                    }
                    tracing::debug!(%now, injected, "tick");
                    let metrics = format!("{}/metrics", lab.url);
                    prometheus
                        .scrape("kube-state-metrics", &metrics, now)
                        .await?;
                    // Left alone, nobody acts on alerts: the rules run until the scenario's own
                    // alert fires (that it fires without selfheal is worth knowing), then only
                    // the health query needs Prometheus.
                    let rules = selfheal || report.firing_at.is_none();
                    let changes = if rules && evaluated.is_none_or(|e| now - e >= evaluation) {
                        evaluated = Some(now);
                        prometheus.evaluate(now).await?
                    } else {
                        Vec::new()
                    };
                    for change in changes {
                        let (alert, status) = match change {
                            Change::Fired(a) => (a, "firing"),
                            Change::Resolved(a) => (a, "resolved"),
                        };
                        let (key, auto) = AUTOMATION;
                        if alert.labels.get(key).map(String::as_str) != Some(auto) {
                            continue;
                        }
                        let labels: serde_json::Map<String, Value> = alert
                            .labels
                            .iter()
                            .map(|(k, v)| (k.clone(), json!(v)))
                            .collect();
                        if status == "firing"
                            && report.firing_at.is_none()
                            && scenario.matches_alert(&labels)
                        {
                            report.firing_at = Some(now);
                        }
                        tracing::debug!(%now, status, labels = ?alert.labels, "alert");
                        if selfheal {
                            let answer = post(&stack, &alert, status, now).await;
                            if status == "firing" {
                                report.alerts.push((alert, answer));
                            }
                        }
                    }
                    report.incidents = incidents(&stack);
                    if selfheal {
                        approve_waiting(
                            &stack,
                            settings,
                            &report.incidents,
                            &mut report.approved,
                            now,
                        )
                        .await;
                    }
                    let open = report.incidents.iter().any(|i| i.closing.is_none());
                    // Healthy before the alert fired is the fault not showing yet, not a recovery.
                    if injected && !open && (report.firing_at.is_some() || !selfheal) {
                        let mut healthy = now > fault_at + settings.step * 4;
                        healthy = healthy && prometheus.query(&unhealthy, now).await?.is_empty();
                        healthy_since = if healthy {
                            healthy_since.or(Some(now))
                        } else {
                            None
                        };
                        if let Some(since) = healthy_since
                            && now - since >= stable
                        {
                            report.healthy_at = Some(since);
                        }
                    }
                    report.end = now;
                    if report.healthy_at.is_some() || now >= deadline {
                        return Ok::<(), DemoError>(());
                    }
                }
                clock.sleep(settings.step).await;
            }
        })
        .await?;
    report.records = report
        .incidents
        .iter()
        .filter_map(|i| {
            stack
                .archive
                .get(&selfheal_aws::audit::record_key(&i.id, i.received_at))
        })
        .collect();
    report.messages = std::fs::read_to_string(&settings.slack_file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    Ok(report)
}

/// The alert as Alertmanager's selfheal route posts it: one notification, webhook v4.
async fn post(stack: &Stack, alert: &Alert, status: &str, now: DateTime<Utc>) -> Value {
    let body = json!({
        "version": "4",
        "status": status,
        "receiver": "selfheal",
        "groupKey": format!("{{}}/{{selfheal=\"auto\"}}:{{alertname=\"{}\"}}", alert.labels["alertname"]),
        "alerts": [{
            "status": status,
            "labels": alert.labels,
            "annotations": alert.annotations,
            "startsAt": alert.starts_at.to_rfc3339(),
            "endsAt": alert.ends_at.map_or("0001-01-01T00:00:00Z".to_owned(), |t| t.to_rfc3339()),
            "generatorURL": "http://prometheus.monitoring:9090/graph",
        }],
    });
    let mut headers = http::HeaderMap::new();
    if let Ok(bearer) = http::HeaderValue::from_str(&format!("Bearer {TOKEN}")) {
        headers.insert(http::header::AUTHORIZATION, bearer);
    }
    match stack
        .ingest
        .webhook(&headers, body.to_string().as_bytes(), now)
        .await
    {
        Ok(reports) => serde_json::to_value(&reports).unwrap_or_default(),
        Err(e) => json!({"error": e.to_string()}),
    }
}

/// The on-call clicks Approve on each approval request posted, as Slack delivers a click: the button's token in a signed `block_actions` payload.
async fn approve_waiting(
    stack: &Stack,
    settings: &Settings,
    incidents: &[IncidentSummary],
    approved: &mut Vec<String>,
    now: DateTime<Utc>,
) {
    for incident in incidents {
        let id = incident.id.to_string();
        if incident.closing.is_some() || approved.contains(&id) {
            continue;
        }
        if !matches!(stack.store.approval_token(&incident.id).await, Ok(Some(_))) {
            continue;
        }
        let Some(token) = posted_button(settings, &id) else {
            continue;
        };
        let payload = json!({"type": "block_actions", "user": {"id": ON_CALL},
            "actions": [{"action_id": "approve", "value": token}]});
        let Ok(body) = serde_urlencoded::to_string([("payload", payload.to_string())]) else {
            continue;
        };
        let ts = now.timestamp();
        let mut headers = http::HeaderMap::new();
        let signature = selfheal_approval::slack::sign(SIGNING_SECRET, ts, body.as_bytes());
        if let (Ok(ts), Ok(sig)) = (ts.to_string().parse(), signature.parse()) {
            headers.insert("x-slack-request-timestamp", ts);
            headers.insert("x-slack-signature", sig);
        }
        match stack.approver.decide(&headers, body.as_bytes(), now).await {
            Ok(_) => approved.push(id),
            Err(e) => {
                tracing::warn!(incident = %id, error = %e, "the on-call's click was not taken")
            }
        }
    }
}

/// The Approve button's value in the approval request posted for `incident`.
fn posted_button(settings: &Settings, incident: &str) -> Option<String> {
    let text = std::fs::read_to_string(&settings.slack_file).ok()?;
    text.lines()
        .filter(|l| l.contains(incident) && l.contains("\"action_id\":\"approve\""))
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .flat_map(|m| m["blocks"].as_array().cloned().unwrap_or_default())
        .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
        .find(|e| e["action_id"] == "approve")
        .and_then(|e| e["value"].as_str().map(str::to_owned))
}

fn incidents(stack: &Stack) -> Vec<IncidentSummary> {
    stack
        .store
        .incidents()
        .into_iter()
        .map(|(incident, closing, resolved_at)| {
            IncidentSummary::new(incident, closing, resolved_at)
        })
        .collect()
}
