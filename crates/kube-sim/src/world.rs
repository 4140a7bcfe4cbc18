//! The simulated cluster: the API server's store, sim time, the injected faults, and what the
//! controllers (crate::controllers) keep between reconciles. Everything happens in sim time,
//! advanced by [`World::tick`]; every write goes through the store, so watches see it.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Digest;
use tokio::sync::broadcast;

use crate::controllers::{self, kubelet::PodSim};
use crate::faults::{Fault, FaultKind};
use crate::object::{ObjectKey, name_of, namespace_of, owner_uid, ts, uid_of};
use crate::resources::idx;
use crate::runtime::{ProcessSettings, Runtime};
use crate::selector::LabelSelector;
use crate::status::ApiError;
use crate::store::{Store, WatchEvent};
use crate::traffic::Traffic;

/// Delays of the simulated kubelet and controllers, in sim seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Timing {
    /// Scheduled to image pulled.
    pub pull_seconds: i64,
    /// Container started to Ready.
    pub ready_seconds: i64,
    /// Running time before a crashlooping container exits.
    pub crash_after_seconds: i64,
    /// First crash back-off (doubles, capped at 300 s).
    pub backoff_seconds: i64,
    /// How long pods stay on a NotReady node before they are evicted.
    pub eviction_grace_seconds: i64,
    /// Requests per second each ready pod serves (metrics).
    pub rps_per_pod: f64,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            pull_seconds: 1,
            ready_seconds: 2,
            crash_after_seconds: 5,
            backoff_seconds: 10,
            eviction_grace_seconds: 60,
            rps_per_pod: 10.0,
        }
    }
}

/// The simulated cluster.
pub struct World {
    store: Store,
    /// Sim time.
    pub now: DateTime<Utc>,
    /// Injected faults.
    pub faults: Vec<Fault>,
    next_fault: u64,
    /// Delays.
    pub timing: Timing,
    /// What the kubelet tracks per pod uid.
    pub(crate) pods: HashMap<String, PodSim>,
    /// Golden signals per pod uid.
    pub traffic: HashMap<String, Traffic>,
    /// Work queues by `namespace/deployment` of their consumers.
    pub queues: HashMap<String, crate::traffic::Queue>,
    /// When each deployment (by uid) last made progress, for its progress deadline.
    pub(crate) progress: HashMap<String, DateTime<Utc>>,
    /// The processes of containers that run as processes, when the scenario asks for them.
    pub(crate) runtime: Option<Runtime>,
    /// Cluster IPs handed out.
    services: u32,
}

impl World {
    /// An empty cluster with the `default` and `kube-system` namespaces, at `now`.
    pub fn new(now: DateTime<Utc>, timing: Timing) -> World {
        let mut w = World {
            store: Store::default(),
            now,
            faults: Vec::new(),
            next_fault: 0,
            timing,
            pods: HashMap::new(),
            traffic: HashMap::new(),
            queues: HashMap::new(),
            progress: HashMap::new(),
            runtime: None,
            services: 0,
        };
        for ns in ["default", "kube-system"] {
            let _ = w.create(idx::NAMESPACES, "", json!({"metadata": {"name": ns}}));
        }
        w
    }

