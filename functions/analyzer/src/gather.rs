//! Gathering evidence for an incident's target through the same kube client the remediation
//! uses (read-only: get, list, pods/log), plus Prometheus instant queries and Loki's
//! query_range when configured. Every piece is best effort: what cannot be read is logged and
//! left out, because a partial bundle still explains more than none.

use std::collections::BTreeSet;
use std::sync::LazyLock;
use std::time::Duration;

use chrono::{DateTime, Utc};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Event, Node, Pod};
use kube::Client;
use kube::api::{Api, ListParams, LogParams};
use selfheal_core::{Target, TargetKind};

use crate::evidence::{AlertContext, Evidence, LogTail, Metric};
use selfheal_core::target::pod_replicaset;
use selfheal_eks::owner::controller_of;
use selfheal_eks::time::utc;

/// Where evidence comes from and how much of it.
#[derive(Clone)]
pub struct Gatherer {
    client: Client,
    prometheus: Option<String>,
    loki: Option<String>,
    queries: Vec<String>,
    http: reqwest::Client,
    /// Lines per container log.
    pub tail_lines: i64,
    /// Events kept, newest first.
    pub max_events: usize,
}

/// One HTTP client per process (it holds the connection pool and the TLS set-up); a gatherer
/// is made per invocation, with that invocation's kube client.
static HTTP: LazyLock<reqwest::Client> = LazyLock::new(reqwest::Client::new);

/// How long a Prometheus or Loki query may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The queries asked by default; `{namespace}` and `{workload}` are filled in.
pub const DEFAULT_QUERIES: &[&str] = &[
    // The share of CPU periods throttled: CFS quota exhausted.
    "sum(rate(container_cpu_cfs_throttled_periods_total{namespace=\"{namespace}\",pod=~\"{workload}-.*\"}[5m])) / sum(rate(container_cpu_cfs_periods_total{namespace=\"{namespace}\",pod=~\"{workload}-.*\"}[5m]))",
];

impl Gatherer {
    /// Reads the cluster behind `client`; `prometheus` and `loki` are base URLs when set.
    pub fn new(client: Client, prometheus: Option<String>, loki: Option<String>) -> Self {
        Gatherer {
            client,
            prometheus: prometheus.map(|p| p.trim_end_matches('/').to_owned()),
            loki: loki.map(|l| l.trim_end_matches('/').to_owned()),
            queries: DEFAULT_QUERIES.iter().map(|q| (*q).to_owned()).collect(),
            http: HTTP.clone(),
            tail_lines: 100,
            max_events: 50,
        }
    }

    /// Everything about `target`, as of `now`, for `alert`.
    pub async fn gather(
        &self,
        target: &Target,
        alert: AlertContext,
        now: DateTime<Utc>,
    ) -> Evidence {
        let ns = target.namespace.clone().unwrap_or_default();
        let mut evidence = Evidence {
            alert,
            ..Evidence::default()
        };
        let workload = match target.kind {
            TargetKind::Node => {
                self.node_scope(&target.name, &mut evidence).await;
                None
            }
            TargetKind::Pod => selfheal_eks::owning_deployment(&self.client, &ns, &target.name)
                .await
                .map_err(|e| tracing::warn!(error = %e, "evidence: no deployment"))
                .ok(),
            _ => Some(target.name.clone()),
        };
        if let Some(name) = &workload {
            self.workload_scope(&ns, name, &mut evidence).await;
        }
        self.events(&ns, &mut evidence).await;
        self.logs(&mut evidence).await;
        if let Some(name) = &workload {
            self.metrics(&ns, name, &mut evidence).await;
            self.loki(&ns, name, now, &mut evidence).await;
        }
        evidence
    }

