//! Executor behaviour that needs handlers, callbacks and time: retries and their backoff, task
//! tokens, heartbeats, timeouts, Map concurrency, and the history the console would show.

#![allow(clippy::unwrap_used)] // a panic is the failure report

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use selfheal_states::{Clock, Definition, Executor, InProcess, InvokeError, Status, TokenError};
use serde_json::{Value, json};

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-25T21:30:00Z")
        .unwrap()
        .to_utc()
}

fn definition(v: Value) -> Definition {
    Definition::parse(&v.to_string()).unwrap()
}

fn kinds(e: &selfheal_states::Execution) -> Vec<&str> {
    e.history.iter().map(|h| h.kind.as_str()).collect()
}

fn retryable(msg: &str) -> InvokeError {
    InvokeError::Function {
        error_type: "Retryable".into(),
        error_message: msg.into(),
    }
}

fn remediate_task(retry: Value) -> Value {
    json!({"StartAt": "Remediate", "States": {"Remediate": {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "remediate", "Payload.$": "$"},
        "ResultSelector": {"changed.$": "$.Payload.changed"}, "ResultPath": "$.step",
        "Retry": retry, "End": true}}})
}

/// A handler that fails with Retryable `failures` times, then succeeds; records when it ran.
fn flaky(failures: usize, clock: Clock, calls: Arc<Mutex<Vec<DateTime<Utc>>>>) -> InProcess {
    let count = Arc::new(AtomicUsize::new(0));
    InProcess::new().with("remediate", move |_payload| {
        let n = count.fetch_add(1, Ordering::SeqCst);
        calls.lock().unwrap().push(clock.now());
        async move {
            if n < failures {
                Err(retryable("409 Conflict"))
            } else {
                Ok(json!({"changed": true}))
            }
        }
    })
}

