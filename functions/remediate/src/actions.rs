//! The remediation actions, each as kubectl would do it, each honouring dry run as `dryRun=All`.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Utc;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{ConfigMap, Node, Pod};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::Client;
use kube::api::{Api, DeleteParams, EvictParams, ListParams, Patch, PatchParams, PostParams};
use selfheal_core::remediation::Change;
use selfheal_core::runbook::ReplicaBounds;
use serde_json::{Value, json};

use crate::error::RemediateError;

/// The annotation kubectl sets on `rollout restart`.
pub const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";
const REVISION: &str = "deployment.kubernetes.io/revision";
/// The node annotation that marks a node selfheal is draining (what the guardrails count).
pub const DRAINING: &str = "selfheal.dev/draining";
/// The drain lock: one ConfigMap for the whole cluster. Taking it is a create, which the API
/// server lets only one caller win (409 AlreadyExists for the others), so two drains of two
/// nodes can never both start; it is deleted when the drain ends, however it ends.
pub const DRAIN_LOCK: &str = "selfheal-drain-lock";
/// Where the drain lock lives: selfheal's own namespace.
pub const DRAIN_LOCK_NAMESPACE: &str = "selfheal";

fn params(dry_run: bool) -> PatchParams {
    let p = PatchParams::default();
    if dry_run { p.dry_run() } else { p }
}

/// The revision a deployment or ReplicaSet is annotated with.
pub(crate) fn revision(
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
) -> Option<i64> {
    meta.annotations.as_ref()?.get(REVISION)?.parse().ok()
}

fn image(template: &k8s_openapi::api::core::v1::PodTemplateSpec) -> String {
    template
        .spec
        .as_ref()
        .and_then(|s| s.containers.first())
        .and_then(|c| c.image.clone())
        .unwrap_or_default()
}

