//! The approval function, both halves of asking a human. The RequestApproval task (it waits for
//! its token) posts a Slack message whose Approve and Reject buttons carry the task token; the
//! same function is Slack's interactivity endpoint (API Gateway `POST /slack/actions`).
//! A click on Approve or Reject completes the workflow's waiting RequestApproval task, only after
//! the request proves to be Slack's (signature, five-minute window), is not a replay, and comes
//! from an allowed approver. Approve sends the task its result (who decided and when, which the
//! audit records); Reject fails it with `Rejected`, which escalates. Nothing ever approves itself.

pub mod slack;

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use selfheal_aws::audit::AuditLog;
use selfheal_aws::callback::{CallbackError, TaskCallback};
use selfheal_aws::store::{ReplayGuard, StoreError};
use selfheal_core::metrics::{ApprovalEvent, Discard, Event, Sink};
use selfheal_core::{Incident, WorkflowError, apigw};
use selfheal_slack::Slack;
use serde::Deserialize;
use serde_json::{Value, json};
use tracing::{info, warn};

use crate::slack::{Click, SlackError};

/// Why a click did not decide anything.
#[derive(Debug, thiserror::Error)]
pub enum ApprovalError {
    /// Not a genuine, fresh Slack request.
    #[error(transparent)]
    Slack(#[from] SlackError),
    /// The same signed request again.
    #[error("this request was already handled")]
    Replay,
    /// The clicking user may not approve.
    #[error("{0} is not allowed to approve or reject remediations")]
    NotAllowed(String),
    /// The workflow no longer waits (decided before, or timed out and escalated).
    #[error(transparent)]
    Callback(#[from] CallbackError),
    /// The replay guard's store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The approval request could not be posted: nobody was asked, so the workflow escalates.
    #[error(transparent)]
    Post(#[from] selfheal_slack::SlackError),
}

impl ApprovalError {
    /// The HTTP status. Slack retries only on errors and timeouts, so a decided or refused
    /// click answers 200 with a message the user sees.
    pub fn status(&self) -> u16 {
        match self {
            ApprovalError::Slack(SlackError::Malformed(_)) => 400,
            ApprovalError::Slack(SlackError::Unconfigured) => 503,
            ApprovalError::Slack(_) => 401,
            ApprovalError::NotAllowed(_) => 403,
            ApprovalError::Replay | ApprovalError::Callback(CallbackError::Gone { .. }) => 200,
            ApprovalError::Callback(CallbackError::Unavailable { .. })
            | ApprovalError::Store(_)
            | ApprovalError::Post(_) => 503,
        }
    }
}

/// What was decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decided {
    /// The click.
    pub click: Click,
    /// When.
    pub at: DateTime<Utc>,
}

/// The RequestApproval task's input.
#[derive(Debug, Clone, Deserialize)]
pub struct ApprovalTask {
    /// Always `request`.
    pub kind: String,
    /// The incident waiting for a decision.
    pub incident: Incident,
    /// The task token a decision completes.
    pub token: String,
    /// The incident's Slack thread (the opened message's `ts`), when there is one.
    #[serde(default)]
    pub thread: Option<String>,
}

/// The approval handler.
pub struct Approver<C, G> {
    callback: C,
    guard: G,
    slack: Slack,
    signing_secret: String,
    approvers: Vec<String>,
    metrics: Arc<dyn Sink>,
}

impl<C: TaskCallback, G: ReplayGuard + AuditLog> Approver<C, G> {
    /// Asks in `slack`, completes tasks through `callback`; `approvers` are the Slack user ids
    /// allowed to decide.
    pub fn new(
        callback: C,
        guard: G,
        slack: Slack,
        signing_secret: String,
        approvers: Vec<String>,
    ) -> Self {
        Approver {
            callback,
            guard,
            slack,
            signing_secret,
            approvers,
            metrics: Arc::new(Discard),
        }
    }

    /// Counts requests and decisions in `metrics` (EMF in Lambda, the lab's registry locally).
    pub fn with_metrics(mut self, metrics: Arc<dyn Sink>) -> Self {
        self.metrics = metrics;
        self
    }

    /// Posts the approval request for `task`; the workflow then waits for a click.
    pub async fn request(&self, task: &ApprovalTask) -> Result<Value, ApprovalError> {
        let message = slack::request_message(
            &task.incident,
            &task.token,
            task.incident.workflow.approval_timeout_seconds,
        );
        self.guard
            .await_approval(&task.incident.id, &task.token)
            .await?;
        let ts = self.slack.post(&message, task.thread.as_deref()).await?;
        self.metrics.record(&Event::Approval {
            event: ApprovalEvent::Requested,
        });
        info!(incident_id = %task.incident.id, "approval requested");
        Ok(json!({"posted": true, "ts": ts}))
    }

    /// One click.
    pub async fn decide(
        &self,
        headers: &http::HeaderMap,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Decided, ApprovalError> {
        let signature = slack::verify(&self.signing_secret, headers, body, now)?;
        let click = slack::parse_click(body)?;
        if !self.approvers.contains(&click.user) {
            return Err(ApprovalError::NotAllowed(click.user));
        }
        // A signature is only valid for five minutes, so remembering it for ten is enough.
        let expires = now + TimeDelta::seconds(2 * slack::MAX_AGE_SECONDS);
        if !self.guard.first_time(&signature, now, expires).await? {
            return Err(ApprovalError::Replay);
        }
        complete(&self.callback, &click, now, self.metrics.as_ref()).await?;
        Ok(Decided { click, at: now })
    }

    /// The API Gateway v2 request to its response; the body replaces the Slack message.
    pub async fn http(
        &self,
        request: &ApiGatewayV2httpRequest,
        now: DateTime<Utc>,
    ) -> ApiGatewayV2httpResponse {
        // A body that is not valid base64 cannot carry a valid signature either: it fails below.
        let body = apigw::body(request).unwrap_or_default();
        let (status, text) = match self.decide(&request.headers, &body, now).await {
            Ok(d) if d.click.approve => (
                200,
                format!("Approved by <@{}>; the runbook runs.", d.click.user),
            ),
            Ok(d) => (
                200,
                format!("Rejected by <@{}>; escalated to a human.", d.click.user),
            ),
            Err(e) => {
                warn!(error = %e, "click not decided");
                (e.status(), e.to_string())
            }
        };
        apigw::json_response(
            status,
            &json!({"replace_original": status == 200, "text": text}),
        )
    }
}

/// Completes the waiting task as `click` decides: the approval's result (who and when, which
/// the audit records), or the `Rejected` error (which escalates), and counts the decision in
/// `metrics`. Slack clicks and `selfheal approve` both end here.
pub async fn complete<C: TaskCallback>(
    callback: &C,
    click: &Click,
    now: DateTime<Utc>,
    metrics: &dyn Sink,
) -> Result<(), CallbackError> {
    if click.approve {
        let output = json!({"approved": true, "decided_by": click.user, "decided_at": now});
        callback.succeed(&click.token, &output).await?;
    } else {
        let cause = format!("rejected by {} at {}", click.user, now.to_rfc3339());
        callback
            .fail(&click.token, WorkflowError::Rejected.as_str(), &cause)
            .await?;
    }
    metrics.record(&Event::Approval {
        event: if click.approve {
            ApprovalEvent::Approved
        } else {
            ApprovalEvent::Rejected
        },
    });
    info!(user = click.user, approve = click.approve, "decided");
    Ok(())
}
