//! The runbook catalog and the guardrail policy: the files given, the repository's when the
//! current directory is its root, or else the ones compiled into the binary (as the Lambdas do),
//! so the CLI answers the same anywhere.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use selfheal_core::{Catalog, Policy};

use crate::table::Table;

/// Where the catalog lives in the repository.
const DEFAULT_RUNBOOKS: &str = "statemachines/runbooks";
/// Where the guardrail policy lives in the repository.
const DEFAULT_POLICY: &str = "statemachines/policy.yaml";

/// The catalog of `dir`, of statemachines/runbooks when it exists here, or the compiled-in one.
pub fn load(dir: Option<&Path>) -> Result<Catalog> {
    match locate(dir, DEFAULT_RUNBOOKS) {
        Some(dir) => load_dir(&dir),
        None => Ok(selfheal_core::embedded::catalog()?),
    }
}

/// The policy at `path`, statemachines/policy.yaml when it exists here, or the compiled-in one.
pub fn load_policy(path: Option<&Path>) -> Result<Policy> {
    match locate(path, DEFAULT_POLICY) {
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            Policy::from_yaml(&text).with_context(|| path.display().to_string())
        }
        None => Ok(selfheal_core::embedded::policy()?),
    }
}

/// The path given, or `default` when it exists here; `None` means the compiled-in one.
fn locate(given: Option<&Path>, default: &str) -> Option<PathBuf> {
    given
        .map(Path::to_path_buf)
        .or_else(|| Path::new(default).exists().then(|| default.into()))
}

/// Reads every `.yaml`/`.yml` file of `dir` (sorted by name) into a checked catalog.
fn load_dir(dir: &Path) -> Result<Catalog> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        ) {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            files.push((path.display().to_string(), text));
        }
    }
    anyhow::ensure!(
        !files.is_empty(),
        "no runbooks (*.yaml) in {}",
        dir.display()
    );
    files.sort();
    Ok(Catalog::parse(files)?)
}

/// `selfheal runbooks check`.
pub fn check(dir: Option<&Path>) -> Result<ExitCode> {
    let catalog = match load(dir) {
        Ok(c) => c,
        Err(err) => {
            eprintln!("{err:#}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let mut table = Table::new([
        "RUNBOOK", "PRIORITY", "RISK", "APPROVAL", "ATTEMPTS", "COOLDOWN", "STEPS", "MATCH",
    ]);
    for rb in catalog.runbooks() {
        let steps: Vec<_> = rb.steps.iter().map(|s| s.action()).collect();
        let matchers: Vec<_> = rb.matchers.iter().map(ToString::to_string).collect();
        table.row([
            rb.id.clone(),
            rb.priority.to_string(),
            rb.risk.to_string(),
            if rb.approval_required() {
                format!("required ({})", rb.approval_timeout())
            } else {
                "no".into()
            },
            rb.max_attempts.to_string(),
            rb.cooldown.to_string(),
            steps.join(" > "),
            matchers.join(", "),
        ]);
    }
    print!("{table}");
    let origin = locate(dir, DEFAULT_RUNBOOKS).map_or_else(
        || "the compiled-in catalog".into(),
        |d| d.display().to_string(),
    );
    println!("{} runbooks OK in {origin}", catalog.runbooks().len());
    Ok(ExitCode::SUCCESS)
}
