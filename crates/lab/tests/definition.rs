//! statemachines/remediation.asl.json itself: every state reachable, and the paths moto's
//! interpreter ran (scripts/states-conformance.py --workflow, with its Lambda stand-in's static
//! results) end the same way on crates/states.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::DateTime;
use selfheal_aws::kill_switch;
use selfheal_lab::{TABLE, definition};
use selfheal_states::{Clock, Definition, Executor, Static};
use serde_json::{Value, json};

/// Every state name a machine's states can go to, nested machines included.
fn targets(states: &serde_json::Map<String, Value>, start: &str, out: &mut BTreeSet<String>) {
    let mut todo = vec![start.to_owned()];
    while let Some(name) = todo.pop() {
        if !out.insert(name.clone()) {
            continue;
        }
        let state = &states[&name];
        let mut next: Vec<&Value> = vec![&state["Next"], &state["Default"]];
        next.extend(
            state["Choices"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| &c["Next"]),
        );
        next.extend(
            state["Catch"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| &c["Next"]),
        );
        todo.extend(
            next.into_iter()
                .filter_map(Value::as_str)
                .map(str::to_owned),
        );
        if let Some(inner) = state.get("ItemProcessor").or(state.get("Iterator")) {
            targets(
                inner["States"].as_object().unwrap(),
                inner["StartAt"].as_str().unwrap(),
                out,
            );
        }
    }
}

fn all_states(states: &serde_json::Map<String, Value>, out: &mut BTreeSet<String>) {
    for (name, state) in states {
        out.insert(name.clone());
        if let Some(inner) = state.get("ItemProcessor").or(state.get("Iterator")) {
            all_states(inner["States"].as_object().unwrap(), out);
        }
    }
}

/// Every error the workflow names itself: a Fail state's `Error`, and the `{Error, Cause}` a Pass
/// state places in `$.error`; nested machines included.
fn fail_errors(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(fields) => {
            let error = match fields.get("Type").and_then(Value::as_str) {
                Some("Fail") => fields.get("Error"),
                Some("Pass") => fields.get("Result").and_then(|r| r.get("Error")),
                _ => None,
            };
            if let Some(e) = error.and_then(Value::as_str) {
                out.insert(e.to_owned());
            }
            fields.values().for_each(|v| fail_errors(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| fail_errors(v, out)),
        _ => {}
    }
}

#[test]
fn the_errors_the_workflow_raises_are_the_ones_the_code_matches() {
    let definition: Value = serde_json::from_str(&definition().unwrap()).unwrap();
    let mut raised = BTreeSet::new();
    fail_errors(&definition, &mut raised);
    for name in &raised {
        assert!(
            name.parse::<selfheal_core::WorkflowError>().is_ok(),
            "{name} is raised by the workflow but is no WorkflowError"
        );
    }
    for e in [
        selfheal_core::WorkflowError::CircuitOpen,
        selfheal_core::WorkflowError::Unhealthy,
        selfheal_core::WorkflowError::Escalated,
    ] {
        assert!(
            raised.contains(e.as_str()),
            "the workflow no longer raises {e}"
        );
    }
}

#[test]
fn every_state_is_reachable() {
    let definition: Value = serde_json::from_str(&definition().unwrap()).unwrap();
    let states = definition["States"].as_object().unwrap();
    let mut reached = BTreeSet::new();
    targets(
        states,
        definition["StartAt"].as_str().unwrap(),
        &mut reached,
    );
    let mut declared = BTreeSet::new();
    all_states(states, &mut declared);
    let unreachable: Vec<_> = declared.difference(&reached).collect();
    assert!(unreachable.is_empty(), "unreachable: {unreachable:?}");
    assert!(declared.len() > 20, "{declared:?}");
}

#[tokio::test(flavor = "current_thread")]
async fn the_paths_moto_ran_end_the_same_here() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/moto");
    let definition = Definition::parse(&definition().unwrap()).unwrap();
    let mut cases = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let case: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let results = case["lambda_results"].as_array().unwrap().clone();
        // What moto's DynamoDB answered the kill switch read, for this case's item.
        let read = json!({"TableName": TABLE, "Key": kill_switch::key()});
        let kill = case["kill_switch"].as_bool();
        let dispatcher = Arc::new(Static::new(results).with_service(
            "dynamodb:getItem",
            kill_switch::answer(&read, TABLE, kill).unwrap(),
        ));
        let clock = Clock::virtual_at(
            DateTime::parse_from_rfc3339("2026-11-25T21:30:00Z")
                .unwrap()
                .to_utc(),
        );
        let e = Executor::new(dispatcher.clone(), clock)
            .execute(
                &definition,
                "selfheal-remediation",
                "case",
                case["input"].clone(),
            )
            .await;
        let expected = &case["expected"];
        let name = path.display();
        assert_eq!(
            serde_json::to_value(e.status).unwrap(),
            expected["status"],
            "{name}"
        );
        if let Some(error) = expected.get("error") {
            assert_eq!(
                e.error.as_ref().unwrap().error,
                error.as_str().unwrap(),
                "{name}"
            );
        }
        if let Some(output) = expected.get("output") {
            assert_eq!(e.output.as_ref().unwrap(), output, "{name}");
        }
        let calls = dispatcher.calls();
        assert_eq!(
            calls.len(),
            case["lambda_results"].as_array().unwrap().len(),
            "{name}: every stand-in result used"
        );
        for (_, payload) in calls.iter().filter(|(f, _)| f == "selfheal-remediate") {
            assert_eq!(
                payload["kill_switch"],
                kill.unwrap_or(false),
                "{name}: remediate is handed the switch as read"
            );
        }
        cases += 1;
    }
    assert_eq!(cases, 5);
}

#[test]
fn the_kill_switch_is_read_from_the_item_the_store_writes() {
    let definition: Value = serde_json::from_str(&definition().unwrap()).unwrap();
    let read = &definition["States"]["Steps"]["ItemProcessor"]["States"]["ReadKillSwitch"];
    assert_eq!(read["Resource"], "arn:aws:states:::dynamodb:getItem");
    assert_eq!(
        read["Parameters"],
        json!({"TableName": TABLE, "Key": kill_switch::key(), "ConsistentRead": true})
    );
}

#[test]
fn terraform_fills_the_same_template_variables_as_the_lab() {
    // infra/modules/orchestration renders the template with templatefile(); its variables must
    // be exactly the lab's, or one side leaves a placeholder or passes one the template lacks.
    let tf = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../infra/modules/orchestration/main.tf"
    ))
    .unwrap();
    let start = tf.find("template_vars = {").unwrap();
    let block = &tf[start..start + tf[start..].find('}').unwrap()];
    let mut terraform: Vec<&str> = block
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once('=').map(|(k, _)| k.trim()))
        .collect();
    let mut lab: Vec<&str> = selfheal_lab::LOCAL_NAMES.iter().map(|(k, _)| *k).collect();
    terraform.sort_unstable();
    lab.sort_unstable();
    assert_eq!(terraform, lab);
    let rendered = definition().unwrap();
    assert!(
        !rendered.contains("${"),
        "a placeholder left in the lab's definition"
    );
    assert!(rendered.contains("\"FunctionName\": \"selfheal-remediate\""));
}
