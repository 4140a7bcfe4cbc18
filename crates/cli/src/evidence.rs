//! `selfheal evidence KIND/NAME`: the analyzer's evidence bundle for a target, read from the
//! cluster the kubeconfig names (KUBECONFIG; kube-sim's from `selfheal sim serve
//! --kubeconfig-out`), redacted, as JSON: save it, share it, replay it with `selfheal analyze`.

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use selfheal_analyzer::evidence::AlertContext;
use selfheal_analyzer::gather::Gatherer;
use selfheal_core::redact::{Options, Redactor};
use selfheal_core::{Target, TargetKind};

/// `selfheal evidence`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to read: deployment/NAME, pod/NAME or node/NAME.
    target: String,
    /// The namespace (not for nodes).
    #[arg(long, short, default_value = "default")]
    namespace: String,
    /// A Prometheus for the metric queries.
    #[arg(long, env = "PROMETHEUS_URL")]
    prometheus: Option<String>,
    /// A Loki for the logs of pods already gone.
    #[arg(long, env = "LOKI_URL")]
    loki: Option<String>,
    /// Keep IP addresses.
    #[arg(long)]
    keep_ips: bool,
}

fn target(args: &Args) -> Result<Target> {
    let Some((kind, name)) = args.target.split_once('/') else {
        bail!("{}: expected KIND/NAME", args.target);
    };
    let kind = match kind.to_ascii_lowercase().as_str() {
        "deployment" | "deploy" => TargetKind::Deployment,
        "pod" | "po" => TargetKind::Pod,
        "node" | "no" => TargetKind::Node,
        other => bail!("{other}: deployment, pod or node"),
    };
    Ok(Target {
        cluster: String::new(),
        namespace: (kind != TargetKind::Node).then(|| args.namespace.clone()),
        kind,
        name: name.to_owned(),
        owner: (kind == TargetKind::Pod)
            .then(|| selfheal_core::target::pod_owner(name))
            .flatten(),
    })
}

/// Prints the redacted bundle.
pub fn run(args: Args) -> Result<ExitCode> {
    let target = target(&args)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let evidence = runtime.block_on(async {
        let client = selfheal_eks::kubeconfig_client()
            .await
            .context("the cluster (KUBECONFIG)")?;
        let gatherer = Gatherer::new(client, args.prometheus.clone(), args.loki.clone());
        anyhow::Ok(
            gatherer
                .gather(&target, AlertContext::default(), chrono::Utc::now())
                .await,
        )
    })?;
    let evidence = evidence.redact(&mut Redactor::new(Options {
        ips: !args.keep_ips,
    }));
    println!("{}", serde_json::to_string_pretty(&evidence)?);
    Ok(ExitCode::SUCCESS)
}
