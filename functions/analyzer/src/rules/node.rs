//! Rules about the nodes the target's pods run on: not Ready, out of disk, nowhere to schedule.

use super::*;

pub(super) fn unschedulable(evidence: &Evidence) -> Option<Candidate> {
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
pub(super) fn node_conditions(
    evidence: &Evidence,
) -> Vec<(&str, &str, &str, Option<DateTime<Utc>>)> {
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

pub(super) fn node_not_ready(evidence: &Evidence) -> Option<Candidate> {
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

pub(super) fn disk_pressure(evidence: &Evidence) -> Option<Candidate> {
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
