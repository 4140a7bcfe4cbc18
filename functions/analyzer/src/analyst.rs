//! The analysis: the deterministic finding always; an LLM's when one is configured and its answer
//! passes every check. The prompt holds only the redacted, structured digest of the evidence and
//! the deterministic finding, trimmed to the incident's token budget. The answer must be JSON of
//! the agreed shape, name a cause from the vocabulary, and mention only resources the evidence
//! holds; otherwise the deterministic finding stands, with the reason.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::evidence::Evidence;
use crate::llm::{Prompt, Provider};
use crate::rules::{self, Cause, Finding};

/// Limits on what the LLM is sent and may answer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    /// max_tokens for the answer.
    pub max_tokens: u32,
    /// Prompt and answer together, per incident.
    pub tokens: u32,
    /// The whole call.
    pub timeout: Duration,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            max_tokens: 600,
            tokens: 6000,
            timeout: Duration::from_secs(30),
        }
    }
}

/// A conservative token estimate: JSON and logs run about 3-4 bytes per token; count 3.
pub fn estimate_tokens(text: &str) -> u32 {
    u32::try_from(text.len().div_ceil(3)).unwrap_or(u32::MAX)
}

/// Turns evidence into a finding.
pub struct Analyst<P> {
    provider: Option<P>,
    budget: Budget,
}

const SYSTEM: &str = "You are an SRE assistant explaining a Kubernetes incident on EKS. You \
suggest; you never act. Use only the evidence given (secrets in it are replaced by \
[REDACTED:kind:n]). Answer with one JSON object and nothing else: {\"summary\": string of 2 to 4 \
lines separated by \\n, \"cause\": one of CAUSES, \"confidence\": number from 0 to 1, \
\"next_steps\": array of 1 to 5 short strings}. Name pods, nodes, containers and deployments \
exactly as the evidence spells them, and no others. A deterministic analysis is included; \
disagree only when the evidence supports it.";

/// Log lines per container in the prompt, tried in order until it fits the budget.
const LOG_LINES: [usize; 4] = [40, 15, 5, 0];

impl<P: Provider> Analyst<P> {
    /// An analyst; without a provider it answers with the rules alone.
    pub fn new(provider: Option<P>, budget: Budget) -> Self {
        Analyst { provider, budget }
    }

    /// The finding for `evidence`, which the caller has redacted. `prior` (the finding when the
    /// incident opened) stands in for the rules when the present evidence shows nothing: the
    /// remediation may have removed what failed.
    pub async fn analyze(&self, evidence: &Evidence, prior: Option<&Finding>) -> Finding {
        let deterministic = match (rules::analyze(evidence), prior) {
            (now, Some(prior)) if now.cause == Cause::Unknown => prior.clone(),
            (now, _) => now,
        };
        let Some(provider) = &self.provider else {
            return deterministic;
        };
        let fallback = |reason: String| {
            tracing::warn!(provider = %provider.name(), reason = %reason, "LLM answer not used");
            Finding {
                fallback_reason: Some(reason),
                ..deterministic.clone()
            }
        };
        let Some(prompt) = self.prompt(evidence, &deterministic) else {
            return fallback(format!(
                "the evidence does not fit the token budget of {}",
                self.budget.tokens
            ));
        };
        let completion =
            match tokio::time::timeout(self.budget.timeout, provider.complete(&prompt)).await {
                Err(_) => return fallback("timed out".into()),
                Ok(Err(e)) => return fallback(e.to_string()),
                Ok(Ok(c)) => c,
            };
        tracing::info!(
            provider = %provider.name(),
            input_tokens = completion.input_tokens,
            output_tokens = completion.output_tokens,
            "LLM answered"
        );
        match accept(&completion.text, evidence, &deterministic) {
            Ok(mut finding) => {
                finding.provider = provider.name();
                finding
            }
            Err(reason) => fallback(reason),
        }
    }

    /// The prompt with as many log lines as the budget allows; none when even the smallest
    /// digest does not fit.
    pub fn prompt(&self, evidence: &Evidence, deterministic: &Finding) -> Option<Prompt> {
        let causes: Vec<&str> = Cause::ALL.iter().map(|c| c.as_str()).collect();
        let system = SYSTEM.replace("CAUSES", &causes.join(", "));
        LOG_LINES.into_iter().find_map(|lines| {
            let user = json!({
                "evidence": digest(evidence, lines),
                "deterministic_analysis": {
                    "cause": deterministic.cause,
                    "key_facts": deterministic.key_facts,
                    "confidence": deterministic.confidence,
                },
            })
            .to_string();
            let total = estimate_tokens(&system) + estimate_tokens(&user) + self.budget.max_tokens;
            (total <= self.budget.tokens).then(|| Prompt {
                system: system.clone(),
                user,
                max_tokens: self.budget.max_tokens,
            })
        })
    }
}

