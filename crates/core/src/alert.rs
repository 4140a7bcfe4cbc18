//! The Alertmanager webhook (version 4) and the Amazon Managed Prometheus path, where the same
//! payload arrives as the Message of an SNS notification.

use std::collections::BTreeMap;

use aws_lambda_events::event::sns::SnsEvent;
use chrono::{DateTime, Datelike, FixedOffset, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

use crate::error::{Classified, ErrorClass};

/// Label or annotation set, sorted by name as Alertmanager sorts them.
pub type Labels = BTreeMap<String, String>;

crate::spelled_enum!(
    /// Whether an alert (or a whole group) is firing or resolved.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum AlertStatus {
        /// The alert's condition holds.
        Firing = "firing",
        /// The alert's condition no longer holds.
        Resolved = "resolved",
    }
);

/// One notification of an Alertmanager webhook receiver: a group of alerts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookPayload {
    /// Payload version; Alertmanager sends "4". Absent in the JSON that Amazon Managed
    /// Prometheus' documented SNS template produces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Identifies the group (route and group labels).
    #[serde(default)]
    pub group_key: String,
    /// How many alerts the receiver's `max_alerts` cut from this notification.
    #[serde(default)]
    pub truncated_alerts: u64,
    /// `firing` if at least one alert fires.
    pub status: AlertStatus,
    /// The receiver's name in the Alertmanager configuration.
    #[serde(default)]
    pub receiver: String,
    /// The labels the group is grouped by.
    #[serde(default)]
    pub group_labels: Labels,
    /// Labels every alert of the group shares.
    #[serde(default)]
    pub common_labels: Labels,
    /// Annotations every alert of the group shares.
    #[serde(default)]
    pub common_annotations: Labels,
    /// Backlink to the Alertmanager that sent the notification.
    #[serde(rename = "externalURL", default)]
    pub external_url: String,
    /// The alerts themselves.
    pub alerts: Vec<Alert>,
}

/// One alert of a webhook payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    /// Firing or resolved.
    pub status: AlertStatus,
    /// Identifying labels (alertname, namespace, pod, ...).
    #[serde(default)]
    pub labels: Labels,
    /// Descriptive annotations (summary, description, runbook_url, ...).
    #[serde(default)]
    pub annotations: Labels,
    /// When the alert started firing.
    #[serde(with = "timestamp")]
    pub starts_at: DateTime<Utc>,
    /// When it ended; `None` for a firing alert (Alertmanager sends `0001-01-01T00:00:00Z`).
    #[serde(with = "end_timestamp", default)]
    pub ends_at: Option<DateTime<Utc>>,
    /// Backlink to the rule's expression in Prometheus.
    #[serde(rename = "generatorURL", default)]
    pub generator_url: String,
    /// Alertmanager's fingerprint of the label set; computed the same way when absent.
    #[serde(default)]
    pub fingerprint: String,
}

impl Alert {
    /// The `alertname` label, or "" when missing.
    pub fn name(&self) -> &str {
        self.labels.get("alertname").map_or("", String::as_str)
    }

    /// The fingerprint Alertmanager sent, or the one it would have sent for these labels.
    pub fn fingerprint(&self) -> String {
        if self.fingerprint.is_empty() {
            label_fingerprint(&self.labels)
        } else {
            self.fingerprint.clone()
        }
    }
}

/// A label set from literal pairs, for tests.
#[cfg(test)]
pub(crate) fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Prometheus' label-set fingerprint (FNV-1a 64 over sorted names and values, each followed by
/// the 0xff separator), formatted as Alertmanager prints it: 16 hex digits.
pub fn label_fingerprint(labels: &Labels) -> String {
    const OFFSET: u64 = 14_695_981_039_346_656_037;
    const PRIME: u64 = 1_099_511_628_211;
    let mut hash = OFFSET;
    let mut add = |bytes: &[u8]| {
        for byte in bytes.iter().chain(std::iter::once(&0xff)) {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(PRIME);
        }
    };
    // BTreeMap iterates in byte order, which is Go's sort order for strings.
    for (name, value) in labels {
        add(name.as_bytes());
        add(value.as_bytes());
    }
    format!("{hash:016x}")
}

