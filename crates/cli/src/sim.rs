//! `selfheal sim`: serve the simulated cluster, and inject or clear faults on a running one.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use selfheal_kube_sim::{Fault, Scenario, Sim, kubeconfig};

/// `sim serve`: builds the scenario's cluster and serves it until interrupted.
pub fn serve(
    scenario: &Path,
    listen: &str,
    kubeconfig_out: Option<&Path>,
    speed: f64,
) -> Result<ExitCode> {
    let text = std::fs::read_to_string(scenario)
        .with_context(|| format!("reading {}", scenario.display()))?;
    let scenario = Scenario::from_yaml(&text)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let sim = Sim::settled_now(&scenario)?;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("binding {listen}"))?;
        let server = format!("http://{}", listener.local_addr()?);
        if let Some(path) = kubeconfig_out {
            std::fs::write(path, kubeconfig(&server, &scenario.cluster))
                .with_context(|| format!("writing {}", path.display()))?;
            eprintln!("kubeconfig: {}", path.display());
        }
        eprintln!(
            "kube-sim {} serving {server} (sim time x{speed})",
            scenario.cluster
        );
        tokio::select! {
            r = sim.serve(listener, speed) => r.context("serving"),
            _ = tokio::signal::ctrl_c() => Ok(()),
        }
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Where a running sim is, and what to do with its faults.
pub enum FaultCommand {
    /// Inject a fault from a YAML file or inline YAML.
    Add(String),
    /// Remove a fault by id.
    Clear(String),
    /// List the faults.
    List,
}

/// `sim fault add|clear|list`.
pub fn fault(server: &str, command: FaultCommand) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let client = reqwest::Client::new();
    let base = server.trim_end_matches('/');
    runtime.block_on(async {
        let resp = match command {
            FaultCommand::Add(spec) => {
                let text = if Path::new(&spec).is_file() {
                    std::fs::read_to_string(PathBuf::from(&spec))?
                } else {
                    spec
                };
                let fault: Fault =
                    serde_saphyr::from_str(&text).context("not a fault (kind, target, ...)")?;
                client
                    .post(format!("{base}/sim/faults"))
                    .json(&fault)
                    .send()
                    .await?
            }
            FaultCommand::Clear(id) => {
                client
                    .delete(format!("{base}/sim/faults/{id}"))
                    .send()
                    .await?
            }
            FaultCommand::List => client.get(format!("{base}/sim/faults")).send().await?,
        };
        let status = resp.status();
        let body = resp.text().await?;
        if !status.is_success() {
            bail!("{status}: {body}");
        }
        if !body.is_empty() {
            println!("{body}");
        }
        Ok(ExitCode::SUCCESS)
    })
}
