//! The incident's Slack messages as Block Kit: opened, remediated (summary, cause, actions with
//! before and after, MTTR, where the timeline is), escalated (what failed, what to look at
//! first). The approval request is the approval function's. Pure functions of the workflow's
//! state; posting is `selfheal_slack`'s.

use chrono::{DateTime, Utc};
use selfheal_core::audit::Outcome;
use selfheal_core::{Incident, WorkflowError};
use selfheal_slack::escape;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::rules::Finding;

/// The workflow's state at Notify, as far as the message needs it: the incident (the state's
/// top level) and what the states wrote beside it.
#[derive(Debug, Clone, Deserialize)]
pub struct ClosedState {
    /// The execution input.
    #[serde(flatten)]
    pub incident: Incident,
    /// Each unit's act and check.
    #[serde(default)]
    pub steps: Vec<Value>,
    /// `{result: Finding}` from Analyze or its fallback.
    #[serde(default)]
    pub analysis: Option<Value>,
    /// `{outcome}` from RecordClosed or RecordEscalated.
    #[serde(default)]
    pub closed: Option<Value>,
    /// The error that stopped the workflow (`{Error, Cause}`).
    #[serde(default)]
    pub error: Option<Value>,
    /// Why nothing was done (`{Error: SymptomAbsent, Cause}`): the symptom was not present.
    #[serde(default)]
    pub skipped: Option<Value>,
    /// The approval's decision.
    #[serde(default)]
    pub approval: Option<Value>,
    /// `{ts, finding}` from NotifyOpened: the thread, and the cause before anything changed.
    #[serde(default)]
    pub opened: Option<Value>,
}

impl ClosedState {
    /// How it ended; escalated when the audit could not say.
    pub fn outcome(&self) -> Outcome {
        self.closed
            .as_ref()
            .and_then(|c| serde_json::from_value(c["outcome"].clone()).ok())
            .unwrap_or(Outcome::Escalated)
    }

    /// The thread to post in.
    pub fn thread(&self) -> Option<&str> {
        self.opened.as_ref().and_then(|s| s["ts"].as_str())
    }

    /// The finding at open.
    pub fn opened_finding(&self) -> Option<Finding> {
        self.opened
            .as_ref()
            .and_then(|o| serde_json::from_value(o["finding"].clone()).ok())
    }

    /// The analysis' finding, when Analyze wrote one (not the fallback's stand-in).
    pub fn finding(&self) -> Option<Finding> {
        self.analysis
            .as_ref()
            .and_then(|a| serde_json::from_value(a["result"].clone()).ok())
    }
}

fn context(incident: &Incident, extra: &str) -> Value {
    json!({"type": "context", "elements": [{"type": "mrkdwn", "text": format!("incident `{}` · runbook `{}` · {}{extra}", incident.id, incident.runbook.id, incident.mode.as_str())}]})
}

/// The first message of the incident, with the likely cause; the others thread under it.
pub fn opened(incident: &Incident, finding: Option<&Finding>) -> Value {
    let summary = incident
        .alert
        .annotations
        .get("summary")
        .or_else(|| incident.alert.annotations.get("description"))
        .cloned()
        .unwrap_or_default();
    // The alert's name and annotations come from whoever can write a Prometheus rule or post an
    // alert: they format, link and mention nothing.
    let summary = escape(&summary);
    let text = format!(
        "*{}* on `{}` since {}\n{summary}\nRunbook *{}*: {}",
        escape(incident.alert.name()),
        incident.target,
        incident.alert.starts_at.format("%H:%M:%S UTC"),
        incident.runbook.id,
        incident.runbook.outline(),
    );
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": format!("🔔 Incident: {}", incident.alert.name())}}),
        json!({"type": "section", "text": {"type": "mrkdwn", "text": text}}),
    ];
    if let Some(f) = finding.filter(|f| f.cause != crate::rules::Cause::Unknown) {
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("*Likely cause:* `{}` ({:.0}%)\n{}", f.cause.as_str(), f.confidence * 100.0, escape(&f.summary))}}));
    }
    blocks.push(context(incident, ""));
    json!({
        "text": format!("Incident opened: {} on {}", incident.alert.name(), incident.target),
        "blocks": blocks,
    })
}

/// An action with its before and after ("replicas 3 → 5").
fn action_line(unit: &Value) -> Option<String> {
    let result = &unit["remediation"]["result"];
    let summary = result["summary"].as_str()?;
    let change = &result["change"];
    let pairs = [
        ("replicas", &change["replicas"]),
        ("revision", &change["revision"]),
        ("image", &change["image"]),
        ("unschedulable", &change["unschedulable"]),
    ];
    let changes: Vec<String> = pairs
        .iter()
        .filter_map(|(name, pair)| {
            let pair = pair.as_array().filter(|p| p.len() == 2 && p[0] != p[1])?;
            let show = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
            Some(format!("{name} {} → {}", show(&pair[0]), show(&pair[1])))
        })
        .collect();
    let health = unit["health"]["result"]["health"].as_str();
    let mut line = format!(
        "• `{}` {}",
        result["action"].as_str().unwrap_or("step"),
        escape(summary)
    );
    if !changes.is_empty() {
        line.push_str(&format!(" ({})", changes.join(", ")));
    }
    if let Some(h) = health {
        line.push_str(&format!(" — {h}"));
    }
    Some(line)
}

