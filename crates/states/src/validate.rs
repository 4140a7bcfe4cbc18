//! Static checks of a definition, before anything runs: every Next resolves, every state is
//! reachable, transitions are well-formed, paths parse, retriers and catchers are in order, and
//! every Task's resource is one this executor can dispatch.

use std::collections::{BTreeSet, VecDeque};
use std::fmt;

use serde_json::Value;
use thiserror::Error;

use crate::asl::{Catcher, Kind, PathField, Retrier, State, StateMachine};
use crate::error::names;
use crate::{intrinsic, path};

/// What a Task's Resource dispatches to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Integration {
    /// `arn:aws:states:::lambda:invoke`, optionally `.waitForTaskToken`.
    LambdaInvoke {
        /// Pause until a task token is answered.
        wait_for_token: bool,
    },
    /// A Lambda function ARN: the payload goes in and the result comes out as-is.
    LambdaArn,
}

impl Integration {
    /// The integration for a Resource, or why it is not supported here.
    pub fn of(resource: &str) -> Result<Integration, String> {
        let parts: Vec<&str> = resource.split(':').collect();
        match parts.as_slice() {
            ["arn", _partition, "states", "", "", "lambda", "invoke"] => {
                Ok(Integration::LambdaInvoke {
                    wait_for_token: false,
                })
            }
            [
                "arn",
                _partition,
                "states",
                "",
                "",
                "lambda",
                "invoke.waitForTaskToken",
            ] => Ok(Integration::LambdaInvoke {
                wait_for_token: true,
            }),
            [
                "arn",
                _partition,
                "lambda",
                _region,
                _account,
                "function",
                _name,
                ..,
            ] => Ok(Integration::LambdaArn),
            _ => Err(format!(
                "unsupported Resource {resource:?}: this executor runs lambda:invoke, lambda:invoke.waitForTaskToken and Lambda function ARNs"
            )),
        }
    }
}

/// One problem in a definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where, e.g. `States.Remediate.Catch[0].Next`.
    pub at: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

/// Why a definition cannot run.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum DefinitionError {
    /// Not valid JSON, or not the shape of a state machine.
    #[error("not a valid state machine: {0}")]
    Parse(String),
    /// Parsed, but with problems.
    #[error("{} problem(s):\n{}", .0.len(), .0.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Problem>),
}

/// A definition that parsed and passed every check.
#[derive(Debug, Clone, PartialEq)]
pub struct Definition {
    machine: StateMachine,
}

impl Definition {
    /// Parses and validates.
    pub fn parse(text: &str) -> Result<Definition, DefinitionError> {
        let raw: Value =
            serde_json::from_str(text).map_err(|e| DefinitionError::Parse(e.to_string()))?;
        if raw.get("QueryLanguage").and_then(Value::as_str) == Some("JSONata") {
            return Err(DefinitionError::Parse(
                "QueryLanguage JSONata is not supported; use JSONPath".into(),
            ));
        }
        let machine: StateMachine =
            serde_json::from_value(raw).map_err(|e| DefinitionError::Parse(e.to_string()))?;
        let mut problems = Vec::new();
        check_machine(&machine, "", &mut problems);
        if problems.is_empty() {
            Ok(Definition { machine })
        } else {
            Err(DefinitionError::Invalid(problems))
        }
    }

    /// The state machine.
    pub fn machine(&self) -> &StateMachine {
        &self.machine
    }
}

fn check_machine(m: &StateMachine, prefix: &str, out: &mut Vec<Problem>) {
    let at = |rest: &str| format!("{prefix}{rest}");
    let push =
        |out: &mut Vec<Problem>, at: String, message: String| out.push(Problem { at, message });
    if !m.states.contains_key(&m.start_at) {
        push(
            out,
            at("StartAt"),
            format!("no state named {:?}", m.start_at),
        );
    }
    if m.timeout_seconds == Some(0) {
        push(out, at("TimeoutSeconds"), "must be positive".into());
    }
    for (name, state) in &m.states {
        let here = at(&format!("States.{name}"));
        if name.is_empty() || name.len() > 80 {
            push(
                out,
                here.clone(),
                "a state name must be 1 to 80 characters".into(),
            );
        }
        for (field, target) in targets(state) {
            if !m.states.contains_key(&target) {
                push(
                    out,
                    format!("{here}.{field}"),
                    format!("no state named {target:?}"),
                );
            }
        }
        check_state(state, &here, &mut |a, msg| {
            out.push(Problem {
                at: a,
                message: msg,
            })
        });
        match &state.kind {
            Kind::Parallel(p) => {
                for (i, b) in p.branches.iter().enumerate() {
                    check_machine(b, &format!("{here}.Branches[{i}]."), out);
                }
            }
            Kind::Map(map) => {
                if let Some(proc) = map.processor() {
                    check_machine(proc, &format!("{here}.ItemProcessor."), out);
                }
            }
            _ => {}
        }
    }
    // Reachability from StartAt.
    let mut seen = BTreeSet::new();
    let mut queue = VecDeque::from([m.start_at.clone()]);
    while let Some(name) = queue.pop_front() {
        if !seen.insert(name.clone()) {
            continue;
        }
        if let Some(state) = m.states.get(&name) {
            queue.extend(targets(state).into_iter().map(|(_, t)| t));
        }
    }
    for name in m.states.keys().filter(|n| !seen.contains(*n)) {
        push(
            out,
            at(&format!("States.{name}")),
            "is not reachable from StartAt".into(),
        );
    }
}

