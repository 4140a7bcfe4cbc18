//! The remediate Lambda: the clients of the clusters it may reach (EKS, or a kubeconfig's
//! contexts locally) and the guardrail policy are set up once per container; each event runs one
//! step against the cluster its incident names.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use selfheal_core::metrics::{Emf, Sink};
use selfheal_core::remediation::RemediateRequest;
use selfheal_eks::Clusters;
use selfheal_lambda::diagnostic;
use selfheal_remediate::Remediator;

#[tokio::main]
async fn main() -> Result<(), Error> {
    selfheal_lambda::init_tracing();
    let clusters = Clusters::from_env()?;
    let policy = selfheal_lambda::policy()?;
    let catalog = std::sync::Arc::new(selfheal_core::embedded::catalog()?);
    let metrics: std::sync::Arc<dyn Sink> = std::sync::Arc::new(Emf);
    lambda_runtime::run(service_fn(|event: LambdaEvent<RemediateRequest>| {
        let (clusters, policy, catalog) = (&clusters, policy.clone(), catalog.clone());
        let metrics = metrics.clone();
        async move {
            // An unreachable cluster is worth retrying, one not configured here is not; the
            // step's own errors say what they are.
            let client = clusters
                .client(&event.payload.incident.target.cluster)
                .await
                .map_err(|e| diagnostic(&e))?;
            Remediator::new(client, policy, catalog)
                .with_metrics(metrics)
                .run(&event.payload)
                .await
                .map_err(|e| diagnostic(&e))
        }
    }))
    .await
}
