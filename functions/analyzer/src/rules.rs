//! The deterministic analyzer: the default, and the fallback for the LLM. Each rule reads the
//! evidence and proposes a cause with a score; the highest score wins. Scores carry the
//! weighing: a specific, current signal (an image that cannot be pulled, a node that is not
//! Ready) outranks a generic one (a crash), a crash long before the node failed counts little,
//! and an OOM-killed container that is running fine is not why another container fails.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use serde::{Deserialize, Serialize};

use crate::evidence::{Evidence, utc};

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

fn image_pull(containers: &[Container]) -> Option<Candidate> {
    let c = containers.iter().find(|c| {
        c.waiting().is_some_and(|(r, _)| {
            matches!(
                r,
                "ErrImagePull" | "ImagePullBackOff" | "InvalidImageName" | "ErrImageNeverPull"
            )
        })
    })?;
    let (reason, message) = c.waiting().unwrap_or_default();
    let image = c.status.image.clone();
    Some(Candidate {
        cause: Cause::ImagePull,
        score: 0.95,
        headline: format!(
            "The image {image} of container {} cannot be pulled ({reason})",
            c.name()
        ),
        facts: [
            format!("pod {} container {}: {reason}", c.pod_name(), c.name()),
            format!("image {image}"),
        ]
        .into_iter()
        .chain((!message.is_empty()).then(|| message.to_owned()))
        .collect(),
    })
}

fn config_missing(evidence: &Evidence, containers: &[Container]) -> Option<Candidate> {
    if let Some(c) = containers.iter().find(|c| {
        c.waiting()
            .is_some_and(|(r, _)| r == "CreateContainerConfigError")
    }) {
        let (reason, message) = c.waiting().unwrap_or_default();
        return Some(Candidate {
            cause: Cause::ConfigMissing,
            score: 0.95,
            headline: format!(
                "Container {} of {} cannot start: its configuration is missing",
                c.name(),
                c.pod_name()
            ),
            facts: vec![
                format!("pod {} container {}: {reason}", c.pod_name(), c.name()),
                message.to_owned(),
            ],
        });
    }
    let event = evidence.events.iter().find(|e| {
        let message = e.message.as_deref().unwrap_or("");
        e.reason.as_deref() == Some("FailedMount")
            && (message.contains("configmap") || message.contains("secret"))
            && message.contains("not found")
    })?;
    Some(Candidate {
        cause: Cause::ConfigMissing,
        score: 0.93,
        headline: format!(
            "Pod {} cannot mount a ConfigMap or Secret that does not exist",
            event.involved_object.name.as_deref().unwrap_or("?")
        ),
        facts: vec![format!(
            "FailedMount: {}",
            event.message.as_deref().unwrap_or("")
        )],
    })
}

fn unschedulable(evidence: &Evidence) -> Option<Candidate> {
    let pending = evidence.pods.iter().find(|p| {
        p.status.as_ref().is_some_and(|s| {
            s.phase.as_deref() == Some("Pending")
                && s.conditions.iter().flatten().any(|c| {
                    c.type_ == "PodScheduled"
                        && c.status == "False"
                        && c.reason.as_deref() == Some("Unschedulable")
                })
        })
    });
    let event = evidence
        .events
        .iter()
        .find(|e| e.reason.as_deref() == Some("FailedScheduling"));
    let pod = pending
        .and_then(|p| p.metadata.name.clone())
        .or_else(|| event.and_then(|e| e.involved_object.name.clone()))?;
    let message = event
        .and_then(|e| e.message.clone())
        .or_else(|| {
            pending
                .and_then(|p| p.status.as_ref())
                .and_then(|s| s.conditions.as_ref())
                .and_then(|cs| cs.iter().find(|c| c.type_ == "PodScheduled"))
                .and_then(|c| c.message.clone())
        })
        .unwrap_or_default();
    Some(Candidate {
        cause: Cause::Unschedulable,
        score: 0.9,
        headline: format!("Pod {pod} cannot be scheduled on any node"),
        facts: vec![format!("pod {pod} Pending: {message}")],
    })
}