fn targets(state: &State) -> Vec<(String, String)> {
    let mut t = Vec::new();
    if let Some(n) = &state.flow.next {
        t.push(("Next".to_owned(), n.clone()));
    }
    if let Kind::Choice(c) = &state.kind {
        for (i, rule) in c.choices.iter().enumerate() {
            if let Some(n) = &rule.next {
                t.push((format!("Choices[{i}].Next"), n.clone()));
            }
        }
        if let Some(d) = &c.default {
            t.push(("Default".to_owned(), d.clone()));
        }
    }
    for (i, c) in state.catchers().iter().enumerate() {
        t.push((format!("Catch[{i}].Next"), c.next.clone()));
    }
    t
}

fn check_state(state: &State, here: &str, add: &mut impl FnMut(String, String)) {
    let terminal = matches!(state.kind, Kind::Choice(_) | Kind::Succeed | Kind::Fail(_));
    if terminal {
        if state.flow.next.is_some() || state.flow.end.is_some() {
            add(
                here.to_owned(),
                format!("a {} state takes neither Next nor End", state.type_name()),
            );
        }
    } else if state.flow.transition().is_none() {
        add(
            here.to_owned(),
            "needs exactly one of Next or \"End\": true".into(),
        );
    }
    for (field, p) in [
        ("InputPath", &state.io.input_path),
        ("OutputPath", &state.io.output_path),
    ] {
        if let PathField::Path(p) = p {
            check_query(p, &format!("{here}.{field}"), add);
        }
    }
    check_retry_catch(state.retriers(), state.catchers(), here, add);
    match &state.kind {
        Kind::Task(t) => {
            let integration = Integration::of(&t.resource);
            if let Err(e) = &integration {
                add(format!("{here}.Resource"), e.clone());
            }
            if let Some(p) = &t.parameters {
                check_template(p, &format!("{here}.Parameters"), add);
                if integration
                    == Ok(Integration::LambdaInvoke {
                        wait_for_token: true,
                    })
                    && !p.to_string().contains("$$.Task.Token")
                {
                    add(
                        format!("{here}.Parameters"),
                        "a .waitForTaskToken task must pass $$.Task.Token".into(),
                    );
                }
            } else if matches!(integration, Ok(Integration::LambdaInvoke { .. })) {
                add(
                    format!("{here}.Parameters"),
                    "lambda:invoke needs Parameters with FunctionName".into(),
                );
            }
            if let Some(s) = &t.result_selector {
                check_template(s, &format!("{here}.ResultSelector"), add);
            }
            check_result_path(&t.result_path, here, add);
            if t.timeout_seconds.is_some() && t.timeout_seconds_path.is_some() {
                add(
                    here.to_owned(),
                    "TimeoutSeconds and TimeoutSecondsPath are exclusive".into(),
                );
            }
            if t.heartbeat_seconds.is_some() && t.heartbeat_seconds_path.is_some() {
                add(
                    here.to_owned(),
                    "HeartbeatSeconds and HeartbeatSecondsPath are exclusive".into(),
                );
            }
            if t.timeout_seconds == Some(0) || t.heartbeat_seconds == Some(0) {
                add(
                    here.to_owned(),
                    "TimeoutSeconds and HeartbeatSeconds must be positive".into(),
                );
            }
            if let (Some(h), Some(to)) = (t.heartbeat_seconds, t.timeout_seconds)
                && h >= to
            {
                add(
                    format!("{here}.HeartbeatSeconds"),
                    "must be smaller than TimeoutSeconds".into(),
                );
            }
        }
        Kind::Pass(p) => {
            if let Some(t) = &p.parameters {
                check_template(t, &format!("{here}.Parameters"), add);
            }
            check_result_path(&p.result_path, here, add);
        }
        Kind::Choice(c) => {
            if c.choices.is_empty() {
                add(format!("{here}.Choices"), "needs at least one rule".into());
            }
        }
        Kind::Wait(w) => {
            let given = [
                w.seconds.is_some(),
                w.seconds_path.is_some(),
                w.timestamp.is_some(),
                w.timestamp_path.is_some(),
            ];
            if given.iter().filter(|g| **g).count() != 1 {
                add(
                    here.to_owned(),
                    "needs exactly one of Seconds, SecondsPath, Timestamp, TimestampPath".into(),
                );
            }
            if let Some(ts) = &w.timestamp
                && chrono::DateTime::parse_from_rfc3339(ts).is_err()
            {
                add(
                    format!("{here}.Timestamp"),
                    format!("{ts:?} is not an RFC 3339 timestamp"),
                );
            }
            for p in [&w.seconds_path, &w.timestamp_path].into_iter().flatten() {
                check_query(p, here, add);
            }
        }
        Kind::Fail(f) => {
            if f.error.is_some() && f.error_path.is_some() {
                add(here.to_owned(), "Error and ErrorPath are exclusive".into());
            }
            if f.cause.is_some() && f.cause_path.is_some() {
                add(here.to_owned(), "Cause and CausePath are exclusive".into());
            }
        }
        Kind::Parallel(p) => {
            if p.branches.is_empty() {
                add(
                    format!("{here}.Branches"),
                    "needs at least one branch".into(),
                );
            }
            if let Some(t) = &p.parameters {
                check_template(t, &format!("{here}.Parameters"), add);
            }
            check_result_path(&p.result_path, here, add);
        }
        Kind::Map(m) => {
            match (&m.item_processor, &m.iterator) {
                (None, None) => add(here.to_owned(), "needs an ItemProcessor".into()),
                (Some(_), Some(_)) => add(
                    here.to_owned(),
                    "ItemProcessor and Iterator are exclusive".into(),
                ),
                _ => {}
            }
            if m.item_selector.is_some() && m.parameters.is_some() {
                add(
                    here.to_owned(),
                    "ItemSelector and Parameters are exclusive".into(),
                );
            }
            if let Some(t) = m.selector() {
                check_template(t, &format!("{here}.ItemSelector"), add);
            }
            if let Some(p) = &m.items_path {
                check_query(p, &format!("{here}.ItemsPath"), add);
            }
            if m.tolerated_failure_percentage
                .is_some_and(|p| !(0.0..=100.0).contains(&p))
            {
                add(
                    format!("{here}.ToleratedFailurePercentage"),
                    "must be 0 to 100".into(),
                );
            }
            check_result_path(&m.result_path, here, add);
        }
        Kind::Succeed => {}
    }
}

