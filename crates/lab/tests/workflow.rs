//! statemachines/remediation.asl.json executed by crates/states against kube-sim, with the real
//! remediate, health-check and audit handlers in-process and the audit in moto (DynamoDB, S3):
//! every path of the workflow, each checked in the cluster, the audit items, the S3 record and
//! the history. The analyzer and the approval function are stand-ins here (their own issues).
#![allow(clippy::unwrap_used)]

mod common;

use common::*;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use selfheal_aws::audit::AuditLog;
use selfheal_aws::store::IncidentStore;
use selfheal_core::{Decision, Incident, Mode, Policy, Workflow};
use selfheal_kube_sim::{FaultKind, FaultTarget};
use selfheal_lab::definition;
use selfheal_states::{Definition, Execution, Executor, InProcess, InvokeError, Status};
use selfheal_testkit::eventually;
use serde_json::{Value, json};

#[tokio::test]
async fn remediated_on_the_first_try() {
    let env = env().await;
    let incident = incident(&env, &env.policy);
    let notes = Notes::default();
    let e = execute(&env, &incident, analyzer(false, notes.clone())).await;
    assert_eq!(e.status, Status::Succeeded, "{:?}", e.error);
    let out = e.output.as_ref().unwrap();
    assert_eq!(out["closed"]["outcome"], "remediated");
    // selfheal's own metrics, as the lab serves them to Prometheus.
    for line in [
        r#"selfheal_incidents_total{outcome="remediated"} 1"#,
        r#"selfheal_actions_total{action="restart-pods",result="changed"} 1"#,
        "selfheal_mttr_seconds_count 1",
    ] {
        assert!(metrics_show(&env, line), "{line}");
    }
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
    assert_eq!(
        entered(&e),
        [
            "RecordOpened",
            "NotifyOpened",
            "CircuitOpen?",
            "NeedsApproval?",
            "Steps",
            "Acts?",
            "MarkActed",
            "ReadKillSwitch",
            "KillSwitch?",
            "KillSwitchOff",
            "Remediate",
            "Skipped?",
            "DryRun?",
            "Wait",
            "Checks?",
            "Since",
            "HealthCheck",
            "Healthy?",
            "UnitDone",
            "Analyze",
            "RecordClosed",
            "Notify",
            "Done",
        ]
    );
    assert!(kinds(&e).contains(&"MapIterationSucceeded"));
    let (timeline, outcome, record) = audit(&env, &incident).await;
    assert_eq!(timeline, ["opened", "step", "analysis", "closed"]);
    assert_eq!(outcome, "remediated");
    assert_eq!(record["outcome"], "remediated");
    let item = env
        .store
        .incident_item(&incident.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(item["runbook"].as_s().unwrap(), "restart-pods");
    assert_eq!(item["mode"].as_s().unwrap(), "enforce");
    assert_eq!(
        item["target"].as_s().unwrap(),
        "selfheal-dev/shop/deployment/frontend"
    );
    assert!(item["mttr_seconds"].as_n().unwrap().parse::<i64>().unwrap() >= 120);
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

#[tokio::test]
async fn a_forged_alert_is_skipped_closed_as_a_false_positive_and_changes_nothing() {
    let env = env().await;
    // The alert says the frontend crashloops; the cluster says it does not.
    assert!(env.lab.sim.world().clear_fault(&env.symptom));
    let clock = &env.lab.clock;
    clock.drive(clock.sleep(Duration::from_secs(15 * 60))).await;
    env.lab.sync();
    let incident = incident(&env, &env.policy);
    let notes = Notes::default();
    let e = execute(&env, &incident, analyzer(false, notes.clone())).await;
    assert_eq!(e.status, Status::Succeeded, "{:?}", e.error);
    let states = entered(&e);
    assert!(states.iter().any(|s| s == "SymptomAbsent"), "{states:?}");
    for never in ["Wait", "HealthCheck", "Analyze", "RecordEscalated"] {
        assert!(!states.iter().any(|s| s == never), "{never}: {states:?}");
    }
    let out = e.output.as_ref().unwrap();
    assert_eq!(out["closed"]["outcome"], "skipped");
    assert_eq!(out["skipped"]["Error"], "SymptomAbsent");
    // Counted as a false positive.
    assert!(metrics_show(
        &env,
        r#"selfheal_incidents_total{outcome="skipped"} 1"#
    ));
    assert!(metrics_show(
        &env,
        r#"selfheal_actions_total{action="restart-pods",result="skipped"} 1"#
    ));
    assert!(restarted_at(&env).await.is_none(), "nothing restarted");
    let (timeline, outcome, record) = audit(&env, &incident).await;
    assert_eq!(timeline, ["opened", "skipped", "closed"]);
    assert_eq!(outcome, "skipped");
    assert!(
        record["state"]["skipped"]["Cause"]
            .as_str()
            .unwrap()
            .starts_with(
                "skipped: symptom not present: all 3 pods of deployment shop/frontend are ready"
            ),
        "{record}"
    );
    let state = env
        .store
        .guardrail_state(&incident.target, env.lab.clock.now())
        .await
        .unwrap();
    assert_eq!(state.consecutive_failures, 0, "no failure counted");
    let notes = notes.lock().unwrap();
    assert_eq!(notes.len(), 1, "one closing message");
    assert_eq!(notes[0]["state"]["closed"]["outcome"], "skipped");
}

#[tokio::test]
async fn a_retryable_409_is_retried_then_remediated() {
    let env = env().await;
    env.lab.sim.inject(
        FaultKind::Api {
            path: "/apis/apps/v1/namespaces/shop/deployments/frontend".into(),
            method: Some("PATCH".into()),
            status: Some(409),
            delay_ms: None,
            count: 1,
        },
        FaultTarget::default(),
    );
    let incident = incident(&env, &env.policy);
    let e = execute(&env, &incident, analyzer(false, Notes::default())).await;
    assert_eq!(e.status, Status::Succeeded, "{:?}", e.error);
    let failed: Vec<_> = e
        .history
        .iter()
        .filter(|h| h.kind == "TaskFailed")
        .collect();
    assert_eq!(failed.len(), 1, "{:?}", kinds(&e));
    assert_eq!(failed[0].details.as_ref().unwrap().1["error"], "Retryable");
    assert_eq!(
        e.output.as_ref().unwrap()["closed"]["outcome"],
        "remediated"
    );
    assert!(restarted_at(&env).await.is_some());
    assert_eq!(audit(&env, &incident).await.1, "remediated");
}

#[tokio::test]
async fn a_target_that_never_recovers_escalates_after_its_attempts() {
    let env = env().await;
    // Every pod crashes, new ones too: a restart cannot help.
    env.lab.sim.inject(
        FaultKind::Crashloop {
            exit_code: 1,
            log: vec!["fatal: config missing".into()],
            until_restart: false,
        },
        frontend(),
    );
    let incident = incident(&env, &env.policy);
    let e = execute(&env, &incident, analyzer(false, Notes::default())).await;
    assert_eq!(e.status, Status::Failed);
    assert_eq!(e.error.as_ref().unwrap().error, "Escalated");
    let remediations = e
        .history
        .iter()
        .filter(|h| h.kind == "TaskStateEntered" && h.state_name() == Some("Remediate"))
        .count();
    assert_eq!(remediations as u32, incident.workflow.max_attempts);
    let checks = e
        .history
        .iter()
        .filter(|h| h.kind == "TaskStateEntered" && h.state_name() == Some("HealthCheck"))
        .count() as u64;
    assert_eq!(
        checks,
        u64::from(incident.workflow.max_attempts) * incident.workflow.units[0].check_polls
    );
    assert!(kinds(&e).contains(&"MapIterationFailed"));
    let (timeline, outcome, record) = audit(&env, &incident).await;
    assert_eq!(timeline, ["opened", "error", "closed"]);
    assert_eq!(outcome, "escalated");
    assert_eq!(record["state"]["error"]["Error"], "Unhealthy");
    // The circuit breaker counts it.
    let state = selfheal_aws::store::IncidentStore::guardrail_state(
        &env.store,
        &incident.target,
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(state.consecutive_failures, 1);
}

/// The incident with a runbook that asks a human first.
fn needs_approval(env: &Env) -> Incident {
    let mut incident = incident(env, &env.policy);
    incident.runbook.approval =
        Some(serde_json::from_value(json!({"required": true, "timeout": "10m"})).unwrap());
    incident.workflow = Workflow::plan(&incident.runbook);
    incident.decision = Decision::NeedsApproval;
    incident
}

/// The approval stand-in: records the request; the test plays the human.
fn approval(requests: Notes) -> InProcess {
    InProcess::new().with("selfheal-approval", move |payload: Value| {
        let requests = requests.clone();
        async move {
            requests.lock().unwrap().push(payload);
            Ok(json!({}))
        }
    })
}

/// What the human (or whoever holds the task token) does with the approval request.
enum Human {
    /// Clicks Approve: the approval handler's answer.
    Approves,
    /// Turns the kill switch on while the approval waits, then clicks Approve.
    StopsAutomationThenApproves,
    /// Clicks Reject: the task fails with Rejected.
    Rejects,
    /// Answers the token with this instead of an approval.
    Answers(Value),
    /// Never answers.
    Silent,
}

async fn execute_with_human(
    env: &Env,
    incident: &Incident,
    human: Human,
) -> (Execution, Vec<Value>) {
    let requests = Notes::default();
    let functions = with_analyzer(approval(requests.clone()), false, Notes::default());
    let executor = Executor::new(
        Arc::new(env.lab.handlers(
            functions,
            env.policy.clone(),
            trusted(incident),
            None,
            env.auditor.clone(),
        )),
        env.lab.clock.clone(),
    );
    let definition = Definition::parse(&definition().unwrap()).unwrap();
    // A human is deciding: virtual time stands still until they have (unless nobody answers).
    let hold = (!matches!(human, Human::Silent)).then(|| env.lab.clock.hold());
    let human = async {
        if matches!(human, Human::Silent) {
            return;
        }
        let token = eventually("a task token", || {
            executor.pending_tokens().into_iter().next().map(|(t, _)| t)
        })
        .await;
        match human {
            Human::Approves => executor
                .send_task_success(&token, json!({"approved": true, "decided_by": "U024BE7LH", "decided_at": "2026-11-25T21:05:00Z"}))
                .unwrap(),
            Human::StopsAutomationThenApproves => {
                env.store.set_kill_switch(true).await.unwrap();
                executor
                    .send_task_success(&token, json!({"approved": true, "decided_by": "U024BE7LH", "decided_at": "2026-11-25T21:05:00Z"}))
                    .unwrap();
            }
            Human::Rejects => executor
                .send_task_failure(&token, "Rejected", "rejected by U024BE7LH")
                .unwrap(),
            Human::Answers(output) => executor.send_task_success(&token, output).unwrap(),
            Human::Silent => {}
        }
        drop(hold);
    };
    let (e, ()) = tokio::join!(
        executor.execute(
            &definition,
            "selfheal-remediation",
            incident.id.as_str(),
            serde_json::to_value(incident).unwrap()
        ),
        human
    );
    let requests = requests.lock().unwrap().clone();
    (e, requests)
}

#[tokio::test]
async fn approval_granted_runs_the_steps() {
    let env = env().await;
    let incident = needs_approval(&env);
    let (e, requests) = execute_with_human(&env, &incident, Human::Approves).await;
    assert_eq!(e.status, Status::Succeeded, "{:?}", e.error);
    assert_eq!(requests.len(), 1);
    assert!(requests[0]["token"].as_str().is_some_and(|t| !t.is_empty()));
    assert_eq!(requests[0]["incident"]["id"], incident.id.as_str());
    assert_eq!(
        e.output.as_ref().unwrap()["approval"]["decided_by"],
        "U024BE7LH"
    );
    assert!(restarted_at(&env).await.is_some());
    let (timeline, outcome, _) = audit(&env, &incident).await;
    assert_eq!(
        timeline,
        ["opened", "approval", "step", "analysis", "closed"]
    );
    assert_eq!(outcome, "remediated");
}

#[tokio::test]
async fn the_kill_switch_turned_on_during_the_approval_wait_makes_the_step_a_dry_run() {
    let env = env().await;
    let incident = needs_approval(&env);
    let (e, _) = execute_with_human(&env, &incident, Human::StopsAutomationThenApproves).await;
    assert_eq!(e.status, Status::Succeeded, "{:?}", e.error);
    let states = entered(&e);
    assert!(states.iter().any(|s| s == "KillSwitchOn"), "{states:?}");
    assert!(
        !states.iter().any(|s| s == "HealthCheck"),
        "a dry run has nothing to check: {states:?}"
    );
    assert!(restarted_at(&env).await.is_none(), "nothing restarted");
    let steps = &e.output.as_ref().unwrap()["steps"];
    assert_eq!(steps[0]["kill_switch"], true);
    assert_eq!(steps[0]["remediation"]["result"]["dry_run"], true);
    let (_, outcome, _) = audit(&env, &incident).await;
    assert_eq!(outcome, "dry-run", "neither remediated nor escalated");
    let state = env
        .store
        .guardrail_state(&incident.target, env.lab.clock.now())
        .await
        .unwrap();
    assert_eq!(
        state.consecutive_failures, 0,
        "the circuit breaker is not fed"
    );
}

#[tokio::test]
async fn approval_rejected_escalates_and_changes_nothing() {
    let env = env().await;
    let incident = needs_approval(&env);
    let (e, _) = execute_with_human(&env, &incident, Human::Rejects).await;
    assert_eq!(e.status, Status::Failed);
    assert_eq!(
        entered(&e),
        [
            "RecordOpened",
            "NotifyOpened",
            "CircuitOpen?",
            "NeedsApproval?",
            "RequestApproval",
            "RecordEscalated",
            "NotifyEscalated",
            "Escalated",
        ]
    );
    assert!(!entered(&e).iter().any(|s| s == "Remediate"));
    assert!(restarted_at(&env).await.is_none());
    let (timeline, outcome, record) = audit(&env, &incident).await;
    assert_eq!(timeline, ["opened", "error", "closed"]);
    assert_eq!(outcome, "escalated");
    assert_eq!(record["state"]["error"]["Error"], "Rejected");
}

#[tokio::test]
async fn a_token_answered_without_approved_true_is_no_approval() {
    for answer in [
        json!({}),
        json!({"approved": false, "decided_by": "U024BE7LH"}),
        json!({"approved": "yes"}),
    ] {
        let env = env().await;
        let incident = needs_approval(&env);
        let (e, _) = execute_with_human(&env, &incident, Human::Answers(answer.clone())).await;
        assert_eq!(e.status, Status::Failed, "{answer}");
        let states = entered(&e);
        assert!(
            states.iter().any(|s| s == "NotApproved"),
            "{answer}: {states:?}"
        );
        assert!(!states.iter().any(|s| s == "Remediate"), "{answer}");
        assert!(restarted_at(&env).await.is_none(), "{answer}");
        let (_, outcome, record) = audit(&env, &incident).await;
        assert_eq!(outcome, "escalated");
        assert_eq!(record["state"]["error"]["Error"], "Rejected");
    }
}

#[tokio::test]
async fn approval_timed_out_escalates_and_changes_nothing() {
    let env = env().await;
    let incident = needs_approval(&env);
    let started = env.lab.clock.now();
    let (e, requests) = execute_with_human(&env, &incident, Human::Silent).await;
    assert_eq!(requests.len(), 1);
    assert_eq!(e.status, Status::Failed);
    assert!(restarted_at(&env).await.is_none());
    assert!(
        env.lab.clock.now() - started >= chrono::Duration::minutes(10),
        "waited the runbook's timeout"
    );
    let (_, outcome, record) = audit(&env, &incident).await;
    assert_eq!(outcome, "escalated");
    assert_eq!(record["state"]["error"]["Error"], "States.Timeout");
    assert!(metrics_show(
        &env,
        "selfheal_approvals_total{event=\"expired\"} 1"
    ));
}

#[tokio::test]
async fn a_dry_run_changes_nothing_and_says_what_would_have_run() {
    let env = env().await;
    let policy = Policy {
        dry_run: true,
        ..env.policy.clone()
    };
    let incident = incident(&env, &policy);
    assert_eq!(incident.mode, Mode::DryRun);
    let e = execute(&env, &incident, analyzer(false, Notes::default())).await;
    assert_eq!(e.status, Status::Succeeded, "{:?}", e.error);
    let out = e.output.as_ref().unwrap();
    assert_eq!(out["steps"][0]["remediation"]["result"]["dry_run"], true);
    assert_eq!(
        entered(&e),
        [
            "RecordOpened",
            "NotifyOpened",
            "CircuitOpen?",
            "NeedsApproval?",
            "Steps",
            "Acts?",
            "MarkActed",
            "ReadKillSwitch",
            "KillSwitch?",
            "KillSwitchOff",
            "Remediate",
            "Skipped?",
            "DryRun?",
            "UnitDone",
            "Analyze",
            "RecordClosed",
            "Notify",
            "Done",
        ]
    );
    assert!(restarted_at(&env).await.is_none(), "nothing persisted");
    let (timeline, outcome, record) = audit(&env, &incident).await;
    assert_eq!(timeline, ["opened", "step", "analysis", "closed"]);
    assert_eq!(outcome, "dry-run");
    assert_eq!(
        record["timeline"][1]["detail"]["remediation"]["result"]["action"],
        "restart-pods"
    );
}

#[tokio::test]
async fn an_open_circuit_escalates_without_acting() {
    let env = env().await;
    let incident = incident(&env, &env.policy);
    env.store.set_failures(&incident.target, 3).await.unwrap();
    let e = execute(&env, &incident, analyzer(false, Notes::default())).await;
    assert_eq!(e.status, Status::Failed);
    assert_eq!(
        entered(&e),
        [
            "RecordOpened",
            "NotifyOpened",
            "CircuitOpen?",
            "CircuitOpen",
            "RecordEscalated",
            "NotifyEscalated",
            "Escalated",
        ]
    );
    assert!(restarted_at(&env).await.is_none());
    let (timeline, outcome, record) = audit(&env, &incident).await;
    assert_eq!(timeline, ["opened", "error", "closed"]);
    assert_eq!(outcome, "escalated");
    assert_eq!(record["state"]["error"]["Error"], "CircuitOpen");
}

#[tokio::test]
async fn an_analyzer_failure_still_remediates_with_a_fallback_summary() {
    let env = env().await;
    let incident = incident(&env, &env.policy);
    let notes = Notes::default();
    let e = execute(&env, &incident, analyzer(true, notes.clone())).await;
    assert_eq!(e.status, Status::Succeeded, "{:?}", e.error);
    let out = e.output.as_ref().unwrap();
    assert_eq!(out["analysis"]["result"]["provider"], "fallback");
    let path = entered(&e);
    assert_eq!(
        path[path.len() - 5..],
        [
            "Analyze",
            "AnalysisFallback",
            "RecordClosed",
            "Notify",
            "Done"
        ]
    );
    assert_eq!(out["closed"]["outcome"], "remediated");
    assert_eq!(notes.lock().unwrap().len(), 1);
    let (timeline, outcome, _) = audit(&env, &incident).await;
    assert_eq!(timeline, ["opened", "step", "analysis", "closed"]);
    assert_eq!(outcome, "remediated");
}

#[tokio::test]
async fn a_slack_click_approves_through_the_approval_handler() {
    let env = env().await;
    let incident = needs_approval(&env);
    let dir = tempfile::tempdir().unwrap();
    let slack_file = dir.path().join("slack.jsonl");
    const SECRET: &str = "slack-signing-secret";
    // The executor and the approval handler need each other: the handler completes the
    // executor's tokens, the executor invokes the handler.
    let approver_cell: Arc<std::sync::OnceLock<Arc<Approver>>> = Arc::default();
    let cell = approver_cell.clone();
    let functions = InProcess::new().with("selfheal-approval", move |payload: Value| {
        let approver = cell.get().unwrap().clone();
        async move {
            let task = serde_json::from_value(payload).unwrap();
            approver
                .request(&task)
                .await
                .map_err(|e| InvokeError::Function {
                    error_type: "ApprovalNotRequested".into(),
                    error_message: e.to_string(),
                })
        }
    });
    let functions = with_analyzer(functions, false, Notes::default());
    let executor = Arc::new(Executor::new(
        Arc::new(env.lab.handlers(
            functions,
            env.policy.clone(),
            trusted(&incident),
            None,
            env.auditor.clone(),
        )),
        env.lab.clock.clone(),
    ));
    let approver = Arc::new(
        selfheal_approval::Approver::new(
            selfheal_lab::LocalCallback(executor.clone()),
            selfheal_aws::memory::MemoryStore::new(),
            selfheal_slack::Slack::File(slack_file.clone()),
            SECRET.into(),
            vec!["U024BE7LH".into()],
        )
        .with_metrics(env.lab.metrics.clone()),
    );
    assert!(approver_cell.set(approver.clone()).is_ok());
    let definition = Definition::parse(&definition().unwrap()).unwrap();
    let hold = env.lab.clock.hold();
    let human = async {
        // The approval message as Slack shows it; its Approve button carries the token.
        let message: Value = eventually("the approval message", || {
            let text = std::fs::read_to_string(&slack_file).ok()?;
            serde_json::from_str(text.lines().next()?).ok()
        })
        .await;
        let buttons = &message["blocks"][3]["elements"];
        assert_eq!(buttons[0]["action_id"], "approve");
        // In the incident's thread, under the opened message.
        assert_eq!(message["thread_ts"], "1764106800.000100");
        let token = buttons[0]["value"].as_str().unwrap().to_owned();
        assert!(
            message["blocks"][1]["text"]["text"]
                .as_str()
                .unwrap()
                .contains("restart-pods")
        );
        // What Slack posts when someone clicks a button of the approval message.
        let click = |user: &str, action: &str| {
            let payload = json!({"type": "block_actions", "user": {"id": user},
                "actions": [{"action_id": action, "block_id": "approval", "value": token}]});
            let body = serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap();
            let now = Utc::now();
            let mut headers = http::HeaderMap::new();
            headers.insert(
                "x-slack-request-timestamp",
                now.timestamp().to_string().parse().unwrap(),
            );
            headers.insert(
                "x-slack-signature",
                selfheal_approval::slack::sign(SECRET, now.timestamp(), body.as_bytes())
                    .parse()
                    .unwrap(),
            );
            (headers, body, now)
        };
        let (h, b, now) = click("U0OUTSIDER", "approve");
        let err = approver.decide(&h, b.as_bytes(), now).await.unwrap_err();
        assert_eq!(err.status(), 403, "{err}");
        let (h, b, now) = click("U024BE7LH", "approve");
        approver.decide(&h, b.as_bytes(), now).await.unwrap();
        let replay = approver.decide(&h, b.as_bytes(), now).await.unwrap_err();
        assert!(
            matches!(replay, selfheal_approval::ApprovalError::Replay),
            "{replay}"
        );
        drop(hold);
    };
    let (e, ()) = tokio::join!(
        executor.execute(
            &definition,
            "selfheal-remediation",
            incident.id.as_str(),
            serde_json::to_value(&incident).unwrap()
        ),
        human
    );
    assert_eq!(e.status, Status::Succeeded, "{:?}", e.error);
    assert_eq!(
        e.output.as_ref().unwrap()["approval"]["decided_by"],
        "U024BE7LH"
    );
    assert!(restarted_at(&env).await.is_some());
    let (timeline, outcome, _) = audit(&env, &incident).await;
    assert_eq!(
        timeline,
        ["opened", "approval", "step", "analysis", "closed"]
    );
    assert_eq!(outcome, "remediated");
    // Asked once, approved once (the outsider and the replay decided nothing): none waiting.
    assert!(metrics_show(
        &env,
        "selfheal_approvals_total{event=\"requested\"} 1"
    ));
    assert!(metrics_show(
        &env,
        "selfheal_approvals_total{event=\"approved\"} 1"
    ));
}

type Approver =
    selfheal_approval::Approver<selfheal_lab::LocalCallback, selfheal_aws::memory::MemoryStore>;

#[tokio::test]
async fn the_analyzer_names_the_cause_found_at_open_and_tells_the_story_in_slack() {
    let env = env().await;
    // This crash, with its own log line, instead of the usual one.
    assert!(env.lab.sim.world().clear_fault(&env.symptom));
    env.lab.sim.inject(
        FaultKind::Crashloop {
            exit_code: 2,
            log: vec!["panic: config: missing ORDERS_URL".into()],
            until_restart: true,
        },
        frontend(),
    );
    env.lab.sim.advance(std::time::Duration::from_secs(120));
    let incident = incident(&env, &env.policy);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("slack.jsonl");
    let functions = env.lab.analyzer(
        InProcess::new(),
        Some(selfheal_slack::Slack::File(file.clone())),
        None,
    );
    let e = execute(&env, &incident, functions).await;
    assert_eq!(e.status, Status::Succeeded, "{:?}", e.error);
    let out = e.output.as_ref().unwrap();
    // Found while the pods crashed; after the restart healed them, that finding stands.
    assert_eq!(out["opened"]["finding"]["cause"], "app-crash");
    let analysis = &out["analysis"]["result"];
    assert_eq!(analysis["cause"], "app-crash", "{analysis}");
    assert_eq!(analysis["provider"], "deterministic");
    assert!(
        analysis["key_facts"]
            .to_string()
            .contains("panic: config: missing ORDERS_URL"),
        "{analysis}"
    );
    let (timeline, _, record) = audit(&env, &incident).await;
    assert!(timeline.contains(&"analysis".to_owned()));
    assert_eq!(record["state"]["analysis"]["result"]["cause"], "app-crash");
    let messages: Vec<Value> = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(messages.len(), 2, "opened and remediated");
    assert!(
        messages[0]["text"]
            .as_str()
            .unwrap()
            .starts_with("Incident opened: KubePodCrashLooping")
    );
    assert!(
        messages[0]
            .to_string()
            .contains("Likely cause:* `app-crash`")
    );
    let closing = messages[1].to_string();
    assert!(
        messages[1]["text"]
            .as_str()
            .unwrap()
            .starts_with("Remediated:")
    );
    for part in [
        "*Cause:* `app-crash`",
        "restart-pods",
        "MTTR",
        "*Next steps*",
        "healthy",
    ] {
        assert!(closing.contains(part), "{part} missing: {closing}");
    }
}
