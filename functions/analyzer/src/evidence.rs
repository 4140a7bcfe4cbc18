//! The evidence bundle: what the analyzer knows about an incident's target, as one serde type so
//! a bundle can be saved, replayed (`selfheal analyze`) and shared. Kubernetes objects keep their
//! API shape (k8s-openapi types); every field may be absent.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Event, Node, Pod};
use selfheal_core::redact::Redactor;
use selfheal_eks::time::{utc, utc_micro};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The alert as the analyzer sees it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertContext {
    /// The alert's labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The alert's annotations.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

impl From<&selfheal_core::Alert> for AlertContext {
    fn from(alert: &selfheal_core::Alert) -> Self {
        AlertContext {
            labels: alert.labels.clone().into_iter().collect(),
            annotations: alert.annotations.clone().into_iter().collect(),
        }
    }
}

/// The tail of one container's log.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LogTail {
    /// The pod.
    pub pod: String,
    /// The container.
    pub container: String,
    /// The previous (terminated) container's log rather than the current one.
    #[serde(default)]
    pub previous: bool,
    /// The lines, newline-separated.
    #[serde(default)]
    pub text: String,
}

/// One Prometheus instant query and its first sample's value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    /// The PromQL expression.
    pub query: String,
    /// The value (NaN never appears: queries without a sample are left out).
    pub value: f64,
}

/// Everything gathered about the incident's target.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// The alert.
    #[serde(default)]
    pub alert: AlertContext,
    /// The target's pods.
    #[serde(default)]
    pub pods: Vec<Pod>,
    /// Recent events about the target, its pods, ReplicaSets and nodes.
    #[serde(default)]
    pub events: Vec<Event>,
    /// Log tails: current and previous containers, and Loki's when configured.
    #[serde(default)]
    pub logs: Vec<LogTail>,
    /// The deployment, when the target has one.
    #[serde(default)]
    pub deployment: Option<Deployment>,
    /// The deployment's ReplicaSets (its revisions).
    #[serde(default)]
    pub replicasets: Vec<ReplicaSet>,
    /// The nodes the pods run on (or the target node).
    #[serde(default)]
    pub nodes: Vec<Node>,
    /// Prometheus instant queries.
    #[serde(default)]
    pub metrics: Vec<Metric>,
}

/// A bundle that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("evidence: {0}")]
pub struct EvidenceError(String);

impl Evidence {
    /// Reads a bundle; the error names the JSON path that does not fit.
    pub fn from_json(text: &str) -> Result<Evidence, EvidenceError> {
        let de = &mut serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(de)
            .map_err(|e| EvidenceError(format!("{}: {}", e.path(), e.inner())))
    }

    /// Redacts every string in the bundle (log text, event messages, annotations, labels, and
    /// whatever a pod spec carries in its env), keys and values alike, with one [`Redactor`] so
    /// placeholders stay stable across the bundle.
    pub fn redact(self, redactor: &mut Redactor) -> Evidence {
        let mut value = serde_json::to_value(&self).unwrap_or(Value::Null);
        redactor.redact_json(&mut value);
        from_redacted(value)
    }

    /// The latest time the bundle mentions: the "now" of the evidence, so rules weigh recency
    /// without a clock (a replayed bundle is analysed as it was).
    pub fn observed_at(&self) -> Option<DateTime<Utc>> {
        let events = self.events.iter().flat_map(|e| {
            [
                e.last_timestamp.as_ref().and_then(utc),
                e.event_time.as_ref().and_then(utc_micro),
                e.first_timestamp.as_ref().and_then(utc),
            ]
        });
        let nodes = self.nodes.iter().flat_map(|n| {
            n.status
                .iter()
                .flat_map(|s| s.conditions.iter().flatten())
                .flat_map(|c| {
                    [
                        c.last_heartbeat_time.as_ref(),
                        c.last_transition_time.as_ref(),
                    ]
                })
                .map(|t| t.and_then(utc))
        });
        let pods = self.pods.iter().flat_map(|p| {
            p.status
                .iter()
                .flat_map(|s| s.container_statuses.iter().flatten())
                .flat_map(|c| {
                    let state = c.state.as_ref();
                    let last = c.last_state.as_ref();
                    [
                        state
                            .and_then(|s| s.running.as_ref())
                            .and_then(|r| r.started_at.as_ref()),
                        state
                            .and_then(|s| s.terminated.as_ref())
                            .and_then(|t| t.finished_at.as_ref()),
                        last.and_then(|s| s.terminated.as_ref())
                            .and_then(|t| t.finished_at.as_ref()),
                    ]
                })
                .map(|t| t.and_then(utc))
        });
        events.chain(nodes).chain(pods).flatten().max()
    }

