//! `selfheal demo`: every chaos scenario on the lab's virtual clock, twice (selfheal acting, then
//! the same fault left alone), with Debian's Prometheus evaluating the repository's alert rules at
//! each virtual instant. Prints a line per scenario as it runs, then each scenario's story (alert,
//! incident, cause found, actions, Slack messages) and one table with the measured times and the
//! counts over the run.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use selfheal_core::audit::Outcome;
use selfheal_kube_sim::Scenario as Cluster;
use selfheal_lab::chaos::Scenario;
use selfheal_lab::demo::{Run, Settings, run};
use serde::Serialize;
use serde_json::Value;

use crate::Format;
use crate::table::Table;

/// What to run.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// One scenario (a name in --scenarios, or a file) [default: all].
    #[arg(long)]
    scenario: Option<String>,
    /// The chaos scenarios.
    #[arg(long, default_value = "chaos/scenarios")]
    scenarios: PathBuf,
    /// The cluster they run on.
    #[arg(long, default_value = "chaos/clusters/three-tier.yaml")]
    cluster: PathBuf,
    /// The alert rules Prometheus evaluates.
    #[arg(long, default_value = "observability/prometheus/rules")]
    rules: PathBuf,
    /// Minutes after the fault a run may last.
    #[arg(long, default_value_t = 45)]
    window: u64,
    /// The Prometheus binary (Debian's package).
    #[arg(long, default_value = "prometheus")]
    prometheus: String,
    /// Scenarios run at the same time (each with its own Prometheus).
    #[arg(long, default_value_t = 2)]
    jobs: usize,
    /// table: the story and the table; json: the table as JSON.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

/// One scenario's line of the table.
#[derive(Debug, Serialize)]
struct Row {
    scenario: String,
    alert: String,
    runbook: String,
    expected: String,
    outcome: Option<String>,
    fired_after_seconds: Option<i64>,
    healthy_with_selfheal_seconds: Option<i64>,
    healthy_left_alone_seconds: Option<i64>,
    incidents: usize,
    refused_alerts: usize,
    approvals: usize,
    wall_seconds: f64,
}

/// Debian's Prometheus with its remote-write receiver, stopped (and its data removed) on drop.
struct Prometheus {
    child: Child,
    dir: PathBuf,
    url: String,
}

