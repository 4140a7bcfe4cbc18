//! What the workflow tests share: kube-sim under the lab's virtual clock with the frontend
//! crashlooping (the alert's symptom), the audit in moto (DynamoDB, S3), the incident the ingest
//! opens, stand-ins for the analyzer, and readers for the history, the cluster and the audit.
#![allow(clippy::unwrap_used, dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::DateTime;
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::Api;
use selfheal_audit::Auditor;
use selfheal_aws::audit::{AuditLog, record_key};
use selfheal_aws::dynamodb::DynamoStore;
use selfheal_aws::s3::S3Archive;
use selfheal_core::alert::{Door, Limits, parse_webhook};
use selfheal_core::{Disposition, GuardrailState, Incident, Policy, assess};
use selfheal_kube_sim::{FaultKind, FaultTarget};
use selfheal_lab::{Lab, definition};
use selfheal_states::{Definition, Execution, Executor, InProcess, InvokeError};
use selfheal_testkit::Server;
use serde_json::{Value, json};

pub const BUCKET: &str = "selfheal-records";
pub const TABLE: &str = selfheal_lab::TABLE;

pub struct Env {
    pub _moto: Server,
    pub lab: Lab,
    pub store: DynamoStore,
    pub archive: S3Archive,
    pub auditor: Arc<Auditor<DynamoStore, S3Archive>>,
    pub policy: Policy,
    /// The fault that makes the alert true (its id).
    pub symptom: String,
}

pub async fn env() -> Env {
    let moto = selfheal_testkit::moto().await;
    let config = moto.aws_config().await;
    let store = DynamoStore::new(&config, TABLE);
    store.create_table().await.unwrap();
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    )
    .create_bucket()
    .bucket(BUCKET)
    .send()
    .await
    .unwrap();
    let start = DateTime::parse_from_rfc3339("2026-11-25T21:00:00Z")
        .unwrap()
        .to_utc();
    let lab = Lab::start(&selfheal_testkit::three_tier_scenario(), start)
        .await
        .unwrap();
    // The alert's symptom: the frontend's pods crash until they are restarted. Twenty seconds
    // on, the cluster shows it.
    let symptom = lab.sim.inject(
        FaultKind::Crashloop {
            exit_code: 1,
            log: vec!["panic: stale cache".into()],
            until_restart: true,
        },
        frontend(),
    );
    lab.clock
        .drive(lab.clock.sleep(Duration::from_secs(20)))
        .await;
    lab.sync();
    let policy = Policy::default();
    let auditor = Arc::new(
        Auditor::new(
            store.clone(),
            S3Archive::new(&config, BUCKET),
            policy.clone(),
        )
        .with_metrics(lab.metrics.clone()),
    );
    Env {
        _moto: moto,
        lab,
        store,
        archive: S3Archive::new(&config, BUCKET),
        auditor,
        policy,
        symptom,
    }
}

/// The incident the ingest opens for a crashlooping frontend.
pub fn incident(env: &Env, policy: &Policy) -> Incident {
    let starts = env.lab.clock.now() - chrono::Duration::minutes(2);
    let body = json!({"version": "4", "status": "firing", "alerts": [{"status": "firing",
        "labels": {"alertname": "KubePodCrashLooping", "severity": "warning", "namespace": "shop", "deployment": "frontend"},
        "startsAt": starts.to_rfc3339(), "fingerprint": "0123456789abcdef"}]});
    let alert = parse_webhook(
        body.to_string().as_bytes(),
        &Limits::default(),
        Door::Webhook,
    )
    .unwrap()
    .alerts
    .remove(0);
    // The catalog the ingest is built with.
    let catalog = selfheal_core::embedded::catalog().unwrap();
    match assess(
        &alert,
        &catalog,
        policy,
        |_| GuardrailState::default(),
        env.lab.clock.now(),
    )
    .disposition
    {
        Disposition::Open { incident } => *incident,
        other => panic!("no incident: {other:?}"),
    }
}

/// The sample app's frontend, where the faults go.
pub fn frontend() -> FaultTarget {
    FaultTarget {
        namespace: Some("shop".into()),
        deployment: Some("frontend".into()),
        node: None,
    }
}

/// What the analyzer stand-in was asked to notify.
pub type Notes = Arc<Mutex<Vec<Value>>>;

