//! The Amazon States Language, JSONPath flavour, as typed definitions. Unknown fields are refused
//! so a misspelt field fails at load time instead of being silently ignored.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::choice::ChoiceRule;

/// A state machine, or the body of a Parallel branch or a Map item processor.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct StateMachine {
    /// Free text.
    #[serde(default)]
    pub comment: Option<String>,
    /// The first state.
    pub start_at: String,
    /// The states by name.
    pub states: BTreeMap<String, State>,
    /// Execution time limit.
    #[serde(default)]
    pub timeout_seconds: Option<u64>,
    /// ASL version ("1.0").
    #[serde(default)]
    pub version: Option<String>,
    /// Only JSONPath is supported here.
    #[serde(default)]
    pub query_language: Option<QueryLanguage>,
    /// Map item processor settings (inline only).
    #[serde(default)]
    pub processor_config: Option<ProcessorConfig>,
}

/// The query language of a definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum QueryLanguage {
    /// `$.a.b` paths and payload templates.
    JSONPath,
}

/// `ItemProcessor.ProcessorConfig`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct ProcessorConfig {
    /// Only INLINE runs here (DISTRIBUTED needs S3 item readers and child executions).
    #[serde(default)]
    pub mode: Option<ProcessorMode>,
    /// Ignored for inline maps.
    #[serde(default)]
    pub execution_type: Option<String>,
}

/// Map processing mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ProcessorMode {
    /// Iterations run inside the execution.
    Inline,
    /// Iterations run as child executions (valid ASL; not run here).
    Distributed,
}

/// A path field that distinguishes "absent" (the default applies) from an explicit `null`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum PathField {
    /// Not given: `$`.
    #[default]
    Default,
    /// `null`: InputPath and OutputPath give `{}`, ResultPath keeps the input.
    Null,
    /// A path.
    Path(String),
}

impl<'de> Deserialize<'de> for PathField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Option::<String>::deserialize(d)? {
            None => PathField::Null,
            Some(p) => PathField::Path(p),
        })
    }
}

/// Fields every state that reads and writes data shares.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Io {
    /// Selects the part of the state input the state works on.
    #[serde(default)]
    pub input_path: PathField,
    /// Selects the part of the result that becomes the output.
    #[serde(default)]
    pub output_path: PathField,
}

/// How a state continues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// Go to this state.
    Next(String),
    /// Stop this (sub-)machine with the state's output.
    End,
}

/// `Next` / `End` as they appear in JSON; checked into a [`Transition`] by validation.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Flow {
    /// The next state.
    #[serde(default)]
    pub next: Option<String>,
    /// Whether the state ends the machine.
    #[serde(default)]
    pub end: Option<bool>,
}

impl Flow {
    /// The transition, when exactly one of Next and End (true) is given.
    pub fn transition(&self) -> Option<Transition> {
        match (&self.next, self.end) {
            (Some(n), None | Some(false)) => Some(Transition::Next(n.clone())),
            (None, Some(true)) => Some(Transition::End),
            _ => None,
        }
    }
}

/// A retrier.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct Retrier {
    /// Error names this retrier handles.
    pub error_equals: Vec<String>,
    /// First interval (default 1).
    #[serde(default = "one")]
    pub interval_seconds: u64,
    /// Retries, not attempts (default 3; 0 never retries).
    #[serde(default = "three")]
    pub max_attempts: u32,
    /// Multiplier per retry (default 2.0).
    #[serde(default = "two")]
    pub backoff_rate: f64,
    /// Cap on the interval.
    #[serde(default)]
    pub max_delay_seconds: Option<u64>,
    /// FULL randomises each interval in [0, interval]; NONE (default) does not.
    #[serde(default)]
    pub jitter_strategy: Option<Jitter>,
    /// Free text.
    #[serde(default)]
    pub comment: Option<String>,
}

fn one() -> u64 {
    1
}
fn three() -> u32 {
    3
}
fn two() -> f64 {
    2.0
}

/// Retry jitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Jitter {
    /// Uniform in [0, interval].
    Full,
    /// The interval as computed.
    None,
}

/// A catcher.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct Catcher {
    /// Error names this catcher handles.
    pub error_equals: Vec<String>,
    /// The fallback state.
    pub next: String,
    /// Where `{Error, Cause}` goes in the state's input (default `$`: replaces it).
    #[serde(default)]
    pub result_path: PathField,
    /// Free text.
    #[serde(default)]
    pub comment: Option<String>,
}

/// A Task's Resource: an ARN, or an object a template language substitutes before deployment
/// (CloudFormation's `{"Fn::GetAtt": ...}`, `{"Ref": ...}`).
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(untagged)]
pub enum Resource {
    /// The integration or function ARN.
    Arn(String),
    /// A template expression, not an ARN yet.
    Template(serde_json::Map<String, Value>),
}

impl Resource {
    /// The ARN, when it is one.
    pub fn arn(&self) -> Option<&str> {
        match self {
            Resource::Arn(a) => Some(a),
            Resource::Template(_) => None,
        }
    }
}