/// Conditions of each node: (node, type, status, since).
fn node_conditions(evidence: &Evidence) -> Vec<(&str, &str, &str, Option<DateTime<Utc>>)> {
    evidence
        .nodes
        .iter()
        .flat_map(|n| {
            let name = n.metadata.name.as_deref().unwrap_or("?");
            n.status
                .iter()
                .flat_map(|s| s.conditions.iter().flatten())
                .map(move |c| {
                    (
                        name,
                        c.type_.as_str(),
                        c.status.as_str(),
                        c.last_transition_time.as_ref().and_then(utc),
                    )
                })
        })
        .collect()
}

/// Whether a node bears on the incident: the target's pods run on it, the alert names it, or
/// a node failure evicted one of them.
fn concerns(evidence: &Evidence, node: &str) -> bool {
    let hosts = evidence
        .pods
        .iter()
        .any(|p| p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(node));
    let named = evidence.alert.labels.get("node").map(String::as_str) == Some(node);
    let evicted = evidence.events.iter().any(|e| {
        e.reason.as_deref() == Some("TaintManagerEviction")
            && e.involved_object.kind.as_deref() == Some("Pod")
    });
    hosts || named || evicted
}

fn node_not_ready(evidence: &Evidence) -> Option<Candidate> {
    let (node, _, status, since) = node_conditions(evidence)
        .into_iter()
        .find(|(_, t, s, _)| *t == "Ready" && *s != "True")?;
    let on_it: Vec<&str> = evidence
        .pods
        .iter()
        .filter(|p| p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(node))
        .filter_map(|p| p.metadata.name.as_deref())
        .collect();
    let evicted: Vec<&str> = evidence
        .events
        .iter()
        .filter(|e| e.reason.as_deref() == Some("TaintManagerEviction"))
        .filter_map(|e| e.involved_object.name.as_deref())
        .collect();
    let mut facts = vec![format!(
        "node {node} Ready={status}{}",
        since
            .map(|t| format!(" since {}", t.to_rfc3339()))
            .unwrap_or_default()
    )];
    if !on_it.is_empty() {
        facts.push(format!("pods on it: {}", on_it.join(", ")));
    }
    if !evicted.is_empty() {
        facts.push(format!("evicted: {}", evicted.join(", ")));
    }
    Some(Candidate {
        cause: Cause::NodeNotReady,
        // A node in trouble elsewhere in the cluster is context, not the cause.
        score: if concerns(evidence, node) { 0.9 } else { 0.35 },
        headline: format!("Node {node} is not Ready; the kubelet stopped reporting"),
        facts,
    })
}

fn disk_pressure(evidence: &Evidence) -> Option<Candidate> {
    if let Some((node, _, _, since)) = node_conditions(evidence)
        .into_iter()
        .find(|(_, t, s, _)| *t == "DiskPressure" && *s == "True")
    {
        return Some(Candidate {
            cause: Cause::DiskPressure,
            score: if concerns(evidence, node) { 0.93 } else { 0.35 },
            headline: format!("Node {node} is out of disk (DiskPressure); the kubelet evicts pods"),
            facts: vec![format!(
                "node {node} DiskPressure=True{}",
                since
                    .map(|t| format!(" since {}", t.to_rfc3339()))
                    .unwrap_or_default()
            )],
        });
    }
    let evicted = evidence.pods.iter().find(|p| {
        p.status.as_ref().is_some_and(|s| {
            s.reason.as_deref() == Some("Evicted")
                && s.message
                    .as_deref()
                    .is_some_and(|m| m.contains("ephemeral-storage") || m.contains("DiskPressure"))
        })
    })?;
    let message = evicted
        .status
        .as_ref()
        .and_then(|s| s.message.clone())
        .unwrap_or_default();
    Some(Candidate {
        cause: Cause::DiskPressure,
        score: 0.9,
        headline: format!(
            "Pod {} was evicted for disk",
            evicted.metadata.name.as_deref().unwrap_or("?")
        ),
        facts: vec![message],
    })
}

