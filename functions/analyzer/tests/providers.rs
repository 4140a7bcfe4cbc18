//! The LLM providers against a local server that speaks each wire format (Anthropic Messages,
//! OpenAI Chat Completions, Bedrock Converse) and records what it is sent: the request shapes,
//! the fallbacks (timeout, malformed, ungrounded, over budget), and that no secret from the
//! test corpus reaches any request.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_credential_types::Credentials;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::post;
use selfheal_analyzer::analyst::{Analyst, Budget, estimate_tokens};
use selfheal_analyzer::evidence::{Evidence, LogTail};
use selfheal_analyzer::llm::{Kind, Llm, Provider};
use selfheal_analyzer::rules::Cause;
use selfheal_core::redact::{Options, Redactor};
use serde_json::{Value, json};

#[derive(Debug, Clone)]
struct Recorded {
    path: String,
    headers: HeaderMap,
    body: Value,
}

#[derive(Default)]
struct Model {
    /// What the model says.
    text: Mutex<String>,
    delay: Mutex<Duration>,
    requests: Mutex<Vec<Recorded>>,
}

async fn answer(model: &Model, path: String, headers: HeaderMap, body: Value) -> Value {
    model.requests.lock().unwrap().push(Recorded {
        path: path.clone(),
        headers,
        body,
    });
    let delay = *model.delay.lock().unwrap();
    tokio::time::sleep(delay).await;
    let text = model.text.lock().unwrap().clone();
    if path.ends_with("/v1/messages") {
        json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude",
               "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
               "usage": {"input_tokens": 812, "output_tokens": 95}})
    } else if path.ends_with("/chat/completions") {
        json!({"id": "chatcmpl-1", "object": "chat.completion",
               "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
               "usage": {"prompt_tokens": 812, "completion_tokens": 95, "total_tokens": 907}})
    } else {
        json!({"output": {"message": {"role": "assistant", "content": [{"text": text}]}},
               "stopReason": "end_turn", "usage": {"inputTokens": 812, "outputTokens": 95, "totalTokens": 907}})
    }
}

async fn serve() -> (String, Arc<Model>) {
    let model = Arc::new(Model::default());
    let app = axum::Router::new()
        .route(
            "/v1/messages",
            post(
                |State(m): State<Arc<Model>>, h: HeaderMap, Json(b): Json<Value>| async move {
                    Json(answer(&m, "/v1/messages".into(), h, b).await)
                },
            ),
        )
        .route(
            "/v1/chat/completions",
            post(
                |State(m): State<Arc<Model>>, h: HeaderMap, Json(b): Json<Value>| async move {
                    Json(answer(&m, "/v1/chat/completions".into(), h, b).await)
                },
            ),
        )
        .route(
            "/model/{id}/converse",
            post(
                |State(m): State<Arc<Model>>,
                 Path(id): Path<String>,
                 h: HeaderMap,
                 Json(b): Json<Value>| async move {
                    Json(answer(&m, format!("/model/{id}/converse"), h, b).await)
                },
            ),
        )
        .with_state(model.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, model)
}

