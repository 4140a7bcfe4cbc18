//! Is the alert's symptom there? A forged, stale or already healed alert must not roll back a
//! healthy deployment or drain a Ready node, so before a runbook's first action the cluster is
//! asked whether the symptom that action treats holds for the object it acts on.

use chrono::{DateTime, TimeDelta, Utc};
use std::sync::LazyLock;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, ListParams};
use selfheal_core::Step;
use selfheal_eks::time::utc;
use serde::Deserialize;

use crate::actions;
use crate::error::RemediateError;

/// What the cluster showed, in one line each way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Symptom {
    /// The symptom holds: act.
    Present(String),
    /// No sign of it: skip the runbook.
    Absent(String),
    /// The cluster cannot show it (a stuck queue consumer looks healthy to the API server): act
    /// on the alert, and say so in the audit.
    Unverifiable(String),
}

/// A container that restarted this recently is still crashlooping, even while it runs.
const RECENT_RESTART: TimeDelta = TimeDelta::minutes(10);
/// CPU use (of the limit, else of the request, as the HorizontalPodAutoscaler measures it) from
/// which a workload counts as saturated: CFS throttling shows from here.
const SATURATED: f64 = 0.8;
/// A revision that went live this long before the alert began can be the one that broke it.
const ROLLOUT_BLAME: TimeDelta = TimeDelta::hours(1);

/// What is wrong with a pod, if anything: a container waiting (CrashLoopBackOff,
/// ImagePullBackOff...), not ready, or restarted within [`RECENT_RESTART`].
pub fn pod_trouble(pod: &Pod, now: DateTime<Utc>) -> Option<String> {
    let status = pod.status.as_ref()?;
    if status.phase.as_deref() == Some("Pending") {
        return Some("Pending".into());
    }
    for c in status.container_statuses.iter().flatten() {
        if let Some(reason) = c
            .state
            .as_ref()
            .and_then(|s| s.waiting.as_ref())
            .and_then(|w| w.reason.clone())
        {
            return Some(reason);
        }
        if let Some(t) = c.last_state.as_ref().and_then(|s| s.terminated.as_ref())
            && let Some(finished) = t.finished_at.as_ref().and_then(utc)
            && now - finished < RECENT_RESTART
        {
            return Some(format!(
                "restarted {} s ago ({})",
                (now - finished).num_seconds(),
                t.reason.as_deref().unwrap_or("exited")
            ));
        }
        if !c.ready {
            return Some("not ready".into());
        }
    }
    let ready = status
        .conditions
        .iter()
        .flatten()
        .any(|c| c.type_ == "Ready" && c.status == "True");
    (!ready).then(|| "not ready".into())
}

/// What is wrong with a node, if anything: its Ready condition is not True.
pub fn node_trouble(node: &Node) -> Option<String> {
    let ready = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"));
    match ready {
        Some(c) if c.status == "True" => None,
        Some(c) => Some(format!(
            "Ready={}{}",
            c.status,
            c.reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        )),
        None => Some("no Ready condition reported".into()),
    }
}

/// What is wrong with a deployment's rollout, if anything: it exceeded its progress deadline, or
/// fewer replicas are updated or available than it wants.
pub fn rollout_trouble(d: &Deployment) -> Option<String> {
    let want = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let status = d.status.as_ref()?;
    if let Some(c) = status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Progressing" && c.status == "False")
    {
        return Some(format!(
            "rollout not progressing ({})",
            c.reason.as_deref().unwrap_or("no reason")
        ));
    }
    let updated = status.updated_replicas.unwrap_or(0);
    let available = status.available_replicas.unwrap_or(0);
    if updated < want || available < want {
        return Some(format!(
            "{updated} of {want} replicas updated, {available} available"
        ));
    }
    None
}

