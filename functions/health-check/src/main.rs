//! The health-check Lambda: the cluster client is set up once per container; each event checks
//! one target. SLI queries go to `PROMETHEUS_URL` when it is set.

use lambda_runtime::{Diagnostic, Error, LambdaEvent, service_fn};
use selfheal_core::remediation::{HealthCheckRequest, HealthResult};
use selfheal_eks::Access;
use selfheal_health_check::HealthChecker;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .json()
        .with_target(false)
        .without_time()
        .init();
    let access = Access::from_env().await?;
    let prometheus = std::env::var("PROMETHEUS_URL").ok();
    lambda_runtime::run(service_fn(|event: LambdaEvent<HealthCheckRequest>| {
        let (access, prometheus) = (&access, prometheus.clone());
        async move {
            // An unreachable cluster is worth retrying; an unhealthy target is a result.
            let client = access.client().await.map_err(|e| Diagnostic {
                error_type: "Retryable".into(),
                error_message: e.to_string(),
            })?;
            Ok::<HealthResult, Diagnostic>(
                HealthChecker::new(client, prometheus)
                    .check(&event.payload)
                    .await,
            )
        }
    }))
    .await
}
