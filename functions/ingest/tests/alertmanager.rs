//! A real Alertmanager (Debian's prometheus-alertmanager) posting to the local gateway, which
//! runs the ingest against moto: alerts posted to Alertmanager become one incident each, its
//! repeated group deliveries make no second one, and resolving them marks the incidents resolved.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use chrono::{TimeDelta, Utc};
use selfheal_ingest::gateway;
use serde_json::{Value, json};

use common::*;

/// Alertmanager's count of webhook notifications that reached the gateway.
async fn notifications(alertmanager: &str) -> f64 {
    let text = reqwest::get(format!("{alertmanager}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| l.starts_with("alertmanager_notifications_total{") && l.contains("webhook"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Waits for `check` to hold (testkit's wait, for a yes-or-no probe).
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    selfheal_testkit::eventually_async(what, || {
        let done = check();
        async move { done.await.then_some(()) }
    })
    .await
}

#[tokio::test]
async fn alertmanager_deliveries_become_one_incident_each_and_resolve() {
    let env = Env::new().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gateway_url = format!("http://{}/alerts", listener.local_addr().unwrap());
    let server = tokio::spawn(gateway::serve(listener, Arc::new(env.ingest())));

    let config = format!(
        r#"
route:
  receiver: selfheal
  group_by: [alertname, namespace]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 2s
receivers:
  - name: selfheal
    webhook_configs:
      - url: {gateway_url}
        send_resolved: true
        http_config:
          authorization: {{type: Bearer, credentials: {TOKEN}}}
"#
    );
    let am = selfheal_testkit::alertmanager(&config).await;
    let api = format!("{}/api/v2/alerts", am.url);
    let started = Utc::now() - TimeDelta::minutes(1);
    let alerts = |ends: Option<chrono::DateTime<Utc>>| -> Value {
        let alert = |pod: &str| {
            let mut a = json!({
                "labels": {"alertname": "KubePodCrashLooping", "severity": "warning",
                           "namespace": "shop", "pod": pod, "cluster": "selfheal-dev"},
                "annotations": {"summary": format!("{pod} is crash looping")},
                "startsAt": started.to_rfc3339(),
                "generatorURL": "http://prometheus.local/graph",
            });
            if let Some(t) = ends {
                a["endsAt"] = json!(t.to_rfc3339());
            }
            a
        };
        json!([
            alert("backend-7d9f8c6b5-x2k4q"),
            alert("frontend-5c6d7f8b9-q8w7e")
        ])
    };
    let http = reqwest::Client::new();
    let posted = http.post(&api).json(&alerts(None)).send().await.unwrap();
    assert!(posted.status().is_success(), "{}", posted.status());

    eventually("two executions", || async {
        env.executions().await.len() == 2
    })
    .await;
    let executions = env.executions().await;
    for (name, input) in &executions {
        assert_eq!(input["id"], name.as_str());
        assert_eq!(input["runbook"]["id"], "restart-pods");
        let item = env.item(name).await.unwrap();
        assert_eq!(item["status"].as_s().unwrap(), "accepted");
    }

    // Alertmanager re-sends the unchanged group every repeat_interval: no second incident.
    let first = notifications(&am.url).await;
    eventually("three more deliveries", || async {
        notifications(&am.url).await >= first + 3.0
    })
    .await;
    assert_eq!(env.executions().await.len(), 2);

    // Resolve both: Alertmanager sends the resolved group; the incidents are marked.
    let resolved = http
        .post(&api)
        .json(&alerts(Some(Utc::now() - TimeDelta::seconds(1))))
        .send()
        .await
        .unwrap();
    assert!(resolved.status().is_success());
    for (name, _) in &executions {
        eventually("resolved_at", || async {
            env.item(name)
                .await
                .is_some_and(|item| item.contains_key("resolved_at"))
        })
        .await;
    }
    assert_eq!(env.executions().await.len(), 2);
    server.abort();
}
