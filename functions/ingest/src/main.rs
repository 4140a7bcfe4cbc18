//! The ingest Lambda. Configuration (environment): INCIDENTS_TABLE, STATE_MACHINE_ARN,
//! WEBHOOK_SECRET_ID (Secrets Manager), optional SNS_TOPIC_ARN (the Amazon Managed Prometheus
//! topic) and SELFHEAL_POLICY (JSON; the compiled-in statemachines/policy.yaml otherwise).

// The SDK futures nest deeply enough to pass the default limit when laid out.
#![recursion_limit = "256"]

use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use lambda_runtime::{Diagnostic, Error, LambdaEvent, service_fn};
use selfheal_aws::dynamodb::DynamoStore;
use selfheal_aws::secretsmanager::ManagedSecret;
use selfheal_aws::sfn::SfnStarter;
use selfheal_core::Policy;
use selfheal_ingest::{Ingest, Settings, embedded};
use serde_json::Value;

fn env(name: &str) -> anyhow::Result<String> {
    std::env::var(name).with_context(|| format!("{name} is not set"))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .json()
        .with_target(false)
        .with_current_span(true)
        .with_span_list(false)
        .without_time()
        .init();
    // API Gateway gives up after 29 s; a dependency slower than this answers 503 in time.
    let config = selfheal_aws::sdk_config(Duration::from_secs(5)).await;
    let policy = match std::env::var("SELFHEAL_POLICY") {
        Ok(json) => Policy::from_json(&json)?,
        Err(_) => embedded::policy()?,
    };
    let ingest = Ingest::new(
        DynamoStore::new(&config, env("INCIDENTS_TABLE")?),
        SfnStarter::new(&config, env("STATE_MACHINE_ARN")?),
        ManagedSecret::new(&config, env("WEBHOOK_SECRET_ID")?),
        embedded::catalog()?,
        policy,
    )
    .with_settings(Settings {
        sns_topic_arn: std::env::var("SNS_TOPIC_ARN").ok(),
        emit_metrics: true,
        ..Settings::default()
    });
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let ingest = &ingest;
        async move {
            ingest
                .invoke(event.payload, Utc::now())
                .await
                .map_err(|e| Diagnostic {
                    error_type: format!("Ingest{}", e.status()),
                    error_message: e.to_string(),
                })
        }
    }))
    .await
}
