//! Remediation scenarios against kube-sim over HTTP, through the real kube client: the alert comes
//! in, the starter runbook's step runs, and the simulated cluster heals (or the guardrails hold).

#![allow(clippy::unwrap_used)] // a panic is the failure report

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Node, Pod};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::Client;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::config::Kubeconfig;
use selfheal_core::alert::{Door, Limits, parse_webhook};
use selfheal_core::remediation::{RemediateRequest, RemediateRequestSchema};
use selfheal_core::{
    Classified, Disposition, ErrorClass, GuardrailState, Incident, Mode, Policy, assess,
};
use selfheal_eks::{AccessError, Clusters};
use selfheal_kube_sim::{FaultKind, FaultTarget, Sim};
use selfheal_remediate::{RemediateError, Remediator};
use selfheal_testkit::repo;
use serde_json::json;

async fn start() -> (Sim, Client) {
    let cluster = selfheal_testkit::three_tier(Utc::now(), 0.0).await;
    (cluster.sim, cluster.client)
}

fn remediator(client: &Client) -> Remediator {
    let catalog = selfheal_core::embedded::catalog().unwrap();
    Remediator::new(client.clone(), Policy::default(), Arc::new(catalog))
        .with_drain_retry(Duration::from_millis(50))
}

/// A remediator that trusts `runbook` in place of the catalog's runbook of the same id: a test
/// that changes a step must say so, as the Lambda refuses a runbook that differs from its catalog.
fn remediator_trusting(client: &Client, runbook: &selfheal_core::Runbook) -> Remediator {
    let catalog = selfheal_core::embedded::catalog()
        .unwrap()
        .replacing(runbook.clone())
        .unwrap();
    Remediator::new(client.clone(), Policy::default(), Arc::new(catalog))
        .with_drain_retry(Duration::from_millis(50))
}

/// The incident the ingest would open for an alert with these labels.
fn incident(labels: serde_json::Value) -> Incident {
    incident_under(&Policy::default(), labels)
}

/// The incident the ingest would open under `policy`.
fn incident_under(policy: &Policy, labels: serde_json::Value) -> Incident {
    let body = json!({"version": "4", "status": "firing", "alerts": [{"status": "firing", "labels": labels,
        "startsAt": Utc::now().to_rfc3339(), "fingerprint": "0123456789abcdef"}]});
    let alert = parse_webhook(
        body.to_string().as_bytes(),
        &Limits::default(),
        Door::Webhook,
    )
    .unwrap()
    .alerts
    .remove(0);
    let catalog = selfheal_core::embedded::catalog().unwrap();
    match assess(
        &alert,
        &catalog,
        policy,
        |_| GuardrailState::default(),
        Utc::now(),
    )
    .disposition
    {
        Disposition::Open { incident } => *incident,
        other => panic!("no incident: {other:?}"),
    }
}

fn request(incident: &Incident, step: usize) -> RemediateRequest {
    RemediateRequest {
        schema: RemediateRequestSchema,
        incident: incident.clone(),
        step,
        kill_switch: false,
    }
}

/// The deployment's pods crash until restarted, for 20 s: the alert's symptom.
fn crashloop(sim: &Sim, deployment: &str) {
    sim.inject(
        FaultKind::Crashloop {
            exit_code: 1,
            log: vec!["panic: stale cache".into()],
            until_restart: true,
        },
        shop(deployment),
    );
    sim.advance(Duration::from_secs(20));
}

/// The deployment's pods use their CPU up to the limit: the saturation alert's symptom.
fn saturate(sim: &Sim, deployment: &str) {
    sim.inject(FaultKind::CpuSaturation, shop(deployment));
}

/// The node a pod of `app` runs on.
async fn node_of(client: &Client, app: &str) -> String {
    pods(client, app).await[0]
        .spec
        .clone()
        .unwrap()
        .node_name
        .unwrap()
}

/// The node stops reporting Ready, and the node lifecycle controller marks it so.
fn node_not_ready(sim: &Sim, node: &str) {
    sim.inject(
        FaultKind::NodeNotReady,
        FaultTarget {
            node: Some(node.to_owned()),
            ..Default::default()
        },
    );
    sim.advance(Duration::from_secs(5));
}