#[tokio::test]
async fn a_409_is_retried_with_backoff_and_the_history_shows_each_attempt() {
    let clock = Clock::virtual_at(t0());
    let calls = Arc::new(Mutex::new(Vec::new()));
    let exec = Executor::new(Arc::new(flaky(1, clock.clone(), calls.clone())), clock);
    let def = definition(remediate_task(
        json!([{"ErrorEquals": ["Retryable"], "IntervalSeconds": 5, "MaxAttempts": 2}]),
    ));
    let e = exec
        .execute(&def, "remediation", "inc-1", json!({"id": "inc-1"}))
        .await;
    assert_eq!(e.status, Status::Succeeded, "{:?}", e.error);
    assert_eq!(
        e.output,
        Some(json!({"id": "inc-1", "step": {"changed": true}}))
    );
    assert_eq!(
        kinds(&e),
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskFailed",
            "TaskScheduled",
            "TaskStarted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
    // Each event follows the one before it, and ids count from 1.
    for (i, ev) in e.history.iter().enumerate() {
        assert_eq!(ev.id, i as u64 + 1);
        assert_eq!(ev.previous_event_id, i as u64);
    }
    let calls = calls.lock().unwrap();
    assert_eq!(
        (calls[1] - calls[0]).num_seconds(),
        5,
        "IntervalSeconds before the first retry"
    );
    let failed = &e.history[4];
    assert_eq!(failed.details.as_ref().unwrap().1["error"], "Retryable");
}

#[tokio::test]
async fn backoff_multiplies_and_is_capped_by_max_delay() {
    let clock = Clock::virtual_at(t0());
    let calls = Arc::new(Mutex::new(Vec::new()));
    let exec = Executor::new(Arc::new(flaky(3, clock.clone(), calls.clone())), clock);
    let retry = json!([{"ErrorEquals": ["Retryable"], "IntervalSeconds": 2, "BackoffRate": 3.0, "MaxDelaySeconds": 10, "MaxAttempts": 3}]);
    let e = exec
        .execute(
            &definition(remediate_task(retry)),
            "remediation",
            "inc-1",
            json!({}),
        )
        .await;
    assert_eq!(e.status, Status::Succeeded);
    let calls = calls.lock().unwrap();
    let gaps: Vec<i64> = calls
        .windows(2)
        .map(|w| (w[1] - w[0]).num_seconds())
        .collect();
    assert_eq!(gaps, [2, 6, 10]);
}

#[tokio::test]
async fn max_attempts_counts_retries_and_then_the_error_fails_the_execution() {
    let clock = Clock::virtual_at(t0());
    let calls = Arc::new(Mutex::new(Vec::new()));
    let exec = Executor::new(Arc::new(flaky(10, clock.clone(), calls.clone())), clock);
    let e = exec
        .execute(
            &definition(remediate_task(
                json!([{"ErrorEquals": ["Retryable"], "MaxAttempts": 2}]),
            )),
            "remediation",
            "inc-1",
            json!({}),
        )
        .await;
    assert_eq!(e.status, Status::Failed);
    assert_eq!(
        calls.lock().unwrap().len(),
        3,
        "one attempt and two retries"
    );
    let err = e.error.unwrap();
    assert_eq!(err.error, "Retryable");
    let cause: Value = serde_json::from_str(&err.cause).unwrap();
    assert_eq!(cause["errorMessage"], "409 Conflict");
}

#[tokio::test]
async fn full_jitter_keeps_each_delay_within_the_computed_interval() {
    let clock = Clock::virtual_at(t0());
    let calls = Arc::new(Mutex::new(Vec::new()));
    let exec = Executor::new(Arc::new(flaky(4, clock.clone(), calls.clone())), clock);
    let retry = json!([{"ErrorEquals": ["Retryable"], "IntervalSeconds": 10, "BackoffRate": 2.0, "MaxAttempts": 4, "JitterStrategy": "FULL"}]);
    let e = exec
        .execute(
            &definition(remediate_task(retry)),
            "remediation",
            "inc-1",
            json!({}),
        )
        .await;
    assert_eq!(e.status, Status::Succeeded);
    let calls = calls.lock().unwrap();
    for (i, w) in calls.windows(2).enumerate() {
        let gap = (w[1] - w[0]).num_milliseconds();
        let max = 10_000 * 2i64.pow(i as u32);
        assert!(
            (0..=max).contains(&gap),
            "retry {i}: {gap} ms not in [0, {max}]"
        );
    }
}

#[tokio::test]
async fn a_one_hour_wait_takes_no_wall_time_but_an_hour_of_history() {
    let clock = Clock::virtual_at(t0());
    let exec = Executor::new(Arc::new(InProcess::new()), clock);
    let def = definition(
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": true}}}),
    );
    let wall = std::time::Instant::now();
    let e = exec.execute(&def, "m", "inc-1", json!({})).await;
    assert!(wall.elapsed() < Duration::from_secs(2));
    assert_eq!((e.stop_date - e.start_date).num_seconds(), 3600);
    assert_eq!(
        kinds(&e),
        [
            "ExecutionStarted",
            "WaitStateEntered",
            "WaitStateExited",
            "ExecutionSucceeded"
        ]
    );
}

fn approval_definition() -> Value {
    json!({"StartAt": "RequestApproval", "States": {
        "RequestApproval": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "notify", "Payload": {"token.$": "$$.Task.Token", "incident.$": "$.id"}},
            "TimeoutSeconds": 900, "HeartbeatSeconds": 120, "ResultPath": "$.approval",
            "Catch": [{"ErrorEquals": ["Rejected"], "ResultPath": "$.approval", "Next": "Escalate"},
                      {"ErrorEquals": ["States.Timeout", "States.HeartbeatTimeout"], "ResultPath": "$.approval", "Next": "Escalate"}],
            "Next": "Act"},
        "Act": {"Type": "Pass", "End": true},
        "Escalate": {"Type": "Fail", "Error": "Escalated", "CausePath": "$.approval.Error"}}})
}

/// The notify handler: hands the token it was given to the test.
fn notify(tokens: tokio::sync::mpsc::UnboundedSender<String>) -> InProcess {
    InProcess::new().with("notify", move |payload: Value| {
        tokens
            .send(payload["token"].as_str().unwrap().to_owned())
            .unwrap();
        async { Ok(json!({"posted": true})) }
    })
}

