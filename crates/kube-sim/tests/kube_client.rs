//! kube-sim driven only through kube's typed Api over HTTP, as the remediation code drives EKS.
//! Each test starts the sample cluster (chaos/clusters/three-tier.yaml) and checks behaviour.

#![allow(clippy::unwrap_used)] // a panic is the failure report

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Event, Node, Pod};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::Client;
use kube::api::{
    Api, DeleteParams, EvictParams, ListParams, LogParams, Patch, PatchParams, PostParams,
    WatchEvent, WatchParams,
};
use selfheal_kube_sim::{Fault, FaultKind, FaultTarget, Sim};
use serde_json::json;

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-25T21:30:00Z")
        .unwrap()
        .to_utc()
}

async fn start() -> (Sim, Client) {
    let cluster = selfheal_testkit::three_tier(t0(), 0.0).await;
    (cluster.sim, cluster.client)
}

fn api_code(e: kube::Error) -> (u16, String) {
    match e {
        kube::Error::Api(s) => (s.code, s.reason.clone()),
        other => panic!("expected an API error, got {other:?}"),
    }
}

async fn pods_of(client: &Client, app: &str) -> Vec<Pod> {
    Api::<Pod>::namespaced(client.clone(), "shop")
        .list(&ListParams::default().labels(&format!("app={app}")))
        .await
        .unwrap()
        .items
}

