//! `selfheal chaos`: list the chaos scenarios, and run one against a running lab
//! (selfheal_lab::chaos does the work; this prints it).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::Utc;
use selfheal_core::duration::PromDuration;
use selfheal_lab::chaos::{self, End, Endpoints, Options, Progress, Report, Scenario, Until};

use crate::Format;

/// `selfheal chaos`'s subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// The scenarios in chaos/scenarios, with what each breaks and expects.
    List {
        /// The scenarios' directory.
        #[arg(long, default_value = chaos::SCENARIOS)]
        dir: PathBuf,
    },
    /// Inject a scenario's faults into a running lab (scripts/lab); with --wait, follow the alert
    /// and the incident and print the times. Exits 0 when the incident ends remediated (with
    /// --hands-off: when the window was watched), 1 otherwise.
    Run(RunArgs),
}

/// `selfheal chaos run`'s arguments.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// A scenario file, or a name in --dir.
    scenario: String,
    /// The scenarios' directory.
    #[arg(long, default_value = chaos::SCENARIOS)]
    dir: PathBuf,
    /// Follow the run until it ends; without it the faults are injected and left in place.
    #[arg(long)]
    wait: bool,
    /// Stop following after this long (a Prometheus duration: 90s, 5m).
    #[arg(long, default_value = "10m")]
    timeout: PromDuration,
    /// Turn the lab's kill switch on while the run lasts, so selfheal acts in dry run only: the
    /// same fault left alone, watched until it heals by itself or --timeout ends.
    #[arg(long)]
    hands_off: bool,
    /// Stop when the incident opens, when it closes, or also wait for the alert to resolve.
    #[arg(long, value_enum, default_value = "resolved")]
    until: UntilArg,
    /// Leave the faults in place when the run ends.
    #[arg(long)]
    keep: bool,
    /// table (progress lines and the times, for people), or json (the report, for scripts).
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Also write the report (JSON) here.
    #[arg(long)]
    report: Option<PathBuf>,
    /// The lab.
    #[arg(long, env = "SELFHEAL_LAB", default_value = "http://127.0.0.1:9095")]
    lab: String,
    /// kube-sim.
    #[arg(long, env = "SELFHEAL_SIM", default_value = "http://127.0.0.1:6443")]
    sim: String,
    /// Prometheus.
    #[arg(
        long,
        env = "SELFHEAL_PROMETHEUS",
        default_value = "http://127.0.0.1:9090"
    )]
    prometheus: String,
}

/// When a run stops following.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum UntilArg {
    /// The incident opened.
    Opened,
    /// The incident closed.
    Closed,
    /// The incident closed and the alert resolved.
    Resolved,
}

/// Runs `selfheal chaos`.
pub fn run(command: Command) -> Result<ExitCode> {
    match command {
        Command::List { dir } => {
            for s in Scenario::all(&dir)? {
                println!(
                    "{:<24} {} -> {}\n{:<24} {}\n{:<24} on EKS: {}",
                    s.name,
                    s.expect.alert,
                    s.expect.runbook,
                    "",
                    s.description,
                    "",
                    s.mirrors.as_deref().unwrap_or("-")
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Run(args) => run_one(args),
    }
}

fn run_one(args: RunArgs) -> Result<ExitCode> {
    let scenario = Scenario::load(&args.scenario, &args.dir)?;
    let endpoints = Endpoints {
        lab: args.lab.trim_end_matches('/').to_owned(),
        sim: args.sim.trim_end_matches('/').to_owned(),
        prometheus: args.prometheus.trim_end_matches('/').to_owned(),
    };
    let options = Options {
        wait: args.wait,
        timeout: args.timeout.as_duration(),
        hands_off: args.hands_off,
        until: match args.until {
            UntilArg::Opened => Until::Opened,
            UntilArg::Closed => Until::Closed,
            UntilArg::Resolved => Until::Resolved,
        },
        keep: args.keep,
        poll: Duration::from_secs(1),
    };
    let text = args.format == Format::Table;
    if text {
        println!(
            "chaos {}{}: {}",
            scenario.name,
            if args.hands_off { " (hands off)" } else { "" },
            scenario.description
        );
    }
    let start = Utc::now();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(chaos::run(&scenario, &endpoints, &options, |p| {
        if text {
            show(start, &p);
        }
    }))?;
    let json = serde_json::to_string_pretty(&report)?;
    if let Some(path) = &args.report {
        std::fs::write(path, &json).with_context(|| format!("writing {}", path.display()))?;
    }
    if text {
        summary(&report, &options);
    } else {
        println!("{json}");
    }
    Ok(if report.succeeded() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// One progress line, stamped with the seconds since the run began.
fn show(start: chrono::DateTime<Utc>, p: &Progress<'_>) {
    let at = |t: chrono::DateTime<Utc>| format!("+{:>4}s", (t - start).num_seconds());
    let now = at(Utc::now());
    match p {
        Progress::Injected(what) => println!("{now}  injected {what}"),
        Progress::Alert(state) => println!("{now}  alert {}", state.as_str()),
        Progress::Opened(i) => println!(
            "{}  incident {} opened: {} on {} ({})",
            at(i.received_at),
            i.id,
            i.runbook,
            i.target,
            i.mode.as_str()
        ),
        // A summary of several lines (an analysis) stays under its stamp.
        Progress::Event(e) => println!(
            "{}    {}",
            at(e.at),
            e.summary.replace('\n', "\n          ")
        ),
        Progress::Closed(c) => println!(
            "{}  incident closed: {}",
            at(c.closed_at),
            c.outcome.as_str()
        ),
        Progress::Cleared(0) => {}
        Progress::Cleared(n) => println!("{now}  cleared {n} fault(s)"),
    }
}

/// The times, and how the run ended.
fn summary(r: &Report, options: &Options) {
    let s = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.0} s"));
    let t = &r.seconds;
    match (r.end, r.hands_off) {
        (End::Injected, _) => {
            println!("injected; the faults stay until cleared (selfheal sim fault clear ID)");
        }
        (End::TimedOut, true) => println!(
            "left alone: not healthy within {} s (fault to firing {})",
            options.timeout.as_secs(),
            s(t.fault_to_firing)
        ),
        (End::Ended, true) => println!(
            "left alone: healthy by itself after {} (fault to firing {})",
            s(t.fault_to_healthy),
            s(t.fault_to_firing)
        ),
        (end, false) => {
            let outcome = match (r.outcome(), &r.incident) {
                (Some(o), _) => o.as_str(),
                (None, Some(_)) => "opened, not closed",
                (None, None) => "no incident",
            };
            println!(
                "{outcome} (expected {}){}: fault to firing {}, alert to incident {}, incident to healthy {}, fault to healthy {}, fault to resolved {}",
                r.expected.as_str(),
                if end == End::TimedOut {
                    format!(" (timed out after {} s)", options.timeout.as_secs())
                } else {
                    String::new()
                },
                s(t.fault_to_firing),
                s(t.alert_to_incident),
                s(t.incident_to_healthy),
                s(t.fault_to_healthy),
                s(t.fault_to_resolved),
            );
        }
    }
}
