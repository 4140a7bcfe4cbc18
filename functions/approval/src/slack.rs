//! Slack's side: request signatures (v0 = HMAC-SHA256 of "v0:{timestamp}:{raw body}" with the
//! app's signing secret), the block_actions payload of a button click, and the approval request
//! message whose buttons carry the task token.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use http::HeaderMap;
use selfheal_core::Incident;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Sha256;

/// How old a signed request may be (Slack's recommendation).
pub const MAX_AGE_SECONDS: i64 = 300;

/// Why a request is not Slack's, or not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlackError {
    /// No signature or timestamp headers.
    #[error("missing X-Slack-Signature or X-Slack-Request-Timestamp")]
    Missing,
    /// The timestamp is too far from now (a replay, or a wrong clock).
    #[error("request timestamp is {0} s from now; at most {MAX_AGE_SECONDS} s are accepted")]
    Stale(i64),
    /// The signature does not match the body.
    #[error("invalid signature")]
    BadSignature,
    /// The body is not a button click this app sent.
    #[error("malformed interaction: {0}")]
    Malformed(String),
    /// The signing secret is empty: an HMAC anyone can compute proves nothing, so nothing is
    /// accepted until it is set.
    #[error("the Slack signing secret is empty; no click is accepted until it is set")]
    Unconfigured,
}

/// Checks the signature and the timestamp; returns the signature in one canonical spelling
/// (`v0=` and lowercase hex), the request's identity for replay protection: the same signature
/// spelt in uppercase hex is the same request.
pub fn verify(
    secret: &str,
    headers: &HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<String, SlackError> {
    if secret.trim().is_empty() {
        return Err(SlackError::Unconfigured);
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(timestamp), Some(signature)) = (
        header("x-slack-request-timestamp"),
        header("x-slack-signature"),
    ) else {
        return Err(SlackError::Missing);
    };
    let ts: i64 = timestamp.trim().parse().map_err(|_| SlackError::Missing)?;
    let age = now.timestamp() - ts;
    if age.abs() > MAX_AGE_SECONDS {
        return Err(SlackError::Stale(age));
    }
    let given = signature
        .trim()
        .strip_prefix("v0=")
        .and_then(|h| hex::decode(h).ok())
        .ok_or(SlackError::BadSignature)?;
    mac(secret, timestamp.trim(), body)
        .verify_slice(&given)
        .map_err(|_| SlackError::BadSignature)?;
    Ok(format!("v0={}", hex::encode(given)))
}

fn mac(secret: &str, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    mac
}

/// The X-Slack-Signature value for a body (for tests and local tools that play Slack).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let tag = mac(secret, &timestamp.to_string(), body)
        .finalize()
        .into_bytes();
    format!("v0={}", hex::encode(tag))
}

/// A click on Approve or Reject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Click {
    /// The Slack user id of whoever clicked.
    pub user: String,
    /// Approve (true) or Reject (false).
    pub approve: bool,
    /// The task token the button carried.
    pub token: String,
}

#[derive(Deserialize)]
struct Interaction {
    #[serde(rename = "type")]
    kind: String,
    user: User,
    actions: Vec<ActionPayload>,
}

#[derive(Deserialize)]
struct User {
    id: String,
}

#[derive(Deserialize)]
struct ActionPayload {
    action_id: String,
    #[serde(default)]
    value: String,
}

/// The click in an interactivity request (`application/x-www-form-urlencoded`, `payload=<JSON>`).
pub fn parse_click(body: &[u8]) -> Result<Click, SlackError> {
    let form: Vec<(String, String)> =
        serde_urlencoded::from_bytes(body).map_err(|e| SlackError::Malformed(e.to_string()))?;
    let payload = form
        .iter()
        .find(|(k, _)| k == "payload")
        .map(|(_, v)| v)
        .ok_or_else(|| SlackError::Malformed("no payload field".into()))?;
    let interaction: Interaction =
        serde_json::from_str(payload).map_err(|e| SlackError::Malformed(e.to_string()))?;
    if interaction.kind != "block_actions" {
        return Err(SlackError::Malformed(format!("type {}", interaction.kind)));
    }
    let action = interaction
        .actions
        .first()
        .ok_or_else(|| SlackError::Malformed("no action".into()))?;
    let approve = match action.action_id.as_str() {
        "approve" => true,
        "reject" => false,
        other => return Err(SlackError::Malformed(format!("unknown action {other}"))),
    };
    if action.value.is_empty() {
        return Err(SlackError::Malformed(
            "the button carries no task token".into(),
        ));
    }
    Ok(Click {
        user: interaction.user.id,
        approve,
        token: action.value.clone(),
    })
}