fn oom_killed(containers: &[Container]) -> Option<Candidate> {
    let oom: Vec<&Container> = containers
        .iter()
        .filter(|c| c.last_exit().is_some_and(|(r, _, _)| r == "OOMKilled"))
        .collect();
    let first = oom.first()?;
    // OOM explains the incident only if the killed container is the one failing; a sidecar
    // that was killed and runs fine again is a side note when another container fails.
    let failing = oom.iter().find(|c| c.failing()).copied();
    let others_fail = containers
        .iter()
        .any(|c| c.failing() && !oom_named(&oom, c));
    let c = failing.unwrap_or(first);
    let score = match (failing.is_some(), others_fail) {
        (true, _) => 0.9,
        (false, false) => 0.6,
        (false, true) => 0.3,
    };
    let limit = c
        .pod
        .spec
        .as_ref()
        .and_then(|s| s.containers.iter().find(|k| k.name == c.name()))
        .and_then(|k| k.resources.as_ref())
        .and_then(|r| r.limits.as_ref())
        .and_then(|l| l.get("memory"))
        .map(|q| q.0.clone());
    let mut facts = vec![format!(
        "pod {} container {}: OOMKilled, exit code 137, {} restarts",
        c.pod_name(),
        c.name(),
        c.status.restart_count
    )];
    facts.extend(limit.map(|l| format!("memory limit {l}")));
    Some(Candidate {
        cause: Cause::OomKilled,
        score,
        headline: format!(
            "Container {} of {} is killed for exceeding its memory limit",
            c.name(),
            c.pod_name()
        ),
        facts,
    })
}

fn oom_named(oom: &[&Container], c: &Container) -> bool {
    oom.iter()
        .any(|o| o.name() == c.name() && o.pod_name() == c.pod_name())
}

/// The revision of each ReplicaSet (by pod-template-hash) and its first image.
fn revisions(evidence: &Evidence) -> BTreeMap<String, (u64, String)> {
    evidence
        .replicasets
        .iter()
        .filter_map(|rs| {
            let hash = rs
                .metadata
                .labels
                .as_ref()?
                .get("pod-template-hash")?
                .clone();
            let revision = rs
                .metadata
                .annotations
                .as_ref()?
                .get("deployment.kubernetes.io/revision")?
                .parse()
                .ok()?;
            let image = rs
                .spec
                .as_ref()
                .and_then(|s| s.template.as_ref())
                .and_then(|t| t.spec.as_ref())
                .and_then(|s| s.containers.first())
                .and_then(|c| c.image.clone())
                .unwrap_or_default();
            Some((hash, (revision, image)))
        })
        .collect()
}

