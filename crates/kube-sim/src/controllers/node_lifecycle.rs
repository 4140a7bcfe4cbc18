//! The node lifecycle controller: a node whose kubelet stops reporting turns NotReady (Unknown),
//! and its pods are evicted once they have been NotReady for the grace period.

use chrono::Duration;
use serde_json::{Value, json};

use crate::object::{is_daemon, name_of, namespace_of, uid_of};
use crate::resources::idx;
use crate::world::World;

/// Sets each node's Ready condition; evicts the pods (DaemonSets' aside) of a node NotReady
/// for longer than the eviction grace.
pub(crate) fn reconcile(w: &mut World) {
    let nodes: Vec<Value> = w.list(idx::NODES, None).cloned().collect();
    for node in nodes {
        let ready = w.node_ready(&node);
        let mut n = node.clone();
        n["status"]["conditions"] = json!([
            {"type": "Ready", "status": if ready { "True" } else { "Unknown" }, "reason": if ready { "KubeletReady" } else { "NodeStatusUnknown" },
             "message": if ready { "kubelet is posting ready status" } else { "Kubelet stopped posting node status." }},
            {"type": "MemoryPressure", "status": "False"}, {"type": "DiskPressure", "status": "False"}, {"type": "PIDPressure", "status": "False"}]);
        if n != node {
            let n = w.store(idx::NODES, n);
            if !ready {
                w.event(
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
        let grace = Duration::seconds(w.timing.eviction_grace_seconds);
        let doomed: Vec<Value> = w
            .list(idx::PODS, None)
            .filter(|p| p["spec"]["nodeName"].as_str() == Some(name_of(&node)))
            .filter(|p| {
                w.pods
                    .get(uid_of(p))
                    .and_then(|s| s.not_ready_since)
                    .is_some_and(|t| w.now >= t + grace)
            })
            .filter(|p| !is_daemon(p))
            .cloned()
            .collect();
        for p in doomed {
            w.event(
                &p,
                false,
                "TaintManagerEviction",
                "Marking for deletion Pod",
                "taint-eviction-controller",
            );
            let _ = w.delete(idx::PODS, namespace_of(&p), name_of(&p));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::controllers::testing::{cluster, deployment, run_for};
    use crate::faults::{Fault, FaultKind, FaultTarget};
    use crate::object::is_ready;
    use crate::resources::idx;

    #[test]
    fn a_node_that_stops_reporting_loses_its_pods_after_the_grace_period() {
        let mut w = cluster(2);
        deployment(&mut w, "web", 4);
        run_for(&mut w, Duration::from_secs(5));
        let on_node0 = |w: &crate::World| {
            w.list(idx::PODS, Some("shop"))
                .filter(|p| p["spec"]["nodeName"] == "node-0")
                .count()
        };
        assert!(on_node0(&w) > 0);
        w.add_fault(Fault::new(
            FaultKind::NodeNotReady,
            FaultTarget {
                node: Some("node-0".into()),
                ..FaultTarget::default()
            },
        ));
        run_for(&mut w, Duration::from_secs(5));
        let node = w.get(idx::NODES, "", "node-0").unwrap();
        assert_eq!(node["status"]["conditions"][0]["status"], "Unknown");
        assert!(on_node0(&w) > 0, "still there within the grace period");
        assert!(
            w.list(idx::PODS, Some("shop"))
                .filter(|p| p["spec"]["nodeName"] == "node-0")
                .all(|p| !is_ready(p))
        );
        run_for(&mut w, Duration::from_secs(70));
        assert_eq!(on_node0(&w), 0, "evicted");
        assert_eq!(
            w.list(idx::PODS, Some("shop"))
                .filter(|p| is_ready(p))
                .count(),
            4
        );
    }
}
