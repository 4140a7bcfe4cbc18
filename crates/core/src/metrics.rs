//! selfheal's own metrics: what the dashboards read. One set of events, two outlets: in Lambda,
//! CloudWatch embedded metric format (EMF) lines on standard output, which CloudWatch Logs turns
//! into metrics without an API call; in the lab, a registry served on `/metrics` in Prometheus'
//! text format, under the same names.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

use serde_json::{Value, json};

use crate::audit::Outcome;

/// Something worth counting.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Event<'a> {
    /// An incident closed; MTTR (alert start to close) when it was remediated.
    IncidentClosed {
        /// How it ended.
        outcome: Outcome,
        /// Seconds from the alert's start to the close.
        mttr_seconds: Option<i64>,
    },
    /// A remediation step ran.
    Action {
        /// `restart-pods`, `scale`, ...
        action: &'a str,
        /// `changed`, `unchanged`, `dry-run`, `skipped` or `failed`.
        result: &'a str,
    },
    /// Alerts of one notification that ended alike (`accepted`, `duplicate`, `refused`,
    /// `resolved`, `error`).
    Alerts {
        /// The outcome.
        outcome: &'a str,
        /// How many.
        count: u64,
    },
    /// An alert opened no incident, for this reason (`cooldown`, `no-runbook`...).
    Refused {
        /// The reason's code.
        reason: &'a str,
    },
    /// An approval was asked for or ended: waiting = requested - the others.
    Approval {
        /// What happened to it.
        event: ApprovalEvent,
    },
}

crate::spelled_enum!(
    /// What happens to an approval request.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum ApprovalEvent {
        /// Posted with its buttons; the workflow waits.
        Requested = "requested",
        /// Approved by a human.
        Approved = "approved",
        /// Rejected by a human.
        Rejected = "rejected",
        /// Nobody decided before the approval timeout.
        Expired = "expired",
    }
);

