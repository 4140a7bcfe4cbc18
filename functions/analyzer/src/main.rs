//! The analyzer Lambda. Configuration (environment):
//! - the cluster: as remediate (EKS_CLUSTER_NAME, or KUBECONFIG);
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
use lambda_runtime::{Diagnostic, Error, LambdaEvent, service_fn};
use selfheal_analyzer::analyst::{Analyst, Budget};
use selfheal_analyzer::gather::Gatherer;
use selfheal_analyzer::llm::{Kind, Llm};
use selfheal_analyzer::{Analyzer, Request};
use selfheal_aws::secrets::SecretSource;
use selfheal_aws::secretsmanager::ManagedSecret;
use selfheal_core::redact::Options;
use selfheal_eks::Access;
use selfheal_slack::Slack;
use serde_json::Value;

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn number<T: std::str::FromStr>(name: &str, default: T) -> Result<T, Error> {
    var(name).map_or(Ok(default), |v| {
        v.parse()
            .map_err(|_| format!("{name}={v} is not a number").into())
    })
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .json()
        .with_target(false)
        .without_time()
        .init();
    let config = selfheal_aws::sdk_config(Duration::from_secs(5)).await;
    let secret = |id: String| {
        let secret = ManagedSecret::new(&config, id);
        async move { secret.fetch().await }
    };
    let slack = Slack::from_env(secret).await?;
    let defaults = Budget::default();
    let budget = Budget {
        max_tokens: number("LLM_MAX_TOKENS", defaults.max_tokens)?,
        tokens: number("LLM_TOKEN_BUDGET", defaults.tokens)?,
        timeout: Duration::from_secs(number("LLM_TIMEOUT_SECONDS", 30)?),
    };
    let llm = match var("LLM_PROVIDER") {
        None => None,
        Some(kind) => {
            let kind: Kind = serde_json::from_value(Value::String(kind.clone()))
                .map_err(|_| format!("LLM_PROVIDER={kind}: anthropic, openai or bedrock"))?;
            let region = var("AWS_REGION").unwrap_or_else(|| "us-east-1".into());
            let base = var("LLM_BASE_URL").unwrap_or_else(|| Llm::default_base_url(&kind, &region));
            let model = var("LLM_MODEL").ok_or("LLM_MODEL is not set")?;
            let mut llm = Llm::new(kind.clone(), base, model).with_timeout(budget.timeout);
            if let Some(id) = var("LLM_API_KEY_SECRET_ID") {
                llm = llm.with_api_key(secret(id).await?);
            }
            if kind == Kind::Bedrock {
                llm = llm
                    .with_credentials(selfheal_eks::cluster::aws::EnvCredentials::read()?, region);
            }
            Some(llm)
        }
    };
    let redaction = Options {
        ips: var("REDACT_IPS").is_none_or(|v| v != "false"),
    };
    let analyzer = Analyzer::new(Analyst::new(llm, budget), slack, redaction);
    let access = Access::from_env().await?;
    let (prometheus, loki) = (var("PROMETHEUS_URL"), var("LOKI_URL"));
    lambda_runtime::run(service_fn(|event: LambdaEvent<Request>| {
        let (analyzer, access) = (&analyzer, &access);
        let (prometheus, loki) = (prometheus.clone(), loki.clone());
        async move {
            // Without the cluster the analysis still runs, on the alert alone.
            let gatherer = match access.client().await {
                Ok(client) => Some(Gatherer::new(client, prometheus, loki)),
                Err(e) => {
                    tracing::warn!(error = %e, "cluster unreachable; analysing without evidence");
                    None
                }
            };
            analyzer
                .handle(event.payload, gatherer.as_ref(), Utc::now())
                .await
                .map_err(|e| Diagnostic {
                    error_type: "NonRetryable".into(),
                    error_message: e.to_string(),
                })
        }
    }))
    .await
}
