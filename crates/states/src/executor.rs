//! The interpreter: runs a validated definition with AWS's semantics for input and output
//! processing, retries, catches, callbacks, Parallel and Map, and records the history.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use serde_json::{Value, json};

use crate::asl::{
    Jitter, Kind, MapState, ParallelState, PathField, Retrier, State, StateMachine, TaskState,
    Transition,
};
use crate::callback::{Message, TokenError, Tokens};
use crate::clock::Clock;
use crate::context::{Context, Parts};
use crate::dispatch::{BoxFuture, Dispatcher, InvokeError};
use crate::error::{StatesError, names};
use crate::history::{HistoryEvent, Recorder, format_time, payload};
use crate::validate::{Definition, Integration};
use crate::{path, template};

mod branches;
mod task;

/// How an execution ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// Reached a Succeed state or an End.
    Succeeded,
    /// An error nothing caught, or a Fail state.
    Failed,
    /// The definition's TimeoutSeconds passed.
    TimedOut,
}

/// A finished execution.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Execution {
    /// The execution name.
    pub name: String,
    /// Its ARN.
    pub arn: String,
    /// How it ended.
    pub status: Status,
    /// The output, when it succeeded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    /// The error, when it failed or timed out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<StatesError>,
    /// When it started.
    pub start_date: DateTime<Utc>,
    /// When it stopped.
    pub stop_date: DateTime<Utc>,
    /// Every event, in order.
    pub history: Vec<HistoryEvent>,
}

/// Runs executions; holds the dispatcher, the clock and the task tokens.
pub struct Executor {
    dispatcher: Arc<dyn Dispatcher>,
    clock: Clock,
    tokens: Arc<Tokens>,
    /// The histories of the executions running now, by name.
    running: Mutex<HashMap<String, Recorder>>,
    region: String,
    account: String,
}

impl Executor {
    /// An executor dispatching tasks to `dispatcher`, in `clock`'s time.
    pub fn new(dispatcher: Arc<dyn Dispatcher>, clock: Clock) -> Self {
        Executor {
            dispatcher,
            clock,
            tokens: Arc::new(Tokens::default()),
            running: Mutex::default(),
            region: "us-east-1".into(),
            account: "123456789012".into(),
        }
    }

    /// The executor's clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// SendTaskSuccess.
    pub fn send_task_success(&self, token: &str, output: Value) -> Result<(), TokenError> {
        self.tokens.send(token, Message::Success(output))
    }

    /// SendTaskFailure.
    pub fn send_task_failure(
        &self,
        token: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), TokenError> {
        self.tokens
            .send(token, Message::Failure(StatesError::new(error, cause)))
    }

    /// SendTaskHeartbeat.
    pub fn send_task_heartbeat(&self, token: &str) -> Result<(), TokenError> {
        self.tokens.send(token, Message::Heartbeat)
    }

    /// Task tokens waiting for an answer, with their execution names.
    pub fn pending_tokens(&self) -> Vec<(String, String)> {
        self.tokens.pending()
    }

    /// The history so far of the running execution `name` (GetExecutionHistory while it runs).
    pub fn history(&self, name: &str) -> Option<Vec<HistoryEvent>> {
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .map(Recorder::events)
    }

    /// Runs one execution to its end.
    pub async fn execute(
        &self,
        definition: &Definition,
        state_machine: &str,
        name: &str,
        input: Value,
    ) -> Execution {
        self.clock
            .drive(self.run_execution(definition.machine(), state_machine, name, input))
            .await
    }

