//! `selfheal lab` and `selfheal approve`: thin shells over selfheal_lab::serve.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use selfheal_kube_sim::{Scenario, kubeconfig};

use crate::catalog;

/// `selfheal lab`'s arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address of the lab (POST /alerts, POST /approvals/INCIDENT, GET /incidents/INCIDENT).
    #[arg(long, default_value = "127.0.0.1:9095")]
    listen: String,
    /// Address of kube-sim.
    #[arg(long, default_value = "127.0.0.1:6443")]
    sim_listen: String,
    /// The scenario (YAML).
    #[arg(long, default_value = "chaos/clusters/three-tier.yaml")]
    scenario: PathBuf,
    /// Write a kubeconfig for kube-sim here.
    #[arg(long)]
    kubeconfig_out: Option<PathBuf>,
    /// The bearer token Alertmanager presents.
    #[arg(long, env = "SELFHEAL_WEBHOOK_TOKEN")]
    token: String,
    /// Where Slack messages go (JSON lines).
    #[arg(long, default_value = "selfheal-slack.jsonl")]
    slack_file: PathBuf,
    /// The runbook catalog directory [default: statemachines/runbooks when present, else the
    /// compiled-in catalog].
    #[arg(long)]
    runbooks: Option<PathBuf>,
    /// The guardrail policy file [default: statemachines/policy.yaml when present, else the
    /// compiled-in policy].
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Prometheus, for the health check's SLI queries (e.g. http://127.0.0.1:9090); without it
    /// an SLI check is unknown.
    #[arg(long, env = "SELFHEAL_PROMETHEUS")]
    prometheus: Option<String>,
    /// The sample-app binary, for a scenario whose containers run as processes [default: next
    /// to this executable].
    #[arg(long, env = "SELFHEAL_SAMPLE_APP")]
    sample_app: Option<PathBuf>,
}

/// Serves the lab until interrupted.
pub fn serve(args: Args) -> Result<ExitCode> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    let mut scenario = Scenario::from_file(&args.scenario)?;
    crate::sim::locate_sample_app(&mut scenario, args.sample_app.clone())?;
    let options = selfheal_lab::serve::Options {
        catalog: catalog::load(args.runbooks.as_deref())?,
        policy: catalog::load_policy(args.policy.as_deref())?,
        token: args.token,
        slack_file: args.slack_file.clone(),
        prometheus: args.prometheus.clone(),
        scenario,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .with_context(|| format!("binding {}", args.listen))?;
        let sim_listener = tokio::net::TcpListener::bind(&args.sim_listen)
            .await
            .with_context(|| format!("binding {}", args.sim_listen))?;
        let sim_url = format!("http://{}", sim_listener.local_addr()?);
        if let Some(path) = &args.kubeconfig_out {
            std::fs::write(path, kubeconfig(&sim_url, &options.scenario.cluster))
                .with_context(|| format!("writing {}", path.display()))?;
        }
        // Slack messages appear on standard output as they are posted.
        let slack_file = args.slack_file.clone();
        std::thread::spawn(move || crate::slack::show(&slack_file, true));
        eprintln!(
            "selfheal lab: POST http://{}/alerts, kube-sim {sim_url}, Slack messages in {}",
            listener.local_addr()?,
            args.slack_file.display()
        );
        selfheal_lab::serve::serve(options, listener, sim_listener, crate::stop_requested())
            .await?;
        Ok(ExitCode::SUCCESS)
    })
}

/// Decides an incident waiting for approval in a running lab.
pub fn approve(lab: &str, incident: &str, reject: bool, by: &str) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let response = reqwest::Client::new()
            .post(format!("{lab}/approvals/{incident}"))
            .query(&[("reject", reject.to_string()), ("by", by.to_owned())])
            .send()
            .await
            .with_context(|| format!("reaching the lab at {lab}"))?;
        let status = response.status();
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        if status.is_success() {
            println!(
                "{incident}: {} by {}",
                if reject { "rejected" } else { "approved" },
                body["decided_by"].as_str().unwrap_or(by)
            );
            Ok(ExitCode::SUCCESS)
        } else {
            eprintln!(
                "{incident}: {}",
                body["error"].as_str().unwrap_or(status.as_str())
            );
            Ok(ExitCode::FAILURE)
        }
    })
}
