//! The health-check function: after a step, did the target recover? For a workload: rolled out
//! (observedGeneration, updated = ready = desired, old pods gone), every pod Ready, no container
//! restarted since the remediation. For a node: Ready, or cordoned and drained. Optionally an SLI
//! as an instant PromQL query with a threshold. An unhealthy target is a result, never an error;
//! what cannot be checked is `unknown`.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Client;
use kube::api::{Api, ListParams};
use selfheal_core::remediation::{Check, Health, HealthCheckRequest, HealthResult};
use selfheal_core::runbook::SliCheck;
use selfheal_core::{Catalog, Step, Target, TargetKind};

/// Checks health; holds the kube client and, optionally, a Prometheus HTTP API base URL.
pub struct HealthChecker {
    client: Client,
    prometheus: Option<String>,
    catalog: Arc<Catalog>,
    http: reqwest::Client,
    clock: selfheal_core::Clock,
}

fn check(name: &str, ok: bool, detail: String) -> Check {
    Check {
        name: name.into(),
        health: if ok {
            Health::Healthy
        } else {
            Health::Unhealthy
        },
        detail,
    }
}

fn unknown(name: &str, detail: String) -> Check {
    Check {
        name: name.into(),
        health: Health::Unknown,
        detail,
    }
}

impl HealthChecker {
    /// A checker for the cluster behind `client` that trusts `catalog`'s runbooks (the compiled-in
    /// catalog in the Lambda, read once per container); SLI queries go to `prometheus` when given.
    pub fn new(client: Client, prometheus: Option<String>, catalog: Arc<Catalog>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        HealthChecker {
            client,
            prometheus: prometheus.map(|p| p.trim_end_matches('/').to_owned()),
            catalog,
            http,
            clock: Arc::new(chrono::Utc::now),
        }
    }