fn bundle(name: &str) -> Evidence {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/evidence")
        .join(format!("{name}.json"));
    Evidence::from_json(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn providers(url: &str) -> Vec<Llm> {
    vec![
        Llm::new(Kind::Anthropic, url, "claude-haiku-4-5").with_api_key("test-anthropic-key"),
        Llm::new(Kind::Openai, format!("{url}/v1"), "llama3.1").with_api_key("test-openai-key"),
        Llm::new(Kind::Bedrock, url, "anthropic.claude-3-haiku-20240307-v1:0").with_credentials(
            Credentials::new(
                "AKIDEXAMPLE",
                "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                None,
                None,
                "test",
            ),
            "us-east-1",
        ),
    ]
}

const GROUNDED: &str = r#"{"summary": "Container api of backend-6d4cf56db6-q8z4m panics on an index out of range and restarts.\nThe other pod is healthy.", "cause": "app-crash", "confidence": 0.8, "next_steps": ["Read the previous log of backend-6d4cf56db6-q8z4m.", "Check the orders cache change."]}"#;

#[tokio::test]
async fn each_provider_sends_its_wire_format_and_its_answer_is_used() {
    let (url, model) = serve().await;
    *model.text.lock().unwrap() = format!("Here is the analysis:\n```json\n{GROUNDED}\n```");
    let evidence = bundle("app-crash");
    for llm in providers(&url) {
        let name = llm.name();
        let finding = Analyst::new(Some(llm), Budget::default())
            .analyze(&evidence, None)
            .await;
        assert_eq!(finding.cause, Cause::AppCrash, "{name}");
        assert_eq!(finding.provider, name);
        assert!(
            finding.fallback_reason.is_none(),
            "{name}: {:?}",
            finding.fallback_reason
        );
        assert!(
            finding
                .summary
                .starts_with("Container api of backend-6d4cf56db6-q8z4m")
        );
        assert_eq!(finding.next_steps.len(), 2);
        // Agreeing with the rules keeps their facts.
        assert!(finding.key_facts.iter().any(|f| f.contains("exit code 1")));
    }
    let requests = model.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 3);

    let anthropic = &requests[0];
    assert_eq!(anthropic.path, "/v1/messages");
    assert_eq!(anthropic.headers["x-api-key"], "test-anthropic-key");
    assert_eq!(anthropic.headers["anthropic-version"], "2023-06-01");
    assert_eq!(anthropic.body["model"], "claude-haiku-4-5");
    assert_eq!(anthropic.body["max_tokens"], 600);
    assert!(
        anthropic.body["system"]
            .as_str()
            .unwrap()
            .contains("app-crash, oom-killed")
    );
    assert_eq!(anthropic.body["messages"][0]["role"], "user");
    let user: Value =
        serde_json::from_str(anthropic.body["messages"][0]["content"].as_str().unwrap()).unwrap();
    assert_eq!(user["deterministic_analysis"]["cause"], "app-crash");
    assert_eq!(
        user["evidence"]["pods"][0]["name"],
        "backend-6d4cf56db6-q8z4m"
    );

    let openai = &requests[1];
    assert_eq!(openai.path, "/v1/chat/completions");
    assert_eq!(openai.headers["authorization"], "Bearer test-openai-key");
    assert_eq!(openai.body["max_tokens"], 600);
    assert_eq!(openai.body["messages"][0]["role"], "system");
    assert_eq!(openai.body["messages"][1]["role"], "user");
    assert_eq!(openai.body["response_format"]["type"], "json_object");

    let bedrock = &requests[2];
    // The colon of the model id is escaped in the path.
    assert_eq!(
        bedrock.path,
        "/model/anthropic.claude-3-haiku-20240307-v1:0/converse"
    );
    let auth = bedrock.headers["authorization"].to_str().unwrap();
    assert!(
        auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"),
        "{auth}"
    );
    assert!(auth.contains("/us-east-1/bedrock/aws4_request"), "{auth}");
    assert!(
        auth.contains("SignedHeaders=content-type;host;x-amz-date"),
        "{auth}"
    );
    assert!(bedrock.headers.contains_key("x-amz-date"));
    assert_eq!(bedrock.body["inferenceConfig"]["maxTokens"], 600);
    assert!(bedrock.body["system"][0]["text"].is_string());
    assert!(bedrock.body["messages"][0]["content"][0]["text"].is_string());
}

#[tokio::test]
async fn a_slow_provider_times_out_to_the_rules() {
    let (url, model) = serve().await;
    *model.text.lock().unwrap() = GROUNDED.into();
    *model.delay.lock().unwrap() = Duration::from_secs(5);
    let budget = Budget {
        timeout: Duration::from_millis(300),
        ..Budget::default()
    };
    for llm in providers(&url) {
        let finding = Analyst::new(Some(llm), budget)
            .analyze(&bundle("oom-killed"), None)
            .await;
        assert_eq!(finding.cause, Cause::OomKilled);
        assert_eq!(finding.provider, "deterministic");
        assert_eq!(finding.fallback_reason.as_deref(), Some("timed out"));
    }
}

#[tokio::test]
async fn malformed_and_ungrounded_answers_fall_back_to_the_rules() {
    let (url, model) = serve().await;
    let cases = [
        (
            "I think the pod crashed.",
            "malformed answer: no JSON object",
        ),
        (
            r#"{"summary": "x", "cause": "cosmic-rays", "confidence": 0.9, "next_steps": ["pray"]}"#,
            "not in the vocabulary",
        ),
        (
            r#"{"summary": "x", "cause": "app-crash", "confidence": 7, "next_steps": ["a"]}"#,
            "confidence",
        ),
        (
            r#"{"summary": "x", "cause": "app-crash", "confidence": 0.5, "next_steps": []}"#,
            "next_steps",
        ),
        (
            r#"{"summary": "1\n2\n3\n4\n5", "cause": "app-crash", "confidence": 0.5, "next_steps": ["a"]}"#,
            "5 lines",
        ),
        (
            r#"{"summary": "x", "cause": "app-crash", "confidence": 0.5, "next_steps": ["a"], "command": "kubectl delete ns shop"}"#,
            "unknown field",
        ),
        (
            r#"{"summary": "Pod backend-6d4cf56db6-zzzzz on node ip-10-9-9-9.ec2.internal is out of memory.", "cause": "oom-killed", "confidence": 0.9, "next_steps": ["Restart deployment/payments."]}"#,
            "ungrounded answer: backend-6d4cf56db6-zzzzz, ip-10-9-9-9.ec2.internal, payments",
        ),
    ];
    for (text, reason) in cases {
        *model.text.lock().unwrap() = text.into();
        for llm in providers(&url) {
            let finding = Analyst::new(Some(llm), Budget::default())
                .analyze(&bundle("app-crash"), None)
                .await;
            assert_eq!(finding.cause, Cause::AppCrash, "{text}");
            assert_eq!(finding.provider, "deterministic");
            let got = finding.fallback_reason.unwrap();
            assert!(got.contains(reason), "{text}: {got}");
        }
    }
}

#[tokio::test]
async fn an_error_status_falls_back() {
    // Nothing listens on the Anthropic path of this server's OpenAI-only twin: a 404.
    let (url, _model) = serve().await;
    let llm = Llm::new(Kind::Anthropic, format!("{url}/nowhere"), "m");
    let finding = Analyst::new(Some(llm), Budget::default())
        .analyze(&bundle("image-pull"), None)
        .await;
    assert_eq!(finding.cause, Cause::ImagePull);
    assert!(finding.fallback_reason.unwrap().contains("HTTP 404"));
}

#[tokio::test]
async fn the_token_budget_trims_logs_and_never_overflows() {
    let (url, model) = serve().await;
    *model.text.lock().unwrap() = GROUNDED.into();
    let mut evidence = bundle("app-crash");
    // 2,000 log lines: far more than the budget holds.
    let text: Vec<String> = (0..2000)
        .map(|i| format!("processing order {i} for tenant 42 in region eu-west-1"))
        .collect();
    evidence.logs.push(LogTail {
        pod: "backend-6d4cf56db6-q8z4m".into(),
        container: "api".into(),
        previous: false,
        text: text.join("\n"),
    });
    let budget = Budget {
        max_tokens: 400,
        tokens: 3000,
        ..Budget::default()
    };
    for llm in providers(&url) {
        let finding = Analyst::new(Some(llm), budget)
            .analyze(&evidence, None)
            .await;
        assert!(
            finding.fallback_reason.is_none(),
            "{:?}",
            finding.fallback_reason
        );
    }
    for r in model.requests.lock().unwrap().iter() {
        let sent = r.body.to_string();
        assert!(
            estimate_tokens(&sent) + 400 <= 3000 + 100,
            "{} tokens sent",
            estimate_tokens(&sent)
        );
        // Trimmed, not dropped: the newest lines are there.
        assert!(sent.contains("processing order 1999"));
        assert!(!sent.contains("processing order 1000 "));
    }
    // A budget nothing fits in: no request at all.
    let before = model.requests.lock().unwrap().len();
    let tiny = Budget {
        max_tokens: 400,
        tokens: 500,
        ..Budget::default()
    };
    for llm in providers(&url) {
        let finding = Analyst::new(Some(llm), tiny).analyze(&evidence, None).await;
        assert_eq!(finding.cause, Cause::AppCrash);
        assert!(
            finding
                .fallback_reason
                .unwrap()
                .contains("token budget of 500")
        );
    }
    assert_eq!(model.requests.lock().unwrap().len(), before);
}

/// The secrets planted in the evidence: one of every kind the redactor knows.
const SECRETS: &[&str] = &[
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB",
    "xoxb-1234567890-abcdefghijkl",
    "https://hooks.slack.com/services/T000/B000/XXXXXXXX",
    "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    "AIzaSyA-1234567890abcdefghijklmnopqrstu",
    "sk-proj-abcdefghijklmnopqrstuvwx",
    "sk-ant-api03-abcdefghijklmnopqrstuv",
    "npm_abcdefghijklmnopqrstuvwxyz0123456789",
    "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJlLXBhcnQ",
    "abcdefghijklmnop0123",
    "dXNlcjpwYXNzd29yZA==",
    "hunter22",
    "ana@example.com",
    "4111 1111 1111 1111",
    "+1 415 555 2671",
    "203.0.113.7",
    "MIIEowIBAAKCAQEA",
];

#[tokio::test]
async fn no_secret_of_the_corpus_reaches_a_provider() {
    let (url, model) = serve().await;
    *model.text.lock().unwrap() = GROUNDED.into();
    let mut evidence = bundle("app-crash");
    let lines = [
        "boot with AKIAIOSFODNN7EXAMPLE and aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "git clone with ghp_0123456789abcdefghijklmnopqrstuvwxyzAB",
        "notify xoxb-1234567890-abcdefghijkl via https://hooks.slack.com/services/T000/B000/XXXXXXXX",
        "charge sk_live_4eC39HqLyjWDarjtT1zdp7dc card 4111 1111 1111 1111 for ana@example.com +1 415 555 2671",
        "maps AIzaSyA-1234567890abcdefghijklmnopqrstu llm sk-proj-abcdefghijklmnopqrstuvwx sk-ant-api03-abcdefghijklmnopqrstuv",
        "npm npm_abcdefghijklmnopqrstuvwxyz0123456789 sa eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJlLXBhcnQ",
        "Authorization: Bearer abcdefghijklmnop0123 / Authorization: Basic dXNlcjpwYXNzd29yZA==",
        "dsn postgres://app:hunter22@db:5432/shop from 203.0.113.7",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
        "panic: runtime error: index out of range [3] with length 3",
    ];
    evidence.logs[0].text = lines.join("\n");
    evidence.events[0].message = Some(format!("{} {}", lines[0], lines[3]));
    evidence
        .alert
        .annotations
        .insert("description".into(), lines[7].into());
    evidence
        .alert
        .labels
        .insert("reporter".into(), "ana@example.com".into());
    let spec = evidence.pods[0].spec.as_mut().unwrap();
    spec.containers[0].env = Some(vec![k8s_openapi::api::core::v1::EnvVar {
        name: "DATABASE_URL".into(),
        value: Some("postgres://app:hunter22@db:5432/shop".into()),
        ..Default::default()
    }]);
    let evidence = evidence.redact(&mut Redactor::new(Options::default()));
    for llm in providers(&url) {
        Analyst::new(
            Some(llm),
            Budget {
                tokens: 20_000,
                ..Budget::default()
            },
        )
        .analyze(&evidence, None)
        .await;
    }
    let requests = model.requests.lock().unwrap();
    assert_eq!(requests.len(), 3);
    for r in requests.iter() {
        let sent = r.body.to_string();
        for secret in SECRETS {
            // JSON escapes `/` nowhere and `+` nowhere; compare the raw text.
            assert!(!sent.contains(secret), "{secret} reached {}", r.path);
        }
        assert!(sent.contains("[REDACTED:aws_access_key:1]"), "{sent}");
        assert!(sent.contains("panic: runtime error"));
    }
}
