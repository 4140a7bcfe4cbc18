//! The deterministic analyzer: the default, and the fallback for the LLM. Each rule reads the
//! evidence and proposes a cause with a score; the highest score wins. Scores carry the
//! weighing: a specific, current signal (an image that cannot be pulled, a node that is not
//! Ready) outranks a generic one (a crash), a crash long before the node failed counts little,
//! and an OOM-killed container that is running fine is not why another container fails.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use serde::{Deserialize, Serialize};

use crate::evidence::Evidence;
use selfheal_eks::time::utc;

mod node;
mod workload;

use node::{disk_pressure, node_not_ready, unschedulable};
use workload::{
    app_crash, bad_rollout, config_missing, cpu_saturation, dependency_down, image_pull,
    oom_killed, readiness_failing,
};

selfheal_core::spelled_enum!(
    /// The vocabulary of causes.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    pub enum Cause {
        /// The application exits with an error.
        AppCrash = "app-crash",
        /// A container is killed for exceeding its memory limit.
        OomKilled = "oom-killed",
        /// The image cannot be pulled.
        ImagePull = "image-pull",
        /// A new revision of the deployment is broken.
        BadRollout = "bad-rollout",
        /// A ConfigMap, Secret or key the pod needs is missing.
        ConfigMissing = "config-missing",
        /// Readiness probes fail.
        ReadinessFailing = "readiness-failing",
        /// Something the workload calls is down.
        DependencyDown = "dependency-down",
        /// CPU at the limit: throttling.
        CpuSaturation = "cpu-saturation",
        /// The node is not Ready.
        NodeNotReady = "node-not-ready",
        /// Pods cannot be scheduled.
        Unschedulable = "unschedulable",
        /// The node is out of disk.
        DiskPressure = "disk-pressure",
        /// Nothing in the evidence explains the alert.
        Unknown = "unknown",
    }
);

/// A root cause with what supports it and what a human should do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The cause.
    pub cause: Cause,
    /// Two to four lines.
    pub summary: String,
    /// The facts the cause rests on (container, exit code, reason, image, revision, node).
    pub key_facts: Vec<String>,
    /// What to do next.
    pub next_steps: Vec<String>,
    /// 0 to 1.
    pub confidence: f64,
    /// `deterministic`, or the LLM provider that wrote it.
    pub provider: String,
    /// Why the deterministic finding stands in for the LLM's, when it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_reason: Option<String>,
}

/// A proposed cause.
#[derive(Debug, Clone)]
struct Candidate {
    cause: Cause,
    score: f64,
    /// What it is, in one line ("container api of backend-7d9-x exits with code 1").
    headline: String,
    facts: Vec<String>,
}

/// One container of one pod, as the rules read it.
struct Container<'a> {
    pod: &'a Pod,
    status: &'a ContainerStatus,
    main: bool,
}

impl Container<'_> {
    fn pod_name(&self) -> &str {
        self.pod.metadata.name.as_deref().unwrap_or("?")
    }
    fn name(&self) -> &str {
        &self.status.name
    }
    fn waiting(&self) -> Option<(&str, &str)> {
        let w = self.status.state.as_ref()?.waiting.as_ref()?;
        Some((
            w.reason.as_deref().unwrap_or(""),
            w.message.as_deref().unwrap_or(""),
        ))
    }
    /// The last termination: reason, exit code, when.
    fn last_exit(&self) -> Option<(&str, i32, Option<DateTime<Utc>>)> {
        let t = self.status.last_state.as_ref()?.terminated.as_ref()?;
        Some((
            t.reason.as_deref().unwrap_or(""),
            t.exit_code,
            t.finished_at.as_ref().and_then(utc),
        ))
    }
    /// Not ready, or waiting to (re)start: this container is why the pod is unhealthy.
    fn failing(&self) -> bool {
        !self.status.ready || self.waiting().is_some()
    }
    fn node(&self) -> Option<&str> {
        self.pod.spec.as_ref()?.node_name.as_deref()
    }
    fn revision_hash(&self) -> Option<&str> {
        self.pod
            .metadata
            .labels
            .as_ref()?
            .get("pod-template-hash")
            .map(String::as_str)
    }
}

/// How long ago a termination still explains the present.
const RECENT: i64 = 30;

