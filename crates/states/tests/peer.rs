//! A peer's test suite: asl-validator's own JSONPath definitions (tests/asl-validator/, see its
//! README). Validation answers "is this valid Amazon States Language" as asl-validator does on
//! every one of them; what this executor cannot run is a warning there, and a refusal with the
//! reason when it is asked to run it.

use std::path::Path;

use selfheal_states::{Definition, DefinitionError, Severity, validate};

fn cases() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/asl-validator");
    let mut cases: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("tests/asl-validator")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let name = p
                .file_name()
                .and_then(|n| n.to_str())
                .expect("name")
                .to_owned();
            (name, std::fs::read_to_string(&p).expect("read"))
        })
        .collect();
    cases.sort();
    cases
}

#[test]
fn validation_agrees_with_asl_validator_on_every_jsonpath_definition() {
    let cases = cases();
    assert_eq!(cases.len(), 90, "the suite's 90 JSONPath definitions");
    let mut disagreements = Vec::new();
    for (name, text) in &cases {
        let valid = match validate(text) {
            Ok(report) => report.is_valid(),
            Err(_) => false,
        };
        if valid != name.starts_with("valid-") {
            disagreements.push(format!("{name}: {:?}", validate(text)));
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} of {} disagree:\n{}",
        disagreements.len(),
        cases.len(),
        disagreements.join("\n")
    );
}

#[test]
fn valid_definitions_this_executor_cannot_run_are_refused_with_the_reason() {
    let unsupported = [
        ("valid-map-distributed.asl.json", "Distributed Map"),
        ("valid-task-batch.json", "unsupported Resource"),
        ("valid-task-credentials.json", "another role"),
        ("valid-cfn-definition-substitutions.json", "substitution"),
        ("valid-task-intrisic-function.json", "Fn::GetAtt"),
        ("valid-path-array-context.json", "script expression"),
    ];
    let cases = cases();
    for (name, reason) in unsupported {
        let text = &cases.iter().find(|(n, _)| n == name).expect(name).1;
        let report = validate(text).unwrap();
        assert!(report.is_valid(), "{name}");
        assert!(
            report
                .of(Severity::Unsupported)
                .any(|p| p.message.contains(reason)),
            "{name}: {:?}",
            report.problems
        );
        match Definition::parse(text) {
            Err(DefinitionError::Unsupported(problems)) => assert!(!problems.is_empty()),
            other => panic!("{name}: {other:?}"),
        }
    }
    // Everything else that is valid runs here: no warning at all.
    for (name, text) in cases.iter().filter(|(n, _)| n.starts_with("valid-")) {
        if unsupported.iter().any(|(u, _)| u == name) {
            continue;
        }
        let report = validate(text).unwrap();
        if report.problems.is_empty() {
            Definition::parse(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
}