#[tokio::test]
async fn an_approval_after_ten_minutes_continues_the_execution() {
    let clock = Clock::virtual_at(t0());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let exec = Arc::new(Executor::new(Arc::new(notify(tx)), clock.clone()));
    let approver = {
        let (exec, clock) = (exec.clone(), clock.clone());
        tokio::spawn(async move {
            let token = rx.recv().await.unwrap();
            for _ in 0..5 {
                clock.sleep(Duration::from_secs(100)).await;
                exec.send_task_heartbeat(&token).unwrap();
            }
            clock.sleep(Duration::from_secs(100)).await;
            exec.send_task_success(&token, json!({"approved_by": "U123"}))
                .unwrap();
            token
        })
    };
    let e = exec
        .execute(
            &definition(approval_definition()),
            "m",
            "inc-1",
            json!({"id": "inc-1"}),
        )
        .await;
    assert_eq!(e.status, Status::Succeeded, "{:?}", e.error);
    assert_eq!(
        e.output.clone().unwrap()["approval"],
        json!({"approved_by": "U123"})
    );
    assert_eq!(
        (e.stop_date - e.start_date).num_seconds(),
        600,
        "heartbeats kept a 120 s heartbeat alive for 10 minutes"
    );
    assert!(kinds(&e).contains(&"TaskSubmitted"));
    let token = approver.await.unwrap();
    assert_eq!(
        exec.send_task_success(&token, json!({})),
        Err(TokenError::TaskTimedOut)
    );
    assert_eq!(
        exec.send_task_success("AQBnope", json!({})),
        Err(TokenError::InvalidToken)
    );
}

#[tokio::test]
async fn a_rejection_escalates_and_never_acts() {
    let clock = Clock::virtual_at(t0());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let exec = Arc::new(Executor::new(Arc::new(notify(tx)), clock));
    let rejecter = {
        let exec = exec.clone();
        tokio::spawn(async move {
            let token = rx.recv().await.unwrap();
            // While it waits, its history so far is there to read, as GetExecutionHistory's.
            let waiting = exec.history("inc-1").unwrap();
            assert_eq!(waiting.first().unwrap().kind, "ExecutionStarted");
            assert!(
                waiting.iter().any(|h| h.kind == "TaskScheduled"),
                "{waiting:?}"
            );
            exec.send_task_failure(&token, "Rejected", "U123 rejected the drain")
                .unwrap();
        })
    };
    let e = exec
        .execute(
            &definition(approval_definition()),
            "m",
            "inc-1",
            json!({"id": "inc-1"}),
        )
        .await;
    rejecter.await.unwrap();
    assert!(
        exec.history("inc-1").is_none(),
        "an ended execution is not running"
    );
    assert_eq!(e.status, Status::Failed);
    assert_eq!(e.error.unwrap().error, "Escalated");
    assert!(
        !e.history.iter().any(|h| h.state_name() == Some("Act")),
        "the step never ran"
    );
}

#[tokio::test]
async fn no_answer_times_out_after_the_heartbeat_in_virtual_time() {
    let clock = Clock::virtual_at(t0());
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let exec = Executor::new(Arc::new(notify(tx)), clock);
    let e = exec
        .execute(
            &definition(approval_definition()),
            "m",
            "inc-1",
            json!({"id": "inc-1"}),
        )
        .await;
    assert_eq!(e.status, Status::Failed);
    assert_eq!(e.error.clone().unwrap().cause, "States.HeartbeatTimeout");
    assert_eq!((e.stop_date - e.start_date).num_seconds(), 120);
    assert!(kinds(&e).contains(&"TaskTimedOut"));
    assert!(exec.pending_tokens().is_empty(), "the token is closed");
}

#[tokio::test]
async fn a_slow_handler_times_out_in_real_time() {
    let handler = InProcess::new().with("remediate", |_| async {
        tokio::time::sleep(Duration::from_secs(30)).await;
        Ok(json!({}))
    });
    let exec = Executor::new(Arc::new(handler), Clock::real());
    let mut def = remediate_task(json!([]));
    def["States"]["Remediate"]["TimeoutSeconds"] = json!(1);
    let e = tokio::time::timeout(
        Duration::from_secs(10),
        exec.execute(&definition(def), "m", "inc-1", json!({})),
    )
    .await
    .unwrap();
    assert_eq!(e.status, Status::Failed);
    assert_eq!(e.error.clone().unwrap().error, "States.Timeout");
    assert!(kinds(&e).contains(&"TaskTimedOut"));
}

