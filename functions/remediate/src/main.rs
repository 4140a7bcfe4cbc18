//! The remediate Lambda: the cluster client (EKS, or a kubeconfig locally) and the guardrail
//! policy are set up once per container; each event runs one step.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use selfheal_core::ErrorClass;
use selfheal_core::metrics::{Emf, Sink};
use selfheal_core::remediation::RemediateRequest;
use selfheal_eks::Access;
use selfheal_lambda::{diagnostic, failure};
use selfheal_remediate::Remediator;

#[tokio::main]
async fn main() -> Result<(), Error> {
    selfheal_lambda::init_tracing();
    let access = Access::from_env().await?;
    let policy = selfheal_lambda::policy()?;
    let catalog = std::sync::Arc::new(selfheal_core::embedded::catalog()?);
    let metrics: std::sync::Arc<dyn Sink> = std::sync::Arc::new(Emf);
    let cluster = selfheal_lambda::env::optional("EKS_CLUSTER_NAME");
    lambda_runtime::run(service_fn(|event: LambdaEvent<RemediateRequest>| {
        let (access, policy, catalog) = (&access, policy.clone(), catalog.clone());
        let (metrics, cluster) = (metrics.clone(), cluster.clone());
        async move {
            // An unreachable cluster is worth retrying; the step's own errors say what they are.
            let client = access
                .client()
                .await
                .map_err(|e| failure(ErrorClass::Retryable, e))?;
            Remediator::new(client, policy, catalog)
                .with_metrics(metrics)
                .with_cluster(cluster)
                .run(&event.payload)
                .await
                .map_err(|e| diagnostic(&e))
        }
    }))
    .await
}