fn ready(p: &Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

fn revision(o: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> String {
    o.annotations
        .as_ref()
        .and_then(|a| a.get("deployment.kubernetes.io/revision"))
        .cloned()
        .unwrap_or_default()
}

/// A cluster served in real time tells the time a client's clock tells: a remediation compares
/// a container's `finishedAt` with its own clock to decide whether it restarted recently.
#[tokio::test]
async fn a_realtime_cluster_is_settled_at_the_wall_clock() {
    let text =
        std::fs::read_to_string(selfheal_testkit::repo("chaos/clusters/three-tier.yaml")).unwrap();
    let scenario = selfheal_kube_sim::Scenario::from_yaml(&text).unwrap();
    let before = Utc::now();
    let sim = Sim::settled_now(&scenario).unwrap();
    let url = sim.spawn(1.0).await.unwrap();
    let client = Client::try_from(kube::Config::new(url.parse().unwrap())).unwrap();
    let sim_now = sim.world().now;
    assert!(
        sim_now >= before && sim_now <= Utc::now(),
        "sim time {sim_now} is not the wall clock (from {before})"
    );
    let pods = pods_of(&client, "backend").await;
    assert_eq!(pods.len(), 3);
    assert!(pods.iter().all(ready), "the pods settled before now");
}

#[tokio::test]
async fn the_sample_cluster_starts_settled() {
    let (_sim, client) = start().await;
    let nodes = Api::<Node>::all(client.clone())
        .list(&ListParams::default())
        .await
        .unwrap();
    assert_eq!(nodes.items.len(), 3);
    for app in ["frontend", "backend", "database"] {
        let d = Api::<Deployment>::namespaced(client.clone(), "shop")
            .get(app)
            .await
            .unwrap();
        let s = d.status.unwrap();
        assert_eq!(s.ready_replicas, d.spec.unwrap().replicas, "{app}");
        assert!(pods_of(&client, app).await.iter().all(ready), "{app}");
    }
    let backend = Api::<Deployment>::namespaced(client.clone(), "shop")
        .get("backend")
        .await
        .unwrap();
    assert_eq!(
        revision(&backend.metadata),
        "2",
        "backend was rolled out twice"
    );
}

#[tokio::test]
async fn a_rollout_restart_replaces_every_pod_with_a_new_replicaset() {
    let (sim, client) = start().await;
    let deployments = Api::<Deployment>::namespaced(client.clone(), "shop");
    let before: Vec<String> = pods_of(&client, "frontend")
        .await
        .into_iter()
        .filter_map(|p| p.metadata.name)
        .collect();
    // kubectl's way: a strategic merge patch of the template annotation.
    let patch = json!({"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "2026-11-25T21:31:00Z"}}}}});
    deployments
        .patch(
            "frontend",
            &PatchParams::default(),
            &Patch::Strategic(patch),
        )
        .await
        .unwrap();
    sim.advance(Duration::from_secs(60));
    let after = pods_of(&client, "frontend").await;
    assert_eq!(after.len(), 3);
    assert!(after.iter().all(ready));
    assert!(
        after
            .iter()
            .all(|p| !before.contains(p.metadata.name.as_ref().unwrap())),
        "every pod replaced"
    );
    let d = deployments.get("frontend").await.unwrap();
    assert_eq!(revision(&d.metadata), "2");
    let status = d.status.unwrap();
    assert_eq!(
        (status.updated_replicas, status.ready_replicas),
        (Some(3), Some(3))
    );
    // kube's own restart (a merge patch of kube.kubernetes.io/restartedAt) works the same way.
    deployments.restart("frontend").await.unwrap();
    sim.advance(Duration::from_secs(60));
    assert_eq!(
        revision(&deployments.get("frontend").await.unwrap().metadata),
        "3"
    );
    let sets = Api::<ReplicaSet>::namespaced(client.clone(), "shop")
        .list(&ListParams::default().labels("app=frontend"))
        .await
        .unwrap();
    let live: Vec<_> = sets
        .items
        .iter()
        .filter(|r| r.spec.as_ref().unwrap().replicas.unwrap_or(0) > 0)
        .collect();
    assert_eq!(live.len(), 1, "old ReplicaSets are scaled to zero");
}

#[tokio::test]
async fn a_json_patch_undo_restores_the_previous_template_and_revision() {
    let (sim, client) = start().await;
    let deployments = Api::<Deployment>::namespaced(client.clone(), "shop");
    let sets = Api::<ReplicaSet>::namespaced(client.clone(), "shop");
    // The current image (revision 2) turns out bad: its pods fail readiness.
    sim.world().add_fault(Fault::new(
        FaultKind::BadImage {
            image: "ghcr.io/selfheal/backend:2.1.0".into(),
        },
        FaultTarget::default(),
    ));
    sim.advance(Duration::from_secs(5));
    assert!(pods_of(&client, "backend").await.iter().all(|p| !ready(p)));
    // What `kubectl rollout undo` does: the ReplicaSet of the previous revision, its template
    // without pod-template-hash, sent as a JSON patch.
    let previous = sets
        .list(&ListParams::default().labels("app=backend"))
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|r| revision(&r.metadata) == "1")
        .unwrap();
    let mut template = serde_json::to_value(previous.spec.unwrap().template.unwrap()).unwrap();
    template["metadata"]["labels"]
        .as_object_mut()
        .unwrap()
        .remove("pod-template-hash");
    let patch: json_patch::Patch = serde_json::from_value(
        json!([{"op": "replace", "path": "/spec/template", "value": template}]),
    )
    .unwrap();
    deployments
        .patch(
            "backend",
            &PatchParams::default(),
            &Patch::<()>::Json(patch),
        )
        .await
        .unwrap();
    sim.advance(Duration::from_secs(60));
    let d = deployments.get("backend").await.unwrap();
    assert_eq!(
        revision(&d.metadata),
        "3",
        "the old ReplicaSet comes back as the newest revision"
    );
    let image = d.spec.unwrap().template.spec.unwrap().containers[0]
        .image
        .clone()
        .unwrap();
    assert_eq!(image, "ghcr.io/selfheal/backend:2.0.0");
    let pods = pods_of(&client, "backend").await;
    assert_eq!(pods.len(), 3);
    assert!(pods.iter().all(ready), "the rollback cured readiness");
}

#[tokio::test]
async fn an_eviction_that_violates_a_pdb_gets_429_and_the_pod_stays() {
    let (sim, client) = start().await;
    let pods = Api::<Pod>::namespaced(client.clone(), "shop");
    // backend: 3 ready, minAvailable 2. One eviction is allowed, the next is not until it heals.
    let names: Vec<String> = pods_of(&client, "backend")
        .await
        .into_iter()
        .filter_map(|p| p.metadata.name)
        .collect();
    pods.evict(&names[0], &EvictParams::default())
        .await
        .unwrap();
    let (code, reason) = api_code(
        pods.evict(&names[1], &EvictParams::default())
            .await
            .unwrap_err(),
    );
    assert_eq!((code, reason.as_str()), (429, "TooManyRequests"));
    assert!(pods.get(&names[1]).await.is_ok(), "the pod stays");
    let pdb = Api::<PodDisruptionBudget>::namespaced(client.clone(), "shop")
        .get("backend")
        .await
        .unwrap();
    assert_eq!(pdb.status.unwrap().disruptions_allowed, 0);
    // The ReplicaSet replaces the evicted pod; once it is ready the budget allows one again.
    sim.advance(Duration::from_secs(10));
    pods.evict(&names[1], &EvictParams::default())
        .await
        .unwrap();
    // The database allows none at all (maxUnavailable 0).
    let db = pods_of(&client, "database").await[0]
        .metadata
        .name
        .clone()
        .unwrap();
    assert_eq!(
        api_code(pods.evict(&db, &EvictParams::default()).await.unwrap_err()).0,
        429
    );
}

#[tokio::test]
async fn a_stale_update_gets_409_and_a_missing_object_404() {
    let (_sim, client) = start().await;
    let deployments = Api::<Deployment>::namespaced(client.clone(), "shop");
    let stale = deployments.get("backend").await.unwrap();
    let mut fresh = stale.clone();
    fresh.spec.as_mut().unwrap().replicas = Some(4);
    deployments
        .replace("backend", &PostParams::default(), &fresh)
        .await
        .unwrap();
    let (code, reason) = api_code(
        deployments
            .replace("backend", &PostParams::default(), &stale)
            .await
            .unwrap_err(),
    );
    assert_eq!((code, reason.as_str()), (409, "Conflict"));
    assert_eq!(
        api_code(deployments.get("nope").await.unwrap_err()),
        (404, "NotFound".into())
    );
    let mut created = stale.clone();
    created.metadata.resource_version = None;
    assert_eq!(
        api_code(
            deployments
                .create(&PostParams::default(), &created)
                .await
                .unwrap_err()
        ),
        (409, "AlreadyExists".into())
    );
    let mut invalid = fresh.clone();
    invalid.metadata.resource_version = None;
    invalid.spec.as_mut().unwrap().replicas = Some(-1);
    assert_eq!(
        api_code(
            deployments
                .replace("backend", &PostParams::default(), &invalid)
                .await
                .unwrap_err()
        )
        .0,
        422
    );
}

#[tokio::test]
async fn a_not_ready_node_makes_its_pods_unready_then_they_move() {
    let (sim, client) = start().await;
    let pods = Api::<Pod>::namespaced(client.clone(), "shop");
    let node = "ip-10-0-1-11.eu-west-1.compute.internal";
    let on_node = |ps: &[Pod]| {
        ps.iter()
            .filter(|p| p.spec.as_ref().unwrap().node_name.as_deref() == Some(node))
            .cloned()
            .collect::<Vec<_>>()
    };
    let before = on_node(&pods.list(&ListParams::default()).await.unwrap().items);
    assert!(!before.is_empty());
    sim.inject(
        FaultKind::NodeNotReady,
        FaultTarget {
            node: Some(node.into()),
            ..Default::default()
        },
    );
    sim.advance(Duration::from_secs(5));
    let n = Api::<Node>::all(client.clone()).get(node).await.unwrap();
    let cond = n
        .status
        .unwrap()
        .conditions
        .unwrap()
        .into_iter()
        .find(|c| c.type_ == "Ready")
        .unwrap();
    assert_eq!(cond.status, "Unknown");
    let now = on_node(&pods.list(&ListParams::default()).await.unwrap().items);
    assert!(
        !now.is_empty() && now.iter().all(|p| !ready(p)),
        "pods on the node went unready"
    );
    // After the eviction grace period they are gone and replaced on the other nodes.
    sim.advance(Duration::from_secs(90));
    let all = pods.list(&ListParams::default()).await.unwrap().items;
    assert!(on_node(&all).is_empty());
    assert!(
        pods_of(&client, "backend")
            .await
            .iter()
            .filter(|p| ready(p))
            .count()
            == 3
    );
}

#[tokio::test]
async fn dry_run_changes_nothing() {
    let (_sim, client) = start().await;
    let deployments = Api::<Deployment>::namespaced(client.clone(), "shop");
    let pods = Api::<Pod>::namespaced(client.clone(), "shop");
    let rv = deployments
        .get("backend")
        .await
        .unwrap()
        .metadata
        .resource_version;
    let out = deployments
        .patch_scale(
            "backend",
            &PatchParams::default().dry_run(),
            &Patch::Merge(json!({"spec": {"replicas": 7}})),
        )
        .await
        .unwrap();
    assert_eq!(
        out.spec.unwrap().replicas,
        Some(7),
        "the answer shows what would happen"
    );
    let patch = json!({"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "x"}}}}});
    deployments
        .patch(
            "backend",
            &PatchParams::default().dry_run(),
            &Patch::Strategic(patch),
        )
        .await
        .unwrap();
    let name = pods_of(&client, "backend").await[0]
        .metadata
        .name
        .clone()
        .unwrap();
    pods.delete(&name, &DeleteParams::default().dry_run())
        .await
        .unwrap();
    let mut ep = EvictParams::default();
    ep.post_options.dry_run = true;
    pods.evict(&name, &ep).await.unwrap();
    let after = deployments.get("backend").await.unwrap();
    assert_eq!(after.metadata.resource_version, rv, "nothing was persisted");
    assert_eq!(
        deployments
            .get_scale("backend")
            .await
            .unwrap()
            .spec
            .unwrap()
            .replicas,
        Some(3)
    );
    assert!(pods.get(&name).await.is_ok());
}

#[tokio::test]
async fn scale_goes_through_the_scale_subresource() {
    let (sim, client) = start().await;
    let deployments = Api::<Deployment>::namespaced(client.clone(), "shop");
    let scale = deployments.get_scale("frontend").await.unwrap();
    assert_eq!(
        scale.status.unwrap().selector.as_deref(),
        Some("app=frontend")
    );
    deployments
        .patch_scale(
            "frontend",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 5}})),
        )
        .await
        .unwrap();
    sim.advance(Duration::from_secs(10));
    assert_eq!(
        pods_of(&client, "frontend")
            .await
            .iter()
            .filter(|p| ready(p))
            .count(),
        5
    );
}

#[tokio::test]
async fn a_crashloop_shows_in_status_events_and_the_previous_log() {
    let (sim, client) = start().await;
    sim.world().add_fault(Fault::new(
        FaultKind::Crashloop {
            exit_code: 2,
            log: vec!["panic: runtime error: invalid memory address".into()],
            until_restart: true,
        },
        FaultTarget {
            namespace: Some("shop".into()),
            deployment: Some("backend".into()),
            node: None,
        },
    ));
    sim.advance(Duration::from_secs(30));
    let pod = pods_of(&client, "backend").await.remove(0);
    let name = pod.metadata.name.clone().unwrap();
    let cs = &pod.status.unwrap().container_statuses.unwrap()[0];
    assert!(cs.restart_count >= 1);
    assert_eq!(
        cs.last_state
            .as_ref()
            .unwrap()
            .terminated
            .as_ref()
            .unwrap()
            .exit_code,
        2
    );
    let pods = Api::<Pod>::namespaced(client.clone(), "shop");
    let previous = pods
        .logs(
            &name,
            &LogParams {
                previous: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(previous.contains("panic: runtime error"), "{previous}");
    let events = Api::<Event>::namespaced(client.clone(), "shop")
        .list(&ListParams::default().fields(&format!("involvedObject.name={name}")))
        .await
        .unwrap();
    assert!(
        events
            .items
            .iter()
            .any(|e| e.reason.as_deref() == Some("BackOff"))
    );
    // A restart heals it: the new pods were created after the fault.
    Api::<Deployment>::namespaced(client.clone(), "shop")
        .restart("backend")
        .await
        .unwrap();
    sim.advance(Duration::from_secs(90));
    let pods = pods_of(&client, "backend").await;
    assert!(pods.iter().all(|p| {
        ready(p)
            && p.status
                .as_ref()
                .unwrap()
                .container_statuses
                .as_ref()
                .unwrap()[0]
                .restart_count
                == 0
    }));
}

#[tokio::test]
async fn a_watch_streams_the_changes() {
    let (_sim, client) = start().await;
    let deployments = Api::<Deployment>::namespaced(client.clone(), "shop");
    let rv = deployments
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    let mut stream = deployments
        .watch(
            &WatchParams::default()
                .fields("metadata.name=database")
                .timeout(10),
            &rv,
        )
        .await
        .unwrap()
        .boxed();
    deployments
        .patch(
            "database",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"watched": "yes"}}})),
        )
        .await
        .unwrap();
    let event = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    match event {
        WatchEvent::Modified(d) => assert_eq!(d.metadata.labels.unwrap()["watched"], "yes"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_injected_api_fault_answers_409_once() {
    let (_sim, client) = start().await;
    let body = json!({"kind": "api", "path": "/apis/apps/v1/namespaces/shop/deployments/backend", "method": "PATCH", "status": 409, "count": 1});
    let http = reqwest_free_post(&client, "/sim/faults", &body).await;
    assert_eq!(http, 201);
    let deployments = Api::<Deployment>::namespaced(client.clone(), "shop");
    let p = Patch::Merge(json!({"metadata": {"labels": {"x": "y"}}}));
    assert_eq!(
        api_code(
            deployments
                .patch("backend", &PatchParams::default(), &p)
                .await
                .unwrap_err()
        )
        .0,
        409
    );
    deployments
        .patch("backend", &PatchParams::default(), &p)
        .await
        .unwrap();
}

/// POSTs JSON through the kube client's own HTTP stack (no second client needed).
async fn reqwest_free_post(client: &Client, path: &str, body: &serde_json::Value) -> u16 {
    let req = http::Request::post(path)
        .header("content-type", "application/json")
        .body(serde_json::to_vec(body).unwrap())
        .unwrap();
    let resp = client
        .send(req.map(kube::client::Body::from))
        .await
        .unwrap();
    resp.status().as_u16()
}

async fn inject(sim: &Sim, kind: FaultKind, deployment: &str) {
    let target = FaultTarget {
        namespace: Some("shop".into()),
        deployment: Some(deployment.into()),
        node: None,
    };
    sim.inject(kind, target);
}

fn container_status(p: &Pod) -> k8s_openapi::api::core::v1::ContainerStatus {
    p.status
        .as_ref()
        .unwrap()
        .container_statuses
        .as_ref()
        .unwrap()[0]
        .clone()
}

#[tokio::test]
async fn oom_kills_show_exit_137_and_the_reason() {
    let (sim, client) = start().await;
    inject(
        &sim,
        FaultKind::OomKilled {
            until_restart: false,
            container: None,
        },
        "backend",
    )
    .await;
    sim.advance(Duration::from_secs(20));
    let cs = container_status(&pods_of(&client, "backend").await[0]);
    let last = cs.last_state.unwrap().terminated.unwrap();
    assert_eq!(
        (last.exit_code, last.reason.as_deref()),
        (137, Some("OOMKilled"))
    );
}

#[tokio::test]
async fn a_bad_image_reference_is_image_pull_back_off_for_new_pods() {
    let (sim, client) = start().await;
    inject(&sim, FaultKind::ImagePull, "frontend").await;
    Api::<Deployment>::namespaced(client.clone(), "shop")
        .restart("frontend")
        .await
        .unwrap();
    sim.advance(Duration::from_secs(10));
    let pods = pods_of(&client, "frontend").await;
    let waiting: Vec<String> = pods
        .iter()
        .filter_map(|p| container_status(p).state?.waiting?.reason)
        .collect();
    assert!(
        waiting.iter().any(|r| r == "ImagePullBackOff"),
        "{waiting:?}"
    );
    assert!(
        pods.iter().filter(|p| ready(p)).count() >= 2,
        "old pods keep serving (maxUnavailable)"
    );
}

#[tokio::test]
async fn a_dependency_down_shows_connection_refused_in_the_logs_and_5xx_in_metrics() {
    let (sim, client) = start().await;
    inject(
        &sim,
        FaultKind::DependencyDown {
            dependency: "database:5432".into(),
        },
        "backend",
    )
    .await;
    sim.advance(Duration::from_secs(30));
    let name = pods_of(&client, "backend").await[0]
        .metadata
        .name
        .clone()
        .unwrap();
    let log = Api::<Pod>::namespaced(client.clone(), "shop")
        .logs(
            &name,
            &LogParams {
                tail_lines: Some(5),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(
        log.contains("dial tcp database:5432: connect: connection refused"),
        "{log}"
    );
    let metrics = selfheal_kube_sim::metrics::render(&sim.world());
    let errors = metrics
        .lines()
        .find(|l| {
            l.starts_with("http_requests_total") && l.contains(&name) && l.contains("code=\"503\"")
        })
        .unwrap();
    let count: f64 = errors.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(count >= 250.0, "{errors}");
}

#[tokio::test]
async fn two_budgets_on_one_pod_are_a_500_as_the_api_server_answers() {
    let (_sim, client) = start().await;
    let pdbs = Api::<PodDisruptionBudget>::namespaced(client.clone(), "shop");
    let second: PodDisruptionBudget =
        serde_json::from_value(json!({"metadata": {"name": "frontend-extra"},
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "frontend"}}}}))
        .unwrap();
    pdbs.create(&PostParams::default(), &second).await.unwrap();
    let name = pods_of(&client, "frontend").await[0]
        .metadata
        .name
        .clone()
        .unwrap();
    let err = Api::<Pod>::namespaced(client.clone(), "shop")
        .evict(&name, &EvictParams::default())
        .await
        .unwrap_err();
    assert_eq!(api_code(err).0, 500);
}

#[tokio::test]
async fn scaling_down_records_killing_events() {
    let (sim, client) = start().await;
    Api::<Deployment>::namespaced(client.clone(), "shop")
        .patch_scale(
            "frontend",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 1}})),
        )
        .await
        .unwrap();
    sim.advance(Duration::from_secs(2));
    let events = Api::<Event>::namespaced(client.clone(), "shop")
        .list(&ListParams::default())
        .await
        .unwrap();
    assert_eq!(
        events
            .items
            .iter()
            .filter(|e| e.reason.as_deref() == Some("Killing")
                && e.involved_object
                    .name
                    .as_deref()
                    .is_some_and(|n| n.starts_with("frontend-")))
            .count(),
        2
    );
}