/// The evidence as the prompt holds it: the facts that matter, not whole API objects.
pub fn digest(evidence: &Evidence, log_lines: usize) -> Value {
    let time = |t: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>| {
        t.map(|t| t.0.to_string())
    };
    let pods: Vec<Value> = evidence
        .pods
        .iter()
        .map(|p| {
            let status = p.status.as_ref();
            let containers: Vec<Value> = status
                .iter()
                .flat_map(|s| s.container_statuses.iter().flatten())
                .map(|c| {
                    let state = c.state.as_ref();
                    let last = c.last_state.as_ref().and_then(|s| s.terminated.as_ref());
                    json!({
                        "name": c.name,
                        "image": c.image,
                        "ready": c.ready,
                        "restarts": c.restart_count,
                        "waiting": state.and_then(|s| s.waiting.as_ref()).map(|w| json!({"reason": w.reason, "message": w.message})),
                        "last_termination": last.map(|t| json!({"reason": t.reason, "exit_code": t.exit_code, "finished_at": time(t.finished_at.as_ref())})),
                    })
                })
                .collect();
            json!({
                "name": p.metadata.name,
                "node": p.spec.as_ref().and_then(|s| s.node_name.clone()),
                "phase": status.and_then(|s| s.phase.clone()),
                "reason": status.and_then(|s| s.reason.clone()),
                "revision_hash": p.metadata.labels.as_ref().and_then(|l| l.get("pod-template-hash")),
                "containers": containers,
            })
        })
        .collect();
    let mut events: Vec<&k8s_openapi::api::core::v1::Event> = evidence.events.iter().collect();
    events.sort_by_key(|e| std::cmp::Reverse(e.last_timestamp.as_ref().map(|t| t.0)));
    let events: Vec<Value> = events
        .into_iter()
        .take(30)
        .map(|e| {
            json!({
                "object": format!("{}/{}", e.involved_object.kind.as_deref().unwrap_or(""), e.involved_object.name.as_deref().unwrap_or("")),
                "type": e.type_,
                "reason": e.reason,
                "message": e.message,
                "count": e.count,
                "last": time(e.last_timestamp.as_ref()),
            })
        })
        .collect();
    let logs: Vec<Value> = evidence
        .logs
        .iter()
        .filter(|_| log_lines > 0)
        .map(|l| {
            let lines: Vec<&str> = l.text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(log_lines)..];
            json!({"pod": l.pod, "container": l.container, "previous": l.previous, "lines": tail})
        })
        .collect();
    let deployment = evidence.deployment.as_ref().map(|d| {
        json!({
            "name": d.metadata.name,
            "replicas": d.spec.as_ref().and_then(|s| s.replicas),
            "ready": d.status.as_ref().and_then(|s| s.ready_replicas),
            "revision": d.metadata.annotations.as_ref().and_then(|a| a.get("deployment.kubernetes.io/revision")),
            "images": d.spec.iter().flat_map(|s| s.template.spec.iter()).flat_map(|s| s.containers.iter()).map(|c| &c.image).collect::<Vec<_>>(),
            "conditions": d.status.iter().flat_map(|s| s.conditions.iter().flatten()).map(|c| json!({"type": c.type_, "status": c.status, "reason": c.reason})).collect::<Vec<_>>(),
        })
    });
    let replicasets: Vec<Value> = evidence
        .replicasets
        .iter()
        .map(|r| {
            json!({
                "name": r.metadata.name,
                "revision": r.metadata.annotations.as_ref().and_then(|a| a.get("deployment.kubernetes.io/revision")),
                "image": r.spec.as_ref().and_then(|s| s.template.as_ref()).and_then(|t| t.spec.as_ref()).and_then(|s| s.containers.first()).and_then(|c| c.image.clone()),
                "replicas": r.status.as_ref().map(|s| s.replicas),
                "ready": r.status.as_ref().and_then(|s| s.ready_replicas),
                "created": time(r.metadata.creation_timestamp.as_ref()),
            })
        })
        .collect();
    let nodes: Vec<Value> = evidence
        .nodes
        .iter()
        .map(|n| {
            json!({
                "name": n.metadata.name,
                "unschedulable": n.spec.as_ref().and_then(|s| s.unschedulable),
                "conditions": n.status.iter().flat_map(|s| s.conditions.iter().flatten()).map(|c| json!({"type": c.type_, "status": c.status, "since": time(c.last_transition_time.as_ref())})).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "alert": evidence.alert,
        "pods": pods,
        "events": events,
        "logs": logs,
        "deployment": deployment,
        "replicasets": replicasets,
        "nodes": nodes,
        "metrics": evidence.metrics,
    })
}

/// The answer's agreed shape.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Answer {
    summary: String,
    cause: String,
    confidence: f64,
    next_steps: Vec<String>,
}

