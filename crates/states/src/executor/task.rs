//! Task states: the Lambda integrations (a function ARN, `lambda:invoke`, and
//! `.waitForTaskToken` callbacks), with TimeoutSeconds and HeartbeatSeconds.

use super::*;

impl Run<'_> {
    pub(super) async fn task_attempt(
        &self,
        name: &str,
        t: &TaskState,
        eff: &Value,
        entered: DateTime<Utc>,
        retry: u32,
        cur: &Cursor,
    ) -> Result<Value, StatesError> {
        let resource = t
            .resource
            .arn()
            .ok_or_else(|| StatesError::runtime("the Resource is not an ARN"))?;
        let integration = Integration::of(resource).map_err(StatesError::runtime)?;
        let callback = matches!(
            integration,
            Integration::LambdaInvoke {
                wait_for_token: true
            }
        )
        .then(|| self.exec.tokens.issue(&self.name));
        let ctx = self.context(
            name,
            entered,
            retry,
            callback.as_ref().map(|(token, _)| token.as_str()),
            None,
        );
        let params = match &t.parameters {
            Some(tpl) => template::apply(tpl, eff, &ctx)?,
            None => eff.clone(),
        };
        let timeout = match (&t.timeout_seconds, &t.timeout_seconds_path) {
            (Some(s), _) => Some(*s),
            (None, Some(p)) => Some(seconds_from(p, eff, &ctx, "TimeoutSecondsPath")?),
            _ => None,
        };
        let heartbeat = match (&t.heartbeat_seconds, &t.heartbeat_seconds_path) {
            (Some(s), _) => Some(*s),
            (None, Some(p)) => Some(seconds_from(p, eff, &ctx, "HeartbeatSecondsPath")?),
            _ => None,
        };
        match integration {
            Integration::LambdaArn => {
                let (text, _) = payload(&params);
                let mut details = json!({"resource": resource, "input": text, "inputDetails": {"truncated": false}});
                if let Some(s) = timeout {
                    details["timeoutInSeconds"] = json!(s);
                }
                self.record(
                    cur,
                    "LambdaFunctionScheduled",
                    Some(("lambdaFunctionScheduledEventDetails", details)),
                );
                self.record(cur, "LambdaFunctionStarted", None);
                match self.invoke(resource, params, timeout).await {
                    Ok(out) => {
                        let (text, details) = payload(&out);
                        self.record(
                            cur,
                            "LambdaFunctionSucceeded",
                            Some((
                                "lambdaFunctionSucceededEventDetails",
                                json!({"output": text, "outputDetails": details}),
                            )),
                        );
                        Ok(out)
                    }
                    Err(e) => {
                        let kind = if e.error == names::TIMEOUT {
                            "LambdaFunctionTimedOut"
                        } else {
                            "LambdaFunctionFailed"
                        };
                        let key = if e.error == names::TIMEOUT {
                            "lambdaFunctionTimedOutEventDetails"
                        } else {
                            "lambdaFunctionFailedEventDetails"
                        };
                        self.record(
                            cur,
                            kind,
                            Some((key, json!({"error": e.error, "cause": e.cause}))),
                        );
                        Err(e)
                    }
                }
            }
            Integration::LambdaInvoke { .. } | Integration::Service { .. } => {
                let (resource_type, resource) = match integration {
                    Integration::Service { service, action } => (service, action),
                    Integration::LambdaInvoke {
                        wait_for_token: true,
                    } => ("lambda", "invoke.waitForTaskToken"),
                    _ => ("lambda", "invoke"),
                };
                let wait_for_token = callback.is_some();
                let (text, _) = payload(&params);
                let mut details = json!({"resourceType": resource_type, "resource": resource, "region": self.exec.region, "parameters": text});
                if let Some(s) = timeout {
                    details["timeoutInSeconds"] = json!(s);
                }
                if let Some(s) = heartbeat {
                    details["heartbeatInSeconds"] = json!(s);
                }
                self.record(
                    cur,
                    "TaskScheduled",
                    Some(("taskScheduledEventDetails", details)),
                );
                self.record(
                    cur,
                    "TaskStarted",
                    Some((
                        "taskStartedEventDetails",
                        json!({"resourceType": resource_type, "resource": resource}),
                    )),
                );
                let started = self.exec.clock.now();
                let invoked = if let Integration::Service { service, action } = integration {
                    let name = format!("{service}:{action}");
                    self.timed(self.exec.dispatcher.call(&name, params), timeout)
                        .await
                } else {
                    let function = params
                        .get("FunctionName")
                        .and_then(Value::as_str)
                        .ok_or_else(|| {
                            StatesError::runtime("lambda:invoke needs Parameters.FunctionName")
                        })?
                        .to_owned();
                    let body = params.get("Payload").cloned().unwrap_or_else(|| json!({}));
                    self.invoke(&function, body, if wait_for_token { None } else { timeout }).await.map(|out| {
                        json!({
                            "ExecutedVersion": "$LATEST",
                            "Payload": out,
                            "SdkHttpMetadata": {"HttpHeaders": {"Content-Type": "application/json"}, "HttpStatusCode": 200},
                            "SdkResponseMetadata": {"RequestId": format!("{:032x}", fastrand::u128(..))},
                            "StatusCode": 200,
                        })
                    })
                };
                let outcome = match (invoked, callback) {
                    (Ok(wrapped), Some((token, rx))) => {
                        let (text, details) = payload(&wrapped);
                        self.record(cur, "TaskSubmitted", Some(("taskSubmittedEventDetails", json!({"resourceType": resource_type, "resource": resource, "output": text, "outputDetails": details}))));
                        let elapsed = (self.exec.clock.now() - started)
                            .to_std()
                            .unwrap_or_default();
                        let remaining =
                            timeout.map(|s| Duration::from_secs(s).saturating_sub(elapsed));
                        let outcome = self
                            .await_token(rx, remaining, heartbeat.map(Duration::from_secs))
                            .await;
                        self.exec.tokens.close(&token);
                        outcome
                    }
                    (Ok(wrapped), None) => Ok(wrapped),
                    (Err(e), callback) => {
                        if let Some((token, _)) = callback {
                            self.exec.tokens.close(&token);
                        }
                        Err(e)
                    }
                };
                match &outcome {
                    Ok(out) => {
                        let (text, details) = payload(out);
                        self.record(cur, "TaskSucceeded", Some(("taskSucceededEventDetails", json!({"resourceType": resource_type, "resource": resource, "output": text, "outputDetails": details}))));
                    }
                    Err(e) if e.error == names::TIMEOUT || e.error == names::HEARTBEAT_TIMEOUT => {
                        self.record(cur, "TaskTimedOut", Some(("taskTimedOutEventDetails", json!({"resourceType": resource_type, "resource": resource, "error": e.error, "cause": e.cause}))));
                    }
                    Err(e) => {
                        self.record(cur, "TaskFailed", Some(("taskFailedEventDetails", json!({"resourceType": resource_type, "resource": resource, "error": e.error, "cause": e.cause}))));
                    }
                }
                outcome
            }
        }
    }

    /// Invokes a Lambda function through the dispatcher.
    async fn invoke(
        &self,
        function: &str,
        body: Value,
        timeout: Option<u64>,
    ) -> Result<Value, StatesError> {
        self.timed(self.exec.dispatcher.invoke(function, body), timeout)
            .await
    }

    /// Runs a dispatched call, failed with States.Timeout when it outlasts `timeout` seconds;
    /// virtual time stands still while the handler runs.
    async fn timed(
        &self,
        call: BoxFuture<'_, Result<Value, InvokeError>>,
        timeout: Option<u64>,
    ) -> Result<Value, StatesError> {
        let _hold = self.exec.clock.hold();
        match timeout {
            None => call.await.map_err(|e| e.into_states_error()),
            Some(secs) => tokio::select! {
                r = call => r.map_err(|e| e.into_states_error()),
                () = self.exec.clock.sleep(Duration::from_secs(secs)) => Err(StatesError::new(names::TIMEOUT, format!("Task timed out after {secs} seconds"))),
            },
        }
    }

    async fn await_token(
        &self,
        mut rx: tokio::sync::mpsc::UnboundedReceiver<Message>,
        timeout: Option<Duration>,
        heartbeat: Option<Duration>,
    ) -> Result<Value, StatesError> {
        let clock = &self.exec.clock;
        let mut deadline = optional(timeout.map(|d| clock.sleep(d)));
        let mut beat = optional(heartbeat.map(|d| clock.sleep(d)));
        loop {
            tokio::select! {
                msg = rx.recv() => match msg {
                    Some(Message::Success(v)) => return Ok(v),
                    Some(Message::Failure(e)) => return Err(e),
                    Some(Message::Heartbeat) => beat = optional(heartbeat.map(|d| clock.sleep(d))),
                    None => return Err(StatesError::runtime("the task token was dropped")),
                },
                () = &mut deadline => return Err(StatesError::new(names::TIMEOUT, format!("No SendTaskSuccess or SendTaskFailure within {}s", timeout.unwrap_or_default().as_secs()))),
                () = &mut beat => return Err(StatesError::new(names::HEARTBEAT_TIMEOUT, format!("No heartbeat within {}s", heartbeat.unwrap_or_default().as_secs()))),
            }
        }
    }
}