    /// The latest resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.store.resource_version()
    }

    /// A receiver of every change from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<WatchEvent> {
        self.store.subscribe()
    }

    /// Recent changes after `rv`, for a watch that resumes; `None` when they are no longer kept.
    pub fn changes_since(&self, rv: u64) -> Option<Vec<WatchEvent>> {
        self.store.changes_since(rv)
    }

    /// An object.
    pub fn get(&self, res: usize, ns: &str, name: &str) -> Option<&Value> {
        self.store.get(res, ns, name)
    }

    /// Objects of a resource, in one namespace or all.
    pub fn list(&self, res: usize, ns: Option<&str>) -> impl Iterator<Item = &Value> {
        self.store.list(res, ns)
    }

    /// Every object with its key.
    pub fn objects(&self) -> impl Iterator<Item = (&ObjectKey, &Value)> {
        self.store.objects()
    }

    /// Runs the containers of `settings.images` as processes (before the cluster is built, so
    /// pods and Services get addresses that can be bound). They start once [`Self::go_live`].
    pub fn run_processes(&mut self, settings: ProcessSettings) {
        self.runtime = Some(Runtime::new(settings));
    }

    /// From now on, containers that run as processes start their processes: sim time follows
    /// the wall clock.
    pub fn go_live(&mut self) {
        if let Some(rt) = &mut self.runtime {
            rt.live = true;
        }
    }

    /// Whether the pod's containers run as live processes.
    pub fn runs_as_process(&self, pod: &Value) -> bool {
        self.runtime.as_ref().is_some_and(|rt| {
            pod["spec"]["containers"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| rt.runs(c["image"].as_str().unwrap_or_default()))
        })
    }

    /// PIDs of the processes running now.
    pub fn process_ids(&self) -> Vec<u32> {
        self.runtime.as_ref().map(Runtime::pids).unwrap_or_default()
    }

    /// Stops every process, by PID, and waits for them.
    pub fn stop_processes(&mut self) {
        if let Some(rt) = &mut self.runtime {
            rt.stop_all();
        }
    }

    /// Fills in what the API server sets on create; checks the name, and the namespace exists.
    pub fn prepare_create(&mut self, res: usize, ns: &str, obj: Value) -> Result<Value, ApiError> {
        let obj = self.allocate(res, obj);
        self.store.prepare_create(res, ns, obj, self.now)
    }

    /// Creates an object; returns it as stored.
    pub fn create(&mut self, res: usize, ns: &str, obj: Value) -> Result<Value, ApiError> {
        let obj = self.allocate(res, obj);
        self.store.create(res, ns, obj, self.now)
    }

    /// A Service's cluster IP, as the API server allocates it: from 10.100.0.0/16, or from
    /// 127.240.0.0-127.255.255.255 when processes run, so kube-sim's proxy can listen on it.
    fn allocate(&mut self, res: usize, mut obj: Value) -> Value {
        let spec = &obj["spec"];
        let wants_ip = res == idx::SERVICES
            && spec["clusterIP"].is_null()
            && spec["type"].as_str() != Some("ExternalName");
        if wants_ip {
            self.services += 1;
            let ip = match &self.runtime {
                Some(rt) => {
                    let h = sha2::Sha256::digest(format!("{}/{}", rt.salt, self.services));
                    format!("127.{}.{}.{}", 240 + h[0] % 16, h[1], h[2].max(1))
                }
                None => {
                    let (hi, lo) = (self.services / 254 % 256, self.services % 254 + 1);
                    format!("10.100.{hi}.{lo}")
                }
            };
            obj["spec"]["clusterIP"] = json!(ip);
            obj["spec"]["clusterIPs"] = json!([ip]);
        }
        obj
    }

    /// Checks an update against the stored object: resourceVersion, immutable fields; returns
    /// the object as it would be stored.
    pub fn prepare_update(
        &self,
        res: usize,
        ns: &str,
        name: &str,
        obj: Value,
    ) -> Result<Value, ApiError> {
        self.store.prepare_update(res, ns, name, obj)
    }

    /// Stores an updated object (after [`Self::prepare_update`]) if it changed.
    pub fn store(&mut self, res: usize, obj: Value) -> Value {
        self.store.store(res, obj)
    }

    /// See [`Store::take`].
    pub(crate) fn take(&mut self, key: &ObjectKey) -> Option<Value> {
        self.store.take(key)
    }

    /// See [`Store::restore`].
    pub(crate) fn restore(&mut self, key: ObjectKey, obj: Value) {
        self.store.restore(key, obj);
    }

    /// Deletes an object; a pod takes what the kubelet and the traffic kept about it along.
    pub fn delete(&mut self, res: usize, ns: &str, name: &str) -> Result<Value, ApiError> {
        let obj = self.store.delete(res, ns, name)?;
        if res == idx::PODS {
            self.pods.remove(uid_of(&obj));
            self.traffic.remove(uid_of(&obj));
            if let Some(rt) = &mut self.runtime {
                rt.stop_pod(uid_of(&obj));
            }
        }
        Ok(obj)
    }

    /// Adds a fault; returns its id.
    pub fn add_fault(&mut self, mut fault: Fault) -> String {
        self.next_fault += 1;
        if fault.id.is_empty() {
            fault.id = format!("f{}", self.next_fault);
        }
        fault.injected_at = Some(self.now);
        if fault.until_restart() {
            let existing = self
                .list(idx::PODS, None)
                .filter(|p| {
                    let dep = self.deployment_of_pod(p);
                    fault.hits_pod(namespace_of(p), dep.as_deref(), self.now, uid_of(p))
                })
                .map(|p| uid_of(p).to_owned())
                .collect();
            fault.existing = Some(existing);
        }
        let id = fault.id.clone();
        self.faults.push(fault);
        self.reconcile();
        id
    }

    /// Removes a fault by id.
    pub fn clear_fault(&mut self, id: &str) -> bool {
        let before = self.faults.len();
        self.faults.retain(|f| f.id != id);
        self.reconcile();
        before != self.faults.len()
    }

    /// Records a core/v1 Event about `involved`, counting repeats.
    pub fn event(
        &mut self,
        involved: &Value,
        warning: bool,
        reason: &str,
        message: &str,
        component: &str,
    ) {
        let ns = match namespace_of(involved) {
            "" => "default".to_owned(),
            n => n.to_owned(),
        };
        let existing = self
            .list(idx::EVENTS, Some(&ns))
            .find(|e| {
                e["involvedObject"]["uid"] == uid_of(involved)
                    && e["reason"] == reason
                    && e["message"] == message
            })
            .cloned();
        if let Some(mut e) = existing {
            e["count"] = json!(e["count"].as_i64().unwrap_or(1) + 1);
            e["lastTimestamp"] = json!(ts(self.now));
            self.store(idx::EVENTS, e);
            return;
        }
        let ev = json!({
            "metadata": {"name": format!("{}.{:x}", name_of(involved), self.store.serial())},
            "involvedObject": {"kind": involved["kind"], "name": name_of(involved), "namespace": namespace_of(involved),
                "uid": uid_of(involved), "apiVersion": involved["apiVersion"]},
            "reason": reason, "message": message, "type": if warning { "Warning" } else { "Normal" },
            "count": 1, "firstTimestamp": ts(self.now), "lastTimestamp": ts(self.now),
            "source": {"component": component},
        });
        let _ = self.create(idx::EVENTS, &ns, ev);
    }

    /// Advances sim time to `now`, running the controllers and the traffic.
    pub fn tick(&mut self, now: DateTime<Utc>) {
        let elapsed = (now - self.now).num_milliseconds() as f64 / 1000.0;
        if elapsed <= 0.0 {
            return;
        }
        self.now = now;
        self.reconcile();
        crate::traffic::serve(self, elapsed);
        crate::traffic::consume(self, elapsed);
    }

    /// Runs every controller until nothing changes (bounded).
    pub fn reconcile(&mut self) {
        controllers::reconcile(self);
    }

    /// The deployment a pod belongs to (through its ReplicaSet).
    pub fn deployment_of_pod(&self, pod: &Value) -> Option<String> {
        let rs_uid = owner_uid(pod)?;
        let rs = self
            .list(idx::REPLICASETS, Some(namespace_of(pod)))
            .find(|r| uid_of(r) == rs_uid)?;
        let dep_uid = owner_uid(rs)?;
        self.list(idx::DEPLOYMENTS, Some(namespace_of(pod)))
            .find(|d| uid_of(d) == dep_uid)
            .map(|d| name_of(d).to_owned())
    }

    /// The objects of `res` that `owner` controls.
    pub(crate) fn owned<'a>(
        &'a self,
        res: usize,
        owner: &'a Value,
    ) -> impl Iterator<Item = &'a Value> + 'a {
        let uid = uid_of(owner).to_owned();
        self.list(res, Some(namespace_of(owner)))
            .filter(move |o| owner_uid(o) == Some(uid.as_str()))
    }

    /// Whether the node is Ready (no NodeNotReady fault on it).
    pub(crate) fn node_ready(&self, node: &Value) -> bool {
        !self.faults.iter().any(|f| {
            matches!(f.kind, FaultKind::NodeNotReady)
                && f.hits_node(name_of(node))
                && f.in_force_since(self.now).is_some()
        })
    }

    /// The faults that hit `pod` now.
    pub(crate) fn pod_faults(&self, pod: &Value) -> Vec<FaultKind> {
        let created = pod["metadata"]["creationTimestamp"]
            .as_str()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.to_utc())
            .unwrap_or(self.now);
        let dep = self.deployment_of_pod(pod);
        self.faults
            .iter()
            .filter(|f| {
                f.hits_pod_at(
                    self.now,
                    namespace_of(pod),
                    dep.as_deref(),
                    created,
                    uid_of(pod),
                ) || (matches!(
                    f.kind,
                    FaultKind::BadImage { .. } | FaultKind::Errors { image: Some(_), .. }
                ) && f.in_force_since(self.now).is_some())
            })
            .map(|f| f.kind.clone())
            .collect()
    }

    /// (expected pods, healthy pods, desired healthy, disruptions allowed) of a PDB.
    pub fn budget(&self, pdb: &Value) -> (i64, i64, i64, i64) {
        controllers::disruption::budget(self, pdb)
    }

    /// PodDisruptionBudgets that select `pod`.
    pub fn budgets_for(&self, pod: &Value) -> Vec<Value> {
        self.list(idx::PDBS, Some(namespace_of(pod)))
            .filter(|pdb| LabelSelector::from_object(&pdb["spec"]["selector"]).matches(pod))
            .cloned()
            .collect()
    }

    /// A pod's container log, current or the previous container's.
    pub fn log(&self, pod: &Value, container: Option<&str>, previous: bool) -> Option<Vec<String>> {
        let uid = uid_of(pod);
        self.pods
            .get(uid)?
            .log(uid, self.runtime.as_ref(), container, previous)
    }
}