    async fn run_execution(
        &self,
        machine: &StateMachine,
        state_machine: &str,
        name: &str,
        input: Value,
    ) -> Execution {
        let start = self.clock.now();
        let machine_arn = format!(
            "arn:aws:states:{}:{}:stateMachine:{state_machine}",
            self.region, self.account
        );
        let arn = format!(
            "arn:aws:states:{}:{}:execution:{state_machine}:{name}",
            self.region, self.account
        );
        let history = Recorder::default();
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_owned(), history.clone());
        let run = Run {
            exec: self,
            history,
            name: name.to_owned(),
            execution: json!({
                "Id": arn,
                "Input": input,
                "Name": name,
                "RoleArn": format!("arn:aws:iam::{}:role/{state_machine}", self.account),
                "StartTime": format_time(start),
            }),
            state_machine: json!({"Id": machine_arn, "Name": state_machine}),
        };
        let cur = Cursor::new(0);
        let (text, details) = payload(&input);
        run.record(
            &cur,
            "ExecutionStarted",
            Some(("executionStartedEventDetails", json!({"input": text, "inputDetails": details, "roleArn": run.execution["RoleArn"]}))),
        );
        let body = run.run_machine(machine, input, &cur);
        let result = match machine.timeout_seconds {
            Some(secs) => {
                tokio::select! {
                    r = body => Some(r),
                    () = self.clock.sleep(Duration::from_secs(secs)) => None,
                }
            }
            None => Some(body.await),
        };
        let (status, output, error) = match result {
            Some(Ok(out)) => {
                let (text, details) = payload(&out);
                run.record(
                    &cur,
                    "ExecutionSucceeded",
                    Some((
                        "executionSucceededEventDetails",
                        json!({"output": text, "outputDetails": details}),
                    )),
                );
                (Status::Succeeded, Some(out), None)
            }
            Some(Err(e)) => {
                run.record(
                    &cur,
                    "ExecutionFailed",
                    Some((
                        "executionFailedEventDetails",
                        json!({"error": e.error, "cause": e.cause}),
                    )),
                );
                (Status::Failed, None, Some(e))
            }
            None => {
                let e = StatesError::new(
                    names::TIMEOUT,
                    format!(
                        "The execution ran longer than its TimeoutSeconds of {}",
                        machine.timeout_seconds.unwrap_or_default()
                    ),
                );
                run.record(
                    &cur,
                    "ExecutionTimedOut",
                    Some((
                        "executionTimedOutEventDetails",
                        json!({"error": e.error, "cause": e.cause}),
                    )),
                );
                (Status::TimedOut, None, Some(e))
            }
        };
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name);
        Execution {
            name: name.to_owned(),
            arn,
            status,
            output,
            error,
            start_date: start,
            stop_date: self.clock.now(),
            history: run.history.events(),
        }
    }
}

/// The last event of one branch, for previousEventId.
struct Cursor(AtomicU64);

impl Cursor {
    fn new(id: u64) -> Self {
        Cursor(AtomicU64::new(id))
    }
    fn get(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// One execution in progress.
struct Run<'a> {
    exec: &'a Executor,
    history: Recorder,
    name: String,
    execution: Value,
    state_machine: Value,
}

/// How a state continues, once it has produced its output.
enum Flow {
    Next(String),
    End,
}

impl From<Transition> for Flow {
    fn from(t: Transition) -> Self {
        match t {
            Transition::Next(n) => Flow::Next(n),
            Transition::End => Flow::End,
        }
    }
}

fn transition(state: &State) -> Result<Flow, StatesError> {
    state
        .flow
        .transition()
        .map(Flow::from)
        .ok_or_else(|| StatesError::runtime("state has neither Next nor End"))
}

/// InputPath and OutputPath: `$` when absent, `{}` when null, else the query.
fn apply_path(field: &PathField, raw: &Value, ctx: &Context<'_>) -> Result<Value, StatesError> {
    match field {
        PathField::Default => Ok(raw.clone()),
        PathField::Null => Ok(json!({})),
        PathField::Path(p) => path::query(p, raw, ctx),
    }
}

fn result_path(field: &PathField, raw: Value, result: Value) -> Result<Value, StatesError> {
    match field {
        PathField::Default => Ok(result),
        PathField::Null => Ok(raw),
        PathField::Path(p) => path::set(raw, p, result),
    }
}

/// The delay before the next retry, or `None` when no retrier (with attempts left) handles `e`.
/// Only the first retrier whose ErrorEquals matches counts, as in AWS.
fn retry_delay(retriers: &[Retrier], counts: &mut [u32], e: &StatesError) -> Option<Duration> {
    let i = retriers.iter().position(|r| e.matches(&r.error_equals))?;
    let r = &retriers[i];
    if counts[i] >= r.max_attempts {
        return None;
    }
    let mut secs = r.interval_seconds as f64 * r.backoff_rate.powi(counts[i] as i32);
    if let Some(cap) = r.max_delay_seconds {
        secs = secs.min(cap as f64);
    }
    if r.jitter_strategy == Some(Jitter::Full) {
        secs *= fastrand::f64();
    }
    counts[i] += 1;
    Some(Duration::from_secs_f64(secs.max(0.0)))
}

fn seconds_from(
    path: &str,
    input: &Value,
    ctx: &Context<'_>,
    what: &str,
) -> Result<u64, StatesError> {
    let v = path::query(path, input, ctx)?;
    v.as_u64().ok_or_else(|| {
        StatesError::runtime(format!(
            "{what} {path:?} must point to a non-negative integer, got {v}"
        ))
    })
}

fn optional<'a>(
    f: Option<Pin<Box<dyn Future<Output = ()> + Send + 'a>>>,
) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
    f.unwrap_or_else(|| Box::pin(std::future::pending()))
}