/// How much the ingest accepts in one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Largest body, in bytes (API Gateway itself stops at 10 MiB).
    pub max_bytes: usize,
    /// Most alerts in one notification.
    pub max_alerts: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 1024 * 1024,
            max_alerts: 500,
        }
    }
}

/// Why a payload was rejected as a whole. Every variant is permanent: the same bytes will never
/// be accepted, so Alertmanager must not retry them.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PayloadError {
    /// The body is larger than [`Limits::max_bytes`].
    #[error("payload is {bytes} bytes; the limit is {max}")]
    TooLarge {
        /// Size of the body.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// The body is not the JSON shape expected; `path` names the field.
    #[error("malformed payload at {path}: {message}")]
    Malformed {
        /// Where the problem is, e.g. `alerts[0].startsAt`.
        path: String,
        /// What is wrong there.
        message: String,
    },
    /// The webhook version is not the one this code understands.
    #[error("unsupported webhook version {found:?}; expected \"4\"")]
    UnsupportedVersion {
        /// The version sent, or "" when missing.
        found: String,
    },
    /// More alerts than [`Limits::max_alerts`].
    #[error("payload holds {count} alerts; the limit is {max}")]
    TooManyAlerts {
        /// Alerts in the payload.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A notification without alerts.
    #[error("payload holds no alerts")]
    NoAlerts,
    /// An SNS event that is not what Amazon Managed Prometheus publishes.
    #[error("SNS event: {0}")]
    Sns(String),
}

impl Classified for PayloadError {
    fn class(&self) -> ErrorClass {
        ErrorClass::NonRetryable
    }
}

/// Where a payload came from; the two doors differ only in what they require of `version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Door {
    /// Alertmanager's webhook receiver: `version` must be "4".
    Webhook,
    /// Amazon Managed Prometheus through SNS: the documented JSON template has no `version`;
    /// when one is present it must be "4".
    Sns,
}

/// Parses and checks a webhook body: size, shape, version, alert count.
pub fn parse_webhook(
    body: &[u8],
    limits: &Limits,
    door: Door,
) -> Result<WebhookPayload, PayloadError> {
    if body.len() > limits.max_bytes {
        return Err(PayloadError::TooLarge {
            bytes: body.len(),
            max: limits.max_bytes,
        });
    }
    let payload = parse_json::<WebhookPayload>(body).map_err(|err| {
        // A payload of another version may fail on shape first; name the version instead.
        match foreign_version(body) {
            Some(found) => PayloadError::UnsupportedVersion { found },
            None => err,
        }
    })?;
    match (door, payload.version.as_deref()) {
        (_, Some("4")) | (Door::Sns, None) => {}
        (_, found) => {
            return Err(PayloadError::UnsupportedVersion {
                found: found.unwrap_or_default().to_owned(),
            });
        }
    }
    if payload.alerts.is_empty() {
        return Err(PayloadError::NoAlerts);
    }
    if payload.alerts.len() > limits.max_alerts {
        return Err(PayloadError::TooManyAlerts {
            count: payload.alerts.len(),
            max: limits.max_alerts,
        });
    }
    Ok(payload)
}

/// Deserializes JSON, naming the path of the first problem (`alerts[0].startsAt`).
fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, PayloadError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value: T =
        serde_path_to_error::deserialize(&mut de).map_err(|err| PayloadError::Malformed {
            path: err.path().to_string(),
            message: err.into_inner().to_string(),
        })?;
    de.end().map_err(|err| PayloadError::Malformed {
        path: ".".into(),
        message: err.to_string(),
    })?;
    Ok(value)
}

