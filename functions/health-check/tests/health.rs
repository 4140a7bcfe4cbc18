//! Health checks against kube-sim over HTTP, and the SLI against a real Prometheus (Debian's
//! prometheus package) scraping kube-sim's /metrics.

#![allow(clippy::unwrap_used)] // a panic is the failure report

use std::time::Duration;

use chrono::Utc;
use k8s_openapi::api::core::v1::Node;
use kube::Client;
use kube::api::{Api, Patch, PatchParams};
use selfheal_core::remediation::{Health, HealthCheckRequest, HealthCheckRequestSchema};
use selfheal_core::runbook::SliCheck;
use selfheal_core::{Decision, Incident, Mode, Step, Target, TargetKind};
use selfheal_health_check::HealthChecker;
use selfheal_kube_sim::{FaultKind, FaultTarget, Sim};
use serde_json::json;

async fn start(speed: f64) -> (Sim, Client, String) {
    let cluster = selfheal_testkit::three_tier(Utc::now(), speed).await;
    let addr = cluster.url.trim_start_matches("http://").to_owned();
    (cluster.sim, cluster.client, addr)
}

/// A runbook that restarts, then checks health with `sli` (step 1).
fn runbook(sli: Option<SliCheck>) -> selfheal_core::Runbook {
    let mut runbook: selfheal_core::Runbook = serde_json::from_value(json!({
        "id": "test", "description": "test", "match": ["alertname=\"X\""], "risk": "low", "max_attempts": 1, "cooldown": "1m",
        "steps": [{"action": "restart-pods"}, {"action": "health-check", "timeout": "1m"}]})).unwrap();
    runbook.steps[1] = Step::HealthCheck {
        timeout: "1m".parse().unwrap(),
        sli,
    };
    runbook
}

/// A checker built with a catalog that ships [`runbook`]`(sli)`, as a deployment of it would be.
fn checker(client: Client, prometheus: Option<String>, sli: Option<SliCheck>) -> HealthChecker {
    let catalog = selfheal_core::embedded::catalog()
        .unwrap()
        .replacing(runbook(sli))
        .unwrap();
    HealthChecker::new(client, prometheus, std::sync::Arc::new(catalog))
}

/// An incident on `target` whose runbook's step 1 is a health check with `sli`.
fn incident(target: Target, sli: Option<SliCheck>) -> Incident {
    let runbook = runbook(sli);
    let alert = serde_json::from_value(
        json!({"status": "firing", "labels": {}, "startsAt": Utc::now().to_rfc3339()}),
    )
    .unwrap();
    Incident {
        schema: Default::default(),
        id: selfheal_core::IncidentId::derive("f", Utc::now()),
        alert,
        target,
        workflow: selfheal_core::Workflow::plan(&runbook),
        runbook,
        mode: Mode::Enforce,
        decision: Decision::Run,
        reasons: vec![],
        received_at: Utc::now(),
    }
}

fn deployment(name: &str) -> Target {
    Target {
        cluster: "selfheal-dev".into(),
        namespace: Some("shop".into()),
        kind: TargetKind::Deployment,
        name: name.into(),
        owner: None,
    }
}

fn request(incident: Incident, since: chrono::DateTime<Utc>) -> HealthCheckRequest {
    HealthCheckRequest {
        schema: HealthCheckRequestSchema,
        incident,
        step: 1,
        since,
    }
}

#[tokio::test]
async fn a_settled_deployment_is_healthy_with_its_evidence() {
    let (sim, client, _) = start(0.0).await;
    let since = sim.world().now;
    let result = checker(client, None, None)
        .check(&request(incident(deployment("backend"), None), since))
        .await;
    assert_eq!(result.health, Health::Healthy, "{:#?}", result.checks);
    let names: Vec<&str> = result.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["rollout", "pods-ready", "restarts"]);
    assert!(
        result.checks[0]
            .detail
            .contains("desired 3, updated 3, ready 3"),
        "{}",
        result.checks[0].detail
    );
}

#[tokio::test]
async fn a_crashloop_is_unhealthy_never_an_error() {
    let (sim, client, _) = start(0.0).await;
    let since = sim.world().now;
    sim.inject(
        FaultKind::Crashloop {
            exit_code: 3,
            log: vec![],
            until_restart: false,
        },
        FaultTarget {
            namespace: Some("shop".into()),
            deployment: Some("backend".into()),
            node: None,
        },
    );
    sim.advance(Duration::from_secs(30));
    let result = checker(client, None, None)
        .check(&request(incident(deployment("backend"), None), since))
        .await;
    assert_eq!(result.health, Health::Unhealthy);
    let restarts = result.checks.iter().find(|c| c.name == "restarts").unwrap();
    assert_eq!(restarts.health, Health::Unhealthy);
    assert!(restarts.detail.contains("(exit 3)"), "{}", restarts.detail);
}