/// Keeps a field given as `null` apart from one left out.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// Task state.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct TaskState {
    /// The integration or Lambda ARN.
    pub resource: Resource,
    /// Payload template.
    #[serde(default)]
    pub parameters: Option<Value>,
    /// Result template.
    #[serde(default)]
    pub result_selector: Option<Value>,
    /// Where the result goes.
    #[serde(default)]
    pub result_path: PathField,
    /// Task time limit.
    #[serde(default)]
    pub timeout_seconds: Option<u64>,
    /// Task time limit from the input.
    #[serde(default)]
    pub timeout_seconds_path: Option<String>,
    /// Heartbeat limit (callback tasks).
    #[serde(default)]
    pub heartbeat_seconds: Option<u64>,
    /// Heartbeat limit from the input.
    #[serde(default)]
    pub heartbeat_seconds_path: Option<String>,
    /// Retriers.
    #[serde(default)]
    pub retry: Vec<Retrier>,
    /// Catchers.
    #[serde(default)]
    pub catch: Vec<Catcher>,
    /// Cross-account role (a payload template; `null` is kept, to be refused).
    #[serde(default, deserialize_with = "present")]
    pub credentials: Option<Value>,
}

/// Pass state.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct PassState {
    /// A fixed result.
    #[serde(default)]
    pub result: Option<Value>,
    /// Payload template.
    #[serde(default)]
    pub parameters: Option<Value>,
    /// Where the result goes.
    #[serde(default)]
    pub result_path: PathField,
}

/// Choice state.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct ChoiceState {
    /// Rules tried in order.
    pub choices: Vec<ChoiceRule>,
    /// Where to go when no rule matches.
    #[serde(default)]
    pub default: Option<String>,
}

/// Wait state.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct WaitState {
    /// Fixed seconds.
    #[serde(default)]
    pub seconds: Option<u64>,
    /// Seconds from the input.
    #[serde(default)]
    pub seconds_path: Option<String>,
    /// Until this RFC 3339 time.
    #[serde(default)]
    pub timestamp: Option<String>,
    /// Until a time from the input.
    #[serde(default)]
    pub timestamp_path: Option<String>,
}

/// Fail state.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct FailState {
    /// Error name.
    #[serde(default)]
    pub error: Option<String>,
    /// Error name from the input (or an intrinsic).
    #[serde(default)]
    pub error_path: Option<String>,
    /// Cause.
    #[serde(default)]
    pub cause: Option<String>,
    /// Cause from the input (or an intrinsic).
    #[serde(default)]
    pub cause_path: Option<String>,
}

/// Parallel state.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct ParallelState {
    /// The branches, run concurrently.
    pub branches: Vec<StateMachine>,
    /// Payload template for every branch.
    #[serde(default)]
    pub parameters: Option<Value>,
    /// Result template.
    #[serde(default)]
    pub result_selector: Option<Value>,
    /// Where the results go.
    #[serde(default)]
    pub result_path: PathField,
    /// Retriers.
    #[serde(default)]
    pub retry: Vec<Retrier>,
    /// Catchers.
    #[serde(default)]
    pub catch: Vec<Catcher>,
}

/// Map state (inline).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct MapState {
    /// The array to iterate (default `$`).
    #[serde(default)]
    pub items_path: Option<String>,
    /// Template for each item's input.
    #[serde(default)]
    pub item_selector: Option<Value>,
    /// The older name of ItemSelector.
    #[serde(default)]
    pub parameters: Option<Value>,
    /// What runs per item.
    #[serde(default)]
    pub item_processor: Option<StateMachine>,
    /// The older name of ItemProcessor.
    #[serde(default)]
    pub iterator: Option<StateMachine>,
    /// At most this many items at once (0: no limit).
    #[serde(default)]
    pub max_concurrency: Option<u64>,
    /// MaxConcurrency from the input.
    #[serde(default)]
    pub max_concurrency_path: Option<String>,
    /// Failed items tolerated, in percent.
    #[serde(default)]
    pub tolerated_failure_percentage: Option<f64>,
    /// From the input.
    #[serde(default)]
    pub tolerated_failure_percentage_path: Option<String>,
    /// Failed items tolerated, counted.
    #[serde(default)]
    pub tolerated_failure_count: Option<u64>,
    /// From the input.
    #[serde(default)]
    pub tolerated_failure_count_path: Option<String>,
    /// Result template.
    #[serde(default)]
    pub result_selector: Option<Value>,
    /// Where the results go.
    #[serde(default)]
    pub result_path: PathField,
    /// Retriers.
    #[serde(default)]
    pub retry: Vec<Retrier>,
    /// Catchers.
    #[serde(default)]
    pub catch: Vec<Catcher>,
    /// Distributed Map: where the items come from (S3).
    #[serde(default)]
    pub item_reader: Option<Value>,
    /// Distributed Map: items grouped into batches.
    #[serde(default)]
    pub item_batcher: Option<Value>,
    /// Distributed Map: where the results go (S3).
    #[serde(default)]
    pub result_writer: Option<Value>,
    /// Distributed Map: the child executions' name prefix.
    #[serde(default)]
    pub label: Option<String>,
}