#[tokio::test]
async fn map_respects_max_concurrency_and_keeps_order() {
    for (max, expected_peak) in [(1, 1), (2, 2), (0, 5)] {
        let clock = Clock::virtual_at(t0());
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let handler = {
            let (running, peak) = (running.clone(), peak.clone());
            InProcess::new().with("remediate", move |p: Value| {
                let (running, peak) = (running.clone(), peak.clone());
                async move {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    tokio::task::yield_now().await;
                    running.fetch_sub(1, Ordering::SeqCst);
                    Ok(json!({"step": p["step"]}))
                }
            })
        };
        let exec = Executor::new(Arc::new(handler), clock);
        let def = definition(
            json!({"StartAt": "Steps", "States": {"Steps": {"Type": "Map", "ItemsPath": "$.steps", "MaxConcurrency": max,
            "ItemSelector": {"step.$": "$$.Map.Item.Value"},
            "ItemProcessor": {"StartAt": "Do", "States": {"Do": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:remediate", "End": true}}},
            "End": true}}}),
        );
        let e = exec
            .execute(&def, "m", "inc-1", json!({"steps": [1, 2, 3, 4, 5]}))
            .await;
        assert_eq!(e.status, Status::Succeeded);
        assert_eq!(
            e.output,
            Some(json!([{"step": 1}, {"step": 2}, {"step": 3}, {"step": 4}, {"step": 5}]))
        );
        assert_eq!(
            peak.load(Ordering::SeqCst),
            expected_peak,
            "MaxConcurrency {max}"
        );
        let iterations = kinds(&e)
            .iter()
            .filter(|k| **k == "MapIterationStarted")
            .count();
        assert_eq!(iterations, 5);
    }
}

#[tokio::test]
async fn waits_inside_concurrent_branches_interleave_in_virtual_time() {
    let clock = Clock::virtual_at(t0());
    let exec = Executor::new(Arc::new(InProcess::new()), clock);
    // State names are unique across the whole machine, branches included.
    let branch = |secs: u64| {
        let name = format!("Wait{secs}");
        json!({"StartAt": name, "States": {name: {"Type": "Wait", "Seconds": secs, "End": true}}})
    };
    let def = definition(
        json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "Branches": [branch(30), branch(10), branch(20)], "End": true}}}),
    );
    let e = exec.execute(&def, "m", "inc-1", json!({})).await;
    assert_eq!(
        (e.stop_date - e.start_date).num_seconds(),
        30,
        "branches wait concurrently"
    );
    let exits: Vec<i64> = e
        .history
        .iter()
        .filter(|h| h.kind == "WaitStateExited")
        .map(|h| (h.timestamp - t0()).num_seconds())
        .collect();
    assert_eq!(exits, [10, 20, 30]);
}

#[tokio::test]
async fn an_unknown_function_fails_with_lambdas_error_name() {
    let exec = Executor::new(Arc::new(InProcess::new()), Clock::virtual_at(t0()));
    let e = exec
        .execute(
            &definition(remediate_task(json!([]))),
            "m",
            "inc-1",
            json!({}),
        )
        .await;
    assert_eq!(e.error.unwrap().error, "Lambda.ResourceNotFoundException");
}