#[tokio::test]
async fn a_bad_rollout_fails_the_rollout_check() {
    let (sim, client, _) = start(0.0).await;
    let since = sim.world().now;
    sim.inject(
        FaultKind::BadImage {
            image: "ghcr.io/selfheal/backend:2.1.0".into(),
        },
        FaultTarget::default(),
    );
    sim.advance(Duration::from_secs(10));
    let result = checker(client, None, None)
        .check(&request(incident(deployment("backend"), None), since))
        .await;
    let rollout = &result.checks[0];
    assert_eq!(
        (rollout.name.as_str(), rollout.health),
        ("rollout", Health::Unhealthy),
        "{}",
        rollout.detail
    );
}

#[tokio::test]
async fn a_not_ready_node_is_healthy_once_cordoned_and_drained() {
    let (sim, client, _) = start(0.0).await;
    let node = "ip-10-0-2-12.eu-west-1.compute.internal";
    sim.inject(
        FaultKind::NodeNotReady,
        FaultTarget {
            node: Some(node.into()),
            ..Default::default()
        },
    );
    sim.advance(Duration::from_secs(5));
    let target = Target {
        cluster: "selfheal-dev".into(),
        namespace: None,
        kind: TargetKind::Node,
        name: node.into(),
        owner: None,
    };
    let checker = checker(client.clone(), None, None);
    let since = sim.world().now;
    assert_eq!(
        checker
            .check(&request(incident(target.clone(), None), since))
            .await
            .health,
        Health::Unhealthy
    );
    Api::<Node>::all(client.clone())
        .patch(
            node,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"unschedulable": true}})),
        )
        .await
        .unwrap();
    sim.advance(Duration::from_secs(90));
    let result = checker.check(&request(incident(target, None), since)).await;
    assert_eq!(result.health, Health::Healthy, "{:#?}", result.checks);
}

#[tokio::test]
async fn an_sli_without_prometheus_is_unknown() {
    let (sim, client, _) = start(0.0).await;
    let since = sim.world().now;
    let sli = SliCheck {
        query: "up".into(),
        below: 1.0,
    };
    let result = checker(client, None, Some(sli.clone()))
        .check(&request(incident(deployment("backend"), Some(sli)), since))
        .await;
    assert_eq!(result.health, Health::Unknown);
}

/// A real Prometheus scraping `target` every second, once it is ready.
async fn prometheus(target: &str) -> (selfheal_testkit::Server, String) {
    let config = format!(
        "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\nscrape_configs:\n  - job_name: kube-sim\n    static_configs: [{{targets: ['{target}']}}]\n"
    );
    let server = selfheal_testkit::prometheus(&config).await;
    let url = server.url.clone();
    for _ in 0..100 {
        if reqwest::get(format!("{url}/-/ready"))
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (server, url)
}

#[tokio::test]
async fn the_sli_is_queried_from_a_real_prometheus() {
    let (sim, client, addr) = start(5.0).await;
    let (_prom, url) = prometheus(&addr).await;
    let query = "sum(rate(http_requests_total{namespace=\"$namespace\",service=\"$name\",code=~\"5..\"}[5s])) / sum(rate(http_requests_total{namespace=\"$namespace\",service=\"$name\"}[5s]))";
    let sli = SliCheck {
        query: query.into(),
        below: 0.01,
    };
    let checker = checker(client, Some(url), Some(sli.clone()));
    sim.inject(
        FaultKind::DependencyDown {
            dependency: "database:5432".into(),
        },
        FaultTarget {
            namespace: Some("shop".into()),
            deployment: Some("backend".into()),
            node: None,
        },
    );
    let since = sim.world().now;
    // Wait for enough scrapes for a rate over 5 s.
    let mut result = None;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let r = checker
            .check(&request(
                incident(deployment("backend"), Some(sli.clone())),
                since,
            ))
            .await;
        if r.checks.last().is_some_and(|c| c.health != Health::Unknown) {
            result = Some(r);
            break;
        }
    }
    let result = result.expect("Prometheus never had data");
    let sli_check = result.checks.last().unwrap();
    assert_eq!(sli_check.health, Health::Unhealthy, "{}", sli_check.detail);
    assert!(
        sli_check.detail.contains("= 1 (healthy below 0.01)"),
        "{}",
        sli_check.detail
    );
}

#[tokio::test]
async fn a_runbook_the_function_was_not_built_with_is_never_healthy() {
    let (sim, client, _) = start(0.0).await;
    sim.advance(Duration::from_secs(60));
    let since = sim.world().now;
    // A settled, healthy deployment, but the incident's runbook is not the catalog's: its health
    // step (an SLI that always passes, say) decides nothing.
    let forged = incident(
        deployment("backend"),
        Some(SliCheck {
            query: "vector(0)".into(),
            below: 1.0,
        }),
    );
    let catalog = std::sync::Arc::new(selfheal_core::embedded::catalog().unwrap());
    let only_the_catalog = HealthChecker::new(client, None, catalog);
    let result = only_the_catalog.check(&request(forged, since)).await;
    assert_eq!(result.health, Health::Unhealthy);
    assert_eq!(result.checks.len(), 1);
    assert_eq!(result.checks[0].name, "runbook");
}
