//! The remediate Lambda: the cluster client (EKS, or a kubeconfig locally) and the guardrail
//! policy are set up once per container; each event runs one step.

use lambda_runtime::{Diagnostic, Error, LambdaEvent, service_fn};
use selfheal_core::remediation::{RemediateRequest, StepResult};
use selfheal_core::{Classified, Policy};
use selfheal_eks::Access;
use selfheal_remediate::{RemediateError, Remediator};

/// The error Step Functions sees: `Retryable` or `NonRetryable`, which `Retry.ErrorEquals` matches.
fn diagnostic(e: &RemediateError) -> Diagnostic {
    Diagnostic {
        error_type: e.class().as_str().to_owned(),
        error_message: e.to_string(),
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .json()
        .with_target(false)
        .without_time()
        .init();
    let access = Access::from_env().await?;
    // Terraform renders statemachines/policy.yaml into SELFHEAL_POLICY (JSON); without it, the
    // defaults that file restates.
    let policy = match std::env::var("SELFHEAL_POLICY") {
        Ok(json) => Policy::from_json(&json)?,
        Err(_) => Policy::default(),
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<RemediateRequest>| {
        let (access, policy) = (&access, policy.clone());
        async move {
            let client = access.client().await.map_err(|e| Diagnostic {
                error_type: "Retryable".into(),
                error_message: e.to_string(),
            })?;
            let result: Result<StepResult, RemediateError> =
                Remediator::new(client, policy).run(&event.payload).await;
            result.map_err(|e| diagnostic(&e))
        }
    }))
    .await
}