/// The `version` of a body that failed to parse, when it is present and not "4".
fn foreign_version(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Probe {
        version: serde_json::Value,
    }
    let probe: Probe = serde_json::from_slice(body).ok()?;
    let found = match probe.version {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    };
    (found != "4").then_some(found)
}

/// One Alertmanager notification delivered through SNS.
#[derive(Debug, Clone, PartialEq)]
pub struct SnsDelivery {
    /// The topic it was published to (checked by the ingest against the configured one).
    pub topic_arn: String,
    /// SNS's message id, for logs.
    pub message_id: String,
    /// The Alertmanager payload carried as the message.
    pub payload: WebhookPayload,
}

/// Parses a Lambda SNS event whose messages are Alertmanager payloads (Amazon Managed Prometheus
/// with the JSON template). Each message is checked as [`parse_webhook`] checks a body.
pub fn parse_sns_event(body: &[u8], limits: &Limits) -> Result<Vec<SnsDelivery>, PayloadError> {
    let event: SnsEvent =
        serde_json::from_slice(body).map_err(|e| PayloadError::Sns(e.to_string()))?;
    if event.records.is_empty() {
        return Err(PayloadError::Sns("no records".into()));
    }
    event
        .records
        .into_iter()
        .map(|record| {
            let payload = parse_webhook(record.sns.message.as_bytes(), limits, Door::Sns)?;
            Ok(SnsDelivery {
                topic_arn: record.sns.topic_arn,
                message_id: record.sns.message_id,
                payload,
            })
        })
        .collect()
}

/// Parses an Alertmanager timestamp: RFC 3339 with fractional seconds of any length, or Go's
/// `time.Time.String()` form ("2026-11-25 21:30:00.123 +0000 UTC"), which is what the template
/// Amazon Managed Prometheus documents for SNS prints.
pub fn parse_timestamp(s: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    // Go appends the monotonic clock reading (" m=+0.001") to times read from the clock.
    let s = s.split(" m=").next().unwrap_or(s);
    let without_zone = match s.rsplit_once(' ') {
        Some((head, zone)) if zone.chars().all(|c| c.is_ascii_alphabetic()) => head,
        _ => s,
    };
    DateTime::<FixedOffset>::parse_from_str(without_zone, "%Y-%m-%d %H:%M:%S%.f %z")
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| format!("{s:?} is neither RFC 3339 nor Go's time format"))
}

/// Serializes timestamps as RFC 3339 with nanoseconds, parses any form [`parse_timestamp`] takes.
mod timestamp {
    use super::*;

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        parse_timestamp(&s).map_err(serde::de::Error::custom)
    }
}

