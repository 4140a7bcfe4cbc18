//! `selfheal states run` and `selfheal states validate`: the local executor from the terminal.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use selfheal_states::{
    Clock, Definition, Dispatcher, Execution, Executor, HistoryEvent, InProcess, InvokeApi,
    Severity, Static, Status, timeline,
};
use serde::Serialize;
use serde_json::{Value, json};

/// Where Task states go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tasks {
    /// Every function returns its payload (for trying a definition).
    Echo,
    /// A Lambda Invoke API, e.g. `cargo lambda watch` at http://127.0.0.1:9000.
    InvokeApi(String),
    /// Results from a JSON array, handed out in order, as moto's Lambda stand-in does.
    Static(PathBuf),
}

impl std::str::FromStr for Tasks {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once('=') {
            None if s == "echo" => Ok(Tasks::Echo),
            Some(("invoke-api", url)) => Ok(Tasks::InvokeApi(url.to_owned())),
            Some(("static", file)) => Ok(Tasks::Static(file.into())),
            _ => Err(format!(
                "{s:?}: expected echo, invoke-api=URL or static=FILE"
            )),
        }
    }
}

/// Options of `states run`.
pub struct RunOptions {
    /// The input file.
    pub input: Option<PathBuf>,
    /// Task dispatch.
    pub tasks: Tasks,
    /// Add the history to the JSON.
    pub history: bool,
    /// Print a timeline to stderr.
    pub timeline: bool,
    /// Wall-clock time instead of virtual time.
    pub real_time: bool,
    /// The execution name.
    pub name: String,
}

fn load(path: &Path) -> Result<std::result::Result<Definition, selfheal_states::DefinitionError>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(Definition::parse(&text))
}

/// `states validate`: is this valid Amazon States Language? Exit 0 when it is (what this
/// executor cannot run is listed as a warning), 2 with every problem when it is not.
pub fn validate(path: &Path) -> Result<ExitCode> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let report = match selfheal_states::validate(&text) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{}: {e}", path.display());
            return Ok(ExitCode::from(2));
        }
    };
    if !report.is_valid() {
        eprintln!("{}: {} problem(s):", path.display(), report.problems.len());
        report.problems.iter().for_each(|p| eprintln!("  {p}"));
        return Ok(ExitCode::from(2));
    }
    println!("{}: valid ({} states)", path.display(), report.states);
    for p in report.of(Severity::Unsupported) {
        eprintln!("  warning: {p} (`states run` refuses this)");
    }
    Ok(ExitCode::SUCCESS)
}

/// `states render`: the template with `vars` (NAME=VALUE), or the lab's names without any.
pub fn render(path: &Path, vars: &[String]) -> Result<ExitCode> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let pairs: Vec<(&str, &str)> = if vars.is_empty() {
        selfheal_lab::LOCAL_NAMES.to_vec()
    } else {
        vars.iter()
            .map(|v| v.split_once('=').context("--var takes NAME=VALUE"))
            .collect::<Result<_>>()?
    };
    let rendered = selfheal_states::templatefile::render(&text, &pairs)
        .with_context(|| path.display().to_string())?;
    print!("{rendered}");
    Ok(ExitCode::SUCCESS)
}

/// `states run`: exit 0 whenever the execution ran, whatever its status; 2 for a bad definition.
pub fn run(path: &Path, opts: RunOptions) -> Result<ExitCode> {
    let definition = match load(path)? {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{}: {e}", path.display());
            return Ok(ExitCode::from(2));
        }
    };
    let input: Value = match &opts.input {
        Some(p) => serde_json::from_str(
            &std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?,
        )
        .with_context(|| format!("{} is not JSON", p.display()))?,
        None => json!({}),
    };
    let dispatcher: Arc<dyn Dispatcher> = match &opts.tasks {
        Tasks::Echo => {
            Arc::new(InProcess::new().with_fallback(|payload| async move { Ok(payload) }))
        }
        Tasks::InvokeApi(url) => Arc::new(InvokeApi::new(url)),
        Tasks::Static(file) => {
            let results: Value = serde_json::from_str(
                &std::fs::read_to_string(file)
                    .with_context(|| format!("reading {}", file.display()))?,
            )?;
            let Value::Array(results) = results else {
                bail!("{} must hold a JSON array of results", file.display())
            };
            Arc::new(Static::new(results))
        }
    };
    let clock = if opts.real_time {
        Clock::real()
    } else {
        Clock::virtual_at(chrono::Utc::now())
    };
    let machine_name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("state-machine")
        .trim_end_matches(".asl")
        .to_owned();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let execution = runtime.block_on(async {
        Executor::new(dispatcher, clock)
            .execute(&definition, &machine_name, &opts.name, input)
            .await
    });
    if opts.timeline {
        eprint!("{}", render_timeline(&execution));
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&result_json(&execution, opts.history))?
    );
    Ok(ExitCode::SUCCESS)
}

/// What `states run` prints: the status first, then the output or the error.
#[derive(Serialize)]
struct RunResult<'a> {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    output: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cause: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    history: Option<&'a [HistoryEvent]>,
}

fn result_json(e: &Execution, history: bool) -> RunResult<'_> {
    RunResult {
        status: match e.status {
            Status::Succeeded => "SUCCEEDED",
            Status::Failed => "FAILED",
            Status::TimedOut => "TIMED_OUT",
        },
        output: e.output.as_ref(),
        error: e.error.as_ref().map(|e| e.error.as_str()),
        cause: e.error.as_ref().map(|e| e.cause.as_str()),
        history: history.then_some(e.history.as_slice()),
    }
}

fn render_timeline(e: &Execution) -> String {
    let mut table = crate::table::Table::new(["STATE", "TYPE", "START", "DURATION", "RESULT"]);
    for row in timeline(&e.history) {
        table.row([
            row.state,
            row.kind,
            format!("+{:.3}s", row.start),
            row.duration
                .map_or_else(|| "-".into(), |d| format!("{d:.3}s")),
            row.result,
        ]);
    }
    table.to_string()
}
