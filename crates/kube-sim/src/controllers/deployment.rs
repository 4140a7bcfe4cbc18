//! The deployment controller: a ReplicaSet per pod template (revisions, rollbacks), rolling
//! updates within maxSurge and maxUnavailable (or Recreate), and the deployment's status.

use chrono::Duration;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::object::{HASH, REVISION, name_of, namespace_of, scaled, uid_of};
use crate::resources::idx;
use crate::world::World;

/// Rolls every deployment towards its template.
pub(crate) fn reconcile(w: &mut World) {
    let deployments: Vec<Value> = w.list(idx::DEPLOYMENTS, None).cloned().collect();
    for d in deployments {
        rollout(w, &d);
    }
}

/// One deployment: the ReplicaSet of its template (new, or an older one on a rollback) scaled
/// up within maxSurge, the others down within maxUnavailable.
fn rollout(w: &mut World, d: &Value) {
    let ns = namespace_of(d).to_owned();
    let desired = d["spec"]["replicas"].as_i64().unwrap_or(1);
    let hash = template_hash(&d["spec"]["template"]);
    let owned: Vec<Value> = w.owned(idx::REPLICASETS, d).cloned().collect();
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
                rs = w.store(idx::REPLICASETS, rs);
                w.event(
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
            let mut template = d["spec"]["template"].clone();
            template["metadata"]["labels"][HASH] = json!(hash);
            let mut selector = d["spec"]["selector"].clone();
            selector["matchLabels"][HASH] = json!(hash);
            let rs = json!({
                "metadata": {"name": format!("{}-{hash}", name_of(d)), "labels": template["metadata"]["labels"],
                    "annotations": {REVISION: (max_revision + 1).to_string(), "deployment.kubernetes.io/desired-replicas": desired.to_string()},
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name_of(d), "uid": uid_of(d), "controller": true, "blockOwnerDeletion": true}]},
                "spec": {"replicas": 0, "selector": selector, "template": template},
            });
            match w.create(idx::REPLICASETS, &ns, rs) {
                Ok(rs) => {
                    w.progress.insert(uid_of(d).to_owned(), w.now);
                    rs
                }
                Err(_) => return,
            }
        }
    };
    if d["metadata"]["annotations"][REVISION] != new_rs["metadata"]["annotations"][REVISION] {
        let mut dep = d.clone();
        dep["metadata"]["annotations"][REVISION] =
            new_rs["metadata"]["annotations"][REVISION].clone();
        w.store(idx::DEPLOYMENTS, dep);
    }
    let olds: Vec<Value> = w
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
        scale_rs(w, &new_rs, target_new, d);
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
            scale_rs(w, old, n - remove, d);
        }
    }
}

/// Sets a ReplicaSet's replicas, with the event the deployment controller records.
fn scale_rs(w: &mut World, rs: &Value, to: i64, d: &Value) {
    let from = rs["spec"]["replicas"].as_i64().unwrap_or(0);
    let mut rs = w
        .get(idx::REPLICASETS, namespace_of(rs), name_of(rs))
        .cloned()
        .unwrap_or_else(|| rs.clone());
    rs["spec"]["replicas"] = json!(to);
    w.store(idx::REPLICASETS, rs.clone());
    let verb = if to > from { "up" } else { "down" };
    let msg = format!(
        "Scaled {verb} replica set {} from {from} to {to}",
        name_of(&rs)
    );
    w.event(d, false, "ScalingReplicaSet", &msg, "deployment-controller");
    w.progress.insert(uid_of(d).to_owned(), w.now);
}

/// Every deployment's status from its ReplicaSets': replicas, ready, updated, Available and
/// Progressing (ProgressDeadlineExceeded once no progress for progressDeadlineSeconds).
pub(crate) fn status(w: &mut World) {
    let deployments: Vec<Value> = w.list(idx::DEPLOYMENTS, None).cloned().collect();
    for d in deployments {
        let desired = d["spec"]["replicas"].as_i64().unwrap_or(1);
        let hash = template_hash(&d["spec"]["template"]);
        let sets: Vec<&Value> = w.owned(idx::REPLICASETS, &d).collect();
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
        let since = w.progress.get(uid_of(&d)).copied().unwrap_or(w.now);
        let deadline = d["spec"]["progressDeadlineSeconds"].as_i64().unwrap_or(600);
        let stalled = !complete && w.now > since + Duration::seconds(deadline);
        // As the deployment controller does: a rollout that completed stays complete while its
        // pods fail later (no rollout is in progress to time out) until the template or the
        // replica count changes.
        let was_complete = d["status"]["conditions"][1]["reason"] == "NewReplicaSetAvailable"
            && d["status"]["observedGeneration"] == d["metadata"]["generation"]
            && updated == desired;
        let progressing = if complete || was_complete {
            json!({"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable", "message": format!("ReplicaSet has successfully progressed.")})
        } else if stalled {
            json!({"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": format!("ReplicaSet has timed out progressing.")})
        } else {
            json!({"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated", "message": "ReplicaSet is progressing."})
        };
        let available = ready >= desired - max_unavailable;
        let status = json!({
            "observedGeneration": d["metadata"]["generation"], "replicas": replicas, "updatedReplicas": updated,
            "readyReplicas": ready, "availableReplicas": ready, "unavailableReplicas": (replicas - ready).max(0),
            "conditions": [
                {"type": "Available", "status": if available { "True" } else { "False" },
                 "reason": if available { "MinimumReplicasAvailable" } else { "MinimumReplicasUnavailable" }},
                progressing]});
        if d["status"] != status {
            let mut out = d;
            out["status"] = status;
            w.store(idx::DEPLOYMENTS, out);
        }
    }
}

