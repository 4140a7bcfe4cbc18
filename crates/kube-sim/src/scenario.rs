//! Scenario files: the cluster a test or the lab starts from (nodes, namespaces, the sample app,
//! raw objects) and the faults to inject, in one YAML file.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use thiserror::Error;

use crate::faults::Fault;
use crate::resources::{by_kind, idx};
use crate::world::{Timing, World};

/// A node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSpec {
    /// The node name.
    pub name: String,
    /// Allocatable CPU.
    #[serde(default = "four")]
    pub cpu: String,
    /// Allocatable memory.
    #[serde(default = "sixteen_gi")]
    pub memory: String,
    /// topology.kubernetes.io/zone.
    #[serde(default)]
    pub zone: Option<String>,
}

fn four() -> String {
    "4".into()
}
fn sixteen_gi() -> String {
    "16Gi".into()
}

/// A PodDisruptionBudget for an app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Budget {
    /// minAvailable (count or percent).
    #[serde(default)]
    pub min_available: Option<Value>,
    /// maxUnavailable (count or percent).
    #[serde(default)]
    pub max_unavailable: Option<Value>,
}

/// An app: a Deployment, its Service and optionally a PDB.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppSpec {
    /// Name of the Deployment and Service, and the `app` label.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Container image.
    pub image: String,
    /// Replicas.
    #[serde(default = "one")]
    pub replicas: i64,
    /// CPU request.
    #[serde(default = "cpu")]
    pub cpu: String,
    /// CPU limit: the app's CPU use is a share of it, and it is throttled near it.
    #[serde(default = "cpu_limit")]
    pub cpu_limit: String,
    /// Memory request and limit.
    #[serde(default = "memory")]
    pub memory: String,
    /// The tier label (frontend, backend, database).
    #[serde(default)]
    pub tier: Option<String>,
    /// A PodDisruptionBudget.
    #[serde(default)]
    pub pdb: Option<Budget>,
    /// Earlier images, rolled out in order before `image`, so rollouts have a history.
    #[serde(default)]
    pub history: Vec<String>,
    /// Messages a second arriving on the queue this app consumes (a worker: no Service).
    #[serde(default)]
    pub queue: Option<f64>,
}

fn one() -> i64 {
    1
}
fn cpu() -> String {
    "100m".into()
}
fn cpu_limit() -> String {
    "1".into()
}
fn memory() -> String {
    "128Mi".into()
}

/// A scenario file.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// The cluster name (kubeconfig, metrics).
    #[serde(default = "cluster")]
    pub cluster: String,
    /// Nodes.
    #[serde(default)]
    pub nodes: Vec<NodeSpec>,
    /// Namespaces besides default and kube-system.
    #[serde(default)]
    pub namespaces: Vec<String>,
    /// Apps.
    #[serde(default)]
    pub apps: Vec<AppSpec>,
    /// Any other objects, as Kubernetes YAML would write them.
    #[serde(default)]
    pub objects: Vec<Value>,
    /// Faults injected at start.
    #[serde(default)]
    pub faults: Vec<Fault>,
    /// Delays of the simulated kubelet.
    #[serde(default)]
    pub timing: Timing,
    /// Kubernetes manifests (multi-document YAML) whose objects join `objects`, paths relative
    /// to the scenario file: the repo's own k8s/ manifests run in kube-sim unchanged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub manifests: Vec<std::path::PathBuf>,
    /// Containers of these images run as local processes (served in real time only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processes: Option<crate::runtime::ProcessSettings>,
}

fn cluster() -> String {
    "selfheal-dev".into()
}

/// A scenario that cannot be loaded.
#[derive(Debug, Error)]
pub enum ScenarioError {
    /// Not valid YAML for a scenario.
    #[error("scenario: {0}")]
    Parse(String),
    /// A file it names cannot be read.
    #[error("{path}: {message}")]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        message: String,
    },
    /// An object the API server would refuse.
    #[error("scenario object {name}: {message}")]
    Object {
        /// The object's kind/name.
        name: String,
        /// Why it was refused.
        message: String,
    },
}

impl Scenario {
    /// Parses a scenario file.
    pub fn from_yaml(text: &str) -> Result<Scenario, ScenarioError> {
        serde_saphyr::from_str(text).map_err(|e| ScenarioError::Parse(e.to_string()))
    }

    /// Reads a scenario file and the manifests it names (their objects are appended to
    /// `objects`, in file order).
    pub fn from_file(path: &std::path::Path) -> Result<Scenario, ScenarioError> {
        let read = |p: &std::path::Path| {
            std::fs::read_to_string(p).map_err(|e| ScenarioError::Read {
                path: p.to_owned(),
                message: e.to_string(),
            })
        };
        let mut scenario = Scenario::from_yaml(&read(path)?)?;
        let dir = path.parent().unwrap_or(std::path::Path::new("."));
        for manifest in &scenario.manifests {
            let file = dir.join(manifest);
            let docs: Vec<Value> =
                serde_saphyr::from_multiple(&read(&file)?).map_err(|e| ScenarioError::Read {
                    path: file.clone(),
                    message: e.to_string(),
                })?;
            scenario
                .objects
                .extend(docs.into_iter().filter(|d| !d.is_null()));
        }
        Ok(scenario)
    }