/// Where events go.
pub trait Sink: Send + Sync {
    /// Counts `event`.
    fn record(&self, event: &Event<'_>);
}

/// Events dropped (tests, tools).
#[derive(Debug, Default, Clone, Copy)]
pub struct Discard;

impl Sink for Discard {
    fn record(&self, _: &Event<'_>) {}
}

/// The CloudWatch namespace of selfheal's metrics.
pub const NAMESPACE: &str = "selfheal";

/// One EMF line for `event` at `timestamp_ms`: the metric values and their dimensions at the top
/// level, described under `_aws`.
pub fn emf(event: &Event<'_>, timestamp_ms: i64) -> Value {
    let (metrics, dimensions, mut fields): (Vec<(&str, &str)>, Vec<&str>, Value) = match event {
        Event::IncidentClosed {
            outcome,
            mttr_seconds,
        } => {
            let mut fields = json!({"outcome": outcome.as_str(), "Incidents": 1});
            let mut metrics = vec![("Incidents", "Count")];
            if let Some(s) = mttr_seconds {
                fields["MTTR"] = json!(s);
                metrics.push(("MTTR", "Seconds"));
            }
            (metrics, vec!["outcome"], fields)
        }
        Event::Action { action, result } => (
            vec![("Actions", "Count")],
            vec!["action", "result"],
            json!({"action": action, "result": result, "Actions": 1}),
        ),
        Event::Alerts { outcome, count } => (
            vec![("Alerts", "Count")],
            vec!["outcome"],
            json!({"outcome": outcome, "Alerts": count}),
        ),
        Event::Refused { reason } => (
            vec![("AlertsRefused", "Count")],
            vec!["reason"],
            json!({"reason": reason, "AlertsRefused": 1}),
        ),
        Event::Approval { event } => (
            vec![("Approvals", "Count")],
            vec!["event"],
            json!({"event": event.as_str(), "Approvals": 1}),
        ),
    };
    let metrics: Vec<Value> = metrics
        .into_iter()
        .map(|(name, unit)| json!({"Name": name, "Unit": unit}))
        .collect();
    fields["_aws"] = json!({
        "Timestamp": timestamp_ms,
        "CloudWatchMetrics": [{"Namespace": NAMESPACE, "Dimensions": [dimensions], "Metrics": metrics}],
    });
    fields
}

/// EMF on standard output, one line per event, beside the function's JSON logs.
#[derive(Debug, Default, Clone, Copy)]
pub struct Emf;

impl Sink for Emf {
    fn record(&self, event: &Event<'_>) {
        let line = emf(event, chrono::Utc::now().timestamp_millis());
        // CloudWatch Logs reads a log line that is an EMF object as metrics.
        println!("{line}");
    }
}

/// MTTR histogram buckets, in seconds: one minute to two hours.
pub const MTTR_BUCKETS: [f64; 8] = [60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0];

#[derive(Debug, Default)]
struct Counts {
    incidents: BTreeMap<String, u64>,
    mttr_buckets: [u64; MTTR_BUCKETS.len()],
    mttr_sum: f64,
    mttr_count: u64,
    actions: BTreeMap<(String, String), u64>,
    alerts: BTreeMap<String, u64>,
    refusals: BTreeMap<String, u64>,
    approvals: BTreeMap<&'static str, u64>,
}

/// Counters and the MTTR histogram in memory, rendered in Prometheus' text format.
#[derive(Debug, Default)]
pub struct Registry {
    counts: Mutex<Counts>,
}

impl Sink for Registry {
    fn record(&self, event: &Event<'_>) {
        let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        match event {
            Event::IncidentClosed {
                outcome,
                mttr_seconds,
            } => {
                *c.incidents.entry(outcome.as_str().to_owned()).or_default() += 1;
                if let Some(s) = mttr_seconds {
                    let s = *s as f64;
                    for (i, le) in MTTR_BUCKETS.iter().enumerate() {
                        if s <= *le {
                            c.mttr_buckets[i] += 1;
                        }
                    }
                    c.mttr_sum += s;
                    c.mttr_count += 1;
                }
            }
            Event::Action { action, result } => {
                *c.actions
                    .entry(((*action).to_owned(), (*result).to_owned()))
                    .or_default() += 1;
            }
            Event::Alerts { outcome, count } => {
                *c.alerts.entry((*outcome).to_owned()).or_default() += count;
            }
            Event::Refused { reason } => *c.refusals.entry((*reason).to_owned()).or_default() += 1,
            Event::Approval { event } => *c.approvals.entry(event.as_str()).or_default() += 1,
        }
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every metric in Prometheus' text exposition format.
    pub fn render(&self) -> String {
        let c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::new();
        // Writing to a String cannot fail.
        let header = |out: &mut String, name: &str, kind: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        };
        header(
            &mut out,
            "selfheal_incidents_total",
            "counter",
            "Incidents closed, by outcome.",
        );
        for outcome in Outcome::ALL {
            let n = c.incidents.get(outcome.as_str()).copied().unwrap_or(0);
            let _ = writeln!(
                out,
                "selfheal_incidents_total{{outcome=\"{}\"}} {n}",
                outcome.as_str()
            );
        }
        header(
            &mut out,
            "selfheal_mttr_seconds",
            "histogram",
            "Alert start to remediated close.",
        );
        for (i, le) in MTTR_BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "selfheal_mttr_seconds_bucket{{le=\"{le}\"}} {}",
                c.mttr_buckets[i]
            );
        }
        let _ = writeln!(
            out,
            "selfheal_mttr_seconds_bucket{{le=\"+Inf\"}} {}",
            c.mttr_count
        );
        let _ = writeln!(out, "selfheal_mttr_seconds_sum {}", c.mttr_sum);
        let _ = writeln!(out, "selfheal_mttr_seconds_count {}", c.mttr_count);
        header(
            &mut out,
            "selfheal_actions_total",
            "counter",
            "Remediation steps, by action and result.",
        );
        for ((action, result), n) in &c.actions {
            let _ = writeln!(
                out,
                "selfheal_actions_total{{action=\"{action}\",result=\"{result}\"}} {n}"
            );
        }
        header(
            &mut out,
            "selfheal_alerts_total",
            "counter",
            "Alerts received, by outcome.",
        );
        for (outcome, n) in &c.alerts {
            let _ = writeln!(out, "selfheal_alerts_total{{outcome=\"{outcome}\"}} {n}");
        }
        header(
            &mut out,
            "selfheal_alerts_refused_total",
            "counter",
            "Alerts that opened no incident, by reason.",
        );
        for (reason, n) in &c.refusals {
            let _ = writeln!(
                out,
                "selfheal_alerts_refused_total{{reason=\"{reason}\"}} {n}"
            );
        }
        header(
            &mut out,
            "selfheal_approvals_total",
            "counter",
            "Approval requests, by what happened to them; waiting = requested - the others.",
        );
        for event in ApprovalEvent::ALL {
            let n = c.approvals.get(event.as_str()).copied().unwrap_or(0);
            let _ = writeln!(
                out,
                "selfheal_approvals_total{{event=\"{}\"}} {n}",
                event.as_str()
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_emf_line_declares_each_metric_its_dimensions_and_carries_their_values() {
        let line = emf(
            &Event::IncidentClosed {
                outcome: Outcome::Remediated,
                mttr_seconds: Some(185),
            },
            1_764_106_200_000,
        );
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(line["_aws"]["Timestamp"], 1_764_106_200_000_i64);
        assert_eq!(directive["Namespace"], "selfheal");
        assert_eq!(directive["Dimensions"], json!([["outcome"]]));
        // Every declared metric and dimension is a top-level member, as EMF requires.
        for m in directive["Metrics"].as_array().unwrap() {
            assert!(line[m["Name"].as_str().unwrap()].is_number(), "{line}");
        }
        assert_eq!(
            (line["outcome"].clone(), line["MTTR"].clone()),
            (json!("remediated"), json!(185))
        );
        let refused = emf(&Event::Refused { reason: "cooldown" }, 0);
        assert_eq!(refused["reason"], "cooldown");
        assert_eq!(refused["AlertsRefused"], 1);
    }

    #[test]
    fn the_registry_counts_and_renders_the_text_format() {
        let r = Registry::new();
        r.record(&Event::IncidentClosed {
            outcome: Outcome::Remediated,
            mttr_seconds: Some(200),
        });
        r.record(&Event::IncidentClosed {
            outcome: Outcome::Skipped,
            mttr_seconds: None,
        });
        r.record(&Event::Action {
            action: "restart-pods",
            result: "changed",
        });
        r.record(&Event::Refused { reason: "cooldown" });
        r.record(&Event::Refused { reason: "cooldown" });
        r.record(&Event::Alerts {
            outcome: "accepted",
            count: 3,
        });
        for event in [
            ApprovalEvent::Requested,
            ApprovalEvent::Requested,
            ApprovalEvent::Approved,
        ] {
            r.record(&Event::Approval { event });
        }
        let text = r.render();
        for line in [
            "selfheal_incidents_total{outcome=\"remediated\"} 1",
            "selfheal_incidents_total{outcome=\"skipped\"} 1",
            "selfheal_incidents_total{outcome=\"escalated\"} 0",
            "selfheal_mttr_seconds_bucket{le=\"120\"} 0",
            "selfheal_mttr_seconds_bucket{le=\"300\"} 1",
            "selfheal_mttr_seconds_bucket{le=\"+Inf\"} 1",
            "selfheal_mttr_seconds_sum 200",
            "selfheal_actions_total{action=\"restart-pods\",result=\"changed\"} 1",
            "selfheal_alerts_refused_total{reason=\"cooldown\"} 2",
            "selfheal_alerts_total{outcome=\"accepted\"} 3",
            "selfheal_approvals_total{event=\"requested\"} 2",
            "selfheal_approvals_total{event=\"approved\"} 1",
            "selfheal_approvals_total{event=\"expired\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
    }
}
