//! Reading the runbook catalog and the guardrail policy from disk.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use selfheal_core::{Catalog, Policy};

use crate::table::Table;

/// Where the catalog lives in the repository.
pub const DEFAULT_RUNBOOKS: &str = "statemachines/runbooks";
/// Where the guardrail policy lives in the repository.
pub const DEFAULT_POLICY: &str = "statemachines/policy.yaml";

/// Reads every `.yaml`/`.yml` file of `dir` (sorted by name) into a checked catalog.
pub fn load(dir: &Path) -> Result<Catalog> {
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

/// Reads and checks the guardrail policy.
pub fn load_policy(path: &Path) -> Result<Policy> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Policy::from_yaml(&text).with_context(|| path.display().to_string())
}

/// `selfheal runbooks check`.
pub fn check(dir: &Path) -> Result<ExitCode> {
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
    println!(
        "{} runbooks OK in {}",
        catalog.runbooks().len(),
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}