#[tokio::test]
async fn lambda_invoke_wraps_the_result_as_aws_does() {
    let handler = InProcess::new().with("remediate", |_| async { Ok(json!({"changed": true})) });
    let exec = Executor::new(Arc::new(handler), Clock::virtual_at(t0()));
    let def = definition(
        json!({"StartAt": "R", "States": {"R": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:remediate:live", "Payload": {}}, "End": true}}}),
    );
    let out = exec
        .execute(&def, "m", "inc-1", json!({}))
        .await
        .output
        .unwrap();
    assert_eq!(out["Payload"], json!({"changed": true}));
    assert_eq!(out["StatusCode"], 200);
    assert_eq!(out["ExecutedVersion"], "$LATEST");
    assert_eq!(out["SdkHttpMetadata"]["HttpStatusCode"], 200);
}

fn problems(v: Value) -> Vec<String> {
    match Definition::parse(&v.to_string()) {
        Err(selfheal_states::DefinitionError::Invalid(p)) => {
            p.into_iter().map(|p| p.to_string()).collect()
        }
        other => panic!("expected problems, got {other:?}"),
    }
}

#[test]
fn validation_names_each_problem_and_where_it_is() {
    let p = problems(json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Next": "Nowhere"},
        "B": {"Type": "Pass", "End": true},
        "C": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem", "Parameters": {}, "ResultPath": "$.a[*]",
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "B"}, {"ErrorEquals": ["Retryable"], "Next": "B"}], "End": true},
        "D": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken", "Parameters": {"FunctionName": "notify"}, "Next": "B", "End": true}}}));
    let expect = [
        "States.A.Next: no state named \"Nowhere\"",
        "States.B: is not reachable from StartAt",
        "States.C.Catch[0]: States.ALL must be in the last retrier or catcher",
        "States.C.ResultPath: \"$.a[*]\" is not a reference path (no wildcards, filters or slices)",
        "States.C.Resource: unsupported Resource",
        "States.D: needs exactly one of Next or \"End\": true",
        "States.D.Parameters: a .waitForTaskToken task must pass $$.Task.Token",
    ];
    for e in expect {
        assert!(
            p.iter().any(|got| got.starts_with(e)),
            "missing {e:?} in {p:#?}"
        );
    }
}

#[test]
fn unknown_fields_and_jsonata_are_refused_at_parse_time() {
    let err = Definition::parse(
        &json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Nxt": "B", "End": true}}})
            .to_string(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("Nxt"), "{err}");
    let err = Definition::parse(&json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}).to_string()).unwrap_err();
    assert!(err.to_string().contains("JSONata"), "{err}");
}

