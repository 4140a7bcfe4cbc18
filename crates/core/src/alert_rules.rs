//! Prometheus alerting rules next to the runbook catalog: which runbook each alert meant for
//! automation (`selfheal: auto`) wakes, and which runbooks no rule can wake. A rule's static
//! labels and its name are what a runbook's matchers see of it (the series add the object's
//! labels, which name the target, not the runbook).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::alert::Labels;
use crate::runbook::Catalog;

/// A Prometheus rule file (`groups:` of `rules:`).
#[derive(Debug, Clone, Deserialize)]
pub struct RuleFile {
    /// The rule groups.
    pub groups: Vec<RuleGroup>,
}

/// One rule group.
#[derive(Debug, Clone, Deserialize)]
pub struct RuleGroup {
    /// Its name.
    pub name: String,
    /// Recording and alerting rules.
    pub rules: Vec<Rule>,
}

/// One rule: recording (`record`) or alerting (`alert`).
#[derive(Debug, Clone, Deserialize)]
pub struct Rule {
    /// The series a recording rule writes.
    #[serde(default)]
    pub record: Option<String>,
    /// The alert's name.
    #[serde(default)]
    pub alert: Option<String>,
    /// PromQL.
    #[serde(default)]
    pub expr: String,
    /// How long an alert's condition must hold before it fires (Prometheus' duration syntax).
    #[serde(default, rename = "for")]
    pub hold: Option<String>,
    /// Its static labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// An alert's annotations (templates).
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// The label that marks an alert meant for automation, and its value.
pub const AUTOMATION: (&str, &str) = ("selfheal", "auto");

impl Rule {
    /// The labels a runbook's matchers see: the static ones and `alertname`.
    pub fn alert_labels(&self) -> Option<Labels> {
        let name = self.alert.as_ref()?;
        let mut labels: Labels = self.labels.clone().into_iter().collect();
        labels.insert("alertname".into(), name.clone());
        Some(labels)
    }

    /// Whether the rule is meant for automation.
    pub fn automated(&self) -> bool {
        self.labels.get(AUTOMATION.0).map(String::as_str) == Some(AUTOMATION.1)
    }
}

/// How rules and runbooks cover each other.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Coverage {
    /// Per runbook id, the alerts (`name{severity}`) that wake it.
    pub woken_by: BTreeMap<String, Vec<String>>,
    /// Runbooks no rule wakes.
    pub unreachable_runbooks: Vec<String>,
    /// Alerts marked for automation that no runbook matches.
    pub unmatched_alerts: Vec<String>,
}

impl Coverage {
    /// Every runbook woken by a rule, and every automated alert matched by a runbook.
    pub fn complete(&self) -> bool {
        self.unreachable_runbooks.is_empty() && self.unmatched_alerts.is_empty()
    }
}

/// Checks `rules` against `catalog` both ways.
pub fn coverage<'a>(catalog: &Catalog, rules: impl IntoIterator<Item = &'a Rule>) -> Coverage {
    let mut out = Coverage::default();
    for rb in catalog.runbooks() {
        out.woken_by.insert(rb.id.clone(), Vec::new());
    }
    for rule in rules {
        let Some(labels) = rule.alert_labels() else {
            continue;
        };
        let name = format!(
            "{}{{severity={}}}",
            labels["alertname"],
            labels.get("severity").map_or("", String::as_str)
        );
        // The runbook the ingest would pick for this alert.
        match catalog.find(&labels) {
            Some(rb) if rule.automated() => {
                out.woken_by.entry(rb.id.clone()).or_default().push(name);
            }
            None if rule.automated() => out.unmatched_alerts.push(name),
            _ => {}
        }
    }
    out.unreachable_runbooks = out
        .woken_by
        .iter()
        .filter(|(_, alerts)| alerts.is_empty())
        .map(|(id, _)| id.clone())
        .collect();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(alert: &str, severity: &str, auto: bool) -> Rule {
        let mut labels = BTreeMap::from([("severity".to_owned(), severity.to_owned())]);
        if auto {
            labels.insert("selfheal".into(), "auto".into());
        }
        Rule {
            record: None,
            alert: Some(alert.into()),
            expr: "vector(1)".into(),
            hold: None,
            labels,
            annotations: BTreeMap::new(),
        }
    }

    #[test]
    fn every_runbook_needs_an_automated_rule_and_every_automated_rule_a_runbook() {
        let catalog = crate::embedded::catalog().unwrap();
        let rules = [
            rule("KubePodCrashLooping", "warning", true),
            rule("KubeNodeNotReady", "warning", true),
            rule("Watchdog", "none", true),
            // Matches restart-pods, but is not for automation: it wakes nothing.
            rule("KubePodCrashLooping", "critical", false),
        ];
        let c = coverage(&catalog, &rules);
        assert_eq!(c.unmatched_alerts, ["Watchdog{severity=none}"]);
        assert_eq!(
            c.woken_by["restart-pods"],
            ["KubePodCrashLooping{severity=warning}"]
        );
        assert!(
            c.unreachable_runbooks
                .contains(&"scale-services".to_owned())
        );
        assert!(!c.unreachable_runbooks.contains(&"evict-node".to_owned()));
        assert!(!c.complete());
    }
}
