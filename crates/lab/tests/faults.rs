//! The fault matrix: every fault the platform must survive, injected into the whole workflow
//! (statemachines/remediation.asl.json on crates/states, the real remediate, health-check, audit
//! and analyzer, kube-sim, DynamoDB and S3 on moto). Each ends remediated or escalated, never
//! stuck, and each leaves a complete audit: the timeline from `opened` to `closed`, the incident
//! item's final outcome, and the S3 record. Step Functions throttling on StartExecution is the
//! ingest's (functions/ingest/tests/moto.rs `a_dynamodb_failure_is_a_503_and_the_retry_completes_it`
//! fails StartExecution and DynamoDB calls one by one).
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_sdk_dynamodb::config::interceptors::{
    BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use axum::Router;
use axum::routing::post;
use selfheal_analyzer::llm::{Kind, Llm};
use selfheal_audit::Auditor;
use selfheal_aws::dynamodb::DynamoStore;
use selfheal_aws::s3::S3Archive;
use selfheal_core::Incident;
use selfheal_kube_sim::{FaultKind, FaultTarget};
use selfheal_slack::Slack;
use selfheal_states::{BoxFuture, Dispatcher, Execution, InProcess, InvokeError, Status};
use serde_json::Value;

use common::*;

/// How the run ended: remediated (the execution succeeded) or escalated (it failed with
/// Escalated), and the audit holds all of it, from opened to closed, in DynamoDB and in S3.
async fn ends(
    env: &Env,
    incident: &Incident,
    e: &Execution,
    outcome: &str,
) -> (Vec<String>, Value) {
    match outcome {
        "remediated" => assert_eq!(e.status, Status::Succeeded, "{:?}", e.error),
        _ => {
            assert_eq!(e.status, Status::Failed);
            assert_eq!(e.error.as_ref().unwrap().error, "Escalated");
        }
    }
    let (timeline, final_outcome, record) = audit(env, incident).await;
    assert_eq!(
        timeline.first().map(String::as_str),
        Some("opened"),
        "{timeline:?}"
    );
    assert_eq!(
        timeline.last().map(String::as_str),
        Some("closed"),
        "{timeline:?}"
    );
    assert_eq!(final_outcome, outcome);
    assert_eq!(record["outcome"], outcome, "the S3 record");
    assert_eq!(record["incident"]["id"], incident.id.as_str());
    (timeline, record)
}

/// How often the workflow entered `state`.
fn entered_times(e: &Execution, state: &str) -> usize {
    entered(e).iter().filter(|s| *s == state).count()
}

fn frontend_patches(status: u16, delay_ms: Option<u64>, count: u32) -> FaultKind {
    FaultKind::Api {
        path: "/apis/apps/v1/namespaces/shop/deployments/frontend".into(),
        method: Some("PATCH".into()),
        status: (status != 0).then_some(status),
        delay_ms,
        count,
    }
}

#[tokio::test]
async fn kubernetes_conflicts_throttling_and_server_errors_are_retried_then_remediated() {
    for status in [409, 429, 500] {
        let env = env().await;
        env.lab
            .sim
            .inject(frontend_patches(status, None, 2), FaultTarget::default());
        let incident = incident(&env, &env.policy);
        let e = execute(&env, &incident, analyzer(false, Notes::default())).await;
        ends(&env, &incident, &e, "remediated").await;
        assert_eq!(entered_times(&e, "Remediate"), 1, "{status}");
        let failed = kinds(&e).iter().filter(|k| **k == "TaskFailed").count();
        assert_eq!(failed, 2, "{status}: two attempts failed, the third acted");
        assert!(restarted_at(&env).await.is_some(), "{status}");
    }
}

#[tokio::test]
async fn a_kubernetes_api_that_never_recovers_escalates_with_the_error_recorded() {
    let env = env().await;
    env.lab
        .sim
        .inject(frontend_patches(500, None, 1000), FaultTarget::default());
    let incident = incident(&env, &env.policy);
    let e = execute(&env, &incident, analyzer(false, Notes::default())).await;
    let (timeline, record) = ends(&env, &incident, &e, "escalated").await;
    assert!(timeline.contains(&"error".to_owned()), "{timeline:?}");
    assert_eq!(record["state"]["error"]["Error"], "Retryable");
    let failed = kinds(&e).iter().filter(|k| **k == "TaskFailed").count();
    assert_eq!(failed, 4, "the first try and the Retry's three");
    assert!(restarted_at(&env).await.is_none());
    let state = selfheal_aws::store::IncidentStore::guardrail_state(
        &env.store,
        &incident.target,
        env.lab.clock.now(),
    )
    .await
    .unwrap();
    assert_eq!(
        state.consecutive_failures, 1,
        "the circuit breaker counts it"
    );
}

#[tokio::test]
async fn a_kubernetes_request_that_times_out_is_retried_then_remediated() {
    let env = env().await;
    // kube-sim holds the first PATCH past the client's 2 s read timeout.
    env.lab
        .sim
        .inject(frontend_patches(0, Some(3_000), 1), FaultTarget::default());
    let incident = incident(&env, &env.policy);
    let e = execute(&env, &incident, analyzer(false, Notes::default())).await;
    ends(&env, &incident, &e, "remediated").await;
    let failures: Vec<&Value> = e
        .history
        .iter()
        .filter(|h| h.kind == "TaskFailed")
        .filter_map(|h| h.details.as_ref().map(|(_, d)| d))
        .collect();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0]["error"], "Retryable");
    assert!(restarted_at(&env).await.is_some());
}

