//! The ingest Lambda. Configuration (environment): INCIDENTS_TABLE, STATE_MACHINE_ARN,
//! WEBHOOK_SECRET_ID (Secrets Manager), optional SNS_TOPIC_ARN (the Amazon Managed Prometheus
//! topic) and SELFHEAL_POLICY (JSON; statemachines/policy.yaml otherwise).

// The SDK futures nest deeply enough to pass the default limit when laid out.
#![recursion_limit = "256"]

use std::time::Duration;

use chrono::Utc;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use selfheal_aws::dynamodb::DynamoStore;
use selfheal_aws::secretsmanager::ManagedSecret;
use selfheal_aws::sfn::SfnStarter;
use selfheal_ingest::{Ingest, Settings};
use selfheal_lambda::{env, failure};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    selfheal_lambda::init_tracing();
    // API Gateway gives up after 29 s; a dependency slower than this answers 503 in time.
    let config = selfheal_aws::sdk_config(Duration::from_secs(5)).await;
    let ingest = Ingest::new(
        DynamoStore::new(&config, env::required("INCIDENTS_TABLE")?),
        SfnStarter::new(&config, env::required("STATE_MACHINE_ARN")?),
        ManagedSecret::new(&config, env::required("WEBHOOK_SECRET_ID")?),
        selfheal_core::embedded::catalog()?,
        selfheal_lambda::policy()?,
    )
    .with_metrics(std::sync::Arc::new(selfheal_core::metrics::Emf))
    .with_settings(Settings {
        sns_topic_arn: env::optional("SNS_TOPIC_ARN"),
        ..Settings::default()
    });
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let ingest = &ingest;
        async move {
            ingest
                .invoke(event.payload, Utc::now())
                .await
                .map_err(|e| failure(format_args!("Ingest{}", e.status()), e))
        }
    }))
    .await
}