fn shop(deployment: &str) -> FaultTarget {
    FaultTarget {
        namespace: Some("shop".into()),
        deployment: Some(deployment.into()),
        node: None,
    }
}

async fn pods(client: &Client, app: &str) -> Vec<Pod> {
    Api::<Pod>::namespaced(client.clone(), "shop")
        .list(&ListParams::default().labels(&format!("app={app}")))
        .await
        .unwrap()
        .items
}

fn healthy(p: &Pod) -> bool {
    let s = p.status.as_ref().unwrap();
    let ready = s
        .conditions
        .as_ref()
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
    ready && s.container_statuses.as_ref().unwrap()[0].restart_count == 0
}

#[tokio::test]
async fn an_alert_for_a_pod_gone_since_acts_on_the_deployment_its_replica_set_names() {
    // The alert held for 15 minutes; the pod it names was replaced in the meantime.
    let (sim, client) = start().await;
    crashloop(&sim, "backend");
    let gone = pods(&client, "backend").await[0]
        .metadata
        .name
        .clone()
        .unwrap();
    Api::<Pod>::namespaced(client.clone(), "shop")
        .delete(&gone, &Default::default())
        .await
        .unwrap();
    sim.advance(Duration::from_secs(1));
    assert!(
        pods(&client, "backend")
            .await
            .iter()
            .all(|p| p.metadata.name.as_deref() != Some(gone.as_str()))
    );
    let inc = incident(
        json!({"alertname": "KubePodCrashLooping", "severity": "warning", "namespace": "shop", "pod": gone}),
    );
    let result = remediator(&client).run(&request(&inc, 0)).await.unwrap();
    assert_eq!(result.object, "deployment/shop/backend");
    assert!(result.changed);
}

#[tokio::test]
async fn a_crashlooping_backend_is_restarted_and_healthy() {
    let (sim, client) = start().await;
    crashloop(&sim, "backend");
    let pod = pods(&client, "backend").await[0]
        .metadata
        .name
        .clone()
        .unwrap();
    let inc = incident(
        json!({"alertname": "KubePodCrashLooping", "severity": "warning", "namespace": "shop", "pod": pod}),
    );
    let result = remediator(&client).run(&request(&inc, 0)).await.unwrap();
    assert!(
        result
            .symptom
            .as_deref()
            .is_some_and(|s| s.contains("of 3 pods of deployment shop/backend in trouble")),
        "{:?}",
        result.symptom
    );
    assert_eq!(result.action, "restart-pods");
    assert_eq!(
        result.object, "deployment/shop/backend",
        "the pod resolves to its deployment"
    );
    assert!(result.changed && !result.dry_run);
    sim.advance(Duration::from_secs(90));
    let after = pods(&client, "backend").await;
    assert_eq!(after.len(), 3);
    assert!(after.iter().all(healthy));
}

#[tokio::test]
async fn a_bad_rollout_is_rolled_back_and_healthy() {
    let (sim, client) = start().await;
    sim.inject(
        FaultKind::BadImage {
            image: "ghcr.io/selfheal/backend:2.1.0".into(),
        },
        FaultTarget::default(),
    );
    sim.advance(Duration::from_secs(10));
    let inc = incident(
        json!({"alertname": "KubeDeploymentRolloutBroken", "severity": "critical", "namespace": "shop", "deployment": "backend"}),
    );
    let result = remediator(&client).run(&request(&inc, 0)).await.unwrap();
    let change = &result.change;
    assert_eq!(
        change.image,
        Some((
            "ghcr.io/selfheal/backend:2.1.0".into(),
            "ghcr.io/selfheal/backend:2.0.0".into()
        ))
    );
    assert_eq!(change.revision, Some(("2".into(), "1".into())));
    sim.advance(Duration::from_secs(90));
    assert!(pods(&client, "backend").await.iter().all(healthy));
    // Rolling back to the revision already running finds the templates equal and changes
    // nothing. (A plain second undo would flip back, as `kubectl rollout undo` twice does; the
    // runbook's max_attempts and cooldown keep that from happening.)
    let mut pinned = inc.clone();
    pinned.runbook.steps[0] = selfheal_core::Step::Rollback {
        to_revision: Some(3),
    };
    let again = remediator_trusting(&client, &pinned.runbook)
        .run(&request(&pinned, 0))
        .await
        .unwrap();
    assert!(!again.changed, "{}", again.summary);
    // The same alert again, now stale: the live revision came after it began, so nothing is
    // rolled back a second time.
    assert!(again.skipped, "{}", again.summary);
    assert!(
        again.summary.contains("went live after the alert began"),
        "{}",
        again.summary
    );
}

