//! statemachines/remediation.asl.json executed by crates/states against kube-sim, with the real
//! remediate, health-check and audit handlers in-process and the audit in moto (DynamoDB, S3):
//! every path of the workflow, each checked in the cluster, the audit items, the S3 record and
//! the history. The analyzer and the approval function are stand-ins here (their own issues).
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::Api;
use selfheal_audit::Auditor;
use selfheal_aws::audit::{AuditLog, record_key};
use selfheal_aws::dynamodb::DynamoStore;
use selfheal_aws::s3::S3Archive;
use selfheal_core::alert::{Door, Limits, parse_webhook};
use selfheal_core::runbook::Approval;
use selfheal_core::{
    Catalog, Decision, Disposition, GuardrailState, Incident, Mode, Policy, Workflow, assess,
};
use selfheal_kube_sim::{FaultKind, FaultTarget, Scenario};
use selfheal_lab::{DEFINITION, Lab};
use selfheal_states::{Definition, Execution, Executor, InProcess, InvokeError, Status};
use selfheal_testkit::Server;
use serde_json::{Value, json};

fn repo(path: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

const BUCKET: &str = "selfheal-records";

struct Env {
    _moto: Server,
    lab: Lab,
    store: DynamoStore,
    archive: S3Archive,
    auditor: Arc<Auditor<DynamoStore, S3Archive>>,
    policy: Policy,
}

async fn env() -> Env {
    let moto = selfheal_testkit::moto().await;
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&moto.url)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .load()
        .await;
    let store = DynamoStore::new(&config, "selfheal-incidents");
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
    let text = std::fs::read_to_string(repo("chaos/scenarios/three-tier.yaml")).unwrap();
    let start = DateTime::parse_from_rfc3339("2026-11-25T21:00:00Z")
        .unwrap()
        .to_utc();
    let lab = Lab::start(&Scenario::from_yaml(&text).unwrap(), start)
        .await
        .unwrap();
    let policy = Policy {
        default_cluster: "selfheal-dev".into(),
        ..Policy::default()
    };
    let auditor = Arc::new(Auditor::new(
        store.clone(),
        S3Archive::new(&config, BUCKET),
        policy.clone(),
    ));
    Env {
        _moto: moto,
        lab,
        store,
        archive: S3Archive::new(&config, BUCKET),
        auditor,
        policy,
    }
}

/// The incident the ingest opens for a crashlooping frontend.
fn incident(env: &Env, policy: &Policy) -> Incident {
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
    let files = std::fs::read_dir(repo("statemachines/runbooks"))
        .unwrap()
        .map(|e| e.unwrap().path());
    let catalog = Catalog::parse(files.map(|p| {
        (
            p.display().to_string(),
            std::fs::read_to_string(&p).unwrap(),
        )
    }))
    .unwrap();
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

/// What the analyzer stand-in was asked to notify.
type Notes = Arc<Mutex<Vec<Value>>>;

/// An analyzer that answers (or fails), and records notifications.
fn analyzer(fails: bool, notes: Notes) -> InProcess {
    InProcess::new().with("selfheal-analyzer", move |payload: Value| {
        let notes = notes.clone();
        async move {
            match payload["kind"].as_str() {
                Some("analyze") if fails => Err(InvokeError::Function {
                    error_type: "Lambda.Unknown".into(),
                    error_message: "the analyzer crashed".into(),
                }),
                Some("analyze") => Ok(json!({"provider": "deterministic", "cause": "app-crash", "summary": "frontend restarted"})),
                _ => {
                    notes.lock().unwrap().push(payload);
                    Ok(json!({}))
                }
            }
        }
    })
}

async fn execute(env: &Env, incident: &Incident, functions: InProcess) -> Execution {
    let executor = Executor::new(
        Arc::new(
            env.lab
                .handlers(functions, env.policy.clone(), None, env.auditor.clone()),
        ),
        env.lab.clock.clone(),
    );
    let definition = Definition::parse(DEFINITION).unwrap();
    executor
        .execute(
            &definition,
            "selfheal-remediation",
            incident.id.as_str(),
            serde_json::to_value(incident).unwrap(),
        )
        .await
}

fn kinds(e: &Execution) -> Vec<&str> {
    e.history.iter().map(|h| h.kind.as_str()).collect()
}

/// Entered states, in order, by name.
fn entered(e: &Execution) -> Vec<String> {
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

async fn restarted_at(env: &Env) -> Option<String> {
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
async fn audit(env: &Env, incident: &Incident) -> (Vec<String>, String, Value) {
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
        timeline.into_iter().map(|e| e.kind).collect(),
        item["final_outcome"].as_s().unwrap().clone(),
        record,
    )
}

#[tokio::test]
async fn remediated_on_the_first_try() {
    let env = env().await;
    let incident = incident(&env, &env.policy);
    let notes = Notes::default();
    let e = execute(&env, &incident, analyzer(false, notes.clone())).await;
    assert_eq!(e.status, Status::Succeeded, "{:?}", e.error);
    let out = e.output.as_ref().unwrap();
    assert_eq!(out["closed"]["outcome"], "remediated");
    assert_eq!(
        out["steps"][0]["remediation"]["result"]["action"],
        "restart-pods"
    );
    assert_eq!(out["steps"][0]["health"]["result"]["health"], "healthy");
    assert_eq!(out["steps"][0]["attempts"], 1);
    assert_eq!(
        out["id"],
        incident.id.as_str(),
        "the input stays the incident"
    );
    assert!(
        restarted_at(&env).await.is_some(),
        "the cluster was changed"
    );
    let states = entered(&e);
    for s in [
        "RecordOpened",
        "CircuitOpen?",
        "NeedsApproval?",
        "Steps",
        "Remediate",
        "Wait",
        "HealthCheck",
        "Analyze",
        "RecordClosed",
        "Notify",
    ] {
        assert!(states.iter().any(|n| n == s), "{s} not entered: {states:?}");
    }
    assert!(kinds(&e).contains(&"MapIterationSucceeded"));
    let (timeline, outcome, record) = audit(&env, &incident).await;
    assert_eq!(timeline, ["opened", "step", "analysis", "closed"]);
    assert_eq!(outcome, "remediated");
    assert_eq!(record["outcome"], "remediated");
    assert!(record["mttr_seconds"].as_i64().unwrap() >= 120);
    assert_eq!(notes.lock().unwrap().len(), 1, "one Slack notification");
    // The audit is idempotent: RecordClosed run again (a retried state) leaves the same data.
    let before = env.store.timeline(&incident.id).await.unwrap();
    let mut state = out.clone();
    state.as_object_mut().unwrap().remove("closed");
    let again = env
        .auditor
        .handle(&serde_json::from_value(json!({
            "event": "closed", "incident": incident, "execution": "retry", "at": Utc::now(), "state": state
        })).unwrap())
        .await
        .unwrap();
    assert_eq!(again.outcome.unwrap().as_str(), "remediated");
    assert_eq!(env.store.timeline(&incident.id).await.unwrap(), before);
    assert_eq!(audit(&env, &incident).await.2, record);
}