fn bad_rollout(evidence: &Evidence, containers: &[Container]) -> Option<Candidate> {
    let revisions = revisions(evidence);
    let (new_hash, (new_rev, new_image)) = revisions
        .iter()
        .max_by_key(|(_, (rev, _))| *rev)
        .map(|(h, v)| (h.clone(), v.clone()))?;
    let (old_rev, old_image) = revisions
        .values()
        .filter(|(rev, _)| *rev < new_rev)
        .max_by_key(|(rev, _)| *rev)
        .map(|(r, i)| (*r, i.clone()))?;
    let new_failing = containers
        .iter()
        .any(|c| c.failing() && c.revision_hash() == Some(new_hash.as_str()));
    // A stalled rolling update keeps the old revision's pods serving: the old revision works
    // and the new one does not. Without old pods, a failing current revision is no evidence
    // that the change broke it (it may have run for days).
    let old: Vec<&Container> = containers
        .iter()
        .filter(|c| c.revision_hash().is_some_and(|h| h != new_hash))
        .collect();
    let old_healthy = !old.is_empty() && old.iter().all(|c| !c.failing());
    let deadline = evidence
        .deployment
        .as_ref()
        .and_then(|d| d.status.as_ref())
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| {
            cs.iter().any(|c| {
                c.type_ == "Progressing" && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
            })
        });
    // A restart makes a revision too (only an annotation changes); the same pod spec is no
    // change that could break anything.
    let spec = |hash: &str| {
        evidence
            .replicasets
            .iter()
            .find(|rs| {
                rs.metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get("pod-template-hash"))
                    == Some(&hash.to_owned())
            })
            .and_then(|rs| rs.spec.as_ref()?.template.as_ref()?.spec.clone())
    };
    let old_hash = revisions
        .iter()
        .find(|(_, (rev, _))| *rev == old_rev)
        .map(|(h, _)| h.clone())
        .unwrap_or_default();
    let changed = spec(&new_hash) != spec(&old_hash);
    if !(changed && new_failing && (old_healthy || deadline)) {
        return None;
    }
    Some(Candidate {
        cause: Cause::BadRollout,
        score: 0.85,
        headline: format!(
            "Revision {new_rev} ({new_image}) fails while revision {old_rev} ({old_image}) ran"
        ),
        facts: vec![
            format!("revision {new_rev}: image {new_image}, its pods fail"),
            format!("revision {old_rev}: image {old_image}"),
        ]
        .into_iter()
        .chain(deadline.then(|| "Progressing=False: ProgressDeadlineExceeded".to_owned()))
        .collect(),
    })
}

fn app_crash(
    evidence: &Evidence,
    containers: &[Container],
    now: Option<DateTime<Utc>>,
) -> Option<Candidate> {
    let crashed = |c: &&Container| {
        let backoff = c
            .waiting()
            .is_some_and(|(r, _)| r == "CrashLoopBackOff" || r == "Error");
        let exit = c
            .last_exit()
            .is_some_and(|(r, code, _)| code != 0 && r != "OOMKilled");
        backoff || exit
    };
    // The main container first, then any other.
    let c = containers
        .iter()
        .filter(crashed)
        .max_by_key(|c| (c.main, c.failing()))?;
    let (reason, code, finished) = c.last_exit().unwrap_or(("", 0, None));
    // Restarts from long before the present explain little, and on a node that is not Ready
    // the pod's status is the kubelet's last word, not the present.
    let node_down = node_conditions(evidence)
        .iter()
        .any(|(n, t, s, _)| Some(*n) == c.node() && *t == "Ready" && *s != "True");
    let recent = !node_down
        && match (finished, now) {
            (Some(f), Some(now)) => now - f < Duration::minutes(RECENT),
            _ => true,
        };
    let score = match (recent && c.failing(), c.main) {
        (true, true) => 0.75,
        (true, false) => 0.6,
        (false, _) => 0.3,
    };
    let line = last_log_line(evidence, c);
    let mut facts = vec![format!(
        "pod {} container {}: exit code {code}{}, {} restarts",
        c.pod_name(),
        c.name(),
        if reason.is_empty() {
            String::new()
        } else {
            format!(" ({reason})")
        },
        c.status.restart_count
    )];
    facts.extend(line.map(|l| format!("last log line: {l}")));
    Some(Candidate {
        cause: Cause::AppCrash,
        score,
        headline: format!(
            "Container {} of {} exits with code {code} and restarts",
            c.name(),
            c.pod_name()
        ),
        facts,
    })
}

/// The line that says why the container stopped: the last that reads like an error (a stack
/// trace's frames come after its panic), else the last line; the previous container first.
fn last_log_line<'a>(evidence: &'a Evidence, c: &Container) -> Option<&'a str> {
    const ERRORS: &[&str] = &["panic", "fatal", "error", "exception", "traceback"];
    let mut tails: Vec<_> = evidence
        .logs
        .iter()
        .filter(|l| l.pod == c.pod_name() && l.container == c.name())
        .collect();
    tails.sort_by_key(|l| !l.previous);
    let tail = tails.first()?;
    let lines = || {
        tail.text
            .lines()
            .rev()
            .map(str::trim)
            .filter(|l| !l.is_empty())
    };
    lines()
        .find(|l| {
            let lower = l.to_ascii_lowercase();
            ERRORS.iter().any(|e| lower.contains(e))
        })
        .or_else(|| lines().next())
}

