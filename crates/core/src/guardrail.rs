//! The guardrail policy: a pure function from (target, runbook, policy, state, now) to a decision
//! with its reasons. The ingest calls it before starting an execution and the remediation calls it
//! again before every action (defence in depth), each with the state it can see.

use std::fmt;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::runbook::{BoundsViolation, Risk, Runbook, Step};
use crate::target::{Target, TargetKind};

/// Cluster-wide guardrail settings (statemachines/policy.yaml).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// Cluster name for alerts without a `cluster` label.
    pub default_cluster: String,
    /// The clusters selfheal remediates (`default_cluster` among them): an alert whose
    /// `cluster` label names another is refused, not acted on with this cluster's access.
    pub clusters: Vec<String>,
    /// Namespaces actions may touch; `*` allows every namespace that is not denied.
    pub allowed_namespaces: Vec<String>,
    /// Per cluster, the namespaces actions may touch there, in place of `allowed_namespaces`:
    /// Terraform renders them from its `clusters` variable, the lists its EKS access entries
    /// are scoped to, so an alert outside them is refused rather than failing on a 403.
    pub cluster_namespaces: std::collections::BTreeMap<String, Vec<String>>,
    /// Namespaces never touched unless a runbook lists them in `allow_namespaces`.
    pub denied_namespaces: Vec<String>,
    /// Every action a dry run, whatever the runbooks say.
    pub dry_run: bool,
    /// Most actions (executions started) in any hour, across all targets.
    pub hourly_action_budget: u32,
    /// Most actions in any hour in one namespace, so a burst in one cannot spend the budget of
    /// the others.
    pub namespace_hourly_action_budget: u32,
    /// Failed remediations of one target after which it escalates instead of acting.
    pub circuit_breaker_failures: u32,
    /// Most nodes cordoned or drained at the same time.
    pub max_concurrent_drains: u32,
    /// Largest share of nodes that may be unschedulable after a cordon or drain.
    pub max_unschedulable_share: f64,
}

/// The defaults statemachines/policy.yaml restates (a test in `embedded` pins the two together).
impl Default for Policy {
    fn default() -> Self {
        Policy {
            default_cluster: "selfheal-dev".into(),
            clusters: vec!["selfheal-dev".into()],
            allowed_namespaces: vec!["*".into()],
            cluster_namespaces: Default::default(),
            denied_namespaces: ["kube-system", "kube-public", "kube-node-lease", "selfheal"]
                .map(String::from)
                .to_vec(),
            dry_run: false,
            hourly_action_budget: 20,
            namespace_hourly_action_budget: 10,
            circuit_breaker_failures: 3,
            max_concurrent_drains: 1,
            max_unschedulable_share: 0.34,
        }
    }
}

/// A policy file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("guardrail policy: {0}")]
pub struct PolicyError(String);

impl Policy {
    /// Parses and checks a policy file (YAML); fields left out keep their defaults.
    #[cfg(feature = "yaml")]
    pub fn from_yaml(text: &str) -> Result<Policy, PolicyError> {
        serde_saphyr::from_str::<Policy>(text)
            .map_err(|e| PolicyError(e.to_string()))?
            .checked()
    }

    /// Parses and checks a policy in JSON (how the Lambdas get it, from their environment).
    pub fn from_json(text: &str) -> Result<Policy, PolicyError> {
        serde_json::from_str::<Policy>(text)
            .map_err(|e| PolicyError(e.to_string()))?
            .checked()
    }

    /// The namespaces actions may touch in `cluster`.
    pub fn allowed_namespaces_in(&self, cluster: &str) -> &[String] {
        self.cluster_namespaces
            .get(cluster)
            .unwrap_or(&self.allowed_namespaces)
    }

