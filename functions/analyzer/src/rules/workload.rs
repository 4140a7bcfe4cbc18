//! Rules about the target's own containers: images, configuration, memory, rollouts, crashes,
//! readiness, dependencies, CPU.

use super::node::node_conditions;
use super::*;

pub(super) fn image_pull(containers: &[Container]) -> Option<Candidate> {
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

pub(super) fn config_missing(evidence: &Evidence, containers: &[Container]) -> Option<Candidate> {
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

pub(super) fn oom_killed(containers: &[Container]) -> Option<Candidate> {
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

pub(super) fn bad_rollout(evidence: &Evidence, containers: &[Container]) -> Option<Candidate> {
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

pub(super) fn app_crash(
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

pub(super) fn readiness_failing(
    evidence: &Evidence,
    containers: &[Container],
) -> Option<Candidate> {
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

pub(super) fn dependency_down(evidence: &Evidence, containers: &[Container]) -> Option<Candidate> {
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

pub(super) fn cpu_saturation(evidence: &Evidence) -> Option<Candidate> {
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