#[tokio::test]
async fn a_saturated_deployment_is_scaled_within_its_bounds() {
    let (sim, client) = start().await;
    saturate(&sim, "frontend");
    let inc = incident(
        json!({"alertname": "ServiceCPUSaturated", "severity": "warning", "namespace": "shop", "deployment": "frontend"}),
    );
    let r = remediator(&client);
    let first = r.run(&request(&inc, 0)).await.unwrap();
    assert_eq!(first.change.replicas, Some((3, 5)));
    sim.advance(Duration::from_secs(10));
    assert_eq!(pods(&client, "frontend").await.len(), 5);
    Api::<Deployment>::namespaced(client.clone(), "shop")
        .patch_scale(
            "frontend",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 9}})),
        )
        .await
        .unwrap();
    assert_eq!(
        r.run(&request(&inc, 0)).await.unwrap().change.replicas,
        Some((9, 10)),
        "clamped to max"
    );
    let err = r.run(&request(&inc, 0)).await.unwrap_err();
    assert!(
        matches!(err, RemediateError::Refused(ref m) if m.contains("upper bound")),
        "{err}"
    );
    assert_eq!(err.class(), ErrorClass::NonRetryable);
}

#[tokio::test]
async fn a_not_ready_node_is_cordoned_and_drained_once_its_pdb_allows() {
    let (sim, client) = start().await;
    let db = pods(&client, "database").await.remove(0);
    let node = db.spec.unwrap().node_name.unwrap();
    node_not_ready(&sim, &node);
    let inc =
        incident(json!({"alertname": "KubeNodeNotReady", "severity": "warning", "node": node}));
    let r = remediator(&client);
    let cordon = r.run(&request(&inc, 0)).await.unwrap();
    assert_eq!(cordon.change.unschedulable, Some((false, true)));
    // The database's budget (maxUnavailable 0) blocks its eviction: the drain times out, the
    // node stays cordoned, and the error is worth retrying.
    let mut blocked = inc.clone();
    blocked.runbook.steps[1] = selfheal_core::Step::Drain {
        timeout: "1s".parse().unwrap(),
    };
    let short = remediator_trusting(&client, &blocked.runbook);
    let err = short.run(&request(&blocked, 1)).await.unwrap_err();
    assert!(
        matches!(err, RemediateError::Timeout(ref m) if m.contains("database")),
        "{err}"
    );
    assert_eq!(err.class(), ErrorClass::Retryable);
    let n = Api::<Node>::all(client.clone()).get(&node).await.unwrap();
    assert_eq!(n.spec.unwrap().unschedulable, Some(true));
    // The timed-out drain released the lock and its mark: the retry (or another node) may go.
    let locks = Api::<ConfigMap>::namespaced(client.clone(), "selfheal");
    assert!(
        locks
            .get_opt("selfheal-drain-lock")
            .await
            .unwrap()
            .is_none()
    );
    let n = Api::<Node>::all(client.clone()).get(&node).await.unwrap();
    assert!(
        !n.metadata
            .annotations
            .unwrap_or_default()
            .contains_key("selfheal.dev/draining")
    );
    assert!(
        Api::<Pod>::namespaced(client.clone(), "shop")
            .get(db.metadata.name.as_deref().unwrap())
            .await
            .is_ok(),
        "never deleted instead"
    );
    // The budget is relaxed; the retried drain completes.
    Api::<PodDisruptionBudget>::namespaced(client.clone(), "shop")
        .patch(
            "database",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"maxUnavailable": 1}})),
        )
        .await
        .unwrap();
    let drained = short.run(&request(&blocked, 1)).await.unwrap();
    assert!(
        drained
            .change
            .pods
            .iter()
            .any(|p| p.starts_with("shop/database-")),
        "{:?}",
        drained.change.pods
    );
    let left = Api::<Pod>::all(client.clone())
        .list(&ListParams::default().fields(&format!("spec.nodeName={node}")))
        .await
        .unwrap();
    assert!(
        left.items
            .iter()
            .all(|p| p.metadata.owner_references.as_ref().unwrap()[0].kind == "DaemonSet"),
        "only DaemonSet pods stay"
    );
}