impl MapState {
    /// ItemProcessor, or the older Iterator.
    pub fn processor(&self) -> Option<&StateMachine> {
        self.item_processor.as_ref().or(self.iterator.as_ref())
    }

    /// ItemSelector, or the older Parameters.
    pub fn selector(&self) -> Option<&Value> {
        self.item_selector.as_ref().or(self.parameters.as_ref())
    }
}

/// What kind of state, with its own fields.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// Task.
    Task(Box<TaskState>),
    /// Pass.
    Pass(PassState),
    /// Choice.
    Choice(ChoiceState),
    /// Wait.
    Wait(WaitState),
    /// Succeed.
    Succeed,
    /// Fail.
    Fail(FailState),
    /// Parallel.
    Parallel(ParallelState),
    /// Map.
    Map(Box<MapState>),
}

/// One state: its kind, the shared fields, and how it continues.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    /// The kind and its fields.
    pub kind: Kind,
    /// InputPath and OutputPath.
    pub io: Io,
    /// Next or End as written.
    pub flow: Flow,
    /// Free text.
    pub comment: Option<String>,
}

impl State {
    /// The `Type` as ASL spells it.
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            Kind::Task(_) => "Task",
            Kind::Pass(_) => "Pass",
            Kind::Choice(_) => "Choice",
            Kind::Wait(_) => "Wait",
            Kind::Succeed => "Succeed",
            Kind::Fail(_) => "Fail",
            Kind::Parallel(_) => "Parallel",
            Kind::Map(_) => "Map",
        }
    }

    /// The state's catchers.
    pub fn catchers(&self) -> &[Catcher] {
        match &self.kind {
            Kind::Task(t) => &t.catch,
            Kind::Parallel(p) => &p.catch,
            Kind::Map(m) => &m.catch,
            _ => &[],
        }
    }

    /// The state's retriers.
    pub fn retriers(&self) -> &[Retrier] {
        match &self.kind {
            Kind::Task(t) => &t.retry,
            Kind::Parallel(p) => &p.retry,
            Kind::Map(m) => &m.retry,
            _ => &[],
        }
    }
}

// Fields each type may carry besides its own: the shared ones are split off before the type's
// own struct (with deny_unknown_fields) sees the rest.
const SHARED: [&str; 6] = ["Type", "Comment", "InputPath", "OutputPath", "Next", "End"];

impl<'de> Deserialize<'de> for State {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let Value::Object(mut fields) = Value::deserialize(d)? else {
            return Err(D::Error::custom("a state must be an object"));
        };
        let type_name = fields
            .get("Type")
            .and_then(Value::as_str)
            .ok_or_else(|| D::Error::custom("missing field `Type`"))?
            .to_owned();
        let mut shared = serde_json::Map::new();
        for key in SHARED {
            if let Some(v) = fields.remove(key) {
                shared.insert(key.to_owned(), v);
            }
        }
        let rest = Value::Object(fields);
        // The type's own fields, parsed by its struct (which refuses unknown ones).
        fn own<T: serde::de::DeserializeOwned, E: Error>(
            rest: Value,
            type_name: &str,
        ) -> Result<T, E> {
            serde_json::from_value(rest).map_err(|e| E::custom(format!("{type_name} state: {e}")))
        }
        let kind = match type_name.as_str() {
            "Task" => Kind::Task(Box::new(own(rest, &type_name)?)),
            "Pass" => Kind::Pass(own(rest, &type_name)?),
            "Choice" => Kind::Choice(own(rest, &type_name)?),
            "Wait" => Kind::Wait(own(rest, &type_name)?),
            "Fail" => Kind::Fail(own(rest, &type_name)?),
            "Parallel" => Kind::Parallel(own(rest, &type_name)?),
            "Map" => Kind::Map(Box::new(own(rest, &type_name)?)),
            "Succeed" => {
                if let Some(field) = rest.as_object().and_then(|o| o.keys().next()) {
                    return Err(D::Error::custom(format!(
                        "Succeed state: unknown field `{field}`"
                    )));
                }
                Kind::Succeed
            }
            other => return Err(D::Error::custom(format!("unknown state Type {other:?}"))),
        };
        let io: Io =
            serde_json::from_value(Value::Object(shared.clone())).map_err(D::Error::custom)?;
        let flow: Flow =
            serde_json::from_value(Value::Object(shared.clone())).map_err(D::Error::custom)?;
        let comment = shared
            .get("Comment")
            .and_then(Value::as_str)
            .map(str::to_owned);
        Ok(State {
            kind,
            io,
            flow,
            comment,
        })
    }
}

impl StateMachine {
    /// Parses a definition.
    pub fn from_json(text: &str) -> Result<StateMachine, serde_json::Error> {
        serde_json::from_str(text)
    }
}
