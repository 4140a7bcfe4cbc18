//! Runbooks: which alerts they answer (matchers), the ordered steps they take, how risky those
//! steps are and the bounds they stay within. One YAML file per runbook under
//! statemachines/runbooks/; the catalog is all of them, checked together.

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::alert::Labels;
use crate::duration::PromDuration;
use crate::matcher::Matcher;
use crate::names::NameRule;
use crate::target::TargetKind;

crate::spelled_enum!(
    /// How much harm a step can do if it is wrong.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub enum Risk {
        /// Replaces pods the controller recreates at once; capacity is kept.
        Low = "low",
        /// Changes capacity upwards or takes one pod or node out of rotation.
        Medium = "medium",
        /// Removes capacity or changes what runs: rollback, drain, scale down.
        High = "high",
    }
);

/// Replica bounds for a scale step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplicaBounds {
    /// Never fewer replicas than this.
    pub min: u32,
    /// Never more replicas than this.
    pub max: u32,
    /// Never change the count by more than this in one step.
    pub max_step: u32,
}

/// A scale step that cannot be taken from the current replica count.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BoundsViolation {
    /// The step is larger than `max_step`.
    #[error("a change of {by} replicas is more than the maximum step of {max_step}")]
    StepTooLarge {
        /// The requested change.
        by: i32,
        /// The bound.
        max_step: u32,
    },
    /// The count already sits at the bound the step moves towards.
    #[error("already at {current} replicas, the {bound} bound of [{min}, {max}]")]
    AtBound {
        /// Current replicas.
        current: u32,
        /// "upper" or "lower".
        bound: &'static str,
        /// Lower bound.
        min: u32,
        /// Upper bound.
        max: u32,
    },
}

impl ReplicaBounds {
    /// The replica count a step of `by` leads to from `current`: clamped into `[min, max]`,
    /// refused when it is larger than `max_step` or cannot move at all.
    pub fn plan(&self, current: u32, by: i32) -> Result<u32, BoundsViolation> {
        if by.unsigned_abs() > self.max_step {
            return Err(BoundsViolation::StepTooLarge {
                by,
                max_step: self.max_step,
            });
        }
        let wanted = i64::from(current) + i64::from(by);
        let clamped = wanted.clamp(i64::from(self.min), i64::from(self.max));
        let to = u32::try_from(clamped).unwrap_or(self.max);
        let moves_the_right_way = (by > 0 && to > current) || (by < 0 && to < current);
        if !moves_the_right_way {
            return Err(BoundsViolation::AtBound {
                current,
                bound: if by > 0 { "upper" } else { "lower" },
                min: self.min,
                max: self.max,
            });
        }
        Ok(to)
    }
}

/// A SLI query the health check evaluates after a step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SliCheck {
    /// PromQL instant query; `$namespace` and `$name` are replaced by the target's.
    pub query: String,
    /// Healthy when the result is below this value.
    pub below: f64,
}

/// One step of a runbook. The `action` field names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Step {
    /// Rollout restart of the target's deployment (as `kubectl rollout restart`).
    RestartPods {},
    /// Change the replica count by `by`, within `bounds`.
    Scale {
        /// Replicas to add (positive) or remove (negative).
        by: i32,
        /// Where the count must stay.
        bounds: ReplicaBounds,
    },
    /// Roll the deployment back to the previous revision, or to `to_revision`.
    Rollback {
        /// A specific revision; the previous one when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to_revision: Option<u64>,
    },
    /// Delete the alert's pod (only one owned by a controller).
    DeletePod {},
    /// Mark the node unschedulable.
    Cordon {},
    /// Mark the node schedulable again.
    Uncordon {},
    /// Cordon the node and evict its pods, respecting PodDisruptionBudgets.
    Drain {
        /// Give up (and escalate) when the node is not empty by then.
        timeout: PromDuration,
    },
    /// Wait before the next step.
    Wait {
        /// How long.
        duration: PromDuration,
    },
    /// Check that the target recovered.
    HealthCheck {
        /// How long the target has to become healthy.
        timeout: PromDuration,
        /// An optional SLI query that must also be healthy.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sli: Option<SliCheck>,
    },
}