    async fn workload_scope(&self, ns: &str, name: &str, evidence: &mut Evidence) {
        let Some(deployment) = ok(Api::<Deployment>::namespaced(self.client.clone(), ns)
            .get_opt(name)
            .await)
        .flatten() else {
            return;
        };
        let selector = deployment
            .spec
            .as_ref()
            .and_then(|s| s.selector.match_labels.as_ref())
            .map(|labels| {
                labels
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default();
        let params = ListParams::default().labels(&selector);
        evidence.replicasets = list(
            Api::<ReplicaSet>::namespaced(self.client.clone(), ns),
            &params,
        )
        .await
        .into_iter()
        .filter(|rs| controller_of(&rs.metadata, "Deployment").as_deref() == Some(name))
        .collect();
        evidence.pods = list(Api::<Pod>::namespaced(self.client.clone(), ns), &params).await;
        evidence.deployment = Some(deployment);
        let nodes: BTreeSet<String> = evidence
            .pods
            .iter()
            .filter_map(|p| p.spec.as_ref()?.node_name.clone())
            .collect();
        // The pods' nodes, and every node in trouble: a pod the trouble evicted is gone, and
        // its node with it, from the pods' view.
        let all = list(
            Api::<Node>::all(self.client.clone()),
            &ListParams::default(),
        )
        .await;
        evidence.nodes = all
            .into_iter()
            .filter(|n| {
                n.metadata
                    .name
                    .as_ref()
                    .is_some_and(|name| nodes.contains(name))
                    || troubled(n)
            })
            .collect();
    }

    async fn node_scope(&self, node: &str, evidence: &mut Evidence) {
        evidence
            .nodes
            .extend(ok(Api::<Node>::all(self.client.clone()).get_opt(node).await).flatten());
        let params = ListParams::default().fields(&format!("spec.nodeName={node}"));
        evidence.pods = list(Api::<Pod>::all(self.client.clone()), &params).await;
    }

    /// Events about the deployment, its ReplicaSets, pods and nodes, newest first.
    async fn events(&self, ns: &str, evidence: &mut Evidence) {
        let mut about: BTreeSet<String> = evidence
            .pods
            .iter()
            .filter_map(|p| p.metadata.name.clone())
            .collect();
        about.extend(
            evidence
                .replicasets
                .iter()
                .filter_map(|r| r.metadata.name.clone()),
        );
        about.extend(
            evidence
                .deployment
                .iter()
                .filter_map(|d| d.metadata.name.clone()),
        );
        let nodes: BTreeSet<String> = evidence
            .nodes
            .iter()
            .filter_map(|n| n.metadata.name.clone())
            .collect();
        let mut events: Vec<Event> = vec![];
        if !ns.is_empty() {
            events.extend(
                list(
                    Api::<Event>::namespaced(self.client.clone(), ns),
                    &ListParams::default(),
                )
                .await
                .into_iter()
                .filter(|e| {
                    e.involved_object
                        .name
                        .as_ref()
                        .is_some_and(|n| about.contains(n) || owned_pod(n, &about))
                }),
            );
        }
        if !nodes.is_empty() {
            // Node events live in the default namespace.
            events.extend(
                list(
                    Api::<Event>::namespaced(self.client.clone(), "default"),
                    &ListParams::default(),
                )
                .await
                .into_iter()
                .filter(|e| {
                    e.involved_object.kind.as_deref() == Some("Node")
                        && e.involved_object
                            .name
                            .as_ref()
                            .is_some_and(|n| nodes.contains(n))
                }),
            );
        }
        events.sort_by_key(|e| std::cmp::Reverse(last_seen(e)));
        events.truncate(self.max_events);
        evidence.events = events;
    }

    /// Current and, after a restart, previous container logs of every pod.
    async fn logs(&self, evidence: &mut Evidence) {
        for pod in &evidence.pods {
            let (Some(name), Some(ns)) = (&pod.metadata.name, &pod.metadata.namespace) else {
                continue;
            };
            let api = Api::<Pod>::namespaced(self.client.clone(), ns);
            for status in pod
                .status
                .iter()
                .flat_map(|s| s.container_statuses.iter().flatten())
            {
                let previous = [false, true]
                    .into_iter()
                    .filter(|p| !p || status.restart_count > 0);
                for previous in previous {
                    let params = LogParams {
                        container: Some(status.name.clone()),
                        previous,
                        tail_lines: Some(self.tail_lines),
                        limit_bytes: Some(64 * 1024),
                        ..LogParams::default()
                    };
                    if let Some(text) = ok(api.logs(name, &params).await)
                        && !text.is_empty()
                    {
                        evidence.logs.push(LogTail {
                            pod: name.clone(),
                            container: status.name.clone(),
                            previous,
                            text,
                        });
                    }
                }
            }
        }
    }

    async fn metrics(&self, ns: &str, workload: &str, evidence: &mut Evidence) {
        let Some(base) = &self.prometheus else {
            return;
        };
        for template in &self.queries {
            let query = template
                .replace("{namespace}", ns)
                .replace("{workload}", workload);
            let answer = self
                .http
                .get(format!("{base}/api/v1/query"))
                .timeout(TIMEOUT)
                .query(&[("query", query.as_str())])
                .send()
                .await;
            let value = match answer {
                Ok(r) => r.json::<serde_json::Value>().await.ok(),
                Err(e) => {
                    tracing::warn!(error = %e, "prometheus query failed");
                    None
                }
            }
            .and_then(|v| {
                v["data"]["result"][0]["value"][1]
                    .as_str()
                    .and_then(|s| s.parse::<f64>().ok())
            })
            .filter(|v| v.is_finite());
            if let Some(value) = value {
                evidence.metrics.push(Metric { query, value });
            }
        }
    }

    /// Loki keeps the logs of pods a restart deleted; query_range over the last 30 minutes.
    async fn loki(&self, ns: &str, workload: &str, now: DateTime<Utc>, evidence: &mut Evidence) {
        let Some(base) = &self.loki else {
            return;
        };
        let query = format!("{{namespace=\"{ns}\", pod=~\"{workload}-.*\"}}");
        let start = (now - chrono::Duration::minutes(30))
            .timestamp_nanos_opt()
            .unwrap_or(0);
        let end = now.timestamp_nanos_opt().unwrap_or(0);
        let answer = self
            .http
            .get(format!("{base}/loki/api/v1/query_range"))
            .timeout(TIMEOUT)
            .query(&[
                ("query", query.as_str()),
                ("start", &start.to_string()),
                ("end", &end.to_string()),
                ("limit", &self.tail_lines.to_string()),
                ("direction", "backward"),
            ])
            .send()
            .await;
        let body: serde_json::Value = match answer {
            Ok(r) if r.status().is_success() => r.json().await.unwrap_or_default(),
            Ok(r) => {
                tracing::warn!(status = %r.status(), "loki query failed");
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "loki query failed");
                return;
            }
        };
        for stream in body["data"]["result"].as_array().into_iter().flatten() {
            let label = |k: &str| stream["stream"][k].as_str().unwrap_or("").to_owned();
            // Loki answers newest first with direction=backward; logs read oldest first.
            let mut lines: Vec<&str> = stream["values"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v[1].as_str())
                .collect();
            lines.reverse();
            if !lines.is_empty() {
                evidence.logs.push(LogTail {
                    pod: label("pod"),
                    container: label("container"),
                    previous: false,
                    text: lines.join("\n"),
                });
            }
        }
    }
}

/// Not Ready, or under disk, memory or PID pressure.
fn troubled(node: &Node) -> bool {
    node.status
        .iter()
        .flat_map(|s| s.conditions.iter().flatten())
        .any(|c| (c.type_ == "Ready") != (c.status == "True"))
}

/// The items of a list, or none (logged) when the list cannot be read.
async fn list<K>(api: Api<K>, params: &ListParams) -> Vec<K>
where
    K: Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    ok(api.list(params).await)
        .map(|l| l.items)
        .unwrap_or_default()
}

fn ok<T>(result: Result<T, kube::Error>) -> Option<T> {
    result
        .map_err(|e| tracing::warn!(error = %e, "evidence: read failed"))
        .ok()
}

/// A pod a restart already replaced still has events; its name extends a ReplicaSet's.
fn owned_pod(name: &str, about: &BTreeSet<String>) -> bool {
    pod_replicaset(name).is_some_and(|rs| about.contains(rs))
}

fn last_seen(e: &Event) -> Option<DateTime<Utc>> {
    e.last_timestamp.as_ref().and_then(utc)
}
