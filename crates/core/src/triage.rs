//! Triage: what selfheal will do about each alert of a notification. The ingest and
//! `selfheal alerts explain` both call this, so what the CLI explains is what the ingest does.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::alert::{Alert, AlertStatus};
use crate::guardrail::{Decision, GuardrailState, Policy, Reason, budget_window, decide};
use crate::incident::{Incident, IncidentId, IncidentSchema, Mode};
use crate::runbook::Catalog;
use crate::target::{Target, TargetError};
use crate::workflow::Workflow;

/// What happens to one alert.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "disposition", rename_all = "kebab-case")]
pub enum Disposition {
    /// A firing alert that opens an incident (run, dry run or waiting for approval).
    Open {
        /// The execution input.
        incident: Box<Incident>,
    },
    /// A resolved alert: mark its incident resolved, start nothing.
    Resolve,
    /// Nothing will be done, for these reasons.
    Refuse {
        /// Why, as guardrail reasons.
        reasons: Vec<Reason>,
    },
    /// The alert cannot be acted on as sent: its labels cannot name a target (invalid or
    /// missing names), or it is too large to carry.
    Reject {
        /// `invalid-target` or `too-large`.
        code: &'static str,
        /// Why.
        reason: String,
    },
    /// No runbook answers the alert.
    Unmatched,
}

/// One alert's triage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assessment {
    /// The incident id this alert episode maps to.
    pub incident_id: IncidentId,
    /// The `alertname` label.
    pub alertname: String,
    /// Firing or resolved.
    pub status: AlertStatus,
    /// The target, when the labels name a valid one.
    pub target: Option<Target>,
    /// The matched runbook's id.
    pub runbook: Option<String>,
    /// What happens.
    pub disposition: Disposition,
}

impl Assessment {
    /// The decision in one word: run, dry-run, needs-approval, refuse, resolve, reject, unmatched.
    pub fn decision(&self) -> &'static str {
        match &self.disposition {
            Disposition::Open { incident } => incident.decision.as_str(),
            Disposition::Resolve => "resolve",
            Disposition::Refuse { .. } => Decision::Refuse.as_str(),
            Disposition::Reject { .. } => "reject",
            Disposition::Unmatched => "unmatched",
        }
    }

    /// The reasons as sentences.
    pub fn reasons(&self) -> Vec<String> {
        match &self.disposition {
            Disposition::Open { incident } => {
                incident.reasons.iter().map(ToString::to_string).collect()
            }
            Disposition::Refuse { reasons } => reasons.iter().map(ToString::to_string).collect(),
            Disposition::Reject { reason, .. } => vec![reason.clone()],
            Disposition::Unmatched => vec!["no runbook matches the alert's labels".into()],
            Disposition::Resolve => {
                vec!["resolved: the incident is marked resolved; nothing starts".into()]
            }
        }
    }
}

/// Why an alert opened no incident, as the store records it and the ingest reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Refusal {
    /// Stable codes: guardrail reason codes, `invalid-target` or `no-runbook`.
    pub codes: Vec<String>,
    /// The same as sentences.
    pub reasons: Vec<String>,
    /// When a redelivery of the same alert may be triaged again: set only when every reason
    /// passes with time (cooldown, hourly budget). Without it the refusal is final for the episode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<DateTime<Utc>>,
}

impl Assessment {
    /// The refusal, for a firing alert that opens no incident.
    pub fn refusal(&self, now: DateTime<Utc>) -> Option<Refusal> {
        let (codes, retry_after) = match &self.disposition {
            Disposition::Open { .. } | Disposition::Resolve => return None,
            Disposition::Refuse { reasons } => {
                let passes = |r: &Reason| match r {
                    Reason::Cooldown { until } => Some(*until),
                    Reason::BudgetExhausted { .. } | Reason::NamespaceBudgetExhausted { .. } => {
                        Some(budget_window(now) + TimeDelta::hours(1))
                    }
                    _ => None,
                };
                let retry_after = reasons
                    .iter()
                    .map(passes)
                    .collect::<Option<Vec<_>>>()
                    .and_then(|times| times.into_iter().max());
                (
                    reasons.iter().map(|r| r.code().to_owned()).collect(),
                    retry_after,
                )
            }
            Disposition::Reject { code, .. } => (vec![(*code).to_owned()], None),
            Disposition::Unmatched => (vec!["no-runbook".to_owned()], None),
        };
        Some(Refusal {
            codes,
            reasons: self.reasons(),
            retry_after,
        })
    }
}

