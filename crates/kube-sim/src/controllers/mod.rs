//! The controllers that make writes have effects, one module each, run in the order a change
//! flows through a cluster: the garbage collector, deployments, DaemonSets and ReplicaSets make
//! pods, the scheduler binds them, the kubelet runs them, the node lifecycle controller evicts
//! them from lost nodes, and the statuses follow.

pub(crate) mod daemonset;
pub(crate) mod deployment;
pub(crate) mod disruption;
pub(crate) mod garbage_collector;
pub(crate) mod kubelet;
pub(crate) mod node_lifecycle;
pub(crate) mod process;
pub(crate) mod replicaset;
pub(crate) mod scheduler;

use serde_json::{Value, json};

use crate::object::{name_of, random_suffix, uid_of};
use crate::world::World;

/// Reconciles at most this many times per call: enough for a rollout step to settle.
const ROUNDS: usize = 20;

/// Runs every controller until nothing changes (bounded by [`ROUNDS`]).
pub(crate) fn reconcile(w: &mut World) {
    for _ in 0..ROUNDS {
        let before = w.resource_version();
        garbage_collector::reconcile(w);
        deployment::reconcile(w);
        daemonset::reconcile(w);
        replicaset::reconcile(w);
        scheduler::reconcile(w);
        kubelet::reconcile(w);
        node_lifecycle::reconcile(w);
        replicaset::status(w);
        deployment::status(w);
        disruption::status(w);
        if w.resource_version() == before {
            break;
        }
    }
}

/// A new pod from `owner`'s template, owned by it (`kind` is the owner's kind).
pub(crate) fn pod_from_template(owner: &Value, kind: &str) -> Value {
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

/// Small clusters for the controllers' unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use std::time::Duration;

    use chrono::{DateTime, Utc};
    use serde_json::{Value, json};

    use crate::resources::idx;
    use crate::world::{Timing, World};

    /// `nodes` Ready nodes (node-0, node-1, ...; 4 CPUs, 16 GiB) and the `shop` namespace.
    pub(crate) fn cluster(nodes: usize) -> World {
        let start = DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
            .map(|t| t.to_utc())
            .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
        let mut w = World::new(start, Timing::default());
        w.create(idx::NAMESPACES, "", json!({"metadata": {"name": "shop"}}))
            .expect("namespace");
        for i in 0..nodes {
            let node = json!({"metadata": {"name": format!("node-{i}")},
                "status": {"allocatable": {"cpu": "4", "memory": "16Gi"}}});
            w.create(idx::NODES, "", node).expect("node");
        }
        w
    }

    /// A deployment `name` of `replicas` pods labelled `app: name` (100m CPU each).
    pub(crate) fn deployment_object(name: &str, replicas: i64) -> Value {
        json!({"metadata": {"name": name}, "spec": {"replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": format!("{name}:1"),
                    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]}}}})
    }

    /// Creates [`deployment_object`] in `shop` and reconciles.
    pub(crate) fn deployment(w: &mut World, name: &str, replicas: i64) {
        w.create(idx::DEPLOYMENTS, "shop", deployment_object(name, replicas))
            .expect("deployment");
        w.reconcile();
    }

    /// Changes deployment `name` in `shop` as a client's update would, and reconciles.
    pub(crate) fn update(w: &mut World, name: &str, change: impl FnOnce(&mut Value)) {
        let mut d = w
            .get(idx::DEPLOYMENTS, "shop", name)
            .expect("deployment")
            .clone();
        change(&mut d);
        let d = w
            .prepare_update(idx::DEPLOYMENTS, "shop", name, d)
            .expect("a valid update");
        w.store(idx::DEPLOYMENTS, d);
        w.reconcile();
    }

    /// Injects a fault of `kind` on deployment `web` in `shop`.
    pub(crate) fn inject(w: &mut World, kind: crate::faults::FaultKind) {
        w.add_fault(crate::faults::Fault::new(
            kind,
            crate::faults::FaultTarget {
                namespace: Some("shop".into()),
                deployment: Some("web".into()),
                ..crate::faults::FaultTarget::default()
            },
        ));
    }

    /// Advances sim time in one-second ticks, as the served simulation does.
    pub(crate) fn run_for(w: &mut World, by: Duration) {
        for _ in 0..by.as_secs() {
            let next = w.now + chrono::Duration::seconds(1);
            w.tick(next);
        }
    }
}