impl Step {
    /// The action's name as runbooks spell it.
    pub fn action(&self) -> &'static str {
        match self {
            Step::RestartPods {} => "restart-pods",
            Step::Scale { .. } => "scale",
            Step::Rollback { .. } => "rollback",
            Step::DeletePod {} => "delete-pod",
            Step::Cordon {} => "cordon",
            Step::Uncordon {} => "uncordon",
            Step::Drain { .. } => "drain",
            Step::Wait { .. } => "wait",
            Step::HealthCheck { .. } => "health-check",
        }
    }

    /// The step's own risk, whatever the runbook declares.
    pub fn risk(&self) -> Risk {
        match self {
            Step::Rollback { .. } | Step::Drain { .. } => Risk::High,
            Step::Scale { by, .. } if *by < 0 => Risk::High,
            Step::Scale { .. } | Step::DeletePod {} | Step::Cordon {} => Risk::Medium,
            Step::RestartPods {}
            | Step::Uncordon {}
            | Step::Wait { .. }
            | Step::HealthCheck { .. } => Risk::Low,
        }
    }

    /// Whether the step changes the cluster (waits and health checks only look).
    pub fn changes_cluster(&self) -> bool {
        !matches!(self, Step::Wait { .. } | Step::HealthCheck { .. })
    }

    /// Whether the step can act on a target of this kind. Pods are resolved to their owning
    /// workload by the remediation, so workload steps accept them too.
    pub fn accepts(&self, kind: TargetKind) -> bool {
        use TargetKind::*;
        match self {
            Step::RestartPods {} => matches!(kind, Deployment | StatefulSet | DaemonSet | Pod),
            Step::Scale { .. } => matches!(kind, Deployment | StatefulSet | Pod),
            Step::Rollback { .. } => matches!(kind, Deployment | Pod),
            Step::DeletePod {} => kind == Pod,
            Step::Cordon {} | Step::Uncordon {} | Step::Drain { .. } => kind == Node,
            Step::Wait { .. } | Step::HealthCheck { .. } => true,
        }
    }

    /// Whether the step takes a node out of scheduling.
    pub fn unschedules_node(&self) -> bool {
        matches!(self, Step::Cordon {} | Step::Drain { .. })
    }
}

/// Whether a human must approve before the steps run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    /// Wait for approval before acting.
    pub required: bool,
    /// How long to wait for a decision; no answer by then escalates.
    #[serde(default = "default_approval_timeout")]
    pub timeout: PromDuration,
    /// Why a high-risk runbook may act without approval (required when it opts out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

fn default_approval_timeout() -> PromDuration {
    PromDuration::from_secs(15 * 60)
}

/// One runbook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Runbook {
    /// Unique id, also the file name without `.yaml`.
    pub id: String,
    /// What the runbook is for, in one sentence.
    pub description: String,
    /// Lower runs first when several runbooks match one alert.
    #[serde(default = "default_priority")]
    pub priority: u32,
    /// Every matcher must hold for the runbook to apply.
    #[serde(rename = "match")]
    pub matchers: Vec<Matcher>,
    /// The ordered steps.
    pub steps: Vec<Step>,
    /// The declared risk; at least the riskiest step's.
    pub risk: Risk,
    /// Approval before acting; required by default for high risk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<Approval>,
    /// How many times the steps may be tried before escalating.
    pub max_attempts: u32,
    /// How long the same target is left alone after an action.
    pub cooldown: PromDuration,
    /// Always run this runbook as a dry run.
    #[serde(default)]
    pub dry_run: bool,
    /// Namespaces this runbook may act in although the policy denies them (e.g. kube-system).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_namespaces: Vec<String>,
}

fn default_priority() -> u32 {
    100
}

