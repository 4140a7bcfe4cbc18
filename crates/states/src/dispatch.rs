//! Where Task states go: a trait, with in-process handlers (tests, the demo), HTTP to a Lambda
//! Invoke API (`cargo lambda watch`, or anything that serves
//! `POST /2015-03-31/functions/NAME/invocations`), and queued static results (as moto answers).

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::error::StatesError;

/// A boxed future, as trait objects need.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How a Lambda invocation failed.
#[derive(Debug, Clone, PartialEq)]
pub enum InvokeError {
    /// The function ran and reported an error (its `errorType` is what Retry and Catch match).
    Function {
        /// `errorType`.
        error_type: String,
        /// `errorMessage`.
        error_message: String,
    },
    /// The invocation itself failed (no such function, the service unreachable).
    Service(StatesError),
}

impl InvokeError {
    /// The error the Task state raises: the function's error type, with Lambda's error JSON as
    /// the cause.
    pub fn into_states_error(self) -> StatesError {
        match self {
            InvokeError::Function {
                error_type,
                error_message,
            } => {
                let cause =
                    json!({"errorMessage": error_message, "errorType": error_type, "trace": []});
                StatesError::new(error_type, cause.to_string())
            }
            InvokeError::Service(e) => e,
        }
    }
}

/// Invokes Lambda functions by name, and answers the service integrations it knows.
pub trait Dispatcher: Send + Sync {
    /// Invokes `function` with `payload`; returns the function's result.
    fn invoke<'a>(
        &'a self,
        function: &'a str,
        payload: Value,
    ) -> BoxFuture<'a, Result<Value, InvokeError>>;

    /// Calls a service integration (`dynamodb:getItem`) with the state's Parameters; returns
    /// the API response. A dispatcher that does not know the service fails the call as the
    /// service would fail a request it cannot serve.
    fn call<'a>(
        &'a self,
        integration: &'a str,
        _parameters: Value,
    ) -> BoxFuture<'a, Result<Value, InvokeError>> {
        Box::pin(std::future::ready(Err(no_service(integration))))
    }
}

fn no_service(integration: &str) -> InvokeError {
    InvokeError::Service(StatesError::runtime(format!(
        "no handler for the service integration {integration}"
    )))
}

/// A Lambda function name from a name, `name:alias`, a partial ARN or a full ARN.
pub fn function_name(reference: &str) -> &str {
    match reference.split(':').collect::<Vec<_>>().as_slice() {
        // arn:aws:lambda:region:account:function:name[:alias]
        ["arn", _, "lambda", _, _, "function", name, ..] => name,
        // account:function:name[:alias]
        [_, "function", name, ..] => name,
        // name[:alias]
        [name, ..] => name,
        [] => reference,
    }
}

type Handler = Arc<dyn Fn(Value) -> BoxFuture<'static, Result<Value, InvokeError>> + Send + Sync>;

/// Handlers called in-process, by function name.
#[derive(Clone, Default)]
pub struct InProcess {
    handlers: HashMap<String, Handler>,
    services: HashMap<String, Handler>,
    fallback: Option<Handler>,
}

impl InProcess {
    /// No handlers yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `handler` as the function `name`.
    pub fn with<F, Fut>(mut self, name: &str, handler: F) -> Self
    where
        F: Fn(Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, InvokeError>> + Send + 'static,
    {
        self.handlers
            .insert(name.to_owned(), Arc::new(move |v| Box::pin(handler(v))));
        self
    }

    /// Registers `handler` as the service integration `integration` (`dynamodb:getItem`).
    pub fn with_service<F, Fut>(mut self, integration: &str, handler: F) -> Self
    where
        F: Fn(Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, InvokeError>> + Send + 'static,
    {
        self.services.insert(
            integration.to_owned(),
            Arc::new(move |v| Box::pin(handler(v))),
        );
        self
    }

    /// Answers every function that has no handler of its own.
    pub fn with_fallback<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, InvokeError>> + Send + 'static,
    {
        self.fallback = Some(Arc::new(move |v| Box::pin(handler(v))));
        self
    }
}

fn not_found(function: &str) -> InvokeError {
    InvokeError::Service(StatesError::new(
        "Lambda.ResourceNotFoundException",
        format!("Function not found: {function}"),
    ))
}

impl Dispatcher for InProcess {
    fn invoke<'a>(
        &'a self,
        function: &'a str,
        payload: Value,
    ) -> BoxFuture<'a, Result<Value, InvokeError>> {
        match self
            .handlers
            .get(function_name(function))
            .or(self.fallback.as_ref())
        {
            Some(h) => h(payload),
            None => Box::pin(std::future::ready(Err(not_found(function)))),
        }
    }

    fn call<'a>(
        &'a self,
        integration: &'a str,
        parameters: Value,
    ) -> BoxFuture<'a, Result<Value, InvokeError>> {
        match self.services.get(integration) {
            Some(h) => h(parameters),
            None => Box::pin(std::future::ready(Err(no_service(integration)))),
        }
    }
}

