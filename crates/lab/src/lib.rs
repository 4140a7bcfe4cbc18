//! The local lab: kube-sim serving the sample cluster, the executor running
//! statemachines/remediation.asl.json in virtual time, and the real handlers (remediate,
//! health-check, audit) called in-process under the names the definition uses. Sim time follows
//! the executor's clock, so a `Wait` of 30 s lets the cluster roll out for 30 s, instantly.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use kube::{Client, Config};
use selfheal_analyzer::analyst::{Analyst, Budget};
use selfheal_analyzer::gather::Gatherer;
use selfheal_analyzer::llm::Llm;
use selfheal_analyzer::{Analyzer, Request as AnalyzerRequest};
use selfheal_audit::Auditor;
use selfheal_aws::audit::{Archive, AuditLog};
use selfheal_aws::callback::{CallbackError, TaskCallback};
use selfheal_aws::store::IncidentStore;
use selfheal_core::audit::AuditRequest;
use selfheal_core::metrics::Registry;
use selfheal_core::redact::Options;
use selfheal_core::remediation::{HealthCheckRequest, RemediateRequest};
use selfheal_core::{Catalog, Classified, ErrorClass, Policy};
use selfheal_health_check::HealthChecker;
use selfheal_kube_sim::{Scenario, ScenarioError, Sim};
use selfheal_remediate::Remediator;
use selfheal_slack::Slack;
use selfheal_states::{Clock, Executor, InProcess, InvokeError};
use serde_json::Value;

/// The remediation workflow's template, as Terraform renders it for AWS (infra/modules/orchestration).
pub const TEMPLATE: &str = include_str!("../../../statemachines/remediation.asl.json");

/// The incident table the definition reads the kill switch from (`dynamodb:getItem`).
pub const TABLE: &str = "selfheal-incidents";

/// The template's variables in the lab: the names its in-process functions answer to, and the
/// table. Terraform gives the same variables the stack's function ARNs and table.
pub const LOCAL_NAMES: [(&str, &str); 6] = [
    ("audit_function", "selfheal-audit"),
    ("approval_function", "selfheal-approval"),
    ("remediate_function", "selfheal-remediate"),
    ("health_check_function", "selfheal-health-check"),
    ("analyzer_function", "selfheal-analyzer"),
    ("incidents_table", TABLE),
];

/// The remediation workflow the lab runs: [`TEMPLATE`] with [`LOCAL_NAMES`].
pub fn definition() -> Result<String, selfheal_states::templatefile::TemplateFileError> {
    selfheal_states::templatefile::render(TEMPLATE, &LOCAL_NAMES)
}

pub mod chaos;
mod console;
pub mod demo;
pub mod serve;
pub mod stack;
pub mod virtual_prometheus;

/// The cluster and the clock the executor and the handlers share.
#[derive(Clone)]
pub struct Lab {
    /// The simulated cluster.
    pub sim: Sim,
    /// A client for it.
    pub kube: Client,
    /// Where it serves the Kubernetes API and `/metrics`.
    pub url: String,
    /// The executor's (virtual) clock.
    pub clock: Clock,
    /// selfheal's own metrics (served on the lab's `/metrics`).
    pub metrics: Arc<Registry>,
    /// Sim time the cluster has caught up to.
    synced: Arc<Mutex<DateTime<Utc>>>,
}

impl Lab {
    /// kube-sim with `scenario` at `start`, served on a free loopback port with its own time
    /// stopped; the executor's virtual clock starts at the same instant.
    pub async fn start(scenario: &Scenario, start: DateTime<Utc>) -> Result<Lab, StartError> {
        let sim = Sim::new(scenario, start).map_err(StartError::Scenario)?;
        let url = sim.spawn(0.0).await.map_err(StartError::Serve)?;
        Self::with(sim, url, None)
    }

