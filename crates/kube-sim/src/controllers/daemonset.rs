//! The DaemonSet controller: one pod per node, bound to it directly (no scheduler).

use serde_json::{Value, json};

use crate::controllers::pod_from_template;
use crate::object::{name_of, namespace_of};
use crate::resources::idx;
use crate::world::World;

/// One pod of each DaemonSet on every node.
pub(crate) fn reconcile(w: &mut World) {
    let sets: Vec<Value> = w.list(idx::DAEMONSETS, None).cloned().collect();
    let nodes: Vec<String> = w
        .list(idx::NODES, None)
        .map(|n| name_of(n).to_owned())
        .collect();
    for ds in sets {
        let have: Vec<String> = w
            .owned(idx::PODS, &ds)
            .filter_map(|p| p["spec"]["nodeName"].as_str().map(str::to_owned))
            .collect();
        for node in nodes.iter().filter(|n| !have.contains(n)) {
            let mut pod = pod_from_template(&ds, "DaemonSet");
            pod["spec"]["nodeName"] = json!(node);
            let _ = w.create(idx::PODS, namespace_of(&ds), pod);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::controllers::testing::cluster;
    use crate::resources::idx;

    #[test]
    fn every_node_runs_one_pod_of_the_daemonset() {
        let mut w = cluster(3);
        let ds = json!({"metadata": {"name": "agent"}, "spec": {
            "selector": {"matchLabels": {"app": "agent"}},
            "template": {"metadata": {"labels": {"app": "agent"}},
                         "spec": {"containers": [{"name": "agent", "image": "agent:1"}]}}}});
        w.create(idx::DAEMONSETS, "shop", ds).unwrap();
        w.reconcile();
        w.reconcile();
        let mut nodes: Vec<_> = w
            .list(idx::PODS, Some("shop"))
            .map(|p| p["spec"]["nodeName"].as_str().unwrap().to_owned())
            .collect();
        nodes.sort();
        assert_eq!(nodes, ["node-0", "node-1", "node-2"]);
    }
}