fn check_retry_catch(
    retriers: &[Retrier],
    catchers: &[Catcher],
    here: &str,
    add: &mut impl FnMut(String, String),
) {
    let lists: Vec<(String, &Vec<String>)> = retriers
        .iter()
        .enumerate()
        .map(|(i, r)| (format!("{here}.Retry[{i}]"), &r.error_equals))
        .chain(
            catchers
                .iter()
                .enumerate()
                .map(|(i, c)| (format!("{here}.Catch[{i}]"), &c.error_equals)),
        )
        .collect();
    let last_retry = retriers.len().checked_sub(1);
    let last_catch = catchers.len().checked_sub(1);
    for (i, (at, equals)) in lists.iter().enumerate() {
        if equals.is_empty() {
            add(at.clone(), "ErrorEquals must not be empty".into());
        }
        if equals.iter().any(|e| e == names::ALL) {
            let is_last = if i < retriers.len() {
                Some(i) == last_retry
            } else {
                Some(i - retriers.len()) == last_catch
            };
            if equals.len() > 1 {
                add(
                    at.clone(),
                    "States.ALL must appear alone in ErrorEquals".into(),
                );
            }
            if !is_last {
                add(
                    at.clone(),
                    "States.ALL must be in the last retrier or catcher".into(),
                );
            }
        }
    }
    for (i, r) in retriers.iter().enumerate() {
        if r.backoff_rate < 1.0 {
            add(
                format!("{here}.Retry[{i}].BackoffRate"),
                "must be at least 1.0".into(),
            );
        }
        if r.interval_seconds == 0 {
            add(
                format!("{here}.Retry[{i}].IntervalSeconds"),
                "must be positive".into(),
            );
        }
    }
    for (i, c) in catchers.iter().enumerate() {
        check_result_path(&c.result_path, &format!("{here}.Catch[{i}]"), add);
    }
}

fn check_result_path(p: &PathField, here: &str, add: &mut impl FnMut(String, String)) {
    if let PathField::Path(p) = p
        && !path::is_reference_path(p)
    {
        add(
            format!("{here}.ResultPath"),
            format!("{p:?} is not a reference path (no wildcards, filters or slices)"),
        );
    }
}

fn check_query(p: &str, at: &str, add: &mut impl FnMut(String, String)) {
    if !(p.starts_with('$')) {
        add(at.to_owned(), format!("{p:?} is not a path"));
        return;
    }
    // A query against nothing finds nothing; only a syntax error is a problem here.
    if let Err(e) = path::query(p, &Value::Null, &Value::Null.into())
        && e.cause.starts_with("invalid JSONPath")
    {
        add(at.to_owned(), e.cause);
    }
}

fn check_template(t: &Value, at: &str, add: &mut impl FnMut(String, String)) {
    match t {
        Value::Object(fields) => {
            for (k, v) in fields {
                let here = format!("{at}.{k}");
                if k.ends_with(".$") {
                    match v {
                        Value::String(s) if intrinsic::is_intrinsic(s) => {
                            if let Err(e) = intrinsic::check(s) {
                                add(here, e.cause);
                            }
                        }
                        Value::String(s) => check_query(s, &here, add),
                        other => add(
                            here,
                            format!("must be a path or an intrinsic function, got {other}"),
                        ),
                    }
                } else {
                    check_template(v, &here, add);
                }
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                check_template(v, &format!("{at}[{i}]"), add);
            }
        }
        _ => {}
    }
}