/// Triage one alert. `state` gives the guardrail state the store holds for a target.
pub fn assess(
    alert: &Alert,
    catalog: &Catalog,
    policy: &Policy,
    state: impl FnOnce(&Target) -> GuardrailState,
    now: DateTime<Utc>,
) -> Assessment {
    let incident_id = IncidentId::derive(&alert.fingerprint(), alert.starts_at);
    let target = Target::from_labels(&alert.labels, &policy.default_cluster);
    let runbook = catalog.find(&alert.labels);
    let mut assessment = Assessment {
        incident_id: incident_id.clone(),
        alertname: alert.name().to_owned(),
        status: alert.status,
        target: target.as_ref().ok().cloned(),
        runbook: runbook.map(|r| r.id.clone()),
        disposition: Disposition::Unmatched,
    };
    assessment.disposition = match (alert.status, oversized(alert), target, runbook) {
        (AlertStatus::Resolved, ..) => Disposition::Resolve,
        (_, Some(reason), ..) => Disposition::Reject {
            code: TOO_LARGE,
            reason,
        },
        (
            _,
            None,
            Err(e @ (TargetError::InvalidLabel { .. } | TargetError::MissingNamespace(_))),
            _,
        ) => Disposition::Reject {
            code: INVALID_TARGET,
            reason: e.to_string(),
        },
        (_, None, _, None) => Disposition::Unmatched,
        (_, None, Err(e @ TargetError::NoTarget), Some(_)) => Disposition::Reject {
            code: INVALID_TARGET,
            reason: e.to_string(),
        },
        (AlertStatus::Firing, None, Ok(target), Some(runbook)) => {
            let verdict = decide(&target, runbook, policy, &state(&target), now);
            if verdict.decision == Decision::Refuse {
                Disposition::Refuse {
                    reasons: verdict.reasons,
                }
            } else {
                Disposition::Open {
                    incident: Box::new(Incident {
                        schema: IncidentSchema,
                        id: incident_id,
                        alert: alert.clone(),
                        target,
                        runbook: runbook.clone(),
                        workflow: Workflow::plan(runbook),
                        mode: if verdict.decision == Decision::DryRun {
                            Mode::DryRun
                        } else {
                            Mode::Enforce
                        },
                        decision: verdict.decision,
                        reasons: verdict.reasons,
                        received_at: now,
                    }),
                }
            }
        }
    };
    // Step Functions refuses an execution input over 256 KiB, and every retry would be refused
    // the same way: say so once instead.
    if let Disposition::Open { incident } = &assessment.disposition {
        let bytes = serde_json::to_vec(incident).map_or(usize::MAX, |v| v.len());
        if bytes > MAX_INCIDENT_BYTES {
            assessment.disposition = Disposition::Reject {
                code: TOO_LARGE,
                reason: format!(
                    "the incident is {bytes} bytes; a Step Functions execution input holds at most {MAX_INCIDENT_BYTES}"
                ),
            };
        }
    }
    assessment
}

/// The refusal code of an alert whose labels cannot name a target.
const INVALID_TARGET: &str = "invalid-target";
/// The refusal code of an alert too large to carry.
const TOO_LARGE: &str = "too-large";
/// The most bytes of one label value: names and label values in Kubernetes alerts are short.
pub const MAX_LABEL_BYTES: usize = 1024;
/// The most bytes of one annotation value (a summary, a description, a runbook URL).
pub const MAX_ANNOTATION_BYTES: usize = 8 * 1024;
/// The largest Step Functions execution input (256 KiB).
pub const MAX_INCIDENT_BYTES: usize = 256 * 1024;

