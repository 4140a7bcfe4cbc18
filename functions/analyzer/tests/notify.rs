//! The handler on its fixtures (the events `cargo lambda invoke` sends): the closing messages
//! as Block Kit, a failing Slack that fails nothing, and the escalation's "look at first".
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, Utc};
use selfheal_analyzer::analyst::{Analyst, Budget};
use selfheal_analyzer::llm::Llm;
use selfheal_analyzer::{Analyzer, Request};
use selfheal_core::redact::Options;
use selfheal_slack::Slack;
use serde_json::{Value, json};

fn fixture(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn analyzer(slack: Slack) -> Analyzer<Llm> {
    Analyzer::new(
        Analyst::new(None, Budget::default()),
        Some(slack),
        Options::default(),
    )
}

fn at() -> DateTime<Utc> {
    "2026-11-25T21:42:00Z".parse().unwrap()
}

fn messages(file: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn remediated_says_cause_actions_mttr_and_links_the_timeline() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("slack.jsonl");
    let request: Request = serde_json::from_value(fixture("notify-remediated.json")).unwrap();
    let answer = analyzer(Slack::File(file.clone()))
        .handle(request, None, at())
        .await
        .unwrap();
    assert_eq!(answer["posted"], true);
    let m = &messages(&file)[0];
    assert!(
        m["text"]
            .as_str()
            .unwrap()
            .starts_with("Remediated: KubePodCrashLooping")
    );
    let text = m.to_string();
    for part in [
        "*Cause:* `app-crash` (75% · deterministic)",
        "`restart-pods` rolling restart of shop/deployment/frontend (revision 1 → 2) — healthy",
        "MTTR ",
        "https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/arn:aws:states:eu-west-1:",
        "*Next steps*",
    ] {
        assert!(text.contains(part), "{part} missing: {text}");
    }
}

#[tokio::test]
async fn escalated_says_what_failed_and_where_to_look_first() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("slack.jsonl");
    let mut event = fixture("notify-remediated.json");
    let state = event["state"].as_object_mut().unwrap();
    state.remove("analysis");
    state.insert("closed".into(), json!({"outcome": "escalated"}));
    state.insert("opened".into(), json!({"ts": "1764106800.000100", "finding": {"cause": "oom-killed", "summary": "Container frontend is killed for exceeding its memory limit.", "key_facts": ["OOMKilled"], "next_steps": ["Compare memory use with the limit."], "confidence": 0.9, "provider": "deterministic"}}));
    state["steps"][0]["health"]["result"] = json!({"schema": "selfheal.health-result/v1", "health": "unhealthy", "checks": [{"name": "pods", "health": "unhealthy", "detail": "1/3 pods ready"}]});
    let request: Request = serde_json::from_value(event).unwrap();
    analyzer(Slack::File(file.clone()))
        .handle(request, None, at())
        .await
        .unwrap();
    let m = &messages(&file)[0];
    // Threaded under the opened message.
    assert_eq!(m["thread_ts"], "1764106800.000100");
    let text = m.to_string();
    assert!(m["text"].as_str().unwrap().starts_with("Escalated:"));
    assert!(
        text.contains("*What failed:* still unhealthy after every attempt: pods — 1/3 pods ready"),
        "{text}"
    );
    // No evidence now (no cluster): the finding at open tells where to look.
    assert!(
        text.contains("*Look at first:* Compare memory use with the limit."),
        "{text}"
    );
    assert!(text.contains("open for "));
}

#[tokio::test]
async fn a_failing_slack_fails_nothing() {
    // Nothing listens on port 9 of loopback.
    let slack = Slack::Webhook("http://127.0.0.1:9/hook".into());
    let request: Request = serde_json::from_value(fixture("notify-remediated.json")).unwrap();
    let answer = analyzer(slack.clone())
        .handle(request, None, at())
        .await
        .unwrap();
    assert_eq!(answer["posted"], false);
    let incident = fixture("analyze.json")["incident"].clone();
    let opened: Request =
        serde_json::from_value(json!({"kind": "opened", "incident": incident})).unwrap();
    let answer = analyzer(slack).handle(opened, None, at()).await.unwrap();
    assert_eq!(answer["ts"], Value::Null);
    assert_eq!(answer["finding"]["cause"], "unknown");
}

#[tokio::test]
async fn messages_are_redacted_before_they_leave() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("slack.jsonl");
    let mut event = fixture("analyze.json");
    event["kind"] = json!("opened");
    event["incident"]["alert"]["annotations"]["summary"] =
        json!("login failures for ana@example.com with password=hunter22");
    let request: Request = serde_json::from_value(event).unwrap();
    analyzer(Slack::File(file.clone()))
        .handle(request, None, at())
        .await
        .unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        !text.contains("ana@example.com") && !text.contains("hunter22"),
        "{text}"
    );
    assert!(text.contains("[REDACTED:email:1]"));
}

#[tokio::test]
async fn an_annotation_cannot_link_mention_or_format_in_slack() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("slack.jsonl");
    let mut event = fixture("analyze.json");
    event["kind"] = json!("opened");
    event["incident"]["alert"]["annotations"]["summary"] =
        json!("<!channel> approve now: <https://evil.example/approve|click here> *urgent*");
    let request: Request = serde_json::from_value(event).unwrap();
    analyzer(Slack::File(file.clone()))
        .handle(request, None, at())
        .await
        .unwrap();
    let message: Value = serde_json::from_str(messages(&file)[0].to_string().as_str()).unwrap();
    let section = message["blocks"][1]["text"]["text"].as_str().unwrap();
    for bad in ["<!channel>", "<https://", "*urgent*"] {
        assert!(!section.contains(bad), "{bad} reached Slack: {section}");
    }
    assert!(section.contains("&lt;!channel&gt;"), "{section}");
}

#[test]
fn a_request_of_an_unknown_kind_is_refused() {
    let err =
        serde_json::from_value::<Request>(json!({"kind": "act", "incident": {}})).unwrap_err();
    assert!(err.to_string().contains("unknown variant `act`"), "{err}");
}
