//! Static checks of a definition, before anything runs: every Next resolves, every state is
//! reachable, transitions are well-formed, paths parse, retriers and catchers are in order, and
//! every Task's resource is one this executor can dispatch.

use std::collections::{BTreeSet, VecDeque};
use std::fmt;

use serde_json::Value;
use thiserror::Error;

use crate::asl::{Catcher, Kind, PathField, ProcessorMode, Resource, Retrier, State, StateMachine};
use crate::error::names;
use crate::{intrinsic, path, strict_json};

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
    /// An optimized service integration (`arn:aws:states:::dynamodb:getItem`): Parameters are
    /// the API request, the result is the API response.
    Service {
        /// `dynamodb`.
        service: &'static str,
        /// `getItem`.
        action: &'static str,
    },
}

/// The service integrations this executor runs, beside Lambda: reading a configuration item
/// (the kill switch) needs no function of its own.
const SERVICES: [(&str, &str); 1] = [("dynamodb", "getItem")];

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
            ["arn", _partition, "states", "", "", service, action] => SERVICES
                .iter()
                .find(|(s, a)| s == service && a == action)
                .map(|&(service, action)| Integration::Service { service, action })
                .ok_or_else(|| unsupported(resource)),
            _ => Err(unsupported(resource)),
        }
    }
}

fn unsupported(resource: &str) -> String {
    format!(
        "unsupported Resource {resource:?}: this executor runs lambda:invoke, lambda:invoke.waitForTaskToken, Lambda function ARNs and dynamodb:getItem"
    )
}

/// How much a problem matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Not valid Amazon States Language: Step Functions would refuse the definition.
    Invalid,
    /// Valid, but this executor cannot run it (another service integration, a Distributed Map,
    /// a CloudFormation substitution, a Jayway script expression).
    Unsupported,
}

/// One problem in a definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where, e.g. `States.Remediate.Catch[0].Next`.
    pub at: String,
    /// What is wrong.
    pub message: String,
    /// Invalid ASL, or valid ASL this executor cannot run.
    pub severity: Severity,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

/// The problems found so far.
#[derive(Debug, Default)]
struct Problems(Vec<Problem>);

impl Problems {
    fn invalid(&mut self, at: impl Into<String>, message: impl Into<String>) {
        self.push(at, message, Severity::Invalid);
    }

    fn unsupported(&mut self, at: impl Into<String>, message: impl Into<String>) {
        self.push(at, message, Severity::Unsupported);
    }

    fn push(&mut self, at: impl Into<String>, message: impl Into<String>, severity: Severity) {
        self.0.push(Problem {
            at: at.into(),
            message: message.into(),
            severity,
        });
    }
}

/// What validation found: whether the definition is valid ASL, and what of it this executor
/// cannot run.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Every problem, in the order found.
    pub problems: Vec<Problem>,
    /// Every state, nested ones included.
    pub states: usize,
}

impl Report {
    /// Valid Amazon States Language (warnings about what cannot run here aside).
    pub fn is_valid(&self) -> bool {
        !self
            .problems
            .iter()
            .any(|p| p.severity == Severity::Invalid)
    }

    /// The problems of one severity.
    pub fn of(&self, severity: Severity) -> impl Iterator<Item = &Problem> {
        self.problems.iter().filter(move |p| p.severity == severity)
    }
}

