//! The lab's console, as the Step Functions console shows executions: `GET /` lists them (name,
//! status, started, duration); `GET /executions/{id}` shows one: the graph of the definition with
//! each state coloured by how it ended, the Gantt timeline, the event history with the ids Step
//! Functions records, the audit trail, the report once closed, and Approve / Reject for a waiting
//! approval (completing the task as a Slack click does). Pages refresh themselves while anything
//! runs. Plain HTML forms, no script.

use std::fmt::Write;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::Utc;
use selfheal_aws::audit::AuditLog;
use selfheal_core::IncidentId;
use selfheal_report::esc;
use selfheal_states::timeline;
use serde::Deserialize;

use crate::serve::{AppState, Execution};

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:20px auto;max-width:1100px;padding:0 16px;color:#16191f}\
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:4px 8px;border-bottom:1px solid #eaeded}th{background:#f2f3f3}\
h2{font-size:17px;border-bottom:1px solid #d5dbdb;margin-top:26px}.s{font-weight:600}.Succeeded,.remediated{color:#1d8102}\
.Failed,.escalated{color:#d13212}.Running{color:#0073bb}.waiting{color:#ec7211}figure{margin:0}figcaption{color:#545b64}\
button{font-size:15px;padding:6px 18px;margin-right:10px;border-radius:4px;border:1px solid #879596;cursor:pointer}\
button.approve{background:#007a5a;color:#fff;border-color:#007a5a}button.reject{color:#d13212;border-color:#d13212}\
svg text{font:12px system-ui,sans-serif}.approval{border:2px solid #ec7211;border-radius:6px;padding:10px 14px;margin:14px 0}";

fn page(title: &str, refresh: bool, body: &str) -> Html<String> {
    let refresh = if refresh {
        "<meta http-equiv=\"refresh\" content=\"2\">"
    } else {
        ""
    };
    Html(format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><link rel=\"icon\" href=\"data:,\">{refresh}<title>{}</title><style>{STYLE}</style></head><body>\n\
<p><a href=\"/\">Executions</a></p>\n{body}</body></html>\n",
        esc(title)
    ))
}

/// The status as the console names it.
fn status(execution: Option<&Execution>, closed: bool) -> &'static str {
    match execution.map(|e| e.status) {
        Some(Some(selfheal_states::Status::Succeeded)) => "Succeeded",
        Some(Some(selfheal_states::Status::Failed)) => "Failed",
        Some(Some(_)) => "TimedOut",
        Some(None) => "Running",
        None if closed => "Running",
        None => "Pending",
    }
}

/// `GET /`: every execution, newest first.
pub(crate) async fn executions(State(state): State<AppState>) -> Html<String> {
    let mut incidents = state.store.incidents();
    incidents.sort_by_key(|(i, _, _)| std::cmp::Reverse(i.received_at));
    let mut running = false;
    let mut body = String::from(
        "<h1>Executions: selfheal-remediation</h1>\n<table><tr><th>name</th><th>status</th><th>started</th><th>duration</th><th>alert</th><th>target</th><th>outcome</th></tr>\n",
    );
    for (incident, closing, _) in &incidents {
        let execution = state.execution(&incident.id);
        let status = status(execution.as_ref(), closing.is_some());
        running |= status == "Running" || status == "Pending";
        let end = execution
            .and_then(|e| e.history.last().map(|e| e.timestamp))
            .unwrap_or_else(Utc::now);
        let _ = writeln!(
            body,
            "<tr><td><a href=\"/executions/{id}\">{id}</a></td><td class=\"s {status}\">{status}</td><td>{}</td><td>{} s</td><td>{}</td><td><code>{}</code></td><td class=\"{o}\">{o}</td></tr>",
            incident.received_at.format("%Y-%m-%d %H:%M:%S"),
            (end - incident.received_at).num_seconds().max(0),
            esc(incident.alert.name()),
            esc(&incident.target.to_string()),
            id = esc(incident.id.as_str()),
            o = closing.as_ref().map_or("", |c| c.outcome.as_str()),
        );
    }
    body.push_str("</table>\n");
    if incidents.is_empty() {
        body.push_str("<p>No execution yet: post an alert to /alerts.</p>\n");
    }
    page("selfheal lab: executions", running, &body)
}

/// `GET /executions/{id}`: one execution.
pub(crate) async fn execution(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let Ok(id) = IncidentId::try_from(id) else {
        return (StatusCode::BAD_REQUEST, "not an incident id").into_response();
    };
    let Some((incident, closing, _)) = state
        .store
        .incidents()
        .into_iter()
        .find(|(i, _, _)| i.id == id)
    else {
        return (StatusCode::NOT_FOUND, format!("no execution {id}")).into_response();
    };
    let execution = state.execution(&id);
    let status = status(execution.as_ref(), closing.is_some());
    let events = execution.map(|e| e.history).unwrap_or_default();
    let waiting = closing.is_none() && matches!(state.store.approval_token(&id).await, Ok(Some(_)));
    let mut b = format!(
        "<h1>{}</h1>\n<p><span class=\"s {status}\">{status}</span>{} · {} on <code>{}</code> · runbook <b>{}</b> · {}</p>\n",
        esc(id.as_str()),
        if waiting {
            " <span class=\"waiting\">(waiting for approval)</span>"
        } else {
            ""
        },
        esc(incident.alert.name()),
        esc(&incident.target.to_string()),
        esc(&incident.runbook.id),
        esc(incident.mode.as_str()),
    );
    if waiting {
        let _ = writeln!(
            b,
            "<form class=\"approval\" method=\"post\" action=\"/executions/{id}/decision\"><p><b>Approval needed</b>: {} wants to run {}.</p>\
<button class=\"approve\" name=\"decision\" value=\"approve\">Approve</button><button class=\"reject\" name=\"decision\" value=\"reject\">Reject</button></form>",
            esc(&incident.runbook.id),
            esc(&incident.runbook.outline()),
        );
    }
    let rows = timeline(&events);
    b.push_str("<h2>Graph</h2>\n");
    b.push_str(&selfheal_report::graph(&state.definition, &rows));
    b.push_str("<h2>Timeline</h2>\n");
    b.push_str(&selfheal_report::gantt(&events));
    b.push_str("<h2>Event history</h2>\n<table class=\"history\"><tr><th>id</th><th>type</th><th>step</th><th>started after</th><th>timestamp</th></tr>\n");
    let first = events.first().map(|e| e.timestamp);
    for e in &events {
        let _ = writeln!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} ms</td><td>{}</td></tr>",
            e.id,
            esc(&e.kind),
            esc(e.state_name().unwrap_or("")),
            first.map_or(0, |f| (e.timestamp - f).num_milliseconds()),
            e.timestamp.format("%H:%M:%S%.3f"),
        );
    }
    b.push_str(
        "</table>\n<h2>Audit</h2>\n<table><tr><th>at</th><th>event</th><th>what</th></tr>\n",
    );
    for e in state.store.timeline(&id).await.unwrap_or_default() {
        let _ = writeln!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            e.at.format("%H:%M:%S"),
            esc(e.kind.as_str()),
            esc(&e.summary)
        );
    }
    b.push_str("</table>\n");
    if let Some(c) = &closing {
        let _ = writeln!(
            b,
            "<p>Closed <span class=\"{o}\">{o}</span>{}. <a href=\"/incidents/{id}/report.html\">The incident's report</a></p>",
            c.mttr_seconds
                .map(|s| format!(", MTTR {s} s"))
                .unwrap_or_default(),
            o = c.outcome.as_str(),
        );
    }
    page(
        &format!("{id}: {status}"),
        status == "Running" || status == "Pending",
        &b,
    )
    .into_response()
}

#[derive(Deserialize)]
pub(crate) struct DecisionForm {
    decision: String,
}

/// `POST /executions/{id}/decision`: Approve or Reject, then back to the execution.
pub(crate) async fn decide(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(form): Form<DecisionForm>,
) -> Response {
    let approve = match form.decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return (StatusCode::BAD_REQUEST, "decision is approve or reject").into_response(),
    };
    match crate::serve::complete_approval(&state, &id, approve, "console").await {
        Ok(_) => Redirect::to(&format!("/executions/{id}")).into_response(),
        Err((status, message)) => (status, message).into_response(),
    }
}