/// Results handed out in order, whatever the function, as moto's Lambda stand-in does.
#[derive(Debug, Default)]
pub struct Static {
    results: Mutex<VecDeque<Value>>,
    services: HashMap<String, Value>,
    calls: Mutex<Vec<(String, Value)>>,
}

impl Static {
    /// These results, in order.
    pub fn new(results: impl IntoIterator<Item = Value>) -> Self {
        Static {
            results: Mutex::new(results.into_iter().collect()),
            services: HashMap::new(),
            calls: Mutex::default(),
        }
    }

    /// Answers every call of the service integration `integration` with `response` (as a
    /// real service answers a read of an item nobody changes).
    pub fn with_service(mut self, integration: &str, response: Value) -> Self {
        self.services.insert(integration.to_owned(), response);
        self
    }

    /// The (function, payload) pairs invoked so far.
    pub fn calls(&self) -> Vec<(String, Value)> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Dispatcher for Static {
    fn invoke<'a>(
        &'a self,
        function: &'a str,
        payload: Value,
    ) -> BoxFuture<'a, Result<Value, InvokeError>> {
        self.calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((function_name(function).to_owned(), payload));
        let next = self
            .results
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop_front();
        // A result shaped like a Lambda error fails the invocation the same way.
        let out = match next {
            Some(v) if v.get("errorType").is_some() => Err(InvokeError::Function {
                error_type: v["errorType"].as_str().unwrap_or("Error").to_owned(),
                error_message: v
                    .get("errorMessage")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
            }),
            Some(v) => Ok(v),
            None => Err(not_found(function)),
        };
        Box::pin(std::future::ready(out))
    }

    fn call<'a>(
        &'a self,
        integration: &'a str,
        _parameters: Value,
    ) -> BoxFuture<'a, Result<Value, InvokeError>> {
        let out = self
            .services
            .get(integration)
            .cloned()
            .ok_or_else(|| no_service(integration));
        Box::pin(std::future::ready(out))
    }
}

/// The Lambda Invoke API over HTTP.
#[derive(Debug, Clone)]
pub struct InvokeApi {
    base: String,
    client: reqwest::Client,
}

impl InvokeApi {
    /// Invokes at `base` (e.g. `http://127.0.0.1:9000`).
    pub fn new(base: &str) -> Self {
        InvokeApi {
            base: base.trim_end_matches('/').to_owned(),
            client: reqwest::Client::new(),
        }
    }
}

impl Dispatcher for InvokeApi {
    fn invoke<'a>(
        &'a self,
        function: &'a str,
        payload: Value,
    ) -> BoxFuture<'a, Result<Value, InvokeError>> {
        Box::pin(async move {
            let name = function_name(function);
            let url = format!("{}/2015-03-31/functions/{name}/invocations", self.base);
            let service =
                |e: String| InvokeError::Service(StatesError::new("Lambda.ServiceException", e));
            let resp = self
                .client
                .post(&url)
                .json(&payload)
                .send()
                .await
                .map_err(|e| service(format!("{url}: {e}")))?;
            let status = resp.status();
            let function_error = resp.headers().contains_key("x-amz-function-error");
            let body: Value = resp
                .json()
                .await
                .map_err(|e| service(format!("{url}: {e}")))?;
            if status == reqwest::StatusCode::NOT_FOUND {
                return Err(not_found(function));
            }
            if function_error || !status.is_success() {
                return Err(InvokeError::Function {
                    error_type: body
                        .get("errorType")
                        .and_then(Value::as_str)
                        .unwrap_or("Lambda.Unknown")
                        .to_owned(),
                    error_message: body
                        .get("errorMessage")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                });
            }
            Ok(body)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_names_come_out_of_every_reference_form() {
        assert_eq!(function_name("remediate"), "remediate");
        assert_eq!(function_name("remediate:live"), "remediate");
        assert_eq!(
            function_name("123456789012:function:remediate"),
            "remediate"
        );
        assert_eq!(
            function_name("arn:aws:lambda:eu-west-1:123456789012:function:remediate"),
            "remediate"
        );
        assert_eq!(
            function_name("arn:aws:lambda:eu-west-1:123456789012:function:remediate:3"),
            "remediate"
        );
    }

    #[tokio::test]
    async fn static_results_are_handed_out_in_order_and_errors_fail() {
        let d = Static::new([
            json!({"ok": 1}),
            json!({"errorType": "Retryable", "errorMessage": "409"}),
        ]);
        assert_eq!(d.invoke("a", json!({})).await, Ok(json!({"ok": 1})));
        let err = d
            .invoke("b", json!({"x": 1}))
            .await
            .unwrap_err()
            .into_states_error();
        assert_eq!(err.error, "Retryable");
        assert!(err.cause.contains("\"errorMessage\":\"409\""));
        assert_eq!(d.calls()[1], ("b".to_string(), json!({"x": 1})));
    }
}