/// The pod-template-hash of a template (without its own hash label), spelled as Kubernetes
/// spells it: a 32-bit hash in decimal, each digit mapped onto `rand.SafeEncodeString`'s
/// alphabet, so ReplicaSet and pod names look as on a real cluster (`frontend-5d8f7b9c4-x2kq9`).
fn template_hash(template: &Value) -> String {
    const SAFE: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    // A template carries no hash label unless one was put there: copy it only then.
    let digest = if template["metadata"]["labels"].get(HASH).is_some() {
        let mut t = template.clone();
        if let Some(labels) = t["metadata"]["labels"].as_object_mut() {
            labels.remove(HASH);
        }
        Sha256::digest(t.to_string().as_bytes())
    } else {
        Sha256::digest(template.to_string().as_bytes())
    };
    let hash = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
    hash.to_string()
        .bytes()
        .map(|b| SAFE[usize::from(b) % SAFE.len()] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use crate::controllers::testing::{cluster, deployment, inject, run_for, update};
    use crate::object::REVISION;
    use crate::resources::idx;

    fn replicasets(w: &crate::World) -> Vec<(String, i64)> {
        w.list(idx::REPLICASETS, Some("shop"))
            .map(|r| {
                (
                    r["metadata"]["annotations"][REVISION]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                    r["spec"]["replicas"].as_i64().unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn a_new_deployment_gets_revision_1_scaled_to_its_replicas() {
        let mut w = cluster(2);
        deployment(&mut w, "web", 3);
        run_for(&mut w, Duration::from_secs(5));
        assert_eq!(replicasets(&w), [("1".to_owned(), 3)]);
        let d = w.get(idx::DEPLOYMENTS, "shop", "web").unwrap();
        assert_eq!(d["status"]["readyReplicas"], 3);
        assert_eq!(
            d["status"]["conditions"][1]["reason"],
            "NewReplicaSetAvailable"
        );
    }

    #[test]
    fn a_template_change_rolls_out_and_a_rollback_reuses_the_old_replicaset() {
        let mut w = cluster(2);
        deployment(&mut w, "web", 4);
        run_for(&mut w, Duration::from_secs(5));
        let original = w.get(idx::DEPLOYMENTS, "shop", "web").unwrap()["spec"]["template"].clone();
        update(&mut w, "web", |d| {
            d["spec"]["template"]["spec"]["containers"][0]["image"] = json!("web:2")
        });
        // maxSurge 25% of 4: at most 5 pods while the new ReplicaSet comes up.
        let total: i64 = replicasets(&w).iter().map(|(_, n)| n).sum();
        assert!(total <= 5, "{:?}", replicasets(&w));
        run_for(&mut w, Duration::from_secs(30));
        let mut sets = replicasets(&w);
        sets.sort();
        assert_eq!(sets, [("1".to_owned(), 0), ("2".to_owned(), 4)]);
        // Back to the first template: its ReplicaSet becomes revision 3, no new one is made.
        update(&mut w, "web", |d| d["spec"]["template"] = original);
        run_for(&mut w, Duration::from_secs(30));
        let mut sets = replicasets(&w);
        sets.sort();
        assert_eq!(sets, [("2".to_owned(), 0), ("3".to_owned(), 4)]);
    }

    /// Pods that crash long after their rollout completed do not make the rollout time out: the
    /// deployment is unavailable, not stuck.
    #[test]
    fn a_completed_rollout_does_not_time_out_when_its_pods_fail_later() {
        let mut w = cluster(1);
        let mut d = crate::controllers::testing::deployment_object("web", 2);
        d["spec"]["progressDeadlineSeconds"] = json!(60);
        w.create(idx::DEPLOYMENTS, "shop", d).unwrap();
        run_for(&mut w, Duration::from_secs(120));
        inject(&mut w, crate::faults::FaultKind::ReadinessFailing);
        run_for(&mut w, Duration::from_secs(30));
        let d = w.get(idx::DEPLOYMENTS, "shop", "web").unwrap();
        assert_eq!(d["status"]["readyReplicas"], 0, "the pods fail");
        assert_eq!(
            d["status"]["conditions"][1]["reason"],
            "NewReplicaSetAvailable"
        );
    }

    #[test]
    fn a_rollout_that_never_becomes_ready_exceeds_its_progress_deadline() {
        let mut w = cluster(1);
        let mut d = crate::controllers::testing::deployment_object("web", 2);
        d["spec"]["progressDeadlineSeconds"] = json!(60);
        d["spec"]["template"]["spec"]["containers"][0]["resources"] =
            json!({"requests": {"cpu": "64"}});
        w.create(idx::DEPLOYMENTS, "shop", d).unwrap();
        run_for(&mut w, Duration::from_secs(90));
        let d = w.get(idx::DEPLOYMENTS, "shop", "web").unwrap();
        assert_eq!(
            d["status"]["conditions"][1]["reason"],
            "ProgressDeadlineExceeded"
        );
        assert_eq!(d["status"]["conditions"][0]["status"], "False");
    }
}
