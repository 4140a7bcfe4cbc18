//! The ReplicaSet controller: each ReplicaSet keeps `spec.replicas` pods from its template, and
//! its status counts them.

use serde_json::{Value, json};

use crate::controllers::pod_from_template;
use crate::object::{is_ready, name_of, namespace_of};
use crate::resources::idx;
use crate::world::World;

/// Creates and deletes pods until each ReplicaSet has its replicas: unscheduled pods go
/// first, then unready ones, then the newest.
pub(crate) fn reconcile(w: &mut World) {
    let sets: Vec<Value> = w.list(idx::REPLICASETS, None).cloned().collect();
    for rs in sets {
        let want = rs["spec"]["replicas"].as_i64().unwrap_or(0);
        let have = w.owned(idx::PODS, &rs).count() as i64;
        for _ in have..want {
            let pod = pod_from_template(&rs, "ReplicaSet");
            if let Ok(p) = w.create(idx::PODS, namespace_of(&rs), pod) {
                let msg = format!("Created pod: {}", name_of(&p));
                w.event(
                    &rs,
                    false,
                    "SuccessfulCreate",
                    &msg,
                    "replicaset-controller",
                );
            }
        }
        if have > want {
            let mut pods: Vec<Value> = w.owned(idx::PODS, &rs).cloned().collect();
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
                w.event(
                    &rs,
                    false,
                    "SuccessfulDelete",
                    &msg,
                    "replicaset-controller",
                );
                kill(w, p);
            }
        }
    }
}

/// Stops a pod's containers (a Killing event each, as the kubelet records) and deletes it.
fn kill(w: &mut World, pod: &Value) {
    for c in pod["spec"]["containers"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        let msg = format!(
            "Stopping container {}",
            c["name"].as_str().unwrap_or_default()
        );
        w.event(pod, false, "Killing", &msg, "kubelet");
    }
    let _ = w.delete(idx::PODS, namespace_of(pod), name_of(pod));
}

/// Every ReplicaSet's status from its pods.
pub(crate) fn status(w: &mut World) {
    let sets: Vec<Value> = w.list(idx::REPLICASETS, None).cloned().collect();
    for rs in sets {
        let pods: Vec<&Value> = w.owned(idx::PODS, &rs).collect();
        let ready = pods.iter().filter(|p| is_ready(p)).count();
        let status = json!({"replicas": pods.len(), "fullyLabeledReplicas": pods.len(), "readyReplicas": ready,
            "availableReplicas": ready, "observedGeneration": rs["metadata"]["generation"]});
        if rs["status"] != status {
            let mut out = rs;
            out["status"] = status;
            w.store(idx::REPLICASETS, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use crate::controllers::testing::{cluster, deployment, run_for, update};
    use crate::object::{is_ready, name_of};
    use crate::resources::idx;

    #[test]
    fn a_replicaset_keeps_its_pods_and_replaces_a_deleted_one() {
        let mut w = cluster(2);
        deployment(&mut w, "web", 3);
        run_for(&mut w, Duration::from_secs(5));
        let victim = name_of(w.list(idx::PODS, Some("shop")).next().unwrap()).to_owned();
        w.delete(idx::PODS, "shop", &victim).unwrap();
        w.reconcile();
        let pods: Vec<String> = w
            .list(idx::PODS, Some("shop"))
            .map(|p| name_of(p).to_owned())
            .collect();
        assert_eq!(pods.len(), 3);
        assert!(!pods.contains(&victim));
        let rs = w.list(idx::REPLICASETS, Some("shop")).next().unwrap();
        assert_eq!(rs["status"]["replicas"], 3);
    }

    #[test]
    fn scaling_down_removes_pods_that_are_not_ready_first() {
        let mut w = cluster(2);
        deployment(&mut w, "web", 3);
        run_for(&mut w, Duration::from_secs(5));
        // One more pod that cannot become ready yet, then scale back to 3.
        update(&mut w, "web", |d| d["spec"]["replicas"] = json!(4));
        update(&mut w, "web", |d| d["spec"]["replicas"] = json!(3));
        let pods: Vec<_> = w.list(idx::PODS, Some("shop")).collect();
        assert_eq!(pods.len(), 3);
        assert!(
            pods.iter().all(|p| is_ready(p)),
            "the unready newcomer went"
        );
    }
}
