//! A burst as an Alertmanager HA pair delivers it, against the ingest with the real SDK on moto
//! (DynamoDB, Step Functions, Secrets Manager): alerts in groups of up to 100, 30% of each group
//! alerts seen before, every group delivered twice at once. Exactly one incident and one
//! execution per distinct firing alert, none lost. `BURST_ALERTS` sets how many distinct alerts
//! (200 in the test suite, which moto serves at about 20 alerts/s; scripts/bench runs 10,000 and
//! reports the rate and latencies).
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::{Env, TOKEN, bearer, deliver, now};
use futures::StreamExt;
use selfheal_aws::dynamodb::DynamoStore;
use selfheal_aws::sfn::SfnStarter;
use selfheal_core::Policy;
use serde_json::{Value, json};

fn alert(i: usize) -> Value {
    json!({"status": "firing", "startsAt": "2026-11-25T21:30:00Z",
        "labels": {"alertname": "KubePodCrashLooping", "severity": "warning",
                   "namespace": format!("team-{}", i % 50), "pod": format!("web{i}")}})
}

/// Groups of up to 100 alerts; from the second group on, 30% of each are alerts seen before.
fn groups(distinct: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut next = 0;
    while next < distinct {
        let fresh = (distinct - next).min(70);
        let mut group: Vec<usize> = (next..next + fresh).collect();
        if next > 0 {
            // Repeats spread over what came before (a deterministic walk, no RNG to seed).
            group.extend((0..30).map(|k| (next * 7 + k * 13) % next));
        }
        next += fresh;
        out.push(group);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_from_an_ha_pair_makes_one_execution_per_distinct_alert() {
    let distinct: usize = std::env::var("BURST_ALERTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let env = Env::new().await;
    // Every alert is a new target; lift the budgets, which would otherwise (rightly) refuse.
    let policy = Policy {
        hourly_action_budget: u32::MAX,
        namespace_hourly_action_budget: u32::MAX,
        ..Policy::default()
    };
    let ingest = env.ingest_deciding_with(
        DynamoStore::new(&env.config, common::TABLE),
        SfnStarter::new(&env.config, &env.state_machine),
        policy,
    );
    let groups = groups(distinct);
    let bodies: Vec<Vec<u8>> = groups
        .iter()
        .map(|g| {
            let alerts: Vec<Value> = g.iter().map(|i| alert(*i)).collect();
            serde_json::to_vec(&json!({"version": "4", "status": "firing", "alerts": alerts}))
                .unwrap()
        })
        .collect();
    let started = Instant::now();
    // Both members of the pair deliver each group at the same time; a few groups in flight.
    let deliveries = bodies.iter().flat_map(|b| [b, b]).map(|body| {
        let ingest = &ingest;
        async move {
            let t = Instant::now();
            let (status, answer) = deliver(ingest, bearer(TOKEN), body, now()).await;
            (status, answer, t.elapsed())
        }
    });
    let results: Vec<(u16, Value, Duration)> = futures::stream::iter(deliveries)
        .buffer_unordered(8)
        .collect()
        .await;
    let elapsed = started.elapsed();
    let mut accepted = BTreeSet::new();
    for (status, answer, _) in &results {
        // A concurrent twin may find a claim in progress: 503, which Alertmanager retries.
        assert!(matches!(status, 202 | 503), "{status}: {answer}");
        for a in answer["alerts"].as_array().into_iter().flatten() {
            if a["outcome"] == "accepted" {
                assert!(
                    accepted.insert(a["incident_id"].as_str().unwrap().to_owned()),
                    "accepted twice: {a}"
                );
            }
        }
    }
    // The retries Alertmanager would send for any 503 complete the rest: it retries with a
    // back-off until the notification is taken (a twin may still hold the claim when the first
    // retry arrives on a loaded machine).
    for ((status, _, _), body) in results.iter().zip(bodies.iter().flat_map(|b| [b, b])) {
        if *status == 503 {
            let mut retry = deliver(&ingest, bearer(TOKEN), body, now()).await;
            for attempt in 1..10 {
                if retry.0 != 503 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100 * attempt)).await;
                retry = deliver(&ingest, bearer(TOKEN), body, now()).await;
            }
            let (status, answer) = retry;
            assert_eq!(status, 202, "{answer}");
            for a in answer["alerts"].as_array().into_iter().flatten() {
                if a["outcome"] == "accepted" {
                    assert!(accepted.insert(a["incident_id"].as_str().unwrap().to_owned()));
                }
            }
        }
    }
    assert_eq!(accepted.len(), distinct, "one incident per distinct alert");
    let mut executions = 0;
    let mut pages = env
        .sfn
        .list_executions()
        .state_machine_arn(&env.state_machine)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        executions += page.unwrap().executions().len();
    }
    assert_eq!(executions, distinct, "one execution per distinct alert");
    let mut latencies: Vec<Duration> = results.iter().map(|r| r.2).collect();
    latencies.sort();
    let pct = |p: usize| latencies[(latencies.len() * p / 100).min(latencies.len() - 1)];
    let delivered: usize = groups.iter().map(Vec::len).sum::<usize>() * 2;
    println!(
        "burst: {distinct} distinct alerts, {delivered} delivered in {} notifications, {:.0} alerts/s, p50 {:?}, p99 {:?}",
        results.len(),
        delivered as f64 / elapsed.as_secs_f64(),
        pct(50),
        pct(99)
    );
}
