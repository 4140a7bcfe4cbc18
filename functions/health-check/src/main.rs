//! The health-check Lambda: the cluster client is set up once per container; each event checks
//! one target. SLI queries go to `PROMETHEUS_URL` when it is set.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use selfheal_core::ErrorClass;
use selfheal_core::remediation::{HealthCheckRequest, HealthResult};
use selfheal_eks::Access;
use selfheal_health_check::HealthChecker;
use selfheal_lambda::{env, failure};

#[tokio::main]
async fn main() -> Result<(), Error> {
    selfheal_lambda::init_tracing();
    let access = Access::from_env().await?;
    let prometheus = env::optional("PROMETHEUS_URL");
    let catalog = std::sync::Arc::new(selfheal_core::embedded::catalog()?);
    lambda_runtime::run(service_fn(|event: LambdaEvent<HealthCheckRequest>| {
        let (access, prometheus, catalog) = (&access, prometheus.clone(), catalog.clone());
        async move {
            // An unreachable cluster is worth retrying; an unhealthy target is a result.
            let client = access
                .client()
                .await
                .map_err(|e| failure(ErrorClass::Retryable, e))?;
            Ok::<HealthResult, lambda_runtime::Diagnostic>(
                HealthChecker::new(client, prometheus, catalog)
                    .check(&event.payload)
                    .await,
            )
        }
    }))
    .await
}
