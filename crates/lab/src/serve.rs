//! `selfheal lab`: the whole flow on 127.0.0.1 in wall-clock time. Alertmanager posts to
//! `POST /alerts` (the ingest behind the local API Gateway); each incident it starts runs the
//! real definition on the executor against kube-sim with the real handlers; approval requests go
//! to a Slack file; `POST /approvals/{incident}` decides (what `selfheal approve` calls); `GET
//! /incidents/{incident}` shows the audit, and `GET /incidents/{incident}/report` what a report
//! is made of (the audit's record, the execution history, the Slack messages; `selfheal
//! report`). Everything is kept in memory.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use selfheal_approval::slack::Click;
use selfheal_aws::audit::{AuditLog, Closing, record_key};
use selfheal_aws::memory::{MemoryArchive, MemoryStore};
use selfheal_aws::store::IncidentStore;
use selfheal_core::metrics::Registry;
use selfheal_core::{Catalog, IncidentId, Mode, Policy, Target};
use selfheal_ingest::gateway;
use selfheal_kube_sim::Scenario;
use selfheal_slack::Slack;
use selfheal_states::Executor;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tracing::{error, info};

use crate::stack::{Ended, Stack, StackOptions};
use crate::{Lab, LocalCallback, StartError as LabStartError};

/// What the lab serves with.
pub struct Options {
    /// The cluster.
    pub scenario: Scenario,
    /// The runbooks.
    pub catalog: Catalog,
    /// The guardrails.
    pub policy: Policy,
    /// The bearer token Alertmanager presents.
    pub token: String,
    /// Where Slack messages go.
    pub slack_file: PathBuf,
    /// Prometheus, for the health check's SLI queries (unknown without it).
    pub prometheus: Option<String>,
}

/// One incident as `GET /incidents` lists it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IncidentSummary {
    /// The incident (and execution) id.
    pub id: IncidentId,
    /// The alert that opened it.
    pub alertname: String,
    /// The runbook it runs.
    pub runbook: String,
    /// What it acts on.
    pub target: Target,
    /// enforce or dry-run.
    pub mode: Mode,
    /// When the alert reached the ingest.
    pub received_at: DateTime<Utc>,
    /// How the workflow closed it; none while it runs.
    pub closing: Option<Closing>,
    /// When its alert resolved.
    pub resolved_at: Option<DateTime<Utc>>,
}

impl IncidentSummary {
    /// The summary of `incident` as the store keeps it.
    pub fn new(
        incident: selfheal_core::Incident,
        closing: Option<Closing>,
        resolved_at: Option<DateTime<Utc>>,
    ) -> Self {
        IncidentSummary {
            id: incident.id,
            alertname: incident.alert.name().to_owned(),
            runbook: incident.runbook.id,
            target: incident.target,
            mode: incident.mode,
            received_at: incident.received_at,
            closing,
            resolved_at,
        }
    }
}

#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) store: Arc<MemoryStore>,
    archive: Arc<MemoryArchive>,
    pub(crate) ended: Ended,
    slack_file: PathBuf,
    pub(crate) executor: Arc<Executor>,
    /// The rendered definition, for the console's graph.
    pub(crate) definition: Arc<Value>,
    metrics: Arc<Registry>,
}

impl AppState {
    /// An execution as far as it went: the finished one's status and history, or the running
    /// one's history so far (the close is recorded a step before the execution ends).
    pub(crate) fn execution(&self, id: &IncidentId) -> Option<Execution> {
        let ended = self
            .ended
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .map(|e| Execution {
                status: Some(e.status),
                history: e.history.clone(),
            });
        ended.or_else(|| {
            self.executor.history(id.as_str()).map(|history| Execution {
                status: None,
                history,
            })
        })
    }
}

/// One execution of the definition, as the console shows it.
pub(crate) struct Execution {
    /// How it ended; `None` while it runs.
    pub(crate) status: Option<selfheal_states::Status>,
    pub(crate) history: Vec<selfheal_states::HistoryEvent>,
}

