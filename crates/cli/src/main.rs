//! `selfheal`: the command line of selfheal. Each subcommand is a thin shell over the libraries.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

mod alerts;
mod analyze;
mod catalog;
mod chaos;
mod demo;
mod evidence;
mod gateway;
mod lab;
mod report;
mod sim;
mod slack;
mod states;
mod table;

/// Self-healing for Kubernetes: runbooks, alerts and the local lab.
#[derive(Debug, Parser)]
#[command(name = "selfheal", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Work with the runbook catalog.
    Runbooks {
        #[command(subcommand)]
        command: RunbooksCommand,
    },
    /// Work with Alertmanager payloads.
    Alerts {
        #[command(subcommand)]
        command: AlertsCommand,
    },
    /// Run and check state machine definitions with the local executor.
    States {
        #[command(subcommand)]
        command: StatesCommand,
    },
    /// The simulated cluster: serve it, inject faults.
    Sim {
        #[command(subcommand)]
        command: SimCommand,
    },
    /// The whole flow on 127.0.0.1: kube-sim, the ingest behind POST /alerts, the workflow on the
    /// local executor with the real handlers, approvals, the audit.
    Lab(lab::Args),
    /// Chaos scenarios against a running lab: list them, run one and measure the healing.
    Chaos {
        #[command(subcommand)]
        command: chaos::Command,
    },
    /// Redact secrets and personal data: text on standard input, line for line on standard output.
    Redact {
        /// Keep IP addresses (pod and node addresses an analysis needs).
        #[arg(long)]
        keep_ips: bool,
    },
    /// Name the root cause of an evidence bundle (JSON, as the analyzer gathers it): the rules,
    /// or an LLM with the rules as its fallback. The bundle is redacted first.
    Analyze(analyze::Args),
    /// Gather the analyzer's evidence for a target from the cluster (KUBECONFIG), redacted, as JSON.
    Evidence(evidence::Args),
    /// Every chaos scenario on virtual time, with selfheal and left alone, with Debian's
    /// Prometheus evaluating the repository's alert rules: the story of each and one table.
    Demo(demo::Args),
    /// Incident reports (one HTML page each) and postmortem drafts (Markdown) with an index page,
    /// from a running lab or from an incident's S3 record and execution history.
    Report(report::Args),
    /// Show the lab's Slack messages (a JSON-lines file) as terminal text.
    Slack {
        /// The file `selfheal lab --slack-file` writes.
        file: std::path::PathBuf,
        /// Keep waiting for new messages.
        #[arg(long, short)]
        follow: bool,
    },
    /// Approve (or reject) an incident waiting for approval in a running `selfheal lab`.
    Approve {
        /// The incident id.
        incident: String,
        /// Reject instead: the workflow escalates and nothing runs.
        #[arg(long)]
        reject: bool,
        /// Who decides (recorded as cli:NAME).
        #[arg(long = "as", env = "USER", default_value = "operator")]
        by: String,
        /// The lab.
        #[arg(long, env = "SELFHEAL_LAB", default_value = "http://127.0.0.1:9095")]
        lab: String,
    },
    /// Serve POST /alerts locally in front of the ingest handler, as API Gateway does.
    Gateway {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:9095")]
        listen: String,
        /// The bearer token (and HMAC key) senders must present (memory backend).
        #[arg(long, env = "SELFHEAL_WEBHOOK_TOKEN", required_unless_present = "aws")]
        token: Option<String>,
        /// Use DynamoDB, Step Functions and Secrets Manager as the Lambda does (INCIDENTS_TABLE,
        /// STATE_MACHINE_ARN, WEBHOOK_SECRET_ID; AWS_ENDPOINT_URL for moto).
        #[arg(long)]
        aws: bool,
        /// The runbook catalog directory [default: statemachines/runbooks when present, else the
        /// compiled-in catalog].
        #[arg(long)]
        runbooks: Option<PathBuf>,
        /// The guardrail policy file [default: statemachines/policy.yaml when present, else the
        /// compiled-in policy].
        #[arg(long)]
        policy: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum SimCommand {
    /// Serve a scenario's cluster over the Kubernetes API until interrupted.
    Serve {
        /// The scenario (YAML).
        #[arg(long, default_value = "chaos/clusters/three-tier.yaml")]
        scenario: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:6443")]
        listen: String,
        /// Write a kubeconfig for kubectl and kube clients here.
        #[arg(long)]
        kubeconfig_out: Option<PathBuf>,
        /// Sim seconds per wall-clock second.
        #[arg(long, default_value_t = 1.0)]
        speed: f64,
        /// The sample-app binary, for a scenario whose containers run as processes [default:
        /// next to this executable].
        #[arg(long, env = "SELFHEAL_SAMPLE_APP")]
        sample_app: Option<PathBuf>,
    },
    /// Inject, clear or list faults on a running sim.
    Fault {
        /// The sim's URL.
        #[arg(
            long,
            global = true,
            env = "SELFHEAL_SIM",
            default_value = "http://127.0.0.1:6443"
        )]
        server: String,
        #[command(subcommand)]
        command: FaultCommand,
    },
}

#[derive(Debug, Subcommand)]
enum FaultCommand {
    /// Inject a fault: a YAML file, or inline YAML (`kind: crashloop\ntarget: {...}`).
    Add {
        /// The fault.
        fault: String,
    },
    /// Remove a fault by id.
    Clear {
        /// The fault's id.
        id: String,
    },
    /// List the faults.
    List,
}