#[tokio::test]
async fn a_409_on_the_first_patch_is_retryable_and_the_retry_succeeds() {
    let (sim, client) = start().await;
    crashloop(&sim, "backend");
    sim.inject(
        FaultKind::Api {
            path: "/apis/apps/v1/namespaces/shop/deployments/backend".into(),
            method: Some("PATCH".into()),
            status: Some(409),
            delay_ms: None,
            count: 1,
        },
        FaultTarget::default(),
    );
    let pod = pods(&client, "backend").await[0]
        .metadata
        .name
        .clone()
        .unwrap();
    let inc = incident(
        json!({"alertname": "KubePodCrashLooping", "severity": "warning", "namespace": "shop", "pod": pod}),
    );
    let err = remediator(&client)
        .run(&request(&inc, 0))
        .await
        .unwrap_err();
    assert!(matches!(err, RemediateError::Conflict(_)), "{err}");
    assert_eq!(err.class(), ErrorClass::Retryable);
    assert!(
        remediator(&client)
            .run(&request(&inc, 0))
            .await
            .unwrap()
            .changed
    );
}

#[tokio::test]
async fn a_dry_run_goes_out_with_dry_run_all_and_changes_nothing() {
    let (sim, client) = start().await;
    saturate(&sim, "frontend");
    let mut inc = incident(
        json!({"alertname": "ServiceCPUSaturated", "severity": "warning", "namespace": "shop", "deployment": "frontend"}),
    );
    inc.mode = Mode::DryRun;
    let deployments = Api::<Deployment>::namespaced(client.clone(), "shop");
    let rv = deployments
        .get("frontend")
        .await
        .unwrap()
        .metadata
        .resource_version;
    let result = remediator(&client).run(&request(&inc, 0)).await.unwrap();
    assert!(result.dry_run);
    assert_eq!(
        result.change.replicas,
        Some((3, 5)),
        "what would have happened"
    );
    assert!(
        result.summary.starts_with("dry run: would have scaled"),
        "{}",
        result.summary
    );
    assert_eq!(
        deployments
            .get("frontend")
            .await
            .unwrap()
            .metadata
            .resource_version,
        rv
    );
}

#[tokio::test]
async fn with_the_kill_switch_on_a_running_incident_only_dry_runs() {
    let (sim, client) = start().await;
    saturate(&sim, "frontend");
    let inc = incident(
        json!({"alertname": "ServiceCPUSaturated", "severity": "warning", "namespace": "shop", "deployment": "frontend"}),
    );
    assert_eq!(inc.mode, Mode::Enforce, "opened before the switch went on");
    let result = remediator(&client)
        .run(&RemediateRequest {
            kill_switch: true,
            ..request(&inc, 0)
        })
        .await
        .unwrap();
    assert!(result.dry_run && result.summary.starts_with("dry run"));
    let replicas = Api::<Deployment>::namespaced(client.clone(), "shop")
        .get("frontend")
        .await
        .unwrap()
        .spec
        .unwrap()
        .replicas;
    assert_eq!(replicas, Some(3), "nothing scaled");
}