#[derive(Deserialize)]
struct Decision {
    #[serde(default)]
    reject: bool,
    #[serde(default)]
    by: Option<String>,
}

/// Builds the lab and serves it on `listener` (kube-sim on `sim_listener`) until `stop`
/// resolves; then stops every process kube-sim started.
pub async fn serve(
    options: Options,
    listener: tokio::net::TcpListener,
    sim_listener: tokio::net::TcpListener,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), LabStartError> {
    let lab = Lab::start_realtime(&options.scenario, sim_listener).await?;
    let slack_file = options.slack_file.clone();
    let stack = Stack::build(
        lab.clone(),
        StackOptions {
            catalog: options.catalog,
            policy: options.policy,
            token: options.token,
            slack: Slack::File(options.slack_file),
            prometheus: options.prometheus,
            // Clicks arrive through `POST /approvals` and the console, not a signed Slack request.
            signing_secret: String::new(),
            approvers: Vec::new(),
        },
    )?;
    let registry = lab.metrics.clone();
    let app = gateway::router(stack.ingest.clone())
        .merge(
            axum::Router::new()
                .route("/approvals/{incident}", post(approve))
                .route("/incidents", get(incidents))
                .route("/incidents/{incident}", get(incident))
                .route("/incidents/{incident}/report", get(report))
                .route("/incidents/{incident}/report.html", get(report_page))
                .route("/", get(crate::console::executions))
                .route("/executions/{incident}", get(crate::console::execution))
                .route(
                    "/executions/{incident}/decision",
                    post(crate::console::decide),
                )
                .route("/kill-switch", get(kill_switch).put(set_kill_switch))
                .with_state(AppState {
                    store: stack.store,
                    archive: stack.archive,
                    ended: stack.ended,
                    slack_file,
                    executor: stack.executor,
                    definition: stack.definition,
                    metrics: lab.metrics.clone(),
                }),
        )
        // selfheal's own metrics, for Prometheus to scrape as CloudWatch reads the EMF lines.
        .route(
            "/metrics",
            get(move || {
                let registry = registry.clone();
                async move {
                    (
                        [(
                            axum::http::header::CONTENT_TYPE,
                            "text/plain; version=0.0.4",
                        )],
                        registry.render(),
                    )
                }
            }),
        );
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(stop)
        .await
        .map_err(LabStartError::Serve);
    lab.sim.shutdown();
    served
}

async fn approve(
    State(state): State<AppState>,
    Path(incident): Path<String>,
    Query(decision): Query<Decision>,
) -> (StatusCode, Json<Value>) {
    let user = format!("cli:{}", decision.by.unwrap_or_else(|| "operator".into()));
    match complete_approval(&state, &incident, !decision.reject, &user).await {
        Ok(id) => (
            StatusCode::OK,
            Json(json!({"incident": id, "approved": !decision.reject, "decided_by": user})),
        ),
        Err((status, message)) => (status, Json(json!({"error": message}))),
    }
}

/// Completes `incident`'s waiting approval as `user` decided, as a Slack click does (the
/// approval's `complete`): what `selfheal approve` and the console's buttons call.
pub(crate) async fn complete_approval(
    state: &AppState,
    incident: &str,
    approve: bool,
    user: &str,
) -> Result<IncidentId, (StatusCode, String)> {
    let id = IncidentId::try_from(incident.to_owned())
        .map_err(|_| (StatusCode::BAD_REQUEST, "not an incident id".to_owned()))?;
    let Ok(Some(token)) = state.store.approval_token(&id).await else {
        return Err((
            StatusCode::NOT_FOUND,
            format!("{id} is not waiting for approval"),
        ));
    };
    let click = Click {
        user: user.to_owned(),
        approve,
        token,
    };
    let callback = LocalCallback(state.executor.clone());
    selfheal_approval::complete(&callback, &click, Utc::now(), state.metrics.as_ref())
        .await
        .map_err(|e| {
            error!(error = %e, "approval not delivered");
            (StatusCode::CONFLICT, e.to_string())
        })?;
    Ok(id)
}

