//! The report as one HTML page: inline CSS and SVG, no script, nothing fetched. Everything from
//! the incident (alert labels and annotations, the analysis, Slack text) is escaped: an alert is
//! input from outside.

use std::fmt::Write;

use chrono::{DateTime, Utc};
use selfheal_core::audit::Outcome;
use serde_json::Value;

use selfheal_states::{HistoryEvent, timeline};

use crate::{Report, actions, analysis, duration};

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1000px;color:#16191f;padding:0 16px}\
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;border-bottom:1px solid #d5dbdb;padding-bottom:4px;margin-top:28px}\
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:4px 8px;border-bottom:1px solid #eaeded;vertical-align:top}\
th{background:#f2f3f3}.badge{display:inline-block;padding:2px 10px;border-radius:10px;color:#fff;font-weight:600}\
.remediated{background:#1d8102}.escalated{background:#d13212}.dry-run{background:#687078}.skipped{background:#8d6605}\
.meta{color:#545b64}.slack{border:1px solid #d5dbdb;border-radius:6px;padding:10px 14px;margin:10px 0;background:#fff;white-space:pre-wrap}\
.slack .head{font-weight:700;font-size:15px}.slack .ctx{color:#616061;font-size:12px}\
.btn{display:inline-block;border:1px solid #bbb;border-radius:4px;padding:2px 12px;margin-right:6px;font-weight:600}\
.btn.primary{background:#007a5a;color:#fff;border-color:#007a5a}.btn.danger{color:#e01e5a;border-color:#e01e5a}\
code{background:#f2f3f3;padding:0 3px;border-radius:3px}svg text{font:12px system-ui,sans-serif}";

/// Text made safe for HTML, in text and in attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
<title>{}</title><style>{STYLE}</style></head><body>\n{body}</body></html>\n",
        esc(title)
    )
}

fn badge(outcome: Outcome) -> String {
    format!(
        "<span class=\"badge {0}\">{0}</span>",
        esc(outcome.as_str())
    )
}

fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// The incident's report page.
pub fn html(report: &Report<'_>) -> String {
    let r = report.record;
    let i = &r.incident;
    let mut b = String::new();
    let _ = write!(
        b,
        "<h1>{} on <code>{}</code> {}</h1>\n<p class=\"meta\">incident <code>{}</code> · runbook <b>{}</b> · {} · received {} · closed {}{}</p>\n",
        esc(i.alert.name()),
        esc(&i.target.to_string()),
        badge(r.outcome),
        esc(i.id.as_str()),
        esc(&i.runbook.id),
        esc(i.mode.as_str()),
        time(i.received_at),
        time(r.closed_at),
        r.mttr_seconds
            .map(|s| format!(" · MTTR {}", duration(s)))
            .unwrap_or_default(),
    );
    if let Some(summary) = i.alert.annotations.get("summary") {
        let _ = writeln!(b, "<p>{}</p>", esc(summary));
    }
    let _ = writeln!(
        b,
        "<p class=\"meta\">execution <code>{}</code></p>",
        esc(&r.execution)
    );
    b.push_str("<h2>Timeline</h2>\n");
    b.push_str(&gantt(report.history));
    b.push_str("<h2>Actions</h2>\n");
    b.push_str(&actions_table(report));
    b.push_str("<h2>Analysis</h2>\n");
    b.push_str(&analysis_section(report));
    b.push_str("<h2>Audit trail</h2>\n<table><tr><th>at</th><th>event</th><th>what</th></tr>\n");
    for e in &r.timeline {
        let _ = writeln!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            time(e.at),
            esc(e.kind.as_str()),
            esc(&e.summary)
        );
    }
    b.push_str("</table>\n<h2>Slack</h2>\n");
    if report.messages.is_empty() {
        b.push_str("<p class=\"meta\">No message was posted.</p>\n");
    }
    for m in report.messages {
        b.push_str(&slack_message(m));
    }
    b.push_str("<h2>The same target's other incidents</h2>\n");
    if report.related.is_empty() {
        b.push_str("<p class=\"meta\">None.</p>\n");
    } else {
        b.push_str("<ul>\n");
        for rel in report.related {
            let _ = writeln!(
                b,
                "<li><a href=\"{0}.html\">{0}</a> {1} · received {2}</li>",
                esc(rel.id.as_str()),
                badge(rel.outcome),
                time(rel.received_at)
            );
        }
        b.push_str("</ul>\n");
    }
    b.push_str("<p class=\"meta\"><a href=\"index.html\">All incidents</a></p>\n");
    page(&format!("{} — {}", i.id, i.alert.name()), &b)
}

/// The states' runs as bars on one time axis (`selfheal_states::timeline`, the console's), each
/// labelled with its duration: green succeeded, orange failed and caught, red failed, blue still
/// running (to the history's last event).
pub fn gantt(history: &[HistoryEvent]) -> String {
    let rows = timeline(history);
    let (Some(first), Some(last)) = (history.first(), history.last()) else {
        return "<p class=\"meta\">No execution history.</p>\n".into();
    };
    let total = ((last.timestamp - first.timestamp).num_milliseconds() as f64 / 1000.0).max(0.001);
    let (label_w, bar_w, row_h) = (190.0, 600.0, 22.0);
    let height = row_h * rows.len() as f64 + 24.0;
    let mut svg = format!(
        "<svg role=\"img\" aria-label=\"execution timeline\" width=\"100%\" viewBox=\"0 0 900 {height}\" xmlns=\"http://www.w3.org/2000/svg\">\n"
    );
    for (n, r) in rows.iter().enumerate() {
        let y = n as f64 * row_h;
        let took = r.duration.unwrap_or(total - r.start).max(0.0);
        let x = label_w + bar_w * r.start / total;
        let w = (bar_w * took / total).max(2.0);
        let color = match r.result.split(' ').next() {
            Some("succeeded") => "#1d8102",
            Some("caught") => "#ec7211",
            Some("failed") => "#d13212",
            _ => "#0073bb",
        };
        let label = if took < 1.0 {
            format!("{} ms", (took * 1000.0).round())
        } else {
            duration(took.round() as i64)
        };
        let _ = writeln!(
            svg,
            "<text x=\"0\" y=\"{:.0}\">{}</text><rect x=\"{x:.1}\" y=\"{:.0}\" width=\"{w:.1}\" height=\"14\" rx=\"2\" fill=\"{color}\"><title>{} {} ({})</title></rect><text x=\"{:.1}\" y=\"{:.0}\">{}</text>",
            y + 14.0,
            esc(&r.state),
            y + 3.0,
            esc(&r.state),
            esc(&label),
            esc(&r.result),
            (x + w + 6.0).min(860.0),
            y + 14.0,
            esc(&label),
        );
    }
    let _ = writeln!(
        svg,
        "<text x=\"{label_w}\" y=\"{:.0}\">0 s</text><text x=\"{:.0}\" y=\"{:.0}\" text-anchor=\"end\">{}</text></svg>",
        height - 4.0,
        label_w + bar_w,
        height - 4.0,
        esc(&duration(total.round() as i64)),
    );
    svg
}

fn actions_table(report: &Report<'_>) -> String {
    let actions = actions(report.record);
    if actions.is_empty() {
        return "<p class=\"meta\">No step ran.</p>\n".into();
    }
    let mut b = String::from(
        "<table><tr><th>action</th><th>object</th><th>result</th><th>before → after</th><th>health after</th></tr>\n",
    );
    for a in actions {
        let change: Vec<String> = a.change.iter().map(|c| esc(&c.to_string())).collect();
        let health = a
            .health
            .map(|h| {
                let lines: Vec<String> = h
                    .checks
                    .iter()
                    .map(|[n, health, d]| format!("{} {}: {}", esc(n), esc(health), esc(d)))
                    .collect();
                format!("<b>{}</b><br>{}", esc(&h.verdict), lines.join("<br>"))
            })
            .unwrap_or_else(|| "-".into());
        let _ = writeln!(
            b,
            "<tr><td>{}</td><td><code>{}</code><br><span class=\"meta\">{}</span></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&a.action),
            esc(&a.object),
            esc(&a.summary),
            a.result,
            change.join("<br>"),
            health
        );
    }
    b.push_str("</table>\n");
    b
}

fn analysis_section(report: &Report<'_>) -> String {
    let Some(a) = analysis(report.record) else {
        return "<p class=\"meta\">No analysis.</p>\n".into();
    };
    let text = |k: &str| a[k].as_str().unwrap_or_default().to_owned();
    let list = |k: &str| -> String {
        a[k].as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(|s| format!("<li>{}</li>", esc(s)))
            .collect()
    };
    format!(
        "<p><b>Cause:</b> <code>{}</code> ({}, confidence {})</p><p style=\"white-space:pre-wrap\">{}</p>\
<p><b>Evidence</b></p><ul>{}</ul><p><b>Next steps</b></p><ul>{}</ul>\n",
        esc(&text("cause")),
        esc(&text("provider")),
        a["confidence"]
            .as_f64()
            .map_or("-".into(), |c| format!("{c:.2}")),
        esc(&text("summary")),
        list("key_facts"),
        list("next_steps"),
    )
}

/// A Block Kit message drawn as Slack lays it out: header, sections, context, buttons.
fn slack_message(m: &Value) -> String {
    let mut b = String::from("<div class=\"slack\">");
    let blocks = m["blocks"].as_array().cloned().unwrap_or_default();
    if blocks.is_empty() {
        b.push_str(&esc(m["text"].as_str().unwrap_or_default()));
    }
    for block in &blocks {
        match block["type"].as_str() {
            Some("header") => {
                let _ = write!(
                    b,
                    "<div class=\"head\">{}</div>",
                    esc(block["text"]["text"].as_str().unwrap_or_default())
                );
            }
            Some("section") => {
                let mut texts: Vec<&str> = block["text"]["text"].as_str().into_iter().collect();
                texts.extend(
                    block["fields"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|f| f["text"].as_str()),
                );
                for t in texts {
                    let _ = write!(b, "<div>{}</div>", esc(t));
                }
            }
            Some("context") => {
                for e in block["elements"].as_array().into_iter().flatten() {
                    let _ = write!(
                        b,
                        "<div class=\"ctx\">{}</div>",
                        esc(e["text"].as_str().unwrap_or_default())
                    );
                }
            }
            Some("actions") => {
                b.push_str("<div>");
                for e in block["elements"].as_array().into_iter().flatten() {
                    let style = e["style"].as_str().unwrap_or_default();
                    let _ = write!(
                        b,
                        "<span class=\"btn {}\">{}</span>",
                        esc(style),
                        esc(e["text"]["text"].as_str().unwrap_or_default())
                    );
                }
                b.push_str("</div>");
            }
            _ => {}
        }
    }
    b.push_str("</div>\n");
    b
}

/// One incident as the index lists it.
#[derive(Debug, Clone)]
pub struct IndexEntry {
    /// The incident.
    pub id: String,
    /// The alert.
    pub alertname: String,
    /// What it acted on.
    pub target: String,
    /// The runbook.
    pub runbook: String,
    /// How it ended.
    pub outcome: Outcome,
    /// When it was received.
    pub received_at: DateTime<Utc>,
    /// Its MTTR.
    pub mttr_seconds: Option<i64>,
}

/// The page listing every report, newest first.
pub fn index(entries: &[IndexEntry]) -> String {
    let mut rows: Vec<&IndexEntry> = entries.iter().collect();
    rows.sort_by_key(|e| std::cmp::Reverse(e.received_at));
    let mut b = format!(
        "<h1>selfheal incidents</h1>\n<p class=\"meta\">{} incidents</p>\n<table><tr><th>received</th><th>incident</th><th>alert</th><th>target</th><th>runbook</th><th>outcome</th><th>MTTR</th></tr>\n",
        rows.len()
    );
    for e in rows {
        let _ = writeln!(
            b,
            "<tr><td>{at}</td><td><a href=\"{id}.html\">{id}</a> (<a href=\"{id}.md\">postmortem</a>)</td><td>{alert}</td><td><code>{target}</code></td><td>{runbook}</td><td>{outcome}</td><td>{mttr}</td></tr>",
            at = time(e.received_at),
            id = esc(&e.id),
            alert = esc(&e.alertname),
            target = esc(&e.target),
            runbook = esc(&e.runbook),
            outcome = badge(e.outcome),
            mttr = e.mttr_seconds.map(duration).unwrap_or_else(|| "-".into()),
        );
    }
    b.push_str("</table>\n");
    page("selfheal incidents", &b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::{history, record};
    use crate::{Related, Report};
    use serde_json::json;

    #[test]
    fn a_report_shows_the_timeline_actions_analysis_and_messages() {
        let record = record();
        let history = history();
        let messages = [json!({"blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "Approval needed"}},
            {"type": "actions", "elements": [{"type": "button", "style": "primary", "text": {"type": "plain_text", "text": "Approve"}}]}
        ]})];
        let related = [Related {
            id: selfheal_core::IncidentId::try_from(
                "inc-0000000000000000000000000000000a".to_owned(),
            )
            .unwrap(),
            outcome: Outcome::Escalated,
            received_at: record.closed_at,
        }];
        let page = html(&Report {
            record: &record,
            history: &history,
            messages: &messages,
            related: &related,
        });
        // The Gantt chart: a bar per state run with its duration; the task whose failure was
        // caught orange, the one still running blue.
        assert_eq!(page.matches("<rect ").count(), 4, "{page}");
        assert!(
            page.contains("fill=\"#ec7211\"><title>Remediate 3 s (caught Lambda.Unknown)"),
            "{page}"
        );
        assert!(page.contains("fill=\"#0073bb\"><title>HealthCheck 0 ms (running)"));
        assert!(page.contains(">30 s</text>"));
        // The action with its before and after, the health check, the analysis.
        assert!(page.contains("revision: 1 → 2"));
        assert!(page.contains("<b>healthy</b><br>rollout healthy: 3/3 updated and ready"));
        assert!(page.contains("<code>app-crash</code> (deterministic, confidence 0.75)"));
        // Slack's buttons and the link to the target's other incident.
        assert!(page.contains("<span class=\"btn primary\">Approve</span>"));
        assert!(page.contains("href=\"inc-0000000000000000000000000000000a.html\""));
        assert!(!page.contains("<script"));
    }

    #[test]
    fn what_an_alert_carries_cannot_become_markup() {
        let mut record = record();
        record.incident.alert.annotations.insert(
            "summary".into(),
            "<script>alert(1)</script><img src=x onerror=alert(2)>".into(),
        );
        let page = html(&Report {
            record: &record,
            history: &[],
            messages: &[json!({"text": "<b>not bold</b>"})],
            related: &[],
        });
        assert!(!page.contains("<script>") && !page.contains("<img") && !page.contains("<b>not"));
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(page.contains("No execution history."));
    }

    #[test]
    fn the_index_lists_newest_first_with_links() {
        let r = record();
        let entry = |id: &str, minutes: i64| IndexEntry {
            id: id.into(),
            alertname: "KubePodCrashLooping".into(),
            target: r.incident.target.to_string(),
            runbook: "restart-pods".into(),
            outcome: Outcome::Remediated,
            received_at: r.closed_at + chrono::Duration::minutes(minutes),
            mttr_seconds: Some(70),
        };
        let page = index(&[entry("inc-old", 0), entry("inc-new", 5)]);
        let (new, old) = (
            page.find("inc-new.html").unwrap(),
            page.find("inc-old.html").unwrap(),
        );
        assert!(new < old);
        assert!(page.contains("1 min 10 s") && page.contains("inc-new.md"));
    }
}