/// CPU in cores from a quantity as metrics-server and pod specs write it ("123456789n", "250u",
/// "500m", "2", "0.5").
pub fn cpu_cores(q: &str) -> Option<f64> {
    let q = q.trim();
    // Divided, not multiplied by 1e-9: "980000000n" is exactly 0.98 cores then.
    let (digits, per_core) = match q.char_indices().last()? {
        (i, 'n') => (&q[..i], 1e9),
        (i, 'u') => (&q[..i], 1e6),
        (i, 'm') => (&q[..i], 1e3),
        _ => (q, 1.0),
    };
    digits
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .map(|v| v / per_core)
}

/// One pod's entry in the resource metrics API (`metrics.k8s.io/v1beta1` PodMetrics).
#[derive(Debug, Deserialize)]
struct PodMetrics {
    metadata: Meta,
    #[serde(default)]
    containers: Vec<ContainerMetrics>,
}

#[derive(Debug, Deserialize)]
struct Meta {
    name: String,
}

#[derive(Debug, Deserialize)]
struct ContainerMetrics {
    name: String,
    usage: Usage,
}

#[derive(Debug, Deserialize)]
struct Usage {
    cpu: String,
}

/// The resource metrics API's PodMetrics, as metrics-server serves them.
static POD_METRICS: LazyLock<ApiResource> = LazyLock::new(|| ApiResource {
    group: "metrics.k8s.io".into(),
    version: "v1beta1".into(),
    api_version: "metrics.k8s.io/v1beta1".into(),
    kind: "PodMetrics".into(),
    plural: "pods".into(),
});

/// The workload's CPU use as a share of what its containers may use (limit, else request),
/// over the pods metrics are reported for; `None` when no pod has both.
fn saturation(pods: &[Pod], metrics: &[PodMetrics]) -> Option<(f64, usize)> {
    let mut shares = Vec::new();
    for m in metrics {
        let Some(spec) = pods
            .iter()
            .find(|p| p.metadata.name.as_deref() == Some(m.metadata.name.as_str()))
            .and_then(|p| p.spec.as_ref())
        else {
            continue;
        };
        let (mut used, mut allowed) = (0.0, 0.0);
        for c in &m.containers {
            let resources = spec
                .containers
                .iter()
                .find(|s| s.name == c.name)
                .and_then(|s| s.resources.as_ref());
            let cap = resources
                .and_then(|r| r.limits.as_ref())
                .and_then(|l| l.get("cpu"))
                .or_else(|| {
                    resources
                        .and_then(|r| r.requests.as_ref())
                        .and_then(|r| r.get("cpu"))
                })
                .and_then(|q| cpu_cores(&q.0));
            if let (Some(cap), Some(use_)) = (cap, cpu_cores(&c.usage.cpu)) {
                used += use_;
                allowed += cap;
            }
        }
        if allowed > 0.0 {
            shares.push(used / allowed);
        }
    }
    (!shares.is_empty()).then(|| {
        (
            shares.iter().sum::<f64>() / shares.len() as f64,
            shares.len(),
        )
    })
}

/// The cluster, asked about symptoms.
pub struct Verifier<'a> {
    /// The client.
    pub client: &'a Client,
    /// When the alert began (a rollout after it cannot be the one that broke it).
    pub alert_started: DateTime<Utc>,
    /// Now.
    pub now: DateTime<Utc>,
}

