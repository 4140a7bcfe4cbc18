//! The approval Lambda behind API Gateway `POST /slack/actions`. Configuration (environment):
//! INCIDENTS_TABLE (the replay guard), SLACK_SIGNING_SECRET_ID (Secrets Manager), APPROVERS
//! (comma-separated Slack user ids).

// The SDK futures nest deeply enough to pass the default limit when laid out.
#![recursion_limit = "256"]

use std::time::Duration;

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use chrono::Utc;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use selfheal_approval::Approver;
use selfheal_aws::dynamodb::DynamoStore;
use selfheal_aws::secrets::SecretSource;
use selfheal_aws::secretsmanager::ManagedSecret;
use selfheal_aws::sfn::SfnCallback;

fn env(name: &str) -> Result<String, Error> {
    std::env::var(name).map_err(|_| format!("{name} is not set").into())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .json()
        .with_target(false)
        .without_time()
        .init();
    let config = selfheal_aws::sdk_config(Duration::from_secs(5)).await;
    let secret = ManagedSecret::new(&config, env("SLACK_SIGNING_SECRET_ID")?)
        .fetch()
        .await?;
    let approvers = env("APPROVERS")?
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    let approver = Approver::new(
        SfnCallback::new(&config),
        DynamoStore::new(&config, env("INCIDENTS_TABLE")?),
        secret,
        approvers,
    );
    lambda_runtime::run(service_fn(|event: LambdaEvent<ApiGatewayV2httpRequest>| {
        let approver = &approver;
        async move {
            Ok::<ApiGatewayV2httpResponse, Error>(approver.http(&event.payload, Utc::now()).await)
        }
    }))
    .await
}
