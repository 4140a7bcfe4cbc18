//! The whole ingest handler in-process, with the local adapters (memory store and starter): an
//! authenticated API Gateway v2 event in, claims, triage, reservations, starts and the 202 out.
//! Every iteration delivers new alert episodes on new pods, so each alert is accepted (not a
//! duplicate) and no cooldown refuses it. Run with `scripts/bench`.

use std::hint::black_box;

use chrono::{TimeDelta, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use http::HeaderMap;
use selfheal_aws::memory::{MemoryStarter, MemoryStore, StaticSecret};
use selfheal_core::Policy;
use selfheal_core::embedded;
use selfheal_ingest::{Ingest, gateway};
use serde_json::json;

fn payload(batch: u64, n: u64) -> Vec<u8> {
    let start = chrono::DateTime::UNIX_EPOCH + TimeDelta::seconds(batch as i64);
    let alerts: Vec<_> = (0..n)
        .map(|i| {
            json!({
                "status": "firing",
                "labels": {"alertname": "KubePodCrashLooping", "severity": "warning",
                           "namespace": "shop", "pod": format!("backend{batch}x{i}")},
                "annotations": {"summary": "crash looping"},
                "startsAt": start.to_rfc3339(), "endsAt": "0001-01-01T00:00:00Z",
            })
        })
        .collect();
    json!({"version": "4", "status": "firing", "receiver": "selfheal", "alerts": alerts})
        .to_string()
        .into_bytes()
}

fn handler(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let policy = Policy {
        hourly_action_budget: u32::MAX,
        namespace_hourly_action_budget: u32::MAX,
        ..embedded::policy().expect("policy")
    };
    let ingest = Ingest::new(
        MemoryStore::new(),
        MemoryStarter::new(),
        StaticSecret("bench-token".into()),
        embedded::catalog().expect("catalog"),
        policy,
    );
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::AUTHORIZATION,
        "Bearer bench-token".parse().expect("header"),
    );
    let mut group = c.benchmark_group("ingest");
    for n in [1u64, 100] {
        group.throughput(Throughput::Elements(n));
        let mut batch = 0u64;
        group.bench_function(format!("{n}-alert notification"), |b| {
            b.iter_batched(
                || {
                    batch += 1;
                    serde_json::to_value(gateway::event(headers.clone(), &payload(batch, n)))
                        .expect("event")
                },
                |event| {
                    let out = rt
                        .block_on(ingest.invoke(event, Utc::now()))
                        .expect("handled");
                    assert_eq!(out["statusCode"], 202);
                    black_box(out)
                },
                criterion::BatchSize::SmallInput,
            );
        });
    }
    group.finish();
}

criterion_group!(benches, handler);
criterion_main!(benches);
