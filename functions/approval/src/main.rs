//! The approval Lambda: the RequestApproval task (`{"kind": "request", ...}`) and Slack's clicks
//! behind API Gateway `POST /slack/actions`. Configuration (environment): INCIDENTS_TABLE (the
//! replay guard), SLACK_SIGNING_SECRET_ID (Secrets Manager), APPROVERS (comma-separated Slack
//! user ids), and where to ask: SLACK_BOT_TOKEN_SECRET_ID with SLACK_CHANNEL, or
//! SLACK_WEBHOOK_SECRET_ID.

// The SDK futures nest deeply enough to pass the default limit when laid out.
#![recursion_limit = "256"]

use std::time::Duration;

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use chrono::Utc;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use selfheal_approval::{ApprovalTask, Approver};
use selfheal_aws::dynamodb::DynamoStore;
use selfheal_aws::secrets::SecretSource;
use selfheal_aws::secretsmanager::ManagedSecret;
use selfheal_aws::sfn_callback::SfnCallback;
use selfheal_core::{ErrorClass, WorkflowError};
use selfheal_lambda::{env, failure};
use selfheal_slack::Slack;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    selfheal_lambda::init_tracing();
    let config = selfheal_aws::sdk_config(Duration::from_secs(5)).await;
    let signing_secret = ManagedSecret::new(&config, env::required("SLACK_SIGNING_SECRET_ID")?)
        .fetch()
        .await?;
    let approvers = env::list("APPROVERS");
    if approvers.is_empty() {
        return Err("APPROVERS is not set: nobody could approve".into());
    }
    let slack = Slack::from_env(|id| {
        let secret = ManagedSecret::new(&config, id);
        async move { secret.fetch().await }
    })
    .await?
    .ok_or("set SLACK_BOT_TOKEN_SECRET_ID and SLACK_CHANNEL, or SLACK_WEBHOOK_SECRET_ID")?;
    let approver = Approver::new(
        SfnCallback::new(&config),
        DynamoStore::new(&config, env::required("INCIDENTS_TABLE")?),
        slack,
        signing_secret,
        approvers,
    )
    .with_metrics(std::sync::Arc::new(selfheal_core::metrics::Emf));
    let invalid = |e| failure(ErrorClass::NonRetryable, e);
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let approver = &approver;
        async move {
            if event.payload.get("kind").and_then(Value::as_str) == Some("request") {
                let task: ApprovalTask = serde_json::from_value(event.payload).map_err(invalid)?;
                // Not asked means nobody can approve: the task fails and the workflow escalates.
                return approver
                    .request(&task)
                    .await
                    .map_err(|e| failure(WorkflowError::ApprovalNotRequested, e));
            }
            let request: ApiGatewayV2httpRequest =
                serde_json::from_value(event.payload).map_err(invalid)?;
            serde_json::to_value(approver.http(&request, Utc::now()).await).map_err(invalid)
        }
    }))
    .await
}
