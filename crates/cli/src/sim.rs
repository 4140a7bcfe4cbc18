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
    sample_app: Option<PathBuf>,
) -> Result<ExitCode> {
    let mut scenario = Scenario::from_file(scenario)?;
    locate_sample_app(&mut scenario, sample_app)?;
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
        let served = tokio::select! {
            r = sim.clone().serve(listener, speed) => r.context("serving"),
            _ = crate::stop_requested() => Ok(()),
        };
        sim.shutdown();
        served
    })?;
    Ok(ExitCode::SUCCESS)
}

/// For a scenario whose containers run as processes: the sample-app binary, from `flag`, the
/// scenario, or next to this executable (where cargo builds both).
pub fn locate_sample_app(scenario: &mut Scenario, flag: Option<PathBuf>) -> Result<()> {
    let Some(processes) = &mut scenario.processes else {
        return Ok(());
    };
    if let Some(path) = flag {
        processes.binary = Some(path);
    }
    if processes.binary.is_none() {
        let exe = std::env::current_exe().context("finding this executable")?;
        processes.binary = exe.parent().map(|d| d.join("sample-app"));
    }
    match &processes.binary {
        Some(path) if path.is_file() => Ok(()),
        other => bail!(
            "the scenario runs {:?} as processes, but there is no sample-app binary at {:?}: build it (cargo build -p selfheal-sample-app) or pass --sample-app",
            processes.images,
            other
        ),
    }
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