impl Runbook {
    /// The steps' actions in order, as `` `a` → `b` `` (Slack's mrkdwn and the terminal alike).
    pub fn outline(&self) -> String {
        let actions: Vec<String> = self
            .steps
            .iter()
            .map(|s| format!("`{}`", s.action()))
            .collect();
        actions.join(" → ")
    }

    /// Whether every matcher holds for `labels`.
    pub fn matches(&self, labels: &Labels) -> bool {
        self.matchers.iter().all(|m| m.matches(labels))
    }

    /// Whether a human must approve before the steps run.
    pub fn approval_required(&self) -> bool {
        self.approval
            .as_ref()
            .map_or(self.risk == Risk::High, |a| a.required)
    }

    /// How long to wait for approval.
    pub fn approval_timeout(&self) -> PromDuration {
        self.approval
            .as_ref()
            .map_or_else(default_approval_timeout, |a| a.timeout)
    }

    /// Every problem with this runbook, as (field, message); empty when it is sound.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut add = |field: &str, message: String| out.push((field.to_owned(), message));
        if let Err(e) = NameRule::Dns1123Label.check(&self.id) {
            add("id", format!("{:?} is not a valid id: {e}", self.id));
        }
        if self.description.trim().is_empty() {
            add("description", "must say what the runbook is for".into());
        }
        if self.matchers.is_empty() {
            add(
                "match",
                "needs at least one matcher, or it would answer every alert".into(),
            );
        }
        if !self.steps.iter().any(Step::changes_cluster) {
            add(
                "steps",
                "needs at least one step that acts on the cluster".into(),
            );
        }
        if !(1..=10).contains(&self.max_attempts) {
            add(
                "max_attempts",
                format!("must be 1 to 10 (got {})", self.max_attempts),
            );
        }
        let riskiest = self.steps.iter().map(Step::risk).max().unwrap_or(Risk::Low);
        if riskiest > self.risk {
            let (i, step) = self
                .steps
                .iter()
                .enumerate()
                .find(|(_, s)| s.risk() == riskiest)
                .expect("riskiest step exists");
            add(
                "risk",
                format!(
                    "declared {} but steps[{i}] ({}) is {riskiest} risk",
                    self.risk,
                    step.action()
                ),
            );
        }
        if let Some(approval) = &self.approval {
            if self.risk == Risk::High && !approval.required && approval.reason.is_none() {
                add(
                    "approval.reason",
                    "a high-risk runbook that skips approval must say why".into(),
                );
            }
            if approval.timeout.as_secs() == 0 {
                add("approval.timeout", "must be longer than 0s".into());
            }
        }
        for (i, step) in self.steps.iter().enumerate() {
            match step {
                Step::Scale { by, bounds } => {
                    if *by == 0 {
                        add(&format!("steps[{i}].by"), "must not be 0".into());
                    }
                    if bounds.min > bounds.max {
                        add(
                            &format!("steps[{i}].bounds"),
                            format!("min {} is above max {}", bounds.min, bounds.max),
                        );
                    }
                    if bounds.max_step == 0 || by.unsigned_abs() > bounds.max_step {
                        add(
                            &format!("steps[{i}].bounds.max_step"),
                            format!(
                                "must be at least 1 and at least |by| = {}",
                                by.unsigned_abs()
                            ),
                        );
                    }
                }
                Step::Drain { timeout } | Step::HealthCheck { timeout, .. }
                    if timeout.as_secs() == 0 =>
                {
                    add(
                        &format!("steps[{i}].timeout"),
                        "must be longer than 0s".into(),
                    );
                }
                _ => {}
            }
        }
        for ns in &self.allow_namespaces {
            if let Err(e) = NameRule::Dns1123Label.check(ns) {
                add("allow_namespaces", format!("{ns:?}: {e}"));
            }
        }
        out
    }
}

/// One problem found in the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file it is in.
    pub file: String,
    /// The field, e.g. `steps[1].bounds.max_step`; empty when the file as a whole is wrong.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}: {}: {}", self.file, self.field, self.message)
        }
    }
}