impl Prometheus {
    fn start(binary: &str) -> Result<Prometheus> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let dir = std::env::temp_dir().join(format!("selfheal-demo-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("prometheus.yml"), "global: {}\n")?;
        let child = Command::new(binary)
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--web.enable-remote-write-receiver")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {binary} (Debian's prometheus package)"))?;
        let prometheus = Prometheus {
            child,
            dir,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                bail!("{binary} did not listen on {port} within 20 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(prometheus)
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs the command.
pub fn run_demo(args: Args) -> Result<ExitCode> {
    // The handlers' own logs only when asked for: the demo prints its story.
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_target(false)
            .init();
    }
    let scenarios = match &args.scenario {
        Some(name) => vec![Scenario::load(name, &args.scenarios)?],
        None => Scenario::all(&args.scenarios)?,
    };
    let cluster = Cluster::from_file(&args.cluster)
        .with_context(|| format!("the cluster {}", args.cluster.display()))?;
    let catalog = crate::catalog::load(None)?;
    let wall = Instant::now();
    let total = scenarios.len();
    let queue = Mutex::new(scenarios.iter().enumerate().collect::<VecDeque<_>>());
    let done: Mutex<Vec<Option<(Row, String)>>> = Mutex::new((0..total).map(|_| None).collect());
    let finished = AtomicUsize::new(0);
    // Each worker has its own Prometheus, runtime and virtual timeline; scenarios are
    // independent, so two cores run two at a time.
    let worker = || -> Result<()> {
        let prometheus = Prometheus::start(&args.prometheus)?;
        let scratch = prometheus.dir.join("slack");
        std::fs::create_dir_all(&scratch)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        // Virtual time runs in the past (Prometheus takes no future samples), each run after
        // the last.
        let mut start = Utc::now() - chrono::Duration::hours(2 * 24);
        loop {
            let Some((n, scenario)) = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front()
            else {
                return Ok(());
            };
            let began = Instant::now();
            let settings = |start: DateTime<Utc>, file: &str| -> Settings {
                Settings {
                    prometheus: prometheus.url.clone(),
                    rules: args.rules.clone(),
                    start,
                    step: Duration::from_secs(30),
                    evaluation: Duration::from_secs(60),
                    stable: Duration::from_secs(300),
                    warmup: Duration::from_secs(300),
                    window: Duration::from_secs(args.window * 60),
                    policy: selfheal_core::Policy {
                        dry_run: scenario.dry_run,
                        ..selfheal_core::Policy::default()
                    },
                    catalog: catalog.clone(),
                    slack_file: scratch.join(format!("{}-{file}.jsonl", scenario.name)),
                }
            };
            let with = runtime.block_on(run(scenario, &cluster, &settings(start, "with"), true))?;
            start = with.end + chrono::Duration::hours(1);
            let alone =
                runtime.block_on(run(scenario, &cluster, &settings(start, "alone"), false))?;
            start = alone.end + chrono::Duration::hours(1);
            let row = row(scenario, &with, &alone, began.elapsed().as_secs_f64());
            if args.format == Format::Table {
                let k = finished.fetch_add(1, Ordering::SeqCst) + 1;
                eprintln!("[{k}/{total}] {}", progress(&row));
            }
            done.lock().unwrap_or_else(|p| p.into_inner())[n] = Some((row, story(scenario, &with)));
        }
    };
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..args.jobs.clamp(1, total.max(1)))
            .map(|_| s.spawn(worker))
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|_| bail!("a demo worker panicked")))
            .collect::<Result<Vec<()>>>()
    })?;
    let (rows, stories): (Vec<Row>, Vec<String>) = done
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .flatten()
        .unzip();
    let elapsed = wall.elapsed().as_secs_f64();
    match args.format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "scenarios": rows, "wall_seconds": elapsed, "window_seconds": args.window * 60,
            }))?
        ),
        Format::Table => {
            for s in &stories {
                println!("{s}");
            }
            print_table(&rows, args.window, elapsed);
        }
    }
    let failed = rows
        .iter()
        .filter(|r| r.outcome.as_deref() != Some(r.expected.as_str()))
        .count();
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn seconds(from: DateTime<Utc>, to: Option<DateTime<Utc>>) -> Option<i64> {
    to.map(|t| (t - from).num_seconds())
}

fn row(scenario: &Scenario, with: &Run, alone: &Run, wall_seconds: f64) -> Row {
    let matching: Vec<_> = with
        .incidents
        .iter()
        .filter(|i| scenario.matches_incident(i))
        .collect();
    Row {
        scenario: scenario.name.clone(),
        alert: scenario.expect.alert.clone(),
        runbook: scenario.expect.runbook.clone(),
        expected: scenario.expect.outcome.as_str().to_owned(),
        outcome: matching
            .first()
            .and_then(|i| i.closing.as_ref())
            .map(|c| c.outcome.as_str().to_owned()),
        fired_after_seconds: seconds(with.fault_at, with.firing_at),
        healthy_with_selfheal_seconds: seconds(with.fault_at, with.healthy_at),
        healthy_left_alone_seconds: seconds(alone.fault_at, alone.healthy_at),
        incidents: with.incidents.len(),
        refused_alerts: with
            .alerts
            .iter()
            .filter(|(_, a)| a[0]["outcome"] == "refused")
            .count(),
        approvals: with.approved.len(),
        wall_seconds,
    }
}

fn minutes(s: Option<i64>) -> String {
    match s {
        Some(s) => format!("{}m{:02}s", s / 60, s % 60),
        None => "never".into(),
    }
}

fn progress(r: &Row) -> String {
    format!(
        "{}: {} fired after {}, {} ({} expected); healthy after {} with selfheal, {} left alone ({:.1} s)",
        r.scenario,
        r.alert,
        minutes(r.fired_after_seconds),
        r.outcome.as_deref().unwrap_or("no incident"),
        r.expected,
        minutes(r.healthy_with_selfheal_seconds),
        minutes(r.healthy_left_alone_seconds),
        r.wall_seconds
    )
}

