//! Execution history in the shape GetExecutionHistory returns and the console timeline shows.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::{Value, json};

/// One history event.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEvent {
    /// When it happened.
    pub timestamp: DateTime<Utc>,
    /// The event type, e.g. `TaskStateEntered`.
    pub kind: String,
    /// 1-based, in order.
    pub id: u64,
    /// The event that led to this one (0 for the first).
    pub previous_event_id: u64,
    /// The details object and its key, e.g. `stateEnteredEventDetails`.
    pub details: Option<(&'static str, Value)>,
}

impl HistoryEvent {
    /// The state name in state events' details.
    pub fn state_name(&self) -> Option<&str> {
        self.details.as_ref()?.1.get("name")?.as_str()
    }
}

impl Serialize for HistoryEvent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("timestamp", &format_time(self.timestamp))?;
        m.serialize_entry("type", &self.kind)?;
        m.serialize_entry("id", &self.id)?;
        m.serialize_entry("previousEventId", &self.previous_event_id)?;
        if let Some((key, details)) = &self.details {
            m.serialize_entry(key, details)?;
        }
        m.end()
    }
}

/// Times as Step Functions prints them: UTC with milliseconds.
pub fn format_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A JSON value as history details carry it: a string, with a truncation flag beside it.
pub fn payload(v: &Value) -> (String, Value) {
    (v.to_string(), json!({"truncated": false}))
}

/// The shared, append-only history of one execution.
#[derive(Debug, Clone, Default)]
pub struct Recorder(Arc<Mutex<Vec<HistoryEvent>>>);

impl Recorder {
    /// Appends an event after `previous`; returns its id.
    pub fn record(
        &self,
        timestamp: DateTime<Utc>,
        previous: u64,
        kind: impl Into<String>,
        details: Option<(&'static str, Value)>,
    ) -> u64 {
        let mut events = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let id = events.len() as u64 + 1;
        events.push(HistoryEvent {
            timestamp,
            kind: kind.into(),
            id,
            previous_event_id: previous,
            details,
        });
        id
    }

    /// A copy of the events so far.
    pub fn events(&self) -> Vec<HistoryEvent> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