    /// The policy, if every value is usable.
    pub fn checked(self) -> Result<Policy, PolicyError> {
        if !(self.max_unschedulable_share > 0.0 && self.max_unschedulable_share <= 1.0) {
            return Err(PolicyError(format!(
                "max_unschedulable_share must be in (0, 1] (got {})",
                self.max_unschedulable_share
            )));
        }
        if self.namespace_hourly_action_budget == 0 {
            return Err(PolicyError(
                "namespace_hourly_action_budget must be at least 1".into(),
            ));
        }
        if self.circuit_breaker_failures == 0 {
            return Err(PolicyError(
                "circuit_breaker_failures must be at least 1".into(),
            ));
        }
        crate::names::NameRule::EksCluster
            .check(&self.default_cluster)
            .map_err(|e| PolicyError(format!("default_cluster: {e}")))?;
        for c in &self.clusters {
            crate::names::NameRule::EksCluster
                .check(c)
                .map_err(|e| PolicyError(format!("clusters: {e}")))?;
        }
        if let Some(c) = self
            .cluster_namespaces
            .keys()
            .find(|c| !self.clusters.contains(c))
        {
            return Err(PolicyError(format!(
                "cluster_namespaces names {c:?}, which is not in clusters {:?}",
                self.clusters
            )));
        }
        if !self.clusters.contains(&self.default_cluster) {
            return Err(PolicyError(format!(
                "default_cluster {:?} is not in clusters {:?}",
                self.default_cluster, self.clusters
            )));
        }
        Ok(self)
    }
}

/// What the store knows about a target and the cluster when the decision is made.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GuardrailState {
    /// The kill switch: every action becomes a dry run, without a deploy.
    pub kill_switch: bool,
    /// When an action last ran against this target.
    pub last_action_at: Option<DateTime<Utc>>,
    /// Actions started in the current UTC hour ([`budget_window`]), across all targets.
    pub actions_last_hour: u32,
    /// Actions started in the current UTC hour in the target's namespace.
    pub namespace_actions_last_hour: u32,
    /// Failed remediations of this target since its last success.
    pub consecutive_failures: u32,
    /// The target's current replica count, when known (at remediation time).
    pub replicas: Option<u32>,
    /// Node counts, when known.
    pub nodes: Option<NodeCounts>,
}

/// Node counts for the drain guardrails.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeCounts {
    /// Nodes in the cluster.
    pub total: u32,
    /// Nodes already unschedulable.
    pub unschedulable: u32,
    /// Nodes being cordoned or drained by selfheal right now (the node lock).
    pub draining: u32,
}

crate::spelled_enum!(
    /// What the guardrails allow.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum Decision {
        /// Act.
        Run = "run",
        /// Go through the steps with `dryRun=All`: validated, not persisted.
        DryRun = "dry-run",
        /// Ask a human first.
        NeedsApproval = "needs-approval",
        /// Do nothing; record why.
        Refuse = "refuse",
    }
);

/// One reason behind a decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "kebab-case")]
pub enum Reason {
    /// The namespace is on the deny list and the runbook does not allow it.
    NamespaceDenied {
        /// The namespace.
        namespace: String,
    },
    /// The namespace is not on the allow list.
    NamespaceNotAllowed {
        /// The namespace.
        namespace: String,
    },
    /// The alert names a cluster selfheal does not remediate.
    UnknownCluster {
        /// The cluster.
        cluster: String,
    },
    /// A step cannot act on this kind of target.
    KindUnsupported {
        /// The step's action.
        action: String,
        /// The target's kind.
        kind: TargetKind,
    },
    /// The target was acted on too recently.
    Cooldown {
        /// When the target may be acted on again.
        until: DateTime<Utc>,
    },
    /// The hourly action budget is spent.
    BudgetExhausted {
        /// Actions in the last hour.
        used: u32,
        /// The budget.
        limit: u32,
    },
    /// The hourly action budget of the target's namespace is spent.
    NamespaceBudgetExhausted {
        /// The namespace.
        namespace: String,
        /// Actions in the namespace in the last hour.
        used: u32,
        /// The budget.
        limit: u32,
    },
    /// The target failed too often; a human takes over.
    CircuitOpen {
        /// Failed remediations in a row.
        failures: u32,
        /// The threshold.
        threshold: u32,
    },
    /// A scale step would leave the bounds.
    ReplicaBounds {
        /// The step's index.
        step: usize,
        /// What is wrong.
        violation: String,
    },
    /// Another node is already being cordoned or drained.
    DrainInProgress {
        /// Nodes being drained.
        draining: u32,
        /// The most allowed at once.
        limit: u32,
    },
    /// One more unschedulable node would pass the allowed share.
    UnschedulableShare {
        /// Unschedulable nodes after this step.
        after: u32,
        /// Nodes in the cluster.
        total: u32,
        /// The allowed share.
        limit: f64,
    },
    /// The kill switch is on.
    KillSwitch,
    /// The policy makes everything a dry run.
    PolicyDryRun,
    /// The runbook is always a dry run.
    RunbookDryRun,
    /// The runbook needs a human's approval.
    ApprovalRequired {
        /// The runbook's risk.
        risk: Risk,
    },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::NamespaceDenied { namespace } => {
                write!(f, "namespace {namespace} is denied by policy")
            }
            Reason::NamespaceNotAllowed { namespace } => {
                write!(f, "namespace {namespace} is not on the allow list")
            }
            Reason::UnknownCluster { cluster } => {
                write!(f, "cluster {cluster} is not one selfheal remediates")
            }
            Reason::KindUnsupported { action, kind } => {
                write!(f, "{action} cannot act on a {kind:?}")
            }
            Reason::Cooldown { until } => write!(
                f,
                "target is cooling down until {}",
                until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
            Reason::BudgetExhausted { used, limit } => {
                write!(f, "hourly action budget spent ({used} of {limit})")
            }
            Reason::NamespaceBudgetExhausted {
                namespace,
                used,
                limit,
            } => write!(
                f,
                "hourly action budget of namespace {namespace} spent ({used} of {limit})"
            ),
            Reason::CircuitOpen {
                failures,
                threshold,
            } => write!(
                f,
                "circuit open: {failures} failed remediations (threshold {threshold}); escalate to a human"
            ),
            Reason::ReplicaBounds { step, violation } => write!(f, "steps[{step}]: {violation}"),
            Reason::DrainInProgress { draining, limit } => write!(
                f,
                "{draining} node(s) already cordoned or draining; at most {limit} at a time"
            ),
            Reason::UnschedulableShare {
                after,
                total,
                limit,
            } => write!(
                f,
                "{after} of {total} nodes would be unschedulable, over the limit of {:.0}%",
                limit * 100.0
            ),
            Reason::KillSwitch => f.write_str("kill switch is on: dry run only"),
            Reason::PolicyDryRun => f.write_str("policy is dry run"),
            Reason::RunbookDryRun => f.write_str("runbook is dry run"),
            Reason::ApprovalRequired { risk } => {
                write!(f, "{risk}-risk runbook needs a human's approval")
            }
        }
    }
}