/// The scenario's story with selfheal: what fired, the incident, the cause, the actions, Slack.
fn story(scenario: &Scenario, with: &Run) -> String {
    let mut out = format!("\n== {}: {}\n", scenario.name, scenario.description);
    for (alert, answer) in &with.alerts {
        let a = &answer[0];
        out.push_str(&format!(
            "alert {} on {}: {} {}\n",
            alert.labels.get("alertname").map_or("", String::as_str),
            alert
                .labels
                .get("pod")
                .or(alert.labels.get("deployment"))
                .or(alert.labels.get("node"))
                .or(alert.labels.get("service"))
                .map_or("-", String::as_str),
            a["outcome"].as_str().unwrap_or("?"),
            a["reasons"]
                .as_array()
                .map(|r| r
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join("; "))
                .unwrap_or_default()
        ));
    }
    for record in &with.records {
        let state = &record["state"];
        let cause = state["analysis"]["result"]["cause"]
            .as_str()
            .or(state["opened"]["finding"]["cause"].as_str())
            .unwrap_or("-");
        out.push_str(&format!(
            "incident {}: {} by {}, cause found: {cause}\n",
            record["incident"]["id"].as_str().unwrap_or("?"),
            record["outcome"].as_str().unwrap_or("?"),
            record["incident"]["runbook"]["id"].as_str().unwrap_or("?"),
        ));
        for step in state["steps"].as_array().into_iter().flatten() {
            let r = &step["remediation"]["result"];
            out.push_str(&format!(
                "  {}: {}\n",
                step["action"].as_str().unwrap_or("?"),
                r["summary"].as_str().unwrap_or("-")
            ));
        }
    }
    for m in &with.messages {
        out.push_str("\n  ");
        out.push_str(&selfheal_slack::render(m).replace('\n', "\n  "));
        out.push('\n');
    }
    out
}

fn print_table(rows: &[Row], window: u64, elapsed: f64) {
    let mut t = Table::new([
        "scenario",
        "alert",
        "runbook",
        "outcome",
        "expected",
        "fired after",
        "healthy (selfheal)",
        "healthy (left alone)",
    ]);
    for r in rows {
        t.row([
            r.scenario.clone(),
            r.alert.clone(),
            r.runbook.clone(),
            r.outcome.clone().unwrap_or_else(|| "-".into()),
            r.expected.clone(),
            minutes(r.fired_after_seconds),
            minutes(r.healthy_with_selfheal_seconds),
            minutes(r.healthy_left_alone_seconds),
        ]);
    }
    println!("\n{t}");
    let count = |o: Outcome| {
        rows.iter()
            .filter(|r| r.outcome.as_deref() == Some(o.as_str()))
            .count()
    };
    let mean = |v: Vec<i64>| {
        if v.is_empty() {
            "-".to_owned()
        } else {
            minutes(Some(v.iter().sum::<i64>() / v.len() as i64))
        }
    };
    // MTTR before and after over the same faults: those selfheal healed. A fault still there at
    // the window's end counts as the window, so "before" is a lower bound.
    let window_seconds = (window * 60) as i64;
    let pairs: Vec<(i64, Option<i64>)> = rows
        .iter()
        .filter_map(|r| {
            r.healthy_with_selfheal_seconds
                .map(|with| (with, r.healthy_left_alone_seconds))
        })
        .collect();
    let censored = pairs.iter().filter(|(_, alone)| alone.is_none()).count();
    println!(
        "MTTR over the {} faults selfheal healed: {} with selfheal, {}{} left alone ({censored} of them not healthy within {window} min, counted as {window} min)",
        pairs.len(),
        mean(pairs.iter().map(|(with, _)| *with).collect()),
        if censored > 0 { "at least " } else { "" },
        mean(
            pairs
                .iter()
                .map(|(_, alone)| alone.unwrap_or(window_seconds))
                .collect()
        ),
    );
    println!(
        "incidents: {} auto-remediated, {} escalated, {} dry-run, {} skipped as false positives; {} alerts refused by the guardrails; {} approvals clicked",
        count(Outcome::Remediated),
        count(Outcome::Escalated),
        count(Outcome::DryRun),
        count(Outcome::Skipped),
        rows.iter().map(|r| r.refused_alerts).sum::<usize>(),
        rows.iter().map(|r| r.approvals).sum::<usize>(),
    );
    println!("{} scenarios in {elapsed:.1} s of wall time", rows.len());
}