    /// Every name a finding may mention: pods, containers, nodes, the deployment, its
    /// ReplicaSets, the namespace, images, objects events are about, and alert label values.
    pub fn names(&self) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        let mut meta = |m: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta| {
            names.extend(m.name.clone());
            names.extend(m.namespace.clone());
        };
        self.pods.iter().for_each(|p| meta(&p.metadata));
        self.nodes.iter().for_each(|n| meta(&n.metadata));
        self.replicasets.iter().for_each(|r| meta(&r.metadata));
        self.deployment.iter().for_each(|d| meta(&d.metadata));
        for pod in &self.pods {
            let spec = pod.spec.iter();
            for c in spec.flat_map(|s| {
                s.containers
                    .iter()
                    .chain(s.init_containers.iter().flatten())
            }) {
                names.insert(c.name.clone());
                names.extend(c.image.clone());
            }
            names.extend(pod.spec.as_ref().and_then(|s| s.node_name.clone()));
        }
        let template = self.deployment.iter().flat_map(|d| d.spec.iter());
        for c in template
            .flat_map(|s| s.template.spec.iter())
            .flat_map(|s| s.containers.iter())
        {
            names.insert(c.name.clone());
            names.extend(c.image.clone());
        }
        for e in &self.events {
            names.extend(e.involved_object.name.clone());
            names.extend(e.involved_object.namespace.clone());
        }
        for l in &self.logs {
            names.insert(l.pod.clone());
            names.insert(l.container.clone());
        }
        names.extend(self.alert.labels.values().cloned());
        names
    }
}

/// The redacted bundle read back. Redaction only rewrites text inside strings, but should a
/// placeholder land in a typed field (a timestamp, say), that item is dropped, never the
/// unredacted original put back: fail closed.
fn from_redacted(value: Value) -> Evidence {
    fn items<T: serde::de::DeserializeOwned>(value: &Value, key: &str) -> Vec<T> {
        value[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|item| {
                serde_json::from_value(item.clone())
                    .map_err(|e| tracing::warn!(field = key, error = %e, "redacted item dropped"))
                    .ok()
            })
            .collect()
    }
    Evidence {
        alert: serde_json::from_value(value["alert"].clone()).unwrap_or_default(),
        pods: items(&value, "pods"),
        events: items(&value, "events"),
        logs: items(&value, "logs"),
        deployment: serde_json::from_value(value["deployment"].clone()).unwrap_or_default(),
        replicasets: items(&value, "replicasets"),
        nodes: items(&value, "nodes"),
        metrics: items(&value, "metrics"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_redacted_item_that_no_longer_fits_is_dropped_not_restored() {
        let value = json!({
            "alert": {"labels": {"app": "[REDACTED:email:1]"}},
            "pods": [
                {"metadata": {"name": "ok"}},
                {"metadata": {"name": "bad", "creationTimestamp": "[REDACTED:phone:1]"}},
            ],
            "logs": [{"pod": "ok", "container": "c", "text": "[REDACTED:secret:1]"}],
        });
        let evidence = from_redacted(value);
        assert_eq!(evidence.alert.labels["app"], "[REDACTED:email:1]");
        assert_eq!(evidence.pods.len(), 1);
        assert_eq!(evidence.pods[0].metadata.name.as_deref(), Some("ok"));
        assert_eq!(evidence.logs[0].text, "[REDACTED:secret:1]");
    }
}