/// An analyzer that answers (or fails), and records notifications.
pub fn analyzer(fails: bool, notes: Notes) -> InProcess {
    with_analyzer(InProcess::new(), fails, notes)
}

/// `functions` with the analyzer stand-in added.
pub fn with_analyzer(functions: InProcess, fails: bool, notes: Notes) -> InProcess {
    functions.with("selfheal-analyzer", move |payload: Value| {
        let notes = notes.clone();
        async move {
            match payload["kind"].as_str() {
                Some("analyze") if fails => Err(InvokeError::Function {
                    error_type: "Lambda.Unknown".into(),
                    error_message: "the analyzer crashed".into(),
                }),
                Some("analyze") => Ok(json!({"provider": "deterministic", "cause": "app-crash", "summary": "frontend restarted"})),
                Some("opened") => Ok(json!({"ts": "1764106800.000100", "finding": null})),
                _ => {
                    notes.lock().unwrap().push(payload);
                    Ok(json!({}))
                }
            }
        }
    })
}

pub async fn execute(env: &Env, incident: &Incident, functions: InProcess) -> Execution {
    let handlers = handlers(env, incident, functions, env.auditor.clone());
    execute_on(env, incident, Arc::new(handlers)).await
}

/// `functions` with the real remediate, health-check and audit (on `auditor`) beside them.
pub fn handlers(
    env: &Env,
    incident: &Incident,
    functions: InProcess,
    auditor: Arc<Auditor<DynamoStore, S3Archive>>,
) -> InProcess {
    env.lab.handlers(
        functions,
        env.policy.clone(),
        trusted(incident),
        None,
        auditor,
    )
}

/// The workflow for `incident`, its tasks dispatched by `dispatcher`.
pub async fn execute_on(
    env: &Env,
    incident: &Incident,
    dispatcher: Arc<dyn selfheal_states::Dispatcher>,
) -> Execution {
    let executor = Executor::new(dispatcher, env.lab.clock.clone());
    let definition = Definition::parse(&definition().unwrap()).unwrap();
    executor
        .execute(
            &definition,
            "selfheal-remediation",
            incident.id.as_str(),
            serde_json::to_value(incident).unwrap(),
        )
        .await
}

pub fn kinds(e: &Execution) -> Vec<&str> {
    e.history.iter().map(|h| h.kind.as_str()).collect()
}

/// Entered states, in order, by name.
pub fn entered(e: &Execution) -> Vec<String> {
    e.history
        .iter()
        .filter(|h| h.kind.ends_with("StateEntered"))
        .filter_map(|h| {
            h.details
                .as_ref()?
                .1
                .get("name")?
                .as_str()
                .map(str::to_owned)
        })
        .collect()
}

pub async fn restarted_at(env: &Env) -> Option<String> {
    let d = Api::<Deployment>::namespaced(env.lab.kube.clone(), "shop")
        .get("frontend")
        .await
        .unwrap();
    d.spec?
        .template
        .metadata?
        .annotations?
        .get("kubectl.kubernetes.io/restartedAt")
        .cloned()
}

/// The audit as stored: timeline kinds, the incident item's final outcome, the S3 record.
pub async fn audit(env: &Env, incident: &Incident) -> (Vec<String>, String, Value) {
    let timeline = env.store.timeline(&incident.id).await.unwrap();
    let item = env
        .store
        .incident_item(&incident.id)
        .await
        .unwrap()
        .unwrap();
    let record = env
        .archive
        .get(&record_key(&incident.id, incident.received_at))
        .await
        .unwrap()
        .expect("the S3 record");
    (
        timeline.into_iter().map(|e| e.kind.to_string()).collect(),
        item["final_outcome"].as_s().unwrap().clone(),
        record,
    )
}

/// Whether the lab's /metrics text has `line`, and passes `promtool check metrics`.
pub fn metrics_show(env: &Env, line: &str) -> bool {
    let text = env.lab.metrics.render();
    selfheal_testkit::promtool_check_metrics(&text);
    text.lines().any(|l| l == line)
}

/// The catalog a deployment that ships `incident`'s runbook is built with (the tests that change
/// a runbook say so: remediate refuses a runbook that differs from its catalog's).
pub fn trusted(incident: &Incident) -> selfheal_core::Catalog {
    selfheal_core::embedded::catalog()
        .unwrap()
        .replacing(incident.runbook.clone())
        .unwrap()
}