impl Reason {
    /// The stable code, as serialized in `code`.
    pub fn code(&self) -> &'static str {
        match self {
            Reason::NamespaceDenied { .. } => "namespace-denied",
            Reason::NamespaceNotAllowed { .. } => "namespace-not-allowed",
            Reason::UnknownCluster { .. } => "unknown-cluster",
            Reason::KindUnsupported { .. } => "kind-unsupported",
            Reason::Cooldown { .. } => "cooldown",
            Reason::BudgetExhausted { .. } => "budget-exhausted",
            Reason::NamespaceBudgetExhausted { .. } => "namespace-budget-exhausted",
            Reason::CircuitOpen { .. } => "circuit-open",
            Reason::ReplicaBounds { .. } => "replica-bounds",
            Reason::DrainInProgress { .. } => "drain-in-progress",
            Reason::UnschedulableShare { .. } => "unschedulable-share",
            Reason::KillSwitch => "kill-switch",
            Reason::PolicyDryRun => "policy-dry-run",
            Reason::RunbookDryRun => "runbook-dry-run",
            Reason::ApprovalRequired { .. } => "approval-required",
        }
    }
}

/// The hourly budgets a reservation counts an action against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budgets {
    /// Actions per hour across all targets.
    pub hourly: u32,
    /// Actions per hour in one namespace.
    pub namespace_hourly: u32,
}

impl Policy {
    /// The hourly budgets this policy sets.
    pub fn budgets(&self) -> Budgets {
        Budgets {
            hourly: self.hourly_action_budget,
            namespace_hourly: self.namespace_hourly_action_budget,
        }
    }
}

/// The start of the hourly budget window holding `now`: budgets count actions per UTC hour.
pub fn budget_window(now: DateTime<Utc>) -> DateTime<Utc> {
    now.duration_trunc(TimeDelta::hours(1)).unwrap_or(now)
}

/// A decision with every reason that led to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// What the guardrails allow.
    pub decision: Decision,
    /// Why. Empty for a plain `run`.
    pub reasons: Vec<Reason>,
}