/// `kubectl rollout restart`: a strategic merge patch of the template's restartedAt annotation.
pub async fn restart(
    client: &Client,
    ns: &str,
    name: &str,
    dry_run: bool,
) -> Result<(Change, String), RemediateError> {
    let api = Api::<Deployment>::namespaced(client.clone(), ns);
    let d = api.get(name).await?;
    if d.spec.as_ref().and_then(|s| s.paused) == Some(true) {
        return Err(RemediateError::Refused(format!(
            "deployment {ns}/{name} is paused; a restart would not roll out"
        )));
    }
    let now = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let patch = json!({"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: now}}}}});
    api.patch(name, &params(dry_run), &Patch::Strategic(patch))
        .await?;
    let rev = revision(&d.metadata)
        .map(|r| r.to_string())
        .unwrap_or_default();
    Ok((
        Change {
            revision: Some((rev.clone(), rev)),
            ..Change::default()
        },
        format!("restarted deployment {ns}/{name} (rollout restart at {now})"),
    ))
}

/// Scale through the /scale subresource, within bounds, never below a PodDisruptionBudget's floor.
pub async fn scale(
    client: &Client,
    ns: &str,
    name: &str,
    by: i32,
    bounds: &ReplicaBounds,
    dry_run: bool,
) -> Result<(Change, String), RemediateError> {
    let api = Api::<Deployment>::namespaced(client.clone(), ns);
    let current = api
        .get_scale(name)
        .await?
        .spec
        .and_then(|s| s.replicas)
        .unwrap_or(0);
    let to = bounds
        .plan(u32::try_from(current).unwrap_or(0), by)
        .map_err(|v| RemediateError::Refused(v.to_string()))?;
    let to = i32::try_from(to).unwrap_or(i32::MAX);
    if to < current {
        let floor = pdb_floor(client, ns, name, current).await?;
        if to < floor {
            return Err(RemediateError::Refused(format!(
                "scaling {ns}/{name} to {to} would go below its PodDisruptionBudget's {floor} available pods"
            )));
        }
    }
    api.patch_scale(
        name,
        &params(dry_run),
        &Patch::Merge(json!({"spec": {"replicas": to}})),
    )
    .await?;
    Ok((
        Change {
            replicas: Some((current, to)),
            ..Change::default()
        },
        format!("scaled deployment {ns}/{name} from {current} to {to}"),
    ))
}

/// The most pods any PodDisruptionBudget selecting the deployment's pods requires available.
async fn pdb_floor(
    client: &Client,
    ns: &str,
    name: &str,
    replicas: i32,
) -> Result<i32, RemediateError> {
    let d = Api::<Deployment>::namespaced(client.clone(), ns)
        .get(name)
        .await?;
    let labels: BTreeMap<String, String> = d
        .spec
        .and_then(|s| s.template.metadata)
        .and_then(|m| m.labels)
        .unwrap_or_default();
    let pdbs = Api::<PodDisruptionBudget>::namespaced(client.clone(), ns)
        .list(&ListParams::default())
        .await?;
    let mut floor = 0;
    for pdb in pdbs.items {
        let Some(spec) = pdb.spec else { continue };
        let selects = spec
            .selector
            .as_ref()
            .and_then(|s| s.match_labels.as_ref())
            .is_some_and(|m| m.iter().all(|(k, v)| labels.get(k) == Some(v)));
        if !selects {
            continue;
        }
        let need = match (&spec.min_available, &spec.max_unavailable) {
            (Some(min), _) => int_or_percent(min, replicas, true),
            (None, Some(max)) => replicas - int_or_percent(max, replicas, false),
            _ => 0,
        };
        floor = floor.max(need);
    }
    Ok(floor)
}

fn int_or_percent(
    v: &k8s_openapi::apimachinery::pkg::util::intstr::IntOrString,
    total: i32,
    round_up: bool,
) -> i32 {
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    match v {
        IntOrString::Int(n) => *n,
        IntOrString::String(s) => {
            let pct: f64 = s.trim_end_matches('%').parse().unwrap_or(0.0);
            let x = pct * f64::from(total) / 100.0;
            (if round_up { x.ceil() } else { x.floor() }) as i32
        }
    }
}

/// `kubectl rollout undo`: the owned ReplicaSet of the previous (or named) revision, its template
/// without pod-template-hash, applied with a JSON patch; skipped when the templates already match.
pub async fn rollback(
    client: &Client,
    ns: &str,
    name: &str,
    to_revision: Option<u64>,
    dry_run: bool,
) -> Result<(Change, String), RemediateError> {
    let api = Api::<Deployment>::namespaced(client.clone(), ns);
    let d = api.get(name).await?;
    let current = revision(&d.metadata).unwrap_or(0);
    let mut owned = replica_sets_of(client, ns, &d).await?;
    owned.sort_by_key(|rs| std::cmp::Reverse(revision(&rs.metadata).unwrap_or(0)));
    let target = match to_revision {
        Some(want) => owned
            .iter()
            .find(|rs| revision(&rs.metadata) == i64::try_from(want).ok()),
        None => owned
            .iter()
            .find(|rs| revision(&rs.metadata).is_some_and(|r| r < current)),
    }
    .ok_or_else(|| {
        RemediateError::Refused(format!(
            "deployment {ns}/{name} has no revision to roll back to (current {current})"
        ))
    })?;
    let mut template = target
        .spec
        .as_ref()
        .and_then(|s| s.template.clone())
        .unwrap_or_default();
    if let Some(labels) = template.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
        labels.remove("pod-template-hash");
    }
    let current_template = d
        .spec
        .as_ref()
        .map(|s| s.template.clone())
        .unwrap_or_default();
    let to = revision(&target.metadata).unwrap_or(0);
    let images = (image(&current_template), image(&template));
    if template == current_template {
        // Nothing changes, so the Change stays empty; the summary keeps the evidence.
        return Ok((
            Change::default(),
            format!(
                "deployment {ns}/{name} already runs the template of revision {to} ({}); nothing to roll back",
                images.1
            ),
        ));
    }
    let ops = json!([{"op": "replace", "path": "/spec/template", "value": template}]);
    let patch: json_patch::Patch =
        serde_json::from_value(ops).map_err(|e| RemediateError::Internal(e.to_string()))?;
    api.patch(name, &params(dry_run), &Patch::<()>::Json(patch))
        .await?;
    let summary = format!(
        "rolled back deployment {ns}/{name} from revision {current} ({}) to revision {to} ({})",
        images.0, images.1
    );
    Ok((
        Change {
            revision: Some((current.to_string(), to.to_string())),
            image: Some(images),
            ..Change::default()
        },
        summary,
    ))
}

/// The ReplicaSets deployment `d` owns: its revisions.
pub(crate) async fn replica_sets_of(
    client: &Client,
    ns: &str,
    d: &Deployment,
) -> Result<Vec<ReplicaSet>, RemediateError> {
    let uid = d.metadata.uid.clone().unwrap_or_default();
    let sets = Api::<ReplicaSet>::namespaced(client.clone(), ns)
        .list(&ListParams::default())
        .await?;
    Ok(sets
        .items
        .into_iter()
        .filter(|rs| {
            rs.metadata
                .owner_references
                .as_ref()
                .is_some_and(|o| o.iter().any(|o| o.uid == uid))
        })
        .collect())
}

/// Deletes one pod, only if a controller owns it (a bare pod would be gone for good).
pub async fn delete_pod(
    client: &Client,
    ns: &str,
    name: &str,
    dry_run: bool,
) -> Result<(Change, String), RemediateError> {
    let api = Api::<Pod>::namespaced(client.clone(), ns);
    let pod = api.get(name).await?;
    let owned = pod
        .metadata
        .owner_references
        .as_ref()
        .is_some_and(|o| o.iter().any(|o| o.controller == Some(true)));
    if !owned {
        return Err(RemediateError::Refused(format!(
            "pod {ns}/{name} has no controller; deleting it would lose it"
        )));
    }
    let dp = if dry_run {
        DeleteParams::default().dry_run()
    } else {
        DeleteParams::default()
    };
    api.delete(name, &dp).await?;
    Ok((
        Change {
            pods: vec![name.to_owned()],
            ..Change::default()
        },
        format!("deleted pod {ns}/{name}; its controller replaces it"),
    ))
}

/// Cordon (`unschedulable: true`) or uncordon a node.
pub async fn set_unschedulable(
    client: &Client,
    node: &str,
    unschedulable: bool,
    dry_run: bool,
) -> Result<(Change, String), RemediateError> {
    let api = Api::<Node>::all(client.clone());
    let before = api
        .get(node)
        .await?
        .spec
        .and_then(|s| s.unschedulable)
        .unwrap_or(false);
    let mut patch = json!({"spec": {"unschedulable": unschedulable}});
    if !unschedulable {
        // Uncordoning also releases the drain lock.
        patch["metadata"] = json!({"annotations": {DRAINING: null}});
    }
    api.patch(node, &params(dry_run), &Patch::Merge(patch))
        .await?;
    let verb = if unschedulable {
        "cordoned"
    } else {
        "uncordoned"
    };
    Ok((
        Change {
            unschedulable: Some((before, unschedulable)),
            ..Change::default()
        },
        format!("{verb} node {node}"),
    ))
}

/// How a drain waits on PodDisruptionBudgets.
#[derive(Debug, Clone, Copy)]
pub struct DrainTiming {
    /// Give up after this long (the node stays cordoned).
    pub timeout: Duration,
    /// Wait this long after a 429 before trying the pod again.
    pub retry_every: Duration,
}

/// Cordon, then evict every pod on the node except DaemonSet and mirror pods. A PDB's 429 means
/// wait and try again until the deadline; never delete instead. The node carries the drain lock
/// annotation while it drains; only one node may carry it.
pub async fn drain(
    client: &Client,
    node: &str,
    timing: DrainTiming,
    dry_run: bool,
) -> Result<(Change, String), RemediateError> {
    take_drain_lock(client, node, dry_run).await?;
    let drained = drain_locked(client, node, timing, dry_run).await;
    if !dry_run {
        // Released whether the drain completed, timed out or failed: a lock that outlives its
        // drain would refuse every later one.
        let nodes = Api::<Node>::all(client.clone());
        let unlock = json!({"metadata": {"annotations": {DRAINING: Value::Null}}});
        let unmarked = nodes
            .patch(node, &PatchParams::default(), &Patch::Merge(unlock))
            .await;
        let released = match Api::<ConfigMap>::namespaced(client.clone(), DRAIN_LOCK_NAMESPACE)
            .delete(DRAIN_LOCK, &DeleteParams::default())
            .await
        {
            // Already gone is released; anything else (forbidden, unreachable) is not.
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => Err(e),
        };
        let release = unmarked.map(|_| ()).and(released);
        return match (drained, release) {
            (Ok(drained), Ok(())) => Ok(drained),
            (Ok(_), Err(e)) => Err(e.into()),
            // The drain's own error is the answer; the lock left behind must not go unseen.
            (Err(e), Err(left)) => {
                tracing::warn!(node, error = %left, "the drain lock or mark was not released");
                Err(e)
            }
            (Err(e), Ok(())) => Err(e),
        };
    }
    drained
}

/// Takes the cluster's drain lock for `node`; already holding it (a retried drain) is fine.
async fn take_drain_lock(client: &Client, node: &str, dry_run: bool) -> Result<(), RemediateError> {
    let locks = Api::<ConfigMap>::namespaced(client.clone(), DRAIN_LOCK_NAMESPACE);
    let lock: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": DRAIN_LOCK},
        "data": {"node": node, "since": Utc::now().to_rfc3339()},
    }))
    .map_err(|e| RemediateError::Internal(e.to_string()))?;
    let post = PostParams {
        dry_run,
        ..PostParams::default()
    };
    match locks.create(&post, &lock).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 => {
            let held = locks.get(DRAIN_LOCK).await?;
            let holder = held
                .data
                .as_ref()
                .and_then(|d| d.get("node"))
                .cloned()
                .unwrap_or_default();
            if holder == node {
                Ok(())
            } else {
                Err(RemediateError::Refused(format!(
                    "node {holder} is already being drained; one at a time"
                )))
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// The drain itself, with the lock held.
async fn drain_locked(
    client: &Client,
    node: &str,
    timing: DrainTiming,
    dry_run: bool,
) -> Result<(Change, String), RemediateError> {
    let nodes = Api::<Node>::all(client.clone());
    let current = nodes.get(node).await?;
    let before = current
        .spec
        .as_ref()
        .and_then(|s| s.unschedulable)
        .unwrap_or(false);
    // The lock and the cordon in one write, conditional on the node not having changed.
    let lock = json!({"metadata": {"resourceVersion": current.metadata.resource_version, "annotations": {DRAINING: Utc::now().to_rfc3339()}},
        "spec": {"unschedulable": true}});
    nodes
        .patch(node, &params(dry_run), &Patch::Merge(lock))
        .await?;
    let pods = Api::<Pod>::all(client.clone())
        .list(&ListParams::default().fields(&format!("spec.nodeName={node}")))
        .await?;
    let mut pending: Vec<(String, String)> = pods
        .items
        .iter()
        .filter(|p| {
            let daemon = p
                .metadata
                .owner_references
                .as_ref()
                .is_some_and(|o| o.iter().any(|o| o.kind == "DaemonSet"));
            let mirror = p
                .metadata
                .annotations
                .as_ref()
                .is_some_and(|a| a.contains_key("kubernetes.io/config.mirror"));
            !daemon && !mirror
        })
        .filter_map(|p| Some((p.metadata.namespace.clone()?, p.metadata.name.clone()?)))
        .collect();
    let deadline = tokio::time::Instant::now() + timing.timeout;
    let mut evicted = Vec::new();
    let mut ep = EvictParams::default();
    ep.post_options.dry_run = dry_run;
    loop {
        let mut blocked = Vec::new();
        for (ns, name) in pending {
            match Api::<Pod>::namespaced(client.clone(), &ns)
                .evict(&name, &ep)
                .await
            {
                Ok(_) => evicted.push(format!("{ns}/{name}")),
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(kube::Error::Api(s)) if s.code == 429 => blocked.push((ns, name)),
                Err(e) => return Err(e.into()),
            }
        }
        if blocked.is_empty() {
            break;
        }
        if tokio::time::Instant::now() + timing.retry_every > deadline {
            let left: Vec<String> = blocked.iter().map(|(n, p)| format!("{n}/{p}")).collect();
            return Err(RemediateError::Timeout(format!(
                "drain of {node} timed out after {:?}: PodDisruptionBudgets still block {}",
                timing.timeout,
                left.join(", ")
            )));
        }
        tokio::time::sleep(timing.retry_every).await;
        pending = blocked;
    }
    let summary = format!(
        "drained node {node}: cordoned, {} pod(s) evicted",
        evicted.len()
    );
    Ok((
        Change {
            unschedulable: Some((before, true)),
            pods: evicted,
            ..Change::default()
        },
        summary,
    ))
}
