//! The health-check Lambda: the clients of the clusters it may reach are set up once per
//! container; each event checks one target in the cluster its incident names. SLI queries go to
//! `PROMETHEUS_URL` when it is set.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use selfheal_core::remediation::{HealthCheckRequest, HealthResult};
use selfheal_eks::Clusters;
use selfheal_health_check::HealthChecker;
use selfheal_lambda::{diagnostic, env};

#[tokio::main]
async fn main() -> Result<(), Error> {
    selfheal_lambda::init_tracing();
    let clusters = Clusters::from_env()?;
    let prometheus = env::optional("PROMETHEUS_URL");
    let catalog = std::sync::Arc::new(selfheal_core::embedded::catalog()?);
    lambda_runtime::run(service_fn(|event: LambdaEvent<HealthCheckRequest>| {
        let (clusters, prometheus, catalog) = (&clusters, prometheus.clone(), catalog.clone());
        async move {
            // An unreachable cluster is worth retrying; an unhealthy target is a result.
            let client = clusters
                .client(&event.payload.incident.target.cluster)
                .await
                .map_err(|e| diagnostic(&e))?;
            Ok::<HealthResult, lambda_runtime::Diagnostic>(
                HealthChecker::new(client, prometheus, catalog)
                    .check(&event.payload)
                    .await,
            )
        }
    }))
    .await
}