/// Everything wrong with a catalog, not just the first thing.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{} problem(s) in the runbook catalog:\n{}", .0.len(), .0.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
pub struct CatalogError(pub Vec<Problem>);

/// All runbooks, in the order they are tried: priority, then id.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Catalog {
    runbooks: Vec<Runbook>,
}

impl Catalog {
    /// Parses and checks runbook files given as (file name, YAML text). File names without their
    /// `.yaml` or `.yml` ending must equal the runbook ids.
    #[cfg(feature = "yaml")]
    pub fn parse<N: AsRef<str>, T: AsRef<str>>(
        files: impl IntoIterator<Item = (N, T)>,
    ) -> Result<Catalog, CatalogError> {
        Self::decode(files, |text| {
            serde_saphyr::from_str(text).map_err(|e| e.to_string())
        })
    }

    /// [`Self::parse`] for runbooks given as JSON (the compiled-in catalog, which build.rs turned
    /// from YAML into JSON).
    pub fn parse_json<N: AsRef<str>, T: AsRef<str>>(
        files: impl IntoIterator<Item = (N, T)>,
    ) -> Result<Catalog, CatalogError> {
        Self::decode(files, |text| {
            serde_json::from_str(text).map_err(|e| e.to_string())
        })
    }

    /// A catalog of runbooks already read (tests, tools): the same checks, ids for file names.
    pub fn from_runbooks(runbooks: Vec<Runbook>) -> Result<Catalog, CatalogError> {
        let files: Vec<(String, Runbook)> =
            runbooks.into_iter().map(|r| (r.id.clone(), r)).collect();
        Self::check(files)
    }

    /// This catalog with `runbook` in place of the runbook of the same id (or added): what a
    /// deployment with that one file changed would be built with.
    pub fn replacing(&self, runbook: Runbook) -> Result<Catalog, CatalogError> {
        let mut runbooks: Vec<Runbook> = self
            .runbooks
            .iter()
            .filter(|r| r.id != runbook.id)
            .cloned()
            .collect();
        runbooks.push(runbook);
        Self::from_runbooks(runbooks)
    }

    fn decode<N: AsRef<str>, T: AsRef<str>>(
        files: impl IntoIterator<Item = (N, T)>,
        decode: impl Fn(&str) -> Result<Runbook, String>,
    ) -> Result<Catalog, CatalogError> {
        let mut problems = Vec::new();
        let mut decoded = Vec::new();
        for (name, text) in files {
            match decode(text.as_ref()) {
                Ok(runbook) => decoded.push((name.as_ref().to_owned(), runbook)),
                Err(message) => problems.push(Problem {
                    file: name.as_ref().to_owned(),
                    field: String::new(),
                    message,
                }),
            }
        }
        match Self::check(decoded) {
            Ok(catalog) if problems.is_empty() => Ok(catalog),
            Ok(_) => Err(CatalogError(problems)),
            Err(CatalogError(more)) => {
                problems.extend(more);
                Err(CatalogError(problems))
            }
        }
    }

    /// Ids match file names and are unique, and every runbook is consistent.
    fn check(files: Vec<(String, Runbook)>) -> Result<Catalog, CatalogError> {
        let mut problems = Vec::new();
        let mut runbooks: Vec<Runbook> = Vec::new();
        for (name, runbook) in files {
            let name = name.as_str();
            let problem = |field: &str, message: String| Problem {
                file: name.to_owned(),
                field: field.to_owned(),
                message,
            };
            let stem = std::path::Path::new(name)
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or(name);
            if stem != runbook.id {
                problems.push(problem(
                    "id",
                    format!("{:?} differs from the file name {stem:?}", runbook.id),
                ));
            }
            if runbooks.iter().any(|r| r.id == runbook.id) {
                problems.push(problem(
                    "id",
                    format!("{:?} is used by another runbook", runbook.id),
                ));
            }
            problems.extend(runbook.problems().into_iter().map(|(f, m)| problem(&f, m)));
            runbooks.push(runbook);
        }
        if !problems.is_empty() {
            return Err(CatalogError(problems));
        }
        runbooks.sort_by(|a, b| (a.priority, &a.id).cmp(&(b.priority, &b.id)));
        Ok(Catalog { runbooks })
    }

