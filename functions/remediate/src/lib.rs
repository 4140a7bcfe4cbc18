//! The remediate function: runs one step of an incident's runbook against the cluster. It trusts
//! no runbook it is handed: the runbook is the compiled-in catalog's of the same id, and an input
//! whose copy differs is refused. It checks the guardrails again with that runbook, what the
//! cluster says now and the kill switch the state machine read (defence in depth), validates
//! every name, resolves a pod to the workload that owns it, checks before the runbook's first
//! action that the cluster shows the symptom (else the step is skipped), acts (or dry-runs with
//! `dryRun=All`), and returns what changed. Errors are classed Retryable or NonRetryable for the state machine.

pub mod actions;
pub mod error;
pub mod symptom;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Node;
use kube::Client;
use kube::api::{Api, ListParams};
use selfheal_core::guardrail::NodeCounts;
use selfheal_core::metrics::{Discard, Event, Sink};
use selfheal_core::remediation::{Change, RemediateRequest, StepResult, StepResultSchema};
use selfheal_core::{Catalog, Decision, GuardrailState, Mode, Policy, Step, TargetKind, decide};

pub use error::RemediateError;
use symptom::{Symptom, Verifier};

/// Runs steps; holds the kube client, the guardrail policy and the runbooks it trusts.
pub struct Remediator {
    client: Client,
    policy: Policy,
    catalog: Arc<Catalog>,
    drain_retry: Duration,
    clock: Clock,
    metrics: Arc<dyn Sink>,
}

pub use selfheal_core::Clock;

impl Remediator {
    /// A remediator for the cluster behind `client` that trusts `catalog`'s runbooks (the
    /// compiled-in catalog in the Lambda, read once per container and shared by every event).
    pub fn new(client: Client, policy: Policy, catalog: Arc<Catalog>) -> Self {
        Remediator {
            client,
            policy,
            catalog,
            drain_retry: Duration::from_secs(5),
            clock: Arc::new(Utc::now),
            metrics: Arc::new(Discard),
        }
    }