/// Names the cause of what the evidence shows.
pub fn analyze(evidence: &Evidence) -> Finding {
    let now = evidence.observed_at();
    let containers = containers(evidence);
    let mut candidates: Vec<Candidate> = [
        image_pull(&containers),
        config_missing(evidence, &containers),
        unschedulable(evidence),
        node_not_ready(evidence),
        disk_pressure(evidence),
        oom_killed(&containers),
        bad_rollout(evidence, &containers),
        app_crash(evidence, &containers, now),
        readiness_failing(evidence, &containers),
        dependency_down(evidence, &containers),
        cpu_saturation(evidence),
    ]
    .into_iter()
    .flatten()
    .collect();
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
    let Some(best) = candidates.first().cloned() else {
        return Finding {
            cause: Cause::Unknown,
            summary: "Nothing in the evidence explains the alert: pods, events, logs, nodes and \
                      metrics show no failure.\nThe alert may have been transient; check its \
                      query against the dashboards."
                .into(),
            key_facts: vec![],
            next_steps: vec!["Compare the alert's expression with the dashboards.".into()],
            confidence: 0.2,
            provider: "deterministic".into(),
            fallback_reason: None,
        };
    };
    // A close runner-up lowers the confidence, and is worth a line.
    let runner_up = candidates
        .iter()
        .skip(1)
        .find(|c| c.cause != best.cause && best.score - c.score < 0.15);
    let confidence = if runner_up.is_some() {
        best.score - 0.1
    } else {
        best.score
    };
    let mut summary = vec![format!("{}.", best.headline)];
    if let Some(fact) = best.facts.first() {
        summary.push(format!("Evidence: {fact}."));
    }
    if let Some(other) = runner_up {
        summary.push(format!(
            "Also seen: {} ({}).",
            other.cause.as_str(),
            other.headline
        ));
    }
    Finding {
        cause: best.cause,
        summary: summary.join("\n"),
        next_steps: next_steps(best.cause, evidence, &best),
        key_facts: best.facts,
        confidence: (confidence * 100.0).round() / 100.0,
        provider: "deterministic".into(),
        fallback_reason: None,
    }
}

fn containers(evidence: &Evidence) -> Vec<Container<'_>> {
    let wanted = evidence.alert.labels.get("container");
    let mut out = vec![];
    for pod in &evidence.pods {
        let first = pod
            .spec
            .as_ref()
            .and_then(|s| s.containers.first())
            .map(|c| c.name.as_str());
        for status in pod
            .status
            .iter()
            .flat_map(|s| s.container_statuses.iter().flatten())
        {
            // The alert's container when it names one, else the pod's first container.
            let main = match wanted {
                Some(w) => *w == status.name,
                None => first.is_none_or(|f| f == status.name),
            };
            out.push(Container { pod, status, main });
        }
    }
    out
}

fn next_steps(cause: Cause, evidence: &Evidence, best: &Candidate) -> Vec<String> {
    let workload = evidence
        .deployment
        .as_ref()
        .and_then(|d| d.metadata.name.clone())
        .map(|d| format!("deployment {d}"))
        .unwrap_or_else(|| "the workload".into());
    let steps: Vec<String> = match cause {
        Cause::AppCrash => vec![
            "Read the previous container's log (kubectl logs --previous) for the error before the exit.".into(),
            format!("Check what changed for {workload}: config, dependencies, data."),
        ],
        Cause::OomKilled => vec![
            "Compare the container's memory use with its limit; raise the limit or fix the leak.".into(),
            "Look for a recent change in load or payload sizes.".into(),
        ],
        Cause::ImagePull => vec![
            "Check that the image tag exists in the registry and the node can reach it.".into(),
            "Check imagePullSecrets and the node role's registry permissions.".into(),
        ],
        Cause::BadRollout => vec![
            format!("Roll {workload} back to the previous revision (the rollout-rollback runbook)."),
            "Diff the two revisions' templates before rolling forward again.".into(),
        ],
        Cause::ConfigMissing => vec![
            "Create the missing ConfigMap or Secret (or key), or fix the reference in the pod spec.".into(),
        ],
        Cause::ReadinessFailing => vec![
            "Call the readiness endpoint from inside the pod; compare the probe's path, port and timeout with the app.".into(),
            "Check what the readiness check depends on.".into(),
        ],
        Cause::DependencyDown => vec![
            "Check the dependency's own health and its Service endpoints.".into(),
            "Restarting this workload will not help until the dependency is back.".into(),
        ],
        Cause::CpuSaturation => vec![
            format!("Scale {workload} out, or raise its CPU limit."),
            "Look for a traffic spike or a hot code path in the profiles.".into(),
        ],
        Cause::NodeNotReady => vec![
            "Check the node's kubelet and the EC2 instance status; replace the node if it does not recover.".into(),
            "Its pods are rescheduled once the node is drained or removed.".into(),
        ],
        Cause::Unschedulable => vec![
            "Compare the pods' requests, node selectors and taints with the nodes' free capacity.".into(),
            "Check the cluster autoscaler or node group limits.".into(),
        ],
        Cause::DiskPressure => vec![
            "Free disk on the node (images, logs, emptyDir) or replace it.".into(),
            "Set ephemeral-storage limits on the pods that fill it.".into(),
        ],
        Cause::Unknown => vec![],
    };
    // Keep the steps tied to the facts: the first fact is what to look at first.
    let mut steps = steps;
    if let Some(fact) = best.facts.first() {
        steps.push(format!("Start from: {fact}."));
    }
    steps
}