#[tokio::test]
async fn an_incident_opened_as_a_dry_run_needs_no_approval_to_stay_one() {
    let (sim, client) = start().await;
    let node = node_of(&client, "frontend").await;
    node_not_ready(&sim, &node);
    // The ingest saw the kill switch on: the node runbook (approval required) became a dry run
    // and asked nobody. With the switch off now, the step is still a dry run, not a refusal.
    let mut inc =
        incident(json!({"alertname": "KubeNodeNotReady", "severity": "critical", "node": node}));
    inc.mode = Mode::DryRun;
    inc.decision = selfheal_core::Decision::DryRun;
    let result = remediator(&client).run(&request(&inc, 0)).await.unwrap();
    assert!(result.dry_run, "{}", result.summary);
    let node = Api::<Node>::all(client.clone()).get(&node).await.unwrap();
    assert_ne!(node.spec.unwrap().unschedulable, Some(true), "not cordoned");
}

/// A forged or stale alert for a healthy object changes nothing: each runbook's first action
/// finds no symptom and is skipped, with what the cluster showed.
#[tokio::test]
async fn a_forged_alert_for_a_healthy_object_is_skipped_and_changes_nothing() {
    // The cluster has run for two hours: no rollout is recent enough to blame.
    let start = Utc::now() - chrono::TimeDelta::hours(2);
    let cluster = selfheal_testkit::three_tier(start, 0.0).await;
    let (sim, client) = (cluster.sim, cluster.client);
    sim.advance(Duration::from_secs(60));
    let node = node_of(&client, "frontend").await;
    let deployments = Api::<Deployment>::namespaced(client.clone(), "shop");
    let version = |d: Deployment| d.metadata.resource_version;
    let before = version(deployments.get("backend").await.unwrap());
    for (labels, why) in [
        (
            json!({"alertname": "KubeDeploymentRolloutBroken", "severity": "critical", "namespace": "shop", "deployment": "backend"}),
            "no rollout to blame",
        ),
        (
            json!({"alertname": "KubePodCrashLooping", "severity": "warning", "namespace": "shop", "deployment": "backend"}),
            "are ready, none restarted",
        ),
        (
            json!({"alertname": "ServiceCPUSaturated", "severity": "warning", "namespace": "shop", "deployment": "backend"}),
            "below the 80% that counts as saturated",
        ),
        (
            json!({"alertname": "KubeNodeNotReady", "severity": "critical", "node": node}),
            "is Ready",
        ),
    ] {
        let mut inc = incident(labels);
        // Approval (the node runbook asks for it) was given: the check still holds.
        inc.decision = selfheal_core::Decision::NeedsApproval;
        let result = remediator(&client).run(&request(&inc, 0)).await;
        let result = result.unwrap_or_else(|e| panic!("{why}: {e}"));
        assert!(result.skipped && !result.changed, "{}", result.summary);
        assert!(
            result.summary.starts_with("skipped: symptom not present")
                && result.summary.contains(why),
            "{}",
            result.summary
        );
    }
    assert_eq!(
        version(deployments.get("backend").await.unwrap()),
        before,
        "nothing written"
    );
    let node = Api::<Node>::all(client.clone()).get(&node).await.unwrap();
    assert_ne!(node.spec.unwrap().unschedulable, Some(true), "not cordoned");
}

#[tokio::test]
async fn only_the_first_action_checks_the_symptom_later_steps_continue_it() {
    let (_sim, client) = start().await;
    let node = node_of(&client, "frontend").await;
    let mut inc =
        incident(json!({"alertname": "KubeNodeNotReady", "severity": "critical", "node": node}));
    inc.decision = selfheal_core::Decision::NeedsApproval;
    inc.mode = Mode::DryRun;
    // Step 1 (drain) follows the cordon the symptom check let through: it is not checked again.
    let drain = remediator(&client).run(&request(&inc, 1)).await.unwrap();
    assert!(
        !drain.skipped && drain.symptom.is_none(),
        "{}",
        drain.summary
    );
}

