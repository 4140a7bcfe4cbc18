//! Evidence gathered from kube-sim over HTTP through the real kube client, for faults injected
//! into the three-tier scenario, then redacted and analysed: the cause each fault produces is
//! the one named. Loki's query_range is served by a stub (Grafana Loki is not installable here).
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use chrono::Utc;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Client;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use selfheal_analyzer::gather::Gatherer;
use selfheal_analyzer::rules::{Cause, analyze};
use selfheal_core::redact::{Options, Redactor};
use selfheal_core::{Incident, Target, TargetKind};
use selfheal_kube_sim::{FaultKind, FaultTarget, Sim};
use serde_json::json;

/// The three-tier scenario served at `speed` (0: tests advance time), and its URL.
async fn serve(speed: f64) -> (Sim, Client, String) {
    let cluster = selfheal_testkit::three_tier(Utc::now(), speed).await;
    (cluster.sim, cluster.client, cluster.url)
}

/// The scenario in test time, settled: every pod running and ready.
async fn start() -> (Sim, Client) {
    let (sim, client, _) = serve(0.0).await;
    sim.advance(Duration::from_secs(60));
    (sim, client)
}

/// A new revision of backend with `image`.
async fn roll_out(client: &Client, image: &str) {
    let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "backend", "image": image}]}}}});
    Api::<Deployment>::namespaced(client.clone(), "shop")
        .patch("backend", &PatchParams::default(), &Patch::Strategic(patch))
        .await
        .unwrap();
}

/// The fixture's incident, aimed at `target`.
fn incident(kind: TargetKind, namespace: Option<&str>, name: &str) -> Incident {
    let request: serde_json::Value = serde_json::from_str(include_str!(
        "../../remediate/fixtures/restart-frontend.json"
    ))
    .unwrap();
    let mut incident: Incident = serde_json::from_value(request["incident"].clone()).unwrap();
    incident.target = Target {
        cluster: "selfheal-dev".into(),
        namespace: namespace.map(str::to_owned),
        kind,
        name: name.into(),
        owner: None,
    };
    incident
}

fn backend() -> FaultTarget {
    FaultTarget {
        namespace: Some("shop".into()),
        deployment: Some("backend".into()),
        node: None,
    }
}

async fn cause_of(client: &Client, incident: &Incident) -> (Cause, String) {
    let evidence = Gatherer::new(client.clone(), None, None)
        .gather(&incident.target, (&incident.alert).into(), Utc::now())
        .await;
    let evidence = evidence.redact(&mut Redactor::new(Options { ips: false }));
    let finding = analyze(&evidence);
    (
        finding.cause,
        format!("{}\n{:?}", finding.summary, finding.key_facts),
    )
}

#[tokio::test]
async fn faults_in_kube_sim_are_named() {
    let backend_incident = incident(TargetKind::Deployment, Some("shop"), "backend");
    let cases = [
        (
            FaultKind::Crashloop {
                exit_code: 3,
                log: vec![
                    "loading config".into(),
                    "panic: orders: nil pointer dereference".into(),
                ],
                until_restart: false,
            },
            Cause::AppCrash,
        ),
        (
            FaultKind::OomKilled {
                until_restart: false,
                container: None,
            },
            Cause::OomKilled,
        ),
        (FaultKind::ReadinessFailing, Cause::ReadinessFailing),
        (
            FaultKind::DependencyDown {
                dependency: "database:5432".into(),
            },
            Cause::DependencyDown,
        ),
    ];
    for (fault, expected) in cases {
        let (sim, client) = start().await;
        sim.inject(fault.clone(), backend());
        sim.advance(Duration::from_secs(120));
        let (cause, detail) = cause_of(&client, &backend_incident).await;
        assert_eq!(cause, expected, "{fault:?}: {detail}");
    }
}

#[tokio::test]
async fn an_image_that_cannot_be_pulled_after_a_new_revision() {
    let (sim, client) = start().await;
    sim.inject(FaultKind::ImagePull, backend());
    // A rollout creates pods, and new pods pull.
    roll_out(&client, "ghcr.io/selfheal/backend:2.2.0").await;
    sim.advance(Duration::from_secs(90));
    let (cause, detail) = cause_of(
        &client,
        &incident(TargetKind::Deployment, Some("shop"), "backend"),
    )
    .await;
    assert_eq!(cause, Cause::ImagePull, "{detail}");
}

#[tokio::test]
async fn a_new_revision_that_never_gets_ready_is_a_bad_rollout() {
    let (sim, client) = start().await;
    sim.inject(
        FaultKind::BadImage {
            image: "ghcr.io/selfheal/backend:2.2.0".into(),
        },
        backend(),
    );
    roll_out(&client, "ghcr.io/selfheal/backend:2.2.0").await;
    sim.advance(Duration::from_secs(120));
    let (cause, detail) = cause_of(
        &client,
        &incident(TargetKind::Deployment, Some("shop"), "backend"),
    )
    .await;
    assert_eq!(cause, Cause::BadRollout, "{detail}");
    assert!(
        detail.contains("2.2.0") && detail.contains("2.1.0"),
        "{detail}"
    );
}