/// `endsAt`: Go's zero time (year 1) and null both mean "not ended".
mod end_timestamp {
    use super::*;

    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => timestamp::serialize(t, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        let Some(s) = Option::<std::borrow::Cow<'de, str>>::deserialize(d)? else {
            return Ok(None);
        };
        let t = parse_timestamp(&s).map_err(serde::de::Error::custom)?;
        Ok((t.year() > 1).then_some(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIRING: &str = r#"{
      "receiver": "selfheal", "status": "firing", "version": "4",
      "groupKey": "{}:{alertname=\"KubePodCrashLooping\"}", "truncatedAlerts": 0,
      "groupLabels": {"alertname": "KubePodCrashLooping"},
      "commonLabels": {"alertname": "KubePodCrashLooping", "namespace": "shop"},
      "commonAnnotations": {}, "externalURL": "http://am:9093",
      "someFutureField": {"ignored": true},
      "alerts": [{
        "status": "firing",
        "labels": {"alertname": "KubePodCrashLooping", "namespace": "shop", "pod": "backend-7d9f8c6b5-x2k4q"},
        "annotations": {"summary": "crashlooping"},
        "startsAt": "2026-11-25T21:30:00.123456789012Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prom:9090/graph?g0.expr=x",
        "fingerprint": "5f1e9b8e3a2c1d00",
        "extra": 1
      }]
    }"#;

    #[test]
    fn firing_alert_parses_with_long_fractions_and_unknown_fields() {
        let p = parse_webhook(FIRING.as_bytes(), &Limits::default(), Door::Webhook).unwrap();
        assert_eq!(p.status, AlertStatus::Firing);
        let a = &p.alerts[0];
        assert_eq!(a.name(), "KubePodCrashLooping");
        assert_eq!(a.ends_at, None);
        assert_eq!(a.starts_at.timestamp_subsec_nanos(), 123_456_789);
        assert_eq!(a.fingerprint(), "5f1e9b8e3a2c1d00");
        assert_eq!(p.external_url, "http://am:9093");
    }

    #[test]
    fn resolved_alert_keeps_its_end() {
        let body = FIRING
            .replace(r#""status": "firing","#, r#""status": "resolved","#)
            .replace("0001-01-01T00:00:00Z", "2026-11-25T21:40:00+01:00");
        let p = parse_webhook(body.as_bytes(), &Limits::default(), Door::Webhook).unwrap();
        assert_eq!(p.status, AlertStatus::Resolved);
        assert_eq!(p.alerts[0].status, AlertStatus::Resolved);
        assert_eq!(
            p.alerts[0].ends_at.unwrap().to_rfc3339(),
            "2026-11-25T20:40:00+00:00"
        );
    }

    #[test]
    fn truncated_alerts_are_reported() {
        let body = FIRING.replace(r#""truncatedAlerts": 0"#, r#""truncatedAlerts": 7"#);
        let p = parse_webhook(body.as_bytes(), &Limits::default(), Door::Webhook).unwrap();
        assert_eq!(p.truncated_alerts, 7);
    }

    #[test]
    fn serialized_alert_round_trips() {
        let p = parse_webhook(FIRING.as_bytes(), &Limits::default(), Door::Webhook).unwrap();
        let json = serde_json::to_string(&p.alerts[0]).unwrap();
        assert!(json.contains(r#""endsAt":null"#), "{json}");
        let back: Alert = serde_json::from_str(&json).unwrap();
        assert_eq!(back, p.alerts[0]);
    }

    #[test]
    fn wrong_version_is_named_even_when_the_shape_differs() {
        let body = r#"{"version": "5", "alerts": "a different shape"}"#;
        let err = parse_webhook(body.as_bytes(), &Limits::default(), Door::Webhook).unwrap_err();
        assert_eq!(err, PayloadError::UnsupportedVersion { found: "5".into() });
        let body = FIRING.replace(r#""version": "4""#, r#""version": "3""#);
        let err = parse_webhook(body.as_bytes(), &Limits::default(), Door::Webhook).unwrap_err();
        assert_eq!(err, PayloadError::UnsupportedVersion { found: "3".into() });
    }

    #[test]
    fn missing_version_is_refused_on_the_webhook_door_only() {
        let body = FIRING.replace(r#""version": "4","#, "");
        let err = parse_webhook(body.as_bytes(), &Limits::default(), Door::Webhook).unwrap_err();
        assert_eq!(err, PayloadError::UnsupportedVersion { found: "".into() });
        parse_webhook(body.as_bytes(), &Limits::default(), Door::Sns).unwrap();
    }

    #[test]
    fn malformed_payload_names_the_field() {
        let body = FIRING.replace("2026-11-25T21:30:00.123456789012Z", "yesterday");
        let err = parse_webhook(body.as_bytes(), &Limits::default(), Door::Webhook).unwrap_err();
        let PayloadError::Malformed { path, message } = err else {
            panic!("{err:?}")
        };
        assert_eq!(path, "alerts[0].startsAt");
        assert!(message.contains("yesterday"), "{message}");
        let err = parse_webhook(b"{not json", &Limits::default(), Door::Webhook).unwrap_err();
        assert!(matches!(err, PayloadError::Malformed { .. }));
        let err = parse_webhook(b"{} trailing", &Limits::default(), Door::Webhook).unwrap_err();
        assert!(matches!(err, PayloadError::Malformed { .. }));
    }

    #[test]
    fn limits_are_enforced() {
        let small = Limits {
            max_bytes: 100,
            max_alerts: 10,
        };
        let err = parse_webhook(FIRING.as_bytes(), &small, Door::Webhook).unwrap_err();
        assert!(matches!(err, PayloadError::TooLarge { max: 100, .. }));
        let none = Limits {
            max_bytes: 1 << 20,
            max_alerts: 0,
        };
        let err = parse_webhook(FIRING.as_bytes(), &none, Door::Webhook).unwrap_err();
        assert_eq!(err, PayloadError::TooManyAlerts { count: 1, max: 0 });
        let body = r#"{"version":"4","status":"firing","alerts":[]}"#;
        let err = parse_webhook(body.as_bytes(), &Limits::default(), Door::Webhook).unwrap_err();
        assert_eq!(err, PayloadError::NoAlerts);
    }

    #[test]
    fn go_time_strings_parse() {
        let t = parse_timestamp("2026-11-25 21:30:00.5 +0000 UTC").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-25T21:30:00.500+00:00");
        let t = parse_timestamp("2026-11-25 22:30:00 +0100 CET m=+12.000000001").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-25T21:30:00+00:00");
        assert!(parse_timestamp("25/11/2026").is_err());
    }

    #[test]
    fn fingerprint_is_computed_when_missing() {
        // Prometheus' fingerprint of the empty set is the FNV offset basis.
        assert_eq!(label_fingerprint(&Labels::new()), "cbf29ce484222325");
        let body = FIRING.replace(r#""fingerprint": "5f1e9b8e3a2c1d00","#, "");
        let p = parse_webhook(body.as_bytes(), &Limits::default(), Door::Webhook).unwrap();
        assert_eq!(
            p.alerts[0].fingerprint(),
            label_fingerprint(&p.alerts[0].labels)
        );
        assert_eq!(p.alerts[0].fingerprint().len(), 16);
    }

    #[test]
    fn sns_wrapped_payloads_parse() {
        let message = serde_json::to_string(FIRING).unwrap();
        let event = format!(
            r#"{{"Records":[{{"EventSource":"aws:sns","EventVersion":"1.0",
               "EventSubscriptionArn":"arn:aws:sns:eu-west-1:123456789012:amp-alerts:1",
               "Sns":{{"Type":"Notification","MessageId":"m-1",
                 "TopicArn":"arn:aws:sns:eu-west-1:123456789012:amp-alerts",
                 "Subject":null,"Message":{message},"Timestamp":"2026-11-25T21:30:01.000Z",
                 "SignatureVersion":"1","Signature":"x","SigningCertUrl":"https://x",
                 "UnsubscribeUrl":"https://x","MessageAttributes":{{}}}}}}]}}"#
        );
        let deliveries = parse_sns_event(event.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(deliveries.len(), 1);
        assert_eq!(
            deliveries[0].topic_arn,
            "arn:aws:sns:eu-west-1:123456789012:amp-alerts"
        );
        assert_eq!(
            deliveries[0].payload.alerts[0].name(),
            "KubePodCrashLooping"
        );

        let bad = event.replace(r#"\"startsAt\": \"2026"#, r#"\"startsAt\": \"x2026"#);
        assert!(matches!(
            parse_sns_event(bad.as_bytes(), &Limits::default()),
            Err(PayloadError::Malformed { .. })
        ));
        assert!(matches!(
            parse_sns_event(br#"{"Records":[]}"#, &Limits::default()),
            Err(PayloadError::Sns(_))
        ));
    }
}
