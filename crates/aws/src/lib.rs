//! The few ports the Lambdas need, each with an AWS implementation behind a cargo feature (one per
//! SDK, so a function links only the SDKs it calls) and a local one beside it for the lab, the
//! demo and in-process benchmarks.
//!
//! - [`store::IncidentStore`]: incident claims (exactly-once ingest), guardrail state and its
//!   reservations. DynamoDB: [`dynamodb::DynamoStore`]; local: [`store::MemoryStore`].
//! - [`starter::ExecutionStarter`]: start the remediation workflow. Step Functions:
//!   [`sfn::SfnStarter`]; local: [`starter::MemoryStarter`].
//! - [`audit::AuditLog`], [`audit::Archive`]: the incident timeline and close (DynamoDB, memory)
//!   and the full record (S3: [`s3::S3Archive`]; local: [`audit::MemoryArchive`]).
//! - [`callback::TaskCallback`]: complete a `.waitForTaskToken` state (Step Functions:
//!   [`sfn::SfnCallback`]; local: the lab's executor).
//! - [`store::ReplayGuard`]: remember a key once (Slack request replays).
//! - [`secrets::SecretSource`]: one secret string. Secrets Manager:
//!   [`secretsmanager::ManagedSecret`]; local: [`secrets::StaticSecret`].

pub mod audit;
pub mod callback;
pub mod secrets;
pub mod starter;
pub mod store;

#[cfg(feature = "dynamodb")]
pub mod dynamodb;
#[cfg(feature = "s3")]
pub mod s3;
#[cfg(feature = "secretsmanager")]
pub mod secretsmanager;
#[cfg(feature = "sfn")]
pub mod sfn;

/// The shared SDK configuration: region, credentials and `AWS_ENDPOINT_URL` (moto locally) from the
/// environment, with an operation timeout so a hung dependency fails the call instead of the
/// caller's deadline.
#[cfg(any(
    feature = "dynamodb",
    feature = "sfn",
    feature = "secretsmanager",
    feature = "s3"
))]
pub async fn sdk_config(operation_timeout: std::time::Duration) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .operation_timeout(operation_timeout)
                .build(),
        )
        .load()
        .await
}