/// Where the execution's timeline is: the Step Functions console for an ARN.
fn timeline_link(execution: &str) -> String {
    match execution.split(':').nth(3) {
        Some(region) if execution.starts_with("arn:aws:states:") => format!(
            "<https://{region}.console.aws.amazon.com/states/home?region={region}#/v2/executions/details/{execution}|timeline>"
        ),
        _ => format!("execution `{execution}`"),
    }
}

/// The closing message: remediated (or dry run), or escalated.
pub fn closed(
    state: &ClosedState,
    finding: Option<&Finding>,
    execution: &str,
    now: DateTime<Utc>,
) -> Value {
    let incident = &state.incident;
    let outcome = state.outcome();
    let actions: Vec<String> = state.steps.iter().filter_map(action_line).collect();
    let mttr = (now - incident.alert.starts_at).num_seconds().max(0);
    let mttr = format!("{}m {:02}s", mttr / 60, mttr % 60);
    let analysis = finding.map(|f| {
        format!(
            "*Cause:* `{}` ({:.0}% · {})\n{}",
            f.cause.as_str(),
            f.confidence * 100.0,
            escape(&f.provider),
            escape(&f.summary)
        )
    });
    let (icon, title) = match outcome {
        Outcome::Remediated => ("✅", "Remediated"),
        Outcome::DryRun => ("🧪", "Dry run"),
        Outcome::Escalated => ("🚨", "Escalated"),
        Outcome::Skipped => ("🔎", "Skipped, symptom not present"),
    };
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": format!("{icon} {title}: {} on {}", incident.alert.name(), incident.target)}}),
    ];
    if outcome == Outcome::Escalated {
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("*What failed:* {}", escape(&what_failed(state)))}}));
        let first = finding
            .and_then(|f| f.next_steps.first().cloned())
            .unwrap_or_else(|| "the audit trail and the last health check".into());
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("*Look at first:* {}", escape(&first))}}));
    }
    if let Some(why) = state.skipped.as_ref().and_then(|s| s["Cause"].as_str()) {
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("*Nothing changed:* {}. The alert counts as a false positive; if it keeps firing, its rule or its labels are wrong.", escape(why))}}));
    }
    if let Some(a) = analysis {
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": a}}));
    }
    if !actions.is_empty() {
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("*Actions*\n{}", actions.join("\n"))}}));
    }
    if let Some(steps) = finding.filter(|f| !f.next_steps.is_empty()) {
        let list: Vec<String> = steps
            .next_steps
            .iter()
            .map(|s| format!("• {}", escape(s)))
            .collect();
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("*Next steps*\n{}", list.join("\n"))}}));
    }
    let time = if outcome == Outcome::Remediated {
        format!(" · MTTR {mttr}")
    } else {
        format!(" · open for {mttr}")
    };
    blocks.push(context(
        incident,
        &format!("{time} · {}", timeline_link(execution)),
    ));
    json!({
        "text": format!("{title}: {} on {}", incident.alert.name(), incident.target),
        "blocks": blocks,
    })
}

/// Why the workflow escalated, in one line.
fn what_failed(state: &ClosedState) -> String {
    if let Some(error) = &state.error {
        let kind = error["Error"].as_str().unwrap_or("error");
        let cause = error["Cause"].as_str().unwrap_or("");
        return match kind.parse() {
            Ok(WorkflowError::Timeout) if state.approval.is_none() => {
                "nobody approved in time; nothing ran".into()
            }
            Ok(WorkflowError::Rejected) => {
                format!("the remediation was rejected ({cause}); nothing ran")
            }
            Ok(WorkflowError::CircuitOpen) => {
                "the target's remediations failed too often in a row (circuit breaker open); nothing ran".into()
            }
            _ => format!("{kind}: {}", cause.chars().take(300).collect::<String>()),
        };
    }
    if let Some(check) = state.steps.iter().rev().find_map(|u| {
        u["health"]["result"]["checks"]
            .as_array()?
            .iter()
            .find(|c| c["health"] != "healthy")
            .cloned()
    }) {
        return format!(
            "still unhealthy after every attempt: {} — {}",
            check["name"].as_str().unwrap_or("check"),
            check["detail"].as_str().unwrap_or("")
        );
    }
    "the workflow stopped before the target recovered".into()
}
