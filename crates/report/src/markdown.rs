//! The postmortem draft: what a person starts from after an incident, filled in from the record,
//! with the parts only a person can write left as prompts.

use std::fmt::Write;

use selfheal_core::audit::Outcome;

use crate::{Report, actions, analysis, duration};

/// Markdown text from outside (alert, analysis) kept from turning into markup: the characters
/// that start emphasis, links, code or HTML are escaped, lines stay lines.
fn md(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The incident's postmortem draft.
pub fn postmortem(report: &Report<'_>) -> String {
    let r = report.record;
    let i = &r.incident;
    let mut b = String::new();
    let _ = writeln!(
        b,
        "# Postmortem draft: {} on {}\n",
        md(i.alert.name()),
        md(&i.target.to_string())
    );
    let _ = writeln!(
        b,
        "Incident `{}`, runbook `{}` ({}), closed **{}**. Drafted by selfheal from the audit record; \
edit before sharing.\n",
        i.id,
        i.runbook.id,
        i.mode.as_str(),
        r.outcome.as_str()
    );
    b.push_str("## Summary\n\n");
    let healed = match r.outcome {
        Outcome::Remediated => format!(
            "selfheal ran `{}` and the health check passed{}.",
            i.runbook.id,
            r.mttr_seconds
                .map(|s| format!(", {} after the alert started", duration(s)))
                .unwrap_or_default()
        ),
        Outcome::Escalated => format!(
            "selfheal escalated to a human: `{}` did not leave the target healthy, or was not allowed to run.",
            i.runbook.id
        ),
        Outcome::DryRun => {
            "selfheal ran in dry-run: nothing was changed; the audit says what would have run."
                .into()
        }
        Outcome::Skipped => {
            "selfheal found no symptom in the cluster and changed nothing (a false positive)."
                .into()
        }
    };
    let _ = writeln!(
        b,
        "{} fired for {}. {healed}\n",
        md(i.alert.name()),
        md(&i.target.to_string())
    );
    if let Some(summary) = i.alert.annotations.get("summary") {
        let _ = writeln!(b, "> {}\n", md(summary));
    }
    b.push_str("## Impact window\n\n");
    let _ = writeln!(
        b,
        "- Alert started: {}\n- Alert received: {}\n- Closed: {} ({} from the alert's start)\n",
        i.alert.starts_at.format("%Y-%m-%d %H:%M:%S UTC"),
        i.received_at.format("%Y-%m-%d %H:%M:%S UTC"),
        r.closed_at.format("%Y-%m-%d %H:%M:%S UTC"),
        duration((r.closed_at - i.alert.starts_at).num_seconds().max(0)),
    );
    b.push_str("## Timeline\n\n| time (UTC) | event | what |\n|---|---|---|\n");
    for e in &r.timeline {
        let _ = writeln!(
            b,
            "| {} | {} | {} |",
            e.at.format("%H:%M:%S"),
            e.kind.as_str(),
            md(&e.summary)
        );
    }
    b.push_str("\n## Root cause found\n\n");
    match analysis(r) {
        Some(a) => {
            let _ = writeln!(
                b,
                "`{}` ({}). {}\n",
                md(a["cause"].as_str().unwrap_or("unknown")),
                md(a["provider"].as_str().unwrap_or("-")),
                md(a["summary"].as_str().unwrap_or_default()).replace('\n', " ")
            );
        }
        None => b.push_str("No analysis was recorded.\n\n"),
    }
    b.push_str("## Actions\n\n");
    let actions = actions(r);
    if actions.is_empty() {
        b.push_str("No step ran.\n");
    }
    for a in &actions {
        let change: Vec<String> = a.change.iter().map(|c| md(&c.to_string())).collect();
        let _ = writeln!(
            b,
            "- `{}` on `{}`: {}{}{}",
            a.action,
            a.object,
            a.result,
            if change.is_empty() {
                String::new()
            } else {
                format!(" ({})", change.join(", "))
            },
            a.health
                .as_ref()
                .map(|h| format!("; health after: {}", h.verdict))
                .unwrap_or_default()
        );
    }
    b.push_str("\n## What healed it\n\n");
    let _ = writeln!(
        b,
        "{}\n",
        match r.outcome {
            Outcome::Remediated => format!(
                "The `{}` runbook; the health check after it passed.",
                i.runbook.id
            ),
            _ => "Not selfheal: say what the responder did.".into(),
        }
    );
    b.push_str("## Follow-up\n\n");
    if let Some(a) = analysis(r) {
        for step in a["next_steps"].as_array().into_iter().flatten() {
            let _ = writeln!(b, "- [ ] {}", md(step.as_str().unwrap_or_default()));
        }
    }
    b.push_str("- [ ] Fix the cause so the runbook is not needed again.\n");
    if !report.related.is_empty() {
        let _ = writeln!(
            b,
            "- [ ] The same target had {} other incident(s): {}.",
            report.related.len(),
            report
                .related
                .iter()
                .map(|r| format!("`{}` ({})", r.id, r.outcome.as_str()))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::{history, record};

    #[test]
    fn the_draft_has_every_section_filled_from_the_record() {
        let record = record();
        let text = postmortem(&Report {
            record: &record,
            history: &history(),
            messages: &[],
            related: &[],
        });
        for section in [
            "## Summary",
            "## Impact window",
            "## Timeline",
            "## Root cause found",
            "## Actions",
            "## What healed it",
            "## Follow-up",
        ] {
            assert!(text.contains(section), "{section} missing:\n{text}");
        }
        assert!(text.contains("selfheal ran `restart-pods` and the health check passed, 1 min 10 s after the alert started."), "{text}");
        assert!(text.contains("- `restart-pods` on `shop/deployment/frontend`: changed (pods: \\[\\], revision: 1 → 2); health after: healthy"), "{text}");
        assert!(text.contains("`app-crash` (deterministic)"), "{text}");
        assert!(
            text.contains("- [ ] Read the previous container's log."),
            "{text}"
        );
    }

    #[test]
    fn alert_text_cannot_inject_markdown() {
        let mut record = record();
        record.incident.alert.annotations.insert(
            "summary".into(),
            "[click](https://evil.example) <b>x</b>".into(),
        );
        let text = postmortem(&Report {
            record: &record,
            history: &[],
            messages: &[],
            related: &[],
        });
        assert!(
            text.contains("> \\[click\\](https://evil.example) \\<b\\>x\\</b\\>"),
            "{text}"
        );
    }
}
