//! selfheal's platform on a [`Lab`], in memory: the incident store and archive, the audit, the
//! approval handler, the executor running the definition with the real handlers, and the ingest
//! that starts executions on it. `selfheal lab` serves it in wall-clock time; the demo drives it
//! in virtual time.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

use selfheal_approval::{ApprovalTask, Approver};
use selfheal_audit::Auditor;
use selfheal_aws::memory::{MemoryArchive, MemoryStore, StaticSecret};
use selfheal_aws::starter::{ExecutionStarter, StartError, Started};
use selfheal_core::{Catalog, ErrorClass, Incident, IncidentId, Policy, WorkflowError};
use selfheal_ingest::Ingest;
use selfheal_slack::Slack;
use selfheal_states::{Definition, Execution, Executor, InProcess};
use serde_json::Value;
use tracing::info;

use crate::{Lab, LocalCallback, StartError as LabStartError, definition};

/// Executions that ended, by incident: their history is what GetExecutionHistory returns.
pub type Ended = Arc<Mutex<HashMap<IncidentId, Execution>>>;

/// The approval handler as the lab runs it.
pub type LabApprover = Approver<LocalCallback, Arc<MemoryStore>>;

/// The ingest as the lab runs it.
pub type LabIngest = Ingest<Arc<MemoryStore>, LabStarter, StaticSecret>;

/// Starts executions on the lab's executor, each in its own task, and keeps each when it ends.
pub struct LabStarter {
    executor: Arc<Executor>,
    definition: Arc<Definition>,
    started: Mutex<HashSet<IncidentId>>,
    ended: Ended,
}

impl ExecutionStarter for LabStarter {
    async fn start(&self, incident: &Incident) -> Result<Started, StartError> {
        let arn = format!(
            "arn:aws:states:us-east-1:123456789012:execution:selfheal-remediation:{}",
            incident.id
        );
        if !self
            .started
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(incident.id.clone())
        {
            return Ok(Started::AlreadyExists { arn });
        }
        let input = serde_json::to_value(incident).map_err(StartError::new)?;
        let (executor, definition, id, ended) = (
            self.executor.clone(),
            self.definition.clone(),
            incident.id.clone(),
            self.ended.clone(),
        );
        tokio::spawn(async move {
            let e = executor
                .execute(&definition, "selfheal-remediation", id.as_str(), input)
                .await;
            info!(incident_id = %id, status = ?e.status, error = ?e.error.as_ref().map(|e| &e.error), "execution ended");
            ended
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(id, e);
        });
        Ok(Started::New { arn })
    }
}

/// What the platform is built with.
pub struct StackOptions {
    /// The runbooks.
    pub catalog: Catalog,
    /// The guardrails.
    pub policy: Policy,
    /// The bearer token Alertmanager presents.
    pub token: String,
    /// Where Slack messages go.
    pub slack: Slack,
    /// Prometheus, for the health check's SLI queries (unknown without it).
    pub prometheus: Option<String>,
    /// Slack's signing secret for clicks (empty: no signed click is accepted).
    pub signing_secret: String,
    /// The Slack user ids whose clicks decide.
    pub approvers: Vec<String>,
}

/// The platform, built.
pub struct Stack {
    /// The incident store (also the guardrail state, the replay guard and the audit log).
    pub store: Arc<MemoryStore>,
    /// The audit's archive (S3's `incidents/` records).
    pub archive: Arc<MemoryArchive>,
    /// Executions that ended.
    pub ended: Ended,
    /// The executor.
    pub executor: Arc<Executor>,
    /// The approval handler.
    pub approver: Arc<LabApprover>,
    /// The ingest.
    pub ingest: Arc<LabIngest>,
    /// The rendered definition, as JSON (the console draws it).
    pub definition: Arc<Value>,
}

impl Stack {
    /// The platform on `lab`.
    pub fn build(lab: Lab, options: StackOptions) -> Result<Stack, LabStartError> {
        let store = Arc::new(MemoryStore::new());
        let archive = Arc::new(MemoryArchive::default());
        let ended = Ended::default();
        let auditor = Arc::new(
            Auditor::new(store.clone(), archive.clone(), options.policy.clone())
                .with_metrics(lab.metrics.clone()),
        );
        // The approval handler completes the executor's tokens; the executor invokes the handler.
        let approver: Arc<OnceLock<Arc<LabApprover>>> = Arc::default();
        let cell = approver.clone();
        let functions = InProcess::new().with("selfheal-approval", move |payload: Value| {
            let approver = cell.get().cloned();
            async move {
                let approver = approver.ok_or_else(|| {
                    crate::failed(
                        WorkflowError::ApprovalNotRequested.as_str(),
                        "the lab is still starting",
                    )
                })?;
                let task: ApprovalTask = serde_json::from_value(payload)
                    .map_err(|e| crate::failed(ErrorClass::NonRetryable.as_str(), e))?;
                approver
                    .request(&task)
                    .await
                    .map_err(|e| crate::failed(WorkflowError::ApprovalNotRequested.as_str(), e))
            }
        });
        let executor = Arc::new(Executor::new(
            Arc::new(lab.handlers(
                lab.analyzer(functions, Some(options.slack.clone()), None),
                options.policy.clone(),
                options.catalog.clone(),
                options.prometheus.clone(),
                auditor,
            )),
            lab.clock.clone(),
        ));
        let built = Arc::new(
            Approver::new(
                LocalCallback(executor.clone()),
                store.clone(),
                options.slack,
                options.signing_secret,
                options.approvers,
            )
            .with_metrics(lab.metrics.clone()),
        );
        let _ = approver.set(built.clone());
        let text = definition().map_err(|e| LabStartError::Definition(e.to_string()))?;
        let json: Value =
            serde_json::from_str(&text).map_err(|e| LabStartError::Definition(e.to_string()))?;
        let parsed = Arc::new(
            Definition::parse(&text).map_err(|e| LabStartError::Definition(e.to_string()))?,
        );
        let ingest = Ingest::new(
            store.clone(),
            LabStarter {
                executor: executor.clone(),
                definition: parsed,
                started: Mutex::default(),
                ended: ended.clone(),
            },
            StaticSecret(options.token),
            options.catalog,
            options.policy,
        )
        .with_metrics(lab.metrics.clone());
        Ok(Stack {
            store,
            archive,
            ended,
            executor,
            approver: built,
            ingest: Arc::new(ingest),
            definition: Arc::new(json),
        })
    }
}
