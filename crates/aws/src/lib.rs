//! The few ports the Lambdas need, each with an AWS implementation behind a cargo feature (one per
//! SDK, so a function links only the SDKs it calls) and a local one beside it for the lab, the
//! demo and in-process benchmarks.
//!
//! - [`store::IncidentStore`]: incident claims (exactly-once ingest), guardrail state and its
//!   reservations. DynamoDB: [`dynamodb::DynamoStore`]; local: [`memory::MemoryStore`].
//! - [`starter::ExecutionStarter`]: start the remediation workflow. Step Functions:
//!   [`sfn::SfnStarter`]; local: [`memory::MemoryStarter`].
//! - [`audit::AuditLog`], [`audit::Archive`]: the incident timeline and close (DynamoDB, memory)
//!   and the full record (S3: [`s3::S3Archive`]; local: [`memory::MemoryArchive`]).
//! - [`callback::TaskCallback`]: complete a `.waitForTaskToken` state (Step Functions:
//!   [`sfn_callback::SfnCallback`]; local: the lab's executor).
//! - [`store::ReplayGuard`]: remember a key once (Slack request replays).
//! - [`secrets::SecretSource`]: one secret string. Secrets Manager:
//!   [`secretsmanager::ManagedSecret`]; local: [`memory::StaticSecret`].
//!
//! Errors keep what went wrong below them as their `source` ([`BoxError`]): a caller can downcast
//! it to the SDK's error and act on its kind.

pub mod audit;
pub mod callback;
pub mod kill_switch;
pub mod memory;
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
#[cfg(feature = "sfn-callback")]
pub mod sfn_callback;

/// An error from below (an SDK, serde, a message), kept whole as a `source`.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `e` and each of its sources, joined by ": ". An SDK error's own Display says only
/// "service error"; the log needs the code and message underneath.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut next = e.source();
    while let Some(source) = next {
        let line = source.to_string();
        // Wrappers often repeat their source's message; say it once.
        if !text.ends_with(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        next = source.source();
    }
    text
}

/// The shared SDK configuration: region, credentials and `AWS_ENDPOINT_URL` (moto locally) from the
/// environment, with an operation timeout so a hung dependency fails the call instead of the
/// caller's deadline.
#[cfg(any(
    feature = "dynamodb",
    feature = "sfn",
    feature = "sfn-callback",
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

/// Shared handles: a store or starter behind an `Arc` is the same port, so one memory store can
/// serve the ingest, the audit and the approval handler of the lab at once.
mod shared {
    use std::future::Future;
    use std::sync::Arc;

    use chrono::{DateTime, TimeDelta, Utc};
    use selfheal_core::{GuardrailState, Incident, IncidentId, Target};
    use serde_json::Value;

    use crate::audit::{Archive, AuditLog, Closing, FailureCount, TimelineEvent};
    use crate::starter::{ExecutionStarter, StartError, Started};
    use crate::store::{
        Claim, ClaimToken, IncidentStore, ReplayGuard, Reservation, Settled, StoreError,
    };

    impl<T: IncidentStore> IncidentStore for Arc<T> {
        fn claim(
            &self,
            id: &IncidentId,
            now: DateTime<Utc>,
            hold: TimeDelta,
        ) -> impl Future<Output = Result<Claim, StoreError>> + Send {
            (**self).claim(id, now, hold)
        }
        fn guardrail_state(
            &self,
            target: &Target,
            now: DateTime<Utc>,
        ) -> impl Future<Output = Result<GuardrailState, StoreError>> + Send {
            (**self).guardrail_state(target, now)
        }
        fn reserve(
            &self,
            claim: &ClaimToken,
            incident: &Incident,
            budgets: selfheal_core::guardrail::Budgets,
            now: DateTime<Utc>,
        ) -> impl Future<Output = Result<Reservation, StoreError>> + Send {
            (**self).reserve(claim, incident, budgets, now)
        }
        fn settle(
            &self,
            claim: &ClaimToken,
            settled: &Settled,
            now: DateTime<Utc>,
        ) -> impl Future<Output = Result<(), StoreError>> + Send {
            (**self).settle(claim, settled, now)
        }
        fn release(
            &self,
            claim: &ClaimToken,
        ) -> impl Future<Output = Result<(), StoreError>> + Send {
            (**self).release(claim)
        }
        fn kill_switch(&self) -> impl Future<Output = Result<Option<bool>, StoreError>> + Send {
            (**self).kill_switch()
        }
        fn resolve(
            &self,
            id: &IncidentId,
            at: DateTime<Utc>,
        ) -> impl Future<Output = Result<bool, StoreError>> + Send {
            (**self).resolve(id, at)
        }
    }

    impl<T: AuditLog> AuditLog for Arc<T> {
        fn record(
            &self,
            id: &IncidentId,
            event: &TimelineEvent,
        ) -> impl Future<Output = Result<bool, StoreError>> + Send {
            (**self).record(id, event)
        }
        fn close(
            &self,
            id: &IncidentId,
            closing: &Closing,
            failures: FailureCount,
        ) -> impl Future<Output = Result<Closing, StoreError>> + Send {
            (**self).close(id, closing, failures)
        }
        fn await_approval(
            &self,
            id: &IncidentId,
            token: &str,
        ) -> impl Future<Output = Result<(), StoreError>> + Send {
            (**self).await_approval(id, token)
        }
        fn approval_token(
            &self,
            id: &IncidentId,
        ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send {
            (**self).approval_token(id)
        }
        fn closing(
            &self,
            id: &IncidentId,
        ) -> impl Future<Output = Result<Option<Closing>, StoreError>> + Send {
            (**self).closing(id)
        }
        fn timeline(
            &self,
            id: &IncidentId,
        ) -> impl Future<Output = Result<Vec<TimelineEvent>, StoreError>> + Send {
            (**self).timeline(id)
        }
    }

    impl<T: ReplayGuard> ReplayGuard for Arc<T> {
        fn first_time(
            &self,
            key: &str,
            now: DateTime<Utc>,
            expires: DateTime<Utc>,
        ) -> impl Future<Output = Result<bool, StoreError>> + Send {
            (**self).first_time(key, now, expires)
        }
    }

    impl<T: Archive> Archive for Arc<T> {
        fn put_once(
            &self,
            key: &str,
            body: &Value,
        ) -> impl Future<Output = Result<bool, StoreError>> + Send {
            (**self).put_once(key, body)
        }
    }

    impl<T: ExecutionStarter> ExecutionStarter for Arc<T> {
        fn start(
            &self,
            incident: &Incident,
        ) -> impl Future<Output = Result<Started, StartError>> + Send {
            (**self).start(incident)
        }
    }
}