/// Fails chosen DynamoDB calls of the audit: before they are sent (throttling, an outage), or
/// after DynamoDB applied them and before the answer arrives (a lost response, so the retry
/// meets its own conditional write).
#[derive(Debug)]
struct DynamoFault {
    calls: AtomicUsize,
    fail: Vec<usize>,
    after_applied: bool,
}

impl DynamoFault {
    fn failing(&self) -> bool {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        self.fail.contains(&n)
    }
}

impl Intercept for DynamoFault {
    fn name(&self) -> &'static str {
        "DynamoFault"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        if !self.after_applied && self.failing() {
            return Err("ProvisionedThroughputExceededException (injected)".into());
        }
        Ok(())
    }

    fn read_after_attempt(
        &self,
        _context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        if self.after_applied && self.failing() {
            return Err("connection reset after the write (injected)".into());
        }
        Ok(())
    }
}

async fn faulty_auditor(env: &Env, fault: DynamoFault) -> Arc<Auditor<DynamoStore, S3Archive>> {
    let config = env._moto.aws_config().await;
    let client = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&config)
            .interceptor(fault)
            .build(),
    );
    let archive = S3Archive::new(&config, BUCKET);
    Arc::new(Auditor::new(
        DynamoStore::with_client(client, TABLE),
        archive,
        env.policy.clone(),
    ))
}

#[tokio::test]
async fn dynamodb_throttling_and_lost_responses_in_the_audit_are_retried_and_written_once() {
    for after_applied in [false, true] {
        let env = env().await;
        // The audit's first calls (the opened event's reads and writes) and a later one fail.
        let fault = DynamoFault {
            calls: AtomicUsize::new(0),
            fail: vec![0, 1, 3],
            after_applied,
        };
        let auditor = faulty_auditor(&env, fault).await;
        let incident = incident(&env, &env.policy);
        let functions = handlers(&env, &incident, analyzer(false, Notes::default()), auditor);
        let e = execute_on(&env, &incident, Arc::new(functions)).await;
        let (timeline, _) = ends(&env, &incident, &e, "remediated").await;
        assert_eq!(
            timeline,
            ["opened", "step", "analysis", "closed"],
            "after_applied={after_applied}: each event once"
        );
        assert!(
            entered_times(&e, "RecordOpened") == 1
                && kinds(&e).iter().filter(|k| **k == "TaskFailed").count() >= 1,
            "after_applied={after_applied}: retried within the state"
        );
    }
}

