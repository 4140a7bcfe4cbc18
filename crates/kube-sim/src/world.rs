//! The cluster's state and the controllers that make writes have effects: deployments roll out
//! new ReplicaSets, ReplicaSets keep their pods, the scheduler places pods, a kubelet moves them
//! through their lifecycle (and through the injected faults), nodes that stop being Ready lose
//! their pods. Everything happens in sim time, advanced by [`World::tick`].

use std::collections::{BTreeMap, HashMap, VecDeque};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::broadcast;

use crate::faults::{Fault, FaultKind};
use crate::quantity::{cpu_millis, memory_bytes};
use crate::resources::{RESOURCES, Resource, idx};
use crate::selector::LabelSelector;
use crate::status::ApiError;

/// (resource index, namespace or "", name).
pub type Key = (usize, String, String);

/// One change, as a watch streams it.
#[derive(Debug, Clone)]
pub struct WatchEvent {
    /// The resourceVersion after the change.
    pub rv: u64,
    /// The resource index.
    pub resource: usize,
    /// ADDED, MODIFIED or DELETED.
    pub kind: &'static str,
    /// The object after the change (before, for DELETED).
    pub object: Value,
}

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

/// What the kubelet tracks per container.
#[derive(Debug, Clone, Default)]
struct ContainerSim {
    started: Option<DateTime<Utc>>,
    restarts: i64,
    waiting_until: Option<DateTime<Utc>>,
    last_terminated: Option<Value>,
    current_log: Vec<String>,
    previous_log: Vec<String>,
}

/// What the kubelet tracks per pod.
#[derive(Debug, Clone, Default)]
struct PodSim {
    scheduled: Option<DateTime<Utc>>,
    containers: BTreeMap<String, ContainerSim>,
    not_ready_since: Option<DateTime<Utc>>,
    /// When each event reason was last recorded: a kubelet repeats an event per probe period,
    /// not per reconcile.
    last_event: HashMap<String, DateTime<Utc>>,
}

/// Golden-signal counters per pod.
#[derive(Debug, Clone, Default)]
pub struct Traffic {
    /// Requests by status code.
    pub requests: BTreeMap<u16, f64>,
    /// Histogram bucket counts (cumulative), sum and count.
    pub buckets: [f64; 8],
    /// Sum of durations.
    pub duration_sum: f64,
    /// Count of durations.
    pub duration_count: f64,
    /// CPU seconds used.
    pub cpu_seconds: f64,
    /// CFS periods, and those throttled.
    pub cfs_periods: f64,
    /// Throttled periods.
    pub cfs_throttled: f64,
}

/// Histogram buckets for http_request_duration_seconds.
pub const BUCKETS: [f64; 8] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, f64::INFINITY];

/// The simulated cluster.
pub struct World {
    objects: BTreeMap<Key, Value>,
    rv: u64,
    uid: u64,
    /// Sim time.
    pub now: DateTime<Utc>,
    recent: VecDeque<WatchEvent>,
    tx: broadcast::Sender<WatchEvent>,
    pods: HashMap<String, PodSim>,
    /// Injected faults.
    pub faults: Vec<Fault>,
    next_fault: u64,
    /// Delays.
    pub timing: Timing,
    /// Golden signals per pod uid.
    pub traffic: HashMap<String, Traffic>,
    progress: HashMap<String, DateTime<Utc>>,
}

/// The annotation kubectl sets on a rollout restart.
pub const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";
const REVISION: &str = "deployment.kubernetes.io/revision";
const HASH: &str = "pod-template-hash";

fn meta(v: &Value) -> &Value {
    &v["metadata"]
}

/// The object's name.
pub fn name_of(v: &Value) -> &str {
    meta(v)["name"].as_str().unwrap_or_default()
}

/// The object's namespace ("" for cluster-scoped).
pub fn namespace_of(v: &Value) -> &str {
    meta(v)["namespace"].as_str().unwrap_or_default()
}

fn uid_of(v: &Value) -> &str {
    meta(v)["uid"].as_str().unwrap_or_default()
}

