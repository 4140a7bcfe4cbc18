//! The analyzer Lambda. Configuration (environment):
//! - the clusters: as remediate (EKS_CLUSTERS, or KUBECONFIG's contexts), the one the incident names;
//! - PROMETHEUS_URL and LOKI_URL, optional;
//! - Slack: SLACK_BOT_TOKEN_SECRET_ID with SLACK_CHANNEL, or SLACK_WEBHOOK_SECRET_ID; none: no messages;
//! - the LLM: LLM_PROVIDER (anthropic, openai, bedrock; unset: the rules alone), LLM_MODEL,
//!   LLM_BASE_URL (the vendor's by default), LLM_API_KEY_SECRET_ID, LLM_MAX_TOKENS,
//!   LLM_TOKEN_BUDGET, LLM_TIMEOUT_SECONDS;
//! - REDACT_IPS=false keeps IP addresses.

// The SDK futures nest deeply enough to pass the default limit when laid out.
#![recursion_limit = "256"]

use std::time::Duration;

use chrono::Utc;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use selfheal_analyzer::analyst::{Analyst, Budget};
use selfheal_analyzer::gather::Gatherer;
use selfheal_analyzer::llm::{Kind, LlmSettings};
use selfheal_analyzer::{Analyzer, Request};
use selfheal_aws::secrets::SecretSource;
use selfheal_aws::secretsmanager::ManagedSecret;
use selfheal_core::ErrorClass;
use selfheal_core::redact::Options;
use selfheal_eks::Clusters;
use selfheal_lambda::env;
use selfheal_slack::Slack;

#[tokio::main]
async fn main() -> Result<(), Error> {
    selfheal_lambda::init_tracing();
    let config = selfheal_aws::sdk_config(Duration::from_secs(5)).await;
    let secret = |id: String| {
        let secret = ManagedSecret::new(&config, id);
        async move { secret.fetch().await }
    };
    let slack = Slack::from_env(secret).await?;
    let defaults = Budget::default();
    let budget = Budget {
        max_tokens: env::parsed("LLM_MAX_TOKENS", defaults.max_tokens)?,
        tokens: env::parsed("LLM_TOKEN_BUDGET", defaults.tokens)?,
        timeout: Duration::from_secs(env::parsed("LLM_TIMEOUT_SECONDS", 30)?),
    };
    let llm = match env::optional("LLM_PROVIDER") {
        None => None,
        Some(_) => {
            let api_key = match env::optional("LLM_API_KEY_SECRET_ID") {
                Some(id) => Some(secret(id).await?),
                None => None,
            };
            let settings = LlmSettings {
                kind: env::parsed::<Kind>("LLM_PROVIDER", Kind::Anthropic)?,
                model: env::required("LLM_MODEL")?,
                base_url: env::optional("LLM_BASE_URL"),
                api_key,
                region: env::optional("AWS_REGION").unwrap_or_else(|| "us-east-1".into()),
                timeout: budget.timeout,
            };
            Some(settings.build()?)
        }
    };
    let redaction = Options {
        ips: env::optional("REDACT_IPS").is_none_or(|v| v != "false"),
    };
    let analyzer = Analyzer::new(Analyst::new(llm, budget), slack, redaction);
    let clusters = Clusters::from_env()?;
    let (prometheus, loki) = (env::optional("PROMETHEUS_URL"), env::optional("LOKI_URL"));
    lambda_runtime::run(service_fn(|event: LambdaEvent<Request>| {
        let (analyzer, clusters) = (&analyzer, &clusters);
        let (prometheus, loki) = (prometheus.clone(), loki.clone());
        async move {
            // Without the cluster the analysis still runs, on the alert alone.
            let client = match event.payload.cluster() {
                Some(cluster) => clusters.client(cluster).await,
                None => Err(selfheal_eks::AccessError::Config(
                    "the request names no cluster".into(),
                )),
            };
            let gatherer = match client {
                Ok(client) => Some(Gatherer::new(client, prometheus, loki)),
                Err(e) => {
                    tracing::warn!(error = %e, "cluster unreachable; analysing without evidence");
                    None
                }
            };
            analyzer
                .handle(event.payload, gatherer.as_ref(), Utc::now())
                .await
                .map_err(|e| selfheal_lambda::failure(ErrorClass::NonRetryable, e))
        }
    }))
    .await
}