    /// Evaluates SLIs at `clock`'s time (the lab's virtual time; the wall clock by default).
    pub fn with_clock(mut self, clock: selfheal_core::Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Runs every check that applies to the incident's target and step.
    pub async fn check(&self, request: &HealthCheckRequest) -> HealthResult {
        // A runbook handed in could carry an SLI that always passes: only the catalog's own copy
        // may decide health, and a forged one is never healthy.
        let incident = &request.incident;
        let Some(runbook) = self
            .catalog
            .get(&incident.runbook.id)
            .filter(|r| **r == incident.runbook)
        else {
            let detail = format!(
                "runbook {:?} is not the catalog's; its checks are not trusted",
                incident.runbook.id
            );
            return HealthResult::from_checks(vec![check("runbook", false, detail)]);
        };
        let target = &incident.target;
        let mut checks = match target.kind {
            TargetKind::Node => self.node(&target.name).await,
            _ => self.workload(target, request.since).await,
        };
        if let Some(Step::HealthCheck { sli: Some(sli), .. }) = runbook.steps.get(request.step) {
            checks.push(self.sli(sli, target).await);
        }
        HealthResult::from_checks(checks)
    }

    async fn deployment_name(&self, target: &Target) -> Result<String, String> {
        let ns = target.namespace.as_deref().unwrap_or_default();
        if target.kind != TargetKind::Pod {
            return Ok(target.name.clone());
        }
        selfheal_eks::owning_deployment(&self.client, ns, &target.name)
            .await
            .map_err(|e| e.to_string())
    }

    async fn workload(&self, target: &Target, since: DateTime<Utc>) -> Vec<Check> {
        let ns = target.namespace.as_deref().unwrap_or_default();
        let name = match self.deployment_name(target).await {
            Ok(n) => n,
            Err(e) => return vec![unknown("rollout", e)],
        };
        let d = match Api::<Deployment>::namespaced(self.client.clone(), ns)
            .get(&name)
            .await
        {
            Ok(d) => d,
            Err(e) => return vec![unknown("rollout", e.to_string())],
        };
        let desired = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        let s = d.status.clone().unwrap_or_default();
        let generation = d.metadata.generation.unwrap_or(0);
        let observed = s.observed_generation.unwrap_or(0);
        let (updated, ready, available, total) = (
            s.updated_replicas.unwrap_or(0),
            s.ready_replicas.unwrap_or(0),
            s.available_replicas.unwrap_or(0),
            s.replicas.unwrap_or(0),
        );
        let rolled_out = observed >= generation
            && updated == desired
            && ready == desired
            && available == desired
            && total == desired;
        let mut checks = vec![check(
            "rollout",
            rolled_out,
            format!(
                "deployment {ns}/{name}: generation {generation} observed {observed}; desired {desired}, updated {updated}, ready {ready}, available {available}, total {total}"
            ),
        )];
        let selector = d
            .spec
            .and_then(|s| s.selector.match_labels)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default();
        let pods = match Api::<Pod>::namespaced(self.client.clone(), ns)
            .list(&ListParams::default().labels(&selector))
            .await
        {
            Ok(p) => p.items,
            Err(e) => {
                checks.push(unknown("pods-ready", e.to_string()));
                return checks;
            }
        };
        let not_ready: Vec<String> = pods
            .iter()
            .filter(|p| {
                !p.status
                    .as_ref()
                    .and_then(|s| s.conditions.as_ref())
                    .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
            })
            .filter_map(|p| p.metadata.name.clone())
            .collect();
        checks.push(check(
            "pods-ready",
            not_ready.is_empty() && !pods.is_empty(),
            if not_ready.is_empty() {
                format!("{} pod(s) ready", pods.len())
            } else {
                format!("not ready: {}", not_ready.join(", "))
            },
        ));
        let restarted: Vec<String> = pods
            .iter()
            .flat_map(|p| {
                let name = p.metadata.name.clone().unwrap_or_default();
                p.status
                    .iter()
                    .flat_map(|s| s.container_statuses.iter().flatten())
                    .filter_map(move |c| {
                        let t = c.last_state.as_ref()?.terminated.as_ref()?;
                        let finished = t.finished_at.as_ref()?.0.as_second();
                        (finished > since.timestamp())
                            .then(|| format!("{name}/{} (exit {})", c.name, t.exit_code))
                    })
            })
            .collect();
        checks.push(check(
            "restarts",
            restarted.is_empty(),
            if restarted.is_empty() {
                format!("no container restarted since {}", since.to_rfc3339())
            } else {
                format!("restarted since the remediation: {}", restarted.join(", "))
            },
        ));
        checks
    }

    async fn node(&self, name: &str) -> Vec<Check> {
        let node = match Api::<Node>::all(self.client.clone()).get(name).await {
            Ok(n) => n,
            Err(e) => return vec![unknown("node", e.to_string())],
        };
        let ready = node
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
        if ready {
            return vec![check("node", true, format!("node {name} is Ready"))];
        }
        // A NotReady node that is cordoned and empty (but for DaemonSets) has been dealt with:
        // its workloads run elsewhere.
        let cordoned = node.spec.as_ref().and_then(|s| s.unschedulable) == Some(true);
        let pods = match Api::<Pod>::all(self.client.clone())
            .list(&ListParams::default().fields(&format!("spec.nodeName={name}")))
            .await
        {
            Ok(p) => p.items,
            Err(e) => return vec![unknown("node", e.to_string())],
        };
        let left: Vec<String> = pods
            .iter()
            .filter(|p| {
                !p.metadata
                    .owner_references
                    .as_ref()
                    .is_some_and(|o| o.iter().any(|o| o.kind == "DaemonSet"))
            })
            .filter_map(|p| {
                Some(format!(
                    "{}/{}",
                    p.metadata.namespace.clone()?,
                    p.metadata.name.clone()?
                ))
            })
            .collect();
        let drained = cordoned && left.is_empty();
        vec![check(
            "node",
            drained,
            if drained {
                format!(
                    "node {name} is NotReady, cordoned and drained; its workloads run elsewhere"
                )
            } else {
                format!(
                    "node {name} is NotReady (cordoned: {cordoned}); pods still on it: {}",
                    left.join(", ")
                )
            },
        )]
    }

    async fn sli(&self, sli: &SliCheck, target: &Target) -> Check {
        let Some(base) = &self.prometheus else {
            return unknown("sli", "no Prometheus configured for the SLI query".into());
        };
        let query = sli
            .query
            .replace(
                "$namespace",
                target.namespace.as_deref().unwrap_or_default(),
            )
            .replace("$name", &target.name);
        let url = match reqwest::Url::parse_with_params(
            &format!("{base}/api/v1/query"),
            &[
                ("query", query.as_str()),
                (
                    "time",
                    &((self.clock)().timestamp_millis() as f64 / 1000.0).to_string(),
                ),
            ],
        ) {
            Ok(u) => u,
            Err(e) => return unknown("sli", format!("{base}: {e}")),
        };
        let resp = self.http.get(url).send().await;
        let body: serde_json::Value = match resp {
            Ok(r) => match r.json().await {
                Ok(b) => b,
                Err(e) => return unknown("sli", format!("{query}: {e}")),
            },
            Err(e) => return unknown("sli", format!("{query}: {e}")),
        };
        if body["status"] != "success" {
            return unknown("sli", format!("{query}: {}", body["error"]));
        }
        let value = body["data"]["result"][0]["value"][1]
            .as_str()
            .and_then(|v| v.parse::<f64>().ok());
        match value {
            None => unknown("sli", format!("{query}: no data")),
            Some(v) if v.is_nan() => unknown("sli", format!("{query}: NaN")),
            Some(v) => check(
                "sli",
                v < sli.below,
                format!("{query} = {v} (healthy below {})", sli.below),
            ),
        }
    }
}