/// Every incident the lab opened, oldest first.
async fn incidents(State(state): State<AppState>) -> Json<Vec<IncidentSummary>> {
    Json(
        state
            .store
            .incidents()
            .into_iter()
            .map(|(incident, closing, resolved_at)| {
                IncidentSummary::new(incident, closing, resolved_at)
            })
            .collect(),
    )
}

async fn kill_switch(State(state): State<AppState>) -> Json<Value> {
    let on = state
        .store
        .kill_switch()
        .await
        .ok()
        .flatten()
        .unwrap_or(false);
    Json(json!({"on": on}))
}

#[derive(Deserialize)]
struct Switch {
    on: bool,
}

/// Turns the kill switch on or off, as an operator would set the DynamoDB item.
async fn set_kill_switch(State(state): State<AppState>, Json(switch): Json<Switch>) -> Json<Value> {
    state.store.set_kill_switch(switch.on);
    info!(on = switch.on, "kill switch set");
    Json(json!({"on": switch.on}))
}

async fn incident(
    State(state): State<AppState>,
    Path(incident): Path<String>,
) -> (StatusCode, Json<Value>) {
    let Ok(id) = IncidentId::try_from(incident) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "not an incident id"})),
        );
    };
    let timeline = state.store.timeline(&id).await.unwrap_or_default();
    let closing = state.store.closing(&id).await.ok().flatten();
    (
        StatusCode::OK,
        Json(json!({"incident": id, "closing": closing, "timeline": timeline})),
    )
}

/// What a report is made of: the audit's record (as S3 keeps it), the execution's history (as
/// GetExecutionHistory returns it) and the Slack messages about the incident. 404 until the
/// incident is closed.
async fn report(
    State(state): State<AppState>,
    Path(incident): Path<String>,
) -> (StatusCode, Json<Value>) {
    let (status, material) = report_material(&state, incident).await;
    (status, Json(material))
}

/// `GET /incidents/{id}/report.html`: the incident's report page.
async fn report_page(
    State(state): State<AppState>,
    Path(incident): Path<String>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let (status, material) = report_material(&state, incident).await;
    if status != StatusCode::OK {
        return (status, Json(material)).into_response();
    }
    let parsed = serde_json::from_value::<selfheal_report::Record>(material["record"].clone())
        .and_then(|record| {
            let history: Vec<selfheal_states::HistoryEvent> =
                serde_json::from_value(material["history"]["events"].clone())?;
            let messages: Vec<Value> =
                serde_json::from_value(material["messages"].clone()).unwrap_or_default();
            Ok(selfheal_report::html(&selfheal_report::Report {
                record: &record,
                history: &history,
                messages: &messages,
                related: &[],
            }))
        });
    match parsed {
        Ok(page) => axum::response::Html(page).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// The report's material as `GET /incidents/{id}/report` answers it.
async fn report_material(state: &AppState, incident: String) -> (StatusCode, Value) {
    let Ok(id) = IncidentId::try_from(incident) else {
        return (
            StatusCode::BAD_REQUEST,
            json!({"error": "not an incident id"}),
        );
    };
    let received = state
        .store
        .incidents()
        .into_iter()
        .find(|(i, _, _)| i.id == id)
        .map(|(i, _, _)| i.received_at);
    let Some(record) = received.and_then(|at| state.archive.get(&record_key(&id, at))) else {
        return (
            StatusCode::NOT_FOUND,
            json!({"error": format!("{id} has no record yet: it is not closed")}),
        );
    };
    let events = state.execution(&id).map(|e| e.history).unwrap_or_default();
    // The lab's Slack is a file of JSON lines; the incident's messages name its id.
    let messages: Vec<Value> = std::fs::read_to_string(&state.slack_file)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(id.as_str()))
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    (
        StatusCode::OK,
        json!({"record": record, "history": {"events": events}, "messages": messages}),
    )
}
