//! The runbook catalog and the guardrail policy: the files given, the repository's when the
//! current directory is its root, or else the ones compiled into the binary (as the Lambdas do),
//! so the CLI answers the same anywhere.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use selfheal_core::alert_rules::{Rule, RuleFile, coverage};
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

/// `selfheal runbooks check [--rules PATH...]`.
pub fn check(dir: Option<&Path>, rules: &[PathBuf]) -> Result<ExitCode> {
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
    if rules.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let rules = load_rules(rules)?;
    let coverage = coverage(&catalog, rules.iter());
    for (runbook, alerts) in &coverage.woken_by {
        println!("{runbook} <- {}", alerts.join(", "));
    }
    for runbook in &coverage.unreachable_runbooks {
        eprintln!("runbook {runbook}: no alert marked selfheal: auto wakes it");
    }
    for alert in &coverage.unmatched_alerts {
        eprintln!("alert {alert} is marked selfheal: auto, but no runbook matches it");
    }
    Ok(if coverage.complete() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Every rule of the Prometheus rule files in `paths` (files, or directories of `.yml`/`.yaml`).
fn load_rules(paths: &[PathBuf]) -> Result<Vec<Rule>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            for entry in
                std::fs::read_dir(path).with_context(|| format!("reading {}", path.display()))?
            {
                let p = entry?.path();
                if matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
                    files.push(p);
                }
            }
        } else {
            files.push(path.clone());
        }
    }
    files.sort();
    let mut rules = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        let parsed: RuleFile =
            serde_saphyr::from_str(&text).with_context(|| file.display().to_string())?;
        rules.extend(parsed.groups.into_iter().flat_map(|g| g.rules));
    }
    Ok(rules)
}