impl Verifier<'_> {
    /// Whether the symptom `step` treats holds for `object`: a deployment (`ns`/`name`) for
    /// workload steps, a pod for delete-pod, a node for cordon and drain.
    pub async fn check(
        &self,
        step: &Step,
        ns: &str,
        name: &str,
    ) -> Result<Symptom, RemediateError> {
        match step {
            Step::RestartPods {} => self.workload_pods(ns, name).await,
            Step::DeletePod {} => {
                let pod = Api::<Pod>::namespaced(self.client.clone(), ns)
                    .get(name)
                    .await?;
                Ok(match pod_trouble(&pod, self.now) {
                    Some(t) => Symptom::Present(format!("pod {ns}/{name}: {t}")),
                    None => Symptom::Absent(format!("pod {ns}/{name} is ready and not restarting")),
                })
            }
            Step::Rollback { .. } => self.rollout(ns, name).await,
            Step::Cordon {} | Step::Drain { .. } => {
                let node = Api::<Node>::all(self.client.clone()).get(name).await?;
                Ok(match node_trouble(&node) {
                    Some(t) => Symptom::Present(format!("node {name}: {t}")),
                    None => Symptom::Absent(format!("node {name} is Ready")),
                })
            }
            Step::Scale { by, .. } if *by > 0 => self.saturated(ns, name).await,
            Step::Scale { .. } => Ok(Symptom::Unverifiable(
                "scaling in treats a stuck consumer, which the API server cannot see".into(),
            )),
            Step::Uncordon {} | Step::Wait { .. } | Step::HealthCheck { .. } => Ok(
                Symptom::Unverifiable(format!("{} treats no symptom", step.action())),
            ),
        }
    }

    /// The deployment, its pod selector (`k=v,...`) and its pods.
    async fn pods_of(
        &self,
        ns: &str,
        name: &str,
    ) -> Result<(Deployment, String, Vec<Pod>), RemediateError> {
        let d = Api::<Deployment>::namespaced(self.client.clone(), ns)
            .get(name)
            .await?;
        let selector = d
            .spec
            .as_ref()
            .and_then(|s| s.selector.match_labels.as_ref())
            .map(|l| {
                l.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                RemediateError::Refused(format!(
                    "deployment {ns}/{name} selects its pods by expressions only"
                ))
            })?;
        let pods = Api::<Pod>::namespaced(self.client.clone(), ns)
            .list(&ListParams::default().labels(&selector))
            .await?
            .items;
        Ok((d, selector, pods))
    }

    /// Troubled pods, as `name (why)`.
    fn troubled(&self, pods: &[Pod]) -> Vec<String> {
        pods.iter()
            .filter_map(|p| {
                pod_trouble(p, self.now)
                    .map(|t| format!("{} ({t})", p.metadata.name.as_deref().unwrap_or("?")))
            })
            .collect()
    }

    async fn workload_pods(&self, ns: &str, name: &str) -> Result<Symptom, RemediateError> {
        let (_, _, pods) = self.pods_of(ns, name).await?;
        let troubled = self.troubled(&pods);
        Ok(if troubled.is_empty() {
            Symptom::Absent(format!(
                "all {} pods of deployment {ns}/{name} are ready, none restarted in the last {} min",
                pods.len(),
                RECENT_RESTART.num_minutes()
            ))
        } else {
            Symptom::Present(format!(
                "{} of {} pods of deployment {ns}/{name} in trouble: {}",
                troubled.len(),
                pods.len(),
                troubled.join(", ")
            ))
        })
    }

    /// The rollout is failing, or the live revision went live shortly before the alert began
    /// (an error-budget burn shows in Prometheus, not in the pods).
    async fn rollout(&self, ns: &str, name: &str) -> Result<Symptom, RemediateError> {
        let (d, _, pods) = self.pods_of(ns, name).await?;
        if let Some(t) = rollout_trouble(&d) {
            return Ok(Symptom::Present(format!("deployment {ns}/{name}: {t}")));
        }
        let troubled = self.troubled(&pods);
        if !troubled.is_empty() {
            return Ok(Symptom::Present(format!(
                "deployment {ns}/{name}: pods in trouble: {}",
                troubled.join(", ")
            )));
        }
        let live = actions::revision(&d.metadata);
        let live_since = actions::replica_sets_of(self.client, ns, &d)
            .await?
            .into_iter()
            .filter(|rs| live.is_some() && actions::revision(&rs.metadata) == live)
            .find_map(|rs| rs.metadata.creation_timestamp.as_ref().and_then(utc));
        let revision = live.map(|r| r.to_string()).unwrap_or_default();
        Ok(match live_since {
            Some(t) if t > self.alert_started => Symptom::Absent(format!(
                "deployment {ns}/{name} is healthy on revision {revision}, which went live after the alert began: the alert is about an earlier revision"
            )),
            Some(t) if self.alert_started - t <= ROLLOUT_BLAME => Symptom::Present(format!(
                "deployment {ns}/{name}: revision {revision} went live {} min before the alert began",
                (self.alert_started - t).num_minutes()
            )),
            _ => Symptom::Absent(format!(
                "deployment {ns}/{name} is healthy, and revision {revision} was live for over {} min before the alert began: no rollout to blame",
                ROLLOUT_BLAME.num_minutes()
            )),
        })
    }

    /// CPU near the limit across the workload's pods, from the resource metrics API.
    async fn saturated(&self, ns: &str, name: &str) -> Result<Symptom, RemediateError> {
        let (_, selector, pods) = self.pods_of(ns, name).await?;
        let api = Api::<DynamicObject>::namespaced_with(self.client.clone(), ns, &POD_METRICS);
        let metrics = match api.list(&ListParams::default().labels(&selector)).await {
            Ok(list) => list
                .items
                .into_iter()
                .map(|o| serde_json::to_value(o).and_then(serde_json::from_value))
                .collect::<Result<Vec<PodMetrics>, _>>()
                .map_err(|e| RemediateError::Internal(format!("PodMetrics: {e}")))?,
            // No metrics-server: the saturation cannot be seen, so nothing is scaled on the
            // alert's word alone.
            Err(kube::Error::Api(s)) if s.code == 404 || s.code == 503 => {
                return Ok(Symptom::Absent(format!(
                    "CPU use of deployment {ns}/{name} cannot be read (metrics.k8s.io answered {}; is metrics-server installed?)",
                    s.code
                )));
            }
            Err(e) => return Err(e.into()),
        };
        Ok(match saturation(&pods, &metrics) {
            Some((share, n)) if share >= SATURATED => Symptom::Present(format!(
                "deployment {ns}/{name}: CPU at {:.0}% of what its containers may use, across {n} pods",
                share * 100.0
            )),
            Some((share, n)) => Symptom::Absent(format!(
                "deployment {ns}/{name}: CPU at {:.0}% across {n} pods, below the {:.0}% that counts as saturated",
                share * 100.0,
                SATURATED * 100.0
            )),
            None => Symptom::Absent(format!(
                "deployment {ns}/{name}: no CPU use reported for its pods"
            )),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        "2026-11-25T21:30:00Z".parse().unwrap()
    }

    fn pod(status: serde_json::Value) -> Pod {
        serde_json::from_value(json!({"metadata": {"name": "web-1"}, "status": status})).unwrap()
    }

    #[test]
    fn a_pod_is_in_trouble_when_waiting_not_ready_or_recently_restarted() {
        let ready = json!([{"type": "Ready", "status": "True"}]);
        let running = |extra: serde_json::Value| {
            let mut c = json!({"name": "app", "image": "x", "imageID": "", "ready": true, "restartCount": 0, "state": {"running": {}}});
            c.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            pod(json!({"phase": "Running", "conditions": ready, "containerStatuses": [c]}))
        };
        assert_eq!(pod_trouble(&running(json!({})), now()), None);
        let waiting =
            running(json!({"ready": false, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}));
        assert_eq!(
            pod_trouble(&waiting, now()).as_deref(),
            Some("CrashLoopBackOff")
        );
        let recent = running(
            json!({"restartCount": 3, "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": "2026-11-25T21:28:00Z"}}}),
        );
        assert_eq!(
            pod_trouble(&recent, now()).as_deref(),
            Some("restarted 120 s ago (Error)")
        );
        let long_ago = running(
            json!({"restartCount": 1, "lastState": {"terminated": {"exitCode": 1, "finishedAt": "2026-11-25T19:00:00Z"}}}),
        );
        assert_eq!(
            pod_trouble(&long_ago, now()),
            None,
            "an old restart is history"
        );
        assert_eq!(
            pod_trouble(&running(json!({"ready": false})), now()).as_deref(),
            Some("not ready")
        );
    }

    #[test]
    fn a_node_is_in_trouble_unless_ready_is_true() {
        let node = |conditions: serde_json::Value| -> Node {
            serde_json::from_value(
                json!({"metadata": {"name": "n"}, "status": {"conditions": conditions}}),
            )
            .unwrap()
        };
        assert_eq!(
            node_trouble(&node(json!([{"type": "Ready", "status": "True"}]))),
            None
        );
        assert_eq!(
            node_trouble(&node(
                json!([{"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown"}])
            ))
            .as_deref(),
            Some("Ready=Unknown (NodeStatusUnknown)")
        );
        assert!(node_trouble(&node(json!([]))).is_some());
    }

    #[test]
    fn a_rollout_is_in_trouble_past_its_deadline_or_short_of_replicas() {
        let d = |status: serde_json::Value| -> Deployment {
            serde_json::from_value(json!({"metadata": {"name": "web"}, "spec": {"replicas": 3,
                "selector": {"matchLabels": {"app": "web"}}, "template": {}}, "status": status}))
            .unwrap()
        };
        assert_eq!(
            rollout_trouble(&d(json!({"updatedReplicas": 3, "availableReplicas": 3}))),
            None
        );
        assert_eq!(
            rollout_trouble(&d(json!({"updatedReplicas": 3, "availableReplicas": 3,
                "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]})))
            .as_deref(),
            Some("rollout not progressing (ProgressDeadlineExceeded)")
        );
        assert_eq!(
            rollout_trouble(&d(json!({"updatedReplicas": 1, "availableReplicas": 2}))).as_deref(),
            Some("1 of 3 replicas updated, 2 available")
        );
    }

    #[test]
    fn cpu_quantities_parse_in_every_unit_metrics_server_and_specs_use() {
        assert_eq!(cpu_cores("980000000n"), Some(0.98));
        assert_eq!(cpu_cores("250000u"), Some(0.25));
        assert_eq!(cpu_cores("500m"), Some(0.5));
        assert_eq!(cpu_cores("2"), Some(2.0));
        assert_eq!(cpu_cores("0.5"), Some(0.5));
        assert_eq!(cpu_cores(""), None);
        assert_eq!(cpu_cores("-1"), None);
        assert_eq!(cpu_cores("NaN"), None);
    }

    #[test]
    fn saturation_is_use_over_the_limit_else_the_request() {
        let pods: Vec<Pod> = [
            ("a", json!({"limits": {"cpu": "1"}})),
            ("b", json!({"requests": {"cpu": "500m"}})),
        ]
        .into_iter()
        .map(|(name, resources)| {
            serde_json::from_value(json!({"metadata": {"name": name}, "spec": {"containers": [
                    {"name": "app", "resources": resources}]}}))
            .unwrap()
        })
        .collect();
        let metrics: Vec<PodMetrics> = serde_json::from_value(json!([
            {"metadata": {"name": "a"}, "containers": [{"name": "app", "usage": {"cpu": "900m"}}]},
            {"metadata": {"name": "b"}, "containers": [{"name": "app", "usage": {"cpu": "350000000n"}}]},
            {"metadata": {"name": "gone"}, "containers": [{"name": "app", "usage": {"cpu": "1"}}]}
        ]))
        .unwrap();
        let (share, n) = saturation(&pods, &metrics).unwrap();
        assert_eq!(n, 2);
        assert!((share - 0.8).abs() < 1e-9, "{share}");
        assert_eq!(saturation(&pods, &[]), None);
    }
}
