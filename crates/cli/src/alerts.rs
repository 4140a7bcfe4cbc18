//! `selfheal alerts explain`: what selfheal would do with each alert of a payload.

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use chrono::Utc;
use selfheal_core::alert::{Door, Limits, parse_sns_event, parse_webhook};
use selfheal_core::{GuardrailState, PayloadError, Target, WebhookPayload, assess};
use serde::Serialize;

use crate::Format;
use crate::catalog;
use crate::table::Table;

/// One line of the explanation; also the JSON shape of `--format json`.
#[derive(Debug, Serialize)]
struct Explained {
    incident_id: String,
    alertname: String,
    status: String,
    target: Option<Target>,
    runbook: Option<String>,
    decision: &'static str,
    reasons: Vec<String>,
}

/// Runs the command. Exit 0 whatever the decisions; 2 when the payload itself is invalid.
pub fn explain(
    file: &Path,
    runbooks: Option<&Path>,
    policy: Option<&Path>,
    format: Format,
) -> Result<ExitCode> {
    let body = read(file)?;
    let catalog = catalog::load(runbooks)?;
    let policy = catalog::load_policy(policy)?;
    let payloads = match payloads(&body) {
        Ok(p) => p,
        Err(err) => {
            eprintln!("invalid payload {}: {err}", file.display());
            return Ok(ExitCode::from(2));
        }
    };
    let now = Utc::now();
    // No store here: every target is judged as if nothing had happened to it yet.
    let rows: Vec<Explained> = payloads
        .iter()
        .flat_map(|p| &p.alerts)
        .map(|alert| {
            let a = assess(alert, &catalog, &policy, |_| GuardrailState::default(), now);
            Explained {
                incident_id: a.incident_id.to_string(),
                alertname: a.alertname.clone(),
                status: a.status.to_string(),
                target: a.target.clone(),
                runbook: a.runbook.clone(),
                decision: a.decision(),
                reasons: a.reasons(),
            }
        })
        .collect();
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
        Format::Table => {
            let mut table = Table::new([
                "INCIDENT", "ALERT", "STATUS", "TARGET", "RUNBOOK", "DECISION", "REASONS",
            ]);
            for r in rows {
                table.row([
                    r.incident_id,
                    r.alertname,
                    r.status,
                    r.target.map_or_else(|| "-".into(), |t| t.to_string()),
                    r.runbook.unwrap_or_else(|| "-".into()),
                    r.decision.to_owned(),
                    if r.reasons.is_empty() {
                        "all guardrails passed".into()
                    } else {
                        r.reasons.join("; ")
                    },
                ]);
            }
            print!("{table}");
            for p in payloads.iter().filter(|p| p.truncated_alerts > 0) {
                println!(
                    "note: Alertmanager left {} alert(s) of group {} out of this notification (max_alerts)",
                    p.truncated_alerts, p.group_key
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn read(file: &Path) -> Result<Vec<u8>> {
    if file == Path::new("-") {
        let mut body = Vec::new();
        std::io::stdin().read_to_end(&mut body)?;
        Ok(body)
    } else {
        std::fs::read(file).with_context(|| format!("reading {}", file.display()))
    }
}

/// A webhook body, or a Lambda SNS event (recognised by its `Records`) carrying one per record.
fn payloads(body: &[u8]) -> Result<Vec<WebhookPayload>, PayloadError> {
    let limits = Limits::default();
    let is_sns = serde_json::from_slice::<serde_json::Value>(body)
        .map(|v| v.get("Records").is_some())
        .unwrap_or(false);
    if is_sns {
        Ok(parse_sns_event(body, &limits)?
            .into_iter()
            .map(|d| d.payload)
            .collect())
    } else {
        Ok(vec![parse_webhook(body, &limits, Door::Webhook)?])
    }
}
