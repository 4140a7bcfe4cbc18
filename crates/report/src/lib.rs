//! Incident reports and postmortem drafts, from what selfheal keeps about an incident: the audit's
//! record (S3 `incidents/YYYY/MM/DD/<id>.json`, or the lab's archive), the execution's history as
//! Step Functions' GetExecutionHistory returns it (or the local executor records it), and the
//! Slack messages posted about it. [`html`] writes one self-contained page (no script, no network:
//! a Gantt timeline of the states as the console draws it, the actions with before and after, the
//! health checks, the analysis, the messages as Slack shows them, links to the target's other
//! incidents); [`postmortem`] a Markdown draft; [`index`] the page listing them. The timeline is
//! `selfheal_states::timeline`, the one `selfheal states run` prints.

mod graph;
mod html;
mod markdown;

use chrono::{DateTime, Utc};
use selfheal_aws::audit::TimelineEvent;
use selfheal_core::audit::Outcome;
use selfheal_core::{Incident, IncidentId};
use selfheal_states::HistoryEvent;
use serde::Deserialize;
use serde_json::Value;

pub use graph::graph;
pub use html::{IndexEntry, esc, gantt, html, index};
pub use markdown::postmortem;

/// The audit's record of a closed incident, as the audit function writes it.
#[derive(Debug, Clone, Deserialize)]
pub struct Record {
    /// The incident as the ingest opened it.
    pub incident: Incident,
    /// The execution (an ARN in AWS).
    pub execution: String,
    /// How it ended.
    pub outcome: Outcome,
    /// When the workflow closed it.
    pub closed_at: DateTime<Utc>,
    /// Alert start to close, for remediated incidents.
    #[serde(default)]
    pub mttr_seconds: Option<i64>,
    /// What the audit recorded, in order.
    pub timeline: Vec<TimelineEvent>,
    /// The workflow's state at the close: the steps' results, the health checks, the analysis.
    pub state: Value,
}

/// An incident of the same target, for the links between reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Related {
    /// Its id (its report is `<id>.html`).
    pub id: IncidentId,
    /// How it ended.
    pub outcome: Outcome,
    /// When it was received.
    pub received_at: DateTime<Utc>,
}

/// Everything a report shows about one incident.
#[derive(Debug, Clone)]
pub struct Report<'a> {
    /// The audit's record.
    pub record: &'a Record,
    /// The execution's history (empty when it could not be read).
    pub history: &'a [HistoryEvent],
    /// The Slack messages posted about it, in order (Block Kit JSON).
    pub messages: &'a [Value],
    /// The target's other incidents.
    pub related: &'a [Related],
}

/// One action the runbook took, as the record's state has it.
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    /// The step's action, e.g. `restart-pods`.
    pub action: String,
    /// What it acted on.
    pub object: String,
    /// Its one-line summary.
    pub summary: String,
    /// Changed, dry-run, skipped or unchanged.
    pub result: &'static str,
    /// Each field of the change.
    pub change: Vec<Change>,
    /// The health check after it.
    pub health: Option<HealthAfter>,
}

/// One field an action changed.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The field, e.g. `revision`.
    pub field: String,
    /// Its value before, when the change says.
    pub before: Option<String>,
    /// Its value after.
    pub after: String,
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.before {
            Some(before) => write!(f, "{}: {before} → {}", self.field, self.after),
            None => write!(f, "{}: {}", self.field, self.after),
        }
    }
}

/// The health check after an action: the verdict and each check.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthAfter {
    /// healthy, unhealthy or unknown.
    pub verdict: String,
    /// Each check: name, health, detail.
    pub checks: Vec<[String; 3]>,
}

/// The actions in the record's state (`steps[]`), in order.
pub fn actions(record: &Record) -> Vec<Action> {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    };
    let steps = record.state["steps"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    steps
        .iter()
        .map(|s| {
            let r = &s["remediation"]["result"];
            let result = if r["skipped"] == true {
                "skipped"
            } else if r["dry_run"] == true {
                "dry-run"
            } else if r["changed"] == true {
                "changed"
            } else {
                "unchanged"
            };
            let change = r["change"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| match v.as_array().map(Vec::as_slice) {
                    Some([before, after]) => Change {
                        field: k.clone(),
                        before: Some(text(before)),
                        after: text(after),
                    },
                    _ => Change {
                        field: k.clone(),
                        before: None,
                        after: text(v),
                    },
                })
                .collect();
            let health = s["health"]["result"].as_object().map(|h| {
                let checks = h
                    .get("checks")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|c| [text(&c["name"]), text(&c["health"]), text(&c["detail"])])
                    .collect();
                HealthAfter {
                    verdict: text(&h["health"]),
                    checks,
                }
            });
            Action {
                action: text(&s["action"]),
                object: r["object"].as_str().unwrap_or("-").to_owned(),
                summary: r["summary"].as_str().unwrap_or_default().to_owned(),
                result,
                change,
                health,
            }
        })
        .collect()
}

