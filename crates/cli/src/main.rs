//! `selfheal`: the command line of selfheal. Each subcommand is a thin shell over the libraries.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

mod alerts;
mod catalog;
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
}

#[derive(Debug, Subcommand)]
enum RunbooksCommand {
    /// Load and check every runbook; list them, or every problem with file and field.
    Check {
        /// The catalog directory.
        #[arg(default_value = catalog::DEFAULT_RUNBOOKS)]
        dir: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum AlertsCommand {
    /// Explain what selfheal would do with each alert of a payload (webhook body or SNS event).
    Explain {
        /// The payload; `-` reads standard input.
        file: PathBuf,
        /// The runbook catalog directory.
        #[arg(long, default_value = catalog::DEFAULT_RUNBOOKS)]
        runbooks: PathBuf,
        /// The guardrail policy file.
        #[arg(long, default_value = catalog::DEFAULT_POLICY)]
        policy: PathBuf,
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Runbooks {
            command: RunbooksCommand::Check { dir },
        } => catalog::check(&dir),
        Command::Alerts {
            command:
                AlertsCommand::Explain {
                    file,
                    runbooks,
                    policy,
                    format,
                },
        } => alerts::explain(&file, &runbooks, &policy, format),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