    /// Builds the world: namespaces, nodes, apps (rolled through their history), objects, faults;
    /// then runs the controllers until every pod settles.
    pub fn build(&self, world: &mut World) -> Result<(), ScenarioError> {
        let refuse = |name: String| {
            move |e: crate::status::ApiError| ScenarioError::Object {
                name: name.clone(),
                message: e.message,
            }
        };
        for ns in &self.namespaces {
            world
                .create(idx::NAMESPACES, "", json!({"metadata": {"name": ns}}))
                .map_err(refuse(format!("Namespace/{ns}")))?;
        }
        for n in &self.nodes {
            let mut labels = json!({"kubernetes.io/hostname": n.name, "kubernetes.io/os": "linux"});
            if let Some(z) = &n.zone {
                labels["topology.kubernetes.io/zone"] = json!(z);
            }
            let node = json!({"metadata": {"name": n.name, "labels": labels}, "spec": {},
                "status": {"capacity": {"cpu": n.cpu, "memory": n.memory, "pods": "110"}, "allocatable": {"cpu": n.cpu, "memory": n.memory, "pods": "110"},
                    "nodeInfo": {"kubeletVersion": "v1.33.0", "containerRuntimeVersion": "containerd://2.0.0", "osImage": "Amazon Linux 2023", "architecture": "amd64", "operatingSystem": "linux"}}});
            world
                .create(idx::NODES, "", node)
                .map_err(refuse(format!("Node/{}", n.name)))?;
        }
        world.reconcile();
        for app in &self.apps {
            let labels = match &app.tier {
                Some(t) => json!({"app": app.name, "tier": t}),
                None => json!({"app": app.name}),
            };
            let images: Vec<&String> = app
                .history
                .iter()
                .chain(std::iter::once(&app.image))
                .collect();
            let annotations = match app.queue {
                Some(rate) => json!({crate::traffic::QUEUE_RATE: rate.to_string()}),
                None => json!({}),
            };
            for (i, image) in images.iter().enumerate() {
                let d = json!({"metadata": {"name": app.name, "labels": labels, "annotations": annotations},
                    "spec": {"replicas": app.replicas, "selector": {"matchLabels": {"app": app.name}},
                        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
                        "template": {"metadata": {"labels": labels},
                            "spec": {"containers": [{"name": app.name, "image": image, "ports": [{"containerPort": 8080}],
                                "resources": {"requests": {"cpu": app.cpu, "memory": app.memory}, "limits": {"cpu": app.cpu_limit, "memory": app.memory}},
                                "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}}}]}}}});
                let name = format!("Deployment/{}/{}", app.namespace, app.name);
                if i == 0 {
                    world
                        .create(idx::DEPLOYMENTS, &app.namespace, d)
                        .map_err(refuse(name))?;
                } else {
                    let current = world
                        .get(idx::DEPLOYMENTS, &app.namespace, &app.name)
                        .cloned()
                        .unwrap_or_default();
                    let mut next = current.clone();
                    next["spec"]["template"] = d["spec"]["template"].clone();
                    let next = world
                        .prepare_update(idx::DEPLOYMENTS, &app.namespace, &app.name, next)
                        .map_err(refuse(name))?;
                    world.store(idx::DEPLOYMENTS, next);
                }
                settle(world);
            }
            if app.queue.is_none() {
                let svc = json!({"metadata": {"name": app.name, "labels": labels},
                    "spec": {"selector": {"app": app.name}, "ports": [{"port": 80, "targetPort": 8080}]}});
                world
                    .create(idx::SERVICES, &app.namespace, svc)
                    .map_err(refuse(format!("Service/{}", app.name)))?;
            }
            if let Some(b) = &app.pdb {
                let mut spec = json!({"selector": {"matchLabels": {"app": app.name}}});
                if let Some(m) = &b.min_available {
                    spec["minAvailable"] = m.clone();
                }
                if let Some(m) = &b.max_unavailable {
                    spec["maxUnavailable"] = m.clone();
                }
                world
                    .create(
                        idx::PDBS,
                        &app.namespace,
                        json!({"metadata": {"name": app.name}, "spec": spec}),
                    )
                    .map_err(refuse(format!("PodDisruptionBudget/{}", app.name)))?;
            }
        }
        for obj in &self.objects {
            let kind = obj["kind"].as_str().unwrap_or_default();
            let res = by_kind(kind).ok_or_else(|| ScenarioError::Object {
                name: kind.to_owned(),
                message: "unsupported kind".into(),
            })?;
            let ns = obj["metadata"]["namespace"]
                .as_str()
                .unwrap_or("default")
                .to_owned();
            world
                .create(res, &ns, obj.clone())
                .map_err(refuse(format!("{kind}/{}", obj["metadata"]["name"])))?;
        }
        settle(world);
        for f in &self.faults {
            world.add_fault(f.clone());
        }
        Ok(())
    }
}

/// Advances sim time until pods are running (at most two minutes).
fn settle(world: &mut World) {
    for _ in 0..120 {
        let now = world.now + chrono::Duration::seconds(1);
        world.tick(now);
        let settled = world.list(idx::DEPLOYMENTS, None).all(|d| {
            let want = d["spec"]["replicas"].as_i64().unwrap_or(1);
            d["status"]["readyReplicas"].as_i64() == Some(want)
                && d["status"]["updatedReplicas"].as_i64() == Some(want)
                && d["status"]["replicas"].as_i64() == Some(want)
        });
        if settled {
            return;
        }
    }
}
