//! `selfheal gateway`: the local API Gateway in front of the ingest handler, so a real
//! Alertmanager can post to `POST /alerts` on this machine.
//!
//! By default the incidents live in memory and each execution the ingest starts is written to
//! stdout as one JSON line (the execution input, ready for `selfheal states run --input -`).
//! With `--aws`, the handler uses DynamoDB, Step Functions and Secrets Manager exactly as the
//! Lambda does (AWS_ENDPOINT_URL points them at moto).

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use selfheal_aws::dynamodb::DynamoStore;
use selfheal_aws::memory::{MemoryStarter, MemoryStore, StaticSecret};
use selfheal_aws::secrets::SecretSource;
use selfheal_aws::secretsmanager::ManagedSecret;
use selfheal_aws::sfn::SfnStarter;
use selfheal_aws::starter::{ExecutionStarter, StartError, Started};
use selfheal_aws::store::IncidentStore;
use selfheal_core::Incident;
use selfheal_ingest::{Ingest, gateway};

use crate::catalog;

/// Where the handler keeps incidents and starts executions.
pub enum Backend {
    /// In memory, with this webhook token.
    Memory {
        /// The bearer token (and HMAC key) senders must present.
        token: String,
    },
    /// DynamoDB, Step Functions and Secrets Manager, named by the Lambda's environment
    /// variables (INCIDENTS_TABLE, STATE_MACHINE_ARN, WEBHOOK_SECRET_ID).
    Aws,
}

/// The memory starter, announcing each new execution on stdout.
struct Announcing(MemoryStarter);

impl ExecutionStarter for Announcing {
    async fn start(&self, incident: &Incident) -> Result<Started, StartError> {
        let started = self.0.start(incident).await?;
        if let Started::New { .. } = started {
            let line = serde_json::to_string(incident).map_err(StartError::new)?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "{line}").map_err(StartError::new)?;
        }
        Ok(started)
    }
}

/// Serves until interrupted.
pub fn serve(
    listen: &str,
    backend: Backend,
    runbooks: Option<&Path>,
    policy: Option<&Path>,
) -> Result<ExitCode> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    let catalog = catalog::load(runbooks)?;
    let policy = catalog::load_policy(policy)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("binding {listen}"))?;
        eprintln!(
            "selfheal gateway: POST http://{}/alerts",
            listener.local_addr()?
        );
        match backend {
            Backend::Memory { token } => {
                let ingest = Ingest::new(
                    MemoryStore::new(),
                    Announcing(MemoryStarter::new()),
                    StaticSecret(token),
                    catalog,
                    policy,
                );
                run(listener, ingest).await
            }
            Backend::Aws => {
                let env =
                    |name: &str| std::env::var(name).with_context(|| format!("--aws needs {name}"));
                let config = selfheal_aws::sdk_config(Duration::from_secs(5)).await;
                let ingest = Ingest::new(
                    DynamoStore::new(&config, env("INCIDENTS_TABLE")?),
                    SfnStarter::new(&config, env("STATE_MACHINE_ARN")?),
                    ManagedSecret::new(&config, env("WEBHOOK_SECRET_ID")?),
                    catalog,
                    policy,
                );
                run(listener, ingest).await
            }
        }
    })
}

async fn run<S, E, K>(
    listener: tokio::net::TcpListener,
    ingest: Ingest<S, E, K>,
) -> Result<ExitCode>
where
    S: IncidentStore + 'static,
    E: ExecutionStarter + 'static,
    K: SecretSource + 'static,
{
    tokio::select! {
        served = gateway::serve(listener, Arc::new(ingest)) => served?,
        _ = crate::stop_requested() => {}
    }
    Ok(ExitCode::SUCCESS)
}
