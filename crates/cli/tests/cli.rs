//! The `selfheal` binary as an SRE runs it, from the repository root.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns; a panic is the failure report

use std::path::Path;
use std::process::{Command, Output, Stdio};

use selfheal_testkit::repo;

fn selfheal(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_selfheal"))
        .args(args)
        .current_dir(repo(""))
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn runbooks_check_lists_the_starter_catalog() {
    let out = selfheal(&["runbooks", "check"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for id in [
        "restart-pods",
        "scale-services",
        "rollout-rollback",
        "evict-node",
        "recycle-workers",
    ] {
        assert!(text.contains(id), "{id} missing from\n{text}");
    }
    assert!(text.contains("5 runbooks OK"), "{text}");
}

#[test]
fn every_runbook_is_woken_by_the_repositorys_rules_and_every_automated_rule_has_a_runbook() {
    let out = selfheal(&[
        "runbooks",
        "check",
        "--rules",
        "observability/prometheus/rules",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("restart-pods <- KubePodCrashLooping{severity=warning}"),
        "{text}"
    );
    // An automated alert no runbook answers, and the catalog's runbooks left without a rule.
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("extra.yml");
    std::fs::write(
        &rules,
        "groups:\n  - name: x\n    rules:\n      - alert: DiskFull\n        expr: vector(1)\n        labels: {severity: warning, selfheal: auto}\n",
    )
    .unwrap();
    let out = selfheal(&["runbooks", "check", "--rules", rules.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(
            "alert DiskFull{severity=warning} is marked selfheal: auto, but no runbook matches it"
        ),
        "{err}"
    );
    assert!(
        err.contains("runbook restart-pods: no alert marked selfheal: auto wakes it"),
        "{err}"
    );
}

#[test]
fn runbooks_check_names_file_and_field_of_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(repo("statemachines/runbooks/restart-pods.yaml")).unwrap();
    std::fs::write(
        dir.path().join("restart-pods.yaml"),
        good.replace("max_attempts: 2", "max_attempts: 0"),
    )
    .unwrap();
    std::fs::write(dir.path().join("typo.yaml"), "id: typo\ndescriptin: x\n").unwrap();
    let out = selfheal(&["runbooks", "check", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("restart-pods.yaml: max_attempts: must be 1 to 10 (got 0)"),
        "{err}"
    );
    assert!(
        err.contains("typo.yaml") && err.contains("descriptin"),
        "{err}"
    );
}

#[test]
fn explain_json_has_one_object_per_alert_with_the_documented_keys() {
    let out = selfheal(&[
        "alerts",
        "explain",
        "functions/ingest/fixtures/alertmanager-crashloop-firing.json",
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let mut keys: Vec<_> = rows[0].as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "alertname",
            "decision",
            "incident_id",
            "reasons",
            "runbook",
            "status",
            "target"
        ]
    );
    assert_eq!(rows[0]["decision"], "run");
    assert_eq!(rows[0]["runbook"], "restart-pods");
    assert_eq!(rows[0]["target"]["namespace"], "shop");
}

#[test]
fn explain_exits_zero_for_refused_alerts_and_shows_the_reason() {
    let out = selfheal(&[
        "alerts",
        "explain",
        "functions/ingest/fixtures/alertmanager-kube-system-crashloop-firing.json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(
        text.contains("refuse") && text.contains("namespace kube-system is denied by policy"),
        "{text}"
    );
}

#[test]
fn explain_reads_sns_events_and_standard_input() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_selfheal"))
        .args(["alerts", "explain", "-", "--format", "json"])
        .current_dir(repo(""))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let event = std::fs::read(repo(
        "functions/ingest/fixtures/sns-amp-crashloop-firing.json",
    ))
    .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), &event).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 2);
    assert_eq!(rows[0]["decision"], "run");
}

#[test]
fn an_invalid_payload_exits_2_with_the_reason_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("v3.json");
    std::fs::write(&file, r#"{"version":"3","status":"firing","alerts":[]}"#).unwrap();
    let out = selfheal(&["alerts", "explain", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(r#"unsupported webhook version "3""#),
        "{}",
        stderr(&out)
    );
    assert!(out.stdout.is_empty());
}

fn write(dir: &Path, name: &str, v: &serde_json::Value) -> String {
    let p = dir.join(name);
    std::fs::write(&p, v.to_string()).unwrap();
    p.to_str().unwrap().to_owned()
}

#[test]
fn states_run_prints_the_result_and_history_and_exits_0_even_when_the_execution_failed() {
    let dir = tempfile::tempdir().unwrap();
    let def = write(
        dir.path(),
        "m.asl.json",
        &serde_json::json!({"StartAt": "Wait", "States": {
            "Wait": {"Type": "Wait", "Seconds": 3600, "Next": "Remediate"},
            "Remediate": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "remediate", "Payload.$": "$"}, "ResultSelector": {"p.$": "$.Payload"}, "Next": "Fail"},
            "Fail": {"Type": "Fail", "Error": "Escalated", "Cause": "health never recovered"}}}),
    );
    let input = write(dir.path(), "in.json", &serde_json::json!({"id": "inc-1"}));
    let out = selfheal(&[
        "states",
        "run",
        &def,
        "--input",
        &input,
        "--history",
        "--timeline",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["status"], "FAILED");
    assert_eq!(result["error"], "Escalated");
    assert_eq!(result["cause"], "health never recovered");
    let kinds: Vec<&str> = result["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"ExecutionStarted"));
    assert_eq!(kinds.last(), Some(&"ExecutionFailed"));
    let timeline = stderr(&out);
    assert!(
        timeline.contains("Wait") && timeline.contains("3600.000s"),
        "{timeline}"
    );
}

#[test]
fn states_run_with_static_results_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let def = write(
        dir.path(),
        "m.asl.json",
        &serde_json::json!({"StartAt": "T", "States": {"T": {"Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:health-check", "ResultPath": "$.health", "End": true}}}),
    );
    let results = write(
        dir.path(),
        "results.json",
        &serde_json::json!([{"healthy": true}]),
    );
    let out = selfheal(&[
        "states",
        "run",
        &def,
        "--tasks",
        &format!("static={results}"),
    ]);
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        result,
        serde_json::json!({"status": "SUCCEEDED", "output": {"health": {"healthy": true}}})
    );
}

#[test]
fn states_validate_and_run_exit_2_on_an_invalid_definition() {
    let dir = tempfile::tempdir().unwrap();
    let def = write(
        dir.path(),
        "bad.json",
        &serde_json::json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}}),
    );
    for cmd in ["validate", "run"] {
        let out = selfheal(&["states", cmd, &def]);
        assert_eq!(out.status.code(), Some(2), "{cmd}");
        assert!(
            stderr(&out).contains("States.A.Next: no state named \"B\""),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn valid_asl_this_executor_cannot_run_validates_with_a_warning_and_is_refused_by_run() {
    let dir = tempfile::tempdir().unwrap();
    let def = write(
        dir.path(),
        "batch.json",
        &serde_json::json!({"StartAt": "Job", "States": {"Job": {"Type": "Task",
            "Resource": "arn:aws:states:::batch:submitJob.sync", "Parameters": {"JobName": "x"}, "End": true}}}),
    );
    let out = selfheal(&["states", "validate", &def]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("valid (1 states)"),
        "{}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains("warning: States.Job.Resource"),
        "{}",
        stderr(&out)
    );
    let out = selfheal(&["states", "run", &def]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("this executor cannot run it"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn outside_the_repository_the_compiled_in_catalog_and_policy_answer() {
    let dir = tempfile::tempdir().unwrap();
    let payload = std::fs::read_to_string(repo(
        "functions/ingest/fixtures/alertmanager-crashloop-firing.json",
    ))
    .unwrap();
    std::fs::write(dir.path().join("alert.json"), payload).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_selfheal"))
        .args(["alerts", "explain", "alert.json", "--format", "json"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let explained: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(explained[0]["runbook"], "restart-pods", "{explained}");
    let out = Command::new(env!("CARGO_BIN_EXE_selfheal"))
        .args(["runbooks", "check"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        stdout(&out).contains("runbooks OK in the compiled-in catalog"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn redact_rewrites_standard_input_line_for_line() {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_selfheal"))
        .arg("redact")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"login ana@example.com password=hunter22\npod backend-7d9f8c6b5-x2k4q ok\nagain ana@example.com\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        stdout(&out),
        "login [REDACTED:email:1] password=[REDACTED:secret:1]\npod backend-7d9f8c6b5-x2k4q ok\nagain [REDACTED:email:1]\n"
    );
}

#[test]
fn analyze_names_the_cause_of_a_bundle() {
    let bundle = "functions/analyzer/fixtures/evidence/bad-rollout.json";
    let out = selfheal(&["analyze", bundle, "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let finding: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(finding["cause"], "bad-rollout");
    assert_eq!(finding["provider"], "deterministic");
    for key in ["summary", "key_facts", "next_steps", "confidence"] {
        assert!(!finding[key].is_null(), "{key}");
    }
    let table = selfheal(&["analyze", bundle]);
    assert!(stdout(&table).starts_with("cause       bad-rollout"));
    let bad = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(bad.path(), r#"{"pods": 3}"#).unwrap();
    let out = selfheal(&["analyze", bad.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("pods"));
}

#[test]
fn slack_renders_the_lab_s_messages() {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        file.path(),
        concat!(
            r#"{"text": "Incident opened", "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "Incident: KubePodCrashLooping"}}, {"type": "section", "text": {"type": "mrkdwn", "text": "*Likely cause:* `app-crash`"}}]}"#,
            "\n",
            r#"{"text": "Remediated", "thread_ts": "1.2"}"#,
            "\n"
        ),
    )
    .unwrap();
    let out = selfheal(&["slack", file.path().to_str().unwrap()]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(
        text.contains("Incident: KubePodCrashLooping\n─────"),
        "{text}"
    );
    assert!(text.contains("*Likely cause:* `app-crash`"));
    assert!(text.contains("Remediated"));
}

#[test]
fn analyze_falls_back_to_the_rules_when_the_llm_is_unreachable() {
    // Nothing listens on port 9 of loopback.
    let out = selfheal(&[
        "analyze",
        "functions/analyzer/fixtures/evidence/oom-killed.json",
        "--format",
        "json",
        "--llm",
        "openai",
        "--base-url",
        "http://127.0.0.1:9/v1",
        "--model",
        "llama3.1",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let finding: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(finding["cause"], "oom-killed");
    assert_eq!(finding["provider"], "deterministic");
    assert!(
        finding["fallback_reason"]
            .as_str()
            .unwrap()
            .contains("request"),
        "{finding}"
    );
}
