//! Parse + validate + match + decide, per alert: the ingest's whole pure path.
//! Run with `scripts/bench` (or `cargo bench -p selfheal-core`).

use std::hint::black_box;
use std::path::Path;

use chrono::Utc;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use selfheal_core::alert::{Door, Limits, parse_webhook};
use selfheal_core::{Catalog, GuardrailState, Policy, assess};

fn repo(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

fn catalog() -> Catalog {
    let files = std::fs::read_dir(repo("statemachines/runbooks"))
        .expect("runbooks")
        .map(|e| e.expect("entry").path())
        .map(|p| {
            (
                p.display().to_string(),
                std::fs::read_to_string(&p).expect("runbook"),
            )
        });
    Catalog::parse(files).expect("catalog")
}

/// A notification of `n` crashlooping pods, built from the captured fixture.
fn payload(n: usize) -> Vec<u8> {
    let text = std::fs::read_to_string(repo(
        "functions/ingest/fixtures/alertmanager-crashloop-firing.json",
    ))
    .expect("fixture");
    let mut json: serde_json::Value = serde_json::from_str(&text).expect("json");
    let template = json["alerts"][0].clone();
    json["alerts"] = (0..n)
        .map(|i| {
            let mut a = template.clone();
            a["labels"]["pod"] = format!("backend-7d9f8c6b5-{i:05}").into();
            a["fingerprint"] = format!("{i:016x}").into();
            a
        })
        .collect();
    serde_json::to_vec(&json).expect("encode")
}

fn triage(c: &mut Criterion) {
    let catalog = catalog();
    let policy = Policy::from_yaml(
        &std::fs::read_to_string(repo("statemachines/policy.yaml")).expect("policy"),
    )
    .expect("policy");
    let now = Utc::now();
    let mut group = c.benchmark_group("triage");
    for n in [1usize, 100] {
        let body = payload(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(format!("{n}_alerts_per_payload"), |b| {
            b.iter(|| {
                let p = parse_webhook(black_box(&body), &Limits::default(), Door::Webhook)
                    .expect("valid");
                for alert in &p.alerts {
                    black_box(assess(
                        alert,
                        &catalog,
                        &policy,
                        |_| GuardrailState::default(),
                        now,
                    ));
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, triage);
criterion_main!(benches);
