//! The analyzer function: turns an incident into a short explanation with next steps, and posts
//! the incident's story to Slack. Three requests, one per workflow state that calls it:
//! `opened` (the first message, whose `ts` threads the rest), `analyze` (evidence from the
//! cluster, redacted, then rules or an LLM), `notify` (the closing message). It reads the
//! cluster and never changes it; a Slack or LLM failure never fails the workflow.

pub mod analyst;
pub mod evidence;
pub mod gather;
pub mod llm;
pub mod notify;
pub mod rules;

use chrono::{DateTime, Utc};
use selfheal_core::Incident;
use selfheal_core::audit::Outcome;
use selfheal_core::redact::{Options, Redactor};
use selfheal_slack::Slack;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::analyst::Analyst;
use crate::evidence::Evidence;
use crate::gather::Gatherer;
use crate::llm::Provider;
use crate::notify::ClosedState;
use crate::rules::Finding;

/// What the workflow asks.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Request {
    /// Post the incident's first message.
    Opened {
        /// The execution input.
        incident: Incident,
    },
    /// Explain the incident.
    Analyze {
        /// The execution input.
        incident: Incident,
        /// What the units did (for the record; the evidence is read live).
        #[serde(default)]
        steps: Value,
        /// What `opened` answered: the finding before anything changed.
        #[serde(default)]
        opened: Option<Opened>,
    },
    /// Post the closing message.
    Notify {
        /// The workflow's state.
        state: Value,
        /// The execution id (an ARN in AWS): the timeline's link.
        #[serde(default)]
        execution: Option<String>,
    },
}

impl Request {
    /// The cluster the incident is in, whose evidence the analysis reads.
    pub fn cluster(&self) -> Option<&str> {
        match self {
            Request::Opened { incident } | Request::Analyze { incident, .. } => {
                Some(&incident.target.cluster)
            }
            Request::Notify { state, .. } => state.pointer("/incident/target/cluster")?.as_str(),
        }
    }
}

/// What `opened` answers: the thread and the cause as found before the runbook changed
/// anything (a restart removes the crashed pods the evidence would show).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Opened {
    /// The Slack thread, when the bot token posted it.
    #[serde(default)]
    pub ts: Option<String>,
    /// The deterministic finding at open.
    #[serde(default)]
    pub finding: Option<Finding>,
}

/// What `notify` answers: the posted message's `ts` (null without one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Posted {
    /// The Slack thread, when the bot token posted it.
    pub ts: Option<String>,
    /// Whether the message went out.
    pub posted: bool,
}

/// The analyzer and what it reaches.
pub struct Analyzer<P> {
    analyst: Analyst<P>,
    slack: Option<Slack>,
    redaction: Options,
}

/// The request cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("invalid request: {0}")]
pub struct RequestError(String);

impl<P: Provider> Analyzer<P> {
    /// An analyzer; without `slack` nothing is posted.
    pub fn new(analyst: Analyst<P>, slack: Option<Slack>, redaction: Options) -> Self {
        Analyzer {
            analyst,
            slack,
            redaction,
        }
    }

    /// Handles one request; `gatherer` reads the cluster (none: no cluster evidence).
    pub async fn handle(
        &self,
        request: Request,
        gatherer: Option<&Gatherer>,
        now: DateTime<Utc>,
    ) -> Result<Value, RequestError> {
        match request {
            Request::Opened { incident } => {
                // The rules alone: quick, and the LLM's turn comes once the steps ran.
                let evidence = self.evidence(&incident, gatherer, now).await;
                let finding = rules::analyze(&evidence);
                let message = notify::opened(&incident, Some(&finding));
                let posted = self.post(message, None, &incident).await;
                Ok(json!(Opened {
                    ts: posted.ts,
                    finding: Some(finding),
                }))
            }
            Request::Analyze {
                incident, opened, ..
            } => {
                let prior = opened.and_then(|o| o.finding);
                let finding = self.analyze(&incident, gatherer, now, prior.as_ref()).await;
                Ok(json!(finding))
            }
            Request::Notify { state, execution } => {
                let state: ClosedState = serde_json::from_value(state)
                    .map_err(|e| RequestError(format!("state: {e}")))?;
                // The escalation path skips Analyze; a human still wants to know where to look.
                let finding = match state.finding() {
                    Some(f) => Some(f),
                    None if state.outcome() == Outcome::Escalated => {
                        let prior = state.opened_finding();
                        Some(
                            self.analyze(&state.incident, gatherer, now, prior.as_ref())
                                .await,
                        )
                    }
                    None => None,
                };
                let message = notify::closed(
                    &state,
                    finding.as_ref(),
                    execution.as_deref().unwrap_or(state.incident.id.as_str()),
                    now,
                );
                let posted = self.post(message, state.thread(), &state.incident).await;
                Ok(json!(posted))
            }
        }
    }

    /// The evidence, gathered and redacted.
    async fn evidence(
        &self,
        incident: &Incident,
        gatherer: Option<&Gatherer>,
        now: DateTime<Utc>,
    ) -> Evidence {
        let evidence = match gatherer {
            Some(g) => {
                g.gather(&incident.target, (&incident.alert).into(), now)
                    .await
            }
            None => Evidence::default(),
        };
        evidence.redact(&mut Redactor::new(self.redaction))
    }

    /// Gathers, redacts and analyses; `prior` is the finding at open, which stands when the
    /// present evidence no longer shows the failure.
    pub async fn analyze(
        &self,
        incident: &Incident,
        gatherer: Option<&Gatherer>,
        now: DateTime<Utc>,
        prior: Option<&Finding>,
    ) -> Finding {
        let evidence = self.evidence(incident, gatherer, now).await;
        let finding = self.analyst.analyze(&evidence, prior).await;
        tracing::info!(
            incident = %incident.id,
            cause = finding.cause.as_str(),
            provider = %finding.provider,
            confidence = finding.confidence,
            "analysed"
        );
        finding
    }

    /// Posts a redacted message; a failure is logged and reported as not posted.
    async fn post(&self, mut message: Value, thread: Option<&str>, incident: &Incident) -> Posted {
        let Some(slack) = &self.slack else {
            return Posted {
                ts: None,
                posted: false,
            };
        };
        Redactor::new(self.redaction).redact_json(&mut message);
        match slack.post(&message, thread).await {
            Ok(ts) => Posted { ts, posted: true },
            Err(e) => {
                tracing::warn!(incident = %incident.id, error = %e, "slack post failed");
                Posted {
                    ts: None,
                    posted: false,
                }
            }
        }
    }
}
