//! `sample-app --role frontend|backend|db-stub`: one tier of the sample app (see the library).
//! Settings by flag or environment: ROLE, LISTEN, DOWNSTREAM_URL, OTEL_SERVICE_NAME,
//! OTEL_EXPORTER_OTLP_ENDPOINT, and the FAULT_* switches.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use selfheal_sample_app::{App, Faults, Metrics, Role, Switches, telemetry};
use tracing::{error, info};

#[derive(Debug, Parser)]
#[command(version, about = "One tier of selfheal's sample app.")]
struct Args {
    /// Which tier.
    #[arg(long, env = "ROLE", value_enum)]
    role: Role,
    /// Where to listen.
    #[arg(long, env = "LISTEN", default_value = "0.0.0.0:8080")]
    listen: String,
    /// The tier below (http://host:port): the backend for the frontend, the db-stub for the
    /// backend.
    #[arg(long, env = "DOWNSTREAM_URL")]
    downstream: Option<String>,
    /// The service name on spans [default: the role].
    #[arg(long, env = "OTEL_SERVICE_NAME")]
    service_name: Option<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!(error = format!("{e:#}"), "fatal");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let service = args
        .service_name
        .clone()
        .unwrap_or_else(|| format!("{:?}", args.role).to_lowercase());
    let provider = telemetry::init(&service).context("the OTLP exporter")?;
    let faults = Faults::from_env(|k| std::env::var(k).ok()).context("the fault switches")?;
    if faults.crash_on_start {
        anyhow::bail!("panic: FAULT_CRASH_ON_START: cannot load configuration");
    }
    let switches = Switches::new(faults);
    switches.start_burners();
    let app = App::new(
        args.role,
        args.downstream,
        switches,
        Metrics::new()?,
        &provider,
    )?;
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    info!(role = ?args.role, listen = %listener.local_addr()?, service, "listening");
    axum::serve(listener, app.router())
        .with_graceful_shutdown(async {
            // Kubernetes stops a pod with SIGTERM; a person with Ctrl-C.
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("a SIGTERM handler");
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        })
        .await?;
    provider.shutdown().ok();
    info!("stopped");
    Ok(())
}