fn readiness_failing(evidence: &Evidence, containers: &[Container]) -> Option<Candidate> {
    let c = containers
        .iter()
        .filter(|c| !c.status.ready && c.waiting().is_none())
        .max_by_key(|c| c.main)?;
    let probe = evidence.events.iter().find(|e| {
        e.reason.as_deref() == Some("Unhealthy")
            && e.message
                .as_deref()
                .is_some_and(|m| m.contains("Readiness probe failed"))
    });
    Some(Candidate {
        cause: Cause::ReadinessFailing,
        score: if probe.is_some() { 0.7 } else { 0.55 },
        headline: format!(
            "Container {} of {} runs but fails its readiness probe",
            c.name(),
            c.pod_name()
        ),
        facts: [format!(
            "pod {} container {}: running, not ready",
            c.pod_name(),
            c.name()
        )]
        .into_iter()
        .chain(probe.and_then(|e| e.message.clone()))
        .collect(),
    })
}

/// What a refused or unreachable dependency looks like in logs.
const DEPENDENCY_ERRORS: &[&str] = &[
    "connection refused",
    "econnrefused",
    "no such host",
    "could not connect",
    "connection reset",
    "upstream connect error",
    "no route to host",
    "i/o timeout",
];

fn dependency_down(evidence: &Evidence, containers: &[Container]) -> Option<Candidate> {
    let unhealthy = containers.iter().any(|c| c.failing())
        || evidence
            .metrics
            .iter()
            .any(|m| m.query.contains("5..") && m.value > 0.05);
    let (tail, line) = evidence.logs.iter().find_map(|l| {
        l.text
            .lines()
            .find(|line| {
                let lower = line.to_ascii_lowercase();
                DEPENDENCY_ERRORS.iter().any(|p| lower.contains(p))
            })
            .map(|line| (l, line.trim()))
    })?;
    let target = dependency_address(line);
    Some(Candidate {
        cause: Cause::DependencyDown,
        score: if unhealthy { 0.8 } else { 0.5 },
        headline: match &target {
            Some(t) => format!("A dependency, {t}, refuses or drops connections"),
            None => "A dependency refuses or drops connections".into(),
        },
        facts: vec![format!("{} {}: {line}", tail.pod, tail.container)],
    })
}

/// `host:port` from a log line ("dial tcp database:5432: connect: connection refused").
fn dependency_address(line: &str) -> Option<String> {
    line.split(|c: char| c.is_whitespace() || c == '"' || c == '(' || c == ')')
        .map(|w| w.trim_end_matches([':', ',', '.']))
        .find(|w| {
            w.rsplit_once(':').is_some_and(|(host, port)| {
                !host.is_empty()
                    && !host.contains('/')
                    && port.len() <= 5
                    && !port.is_empty()
                    && port.bytes().all(|b| b.is_ascii_digit())
            })
        })
        .map(str::to_owned)
}

fn cpu_saturation(evidence: &Evidence) -> Option<Candidate> {
    let m = evidence
        .metrics
        .iter()
        .filter(|m| m.query.contains("cpu") && m.value >= 0.5)
        .max_by(|a, b| a.value.total_cmp(&b.value))?;
    Some(Candidate {
        cause: Cause::CpuSaturation,
        score: 0.5 + (m.value.min(1.0) * 0.3),
        headline: format!(
            "CPU is at the limit: throttled {:.0}% of the time",
            m.value * 100.0
        ),
        facts: vec![format!("{} = {:.2}", m.query, m.value)],
    })
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