impl Run<'_> {
    fn record(&self, cur: &Cursor, kind: &str, details: Option<(&'static str, Value)>) -> u64 {
        let id = self
            .history
            .record(self.exec.clock.now(), cur.get(), kind, details);
        cur.0.store(id, Ordering::SeqCst);
        id
    }

    /// The context object of state `state` (read lazily: see [`Context`]).
    fn context<'c>(
        &'c self,
        state: &'c str,
        entered: DateTime<Utc>,
        retry: u32,
        token: Option<&'c str>,
        item: Option<(usize, &'c Value)>,
    ) -> Context<'c> {
        Context::new(Parts {
            execution: &self.execution,
            state_machine: &self.state_machine,
            state,
            entered: format_time(entered),
            retry,
            token,
            item,
        })
    }

    fn run_machine<'b>(
        &'b self,
        machine: &'b StateMachine,
        input: Value,
        cur: &'b Cursor,
    ) -> BoxFuture<'b, Result<Value, StatesError>> {
        Box::pin(async move {
            let mut name = machine.start_at.clone();
            let mut input = input;
            loop {
                let state = machine
                    .states
                    .get(&name)
                    .ok_or_else(|| StatesError::runtime(format!("no state named {name:?}")))?;
                let entered = self.exec.clock.now();
                let (text, details) = payload(&input);
                self.record(
                    cur,
                    &format!("{}StateEntered", state.type_name()),
                    Some((
                        "stateEnteredEventDetails",
                        json!({"name": name, "input": text, "inputDetails": details}),
                    )),
                );
                let (output, flow) = self.run_state(&name, state, input, entered, cur).await?;
                let (text, details) = payload(&output);
                self.record(
                    cur,
                    &format!("{}StateExited", state.type_name()),
                    Some((
                        "stateExitedEventDetails",
                        json!({"name": name, "output": text, "outputDetails": details}),
                    )),
                );
                match flow {
                    Flow::Next(next) => {
                        name = next;
                        input = output;
                    }
                    Flow::End => return Ok(output),
                }
            }
        })
    }

    async fn run_state(
        &self,
        name: &str,
        state: &State,
        raw: Value,
        entered: DateTime<Utc>,
        cur: &Cursor,
    ) -> Result<(Value, Flow), StatesError> {
        let ctx = self.context(name, entered, 0, None, None);
        match &state.kind {
            Kind::Pass(p) => {
                let eff = apply_path(&state.io.input_path, &raw, &ctx)?;
                let eff = match &p.parameters {
                    Some(t) => template::apply(t, &eff, &ctx)?,
                    None => eff,
                };
                let result = p.result.clone().unwrap_or(eff);
                let out = result_path(&p.result_path, raw, result)?;
                Ok((
                    apply_path(&state.io.output_path, &out, &ctx)?,
                    transition(state)?,
                ))
            }
            Kind::Wait(w) => {
                let eff = apply_path(&state.io.input_path, &raw, &ctx)?;
                let wait = if let Some(s) = w.seconds {
                    Duration::from_secs(s)
                } else if let Some(p) = &w.seconds_path {
                    Duration::from_secs(seconds_from(p, &eff, &ctx, "SecondsPath")?)
                } else {
                    let stamp = match (&w.timestamp, &w.timestamp_path) {
                        (Some(t), _) => Value::String(t.clone()),
                        (None, Some(p)) => path::query(p, &eff, &ctx)?,
                        (None, None) => {
                            return Err(StatesError::runtime("Wait state without a duration"));
                        }
                    };
                    let until = stamp
                        .as_str()
                        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                        .ok_or_else(|| {
                            StatesError::runtime(format!("{stamp} is not an RFC 3339 timestamp"))
                        })?;
                    (until.to_utc() - self.exec.clock.now())
                        .to_std()
                        .unwrap_or_default()
                };
                self.exec.clock.sleep(wait).await;
                Ok((
                    apply_path(&state.io.output_path, &eff, &ctx)?,
                    transition(state)?,
                ))
            }
            Kind::Choice(c) => {
                let eff = apply_path(&state.io.input_path, &raw, &ctx)?;
                let mut next = None;
                for rule in &c.choices {
                    if rule.condition.evaluate(&eff, &ctx)? {
                        next = rule.next.clone();
                        break;
                    }
                }
                let next = next.or_else(|| c.default.clone()).ok_or_else(|| {
                    StatesError::new(
                        names::NO_CHOICE_MATCHED,
                        format!("No Choice rule of {name:?} matched, and it has no Default"),
                    )
                })?;
                Ok((
                    apply_path(&state.io.output_path, &eff, &ctx)?,
                    Flow::Next(next),
                ))
            }
            Kind::Succeed => {
                let eff = apply_path(&state.io.input_path, &raw, &ctx)?;
                Ok((apply_path(&state.io.output_path, &eff, &ctx)?, Flow::End))
            }
            Kind::Fail(f) => {
                let text = |literal: &Option<String>,
                            path: &Option<String>|
                 -> Result<String, StatesError> {
                    match (literal, path) {
                        (Some(s), _) => Ok(s.clone()),
                        (None, Some(p)) => match template::resolve(p, &raw, &ctx)? {
                            Value::String(s) => Ok(s),
                            other => Err(StatesError::runtime(format!(
                                "{p:?} must yield a string, got {other}"
                            ))),
                        },
                        (None, None) => Ok(String::new()),
                    }
                };
                Err(StatesError::new(
                    text(&f.error, &f.error_path)?,
                    text(&f.cause, &f.cause_path)?,
                ))
            }
            Kind::Task(_) | Kind::Parallel(_) | Kind::Map(_) => {
                let eff = &apply_path(&state.io.input_path, &raw, &ctx)?;
                let result = self
                    .with_retry(state.retriers(), |retry| async move {
                        match &state.kind {
                            Kind::Task(t) => {
                                self.task_attempt(name, t, eff, entered, retry, cur).await
                            }
                            Kind::Parallel(p) => {
                                self.parallel_attempt(name, p, eff, entered, retry, cur)
                                    .await
                            }
                            Kind::Map(m) => {
                                self.map_attempt(name, m, eff, entered, retry, cur).await
                            }
                            _ => unreachable!("only Task, Parallel and Map retry"),
                        }
                    })
                    .await;
                self.finish(state, raw, result, &ctx)
            }
        }
    }

    async fn with_retry<F, Fut>(
        &self,
        retriers: &[Retrier],
        mut attempt: F,
    ) -> Result<Value, StatesError>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<Value, StatesError>>,
    {
        let mut counts = vec![0u32; retriers.len()];
        let mut retry = 0;
        loop {
            match attempt(retry).await {
                Ok(v) => return Ok(v),
                Err(e) => {
                    let Some(delay) = retry_delay(retriers, &mut counts, &e) else {
                        return Err(e);
                    };
                    self.exec.clock.sleep(delay).await;
                    retry += 1;
                }
            }
        }
    }

    /// ResultSelector, ResultPath and OutputPath on a result, or the first matching Catch on an
    /// error (its ResultPath places `{Error, Cause}` into the state's input).
    fn finish(
        &self,
        state: &State,
        raw: Value,
        result: Result<Value, StatesError>,
        ctx: &Context<'_>,
    ) -> Result<(Value, Flow), StatesError> {
        let (selector, result_path_field) = match &state.kind {
            Kind::Task(t) => (t.result_selector.as_ref(), &t.result_path),
            Kind::Parallel(p) => (p.result_selector.as_ref(), &p.result_path),
            Kind::Map(m) => (m.result_selector.as_ref(), &m.result_path),
            _ => (None, &PathField::Default),
        };
        let processed = result.and_then(|r| {
            let r = match selector {
                Some(t) => template::apply(t, &r, ctx)?,
                None => r,
            };
            let out = result_path(result_path_field, raw.clone(), r)?;
            apply_path(&state.io.output_path, &out, ctx)
        });
        match processed {
            Ok(out) => Ok((out, transition(state)?)),
            Err(e) => {
                let Some(c) = state.catchers().iter().find(|c| e.matches(&c.error_equals)) else {
                    return Err(e);
                };
                let out = result_path(&c.result_path, raw, e.to_value())?;
                Ok((out, Flow::Next(c.next.clone())))
            }
        }
    }
}