#[tokio::test]
async fn a_node_that_stops_reporting_is_named_for_a_pod_alert() {
    let (sim, client) = start().await;
    let pods = Api::<Pod>::namespaced(client.clone(), "shop")
        .list(&ListParams::default().labels("app=backend"))
        .await
        .unwrap();
    let pod = pods.items[0].clone();
    let node = pod.spec.as_ref().unwrap().node_name.clone().unwrap();
    sim.inject(
        FaultKind::NodeNotReady,
        FaultTarget {
            node: Some(node.clone()),
            ..FaultTarget::default()
        },
    );
    sim.advance(Duration::from_secs(120));
    let name = pod.metadata.name.unwrap();
    let (cause, detail) = cause_of(&client, &incident(TargetKind::Pod, Some("shop"), &name)).await;
    assert_eq!(cause, Cause::NodeNotReady, "{detail}");
    assert!(detail.contains(&node), "{detail}");
    // The node alert itself.
    let (cause, _) = cause_of(&client, &incident(TargetKind::Node, None, &node)).await;
    assert_eq!(cause, Cause::NodeNotReady);
}

#[tokio::test]
async fn pods_no_node_can_take_are_unschedulable() {
    let (sim, client) = start().await;
    let nodes = Api::<Node>::all(client.clone());
    for n in nodes.list(&ListParams::default()).await.unwrap() {
        nodes
            .patch(
                &n.metadata.name.unwrap(),
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"unschedulable": true}})),
            )
            .await
            .unwrap();
    }
    let pods = Api::<Pod>::namespaced(client.clone(), "shop");
    let victim = pods
        .list(&ListParams::default().labels("app=backend"))
        .await
        .unwrap()
        .items[0]
        .metadata
        .name
        .clone()
        .unwrap();
    pods.delete(&victim, &DeleteParams::default())
        .await
        .unwrap();
    sim.advance(Duration::from_secs(30));
    let (cause, detail) = cause_of(
        &client,
        &incident(TargetKind::Deployment, Some("shop"), "backend"),
    )
    .await;
    assert_eq!(cause, Cause::Unschedulable, "{detail}");
}

#[tokio::test]
async fn logs_come_from_the_previous_container_and_loki() {
    use axum::extract::Query;
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};
    let (sim, client) = start().await;
    sim.inject(
        FaultKind::Crashloop {
            exit_code: 1,
            log: vec!["panic: token=s3cr3t-value-123 rejected".into()],
            until_restart: false,
        },
        backend(),
    );
    sim.advance(Duration::from_secs(120));
    // Loki's query_range, as Grafana Loki answers it.
    let seen: Arc<Mutex<Vec<HashMap<String, String>>>> = Arc::default();
    let record = seen.clone();
    let app = axum::Router::new().route(
        "/loki/api/v1/query_range",
        axum::routing::get(move |Query(q): Query<HashMap<String, String>>| {
            record.lock().unwrap().push(q);
            async {
                axum::Json(json!({"status": "success", "data": {"resultType": "streams", "result": [
                    {"stream": {"namespace": "shop", "pod": "backend-gone-abcde", "container": "backend"},
                     "values": [["1764106800000000002", "second line"], ["1764106800000000001", "first line from a deleted pod"]]}
                ]}}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let loki = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let backend_incident = incident(TargetKind::Deployment, Some("shop"), "backend");
    let evidence = Gatherer::new(client.clone(), None, Some(loki))
        .gather(
            &backend_incident.target,
            (&backend_incident.alert).into(),
            Utc::now(),
        )
        .await;
    assert!(evidence.deployment.is_some());
    assert_eq!(evidence.pods.len(), 3);
    assert!(!evidence.replicasets.is_empty());
    assert!(!evidence.nodes.is_empty());
    assert!(
        evidence
            .events
            .iter()
            .any(|e| e.reason.as_deref() == Some("BackOff"))
    );
    let previous = evidence.logs.iter().find(|l| l.previous).unwrap();
    assert!(previous.text.contains("panic: token=s3cr3t-value-123"));
    let loki = evidence
        .logs
        .iter()
        .find(|l| l.pod == "backend-gone-abcde")
        .unwrap();
    assert_eq!(loki.text, "first line from a deleted pod\nsecond line");
    let q = &seen.lock().unwrap()[0];
    assert_eq!(q["query"], "{namespace=\"shop\", pod=~\"backend-.*\"}");
    assert_eq!(q["direction"], "backward");
    // Redaction reaches the logs before anything leaves.
    let redacted = evidence.redact(&mut Redactor::new(Options::default()));
    let text = serde_json::to_string(&redacted).unwrap();
    assert!(!text.contains("s3cr3t-value-123"));
    assert!(text.contains("token=[REDACTED:secret:1]"));
}

#[tokio::test]
async fn cpu_throttling_from_a_real_prometheus_is_cpu_saturation() {
    // Sim time runs 5x the wall clock: Prometheus' rate() sees counters move.
    let (sim, client, url) = serve(5.0).await;
    let target = url.trim_start_matches("http://");
    let prometheus = selfheal_testkit::prometheus(&format!(
        "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\nscrape_configs:\n  - job_name: kube-sim\n    static_configs: [{{targets: ['{target}']}}]\n"
    ))
    .await;
    sim.inject(FaultKind::CpuSaturation, backend());
    let gatherer = Gatherer::new(client, Some(prometheus.url.clone()), None);
    let backend_incident = incident(TargetKind::Deployment, Some("shop"), "backend");
    let mut evidence = None;
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let e = gatherer
            .gather(
                &backend_incident.target,
                (&backend_incident.alert).into(),
                Utc::now(),
            )
            .await;
        if e.metrics.first().is_some_and(|m| m.value > 0.0) {
            evidence = Some(e);
            break;
        }
    }
    let evidence = evidence.expect("Prometheus never had a throttling rate");
    assert!(
        evidence.metrics[0]
            .query
            .contains("container_cpu_cfs_throttled_periods_total")
    );
    let finding = analyze(&evidence);
    assert_eq!(finding.cause, Cause::CpuSaturation, "{}", finding.summary);
    assert!(
        finding.summary.contains("throttled 60%"),
        "{}",
        finding.summary
    );
}
