//! The three tiers on loopback, in process: requests flow frontend -> backend -> db-stub with
//! one trace id, and each fault switch changes what a caller and /metrics see.

#![allow(clippy::unwrap_used)] // a panic is the failure report

use std::process::{Command, Stdio};

use selfheal_sample_app::{App, Faults, Metrics, Role, Switches};
use serde_json::{Value, json};

struct Tier {
    url: String,
}

async fn tier(role: Role, downstream: Option<&Tier>) -> Tier {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = App::new(
        role,
        downstream.map(|d| d.url.clone()),
        Switches::new(Faults::default()),
        Metrics::new().unwrap(),
        // No exporter: spans get real ids and go nowhere, as with OTEL_EXPORTER_OTLP_ENDPOINT unset.
        &opentelemetry_sdk::trace::SdkTracerProvider::builder().build(),
    )
    .unwrap();
    tokio::spawn(async move { axum::serve(listener, app.router()).await });
    Tier { url }
}

async fn three() -> (Tier, Tier, Tier) {
    let db = tier(Role::DbStub, None).await;
    let backend = tier(Role::Backend, Some(&db)).await;
    let frontend = tier(Role::Frontend, Some(&backend)).await;
    (frontend, backend, db)
}

async fn get(url: &str) -> (u16, Value) {
    let r = reqwest::get(url).await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

async fn faults(tier: &Tier, faults: Value) -> u16 {
    reqwest::Client::new()
        .put(format!("{}/admin/faults", tier.url))
        .json(&faults)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The value of one sample of `/metrics`, 0 when absent.
async fn sample(tier: &Tier, line: &str) -> f64 {
    let text = reqwest::get(format!("{}/metrics", tier.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(line)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn a_request_flows_through_three_tiers_under_one_trace() {
    let (frontend, backend, db) = three().await;
    let (code, body) = get(&format!("{}/", frontend.url)).await;
    assert_eq!(code, 200, "{body}");
    let trace = body["trace_id"].as_str().unwrap();
    assert_eq!(trace.len(), 32);
    assert_ne!(trace, "00000000000000000000000000000000");
    assert_eq!(body["backend"]["trace_id"], trace, "{body}");
    assert_eq!(body["backend"]["db"]["trace_id"], trace, "{body}");
    assert_eq!(body["backend"]["items"][1]["name"], "teapot");
    // A caller's traceparent is continued, not replaced.
    let parent = "4bf92f3577b34da6a3ce929d0e0e4736";
    let r = reqwest::Client::new()
        .get(format!("{}/api/items", backend.url))
        .header("traceparent", format!("00-{parent}-00f067aa0ba902b7-01"))
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["trace_id"], parent);
    assert_eq!(body["db"]["trace_id"], parent);
    assert_eq!(
        sample(
            &db,
            r#"http_requests_total{code="200",method="GET",route="/query"}"#
        )
        .await,
        2.0
    );
    for t in [&frontend, &backend, &db] {
        assert_eq!(get(&format!("{}/readyz", t.url)).await.0, 200);
        assert_eq!(get(&format!("{}/healthz", t.url)).await.0, 200);
    }
    // The readiness fault fails the probe and nothing else.
    assert_eq!(faults(&db, json!({"not_ready": true})).await, 200);
    assert_eq!(get(&format!("{}/readyz", db.url)).await.0, 503);
    assert_eq!(get(&format!("{}/healthz", db.url)).await.0, 200);
    assert_eq!(get(&format!("{}/", frontend.url)).await.0, 200);
}

#[tokio::test]
async fn an_error_rate_answers_its_share_with_503_and_counts_it() {
    let (frontend, backend, _) = three().await;
    assert_eq!(faults(&backend, json!({"error_rate": 0.5})).await, 200);
    let mut codes = Vec::new();
    for _ in 0..10 {
        codes.push(get(&format!("{}/", frontend.url)).await.0);
    }
    assert_eq!(codes.iter().filter(|c| **c == 503).count(), 5, "{codes:?}");
    let bad = r#"http_requests_total{code="503",method="GET",route="/api/items"}"#;
    assert_eq!(sample(&backend, bad).await, 5.0);
    // The frontend fails the requests its backend failed: the burn shows at every tier.
    assert_eq!(
        sample(
            &frontend,
            r#"http_requests_total{code="503",method="GET",route="/"}"#
        )
        .await,
        5.0
    );
}

#[tokio::test]
async fn added_latency_moves_the_histogram_past_the_slo_threshold() {
    let (frontend, backend, _) = three().await;
    get(&format!("{}/", frontend.url)).await;
    let under = r#"http_request_duration_seconds_bucket{method="GET",route="/api/items",le="0.5"}"#;
    let all = r#"http_request_duration_seconds_count{method="GET",route="/api/items"}"#;
    assert_eq!(
        (sample(&backend, under).await, sample(&backend, all).await),
        (1.0, 1.0)
    );
    assert_eq!(faults(&backend, json!({"latency_ms": 600})).await, 200);
    let (code, _) = get(&format!("{}/", frontend.url)).await;
    assert_eq!(code, 200);
    assert_eq!(
        (sample(&backend, under).await, sample(&backend, all).await),
        (1.0, 2.0)
    );
    let sum = r#"http_request_duration_seconds_sum{method="GET",route="/api/items"}"#;
    assert!(sample(&backend, sum).await >= 0.6);
}

#[tokio::test]
async fn an_unreachable_dependency_fails_without_calling_it() {
    let (frontend, backend, _) = three().await;
    assert_eq!(
        faults(&frontend, json!({"dependency_unreachable": true})).await,
        200
    );
    let (code, body) = get(&format!("{}/", frontend.url)).await;
    assert_eq!(code, 503);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("connection refused"),
        "{body}"
    );
    assert_eq!(
        sample(
            &backend,
            r#"http_requests_total{code="200",method="GET",route="/api/items"}"#
        )
        .await,
        0.0
    );
}

#[tokio::test]
async fn bad_faults_are_refused_and_change_nothing() {
    let (frontend, _, _) = three().await;
    assert_eq!(faults(&frontend, json!({"error_rate": 2})).await, 422);
    assert_eq!(faults(&frontend, json!({"latency": 5})).await, 400);
    let (_, now) = get(&format!("{}/admin/faults", frontend.url)).await;
    assert_eq!(now["error_rate"], 0.0);
    assert_eq!(get(&format!("{}/", frontend.url)).await.0, 200);
}

#[tokio::test]
async fn metrics_pass_promtool_check_metrics() {
    let (frontend, _, _) = three().await;
    get(&format!("{}/", frontend.url)).await;
    let text = reqwest::get(format!("{}/metrics", frontend.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("process_resident_memory_bytes"), "{text}");
    selfheal_testkit::promtool_check_metrics(&text);
}

#[test]
fn the_binary_crashes_on_start_when_told_and_says_why_in_json() {
    let out = Command::new(env!("CARGO_BIN_EXE_sample-app"))
        .args(["--role", "db-stub", "--listen", "127.0.0.1:0"])
        .env("FAULT_CRASH_ON_START", "true")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(line["level"], "ERROR");
    assert!(
        line["error"]
            .as_str()
            .unwrap()
            .contains("FAULT_CRASH_ON_START"),
        "{line}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_sample-app"))
        .args(["--role", "backend"])
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "a backend without its db-stub must not start"
    );
}

/// With OTEL_EXPORTER_OTLP_ENDPOINT set, the binary exports its spans over OTLP/HTTP (protobuf to
/// /v1/traces), flushed when Kubernetes stops it with SIGTERM; its log line carries the span's
/// trace id. (Multi-threaded: the collector must answer while the test waits for the process.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_are_exported_over_otlp_and_logged_with_their_trace_id() {
    use prost::Message;
    let bodies = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(String, Vec<u8>)>::new()));
    let sink = bodies.clone();
    let collector = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", collector.local_addr().unwrap());
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let sink = sink.clone();
                async move {
                    let kind = headers["content-type"]
                        .to_str()
                        .unwrap_or_default()
                        .to_owned();
                    sink.lock().unwrap().push((kind, body.to_vec()));
                    ""
                }
            },
        ),
    );
    tokio::spawn(async move { axum::serve(collector, app).await });
    let mut child = Command::new(env!("CARGO_BIN_EXE_sample-app"))
        .args(["--role", "db-stub", "--listen", "127.0.0.1:0"])
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)
        .env("OTEL_SERVICE_NAME", "database")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (lines_tx, lines_rx) = std::sync::mpsc::channel::<Value>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if let Ok(v) = serde_json::from_str(&line) {
                let _ = lines_tx.send(v);
            }
        }
    });
    let wait = std::time::Duration::from_secs(10);
    let listening = lines_rx.recv_timeout(wait).unwrap();
    let url = format!("http://{}", listening["listen"].as_str().unwrap());
    let (code, body) = get(&format!("{url}/query")).await;
    assert_eq!(code, 200);
    let trace = body["trace_id"].as_str().unwrap().to_owned();
    let logged = lines_rx.recv_timeout(wait).unwrap();
    assert_eq!(
        (logged["message"].as_str(), logged["trace_id"].as_str()),
        (Some("request"), Some(trace.as_str()))
    );
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success(), "stops cleanly on SIGTERM");
    let bodies = bodies.lock().unwrap();
    assert_eq!(bodies.len(), 1, "one batch, flushed at shutdown");
    assert_eq!(bodies[0].0, "application/x-protobuf");
    let request =
        opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest::decode(
            bodies[0].1.as_slice(),
        )
        .unwrap();
    let resource = &request.resource_spans[0];
    use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
    let service = resource
        .resource
        .iter()
        .flat_map(|r| &r.attributes)
        .find(|a| a.key == "service.name")
        .and_then(|a| a.value.as_ref()?.value.as_ref());
    assert!(
        matches!(service, Some(Any::StringValue(s)) if s == "database"),
        "{service:?}"
    );
    let span = &resource.scope_spans[0].spans[0];
    assert_eq!(span.name, "GET /query");
    let hex: String = span.trace_id.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, trace);
}
