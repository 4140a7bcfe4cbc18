//! The conformance suite: every case under tests/conformance/ run by this executor, compared with
//! the expected result. Expected results come from moto's interpreter (scripts/states-conformance.py
//! --write); where moto contradicts the AWS documentation the case says so (`moto_differs`) and
//! expects what AWS documents.

#![allow(clippy::unwrap_used)] // a panic is the failure report

use std::path::Path;
use std::sync::Arc;

use chrono::DateTime;
use selfheal_states::{Clock, Definition, Executor, Static, Status};
use serde_json::Value;

async fn run_case(path: &Path) -> Result<(), String> {
    let case: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let definition = Definition::parse(&case["definition"].to_string())
        .map_err(|e| format!("definition: {e}"))?;
    let results = case["lambda_results"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let clock = Clock::virtual_at(
        DateTime::parse_from_rfc3339("2026-11-25T21:30:00Z")
            .unwrap()
            .to_utc(),
    );
    let executor = Executor::new(Arc::new(Static::new(results)), clock);
    let execution = executor
        .execute(
            &definition,
            "conformance",
            "conformance",
            case["input"].clone(),
        )
        .await;
    let expected = &case["expected"];
    let status = match execution.status {
        Status::Succeeded => "SUCCEEDED",
        Status::Failed => "FAILED",
        Status::TimedOut => "TIMED_OUT",
    };
    let mut problems = Vec::new();
    if expected["status"] != status {
        problems.push(format!("status {status}, expected {}", expected["status"]));
    }
    // moto prints a bare string output without JSON quotes; the case keeps it as output_text.
    let want_output = match (&expected["output"], &expected["output_text"]) {
        (Value::Null, Value::String(text)) => Some(Value::String(text.clone())),
        (Value::Null, _) if expected.get("output").is_none() => None,
        (v, _) => Some(v.clone()),
    };
    if want_output != execution.output {
        problems.push(format!(
            "output {:?}, expected {:?}",
            execution.output, want_output
        ));
    }
    let error = execution.error.as_ref().map(|e| e.error.clone());
    if expected["error"].as_str().map(str::to_owned) != error {
        problems.push(format!(
            "error {:?} ({:?}), expected {}",
            error,
            execution.error.map(|e| e.cause),
            expected["error"]
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

#[tokio::test]
async fn every_conformance_case_matches_its_expected_result() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    assert!(paths.len() >= 30, "only {} cases", paths.len());
    let mut failures = Vec::new();
    for path in &paths {
        if let Err(e) = run_case(path).await {
            failures.push(format!(
                "{}: {e}",
                path.file_name().unwrap().to_string_lossy()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        paths.len(),
        failures.join("\n")
    );
}
