//! The remediate function: runs one step of an incident's runbook against the cluster. It trusts
//! no runbook it is handed: the runbook is the compiled-in catalog's of the same id, and an input
//! whose copy differs is refused. It checks the guardrails again with that runbook and what the
//! cluster says now (defence in depth), validates every name,
//! resolves a pod to the workload that owns it, acts (or dry-runs with `dryRun=All`), and returns
//! what changed. Errors are classed Retryable or NonRetryable for the state machine.

pub mod actions;
pub mod error;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Node;
use kube::Client;
use kube::api::{Api, ListParams};
use selfheal_core::guardrail::NodeCounts;
use selfheal_core::remediation::{RemediateRequest, StepResult, StepResultSchema};
use selfheal_core::{Catalog, Decision, GuardrailState, Mode, Policy, Step, TargetKind, decide};

pub use error::RemediateError;

/// Runs steps; holds the kube client, the guardrail policy and the runbooks it trusts.
pub struct Remediator {
    client: Client,
    policy: Policy,
    catalog: Arc<Catalog>,
    drain_retry: Duration,
}

impl Remediator {
    /// A remediator for the cluster behind `client` that trusts `catalog`'s runbooks (the
    /// compiled-in catalog in the Lambda, read once per container and shared by every event).
    pub fn new(client: Client, policy: Policy, catalog: Arc<Catalog>) -> Self {
        Remediator {
            client,
            policy,
            catalog,
            drain_retry: Duration::from_secs(5),
        }
    }

    /// How long a drain waits after a PodDisruptionBudget's 429 (5 s, as kubectl drain).
    pub fn with_drain_retry(mut self, every: Duration) -> Self {
        self.drain_retry = every;
        self
    }

