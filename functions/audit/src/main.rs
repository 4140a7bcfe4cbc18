//! The audit Lambda. Configuration (environment): INCIDENTS_TABLE, RECORDS_BUCKET, and
//! SELFHEAL_POLICY (JSON; the circuit breaker threshold), the defaults otherwise.

// The SDK futures nest deeply enough to pass the default limit when laid out.
#![recursion_limit = "256"]

use std::time::Duration;

use lambda_runtime::{Diagnostic, Error, LambdaEvent, service_fn};
use selfheal_audit::Auditor;
use selfheal_aws::dynamodb::DynamoStore;
use selfheal_aws::s3::S3Archive;
use selfheal_core::audit::{AuditRequest, AuditResponse};
use selfheal_core::{Classified, Policy};

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .json()
        .with_target(false)
        .without_time()
        .init();
    let config = selfheal_aws::sdk_config(Duration::from_secs(10)).await;
    let policy = match std::env::var("SELFHEAL_POLICY") {
        Ok(json) => Policy::from_json(&json)?,
        Err(_) => Policy::default(),
    };
    let table = std::env::var("INCIDENTS_TABLE").map_err(|_| "INCIDENTS_TABLE is not set")?;
    let bucket = std::env::var("RECORDS_BUCKET").map_err(|_| "RECORDS_BUCKET is not set")?;
    let auditor = Auditor::new(
        DynamoStore::new(&config, table),
        S3Archive::new(&config, bucket),
        policy,
    );
    lambda_runtime::run(service_fn(|event: LambdaEvent<AuditRequest>| {
        let auditor = &auditor;
        async move {
            auditor
                .handle(&event.payload)
                .await
                .map_err(|e| Diagnostic {
                    error_type: e.class().as_str().to_owned(),
                    error_message: e.to_string(),
                })
                .map(|r: AuditResponse| r)
        }
    }))
    .await
}