    /// kube-sim with `scenario` in wall-clock time, served on `listener`, for people and
    /// Alertmanager to use: the executor's clock is the real one.
    pub async fn start_realtime(
        scenario: &Scenario,
        listener: tokio::net::TcpListener,
    ) -> Result<Lab, StartError> {
        let sim = Sim::settled_now(scenario).map_err(StartError::Scenario)?;
        let url = format!(
            "http://{}",
            listener.local_addr().map_err(StartError::Serve)?
        );
        tokio::spawn(sim.clone().serve(listener, 1.0));
        Self::with(sim, url, Some(Clock::real()))
    }

    fn with(sim: Sim, url: String, clock: Option<Clock>) -> Result<Lab, StartError> {
        let mut config = Config::new(url.parse().map_err(|_| StartError::Url(url.clone()))?);
        // The workflow's Retry decides about retries, not the client.
        config.default_retry = false;
        // kube-sim answers in milliseconds; a request it holds longer has failed.
        config.read_timeout = Some(Duration::from_secs(2));
        let kube = Client::try_from(config).map_err(|e| StartError::Client(e.to_string()))?;
        let now = sim.world().now;
        Ok(Lab {
            sim,
            kube,
            url,
            clock: clock.unwrap_or_else(|| Clock::virtual_at(now)),
            metrics: Arc::new(Registry::new()),
            synced: Arc::new(Mutex::new(now)),
        })
    }

    /// Moves sim time up to the executor's virtual clock (in real time the sim keeps its own).
    pub fn sync(&self) {
        if !self.clock.is_virtual() {
            return;
        }
        let now = self.clock.now();
        let mut synced = self.synced.lock().unwrap_or_else(|e| e.into_inner());
        if let Ok(by) = (now - *synced).to_std()
            && by > Duration::ZERO
        {
            self.sim.advance(by);
            *synced = now;
        }
    }

    /// `functions` with the real remediate, health-check and audit handlers added under the
    /// names the definition invokes (remediate trusting `catalog`'s runbooks), and the kill
    /// switch read (`dynamodb:getItem`) answered from the audit's store. Each call holds the
    /// virtual clock and first lets the cluster catch up with it.
    pub fn handlers<S, A>(
        &self,
        functions: InProcess,
        policy: Policy,
        catalog: Catalog,
        prometheus: Option<String>,
        auditor: Arc<Auditor<S, A>>,
    ) -> InProcess
    where
        S: IncidentStore + AuditLog + 'static,
        A: Archive + 'static,
    {
        let catalog = Arc::new(catalog);
        let clock = self.clock.clone();
        let remediator = Arc::new(
            Remediator::new(self.kube.clone(), policy, catalog.clone())
                .with_drain_retry(Duration::from_millis(50))
                .with_clock(Arc::new(move || clock.now()))
                .with_metrics(self.metrics.clone()),
        );
        let now = self.clock.clone();
        let checker = Arc::new(
            HealthChecker::new(self.kube.clone(), prometheus, catalog)
                .with_clock(Arc::new(move || now.now())),
        );
        let (lab1, lab2, lab3) = (self.clone(), self.clone(), self.clone());
        let switch = auditor.clone();
        functions
            .with_service("dynamodb:getItem", move |parameters| {
                let auditor = switch.clone();
                async move {
                    let on = auditor
                        .store()
                        .kill_switch()
                        .await
                        .map_err(|e| failed("DynamoDB.InternalServerErrorException", e))?;
                    selfheal_aws::kill_switch::answer(&parameters, TABLE, on)
                        .map_err(|e| failed(e.error, e.message))
                }
            })
            .with("selfheal-remediate", move |payload| {
                let (lab, remediator) = (lab1.clone(), remediator.clone());
                async move {
                    let _hold = lab.clock.hold();
                    lab.sync();
                    let request: RemediateRequest = parse(payload)?;
                    let result = remediator
                        .run(&request)
                        .await
                        .map_err(|e| failed(e.class().as_str(), e))?;
                    to_value(&result)
                }
            })
            .with("selfheal-health-check", move |payload| {
                let (lab, checker) = (lab2.clone(), checker.clone());
                async move {
                    let _hold = lab.clock.hold();
                    lab.sync();
                    let request: HealthCheckRequest = parse(payload)?;
                    to_value(&checker.check(&request).await)
                }
            })
            .with("selfheal-audit", move |payload| {
                let (lab, auditor) = (lab3.clone(), auditor.clone());
                async move {
                    let _hold = lab.clock.hold();
                    let request: AuditRequest = parse(payload)?;
                    let response = auditor
                        .handle(&request)
                        .await
                        .map_err(|e| failed(e.class().as_str(), e))?;
                    to_value(&response)
                }
            })
    }
}