    /// Runs `request.step` of the incident's runbook.
    pub async fn run(&self, request: &RemediateRequest) -> Result<StepResult, RemediateError> {
        let started = Instant::now();
        let incident = &request.incident;
        // Whoever can start an execution or invoke this function could hand it a runbook that
        // allows kube-system or skips approval: only the catalog's own copy counts.
        let runbook = self.catalog.get(&incident.runbook.id).ok_or_else(|| {
            RemediateError::Refused(format!(
                "runbook {:?} is not in the catalog this function was built with",
                incident.runbook.id
            ))
        })?;
        if *runbook != incident.runbook {
            return Err(RemediateError::Refused(format!(
                "the incident's copy of runbook {} differs from the catalog's",
                runbook.id
            )));
        }
        let step = runbook.steps.get(request.step).ok_or_else(|| {
            RemediateError::Internal(format!(
                "runbook {} has no step {}",
                runbook.id, request.step
            ))
        })?;
        // Names were validated at ingest; check again: they go into API paths.
        let target =
            selfheal_core::Target::from_labels(&incident.alert.labels, &incident.target.cluster)
                .map_err(|e| RemediateError::Refused(e.to_string()))?;
        if target != incident.target {
            return Err(RemediateError::Refused(
                "the incident's target does not match its alert's labels".into(),
            ));
        }
        let verdict = decide(
            &target,
            runbook,
            &self.policy,
            &self.live_state(&target, step).await?,
            Utc::now(),
        );
        let dry_run = match verdict.decision {
            Decision::Refuse => {
                let why: Vec<String> = verdict.reasons.iter().map(ToString::to_string).collect();
                return Err(RemediateError::Refused(why.join("; ")));
            }
            Decision::DryRun => true,
            // Approval was asked for and given upstream when the ingest decided so.
            Decision::NeedsApproval if incident.decision != Decision::NeedsApproval => {
                return Err(RemediateError::Refused(
                    "this step needs approval the incident never asked for".into(),
                ));
            }
            Decision::NeedsApproval | Decision::Run => incident.mode == Mode::DryRun,
        };
        let ns = target.namespace.clone().unwrap_or_default();
        let workload = || async {
            match target.kind {
                TargetKind::Pod => {
                    actions::owning_deployment(&self.client, &ns, &target.name).await
                }
                _ => Ok(target.name.clone()),
            }
        };
        let c = &self.client;
        let (object, (change, summary)) = match step {
            Step::RestartPods {} => {
                let d = workload().await?;
                (
                    format!("deployment/{ns}/{d}"),
                    actions::restart(c, &ns, &d, dry_run).await?,
                )
            }
            Step::Scale { by, bounds } => {
                let d = workload().await?;
                (
                    format!("deployment/{ns}/{d}"),
                    actions::scale(c, &ns, &d, *by, bounds, dry_run).await?,
                )
            }
            Step::Rollback { to_revision } => {
                let d = workload().await?;
                (
                    format!("deployment/{ns}/{d}"),
                    actions::rollback(c, &ns, &d, *to_revision, dry_run).await?,
                )
            }
            Step::DeletePod {} => (
                format!("pod/{ns}/{}", target.name),
                actions::delete_pod(c, &ns, &target.name, dry_run).await?,
            ),
            Step::Cordon {} => (
                format!("node/{}", target.name),
                actions::set_unschedulable(c, &target.name, true, dry_run).await?,
            ),
            Step::Uncordon {} => (
                format!("node/{}", target.name),
                actions::set_unschedulable(c, &target.name, false, dry_run).await?,
            ),
            Step::Drain { timeout } => {
                let timing = actions::DrainTiming {
                    timeout: timeout.as_duration(),
                    retry_every: self.drain_retry,
                };
                (
                    format!("node/{}", target.name),
                    actions::drain(c, &target.name, timing, dry_run).await?,
                )
            }
            Step::Wait { .. } | Step::HealthCheck { .. } => {
                return Err(RemediateError::Internal(format!(
                    "{} is not a remediation step",
                    step.action()
                )));
            }
        };
        let changed = change != selfheal_core::remediation::Change::default();
        let summary = if dry_run {
            format!("dry run: would have {summary}")
        } else {
            summary
        };
        Ok(StepResult {
            schema: StepResultSchema,
            step: request.step,
            action: step.action().to_owned(),
            object,
            dry_run,
            changed,
            change,
            summary,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        })
    }

    /// What the cluster says now, for the guardrails: replicas of the workload, node counts.
    async fn live_state(
        &self,
        target: &selfheal_core::Target,
        step: &Step,
    ) -> Result<GuardrailState, RemediateError> {
        let mut state = GuardrailState::default();
        if matches!(step, Step::Scale { .. }) && target.kind == TargetKind::Deployment {
            let ns = target.namespace.as_deref().unwrap_or_default();
            let d = Api::<Deployment>::namespaced(self.client.clone(), ns)
                .get(&target.name)
                .await?;
            state.replicas = d
                .spec
                .and_then(|s| s.replicas)
                .and_then(|r| u32::try_from(r).ok());
        }
        if step.unschedules_node() {
            let nodes = Api::<Node>::all(self.client.clone())
                .list(&ListParams::default())
                .await?;
            let others = nodes
                .items
                .iter()
                .filter(|n| n.metadata.name.as_deref() != Some(target.name.as_str()));
            let count = |f: &dyn Fn(&Node) -> bool| {
                u32::try_from(others.clone().filter(|n| f(n)).count()).unwrap_or(u32::MAX)
            };
            state.nodes = Some(NodeCounts {
                total: u32::try_from(nodes.items.len()).unwrap_or(u32::MAX),
                unschedulable: count(&|n| {
                    n.spec.as_ref().and_then(|s| s.unschedulable) == Some(true)
                }),
                draining: count(&|n| {
                    n.metadata
                        .annotations
                        .as_ref()
                        .is_some_and(|a| a.contains_key(actions::DRAINING))
                }),
            });
        }
        Ok(state)
    }
}
