//! The scheduler: pending pods go to a node that is Ready, schedulable and has room for their
//! CPU and memory requests.

use serde_json::{Value, json};

use crate::object::{name_of, namespace_of, requests, ts};
use crate::quantity::{cpu_millis, memory_bytes};
use crate::resources::idx;
use crate::world::World;

/// Binds each pending pod to the Ready, schedulable node with the most free CPU that fits
/// its requests; otherwise records why none fits (FailedScheduling).
pub(crate) fn reconcile(w: &mut World) {
    let pending: Vec<Value> = w
        .list(idx::PODS, None)
        .filter(|p| p["spec"]["nodeName"].is_null())
        .cloned()
        .collect();
    for mut pod in pending {
        let (cpu, mem) = requests(&pod);
        let nodes: Vec<Value> = w.list(idx::NODES, None).cloned().collect();
        let mut best: Option<(i64, String)> = None;
        let mut reasons = Vec::new();
        for n in &nodes {
            if n["spec"]["unschedulable"] == true {
                reasons.push("node(s) were unschedulable");
                continue;
            }
            if !w.node_ready(n) {
                reasons.push("node(s) had untolerated taint {node.kubernetes.io/not-ready: }");
                continue;
            }
            let (used_cpu, used_mem) = w
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
                pod["status"]["conditions"] = json!([{"type": "PodScheduled", "status": "True", "lastTransitionTime": ts(w.now)}]);
                let pod = w.store(idx::PODS, pod);
                let msg = format!(
                    "Successfully assigned {}/{} to {node}",
                    namespace_of(&pod),
                    name_of(&pod)
                );
                w.event(&pod, false, "Scheduled", &msg, "default-scheduler");
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
                    let pod = w.store(idx::PODS, changed);
                    w.event(&pod, true, "FailedScheduling", &msg, "default-scheduler");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::controllers::testing::{cluster, deployment_object};
    use crate::resources::idx;

    #[test]
    fn pods_go_to_the_node_with_the_most_free_cpu_and_never_to_a_cordoned_one() {
        let mut w = cluster(2);
        let mut node = w.get(idx::NODES, "", "node-0").unwrap().clone();
        node["spec"]["unschedulable"] = json!(true);
        w.store(idx::NODES, node);
        let d = deployment_object("web", 2);
        w.create(idx::DEPLOYMENTS, "shop", d).unwrap();
        w.reconcile();
        assert!(
            w.list(idx::PODS, Some("shop"))
                .all(|p| p["spec"]["nodeName"] == "node-1")
        );
    }

    #[test]
    fn a_pod_that_fits_nowhere_stays_pending_with_the_reason() {
        let mut w = cluster(1);
        let mut d = deployment_object("big", 1);
        d["spec"]["template"]["spec"]["containers"][0]["resources"] =
            json!({"requests": {"cpu": "64"}});
        w.create(idx::DEPLOYMENTS, "shop", d).unwrap();
        w.reconcile();
        let pod = w.list(idx::PODS, Some("shop")).next().unwrap();
        assert!(pod["spec"]["nodeName"].is_null());
        let condition = &pod["status"]["conditions"][0];
        assert_eq!(condition["reason"], "Unschedulable");
        assert_eq!(
            condition["message"],
            "0/1 nodes are available: Insufficient cpu or memory."
        );
        assert!(
            w.list(idx::EVENTS, Some("shop"))
                .any(|e| e["reason"] == "FailedScheduling")
        );
    }
}