impl Lab {
    /// `functions` with the real analyzer under the name the definition invokes: evidence from
    /// kube-sim, the rules and `llm` when given (none leaves the machine in the lab), messages
    /// to `slack`.
    pub fn analyzer(
        &self,
        functions: InProcess,
        slack: Option<Slack>,
        llm: Option<Llm>,
    ) -> InProcess {
        let analyzer = Arc::new(Analyzer::<Llm>::new(
            Analyst::new(llm, Budget::default()),
            slack,
            Options::default(),
        ));
        let gatherer = Arc::new(Gatherer::new(self.kube.clone(), None, None));
        let lab = self.clone();
        functions.with("selfheal-analyzer", move |payload| {
            let (lab, analyzer, gatherer) = (lab.clone(), analyzer.clone(), gatherer.clone());
            async move {
                let _hold = lab.clock.hold();
                lab.sync();
                let request: AnalyzerRequest = parse(payload)?;
                analyzer
                    .handle(request, Some(&gatherer), lab.clock.now())
                    .await
                    .map_err(|e| failed(ErrorClass::NonRetryable.as_str(), e))
            }
        })
    }
}

/// Why the lab did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The scenario cannot be built.
    #[error("scenario: {0}")]
    Scenario(ScenarioError),
    /// kube-sim could not listen.
    #[error("serving kube-sim: {0}")]
    Serve(std::io::Error),
    /// kube-sim's URL did not parse.
    #[error("kube-sim URL {0:?}")]
    Url(String),
    /// The kube client could not be built.
    #[error("kube client: {0}")]
    Client(String),
    /// The state machine definition does not parse.
    #[error("statemachines/remediation.asl.json: {0}")]
    Definition(String),
}

/// Task tokens completed by the local executor: what SendTaskSuccess and SendTaskFailure are in
/// AWS, for the approval handler in the lab.
pub struct LocalCallback(pub Arc<Executor>);

impl TaskCallback for LocalCallback {
    async fn succeed(&self, token: &str, output: &Value) -> Result<(), CallbackError> {
        self.0
            .send_task_success(token, output.clone())
            .map_err(CallbackError::gone)
    }

    async fn fail(&self, token: &str, error: &str, cause: &str) -> Result<(), CallbackError> {
        self.0
            .send_task_failure(token, error, cause)
            .map_err(CallbackError::gone)
    }
}

/// The function's error, as Lambda reports it.
pub(crate) fn failed(error_type: &str, e: impl std::fmt::Display) -> InvokeError {
    InvokeError::Function {
        error_type: error_type.into(),
        error_message: e.to_string(),
    }
}

/// A payload the handler cannot read is the function's error, as Lambda reports it.
fn parse<T: serde::de::DeserializeOwned>(payload: Value) -> Result<T, InvokeError> {
    serde_json::from_value(payload).map_err(|e| {
        failed(
            ErrorClass::NonRetryable.as_str(),
            format!("invalid input: {e}"),
        )
    })
}

fn to_value<T: serde::Serialize>(v: &T) -> Result<Value, InvokeError> {
    serde_json::to_value(v).map_err(|e| failed(ErrorClass::NonRetryable.as_str(), e))
}