#[derive(Debug, Subcommand)]
enum StatesCommand {
    /// Run an execution and print its result as JSON (exit 0 whenever it ran).
    Run {
        /// The definition (ASL JSON).
        definition: PathBuf,
        /// The execution input (JSON file); `{}` when absent.
        #[arg(long)]
        input: Option<PathBuf>,
        /// Where Task states go: echo, invoke-api=URL (e.g. cargo lambda watch) or static=FILE.
        #[arg(long, default_value = "echo")]
        tasks: states::Tasks,
        /// Add the execution history to the JSON.
        #[arg(long)]
        history: bool,
        /// Print a readable timeline to stderr.
        #[arg(long)]
        timeline: bool,
        /// Wait in wall-clock time instead of virtual time.
        #[arg(long)]
        real_time: bool,
        /// The execution name.
        #[arg(long, default_value = "local")]
        name: String,
    },
    /// Check a definition: Next targets, reachability, fields, paths, resources.
    Validate {
        /// The definition (ASL JSON).
        definition: PathBuf,
    },
    /// Render a definition template as Terraform's templatefile() does (statemachines/ holds
    /// templates: function ARNs and the table are variables) and print it.
    Render {
        /// The template.
        template: PathBuf,
        /// A variable, NAME=VALUE; without any, the lab's names (selfheal-audit...).
        #[arg(long = "var")]
        vars: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
enum RunbooksCommand {
    /// Load and check every runbook; list them, or every problem with file and field.
    Check {
        /// The catalog directory [default: statemachines/runbooks when present, else the
        /// compiled-in catalog].
        dir: Option<PathBuf>,
        /// Prometheus rule files, or directories of them: every runbook must be woken by an
        /// alert marked `selfheal: auto`, and every such alert must match a runbook.
        #[arg(long)]
        rules: Vec<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum AlertsCommand {
    /// Explain what selfheal would do with each alert of a payload (webhook body or SNS event).
    Explain {
        /// The payload; `-` reads standard input.
        file: PathBuf,
        /// The runbook catalog directory [default: statemachines/runbooks when present, else the
        /// compiled-in catalog].
        #[arg(long)]
        runbooks: Option<PathBuf>,
        /// The guardrail policy file [default: statemachines/policy.yaml when present, else the
        /// compiled-in policy].
        #[arg(long)]
        policy: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    Table,
    /// JSON for programs.
    Json,
}

/// `selfheal redact`: one redactor for the whole input, so placeholders are stable across lines.
fn redact(keep_ips: bool) -> anyhow::Result<ExitCode> {
    use std::io::{BufRead, Write};
    let mut redactor =
        selfheal_core::redact::Redactor::new(selfheal_core::redact::Options { ips: !keep_ips });
    let stdin = std::io::stdin().lock();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for line in stdin.lines() {
        writeln!(out, "{}", redactor.redact(&line?))?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Resolves when the process is asked to stop: Ctrl-C (SIGINT) from a person, SIGTERM from a
/// script or a supervisor.
async fn stop_requested() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Runbooks {
            command: RunbooksCommand::Check { dir, rules },
        } => catalog::check(dir.as_deref(), &rules),
        Command::Alerts {
            command:
                AlertsCommand::Explain {
                    file,
                    runbooks,
                    policy,
                    format,
                },
        } => alerts::explain(&file, runbooks.as_deref(), policy.as_deref(), format),
        Command::States {
            command:
                StatesCommand::Run {
                    definition,
                    input,
                    tasks,
                    history,
                    timeline,
                    real_time,
                    name,
                },
        } => states::run(
            &definition,
            states::RunOptions {
                input,
                tasks,
                history,
                timeline,
                real_time,
                name,
            },
        ),
        Command::States {
            command: StatesCommand::Validate { definition },
        } => states::validate(&definition),
        Command::States {
            command: StatesCommand::Render { template, vars },
        } => states::render(&template, &vars),
        Command::Sim {
            command:
                SimCommand::Serve {
                    scenario,
                    listen,
                    kubeconfig_out,
                    speed,
                    sample_app,
                },
        } => sim::serve(
            &scenario,
            &listen,
            kubeconfig_out.as_deref(),
            speed,
            sample_app,
        ),
        Command::Sim {
            command: SimCommand::Fault { server, command },
        } => sim::fault(
            &server,
            match command {
                FaultCommand::Add { fault } => sim::FaultCommand::Add(fault),
                FaultCommand::Clear { id } => sim::FaultCommand::Clear(id),
                FaultCommand::List => sim::FaultCommand::List,
            },
        ),
        Command::Lab(args) => lab::serve(args),
        Command::Chaos { command } => chaos::run(command),
        Command::Redact { keep_ips } => redact(keep_ips),
        Command::Analyze(args) => analyze::run(args),
        Command::Evidence(args) => evidence::run(args),
        Command::Report(args) => report::run(args),
        Command::Demo(args) => demo::run_demo(args),
        Command::Slack { file, follow } => slack::show(&file, follow),
        Command::Approve {
            incident,
            reject,
            by,
            lab,
        } => lab::approve(&lab, &incident, reject, &by),
        Command::Gateway {
            listen,
            token,
            aws,
            runbooks,
            policy,
        } => {
            let backend = match (aws, token) {
                (false, Some(token)) => gateway::Backend::Memory { token },
                _ => gateway::Backend::Aws,
            };
            gateway::serve(&listen, backend, runbooks.as_deref(), policy.as_deref())
        }
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
