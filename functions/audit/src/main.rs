//! The audit Lambda. Configuration (environment): INCIDENTS_TABLE, RECORDS_BUCKET, and
//! SELFHEAL_POLICY (JSON; the circuit breaker threshold), statemachines/policy.yaml otherwise.

// The SDK futures nest deeply enough to pass the default limit when laid out.
#![recursion_limit = "256"]

use std::time::Duration;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use selfheal_audit::Auditor;
use selfheal_aws::dynamodb::DynamoStore;
use selfheal_aws::s3::S3Archive;
use selfheal_core::audit::AuditRequest;
use selfheal_lambda::{diagnostic, env};

#[tokio::main]
async fn main() -> Result<(), Error> {
    selfheal_lambda::init_tracing();
    let config = selfheal_aws::sdk_config(Duration::from_secs(10)).await;
    let auditor = Auditor::new(
        DynamoStore::new(&config, env::required("INCIDENTS_TABLE")?),
        S3Archive::new(&config, env::required("RECORDS_BUCKET")?),
        selfheal_lambda::policy()?,
    )
    .with_metrics(std::sync::Arc::new(selfheal_core::metrics::Emf));
    lambda_runtime::run(service_fn(|event: LambdaEvent<AuditRequest>| {
        let auditor = &auditor;
        async move {
            auditor
                .handle(&event.payload)
                .await
                .map_err(|e| diagnostic(&e))
        }
    }))
    .await
}
