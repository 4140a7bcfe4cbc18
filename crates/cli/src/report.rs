//! `selfheal report`: incident reports (HTML) and postmortem drafts (Markdown) with an index,
//! from a running lab's incidents, or from an incident's S3 record and its execution history as
//! AWS gives them (`aws s3 cp`, `aws stepfunctions get-execution-history`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use selfheal_report::{IndexEntry, Record, Related, Report};
use selfheal_states::HistoryEvent;
use serde::Deserialize;
use serde_json::Value;

/// What to report on.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Incident ids in the lab [default with --all: every closed incident].
    incidents: Vec<String>,
    /// Every closed incident of the lab.
    #[arg(long, conflicts_with = "incidents")]
    all: bool,
    /// The running lab.
    #[arg(long, env = "SELFHEAL_LAB", default_value = "http://127.0.0.1:9095")]
    lab: String,
    /// Report on one incident from files instead: its S3 record (incidents/YYYY/MM/DD/<id>.json).
    #[arg(long, conflicts_with_all = ["incidents", "all"])]
    record: Option<PathBuf>,
    /// With --record: the execution's history (get-execution-history's JSON).
    #[arg(long, requires = "record")]
    history: Option<PathBuf>,
    /// Where the pages go.
    #[arg(long, default_value = "reports")]
    out: PathBuf,
}

/// What the lab's `GET /incidents/{id}/report` answers.
#[derive(Deserialize)]
struct Material {
    record: Record,
    history: History,
    #[serde(default)]
    messages: Vec<Value>,
}

#[derive(Deserialize)]
struct History {
    events: Vec<HistoryEvent>,
}

/// Runs the command.
pub fn run(args: Args) -> Result<ExitCode> {
    let materials = match &args.record {
        Some(record) => vec![from_files(record, args.history.as_deref())?],
        None => from_lab(&args)?,
    };
    if materials.is_empty() {
        bail!("no closed incident to report on");
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let mut entries = Vec::new();
    for m in &materials {
        let i = &m.record.incident;
        // Reports link the target's other incidents.
        let related: Vec<Related> = materials
            .iter()
            .map(|o| &o.record)
            .filter(|o| o.incident.id != i.id && o.incident.target == i.target)
            .map(|o| Related {
                id: o.incident.id.clone(),
                outcome: o.outcome,
                received_at: o.incident.received_at,
            })
            .collect();
        let report = Report {
            record: &m.record,
            history: &m.history.events,
            messages: &m.messages,
            related: &related,
        };
        let base = args.out.join(i.id.as_str());
        write(
            &base.with_extension("html"),
            &selfheal_report::html(&report),
        )?;
        write(
            &base.with_extension("md"),
            &selfheal_report::postmortem(&report),
        )?;
        entries.push(IndexEntry {
            id: i.id.to_string(),
            alertname: i.alert.name().to_owned(),
            target: i.target.to_string(),
            runbook: i.runbook.id.clone(),
            outcome: m.record.outcome,
            received_at: i.received_at,
            mttr_seconds: m.record.mttr_seconds,
        });
        println!(
            "{}: {} ({} and {})",
            i.id,
            m.record.outcome,
            base.with_extension("html").display(),
            base.with_extension("md").display()
        );
    }
    let index = args.out.join("index.html");
    write(&index, &selfheal_report::index(&entries))?;
    println!("index: {}", index.display());
    Ok(ExitCode::SUCCESS)
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

fn from_files(record: &Path, history: Option<&Path>) -> Result<Material> {
    let read = |p: &Path| -> Result<String> {
        std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))
    };
    let record: Record = serde_json::from_str(&read(record)?)
        .with_context(|| format!("{} is not an incident record", record.display()))?;
    let history = match history {
        Some(p) => serde_json::from_str(&read(p)?)
            .with_context(|| format!("{} is not an execution history", p.display()))?,
        None => History { events: Vec::new() },
    };
    Ok(Material {
        record,
        history,
        messages: Vec::new(),
    })
}

fn from_lab(args: &Args) -> Result<Vec<Material>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let http = reqwest::Client::new();
        let get = |url: String| {
            let http = http.clone();
            async move {
                let response = http
                    .get(&url)
                    .send()
                    .await
                    .with_context(|| format!("reaching the lab at {url}"))?;
                let status = response.status();
                let body: Value = response.json().await.unwrap_or_default();
                if !status.is_success() {
                    bail!(
                        "{url}: {}",
                        body["error"].as_str().unwrap_or(status.as_str())
                    );
                }
                Ok(body)
            }
        };
        let ids: Vec<String> = if args.all {
            let list = get(format!("{}/incidents", args.lab)).await?;
            list.as_array()
                .into_iter()
                .flatten()
                .filter(|i| i["closing"].is_object())
                .filter_map(|i| i["id"].as_str().map(str::to_owned))
                .collect()
        } else {
            args.incidents.clone()
        };
        let mut out = Vec::new();
        for id in ids {
            let body = get(format!("{}/incidents/{id}/report", args.lab)).await?;
            out.push(
                serde_json::from_value(body)
                    .with_context(|| format!("the lab's report material for {id}"))?,
            );
        }
        Ok(out)
    })
}