#[tokio::test]
async fn the_timeline_shows_each_state_its_duration_and_how_it_ended() {
    let clock = Clock::virtual_at(t0());
    let calls = Arc::new(Mutex::new(Vec::new()));
    let exec = Executor::new(Arc::new(flaky(5, clock.clone(), calls)), clock);
    let def = definition(json!({"StartAt": "Wait", "States": {
        "Wait": {"Type": "Wait", "Seconds": 30, "Next": "Remediate"},
        "Remediate": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:remediate",
            "Retry": [{"ErrorEquals": ["Retryable"], "IntervalSeconds": 10, "MaxAttempts": 1}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Escalate"}], "End": true},
        "Escalate": {"Type": "Fail", "Error": "Escalated"}}}));
    let e = exec.execute(&def, "m", "inc-1", json!({})).await;
    let rows: Vec<(String, f64, Option<f64>, String)> = selfheal_states::timeline(&e.history)
        .into_iter()
        .map(|r| (r.state, r.start, r.duration, r.result))
        .collect();
    assert_eq!(
        rows,
        [
            ("Wait".to_string(), 0.0, Some(30.0), "succeeded".to_string()),
            (
                "Remediate".to_string(),
                30.0,
                Some(10.0),
                "caught Retryable".to_string()
            ),
            (
                "Escalate".to_string(),
                40.0,
                None,
                "failed Escalated".to_string()
            ),
        ]
    );
}

#[tokio::test]
async fn map_tolerates_failed_items_up_to_its_threshold() {
    let item_fails = |tolerance: Value| {
        let mut m = json!({"Type": "Map", "ItemsPath": "$.items", "End": true,
            "ItemProcessor": {"StartAt": "C", "States": {
                "C": {"Type": "Choice", "Choices": [{"Variable": "$", "StringEquals": "bad", "Next": "F"}], "Default": "S"},
                "F": {"Type": "Fail", "Error": "NonRetryable", "Cause": "refused"},
                "S": {"Type": "Succeed"}}}});
        m.as_object_mut()
            .unwrap()
            .extend(tolerance.as_object().unwrap().clone());
        definition(json!({"StartAt": "M", "States": {"M": m}}))
    };
    let exec = Executor::new(Arc::new(InProcess::new()), Clock::virtual_at(t0()));
    let input = json!({"items": ["ok", "bad", "ok", "bad"]});
    let e = exec
        .execute(
            &item_fails(json!({"ToleratedFailureCount": 2})),
            "m",
            "inc-1",
            input.clone(),
        )
        .await;
    assert_eq!(e.status, Status::Succeeded);
    assert_eq!(
        e.output.unwrap()[1],
        json!({"Error": "NonRetryable", "Cause": "refused"})
    );
    let e = exec
        .execute(
            &item_fails(json!({"ToleratedFailureCount": 1})),
            "m",
            "inc-1",
            input.clone(),
        )
        .await;
    assert_eq!(
        e.error.unwrap().error,
        "States.ExceedToleratedFailureThreshold"
    );
    let e = exec
        .execute(
            &item_fails(json!({"ToleratedFailurePercentage": 50})),
            "m",
            "inc-1",
            input.clone(),
        )
        .await;
    assert_eq!(e.status, Status::Succeeded, "2 of 4 is 50%");
    let e = exec
        .execute(
            &item_fails(json!({"ToleratedFailurePercentage": 25})),
            "m",
            "inc-1",
            input,
        )
        .await;
    assert_eq!(
        e.error.unwrap().error,
        "States.ExceedToleratedFailureThreshold"
    );
}

#[tokio::test]
async fn dynamodb_get_item_hands_its_parameters_over_and_returns_the_response_as_is() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let handler = InProcess::new().with_service("dynamodb:getItem", {
        let seen = seen.clone();
        move |params| {
            seen.lock().unwrap().push(params);
            async { Ok(json!({"Item": {"enabled": {"BOOL": true}}})) }
        }
    });
    let exec = Executor::new(Arc::new(handler), Clock::virtual_at(t0()));
    let def = definition(json!({"StartAt": "Read", "States": {"Read": {
        "Type": "Task", "Resource": "arn:aws:states:::dynamodb:getItem",
        "Parameters": {"TableName": "selfheal", "Key": {"pk": {"S.$": "$.pk"}}},
        "ResultSelector": {"on.$": "$.Item.enabled.BOOL"}, "ResultPath": "$.kill", "End": true}}}));
    let e = exec
        .execute(&def, "m", "inc-1", json!({"pk": "config"}))
        .await;
    assert_eq!(
        e.output.unwrap(),
        json!({"pk": "config", "kill": {"on": true}})
    );
    assert_eq!(
        *seen.lock().unwrap(),
        [json!({"TableName": "selfheal", "Key": {"pk": {"S": "config"}}})]
    );
    let scheduled = e
        .history
        .iter()
        .find(|h| h.kind == "TaskScheduled")
        .unwrap();
    let (key, details) = scheduled.details.as_ref().unwrap();
    assert_eq!(*key, "taskScheduledEventDetails");
    assert_eq!(details["resourceType"], "dynamodb");
    assert_eq!(details["resource"], "getItem");
}

#[tokio::test]
async fn a_service_integration_nobody_answers_fails_the_task_and_other_services_are_refused() {
    let exec = Executor::new(Arc::new(InProcess::new()), Clock::virtual_at(t0()));
    let read = json!({"StartAt": "Read", "States": {"Read": {
        "Type": "Task", "Resource": "arn:aws:states:::dynamodb:getItem",
        "Parameters": {"TableName": "selfheal"}, "End": true}}});
    let e = exec
        .execute(&definition(read), "m", "inc-1", json!({}))
        .await;
    assert_eq!(e.status, Status::Failed);
    assert_eq!(e.error.unwrap().error, "States.Runtime");
    let put = json!({"StartAt": "Put", "States": {"Put": {
        "Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
        "Parameters": {"TableName": "selfheal"}, "End": true}}});
    let refused = Definition::parse(&put.to_string()).unwrap_err().to_string();
    assert!(refused.contains("unsupported Resource"), "{refused}");
}