/// The approval request: what will run on what, and two buttons carrying the task token.
pub fn request_message(incident: &Incident, token: &str, timeout_seconds: u64) -> Value {
    let text = format!(
        "*{}* on `{}`\nRunbook *{}* ({} risk) wants to run: {}\nNo answer within {} min escalates; nothing runs without a decision.",
        selfheal_slack::escape(incident.alert.name()),
        incident.target,
        incident.runbook.id,
        serde_json::to_value(incident.runbook.risk)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        incident.runbook.outline(),
        timeout_seconds / 60,
    );
    json!({
        "text": format!("Approval needed: {} on {}", incident.alert.name(), incident.target),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "Approval needed"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": format!("incident `{}`", incident.id)}]},
            {"type": "actions", "block_id": "approval", "elements": [
                {"type": "button", "action_id": "approve", "style": "primary",
                 "text": {"type": "plain_text", "text": "Approve"}, "value": token},
                {"type": "button", "action_id": "reject", "style": "danger",
                 "text": {"type": "plain_text", "text": "Reject"}, "value": token},
            ]},
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(ts: &str, sig: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-slack-request-timestamp", ts.parse().unwrap());
        h.insert("x-slack-signature", sig.parse().unwrap());
        h
    }

    #[test]
    fn signatures_match_slack_s_scheme() {
        // Computed independently: python3 -c 'import hmac,hashlib; print(hmac.new(b"8f742231b10e8888abcd99yyyzzz85a5", b"v0:1531420618:payload=%7B%7D", hashlib.sha256).hexdigest())'
        let expected = "v0=90020873e6bbe3b3515fec3b8fc08453f30f6b3fccd4d8a47b757f016b7334ae";
        let got = sign(
            "8f742231b10e8888abcd99yyyzzz85a5",
            1531420618,
            b"payload=%7B%7D",
        );
        assert_eq!(got, expected);
        let now = DateTime::from_timestamp(1531420618 + 10, 0).unwrap();
        let body = b"payload=%7B%7D";
        assert!(
            verify(
                "8f742231b10e8888abcd99yyyzzz85a5",
                &headers("1531420618", &got),
                body,
                now
            )
            .is_ok()
        );
        assert_eq!(
            verify("other-secret", &headers("1531420618", &got), body, now),
            Err(SlackError::BadSignature)
        );
        assert_eq!(
            verify(
                "8f742231b10e8888abcd99yyyzzz85a5",
                &headers("1531420618", &got),
                b"payload=%7B%7Dx",
                now
            ),
            Err(SlackError::BadSignature)
        );
        let late = DateTime::from_timestamp(1531420618 + 301, 0).unwrap();
        assert_eq!(
            verify(
                "8f742231b10e8888abcd99yyyzzz85a5",
                &headers("1531420618", &got),
                body,
                late
            ),
            Err(SlackError::Stale(301))
        );
        assert_eq!(
            verify("s", &HeaderMap::new(), body, now),
            Err(SlackError::Missing)
        );
    }

    #[test]
    fn a_signature_spelt_otherwise_is_the_same_request_and_an_empty_secret_accepts_nothing() {
        let secret = "8f742231b10e8888abcd99yyyzzz85a5";
        let body = b"payload=%7B%7D";
        let now = DateTime::from_timestamp(1531420618, 0).unwrap();
        let lower = sign(secret, 1531420618, body);
        let upper = format!("v0={}", lower["v0=".len()..].to_uppercase());
        let a = verify(secret, &headers("1531420618", &lower), body, now).unwrap();
        let b = verify(secret, &headers("1531420618", &upper), body, now).unwrap();
        assert_eq!(a, b, "one replay-guard key for both spellings");
        for empty in ["", "   "] {
            let forged = sign(empty, 1531420618, body);
            assert_eq!(
                verify(empty, &headers("1531420618", &forged), body, now),
                Err(SlackError::Unconfigured)
            );
        }
    }

    #[test]
    fn clicks_parse_and_anything_else_is_refused() {
        let payload = json!({"type": "block_actions", "user": {"id": "U024BE7LH", "username": "ana"},
            "actions": [{"action_id": "reject", "block_id": "approval", "value": "tok-123"}]});
        let body = serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap();
        assert_eq!(
            parse_click(body.as_bytes()).unwrap(),
            Click {
                user: "U024BE7LH".into(),
                approve: false,
                token: "tok-123".into()
            }
        );
        for bad in [
            json!({"type": "view_submission", "user": {"id": "U1"}, "actions": []}),
            json!({"type": "block_actions", "user": {"id": "U1"}, "actions": [{"action_id": "delete", "value": "t"}]}),
            json!({"type": "block_actions", "user": {"id": "U1"}, "actions": [{"action_id": "approve"}]}),
        ] {
            let body = serde_urlencoded::to_string([("payload", bad.to_string())]).unwrap();
            assert!(
                matches!(parse_click(body.as_bytes()), Err(SlackError::Malformed(_))),
                "{bad}"
            );
        }
        assert!(parse_click(b"nothing=here").is_err());
    }
}
