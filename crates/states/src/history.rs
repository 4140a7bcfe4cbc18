//! Execution history in the shape GetExecutionHistory returns and the console timeline shows.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
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
    pub details: Option<(Cow<'static, str>, Value)>,
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

/// Reads an event as GetExecutionHistory returns it (and [`Serialize`] writes it): the timestamp
/// in RFC 3339 or in epoch seconds (the AWS API's JSON), and the one `*EventDetails` object.
impl<'de> Deserialize<'de> for HistoryEvent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut map = serde_json::Map::<String, Value>::deserialize(d)?;
        let timestamp = match map.remove("timestamp") {
            Some(Value::String(s)) => DateTime::parse_from_rfc3339(&s)
                .map(|t| t.to_utc())
                .map_err(D::Error::custom)?,
            Some(Value::Number(n)) => n
                .as_f64()
                .and_then(|s| DateTime::from_timestamp_millis((s * 1000.0).round() as i64))
                .ok_or_else(|| D::Error::custom("timestamp out of range"))?,
            _ => return Err(D::Error::missing_field("timestamp")),
        };
        let kind = match map.remove("type") {
            Some(Value::String(s)) => s,
            _ => return Err(D::Error::missing_field("type")),
        };
        let number = |v: Option<Value>| v.and_then(|v| v.as_u64());
        let id = number(map.remove("id")).ok_or_else(|| D::Error::missing_field("id"))?;
        let previous_event_id = number(map.remove("previousEventId")).unwrap_or(0);
        let details = map
            .into_iter()
            .find(|(k, _)| k.ends_with("EventDetails"))
            .map(|(k, v)| (Cow::Owned(k), v));
        Ok(HistoryEvent {
            timestamp,
            kind,
            id,
            previous_event_id,
            details,
        })
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
            details: details.map(|(k, v)| (Cow::Borrowed(k), v)),
        });
        id
    }

    /// A copy of the events so far.
    pub fn events(&self) -> Vec<HistoryEvent> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// One state's run, as the console's timeline shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimelineRow {
    /// The state's name.
    pub state: String,
    /// The state's type (`Task`, `Wait`, ...).
    pub kind: String,
    /// Seconds from the execution's start to entering the state.
    pub start: f64,
    /// Seconds in the state; `None` when it never exited (a Fail state, or a failure).
    pub duration: Option<f64>,
    /// `succeeded`, `caught [Error]` or `failed [Error]`.
    pub result: String,
}

/// The timeline of an execution: one row per state entered, in order.
pub fn timeline(events: &[HistoryEvent]) -> Vec<TimelineRow> {
    let Some(first) = events.first() else {
        return Vec::new();
    };
    let secs = |t: DateTime<Utc>| (t - first.timestamp).num_milliseconds() as f64 / 1000.0;
    let mut rows: Vec<TimelineRow> = Vec::new();
    // Open rows by the id of their Entered event; an event's chain of previousEventId leads back
    // to the state it belongs to, also inside Parallel and Map branches.
    let mut open: Vec<(u64, usize)> = Vec::new();
    let owner = |open: &[(u64, usize)], ev: &HistoryEvent| -> Option<usize> {
        let mut id = ev.previous_event_id;
        loop {
            if let Some((_, row)) = open.iter().find(|(eid, _)| *eid == id) {
                return Some(*row);
            }
            let prev = events.iter().find(|e| e.id == id)?;
            id = prev.previous_event_id;
        }
    };
    for ev in events {
        if let Some(kind) = ev.kind.strip_suffix("StateEntered") {
            open.push((ev.id, rows.len()));
            rows.push(TimelineRow {
                state: ev.state_name().unwrap_or_default().to_owned(),
                kind: kind.to_owned(),
                start: secs(ev.timestamp),
                duration: None,
                result: if kind == "Fail" {
                    "failed".into()
                } else {
                    "running".into()
                },
            });
        } else if ev.kind.ends_with("StateExited") {
            if let Some(row) = owner(&open, ev) {
                let r = &mut rows[row];
                r.duration = Some(secs(ev.timestamp) - r.start);
                if r.result == "running" {
                    r.result = "succeeded".into();
                } else if let Some(failure) = r.result.strip_prefix("failed") {
                    r.result = format!("caught{failure}");
                }
            }
        } else if let Some(row) = owner(&open, ev) {
            // Task, Lambda and execution failures name their error; ParallelStateFailed and
            // MapStateFailed carry no details.
            let error = ev
                .details
                .as_ref()
                .and_then(|(_, d)| d.get("error"))
                .and_then(Value::as_str);
            match error {
                Some(error) => rows[row].result = format!("failed {error}"),
                None if ev.kind.ends_with("StateFailed") => rows[row].result = "failed".into(),
                None => {}
            }
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_read_back_as_written_and_as_the_aws_api_gives_them() {
        let t = DateTime::parse_from_rfc3339("2026-11-25T21:33:11.250Z")
            .unwrap()
            .to_utc();
        let recorder = Recorder::default();
        let started = recorder.record(t, 0, "ExecutionStarted", None);
        recorder.record(
            t,
            started,
            "TaskStateEntered",
            Some(("stateEnteredEventDetails", json!({"name": "Open"}))),
        );
        let events = recorder.events();
        let text = serde_json::to_string(&events).unwrap();
        let back: Vec<HistoryEvent> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, events);
        assert_eq!(back[1].state_name(), Some("Open"));
        // The AWS CLI's JSON: epoch seconds, and details this code never writes.
        let aws: HistoryEvent = serde_json::from_value(json!({"timestamp": 1795642391.25,
            "type": "MapRunStarted", "id": 7, "previousEventId": 6,
            "mapRunStartedEventDetails": {"mapRunArn": "arn"}}))
        .unwrap();
        assert_eq!(aws.timestamp, t);
        assert_eq!(aws.details.unwrap().0, "mapRunStartedEventDetails");
        assert!(serde_json::from_value::<HistoryEvent>(json!({"type": "X", "id": 1})).is_err());
    }
}