fn owner_uid(v: &Value) -> Option<&str> {
    meta(v)["ownerReferences"]
        .as_array()?
        .iter()
        .find(|o| o["controller"] == true)?["uid"]
        .as_str()
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn random_suffix(len: usize) -> String {
    const CHARS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    (0..len)
        .map(|_| CHARS[fastrand::usize(..CHARS.len())] as char)
        .collect()
}

/// Rounds `intOrString` (an int, or a percent of `total`).
fn scaled(v: &Value, total: i64, up: bool) -> i64 {
    match v {
        Value::Number(n) => n.as_i64().unwrap_or(0),
        Value::String(s) => {
            let pct: f64 = s.trim_end_matches('%').parse().unwrap_or(0.0);
            let x = pct * total as f64 / 100.0;
            (if up { x.ceil() } else { x.floor() }) as i64
        }
        _ => 0,
    }
}

impl World {
    /// An empty cluster with the `default` and `kube-system` namespaces, at `now`.
    pub fn new(now: DateTime<Utc>, timing: Timing) -> World {
        let (tx, _) = broadcast::channel(4096);
        let mut w = World {
            objects: BTreeMap::new(),
            rv: 0,
            uid: 0,
            now,
            recent: VecDeque::new(),
            tx,
            pods: HashMap::new(),
            faults: Vec::new(),
            next_fault: 0,
            timing,
            traffic: HashMap::new(),
            progress: HashMap::new(),
        };
        for ns in ["default", "kube-system"] {
            let _ = w.create(idx::NAMESPACES, "", json!({"metadata": {"name": ns}}));
        }
        w
    }

    /// The latest resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.rv
    }

    /// A receiver of every change from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<WatchEvent> {
        self.tx.subscribe()
    }

    /// Recent changes after `rv`, for a watch that resumes; `None` when they are no longer kept.
    pub fn changes_since(&self, rv: u64) -> Option<Vec<WatchEvent>> {
        if rv < self.rv && self.recent.front().is_none_or(|e| e.rv > rv + 1) {
            return None;
        }
        Some(self.recent.iter().filter(|e| e.rv > rv).cloned().collect())
    }

    /// An object.
    pub fn get(&self, res: usize, ns: &str, name: &str) -> Option<&Value> {
        self.objects.get(&(res, ns.to_owned(), name.to_owned()))
    }

    /// Objects of a resource, in one namespace or all.
    pub fn list(&self, res: usize, ns: Option<&str>) -> impl Iterator<Item = &Value> {
        self.objects
            .range((res, String::new(), String::new())..(res + 1, String::new(), String::new()))
            .filter(move |((_, n, _), _)| ns.is_none_or(|want| want == n))
            .map(|(_, v)| v)
    }

    fn emit(&mut self, resource: usize, kind: &'static str, object: Value) {
        let ev = WatchEvent {
            rv: self.rv,
            resource,
            kind,
            object,
        };
        self.recent.push_back(ev.clone());
        if self.recent.len() > 10_000 {
            self.recent.pop_front();
        }
        let _ = self.tx.send(ev);
    }

    /// Fills in what the API server sets on create; checks the name, and the namespace exists.
    pub fn prepare_create(
        &mut self,
        res: usize,
        ns: &str,
        mut obj: Value,
    ) -> Result<Value, ApiError> {
        let r = &RESOURCES[res];
        if !obj["metadata"].is_object() {
            obj["metadata"] = json!({});
        }
        if obj["metadata"]["name"].as_str().is_none_or(str::is_empty) {
            match obj["metadata"]["generateName"].as_str() {
                Some(prefix) => {
                    obj["metadata"]["name"] = json!(format!("{prefix}{}", random_suffix(5)))
                }
                None => {
                    return Err(ApiError::invalid(
                        r,
                        "",
                        &[(
                            "metadata.name",
                            "Required value: name or generateName is required".into(),
                        )],
                    ));
                }
            }
        }
        let name = name_of(&obj).to_owned();
        validate_name(r, &name)?;
        if r.namespaced {
            if self.get(idx::NAMESPACES, "", ns).is_none() {
                return Err(ApiError::not_found(&RESOURCES[idx::NAMESPACES], ns));
            }
            obj["metadata"]["namespace"] = json!(ns);
        }
        if self
            .get(res, if r.namespaced { ns } else { "" }, &name)
            .is_some()
        {
            return Err(ApiError::already_exists(r, &name));
        }
        obj["apiVersion"] = json!(r.api_version());
        obj["kind"] = json!(r.kind);
        self.uid += 1;
        let uid = format!("{:08x}-5e1f-4ea1-8000-{:012x}", self.uid, self.uid);
        obj["metadata"]["uid"] = json!(uid);
        obj["metadata"]["creationTimestamp"] = json!(ts(self.now));
        if obj.get("spec").is_some() {
            obj["metadata"]["generation"] = json!(1);
        }
        validate(r, &obj)?;
        Ok(obj)
    }

    /// Creates an object (after [`Self::prepare_create`]); returns it as stored.
    pub fn create(&mut self, res: usize, ns: &str, obj: Value) -> Result<Value, ApiError> {
        let mut obj = self.prepare_create(res, ns, obj)?;
        self.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        let key = (
            res,
            if RESOURCES[res].namespaced {
                ns.to_owned()
            } else {
                String::new()
            },
            name_of(&obj).to_owned(),
        );
        self.objects.insert(key, obj.clone());
        self.emit(res, "ADDED", obj.clone());
        Ok(obj)
    }

    /// Checks an update against the stored object: resourceVersion, immutable fields; returns
    /// the object as it would be stored.
    pub fn prepare_update(
        &self,
        res: usize,
        ns: &str,
        name: &str,
        mut obj: Value,
    ) -> Result<Value, ApiError> {
        let r = &RESOURCES[res];
        let current = self
            .get(res, ns, name)
            .ok_or_else(|| ApiError::not_found(r, name))?;
        let sent_rv = obj["metadata"]["resourceVersion"]
            .as_str()
            .unwrap_or_default();
        if !sent_rv.is_empty()
            && sent_rv
                != current["metadata"]["resourceVersion"]
                    .as_str()
                    .unwrap_or_default()
        {
            return Err(ApiError::conflict(r, name));
        }
        if name_of(&obj) != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({}) does not match the name on the URL ({name})",
                name_of(&obj)
            )));
        }
        for field in ["uid", "creationTimestamp", "namespace"] {
            obj["metadata"][field] = current["metadata"][field].clone();
        }
        obj["apiVersion"] = json!(r.api_version());
        obj["kind"] = json!(r.kind);
        if res == idx::DEPLOYMENTS && obj["spec"]["selector"] != current["spec"]["selector"] {
            return Err(ApiError::invalid(
                r,
                name,
                &[("spec.selector", "Invalid value: field is immutable".into())],
            ));
        }
        let generation = current["metadata"]["generation"].as_i64().unwrap_or(0);
        if obj.get("spec").is_some() {
            let changed = obj["spec"] != current["spec"];
            obj["metadata"]["generation"] = json!(generation + i64::from(changed));
        }
        obj["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"].clone();
        validate(r, &obj)?;
        Ok(obj)
    }

    /// Stores an updated object (after [`Self::prepare_update`]) if it changed.
    pub fn store(&mut self, res: usize, mut obj: Value) -> Value {
        let key = (res, namespace_of(&obj).to_owned(), name_of(&obj).to_owned());
        if self.objects.get(&key) == Some(&obj) {
            return obj;
        }
        self.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        self.objects.insert(key, obj.clone());
        self.emit(res, "MODIFIED", obj.clone());
        obj
    }

    /// Deletes an object.
    pub fn delete(&mut self, res: usize, ns: &str, name: &str) -> Result<Value, ApiError> {
        let obj = self
            .objects
            .remove(&(res, ns.to_owned(), name.to_owned()))
            .ok_or_else(|| ApiError::not_found(&RESOURCES[res], name))?;
        if res == idx::PODS {
            self.pods.remove(uid_of(&obj));
            self.traffic.remove(uid_of(&obj));
        }
        self.rv += 1;
        self.emit(res, "DELETED", obj.clone());
        Ok(obj)
    }

    /// Adds a fault; returns its id.
    pub fn add_fault(&mut self, mut fault: Fault) -> String {
        self.next_fault += 1;
        if fault.id.is_empty() {
            fault.id = format!("f{}", self.next_fault);
        }
        fault.injected_at = Some(self.now);
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
                e["involvedObject"]["uid"] == meta(involved)["uid"]
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
            "metadata": {"name": format!("{}.{:x}", name_of(involved), self.rv * 7919 + self.uid)},
            "involvedObject": {"kind": involved["kind"], "name": name_of(involved), "namespace": namespace_of(involved),
                "uid": meta(involved)["uid"], "apiVersion": involved["apiVersion"]},
            "reason": reason, "message": message, "type": if warning { "Warning" } else { "Normal" },
            "count": 1, "firstTimestamp": ts(self.now), "lastTimestamp": ts(self.now),
            "source": {"component": component},
        });
        let _ = self.create(idx::EVENTS, &ns, ev);
    }

    /// Advances sim time to `now`, running the kubelet, the node lifecycle and the traffic.
    pub fn tick(&mut self, now: DateTime<Utc>) {
        let elapsed = (now - self.now).num_milliseconds() as f64 / 1000.0;
        if elapsed <= 0.0 {
            return;
        }
        self.now = now;
        self.reconcile();
        self.serve_traffic(elapsed);
    }

    /// Runs every controller until nothing changes (bounded).
    pub fn reconcile(&mut self) {
        for _ in 0..20 {
            let before = self.rv;
            self.garbage_collect();
            self.deployments();
            self.daemonsets();
            self.replicasets();
            self.schedule();
            self.kubelet();
            self.node_lifecycle();
            self.statuses();
            if self.rv == before {
                break;
            }
        }
    }

    fn garbage_collect(&mut self) {
        let uids: std::collections::HashSet<String> = self
            .objects
            .values()
            .map(|o| uid_of(o).to_owned())
            .collect();
        let orphans: Vec<Key> = self
            .objects
            .iter()
            .filter(|(_, o)| owner_uid(o).is_some_and(|u| !uids.contains(u)))
            .map(|(k, _)| k.clone())
            .collect();
        for (res, ns, name) in orphans {
            let _ = self.delete(res, &ns, &name);
        }
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

    fn owned<'a>(&'a self, res: usize, owner: &'a Value) -> impl Iterator<Item = &'a Value> + 'a {
        let uid = uid_of(owner).to_owned();
        self.list(res, Some(namespace_of(owner)))
            .filter(move |o| owner_uid(o) == Some(uid.as_str()))
    }

    fn deployments(&mut self) {
        let deployments: Vec<Value> = self.list(idx::DEPLOYMENTS, None).cloned().collect();
        for d in deployments {
            self.rollout(&d);
        }
    }

    fn rollout(&mut self, d: &Value) {
        let ns = namespace_of(d).to_owned();
        let desired = d["spec"]["replicas"].as_i64().unwrap_or(1);
        let mut template = d["spec"]["template"].clone();
        let hash = template_hash(&template);
        let owned: Vec<Value> = self.owned(idx::REPLICASETS, d).cloned().collect();
        let max_revision = owned
            .iter()
            .filter_map(|r| {
                r["metadata"]["annotations"][REVISION]
                    .as_str()?
                    .parse::<i64>()
                    .ok()
            })
            .max()
            .unwrap_or(0);
        let current = owned
            .iter()
            .find(|r| r["metadata"]["labels"][HASH] == hash)
            .cloned();
        let paused = d["spec"]["paused"] == true;
        let new_rs = match current {
            Some(mut rs) => {
                let rev: i64 = rs["metadata"]["annotations"][REVISION]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                if rev < max_revision && !paused {
                    // A rollback to an older template: that ReplicaSet becomes the newest revision.
                    rs["metadata"]["annotations"][REVISION] = json!((max_revision + 1).to_string());
                    rs = self.store(idx::REPLICASETS, rs);
                    self.event(
                        d,
                        false,
                        "ScalingReplicaSet",
                        &format!("Rolled back deployment {} to revision {rev}", name_of(d)),
                        "deployment-controller",
                    );
                }
                rs
            }
            None if paused => return,
            None => {
                template["metadata"]["labels"][HASH] = json!(hash);
                let mut selector = d["spec"]["selector"].clone();
                selector["matchLabels"][HASH] = json!(hash);
                let rs = json!({
                    "metadata": {"name": format!("{}-{hash}", name_of(d)), "labels": template["metadata"]["labels"],
                        "annotations": {REVISION: (max_revision + 1).to_string(), "deployment.kubernetes.io/desired-replicas": desired.to_string()},
                        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name_of(d), "uid": uid_of(d), "controller": true, "blockOwnerDeletion": true}]},
                    "spec": {"replicas": 0, "selector": selector, "template": template},
                });
                match self.create(idx::REPLICASETS, &ns, rs) {
                    Ok(rs) => {
                        self.progress.insert(uid_of(d).to_owned(), self.now);
                        rs
                    }
                    Err(_) => return,
                }
            }
        };
        let mut dep = d.clone();
        if dep["metadata"]["annotations"][REVISION] != new_rs["metadata"]["annotations"][REVISION] {
            dep["metadata"]["annotations"][REVISION] =
                new_rs["metadata"]["annotations"][REVISION].clone();
            self.store(idx::DEPLOYMENTS, dep);
        }
        let olds: Vec<Value> = self
            .owned(idx::REPLICASETS, d)
            .filter(|r| uid_of(r) != uid_of(&new_rs))
            .cloned()
            .collect();
        let replicas = |r: &Value| r["spec"]["replicas"].as_i64().unwrap_or(0);
        let ready = |r: &Value| r["status"]["readyReplicas"].as_i64().unwrap_or(0);
        let recreate = d["spec"]["strategy"]["type"] == "Recreate";
        let (surge, unavailable) = if recreate {
            (0, desired)
        } else {
            let ru = &d["spec"]["strategy"]["rollingUpdate"];
            let surge = scaled(ru.get("maxSurge").unwrap_or(&json!("25%")), desired, true);
            let unavailable = scaled(
                ru.get("maxUnavailable").unwrap_or(&json!("25%")),
                desired,
                false,
            );
            if surge == 0 && unavailable == 0 {
                (0, 1)
            } else {
                (surge, unavailable)
            }
        };
        let old_total: i64 = olds.iter().map(replicas).sum();
        // Scale the new ReplicaSet up within maxSurge.
        let total = old_total + replicas(&new_rs);
        let mut target_new = replicas(&new_rs);
        if target_new > desired {
            target_new = desired;
        } else if !(recreate && old_total > 0) {
            let room = desired + surge - total;
            target_new = (target_new + room.max(0)).min(desired);
        }
        if target_new != replicas(&new_rs) {
            self.scale_rs(&new_rs, target_new, d);
        }
        // Scale old ReplicaSets down: unready pods first, ready ones within maxUnavailable.
        let min_available = desired - unavailable;
        let mut available: i64 = ready(&new_rs) + olds.iter().map(ready).sum::<i64>();
        for old in &olds {
            let n = replicas(old);
            if n == 0 {
                continue;
            }
            let unready = (n - ready(old)).max(0);
            let removable_ready = (available - min_available).max(0).min(ready(old));
            let remove = (unready + removable_ready).min(n);
            if remove > 0 {
                available -= removable_ready;
                self.scale_rs(old, n - remove, d);
            }
        }
    }

    fn scale_rs(&mut self, rs: &Value, to: i64, d: &Value) {
        let from = rs["spec"]["replicas"].as_i64().unwrap_or(0);
        let mut rs = self
            .get(idx::REPLICASETS, namespace_of(rs), name_of(rs))
            .cloned()
            .unwrap_or_else(|| rs.clone());
        rs["spec"]["replicas"] = json!(to);
        self.store(idx::REPLICASETS, rs.clone());
        let verb = if to > from { "up" } else { "down" };
        let msg = format!(
            "Scaled {verb} replica set {} from {from} to {to}",
            name_of(&rs)
        );
        self.event(d, false, "ScalingReplicaSet", &msg, "deployment-controller");
        self.progress.insert(uid_of(d).to_owned(), self.now);
    }

    fn daemonsets(&mut self) {
        let sets: Vec<Value> = self.list(idx::DAEMONSETS, None).cloned().collect();
        let nodes: Vec<String> = self
            .list(idx::NODES, None)
            .map(|n| name_of(n).to_owned())
            .collect();
        for ds in sets {
            let have: Vec<String> = self
                .owned(idx::PODS, &ds)
                .filter_map(|p| p["spec"]["nodeName"].as_str().map(str::to_owned))
                .collect();
            for node in nodes.iter().filter(|n| !have.contains(n)) {
                let mut pod = self.pod_from_template(&ds, "DaemonSet");
                pod["spec"]["nodeName"] = json!(node);
                let _ = self.create(idx::PODS, namespace_of(&ds), pod);
            }
        }
    }

    fn pod_from_template(&self, owner: &Value, kind: &str) -> Value {
        let t = &owner["spec"]["template"];
        let mut pod = json!({
            "metadata": {"name": format!("{}-{}", name_of(owner), random_suffix(5)), "labels": t["metadata"]["labels"],
                "annotations": t["metadata"]["annotations"],
                "ownerReferences": [{"apiVersion": owner["apiVersion"], "kind": kind, "name": name_of(owner), "uid": uid_of(owner), "controller": true, "blockOwnerDeletion": true}]},
            "spec": t["spec"],
            "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False"}]},
        });
        if pod["metadata"]["annotations"].is_null() {
            pod["metadata"]
                .as_object_mut()
                .map(|m| m.remove("annotations"));
        }
        pod
    }

    fn replicasets(&mut self) {
        let sets: Vec<Value> = self.list(idx::REPLICASETS, None).cloned().collect();
        for rs in sets {
            let want = rs["spec"]["replicas"].as_i64().unwrap_or(0);
            let mut pods: Vec<Value> = self.owned(idx::PODS, &rs).cloned().collect();
            let have = pods.len() as i64;
            for _ in have..want {
                let pod = self.pod_from_template(&rs, "ReplicaSet");
                if let Ok(p) = self.create(idx::PODS, namespace_of(&rs), pod) {
                    let msg = format!("Created pod: {}", name_of(&p));
                    self.event(
                        &rs,
                        false,
                        "SuccessfulCreate",
                        &msg,
                        "replicaset-controller",
                    );
                }
            }
            if have > want {
                // Unscheduled first, then not ready, then the newest.
                pods.sort_by_key(|p| {
                    (
                        p["spec"]["nodeName"].is_string(),
                        is_ready(p),
                        std::cmp::Reverse(
                            p["metadata"]["creationTimestamp"]
                                .as_str()
                                .unwrap_or_default()
                                .to_owned(),
                        ),
                    )
                });
                for p in pods.iter().take((have - want) as usize) {
                    let msg = format!("Deleted pod: {}", name_of(p));
                    self.event(
                        &rs,
                        false,
                        "SuccessfulDelete",
                        &msg,
                        "replicaset-controller",
                    );
                    self.kill(p);
                }
            }
        }
    }

    /// Stops a pod's containers (a Killing event each, as the kubelet records) and deletes it.
    fn kill(&mut self, pod: &Value) {
        for c in pod["spec"]["containers"]
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            let msg = format!(
                "Stopping container {}",
                c["name"].as_str().unwrap_or_default()
            );
            self.event(pod, false, "Killing", &msg, "kubelet");
        }
        let _ = self.delete(idx::PODS, namespace_of(pod), name_of(pod));
    }

    fn node_ready(&self, node: &Value) -> bool {
        !self
            .faults
            .iter()
            .any(|f| matches!(f.kind, FaultKind::NodeNotReady) && f.hits_node(name_of(node)))
    }

    fn schedule(&mut self) {
        let pending: Vec<Value> = self
            .list(idx::PODS, None)
            .filter(|p| p["spec"]["nodeName"].is_null())
            .cloned()
            .collect();
        for mut pod in pending {
            let (cpu, mem) = requests(&pod);
            let nodes: Vec<Value> = self.list(idx::NODES, None).cloned().collect();
            let mut best: Option<(i64, String)> = None;
            let mut reasons = Vec::new();
            for n in &nodes {
                if n["spec"]["unschedulable"] == true {
                    reasons.push("node(s) were unschedulable");
                    continue;
                }
                if !self.node_ready(n) {
                    reasons.push("node(s) had untolerated taint {node.kubernetes.io/not-ready: }");
                    continue;
                }
                let (used_cpu, used_mem) = self
                    .list(idx::PODS, None)
                    .filter(|p| p["spec"]["nodeName"].as_str() == Some(name_of(n)))
                    .map(requests)
                    .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
                let alloc_cpu = n["status"]["allocatable"]["cpu"]
                    .as_str()
                    .and_then(cpu_millis)
                    .unwrap_or(4000);
                let alloc_mem = n["status"]["allocatable"]["memory"]
                    .as_str()
                    .and_then(memory_bytes)
                    .unwrap_or(16 << 30);
                if used_cpu + cpu > alloc_cpu || used_mem + mem > alloc_mem {
                    reasons.push("Insufficient cpu or memory");
                    continue;
                }
                let free = alloc_cpu - used_cpu;
                if best.as_ref().is_none_or(|(f, _)| free > *f) {
                    best = Some((free, name_of(n).to_owned()));
                }
            }
            match best {
                Some((_, node)) => {
                    pod["spec"]["nodeName"] = json!(node);
                    pod["status"]["conditions"] = json!([{"type": "PodScheduled", "status": "True", "lastTransitionTime": ts(self.now)}]);
                    let pod = self.store(idx::PODS, pod);
                    let msg = format!(
                        "Successfully assigned {}/{} to {node}",
                        namespace_of(&pod),
                        name_of(&pod)
                    );
                    self.event(&pod, false, "Scheduled", &msg, "default-scheduler");
                }
                None => {
                    reasons.sort();
                    reasons.dedup();
                    let msg = format!(
                        "0/{} nodes are available: {}.",
                        nodes.len(),
                        reasons.join(", ")
                    );
                    let mut changed = pod.clone();
                    changed["status"]["conditions"] = json!([{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": msg}]);
                    if changed != pod {
                        let pod = self.store(idx::PODS, changed);
                        self.event(&pod, true, "FailedScheduling", &msg, "default-scheduler");
                    }
                }
            }
        }
    }

    fn pod_faults(&self, pod: &Value) -> Vec<FaultKind> {
        let created = pod["metadata"]["creationTimestamp"]
            .as_str()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.to_utc())
            .unwrap_or(self.now);
        let dep = self.deployment_of_pod(pod);
        self.faults
            .iter()
            .filter(|f| {
                f.hits_pod(namespace_of(pod), dep.as_deref(), created)
                    || matches!(f.kind, FaultKind::BadImage { .. })
            })
            .map(|f| f.kind.clone())
            .collect()
    }

    fn kubelet(&mut self) {
        let pods: Vec<Value> = self
            .list(idx::PODS, None)
            .filter(|p| p["spec"]["nodeName"].is_string())
            .cloned()
            .collect();
        for pod in pods {
            let node_ready = self
                .get(
                    idx::NODES,
                    "",
                    pod["spec"]["nodeName"].as_str().unwrap_or_default(),
                )
                .is_none_or(|n| self.node_ready(n));
            let faults = self.pod_faults(&pod);
            let updated = self.step_pod(&pod, &faults, node_ready);
            if updated != pod {
                self.store(idx::PODS, updated);
            }
        }
    }

    fn step_pod(&mut self, pod: &Value, faults: &[FaultKind], node_ready: bool) -> Value {
        let now = self.now;
        let t = self.timing.clone();
        let uid = uid_of(pod).to_owned();
        let mut sim = self.pods.remove(&uid).unwrap_or_default();
        let scheduled = *sim.scheduled.get_or_insert(now);
        let mut events: Vec<(bool, &'static str, String)> = Vec::new();
        let mut out = pod.clone();
        let mut statuses = Vec::new();
        let mut all_ready = true;
        let pulled = now >= scheduled + Duration::seconds(t.pull_seconds);
        let image_pull = faults.iter().any(|f| matches!(f, FaultKind::ImagePull));
        for c in pod["spec"]["containers"]
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            let cname = c["name"].as_str().unwrap_or("app").to_owned();
            let image = c["image"].as_str().unwrap_or_default().to_owned();
            let cs = sim.containers.entry(cname.clone()).or_default();
            let crash = faults.iter().find_map(|f| match f {
                FaultKind::Crashloop { exit_code, log, .. } => {
                    Some((*exit_code, "Error", log.clone()))
                }
                FaultKind::OomKilled { container, .. }
                    if container.as_ref().is_none_or(|n| *n == cname) =>
                {
                    Some((
                        137,
                        "OOMKilled",
                        vec!["fatal error: runtime: out of memory".to_owned()],
                    ))
                }
                _ => None,
            });
            let bad_image = faults
                .iter()
                .any(|f| matches!(f, FaultKind::BadImage { image: bad } if *bad == image));
            let readiness_failing = faults
                .iter()
                .any(|f| matches!(f, FaultKind::ReadinessFailing))
                || bad_image;
            let state;
            let mut ready = false;
            if !pulled {
                if cs.current_log.is_empty() && sim.containers.len() <= 1 {
                    events.push((false, "Pulling", format!("Pulling image \"{image}\"")));
                }
                state = json!({"waiting": {"reason": "ContainerCreating"}});
                let cs = sim.containers.entry(cname.clone()).or_default();
                cs.current_log.clear();
            } else if image_pull {
                state = json!({"waiting": {"reason": "ImagePullBackOff", "message": format!("Back-off pulling image \"{image}\"")}});
                events.push((true, "Failed", format!("Failed to pull image \"{image}\": rpc error: code = NotFound desc = failed to pull and unpack image \"{image}\": not found")));
            } else {
                let cs = sim.containers.entry(cname.clone()).or_default();
                if cs.waiting_until.is_some_and(|w| now < w) {
                    state = json!({"waiting": {"reason": "CrashLoopBackOff", "message": format!("back-off {}s restarting failed container={cname} pod={}", (cs.waiting_until.unwrap_or(now) - now).num_seconds(), name_of(pod))}});
                    events.push((
                        true,
                        "BackOff",
                        "Back-off restarting failed container".to_owned(),
                    ));
                } else {
                    if cs.started.is_none() {
                        cs.started = Some(
                            cs.waiting_until
                                .unwrap_or(now)
                                .max(scheduled + Duration::seconds(t.pull_seconds)),
                        );
                        cs.waiting_until = None;
                        cs.current_log = vec![
                            format!("{} starting {image}", ts(now)),
                            format!("{} listening on :8080", ts(now)),
                        ];
                        if cs.restarts == 0 {
                            events.push((
                                false,
                                "Pulled",
                                format!("Successfully pulled image \"{image}\""),
                            ));
                        }
                        events.push((false, "Created", format!("Created container {cname}")));
                        events.push((false, "Started", format!("Started container {cname}")));
                    }
                    let started = cs.started.unwrap_or(now);
                    match &crash {
                        Some((code, reason, lines))
                            if now >= started + Duration::seconds(t.crash_after_seconds) =>
                        {
                            let finished = started + Duration::seconds(t.crash_after_seconds);
                            cs.current_log
                                .extend(lines.iter().map(|l| format!("{} {l}", ts(finished))));
                            cs.previous_log = std::mem::take(&mut cs.current_log);
                            cs.last_terminated = Some(
                                json!({"terminated": {"exitCode": code, "reason": reason, "startedAt": ts(started), "finishedAt": ts(finished)}}),
                            );
                            cs.restarts += 1;
                            let backoff = (t.backoff_seconds << (cs.restarts - 1).min(5)).min(300);
                            cs.waiting_until = Some(now + Duration::seconds(backoff));
                            cs.started = None;
                            state = json!({"waiting": {"reason": "CrashLoopBackOff", "message": format!("back-off {backoff}s restarting failed container={cname} pod={}", name_of(pod))}});
                            events.push((
                                true,
                                "BackOff",
                                "Back-off restarting failed container".to_owned(),
                            ));
                        }
                        _ => {
                            state = json!({"running": {"startedAt": ts(started)}});
                            ready = now >= started + Duration::seconds(t.ready_seconds)
                                && !readiness_failing;
                            if readiness_failing
                                && now >= started + Duration::seconds(t.ready_seconds)
                            {
                                events.push((true, "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 503".to_owned()));
                            }
                            for f in faults {
                                if let FaultKind::DependencyDown { dependency } = f {
                                    let line = format!(
                                        "{} error: dial tcp {dependency}: connect: connection refused",
                                        ts(now)
                                    );
                                    if cs.current_log.last() != Some(&line) {
                                        cs.current_log.push(line);
                                    }
                                }
                            }
                        }
                    }
                }
            }
            let cs = sim.containers.entry(cname.clone()).or_default();
            ready &= node_ready;
            all_ready &= ready;
            let mut status = json!({"name": cname, "image": image, "imageID": "", "ready": ready, "restartCount": cs.restarts,
                "started": state.get("running").is_some(), "state": state, "containerID": format!("containerd://{}", &uid[..8])});
            if let Some(last) = &cs.last_terminated {
                status["lastState"] = last.clone();
            }
            statuses.push(status);
        }
        let running = statuses.iter().any(|s| s["state"].get("running").is_some())
            || statuses
                .iter()
                .any(|s| s["restartCount"].as_i64() > Some(0));
        out["status"]["phase"] = json!(if pulled && !image_pull && running {
            "Running"
        } else {
            "Pending"
        });
        out["status"]["containerStatuses"] = json!(statuses);
        out["status"]["hostIP"] = json!("10.0.1.10");
        // Stable per pod: derived from its uid, never from anything that changes.
        let ip = Sha256::digest(uid.as_bytes());
        out["status"]["podIP"] = json!(format!("10.1.{}.{}", ip[0], ip[1].max(2)));
        out["status"]["startTime"] = json!(ts(scheduled));
        out["status"]["qosClass"] = json!("Burstable");
        let cond =
            |t: &str, ok: bool| json!({"type": t, "status": if ok { "True" } else { "False" }});
        out["status"]["conditions"] = json!([
            cond("PodScheduled", true),
            cond("Initialized", true),
            cond("ContainersReady", all_ready),
            cond("Ready", all_ready)
        ]);
        if !node_ready {
            sim.not_ready_since.get_or_insert(now);
        } else {
            sim.not_ready_since = None;
        }
        let due: Vec<_> = events
            .into_iter()
            .filter(|(_, reason, msg)| {
                let key = format!("{reason}/{msg}");
                let fresh = sim
                    .last_event
                    .get(&key)
                    .is_none_or(|t| now >= *t + Duration::seconds(10));
                if fresh {
                    sim.last_event.insert(key, now);
                }
                fresh
            })
            .collect();
        self.pods.insert(uid, sim);
        for (warning, reason, msg) in due {
            self.event(pod, warning, reason, &msg, "kubelet");
        }
        out
    }

    fn node_lifecycle(&mut self) {
        let nodes: Vec<Value> = self.list(idx::NODES, None).cloned().collect();
        for node in nodes {
            let ready = self.node_ready(&node);
            let mut n = node.clone();
            n["status"]["conditions"] = json!([
                {"type": "Ready", "status": if ready { "True" } else { "Unknown" }, "reason": if ready { "KubeletReady" } else { "NodeStatusUnknown" },
                 "message": if ready { "kubelet is posting ready status" } else { "Kubelet stopped posting node status." }},
                {"type": "MemoryPressure", "status": "False"}, {"type": "DiskPressure", "status": "False"}, {"type": "PIDPressure", "status": "False"}]);
            if n != node {
                let n = self.store(idx::NODES, n);
                if !ready {
                    self.event(
                        &n,
                        false,
                        "NodeNotReady",
                        &format!("Node {} status is now: NodeNotReady", name_of(&n)),
                        "node-controller",
                    );
                }
            }
            if ready {
                continue;
            }
            let grace = Duration::seconds(self.timing.eviction_grace_seconds);
            let doomed: Vec<Value> = self
                .list(idx::PODS, None)
                .filter(|p| p["spec"]["nodeName"].as_str() == Some(name_of(&node)))
                .filter(|p| {
                    self.pods
                        .get(uid_of(p))
                        .and_then(|s| s.not_ready_since)
                        .is_some_and(|t| self.now >= t + grace)
                })
                .filter(|p| !is_daemon(p))
                .cloned()
                .collect();
            for p in doomed {
                self.event(
                    &p,
                    false,
                    "TaintManagerEviction",
                    "Marking for deletion Pod",
                    "taint-eviction-controller",
                );
                let _ = self.delete(idx::PODS, namespace_of(&p), name_of(&p));
            }
        }
    }

    fn statuses(&mut self) {
        let sets: Vec<Value> = self.list(idx::REPLICASETS, None).cloned().collect();
        for rs in sets {
            let pods: Vec<&Value> = self.owned(idx::PODS, &rs).collect();
            let ready = pods.iter().filter(|p| is_ready(p)).count();
            let mut out = rs.clone();
            out["status"] = json!({"replicas": pods.len(), "fullyLabeledReplicas": pods.len(), "readyReplicas": ready,
                "availableReplicas": ready, "observedGeneration": rs["metadata"]["generation"]});
            if out != rs {
                self.store(idx::REPLICASETS, out);
            }
        }
        let deployments: Vec<Value> = self.list(idx::DEPLOYMENTS, None).cloned().collect();
        for d in deployments {
            let desired = d["spec"]["replicas"].as_i64().unwrap_or(1);
            let hash = template_hash(&d["spec"]["template"]);
            let sets: Vec<&Value> = self.owned(idx::REPLICASETS, &d).collect();
            let sum = |f: &str| -> i64 {
                sets.iter()
                    .map(|r| r["status"][f].as_i64().unwrap_or(0))
                    .sum()
            };
            let updated: i64 = sets
                .iter()
                .filter(|r| r["metadata"]["labels"][HASH] == hash)
                .map(|r| r["status"]["replicas"].as_i64().unwrap_or(0))
                .sum();
            let (replicas, ready) = (sum("replicas"), sum("readyReplicas"));
            let ru = &d["spec"]["strategy"]["rollingUpdate"];
            let max_unavailable = scaled(
                ru.get("maxUnavailable").unwrap_or(&json!("25%")),
                desired,
                false,
            );
            let complete = updated == desired && replicas == desired && ready == desired;
            let since = self.progress.get(uid_of(&d)).copied().unwrap_or(self.now);
            let deadline = d["spec"]["progressDeadlineSeconds"].as_i64().unwrap_or(600);
            let stalled = !complete && self.now > since + Duration::seconds(deadline);
            let progressing = if complete {
                json!({"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable", "message": format!("ReplicaSet has successfully progressed.")})
            } else if stalled {
                json!({"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": format!("ReplicaSet has timed out progressing.")})
            } else {
                json!({"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated", "message": "ReplicaSet is progressing."})
            };
            let available = ready >= desired - max_unavailable;
            let mut out = d.clone();
            out["status"] = json!({
                "observedGeneration": d["metadata"]["generation"], "replicas": replicas, "updatedReplicas": updated,
                "readyReplicas": ready, "availableReplicas": ready, "unavailableReplicas": (replicas - ready).max(0),
                "conditions": [
                    {"type": "Available", "status": if available { "True" } else { "False" },
                     "reason": if available { "MinimumReplicasAvailable" } else { "MinimumReplicasUnavailable" }},
                    progressing]});
            if out != d {
                self.store(idx::DEPLOYMENTS, out);
            }
        }
        let pdbs: Vec<Value> = self.list(idx::PDBS, None).cloned().collect();
        for pdb in pdbs {
            let (expected, healthy, desired, allowed) = self.budget(&pdb);
            let mut out = pdb.clone();
            out["status"] = json!({"currentHealthy": healthy, "desiredHealthy": desired, "disruptionsAllowed": allowed,
                "expectedPods": expected, "observedGeneration": pdb["metadata"]["generation"]});
            if out != pdb {
                self.store(idx::PDBS, out);
            }
        }
    }

    /// (expected pods, healthy pods, desired healthy, disruptions allowed) of a PDB.
    pub fn budget(&self, pdb: &Value) -> (i64, i64, i64, i64) {
        let sel = LabelSelector::from_object(&pdb["spec"]["selector"]);
        let pods: Vec<&Value> = self
            .list(idx::PODS, Some(namespace_of(pdb)))
            .filter(|p| sel.matches(p))
            .collect();
        let expected = pods.len() as i64;
        let healthy = pods.iter().filter(|p| is_ready(p)).count() as i64;
        let desired = match (
            pdb["spec"].get("minAvailable"),
            pdb["spec"].get("maxUnavailable"),
        ) {
            (Some(min), _) => scaled(min, expected, true),
            (None, Some(max)) => expected - scaled(max, expected, true),
            _ => 0,
        };
        (expected, healthy, desired, (healthy - desired).max(0))
    }

    /// PodDisruptionBudgets that select `pod`.
    pub fn budgets_for(&self, pod: &Value) -> Vec<Value> {
        self.list(idx::PDBS, Some(namespace_of(pod)))
            .filter(|pdb| LabelSelector::from_object(&pdb["spec"]["selector"]).matches(pod))
            .cloned()
            .collect()
    }

    /// A pod's container log.
    pub fn log(&self, pod: &Value, container: Option<&str>, previous: bool) -> Option<Vec<String>> {
        let sim = self.pods.get(uid_of(pod))?;
        let cs = match container {
            Some(c) => sim.containers.get(c)?,
            None => sim.containers.values().next()?,
        };
        Some(if previous {
            cs.previous_log.clone()
        } else {
            cs.current_log.clone()
        })
    }

    fn serve_traffic(&mut self, seconds: f64) {
        let pods: Vec<Value> = self
            .list(idx::PODS, None)
            .filter(|p| is_ready(p) && !is_daemon(p))
            .cloned()
            .collect();
        for pod in pods {
            let faults = self.pod_faults(&pod);
            let mut latency = 0.03;
            let mut error_share = 0.001;
            let mut cpu = 0.3;
            for f in &faults {
                match f {
                    FaultKind::Latency { seconds } => latency += seconds,
                    FaultKind::CpuSaturation => {
                        cpu = 0.98;
                        latency += 0.6;
                    }
                    FaultKind::DependencyDown { .. } => error_share = 1.0,
                    _ => {}
                }
            }
            let n = self.timing.rps_per_pod * seconds;
            let t = self.traffic.entry(uid_of(&pod).to_owned()).or_default();
            *t.requests.entry(200).or_default() += n * (1.0 - error_share);
            *t.requests.entry(503).or_default() += n * error_share;
            for (i, le) in BUCKETS.iter().enumerate() {
                if latency <= *le {
                    t.buckets[i] += n;
                }
            }
            t.duration_sum += n * latency;
            t.duration_count += n;
            t.cpu_seconds += cpu * seconds;
            t.cfs_periods += seconds * 10.0;
            t.cfs_throttled += if cpu > 0.9 { seconds * 6.0 } else { 0.0 };
        }
    }

    /// Counts a node's pods and their state, for metrics and tests.
    pub fn objects(&self) -> impl Iterator<Item = (&Key, &Value)> {
        self.objects.iter()
    }
}

fn is_daemon(pod: &Value) -> bool {
    pod["metadata"]["ownerReferences"]
        .as_array()
        .is_some_and(|o| o.iter().any(|r| r["kind"] == "DaemonSet"))
}

/// Whether a pod's Ready condition is True.
pub fn is_ready(pod: &Value) -> bool {
    pod["status"]["conditions"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}

fn requests(pod: &Value) -> (i64, i64) {
    pod["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .fold((0, 0), |(c, m), ctr| {
            let r = &ctr["resources"]["requests"];
            (
                c + r["cpu"].as_str().and_then(cpu_millis).unwrap_or(0),
                m + r["memory"].as_str().and_then(memory_bytes).unwrap_or(0),
            )
        })
}

/// The pod-template-hash of a template (without its own hash label).
fn template_hash(template: &Value) -> String {
    let mut t = template.clone();
    if let Some(labels) = t["metadata"]["labels"].as_object_mut() {
        labels.remove(HASH);
    }
    let digest = Sha256::digest(t.to_string().as_bytes());
    hex::encode(&digest[..5])
}

fn validate_name(r: &Resource, name: &str) -> Result<(), ApiError> {
    let ok = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !p.starts_with('-')
                && !p.ends_with('-')
        });
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(
            r,
            name,
            &[(
                "metadata.name",
                format!(
                    "Invalid value: {name:?}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
                ),
            )],
        ))
    }
}

/// The checks the API server would refuse an object for (422).
pub fn validate(r: &Resource, obj: &Value) -> Result<(), ApiError> {
    let name = name_of(obj);
    let mut causes: Vec<(&str, String)> = Vec::new();
    if matches!(r.kind, "Deployment" | "ReplicaSet" | "StatefulSet") {
        if obj["spec"]["replicas"].as_i64().is_some_and(|n| n < 0) {
            causes.push((
                "spec.replicas",
                format!(
                    "Invalid value: {}: must be greater than or equal to 0",
                    obj["spec"]["replicas"]
                ),
            ));
        }
        let sel = LabelSelector::from_object(&obj["spec"]["selector"]);
        if sel.is_empty() {
            causes.push(("spec.selector", "Required value".into()));
        } else if !sel.matches(&obj["spec"]["template"]) {
            causes.push((
                "spec.template.metadata.labels",
                "Invalid value: `selector` does not match template `labels`".into(),
            ));
        }
        if obj["spec"]["template"]["spec"]["containers"]
            .as_array()
            .is_none_or(Vec::is_empty)
        {
            causes.push(("spec.template.spec.containers", "Required value".into()));
        }
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(r, name, &causes))
    }
}