/// Why an alert is too large to carry, if it is: the first label or annotation over its cap.
fn oversized(alert: &Alert) -> Option<String> {
    let over = |kind: &str, map: &crate::alert::Labels, max: usize| {
        map.iter()
            .find(|(k, v)| k.len() + v.len() > max)
            .map(|(k, v)| {
                format!(
                    "{kind} {k} is {} bytes; the limit is {max}",
                    k.len() + v.len()
                )
            })
    };
    over("label", &alert.labels, MAX_LABEL_BYTES)
        .or_else(|| over("annotation", &alert.annotations, MAX_ANNOTATION_BYTES))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::{Door, Limits, parse_webhook};

    const CATALOG: &str = r#"
id: restart-pods
description: Restart crashlooping pods.
match: ['alertname="KubePodCrashLooping"']
risk: low
max_attempts: 2
cooldown: 15m
steps: [{action: restart-pods}]
"#;

    fn payload(status: &str, labels: &str) -> Alert {
        let body = format!(
            r#"{{"version":"4","status":"{status}","alerts":[{{"status":"{status}","labels":{labels},
               "startsAt":"2026-11-25T21:30:00Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"abc"}}]}}"#
        );
        parse_webhook(body.as_bytes(), &Limits::default(), Door::Webhook)
            .unwrap()
            .alerts
            .remove(0)
    }

    fn run(alert: &Alert) -> Assessment {
        let catalog = Catalog::parse([("restart-pods.yaml", CATALOG)]).unwrap();
        let now = DateTime::parse_from_rfc3339("2026-11-25T21:31:00Z")
            .unwrap()
            .to_utc();
        assess(
            alert,
            &catalog,
            &Policy::default(),
            |_| GuardrailState::default(),
            now,
        )
    }

    #[test]
    fn a_firing_crashloop_opens_an_incident() {
        let a = run(&payload(
            "firing",
            r#"{"alertname":"KubePodCrashLooping","namespace":"shop","pod":"backend-1"}"#,
        ));
        assert_eq!(a.decision(), "run");
        let Disposition::Open { incident } = &a.disposition else {
            panic!("{a:?}")
        };
        assert_eq!(incident.id, a.incident_id);
        assert_eq!(incident.mode, Mode::Enforce);
        assert_eq!(incident.runbook.id, "restart-pods");
        let json = serde_json::to_value(incident).unwrap();
        assert_eq!(json["schema"], "selfheal.incident/v1");
        assert_eq!(json["target"]["kind"], "Pod");
        let back: Incident = serde_json::from_value(json).unwrap();
        assert_eq!(&back, incident.as_ref());
    }

    #[test]
    fn resolved_alerts_start_nothing() {
        let a = run(&payload(
            "resolved",
            r#"{"alertname":"KubePodCrashLooping","namespace":"shop","pod":"backend-1"}"#,
        ));
        assert_eq!(a.disposition, Disposition::Resolve);
        assert_eq!(a.runbook.as_deref(), Some("restart-pods"));
    }

    #[test]
    fn invalid_names_are_rejected_before_matching() {
        let a = run(&payload(
            "firing",
            r#"{"alertname":"KubePodCrashLooping","namespace":"../kube-system","pod":"x"}"#,
        ));
        assert_eq!(a.decision(), "reject");
        assert!(
            a.reasons()[0].contains("namespace=\"../kube-system\""),
            "{:?}",
            a.reasons()
        );
        assert_eq!(a.target, None);
    }

    #[test]
    fn unmatched_and_refused_alerts_say_why() {
        let a = run(&payload("firing", r#"{"alertname":"Watchdog"}"#));
        assert_eq!(a.decision(), "unmatched");
        let a = run(&payload(
            "firing",
            r#"{"alertname":"KubePodCrashLooping","namespace":"kube-system","pod":"coredns-1"}"#,
        ));
        assert_eq!(a.decision(), "refuse");
        assert_eq!(a.reasons(), ["namespace kube-system is denied by policy"]);
        let a = run(&payload(
            "firing",
            r#"{"alertname":"KubePodCrashLooping","namespace":"shop"}"#,
        ));
        assert_eq!(a.decision(), "reject");
    }

    #[test]
    fn refusals_say_whether_a_redelivery_may_try_again() {
        let now = DateTime::parse_from_rfc3339("2026-11-25T21:31:00Z")
            .unwrap()
            .to_utc();
        let crashloop = payload(
            "firing",
            r#"{"alertname":"KubePodCrashLooping","namespace":"shop","pod":"backend-1"}"#,
        );
        assert_eq!(run(&crashloop).refusal(now), None);
        let catalog = Catalog::parse([("restart-pods.yaml", CATALOG)]).unwrap();
        let cooled = |state: GuardrailState| {
            assess(&crashloop, &catalog, &Policy::default(), |_| state, now).refusal(now)
        };
        // Cooldown alone: try again when it ends.
        let last = now - TimeDelta::minutes(5);
        let r = cooled(GuardrailState {
            last_action_at: Some(last),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(r.codes, ["cooldown"]);
        assert_eq!(r.retry_after, Some(last + TimeDelta::minutes(15)));
        // Cooldown and budget: the later of the two (the next hour starts at 22:00).
        let r = cooled(GuardrailState {
            last_action_at: Some(last),
            actions_last_hour: 20,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(r.codes, ["cooldown", "budget-exhausted"]);
        assert_eq!(
            r.retry_after.unwrap().to_rfc3339(),
            "2026-11-25T22:00:00+00:00"
        );
        // An open circuit waits for a human, whatever else passes with time.
        let r = cooled(GuardrailState {
            last_action_at: Some(last),
            consecutive_failures: 3,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(r.retry_after, None);
        let r = run(&payload("firing", r#"{"alertname":"Watchdog"}"#))
            .refusal(now)
            .unwrap();
        assert_eq!(
            (r.codes.as_slice(), r.retry_after),
            (&["no-runbook".to_owned()][..], None)
        );
        let r = run(&payload(
            "firing",
            r#"{"alertname":"KubePodCrashLooping","namespace":"Shop","pod":"x"}"#,
        ))
        .refusal(now)
        .unwrap();
        assert_eq!(r.codes, ["invalid-target"]);
    }

    #[test]
    fn an_alert_too_large_to_carry_is_rejected_once_with_the_reason() {
        let base = r#"{"alertname":"KubePodCrashLooping","namespace":"shop","deployment":"web""#;
        let long = "x".repeat(MAX_LABEL_BYTES);
        let alert = payload("firing", &format!(r#"{base},"container":"{long}"}}"#));
        let a = run(&alert);
        assert_eq!(a.decision(), "reject");
        let refusal = a.refusal(alert.starts_at).unwrap();
        assert_eq!(refusal.codes, ["too-large"]);
        assert_eq!(refusal.retry_after, None, "the same alert never fits");
        assert!(
            refusal.reasons[0].contains("label container is"),
            "{:?}",
            refusal.reasons
        );

        let mut annotated = payload("firing", &format!("{base}}}"));
        annotated
            .annotations
            .insert("description".into(), "y".repeat(MAX_ANNOTATION_BYTES));
        assert_eq!(
            run(&annotated).refusal(annotated.starts_at).unwrap().codes,
            ["too-large"]
        );

        // Many labels, each under its cap, that together cannot fit an execution input.
        let mut many = payload("firing", &format!("{base}}}"));
        for i in 0..300 {
            many.labels.insert(format!("l{i}"), "z".repeat(1000));
        }
        let refusal = run(&many).refusal(many.starts_at).unwrap();
        assert_eq!(refusal.codes, ["too-large"]);
        assert!(
            refusal.reasons[0].contains("at most 262144"),
            "{:?}",
            refusal.reasons
        );

        // Resolving is never refused for size: it only marks the incident.
        let mut resolved = alert.clone();
        resolved.status = AlertStatus::Resolved;
        assert_eq!(run(&resolved).decision(), "resolve");
        // Just under every cap opens the incident.
        let fits = payload(
            "firing",
            &format!(r#"{base},"c":"{}"}}"#, "x".repeat(MAX_LABEL_BYTES - 1 - 1)),
        );
        assert_eq!(run(&fits).decision(), "run");
    }
}
