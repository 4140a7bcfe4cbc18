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
    /// Namespaces actions may touch; `*` allows every namespace that is not denied.
    pub allowed_namespaces: Vec<String>,
    /// Namespaces never touched unless a runbook lists them in `allow_namespaces`.
    pub denied_namespaces: Vec<String>,
    /// Every action a dry run, whatever the runbooks say.
    pub dry_run: bool,
    /// Most actions (executions started) in any hour, across all targets.
    pub hourly_action_budget: u32,
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
            allowed_namespaces: vec!["*".into()],
            denied_namespaces: ["kube-system", "kube-public", "kube-node-lease", "selfheal"]
                .map(String::from)
                .to_vec(),
            dry_run: false,
            hourly_action_budget: 20,
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

    /// The policy, if every value is usable.
    pub fn checked(self) -> Result<Policy, PolicyError> {
        if !(self.max_unschedulable_share > 0.0 && self.max_unschedulable_share <= 1.0) {
            return Err(PolicyError(format!(
                "max_unschedulable_share must be in (0, 1] (got {})",
                self.max_unschedulable_share
            )));
        }
        if self.circuit_breaker_failures == 0 {
            return Err(PolicyError(
                "circuit_breaker_failures must be at least 1".into(),
            ));
        }
        crate::names::NameRule::EksCluster
            .check(&self.default_cluster)
            .map_err(|e| PolicyError(format!("default_cluster: {e}")))?;
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
            Reason::KindUnsupported { .. } => "kind-unsupported",
            Reason::Cooldown { .. } => "cooldown",
            Reason::BudgetExhausted { .. } => "budget-exhausted",
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
    if let Some(ns) = &target.namespace {
        let runbook_allows = runbook.allow_namespaces.iter().any(|a| a == ns);
        if policy.denied_namespaces.iter().any(|d| d == ns) && !runbook_allows {
            out.push(Reason::NamespaceDenied {
                namespace: ns.clone(),
            });
        } else if !runbook_allows
            && !policy
                .allowed_namespaces
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
mod tests {
    use super::*;
    use crate::duration::PromDuration;
    use crate::matcher::Matcher;
    use crate::runbook::{Approval, ReplicaBounds};

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-25T21:30:00Z")
            .unwrap()
            .to_utc()
    }

    fn deployment(ns: &str) -> Target {
        Target {
            cluster: "local".into(),
            namespace: Some(ns.into()),
            kind: TargetKind::Deployment,
            name: "backend".into(),
        }
    }

    fn node() -> Target {
        Target {
            cluster: "local".into(),
            namespace: None,
            kind: TargetKind::Node,
            name: "ip-10-0-1-2".into(),
        }
    }

    fn runbook(steps: Vec<Step>, risk: Risk) -> Runbook {
        Runbook {
            id: "test".into(),
            description: "test".into(),
            priority: 100,
            matchers: vec!["alertname=\"X\"".parse::<Matcher>().unwrap()],
            steps,
            risk,
            approval: None,
            max_attempts: 2,
            cooldown: PromDuration::from_secs(900),
            dry_run: false,
            allow_namespaces: vec![],
        }
    }

    fn restart() -> Runbook {
        runbook(vec![Step::RestartPods {}], Risk::Low)
    }

    fn drain() -> Runbook {
        runbook(
            vec![
                Step::Cordon {},
                Step::Drain {
                    timeout: PromDuration::from_secs(300),
                },
            ],
            Risk::High,
        )
    }

    fn scale(by: i32) -> Runbook {
        runbook(
            vec![Step::Scale {
                by,
                bounds: ReplicaBounds {
                    min: 2,
                    max: 6,
                    max_step: 2,
                },
            }],
            if by < 0 { Risk::High } else { Risk::Medium },
        )
    }

    fn codes(v: &Verdict) -> Vec<&'static str> {
        v.reasons.iter().map(Reason::code).collect()
    }

    fn decide_with(
        target: &Target,
        rb: &Runbook,
        policy: &Policy,
        state: &GuardrailState,
    ) -> Verdict {
        decide(target, rb, policy, state, now())
    }

    #[test]
    fn a_low_risk_runbook_in_an_ordinary_namespace_runs() {
        let v = decide_with(
            &deployment("shop"),
            &restart(),
            &Policy::default(),
            &GuardrailState::default(),
        );
        assert_eq!(
            v,
            Verdict {
                decision: Decision::Run,
                reasons: vec![]
            }
        );
    }

    #[test]
    fn kube_system_is_denied_unless_the_runbook_allows_it() {
        let v = decide_with(
            &deployment("kube-system"),
            &restart(),
            &Policy::default(),
            &GuardrailState::default(),
        );
        assert_eq!(v.decision, Decision::Refuse);
        assert_eq!(
            v.reasons,
            vec![Reason::NamespaceDenied {
                namespace: "kube-system".into()
            }]
        );
        assert_eq!(
            v.reasons[0].to_string(),
            "namespace kube-system is denied by policy"
        );
        let mut rb = restart();
        rb.allow_namespaces = vec!["kube-system".into()];
        assert_eq!(
            decide_with(
                &deployment("kube-system"),
                &rb,
                &Policy::default(),
                &GuardrailState::default()
            )
            .decision,
            Decision::Run
        );
    }

    #[test]
    fn an_allow_list_refuses_other_namespaces() {
        let policy = Policy {
            allowed_namespaces: vec!["shop".into()],
            ..Policy::default()
        };
        assert_eq!(
            decide_with(
                &deployment("shop"),
                &restart(),
                &policy,
                &GuardrailState::default()
            )
            .decision,
            Decision::Run
        );
        let v = decide_with(
            &deployment("billing"),
            &restart(),
            &policy,
            &GuardrailState::default(),
        );
        assert_eq!(codes(&v), ["namespace-not-allowed"]);
    }

    #[test]
    fn a_step_that_cannot_act_on_the_target_kind_is_refused() {
        let v = decide_with(
            &node(),
            &restart(),
            &Policy::default(),
            &GuardrailState::default(),
        );
        assert_eq!(codes(&v), ["kind-unsupported"]);
        assert_eq!(
            v.reasons[0].to_string(),
            "restart-pods cannot act on a Node"
        );
    }

    #[test]
    fn cooldown_refuses_until_it_has_passed() {
        let state = GuardrailState {
            last_action_at: Some(now() - chrono::Duration::minutes(10)),
            ..Default::default()
        };
        let v = decide_with(&deployment("shop"), &restart(), &Policy::default(), &state);
        assert_eq!(
            v.reasons,
            vec![Reason::Cooldown {
                until: now() + chrono::Duration::minutes(5)
            }]
        );
        assert_eq!(
            v.reasons[0].to_string(),
            "target is cooling down until 2026-11-25T21:35:00Z"
        );
        let state = GuardrailState {
            last_action_at: Some(now() - chrono::Duration::minutes(15)),
            ..Default::default()
        };
        assert_eq!(
            decide_with(&deployment("shop"), &restart(), &Policy::default(), &state).decision,
            Decision::Run
        );
    }

    #[test]
    fn the_hourly_budget_refuses_once_spent() {
        let state = GuardrailState {
            actions_last_hour: 20,
            ..Default::default()
        };
        let v = decide_with(&deployment("shop"), &restart(), &Policy::default(), &state);
        assert_eq!(
            v.reasons,
            vec![Reason::BudgetExhausted {
                used: 20,
                limit: 20
            }]
        );
        let state = GuardrailState {
            actions_last_hour: 19,
            ..Default::default()
        };
        assert_eq!(
            decide_with(&deployment("shop"), &restart(), &Policy::default(), &state).decision,
            Decision::Run
        );
    }

    #[test]
    fn the_circuit_breaker_opens_after_n_failures() {
        let state = GuardrailState {
            consecutive_failures: 3,
            ..Default::default()
        };
        let v = decide_with(&deployment("shop"), &restart(), &Policy::default(), &state);
        assert_eq!(codes(&v), ["circuit-open"]);
        let state = GuardrailState {
            consecutive_failures: 2,
            ..Default::default()
        };
        assert_eq!(
            decide_with(&deployment("shop"), &restart(), &Policy::default(), &state).decision,
            Decision::Run
        );
    }

    #[test]
    fn replica_bounds_and_step_are_enforced() {
        let none = GuardrailState::default();
        assert_eq!(
            decide_with(&deployment("shop"), &scale(2), &Policy::default(), &none).decision,
            Decision::Run
        );
        let v = decide_with(&deployment("shop"), &scale(3), &Policy::default(), &none);
        assert_eq!(codes(&v), ["replica-bounds"]);
        assert_eq!(
            v.reasons[0].to_string(),
            "steps[0]: a change of 3 replicas is more than the maximum step of 2"
        );
        let at_max = GuardrailState {
            replicas: Some(6),
            ..Default::default()
        };
        let v = decide_with(&deployment("shop"), &scale(2), &Policy::default(), &at_max);
        assert_eq!(
            v.reasons[0].to_string(),
            "steps[0]: already at 6 replicas, the upper bound of [2, 6]"
        );
        let room = GuardrailState {
            replicas: Some(5),
            ..Default::default()
        };
        assert_eq!(
            decide_with(&deployment("shop"), &scale(2), &Policy::default(), &room).decision,
            Decision::Run
        );
    }

    #[test]
    fn only_one_node_drains_at_a_time() {
        let state = GuardrailState {
            nodes: Some(NodeCounts {
                total: 10,
                unschedulable: 1,
                draining: 1,
            }),
            ..Default::default()
        };
        let v = decide_with(&node(), &drain(), &Policy::default(), &state);
        assert_eq!(codes(&v), ["drain-in-progress"]);
    }

    #[test]
    fn never_more_than_the_share_of_nodes_unschedulable() {
        let state = GuardrailState {
            nodes: Some(NodeCounts {
                total: 3,
                unschedulable: 1,
                draining: 0,
            }),
            ..Default::default()
        };
        let v = decide_with(&node(), &drain(), &Policy::default(), &state);
        assert_eq!(
            v.reasons,
            vec![Reason::UnschedulableShare {
                after: 2,
                total: 3,
                limit: 0.34
            }]
        );
        assert_eq!(
            v.reasons[0].to_string(),
            "2 of 3 nodes would be unschedulable, over the limit of 34%"
        );
        let state = GuardrailState {
            nodes: Some(NodeCounts {
                total: 6,
                unschedulable: 1,
                draining: 0,
            }),
            ..Default::default()
        };
        assert_eq!(
            decide_with(&node(), &drain(), &Policy::default(), &state).decision,
            Decision::NeedsApproval
        );
    }

    #[test]
    fn every_refusal_is_reported_not_just_the_first() {
        let state = GuardrailState {
            consecutive_failures: 5,
            actions_last_hour: 99,
            last_action_at: Some(now()),
            kill_switch: true,
            ..Default::default()
        };
        let v = decide_with(
            &deployment("kube-system"),
            &restart(),
            &Policy::default(),
            &state,
        );
        assert_eq!(v.decision, Decision::Refuse);
        assert_eq!(
            codes(&v),
            [
                "namespace-denied",
                "circuit-open",
                "cooldown",
                "budget-exhausted"
            ]
        );
    }

    #[test]
    fn kill_switch_and_dry_run_settings_make_a_dry_run() {
        let kill = GuardrailState {
            kill_switch: true,
            ..Default::default()
        };
        let v = decide_with(&deployment("shop"), &restart(), &Policy::default(), &kill);
        assert_eq!(
            v,
            Verdict {
                decision: Decision::DryRun,
                reasons: vec![Reason::KillSwitch]
            }
        );
        let policy = Policy {
            dry_run: true,
            ..Policy::default()
        };
        let mut rb = drain();
        rb.dry_run = true;
        let v = decide_with(&node(), &rb, &policy, &kill);
        assert_eq!(
            codes(&v),
            ["kill-switch", "policy-dry-run", "runbook-dry-run"]
        );
        assert_eq!(v.decision, Decision::DryRun, "a dry run needs no approval");
    }

    #[test]
    fn high_risk_needs_approval_unless_the_runbook_opts_out() {
        let v = decide_with(
            &node(),
            &drain(),
            &Policy::default(),
            &GuardrailState::default(),
        );
        assert_eq!(
            v,
            Verdict {
                decision: Decision::NeedsApproval,
                reasons: vec![Reason::ApprovalRequired { risk: Risk::High }]
            }
        );
        let mut rb = scale(-1);
        assert_eq!(
            decide_with(
                &deployment("shop"),
                &rb,
                &Policy::default(),
                &GuardrailState::default()
            )
            .decision,
            Decision::NeedsApproval
        );
        rb.approval = Some(Approval {
            required: false,
            timeout: PromDuration::from_secs(60),
            reason: Some("batch workers".into()),
        });
        assert_eq!(
            decide_with(
                &deployment("shop"),
                &rb,
                &Policy::default(),
                &GuardrailState::default()
            )
            .decision,
            Decision::Run
        );
    }

    #[test]
    fn json_policies_are_checked_the_same_way() {
        assert!(Policy::from_json(r#"{"dry_run": true}"#).unwrap().dry_run);
        assert!(Policy::from_json(r#"{"circuit_breaker_failures": 0}"#).is_err());
        assert!(Policy::from_json(r#"{"dryrun": true}"#).is_err());
    }

    #[test]
    fn policy_files_are_checked() {
        let p = Policy::from_yaml("dry_run: true\nhourly_action_budget: 5\n").unwrap();
        assert!(p.dry_run);
        assert_eq!(p.hourly_action_budget, 5);
        assert_eq!(p.denied_namespaces, Policy::default().denied_namespaces);
        let err = Policy::from_yaml("max_unschedulable_share: 1.5\n").unwrap_err();
        assert!(err.to_string().contains("max_unschedulable_share"), "{err}");
        let err = Policy::from_yaml("dry_runn: true\n").unwrap_err();
        assert!(err.to_string().contains("dry_runn"), "{err}");
        assert!(Policy::from_yaml("default_cluster: \"prod eu\"\n").is_err());
    }

    #[test]
    fn reasons_serialize_with_their_code() {
        let json = serde_json::to_value(Reason::BudgetExhausted { used: 3, limit: 2 }).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"code": "budget-exhausted", "used": 3, "limit": 2})
        );
    }
}