/// A local HTTP server that answers every POST with `status` and `body` after `delay`.
async fn server(status: u16, body: &'static str, delay: Duration) -> String {
    let app = Router::new().fallback(post(move || async move {
        tokio::time::sleep(delay).await;
        (axum::http::StatusCode::from_u16(status).unwrap(), body)
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test]
async fn slack_errors_and_timeouts_never_fail_a_remediation() {
    for (status, delay) in [(500, Duration::ZERO), (200, Duration::from_secs(7))] {
        let env = env().await;
        let hook = server(status, "ok", delay).await;
        let incident = incident(&env, &env.policy);
        let functions = env
            .lab
            .analyzer(InProcess::new(), Some(Slack::Webhook(hook)), None);
        let e = execute(&env, &incident, functions).await;
        let (_, record) = ends(&env, &incident, &e, "remediated").await;
        assert!(restarted_at(&env).await.is_some());
        // The opened message was not posted: no thread, and the analysis still ran.
        assert_eq!(record["state"]["opened"]["ts"], Value::Null, "{status}");
        assert_eq!(
            record["state"]["analysis"]["result"]["provider"], "deterministic",
            "{status}"
        );
    }
}

#[tokio::test]
async fn llm_timeouts_and_malformed_answers_fall_back_to_the_rules() {
    let cases = [
        ("timeout", 200, "{}", Duration::from_secs(3)),
        ("malformed", 200, "this is not JSON {", Duration::ZERO),
        ("server error", 503, "overloaded", Duration::ZERO),
    ];
    for (what, status, body, delay) in cases {
        let env = env().await;
        let url = server(status, body, delay).await;
        let llm = Llm::new(Kind::Openai, url, "llama3.1").with_timeout(Duration::from_secs(1));
        let incident = incident(&env, &env.policy);
        let functions = env.lab.analyzer(InProcess::new(), None, Some(llm));
        let e = execute(&env, &incident, functions).await;
        let (_, record) = ends(&env, &incident, &e, "remediated").await;
        let analysis = &record["state"]["analysis"]["result"];
        assert_eq!(analysis["provider"], "deterministic", "{what}: {analysis}");
        assert!(
            analysis["fallback_reason"]
                .as_str()
                .is_some_and(|r| !r.is_empty()),
            "{what}: {analysis}"
        );
        assert_eq!(analysis["cause"], "app-crash", "{what}: {analysis}");
    }
}

/// The remediate function dies after its API call went through, before it answers (an
/// out-of-memory kill, a runtime crash): the change is made, the workflow never hears of it.
struct CrashAfterActing {
    inner: InProcess,
    crashed: AtomicUsize,
}

impl Dispatcher for CrashAfterActing {
    fn invoke<'a>(
        &'a self,
        function: &'a str,
        payload: Value,
    ) -> BoxFuture<'a, Result<Value, InvokeError>> {
        Box::pin(async move {
            let out = self.inner.invoke(function, payload).await;
            if function == "selfheal-remediate" && self.crashed.fetch_add(1, Ordering::SeqCst) == 0
            {
                return Err(InvokeError::Function {
                    error_type: "Runtime.ExitError".into(),
                    error_message: "RequestId: 1 Error: Runtime exited with error: signal: killed"
                        .into(),
                });
            }
            out
        })
    }

    fn call<'a>(
        &'a self,
        integration: &'a str,
        parameters: Value,
    ) -> BoxFuture<'a, Result<Value, InvokeError>> {
        self.inner.call(integration, parameters)
    }
}

#[tokio::test]
async fn a_task_that_crashes_mid_step_escalates_with_the_crash_recorded() {
    let env = env().await;
    let incident = incident(&env, &env.policy);
    let inner = handlers(
        &env,
        &incident,
        analyzer(false, Notes::default()),
        env.auditor.clone(),
    );
    let crash = CrashAfterActing {
        inner,
        crashed: AtomicUsize::new(0),
    };
    let e = execute_on(&env, &incident, Arc::new(crash)).await;
    let (timeline, record) = ends(&env, &incident, &e, "escalated").await;
    // Not retried: whether the crashed step acted is unknown, and acting twice is not safe in
    // general, so a human looks.
    assert_eq!(entered_times(&e, "Remediate"), 1);
    assert!(timeline.contains(&"error".to_owned()), "{timeline:?}");
    assert_eq!(record["state"]["error"]["Error"], "Runtime.ExitError");
    assert!(
        restarted_at(&env).await.is_some(),
        "the crash came after the restart went through"
    );
}