/// Decides what may happen for `runbook` on `target`. Every refusal is collected, not just the
/// first; refusals win over dry run, dry run over approval (a dry run changes nothing, so nothing
/// needs approving).
pub fn decide(
    target: &Target,
    runbook: &Runbook,
    policy: &Policy,
    state: &GuardrailState,
    now: DateTime<Utc>,
) -> Verdict {
    let refusals = refusals(target, runbook, policy, state, now);
    if !refusals.is_empty() {
        return Verdict {
            decision: Decision::Refuse,
            reasons: refusals,
        };
    }
    let dry_run: Vec<Reason> = [
        (state.kill_switch, Reason::KillSwitch),
        (policy.dry_run, Reason::PolicyDryRun),
        (runbook.dry_run, Reason::RunbookDryRun),
    ]
    .into_iter()
    .filter_map(|(on, reason)| on.then_some(reason))
    .collect();
    if !dry_run.is_empty() {
        return Verdict {
            decision: Decision::DryRun,
            reasons: dry_run,
        };
    }
    if runbook.approval_required() {
        return Verdict {
            decision: Decision::NeedsApproval,
            reasons: vec![Reason::ApprovalRequired { risk: runbook.risk }],
        };
    }
    Verdict {
        decision: Decision::Run,
        reasons: Vec::new(),
    }
}

fn refusals(
    target: &Target,
    runbook: &Runbook,
    policy: &Policy,
    state: &GuardrailState,
    now: DateTime<Utc>,
) -> Vec<Reason> {
    let mut out = Vec::new();
    if !policy.clusters.contains(&target.cluster) {
        out.push(Reason::UnknownCluster {
            cluster: target.cluster.clone(),
        });
    }
    if let Some(ns) = &target.namespace {
        let runbook_allows = runbook.allow_namespaces.iter().any(|a| a == ns);
        if policy.denied_namespaces.iter().any(|d| d == ns) && !runbook_allows {
            out.push(Reason::NamespaceDenied {
                namespace: ns.clone(),
            });
        } else if !runbook_allows
            && !policy
                .allowed_namespaces_in(&target.cluster)
                .iter()
                .any(|a| a == "*" || a == ns)
        {
            out.push(Reason::NamespaceNotAllowed {
                namespace: ns.clone(),
            });
        }
    }
    for step in runbook.steps.iter().filter(|s| !s.accepts(target.kind)) {
        out.push(Reason::KindUnsupported {
            action: step.action().into(),
            kind: target.kind,
        });
    }
    if state.consecutive_failures >= policy.circuit_breaker_failures {
        out.push(Reason::CircuitOpen {
            failures: state.consecutive_failures,
            threshold: policy.circuit_breaker_failures,
        });
    }
    if let Some(last) = state.last_action_at {
        let until = last + runbook.cooldown.as_duration();
        if now < until {
            out.push(Reason::Cooldown { until });
        }
    }
    if state.actions_last_hour >= policy.hourly_action_budget {
        out.push(Reason::BudgetExhausted {
            used: state.actions_last_hour,
            limit: policy.hourly_action_budget,
        });
    }
    if let Some(namespace) = &target.namespace
        && state.namespace_actions_last_hour >= policy.namespace_hourly_action_budget
    {
        out.push(Reason::NamespaceBudgetExhausted {
            namespace: namespace.clone(),
            used: state.namespace_actions_last_hour,
            limit: policy.namespace_hourly_action_budget,
        });
    }
    for (i, step) in runbook.steps.iter().enumerate() {
        if let Step::Scale { by, bounds } = step {
            // Without the current count only the step size can be checked; the remediation
            // checks the rest with the live count.
            let violation = match state.replicas {
                Some(current) => bounds.plan(current, *by).err(),
                None => {
                    (by.unsigned_abs() > bounds.max_step).then_some(BoundsViolation::StepTooLarge {
                        by: *by,
                        max_step: bounds.max_step,
                    })
                }
            };
            if let Some(v) = violation {
                out.push(Reason::ReplicaBounds {
                    step: i,
                    violation: v.to_string(),
                });
            }
        }
    }
    if let Some(nodes) = state.nodes
        && runbook.steps.iter().any(Step::unschedules_node)
    {
        if nodes.draining >= policy.max_concurrent_drains {
            out.push(Reason::DrainInProgress {
                draining: nodes.draining,
                limit: policy.max_concurrent_drains,
            });
        }
        let after = nodes.unschedulable + 1;
        if f64::from(after) > policy.max_unschedulable_share * f64::from(nodes.total) {
            out.push(Reason::UnschedulableShare {
                after,
                total: nodes.total,
                limit: policy.max_unschedulable_share,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests;