#[tokio::test]
async fn a_runbook_handed_in_that_differs_from_the_catalog_is_refused() {
    let (sim, client) = start().await;
    crashloop(&sim, "frontend");
    let inc = incident(
        json!({"alertname": "KubePodCrashLooping", "severity": "warning", "namespace": "shop", "deployment": "frontend"}),
    );
    // Whoever can start an execution could widen the runbook: allow kube-system, call it low
    // risk, skip approval, and point the incident there.
    let mut forged = inc.clone();
    forged.runbook.allow_namespaces = vec!["kube-system".into()];
    forged.runbook.risk = selfheal_core::runbook::Risk::Low;
    forged
        .alert
        .labels
        .insert("namespace".into(), "kube-system".into());
    forged.target.namespace = Some("kube-system".into());
    let err = remediator(&client)
        .run(&request(&forged, 0))
        .await
        .unwrap_err();
    assert!(
        matches!(err, RemediateError::Refused(ref m) if m.contains("differs from the catalog's")),
        "{err}"
    );
    assert_eq!(err.class(), ErrorClass::NonRetryable);
    // A runbook the function was not built with is refused too, whatever it says.
    let mut unknown = inc.clone();
    unknown.runbook.id = "made-up".into();
    let err = remediator(&client)
        .run(&request(&unknown, 0))
        .await
        .unwrap_err();
    assert!(
        matches!(err, RemediateError::Refused(ref m) if m.contains("not in the catalog")),
        "{err}"
    );
    // The catalog's own copy runs.
    assert!(
        remediator(&client)
            .run(&request(&inc, 0))
            .await
            .unwrap()
            .changed
    );
}

#[tokio::test]
async fn while_another_node_holds_the_drain_lock_no_drain_starts() {
    let (_sim, client) = start().await;
    let locks = Api::<ConfigMap>::namespaced(client.clone(), "selfheal");
    let held: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "selfheal-drain-lock"},
        "data": {"node": "ip-10-0-9-99.eu-west-1.compute.internal"}}))
        .unwrap();
    locks.create(&Default::default(), &held).await.unwrap();
    let timing = selfheal_remediate::actions::DrainTiming {
        timeout: Duration::from_secs(1),
        retry_every: Duration::from_millis(50),
    };
    let node = "ip-10-0-1-11.eu-west-1.compute.internal";
    let err = selfheal_remediate::actions::drain(&client, node, timing, false)
        .await
        .unwrap_err();
    assert!(
        matches!(err, RemediateError::Refused(ref m) if m.contains("already being drained")),
        "{err}"
    );
    let n = Api::<Node>::all(client.clone()).get(node).await.unwrap();
    assert_ne!(
        n.spec.unwrap().unschedulable,
        Some(true),
        "refused before it cordoned anything"
    );
    // The other drain ends and deletes its lock: this one may take it now.
    locks
        .delete("selfheal-drain-lock", &Default::default())
        .await
        .unwrap();
    selfheal_remediate::actions::drain(&client, node, timing, true)
        .await
        .unwrap();
}

#[tokio::test]
async fn guardrails_hold_at_remediation_time_too() {
    let (_sim, client) = start().await;
    // A bare pod: delete-pod refuses, whatever the runbook says.
    let bare: Pod =
        serde_json::from_value(json!({"metadata": {"name": "debug", "namespace": "shop"},
        "spec": {"containers": [{"name": "sh", "image": "busybox"}]}}))
        .unwrap();
    Api::<Pod>::namespaced(client.clone(), "shop")
        .create(&Default::default(), &bare)
        .await
        .unwrap();
    let err = selfheal_remediate::actions::delete_pod(&client, "shop", "debug", false)
        .await
        .unwrap_err();
    assert!(matches!(err, RemediateError::Refused(_)), "{err}");
    // A paused deployment is not restarted.
    Api::<Deployment>::namespaced(client.clone(), "shop")
        .patch(
            "frontend",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"paused": true}})),
        )
        .await
        .unwrap();
    let err = selfheal_remediate::actions::restart(&client, "shop", "frontend", false)
        .await
        .unwrap_err();
    assert!(
        matches!(err, RemediateError::Refused(ref m) if m.contains("paused")),
        "{err}"
    );
    // A tampered incident (target not what its labels say) is refused before any call.
    let mut inc = incident(
        json!({"alertname": "ServiceCPUSaturated", "severity": "warning", "namespace": "shop", "deployment": "frontend"}),
    );
    inc.target.namespace = Some("kube-system".into());
    let err = remediator(&client)
        .run(&request(&inc, 0))
        .await
        .unwrap_err();
    assert!(matches!(err, RemediateError::Refused(_)), "{err}");
    // An incident for a cluster the function's policy does not name is refused, whatever
    // policy opened it.
    let wider = Policy {
        clusters: vec!["selfheal-dev".into(), "prod-eu".into()],
        ..Policy::default()
    };
    let inc = incident_under(
        &wider,
        json!({"alertname": "ServiceCPUSaturated", "severity": "warning", "namespace": "shop", "deployment": "frontend", "cluster": "prod-eu"}),
    );
    let err = remediator(&client)
        .run(&request(&inc, 0))
        .await
        .unwrap_err();
    assert!(
        matches!(err, RemediateError::Refused(ref m) if m.contains("cluster prod-eu is not one selfheal remediates")),
        "{err}"
    );
}

