//! State transitions per second, and the executor's own overhead for a 10-state execution with
//! in-process tasks. Run with `scripts/bench` (or `cargo bench -p selfheal-states`).

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use selfheal_states::{Clock, Definition, Executor, InProcess};
use serde_json::{Value, json};

/// A chain of `n` Pass states, each doing input and output processing.
fn chain(n: usize) -> Definition {
    let mut states = serde_json::Map::new();
    for i in 0..n {
        let mut s = json!({"Type": "Pass", "Parameters": {"incident.$": "$.incident", "step": i}, "ResultPath": "$.last"});
        if i + 1 < n {
            s["Next"] = json!(format!("S{}", i + 1));
        } else {
            s["End"] = json!(true);
        }
        states.insert(format!("S{i}"), s);
    }
    Definition::parse(&json!({"StartAt": "S0", "States": states}).to_string()).expect("valid")
}

/// Ten states shaped like a remediation: audit, decide, a Map over two steps (remediate, wait 0,
/// health check), analyze, close, notify.
fn remediation_like() -> Definition {
    let task = |f: &str, next: Option<&str>| {
        let mut t = json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": f, "Payload.$": "$"}, "ResultSelector": {"r.$": "$.Payload"},
            "ResultPath": format!("$.{}", f.replace('-', "_")),
            "Retry": [{"ErrorEquals": ["Retryable"], "MaxAttempts": 2}]});
        match next {
            Some(n) => t["Next"] = json!(n),
            None => t["End"] = json!(true),
        }
        t
    };
    let def = json!({"StartAt": "RecordOpened", "States": {
        "RecordOpened": task("audit", Some("Decide")),
        "Decide": {"Type": "Choice", "Choices": [{"Variable": "$.mode", "StringEquals": "dry-run", "Next": "Steps"}], "Default": "Steps"},
        "Steps": {"Type": "Map", "ItemsPath": "$.steps", "MaxConcurrency": 1, "ResultPath": "$.results",
            "ItemSelector": {"step.$": "$$.Map.Item.Value", "id.$": "$.id"},
            "ItemProcessor": {"StartAt": "Remediate", "States": {
                "Remediate": task("remediate", Some("Settle")),
                "Settle": {"Type": "Wait", "Seconds": 0, "Next": "HealthCheck"},
                "HealthCheck": task("health-check", None)}},
            "Next": "Analyze"},
        "Analyze": task("analyzer", Some("RecordClosed")),
        "RecordClosed": task("audit", Some("Notify")),
        "Notify": task("notify", None)}});
    Definition::parse(&def.to_string()).expect("valid")
}

/// An inline Map whose every item runs four Pass states (the shape that was quadratic).
fn map_of_four_states() -> Definition {
    let pass = |next: Option<&str>| match next {
        Some(n) => {
            json!({"Type": "Pass", "Parameters": {"item.$": "$.item", "seen": true}, "Next": n})
        }
        None => json!({"Type": "Pass", "End": true}),
    };
    let def = json!({"StartAt": "Each", "States": {"Each": {"Type": "Map", "ItemsPath": "$.items",
        "ItemSelector": {"item.$": "$$.Map.Item.Value"},
        "ItemProcessor": {"StartAt": "A", "States": {
            "A": pass(Some("B")), "B": pass(Some("C")), "C": pass(Some("D")), "D": pass(None)}},
        "End": true}}});
    Definition::parse(&def.to_string()).expect("valid")
}

fn handlers() -> InProcess {
    InProcess::new().with_fallback(|_payload: Value| async { Ok(json!({"ok": true})) })
}

fn executor(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let input =
        json!({"incident": {"id": "inc-1", "target": {"kind": "Deployment", "name": "backend"}}});

    let def = chain(100);
    let exec = Executor::new(Arc::new(handlers()), Clock::virtual_at(chrono::Utc::now()));
    let mut group = c.benchmark_group("transitions");
    group.throughput(Throughput::Elements(100));
    group.bench_function("pass_chain_100", |b| {
        b.iter(|| rt.block_on(exec.execute(&def, "bench", "inc-1", black_box(input.clone()))))
    });
    group.finish();

    let def = remediation_like();
    let input = json!({"id": "inc-1", "mode": "enforce", "steps": [{"action": "restart-pods"}, {"action": "health-check"}]});
    let mut group = c.benchmark_group("execution");
    group.throughput(Throughput::Elements(1));
    group.bench_function("remediation_like_10_states_in_process_tasks", |b| {
        b.iter(|| rt.block_on(exec.execute(&def, "bench", "inc-1", black_box(input.clone()))))
    });
    group.finish();

    // Items per second must not fall as the Map grows: its cost is linear in its items.
    let def = map_of_four_states();
    let mut group = c.benchmark_group("map");
    group.sample_size(10);
    for n in [1_000u64, 4_000] {
        let input = json!({"items": (0..n).map(|i| json!({"n": i})).collect::<Vec<_>>()});
        group.throughput(Throughput::Elements(n));
        group.bench_function(format!("items_{n}_four_pass_states"), |b| {
            b.iter(|| rt.block_on(exec.execute(&def, "bench", "inc-1", black_box(input.clone()))))
        });
    }
    group.finish();
}

criterion_group!(benches, executor);
criterion_main!(benches);