fn listed(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Why a definition cannot run.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum DefinitionError {
    /// Not valid JSON, not the shape of a state machine, or JSONata.
    #[error("not a valid state machine: {0}")]
    Parse(String),
    /// Not valid ASL (every problem is listed, the unsupported ones too).
    #[error("{} problem(s):\n{}", .0.len(), listed(.0))]
    Invalid(Vec<Problem>),
    /// Valid ASL that this executor cannot run.
    #[error("valid, but this executor cannot run it:\n{}", listed(.0))]
    Unsupported(Vec<Problem>),
}

/// Checks `text` as Amazon States Language (JSONPath): duplicate keys, the shape of every state,
/// transitions, paths, intrinsic functions; and notes what this executor cannot run. `Err` only
/// when it is not JSON, not a state machine at all, or JSONata (which is not judged here).
pub fn validate(text: &str) -> Result<Report, DefinitionError> {
    validated(text).map(|(_, report)| report)
}

fn validated(text: &str) -> Result<(StateMachine, Report), DefinitionError> {
    let mut out = Problems::default();
    let (raw, duplicates) =
        strict_json::parse(text).map_err(|e| DefinitionError::Parse(e.to_string()))?;
    for at in duplicates {
        out.invalid(at, "this key is given twice (only one can count)");
    }
    if let Some(at) = jsonata(&raw, "") {
        return Err(DefinitionError::Parse(format!(
            "{at}QueryLanguage JSONata is not supported: this executor and its validator read \
             JSONPath definitions only"
        )));
    }
    let machine: StateMachine =
        serde_json::from_value(raw).map_err(|e| DefinitionError::Parse(e.to_string()))?;
    check_machine(&machine, "", &mut out);
    check_unique_names(&machine, &mut out);
    let report = Report {
        states: count_states(&machine),
        problems: out.0,
    };
    Ok((machine, report))
}

/// Where a definition asks for JSONata (the machine or any state), if it does.
fn jsonata(v: &Value, at: &str) -> Option<String> {
    match v {
        Value::Object(fields) => {
            if fields.get("QueryLanguage").and_then(Value::as_str) == Some("JSONata") {
                return Some(at.to_owned());
            }
            fields
                .iter()
                .find_map(|(k, v)| jsonata(v, &format!("{at}{k}.")))
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| jsonata(v, &format!("{at}[{i}]."))),
        _ => None,
    }
}

/// A definition that is valid ASL and that this executor can run.
#[derive(Debug, Clone, PartialEq)]
pub struct Definition {
    machine: StateMachine,
}

impl Definition {
    /// Parses and validates; refuses what is invalid, and what is valid but cannot run here.
    pub fn parse(text: &str) -> Result<Definition, DefinitionError> {
        let (machine, report) = validated(text)?;
        if !report.is_valid() {
            return Err(DefinitionError::Invalid(report.problems));
        }
        if !report.problems.is_empty() {
            return Err(DefinitionError::Unsupported(report.problems));
        }
        Ok(Definition { machine })
    }

    /// The state machine.
    pub fn machine(&self) -> &StateMachine {
        &self.machine
    }
}

/// Every state of the machine and of its branches and item processors.
fn count_states(m: &StateMachine) -> usize {
    m.states
        .values()
        .map(|s| 1 + children(s).map(count_states).sum::<usize>())
        .sum()
}

/// The machines nested in a state: Parallel branches, a Map's item processor.
fn children(state: &State) -> impl Iterator<Item = &StateMachine> {
    let (branches, processor): (&[StateMachine], Option<&StateMachine>) = match &state.kind {
        Kind::Parallel(p) => (&p.branches, None),
        Kind::Map(m) => (&[], m.processor()),
        _ => (&[], None),
    };
    branches.iter().chain(processor)
}

/// State names are unique in the whole state machine, nested ones included.
fn check_unique_names(m: &StateMachine, out: &mut Problems) {
    fn walk<'a>(m: &'a StateMachine, seen: &mut BTreeSet<&'a str>, out: &mut Problems) {
        for (name, state) in &m.states {
            if !seen.insert(name) {
                out.invalid(
                    format!("States.{name}"),
                    "state names must be unique in the whole state machine, branches and item processors included",
                );
            }
            for child in children(state) {
                walk(child, seen, out);
            }
        }
    }
    walk(m, &mut BTreeSet::new(), out);
}