    /// The first runbook, in priority order, whose matchers all hold.
    pub fn find(&self, labels: &Labels) -> Option<&Runbook> {
        self.runbooks.iter().find(|r| r.matches(labels))
    }

    /// The runbook with this id.
    pub fn get(&self, id: &str) -> Option<&Runbook> {
        self.runbooks.iter().find(|r| r.id == id)
    }

    /// All runbooks in the order they are tried.
    pub fn runbooks(&self) -> &[Runbook] {
        &self.runbooks
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::labels;

    const CRASHLOOP: &str = r#"
id: restart-pods
description: Restart crashlooping pods.
match:
  - alertname="KubePodCrashLooping"
  - severity=~"warning|critical"
risk: low
max_attempts: 2
cooldown: 15m
steps:
  - action: restart-pods
  - action: wait
    duration: 30s
  - action: health-check
    timeout: 2m
"#;

    fn parse_one(text: &str) -> Result<Catalog, CatalogError> {
        let id = text
            .lines()
            .find_map(|l| l.strip_prefix("id: "))
            .unwrap_or("x")
            .to_owned();
        Catalog::parse([(format!("{id}.yaml"), text)])
    }

    fn problems(text: &str) -> Vec<String> {
        parse_one(text)
            .unwrap_err()
            .0
            .into_iter()
            .map(|p| format!("{}: {}", p.field, p.message))
            .collect()
    }

    #[test]
    fn a_runbook_parses_and_matches() {
        let catalog = parse_one(CRASHLOOP).unwrap();
        let rb = catalog
            .find(&labels(&[
                ("alertname", "KubePodCrashLooping"),
                ("severity", "critical"),
            ]))
            .unwrap();
        assert_eq!(rb.id, "restart-pods");
        assert_eq!(rb.steps.len(), 3);
        assert_eq!(rb.cooldown.as_secs(), 900);
        assert!(!rb.approval_required());
        assert!(
            catalog
                .find(&labels(&[
                    ("alertname", "KubePodCrashLooping"),
                    ("severity", "info")
                ]))
                .is_none()
        );
    }

    #[test]
    fn unknown_fields_and_actions_are_refused_with_the_file_name() {
        let err = parse_one(&CRASHLOOP.replace("cooldown: 15m", "cooldown: 15m\nretries: 3"))
            .unwrap_err();
        assert_eq!(err.0[0].file, "restart-pods.yaml");
        assert!(err.0[0].message.contains("retries"), "{}", err.0[0].message);
        let err =
            parse_one(&CRASHLOOP.replace("action: restart-pods", "action: reboot")).unwrap_err();
        assert!(err.0[0].message.contains("reboot"), "{}", err.0[0].message);
        let err = parse_one(&CRASHLOOP.replace("duration: 30s", "duration: 30s\n    seconds: 1"))
            .unwrap_err();
        assert!(err.0[0].message.contains("seconds"), "{}", err.0[0].message);
    }

    #[test]
    fn declared_risk_must_cover_every_step() {
        let text = CRASHLOOP.replace("action: restart-pods", "action: rollback");
        assert_eq!(
            problems(&text),
            ["risk: declared low but steps[0] (rollback) is high risk"]
        );
    }

    #[test]
    fn high_risk_defaults_to_approval_and_opting_out_needs_a_reason() {
        let text = CRASHLOOP
            .replace("action: restart-pods", "action: rollback")
            .replace("risk: low", "risk: high");
        let rb = parse_one(&text).unwrap().runbooks()[0].clone();
        assert!(rb.approval_required());
        assert_eq!(rb.approval_timeout().as_secs(), 900);
        let opt_out = text.replace("risk: high", "risk: high\napproval:\n  required: false");
        assert_eq!(
            problems(&opt_out),
            ["approval.reason: a high-risk runbook that skips approval must say why"]
        );
        let with_reason = opt_out.replace(
            "required: false",
            "required: false\n  reason: safe direction",
        );
        assert!(!parse_one(&with_reason).unwrap().runbooks()[0].approval_required());
    }

    #[test]
    fn scale_bounds_are_checked() {
        let text = CRASHLOOP.replace("risk: low", "risk: medium").replace(
            "- action: restart-pods",
            "- action: scale\n    by: 4\n    bounds: {min: 5, max: 3, max_step: 2}",
        );
        assert_eq!(
            problems(&text),
            [
                "steps[0].bounds: min 5 is above max 3",
                "steps[0].bounds.max_step: must be at least 1 and at least |by| = 4"
            ]
        );
    }

    #[test]
    fn id_must_match_the_file_and_be_unique() {
        let err = Catalog::parse([("crash.yaml", CRASHLOOP), ("restart-pods.yml", CRASHLOOP)])
            .unwrap_err();
        let fields: Vec<_> = err
            .0
            .iter()
            .map(|p| (p.file.as_str(), p.message.as_str()))
            .collect();
        assert_eq!(
            fields,
            [
                (
                    "crash.yaml",
                    "\"restart-pods\" differs from the file name \"crash\""
                ),
                (
                    "restart-pods.yml",
                    "\"restart-pods\" is used by another runbook"
                ),
            ]
        );
    }

    #[test]
    fn lower_priority_wins_then_id() {
        let general = CRASHLOOP
            .replace("id: restart-pods", "id: a-general")
            .replace("  - severity=~\"warning|critical\"\n", "");
        let specific = CRASHLOOP.replace("risk: low", "priority: 10\nrisk: low");
        let catalog = Catalog::parse([
            ("a-general.yaml", general.as_str()),
            ("restart-pods.yaml", specific.as_str()),
        ])
        .unwrap();
        let crit = labels(&[
            ("alertname", "KubePodCrashLooping"),
            ("severity", "critical"),
        ]);
        assert_eq!(catalog.find(&crit).unwrap().id, "restart-pods");
        let info = labels(&[("alertname", "KubePodCrashLooping"), ("severity", "info")]);
        assert_eq!(catalog.find(&info).unwrap().id, "a-general");
    }

    #[test]
    fn plan_stays_in_bounds() {
        let b = ReplicaBounds {
            min: 2,
            max: 10,
            max_step: 3,
        };
        assert_eq!(b.plan(4, 2), Ok(6));
        assert_eq!(b.plan(9, 3), Ok(10), "clamped to max");
        assert_eq!(b.plan(3, -3), Ok(2), "clamped to min");
        assert_eq!(
            b.plan(10, 1),
            Err(BoundsViolation::AtBound {
                current: 10,
                bound: "upper",
                min: 2,
                max: 10
            })
        );
        assert_eq!(
            b.plan(2, -1),
            Err(BoundsViolation::AtBound {
                current: 2,
                bound: "lower",
                min: 2,
                max: 10
            })
        );
        assert_eq!(
            b.plan(4, 4),
            Err(BoundsViolation::StepTooLarge { by: 4, max_step: 3 })
        );
    }

    #[test]
    fn step_risks_and_kinds() {
        let bounds = ReplicaBounds {
            min: 1,
            max: 5,
            max_step: 1,
        };
        assert_eq!(Step::Scale { by: 1, bounds }.risk(), Risk::Medium);
        assert_eq!(Step::Scale { by: -1, bounds }.risk(), Risk::High);
        assert_eq!(
            Step::Drain {
                timeout: PromDuration::from_secs(60)
            }
            .risk(),
            Risk::High
        );
        assert!(
            Step::Drain {
                timeout: PromDuration::from_secs(60)
            }
            .accepts(TargetKind::Node)
        );
        assert!(!Step::RestartPods {}.accepts(TargetKind::Node));
        assert!(Step::RestartPods {}.accepts(TargetKind::Pod));
        assert!(!Step::DeletePod {}.accepts(TargetKind::Deployment));
    }
}