#[tokio::test]
async fn each_incident_acts_on_the_cluster_its_alert_names_and_no_other() {
    // Two clusters behind one kubeconfig, reached by name as the Lambda's main reaches them.
    let dev = selfheal_testkit::three_tier(Utc::now(), 0.0).await;
    let mut scenario = selfheal_testkit::three_tier_scenario();
    scenario.cluster = "selfheal-prod".into();
    let prod = selfheal_testkit::serve(&scenario, Utc::now(), 0.0).await;
    let context = |url: &str, cluster: &str| {
        Kubeconfig::from_yaml(&selfheal_kube_sim::kubeconfig(url, cluster)).unwrap()
    };
    let clusters = Clusters::kubeconfig(
        context(&dev.url, "selfheal-dev")
            .merge(context(&prod.url, "selfheal-prod"))
            .unwrap(),
    );
    assert_eq!(clusters.names(), ["selfheal-dev", "selfheal-prod"]);
    let policy = Policy {
        clusters: clusters.names(),
        ..Policy::default()
    };
    crashloop(&dev.sim, "backend");
    crashloop(&prod.sim, "backend");
    let pod = pods(&prod.client, "backend").await[0]
        .metadata
        .name
        .clone()
        .unwrap();
    let inc = incident_under(
        &policy,
        json!({"alertname": "KubePodCrashLooping", "severity": "warning", "namespace": "shop", "pod": pod, "cluster": "selfheal-prod"}),
    );
    let client = clusters.client(&inc.target.cluster).await.unwrap();
    let catalog = Arc::new(selfheal_core::embedded::catalog().unwrap());
    let result = Remediator::new(client, policy, catalog)
        .run(&request(&inc, 0))
        .await
        .unwrap();
    assert!(result.changed, "{result:?}");
    let restarted = |client: &Client| {
        let client = client.clone();
        async move {
            Api::<Deployment>::namespaced(client, "shop")
                .get("backend")
                .await
                .unwrap()
                .spec
                .unwrap()
                .template
                .metadata
                .and_then(|m| m.annotations)
                .is_some_and(|a| a.contains_key(selfheal_remediate::actions::RESTARTED_AT))
        }
    };
    assert!(restarted(&prod.client).await, "prod's backend restarted");
    assert!(!restarted(&dev.client).await, "dev's backend untouched");
    // A cluster that is not configured gets no client: refused, never retried.
    let Err(err) = clusters.client("selfheal-staging").await else {
        panic!("a client for a cluster that is not configured");
    };
    assert!(
        matches!(err, AccessError::UnknownCluster { ref cluster, .. } if cluster == "selfheal-staging"),
        "{err}"
    );
    assert_eq!(err.class(), ErrorClass::NonRetryable);
}

#[tokio::test]
async fn the_cargo_lambda_fixture_is_a_valid_request_that_runs() {
    let (_sim, client) = start().await;
    let text = std::fs::read_to_string(repo("functions/remediate/fixtures/restart-frontend.json"))
        .unwrap();
    let req: RemediateRequest = serde_json::from_str(&text).unwrap();
    assert_eq!(
        req.incident.id,
        selfheal_core::IncidentId::derive(
            &req.incident.alert.fingerprint(),
            req.incident.alert.starts_at
        )
    );
    let result = remediator(&client).run(&req).await.unwrap();
    assert_eq!(
        (result.action.as_str(), result.object.as_str()),
        ("restart-pods", "deployment/shop/frontend")
    );
}