/// The LLM's finding, if its text is a valid, grounded answer; the reason otherwise.
pub fn accept(text: &str, evidence: &Evidence, deterministic: &Finding) -> Result<Finding, String> {
    // Models wrap JSON in prose or code fences now and then; take the outermost object.
    let json = match (text.find('{'), text.rfind('}')) {
        (Some(start), Some(end)) if start < end => &text[start..=end],
        _ => return Err("malformed answer: no JSON object".into()),
    };
    let answer: Answer =
        serde_json::from_str(json).map_err(|e| format!("malformed answer: {e}"))?;
    let cause = answer.cause.parse::<Cause>().ok().ok_or_else(|| {
        format!(
            "malformed answer: cause {:?} is not in the vocabulary",
            answer.cause
        )
    })?;
    let lines = answer
        .summary
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count();
    if !(1..=4).contains(&lines) || answer.summary.len() > 800 {
        return Err(format!("malformed answer: a summary of {lines} lines"));
    }
    if !(0.0..=1.0).contains(&answer.confidence) {
        return Err(format!(
            "malformed answer: confidence {}",
            answer.confidence
        ));
    }
    if answer.next_steps.is_empty()
        || answer.next_steps.len() > 5
        || answer.next_steps.iter().any(|s| s.trim().is_empty())
    {
        return Err("malformed answer: next_steps must hold 1 to 5 steps".into());
    }
    let known = evidence.names();
    let unknown: BTreeSet<String> = [answer.summary.as_str()]
        .into_iter()
        .chain(answer.next_steps.iter().map(String::as_str))
        .flat_map(mentioned_names)
        .filter(|n| !known.contains(n))
        .collect();
    if !unknown.is_empty() {
        return Err(format!(
            "ungrounded answer: {} not in the evidence",
            unknown.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    Ok(Finding {
        cause,
        summary: answer.summary.trim().to_owned(),
        key_facts: if cause == deterministic.cause {
            deterministic.key_facts.clone()
        } else {
            vec![]
        },
        next_steps: answer.next_steps,
        confidence: answer.confidence,
        provider: String::new(),
        fallback_reason: None,
    })
}

/// Words that name a resource: `kind/name`, a name after a kind word, and anything spelled like
/// a generated object name (lower case, a hyphen and a digit: pods, ReplicaSets, nodes).
pub fn mentioned_names(text: &str) -> Vec<String> {
    const KINDS: &[&str] = &[
        "pod",
        "pods",
        "deployment",
        "deployments",
        "node",
        "nodes",
        "replicaset",
        "container",
        "namespace",
    ];
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '(' | ')' | '`' | '"' | '\''))
        .map(|w| w.trim_end_matches(['.', ':', '!', '?']))
        .filter(|w| !w.is_empty())
        .collect();
    let name_like = |w: &str| {
        w.len() >= 3
            && w.starts_with(|c: char| c.is_ascii_lowercase())
            && w.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
    };
    let generated =
        |w: &str| name_like(w) && w.contains('-') && w.bytes().any(|b| b.is_ascii_digit());
    let mut out = vec![];
    for (i, w) in words.iter().enumerate() {
        if let Some((kind, name)) = w.split_once('/') {
            if KINDS.contains(&kind.to_ascii_lowercase().as_str()) && name_like(name) {
                out.push(name.to_owned());
            }
            continue;
        }
        let after_kind = i > 0 && KINDS.contains(&words[i - 1].to_ascii_lowercase().as_str());
        // After a kind word only a name-shaped word counts ("the pod restarts" is prose).
        if generated(w) || (after_kind && name_like(w) && (w.contains('-') || w.contains('.'))) {
            out.push((*w).to_owned());
        }
    }
    out
}