/// The analysis in the record's state: the one after the steps, else the one at open.
pub fn analysis(record: &Record) -> Option<&Value> {
    [
        &record.state["analysis"]["result"],
        &record.state["opened"]["finding"],
    ]
    .into_iter()
    .find(|v| v.is_object())
}

/// Seconds as people read them: `45 s`, `3 min 5 s`, `1 h 2 min`.
pub fn duration(seconds: i64) -> String {
    match seconds {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 && s % 60 == 0 => format!("{} min", s / 60),
        s if s < 3600 => format!("{} min {} s", s / 60, s % 60),
        s => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    /// A record as the audit writes it, from the analyzer's fixture (a remediated crashloop).
    pub fn record() -> Record {
        let fixture: Value = serde_json::from_str(include_str!(
            "../../../functions/analyzer/fixtures/notify-remediated.json"
        ))
        .unwrap();
        let state = fixture["state"].clone();
        serde_json::from_value(json!({
            "incident": state,
            "execution": "arn:aws:states:eu-west-1:123456789012:execution:selfheal-dev-remediation:inc-b6e529a77a028b5b7ec0372f268bdb99",
            "outcome": "remediated",
            "closed_at": "2026-11-25T21:34:20Z",
            "mttr_seconds": 70,
            "timeline": [
                {"seq": 0, "kind": "opened", "at": "2026-11-25T21:33:11Z", "summary": "restart-pods on selfheal-dev/shop/deployment/frontend (enforce)"},
                {"seq": 1, "kind": "step", "at": "2026-11-25T21:33:12Z", "summary": "restart-pods: rolling restart of shop/deployment/frontend"},
                {"seq": 9, "kind": "closed", "at": "2026-11-25T21:34:20Z", "summary": "remediated in 70 s from the alert"}
            ],
            "state": state,
        }))
        .unwrap()
    }

    /// The history of a short execution, as the executor serializes it and (epoch seconds) as
    /// the AWS API's JSON has it.
    pub fn history() -> Vec<HistoryEvent> {
        serde_json::from_value(json!([
            {"timestamp": "2026-11-25T21:33:11.000Z", "type": "ExecutionStarted", "id": 1, "previousEventId": 0},
            {"timestamp": "2026-11-25T21:33:11.000Z", "type": "TaskStateEntered", "id": 2, "previousEventId": 1, "stateEnteredEventDetails": {"name": "Open"}},
            {"timestamp": "2026-11-25T21:33:11.500Z", "type": "TaskStateExited", "id": 3, "previousEventId": 2, "stateExitedEventDetails": {"name": "Open"}},
            {"timestamp": "2026-11-25T21:33:11.500Z", "type": "TaskStateEntered", "id": 4, "previousEventId": 3, "stateEnteredEventDetails": {"name": "Remediate"}},
            {"timestamp": "2026-11-25T21:33:12.000Z", "type": "TaskFailed", "id": 5, "previousEventId": 4, "taskFailedEventDetails": {"error": "Lambda.Unknown"}},
            {"timestamp": "2026-11-25T21:33:14.000Z", "type": "TaskStateExited", "id": 6, "previousEventId": 5, "stateExitedEventDetails": {"name": "Remediate"}},
            {"timestamp": 1795642394.0, "type": "WaitStateEntered", "id": 7, "previousEventId": 6, "stateEnteredEventDetails": {"name": "Settle"}},
            {"timestamp": 1795642424.0, "type": "WaitStateExited", "id": 8, "previousEventId": 7, "stateExitedEventDetails": {"name": "Settle"}},
            {"timestamp": 1795642424.0, "type": "TaskStateEntered", "id": 9, "previousEventId": 8, "stateEnteredEventDetails": {"name": "HealthCheck"}}
        ]))
        .unwrap()
    }

    #[test]
    fn actions_show_the_change_before_and_after_and_the_health_checks() {
        let actions = actions(&record());
        assert_eq!(actions.len(), 1);
        let a = &actions[0];
        assert_eq!(
            (a.action.as_str(), a.object.as_str(), a.result),
            ("restart-pods", "shop/deployment/frontend", "changed")
        );
        let changes: Vec<String> = a.change.iter().map(Change::to_string).collect();
        assert_eq!(changes, ["pods: []", "revision: 1 → 2"]);
        let health = a.health.clone().unwrap();
        assert_eq!(health.verdict, "healthy");
        assert_eq!(health.checks[0][0], "rollout");
    }

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(duration(45), "45 s");
        assert_eq!(duration(180), "3 min");
        assert_eq!(duration(185), "3 min 5 s");
        assert_eq!(duration(3720), "1 h 2 min");
    }
}
