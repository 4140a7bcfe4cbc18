//! CloudWatch Embedded Metric Format: one JSON log line per outcome, so CloudWatch graphs
//! accepted, duplicate, refused, resolved and error counts without a PutMetricData call.

use std::collections::BTreeMap;
use std::io::Write;

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::{AlertReport, IngestError};

/// The CloudWatch namespace of the metrics.
pub const NAMESPACE: &str = "selfheal/ingest";

/// Counts per outcome of one notification, errors under `error`.
pub fn counts(result: &Result<Vec<AlertReport>, IngestError>) -> BTreeMap<&'static str, usize> {
    let mut counts = BTreeMap::new();
    let (done, errors): (&[AlertReport], usize) = match result {
        Ok(done) => (done, 0),
        Err(IngestError::Partial { done, failed }) => (done, failed.len()),
        Err(_) => (&[], 1),
    };
    for r in done {
        *counts.entry(r.outcome.as_str()).or_default() += 1;
    }
    if errors > 0 {
        counts.insert("error", errors);
    }
    counts
}

/// The EMF lines for one notification.
pub fn lines(result: &Result<Vec<AlertReport>, IngestError>, now: DateTime<Utc>) -> Vec<String> {
    counts(result)
        .into_iter()
        .map(|(outcome, n)| {
            json!({
                "_aws": {
                    "Timestamp": now.timestamp_millis(),
                    "CloudWatchMetrics": [{
                        "Namespace": NAMESPACE,
                        "Dimensions": [["Outcome"]],
                        "Metrics": [{"Name": "Alerts", "Unit": "Count"}],
                    }],
                },
                "Outcome": outcome,
                "Alerts": n,
            })
            .to_string()
        })
        .collect()
}

/// Writes the lines to stdout, where the Lambda runtime hands them to CloudWatch Logs.
pub fn emit(result: &Result<Vec<AlertReport>, IngestError>, now: DateTime<Utc>) {
    let mut out = std::io::stdout().lock();
    for line in lines(result, now) {
        // A metric line lost to a closed stdout must not fail the delivery.
        let _ = writeln!(out, "{line}");
    }
}