fn check_machine(m: &StateMachine, prefix: &str, out: &mut Problems) {
    let at = |rest: &str| format!("{prefix}{rest}");
    if !m.states.contains_key(&m.start_at) {
        out.invalid(at("StartAt"), format!("no state named {:?}", m.start_at));
    }
    if m.timeout_seconds == Some(0) {
        out.invalid(at("TimeoutSeconds"), "must be positive");
    }
    let ends =
        |s: &State| matches!(s.kind, Kind::Succeed | Kind::Fail(_)) || s.flow.end == Some(true);
    if !m.states.values().any(ends) {
        out.invalid(
            at("States"),
            "no state ends the machine (End: true, Succeed or Fail)",
        );
    }
    for (name, state) in &m.states {
        let here = at(&format!("States.{name}"));
        if name.is_empty() || name.len() > 80 {
            out.invalid(here.clone(), "a state name must be 1 to 80 characters");
        }
        for (field, target) in targets(state) {
            if !m.states.contains_key(&target) {
                out.invalid(
                    format!("{here}.{field}"),
                    format!("no state named {target:?}"),
                );
            }
        }
        check_state(state, &here, out);
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
        out.invalid(
            at(&format!("States.{name}")),
            "is not reachable from StartAt",
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

fn check_state(state: &State, here: &str, out: &mut Problems) {
    let terminal = matches!(state.kind, Kind::Choice(_) | Kind::Succeed | Kind::Fail(_));
    if terminal {
        if state.flow.next.is_some() || state.flow.end.is_some() {
            out.invalid(
                here.to_owned(),
                format!("a {} state takes neither Next nor End", state.type_name()),
            );
        }
    } else if state.flow.transition().is_none() {
        out.invalid(
            here.to_owned(),
            "needs exactly one of Next or \"End\": true",
        );
    }
    for (field, p) in [
        ("InputPath", &state.io.input_path),
        ("OutputPath", &state.io.output_path),
    ] {
        if let PathField::Path(p) = p {
            check_query(p, &format!("{here}.{field}"), out);
        }
    }
    check_retry_catch(state.retriers(), state.catchers(), here, out);
    match &state.kind {
        Kind::Task(t) => {
            let integration = check_resource(&t.resource, &format!("{here}.Resource"), out);
            if let Some(credentials) = &t.credentials {
                let at = format!("{here}.Credentials");
                if credentials.is_object() {
                    check_template(credentials, &at, out);
                    out.unsupported(at, "tasks that assume another role are not run here");
                } else {
                    out.invalid(at, "must be an object (RoleArn, or RoleArn.$)");
                }
            }
            if let Some(p) = &t.parameters {
                check_template(p, &format!("{here}.Parameters"), out);
                if integration
                    == Some(Integration::LambdaInvoke {
                        wait_for_token: true,
                    })
                    && !p.to_string().contains("$$.Task.Token")
                {
                    out.invalid(
                        format!("{here}.Parameters"),
                        "a .waitForTaskToken task must pass $$.Task.Token",
                    );
                }
            } else if matches!(integration, Some(Integration::LambdaInvoke { .. })) {
                out.invalid(
                    format!("{here}.Parameters"),
                    "lambda:invoke needs Parameters with FunctionName",
                );
            } else if let Some(Integration::Service { service, action }) = integration {
                out.invalid(
                    format!("{here}.Parameters"),
                    format!("{service}:{action} needs Parameters (the API request)"),
                );
            }
            if let Some(s) = &t.result_selector {
                check_template(s, &format!("{here}.ResultSelector"), out);
            }
            check_result_path(&t.result_path, here, out);
            if t.timeout_seconds.is_some() && t.timeout_seconds_path.is_some() {
                out.invalid(
                    here.to_owned(),
                    "TimeoutSeconds and TimeoutSecondsPath are exclusive",
                );
            }
            if t.heartbeat_seconds.is_some() && t.heartbeat_seconds_path.is_some() {
                out.invalid(
                    here.to_owned(),
                    "HeartbeatSeconds and HeartbeatSecondsPath are exclusive",
                );
            }
            if t.timeout_seconds == Some(0) || t.heartbeat_seconds == Some(0) {
                out.invalid(
                    here.to_owned(),
                    "TimeoutSeconds and HeartbeatSeconds must be positive",
                );
            }
            if let (Some(h), Some(to)) = (t.heartbeat_seconds, t.timeout_seconds)
                && h >= to
            {
                out.invalid(
                    format!("{here}.HeartbeatSeconds"),
                    "must be smaller than TimeoutSeconds",
                );
            }
        }
        Kind::Pass(p) => {
            if let Some(t) = &p.parameters {
                check_template(t, &format!("{here}.Parameters"), out);
            }
            check_result_path(&p.result_path, here, out);
        }
        Kind::Choice(c) => {
            if c.choices.is_empty() {
                out.invalid(format!("{here}.Choices"), "needs at least one rule");
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
                out.invalid(
                    here.to_owned(),
                    "needs exactly one of Seconds, SecondsPath, Timestamp, TimestampPath",
                );
            }
            if let Some(ts) = &w.timestamp
                && chrono::DateTime::parse_from_rfc3339(ts).is_err()
            {
                out.invalid(
                    format!("{here}.Timestamp"),
                    format!("{ts:?} is not an RFC 3339 timestamp"),
                );
            }
            for p in [&w.seconds_path, &w.timestamp_path].into_iter().flatten() {
                check_query(p, here, out);
            }
        }
        Kind::Fail(f) => {
            if f.error.is_some() && f.error_path.is_some() {
                out.invalid(here.to_owned(), "Error and ErrorPath are exclusive");
            }
            if f.cause.is_some() && f.cause_path.is_some() {
                out.invalid(here.to_owned(), "Cause and CausePath are exclusive");
            }
        }
        Kind::Parallel(p) => {
            if p.branches.is_empty() {
                out.invalid(format!("{here}.Branches"), "needs at least one branch");
            }
            if let Some(t) = &p.parameters {
                check_template(t, &format!("{here}.Parameters"), out);
            }
            check_result_path(&p.result_path, here, out);
        }
        Kind::Map(m) => {
            match (&m.item_processor, &m.iterator) {
                (None, None) => out.invalid(here.to_owned(), "needs an ItemProcessor"),
                (Some(_), Some(_)) => {
                    out.invalid(here.to_owned(), "ItemProcessor and Iterator are exclusive")
                }
                _ => {}
            }
            if m.item_selector.is_some() && m.parameters.is_some() {
                out.invalid(here.to_owned(), "ItemSelector and Parameters are exclusive");
            }
            if let Some(t) = m.selector() {
                check_template(t, &format!("{here}.ItemSelector"), out);
            }
            if let Some(p) = &m.items_path {
                check_query(p, &format!("{here}.ItemsPath"), out);
            }
            for (field, given, path) in [
                (
                    "MaxConcurrency",
                    m.max_concurrency.is_some(),
                    &m.max_concurrency_path,
                ),
                (
                    "ToleratedFailureCount",
                    m.tolerated_failure_count.is_some(),
                    &m.tolerated_failure_count_path,
                ),
                (
                    "ToleratedFailurePercentage",
                    m.tolerated_failure_percentage.is_some(),
                    &m.tolerated_failure_percentage_path,
                ),
            ] {
                if given && path.is_some() {
                    out.invalid(here, format!("{field} and {field}Path are exclusive"));
                }
                if let Some(p) = path {
                    check_query(p, &format!("{here}.{field}Path"), out);
                }
            }
            let distributed = [
                ("ItemReader", m.item_reader.is_some()),
                ("ItemBatcher", m.item_batcher.is_some()),
                ("ResultWriter", m.result_writer.is_some()),
                ("Label", m.label.is_some()),
                (
                    "ItemProcessor.ProcessorConfig",
                    m.processor()
                        .and_then(|p| p.processor_config.as_ref())
                        .and_then(|c| c.mode)
                        == Some(ProcessorMode::Distributed),
                ),
            ];
            let limits = [
                (&m.item_reader, "ItemReader.ReaderConfig", "MaxItems"),
                (&m.item_batcher, "ItemBatcher", "MaxItemsPerBatch"),
                (&m.item_batcher, "ItemBatcher", "MaxInputBytesPerBatch"),
            ];
            for (block, at, field) in limits {
                let config = match at {
                    "ItemReader.ReaderConfig" => block.as_ref().map(|b| &b["ReaderConfig"]),
                    _ => block.as_ref(),
                };
                if let Some(config) = config
                    && config.get(field).is_some()
                    && config.get(format!("{field}Path")).is_some()
                {
                    out.invalid(
                        format!("{here}.{at}"),
                        format!("{field} and {field}Path are exclusive"),
                    );
                }
            }
            for (field, _) in distributed.iter().filter(|(_, used)| *used) {
                out.unsupported(
                    format!("{here}.{field}"),
                    "a Distributed Map (child executions, S3 items) is not run here; inline Maps are",
                );
            }
            if m.tolerated_failure_percentage
                .is_some_and(|p| !(0.0..=100.0).contains(&p))
            {
                out.invalid(
                    format!("{here}.ToleratedFailurePercentage"),
                    "must be 0 to 100",
                );
            }
            check_result_path(&m.result_path, here, out);
        }
        Kind::Succeed => {}
    }
}

fn check_retry_catch(retriers: &[Retrier], catchers: &[Catcher], here: &str, out: &mut Problems) {
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
            out.invalid(at.clone(), "ErrorEquals must not be empty");
        }
        if equals.iter().any(|e| e == names::ALL) {
            let is_last = if i < retriers.len() {
                Some(i) == last_retry
            } else {
                Some(i - retriers.len()) == last_catch
            };
            if equals.len() > 1 {
                out.invalid(at.clone(), "States.ALL must appear alone in ErrorEquals");
            }
            if !is_last {
                out.invalid(
                    at.clone(),
                    "States.ALL must be in the last retrier or catcher",
                );
            }
        }
    }
    for (i, r) in retriers.iter().enumerate() {
        if r.backoff_rate < 1.0 {
            out.invalid(
                format!("{here}.Retry[{i}].BackoffRate"),
                "must be at least 1.0",
            );
        }
        if r.interval_seconds == 0 {
            out.invalid(
                format!("{here}.Retry[{i}].IntervalSeconds"),
                "must be positive",
            );
        }
    }
    for (i, c) in catchers.iter().enumerate() {
        check_result_path(&c.result_path, &format!("{here}.Catch[{i}]"), out);
    }
}

fn check_result_path(p: &PathField, here: &str, out: &mut Problems) {
    if let PathField::Path(p) = p
        && !path::is_reference_path(p)
    {
        out.invalid(
            format!("{here}.ResultPath"),
            format!("{p:?} is not a reference path (no wildcards, filters or slices)"),
        );
    }
}

fn check_query(p: &str, at: &str, out: &mut Problems) {
    if !(p.starts_with('$')) {
        out.invalid(at.to_owned(), format!("{p:?} is not a path"));
        return;
    }
    // A query against nothing finds nothing; only a syntax error is a problem here.
    if let Err(e) = path::query(p, &Value::Null, &Value::Null.into())
        && e.cause.starts_with("invalid JSONPath")
    {
        if p.contains("(@") {
            // Jayway, which Step Functions uses, evaluates script expressions such as
            // `$[(@.length-1)]`; RFC 9535, which this executor implements, has none.
            out.unsupported(
                at.to_owned(),
                format!("{p:?} uses a Jayway script expression this executor cannot evaluate"),
            );
        } else {
            out.invalid(at.to_owned(), e.cause);
        }
    }
}

/// Checks a Task's Resource; the integration, when this executor can run it.
fn check_resource(resource: &Resource, at: &str, out: &mut Problems) -> Option<Integration> {
    let arn = match resource {
        Resource::Template(_) => {
            out.unsupported(
                at,
                "a template expression (CloudFormation's Fn::GetAtt or Ref): substitute the ARN before running",
            );
            return None;
        }
        Resource::Arn(arn) => arn,
    };
    if let Some(open) = arn.find("${")
        && !arn[open..].contains('}')
    {
        out.invalid(
            at,
            format!("{arn:?} opens a substitution (${{) it never closes"),
        );
        return None;
    }
    if arn.contains("${") {
        out.unsupported(
            at,
            format!("{arn:?} holds a substitution (${{...}}): substitute the ARN before running"),
        );
        return None;
    }
    let parts: Vec<&str> = arn.split(':').collect();
    if parts.len() < 6 || parts[0] != "arn" || parts[2].is_empty() {
        out.invalid(at, format!("{arn:?} is not an ARN"));
        return None;
    }
    if parts[2] == "lambda"
        && let Err(e) = lambda_function_arn(&parts)
    {
        out.invalid(at, format!("{arn:?} is not a Lambda function ARN: {e}"));
        return None;
    }
    match Integration::of(arn) {
        Ok(i) => Some(i),
        Err(e) => {
            out.unsupported(at, e);
            None
        }
    }
}

/// `arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:VERSION_OR_ALIAS]`, as Lambda accepts it.
fn lambda_function_arn(parts: &[&str]) -> Result<(), &'static str> {
    let word = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    match parts {
        [_, _, _, _, _, "function", name, rest @ ..] => {
            if !word(name) || name.len() > 64 {
                return Err("the function name is 1 to 64 letters, digits, '-' or '_'");
            }
            match rest {
                [] => Ok(()),
                ["$LATEST"] => Ok(()),
                [qualifier] if word(qualifier) && qualifier.len() <= 128 => Ok(()),
                _ => Err(
                    "the qualifier is $LATEST, a version or an alias (letters, digits, '-', '_')",
                ),
            }
        }
        _ => Err("expected ...:function:NAME"),
    }
}

fn check_template(t: &Value, at: &str, out: &mut Problems) {
    match t {
        Value::Object(fields) => {
            for k in fields.keys().filter_map(|k| k.strip_suffix(".$")) {
                if fields.contains_key(k) {
                    out.invalid(
                        format!("{at}.{k}"),
                        format!("{k:?} and \"{k}.$\" name the same field"),
                    );
                }
            }
            for (k, v) in fields {
                let here = format!("{at}.{k}");
                if k.ends_with(".$") {
                    match v {
                        Value::String(s) if intrinsic::is_intrinsic(s) => {
                            if let Err(e) = intrinsic::check(s) {
                                out.invalid(here, e.cause);
                            }
                        }
                        Value::String(s) => check_query(s, &here, out),
                        other => out.invalid(
                            here,
                            format!("must be a path or an intrinsic function, got {other}"),
                        ),
                    }
                } else {
                    check_template(v, &here, out);
                }
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                check_template(v, &format!("{at}[{i}]"), out);
            }
        }
        _ => {}
    }
}
