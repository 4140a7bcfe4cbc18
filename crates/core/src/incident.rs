//! The incident: one firing alert, its target, the runbook that answers it, and how it will run.
//! It is the Step Functions execution input and the audit trail's key.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::alert::Alert;
use crate::guardrail::{Decision, Reason};
use crate::runbook::Runbook;
use crate::schema_tag;
use crate::target::Target;
use crate::workflow::Workflow;

schema_tag!(
    /// Schema of [`Incident`].
    IncidentSchema = "selfheal.incident/v1"
);

/// A Step Functions execution name derived from the alert, so a redelivered alert maps to the
/// same execution (and StartExecution answers ExecutionAlreadyExists instead of a second run).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IncidentId(String);

/// A string that cannot be an incident id.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0:?} is not an incident id (inc- and 32 lowercase hex digits)")]
pub struct IncidentIdError(String);

impl IncidentId {
    /// `inc-` and the first 128 bits of SHA-256 over the fingerprint and the start time (in UTC,
    /// nanoseconds), so the same alert episode always gets the same id and a new episode of the
    /// same alert a new one.
    pub fn derive(fingerprint: &str, starts_at: DateTime<Utc>) -> Self {
        let mut hash = Sha256::new();
        hash.update(fingerprint.as_bytes());
        hash.update(b"\n");
        hash.update(
            starts_at
                .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
                .as_bytes(),
        );
        IncidentId(format!("inc-{}", hex::encode(&hash.finalize()[..16])))
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for IncidentId {
    type Error = IncidentIdError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        let valid = s.len() == 36
            && s.starts_with("inc-")
            && s[4..]
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if valid {
            Ok(IncidentId(s))
        } else {
            Err(IncidentIdError(s))
        }
    }
}

impl From<IncidentId> for String {
    fn from(id: IncidentId) -> String {
        id.0
    }
}

impl fmt::Display for IncidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

crate::spelled_enum!(
    /// Whether actions change the cluster or only go out with `dryRun=All`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum Mode {
        /// Actions change the cluster.
        Enforce = "enforce",
        /// Every API write carries `dryRun=All`: validated by the server, never persisted.
        DryRun = "dry-run",
    }
);

/// The Step Functions execution input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// Always [`IncidentSchema::VALUE`].
    pub schema: IncidentSchema,
    /// The execution name.
    pub id: IncidentId,
    /// The alert that opened the incident.
    pub alert: Alert,
    /// What the runbook acts on.
    pub target: Target,
    /// The runbook, copied whole so the execution does not depend on later catalog edits.
    pub runbook: Runbook,
    /// The runbook's steps as the state machine runs them.
    pub workflow: Workflow,
    /// Enforce or dry run.
    pub mode: Mode,
    /// The guardrail decision at ingest: run, dry-run or needs-approval.
    pub decision: Decision,
    /// Why the guardrails decided so.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<Reason>,
    /// When the ingest received the alert.
    pub received_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_valid_execution_names() {
        let t = DateTime::parse_from_rfc3339("2026-11-25T21:30:00.5Z")
            .unwrap()
            .to_utc();
        let a = IncidentId::derive("5f1e9b8e3a2c1d00", t);
        assert_eq!(a, IncidentId::derive("5f1e9b8e3a2c1d00", t));
        assert_eq!(a.as_str(), "inc-de71ba878c29521aae5c688c6af6f79a");
        // Step Functions: at most 80 characters, no whitespace, brackets, wildcards or punctuation
        // other than '-' and '_'.
        assert!(a.as_str().len() <= 80);
        assert!(
            a.as_str()
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        );
        assert_ne!(a, IncidentId::derive("5f1e9b8e3a2c1d01", t));
        assert_ne!(
            a,
            IncidentId::derive("5f1e9b8e3a2c1d00", t + chrono::Duration::nanoseconds(1))
        );
    }

    #[test]
    fn same_instant_in_another_offset_is_the_same_incident() {
        let utc = DateTime::parse_from_rfc3339("2026-11-25T21:30:00Z")
            .unwrap()
            .to_utc();
        let cet = DateTime::parse_from_rfc3339("2026-11-25T22:30:00.000+01:00")
            .unwrap()
            .to_utc();
        assert_eq!(IncidentId::derive("f", utc), IncidentId::derive("f", cet));
    }

    #[test]
    fn ids_refuse_anything_else() {
        assert!(IncidentId::try_from("inc-de71ba878c29521aae5c688c6af6f79a".to_string()).is_ok());
        for bad in [
            "inc-../../x",
            "inc-0E8A13FD8B15E4C0F5FD0F8C82A4ED4C",
            "0e8a13fd",
            "",
        ] {
            assert!(IncidentId::try_from(bad.to_string()).is_err(), "{bad}");
        }
    }
}