    /// Counts each step (action and result) in `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<dyn Sink>) -> Self {
        self.metrics = metrics;
        self
    }

    /// Reads the time from `clock` (the cluster's clock, where it is not the wall clock).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// How long a drain waits after a PodDisruptionBudget's 429 (5 s, as kubectl drain).
    pub fn with_drain_retry(mut self, every: Duration) -> Self {
        self.drain_retry = every;
        self
    }

    /// Runs `request.step` of the incident's runbook, and counts how it went.
    pub async fn run(&self, request: &RemediateRequest) -> Result<StepResult, RemediateError> {
        let outcome = self.step(request).await;
        let action = request
            .incident
            .runbook
            .steps
            .get(request.step)
            .map_or("unknown", Step::action);
        let result = match &outcome {
            Ok(r) if r.skipped => "skipped",
            Ok(r) if r.dry_run => "dry-run",
            Ok(r) if r.changed => "changed",
            Ok(_) => "unchanged",
            Err(RemediateError::Refused(_)) => "refused",
            Err(_) => "failed",
        };
        self.metrics.record(&Event::Action { action, result });
        outcome
    }

    async fn step(&self, request: &RemediateRequest) -> Result<StepResult, RemediateError> {
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
        let mut state = self.live_state(&target, step).await?;
        state.kill_switch = request.kill_switch;
        let verdict = decide(&target, runbook, &self.policy, &state, (self.clock)());
        let dry_run = match verdict.decision {
            Decision::Refuse => {
                let why: Vec<String> = verdict.reasons.iter().map(ToString::to_string).collect();
                return Err(RemediateError::Refused(why.join("; ")));
            }
            Decision::DryRun => true,
            // A dry run changes nothing, so it needs no approval: an incident the ingest made a
            // dry run (the kill switch was on then) stays one, whatever is decided now.
            Decision::NeedsApproval | Decision::Run if incident.mode == Mode::DryRun => true,
            // Approval was asked for and given upstream when the ingest decided so.
            Decision::NeedsApproval if incident.decision != Decision::NeedsApproval => {
                return Err(RemediateError::Refused(
                    "this step needs approval the incident never asked for".into(),
                ));
            }
            Decision::NeedsApproval | Decision::Run => false,
        };
        let ns = target.namespace.clone().unwrap_or_default();
        // Workload steps act on the deployment that owns a pod target.
        let name = match (step, target.kind) {
            (
                Step::RestartPods {} | Step::Scale { .. } | Step::Rollback { .. },
                TargetKind::Pod,
            ) => {
                let owner =
                    selfheal_eks::owning_deployment(&self.client, &ns, &target.name).await?;
                guarded_owner(&target, &owner)?;
                owner
            }
            _ => target.name.clone(),
        };
        let object = match step {
            Step::DeletePod {} => format!("pod/{ns}/{name}"),
            Step::Cordon {} | Step::Uncordon {} | Step::Drain { .. } => format!("node/{name}"),
            _ => format!("deployment/{ns}/{name}"),
        };
        // The runbook's first action (again on every attempt) acts only on a symptom the
        // cluster shows; later steps continue what it started.
        let first_act = runbook.steps.iter().position(Step::changes_cluster);
        let symptom = if first_act == Some(request.step) {
            let verifier = Verifier {
                client: &self.client,
                alert_started: incident.alert.starts_at,
                now: (self.clock)(),
            };
            Some(verifier.check(step, &ns, &name).await?)
        } else {
            None
        };
        let result = |changed, change, summary, skipped, symptom| StepResult {
            schema: StepResultSchema,
            step: request.step,
            action: step.action().to_owned(),
            object: object.clone(),
            dry_run,
            changed,
            change,
            summary,
            skipped,
            symptom,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        };
        let symptom = match symptom {
            Some(Symptom::Absent(why)) => {
                let summary = format!("skipped: symptom not present: {why}");
                return Ok(result(false, Change::default(), summary, true, Some(why)));
            }
            Some(Symptom::Present(seen) | Symptom::Unverifiable(seen)) => Some(seen),
            None => None,
        };
        let c = &self.client;
        let (change, summary) = match step {
            Step::RestartPods {} => actions::restart(c, &ns, &name, dry_run).await?,
            Step::Scale { by, bounds } => {
                actions::scale(c, &ns, &name, *by, bounds, dry_run).await?
            }
            Step::Rollback { to_revision } => {
                actions::rollback(c, &ns, &name, *to_revision, dry_run).await?
            }
            Step::DeletePod {} => actions::delete_pod(c, &ns, &name, dry_run).await?,
            Step::Cordon {} => actions::set_unschedulable(c, &name, true, dry_run).await?,
            Step::Uncordon {} => actions::set_unschedulable(c, &name, false, dry_run).await?,
            Step::Drain { timeout } => {
                let timing = actions::DrainTiming {
                    timeout: timeout.as_duration(),
                    retry_every: self.drain_retry,
                };
                actions::drain(c, &name, timing, dry_run).await?
            }
            Step::Wait { .. } | Step::HealthCheck { .. } => {
                return Err(RemediateError::Internal(format!(
                    "{} is not a remediation step",
                    step.action()
                )));
            }
        };
        let changed = change != Change::default();
        let summary = if dry_run {
            format!("dry run: would have {summary}")
        } else {
            summary
        };
        Ok(result(changed, change, summary, false, symptom))
    }
}

/// The guardrails were reserved for the workload the pod's name gave (its `owner`): acting on
/// the deployment the cluster says owns the pod, when that is another, would act outside them.
fn guarded_owner(target: &selfheal_core::Target, deployment: &str) -> Result<(), RemediateError> {
    match &target.owner {
        Some(o) if o.kind != TargetKind::Deployment || o.name != deployment => {
            Err(RemediateError::Refused(format!(
                "pod {} belongs to deployment {deployment}, but the incident's guardrails hold for {} {}",
                target.name,
                o.kind.label(),
                o.name
            )))
        }
        _ => Ok(()),
    }
}

impl Remediator {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str) -> selfheal_core::Target {
        let labels = [("namespace", "shop"), ("pod", name)]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .into();
        selfheal_core::Target::from_labels(&labels, "dev").unwrap()
    }

    #[test]
    fn a_pod_is_acted_on_only_through_the_workload_its_guardrails_hold_for() {
        assert!(guarded_owner(&pod("web-5d8f7b9c4-x2kq9"), "web").is_ok());
        // The name says web, the cluster says payments owns it: refused.
        let err = guarded_owner(&pod("web-5d8f7b9c4-x2kq9"), "payments").unwrap_err();
        assert!(
            err.to_string()
                .contains("guardrails hold for deployment web"),
            "{err}"
        );
        // A StatefulSet's pod is never acted on as a deployment's.
        assert!(guarded_owner(&pod("db-0"), "db").is_err());
        // A name that tells no owner was guarded as the pod itself.
        assert!(guarded_owner(&pod("debug"), "web").is_ok());
    }
}
