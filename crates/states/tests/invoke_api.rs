//! Tasks dispatched over HTTP to a Lambda Invoke API, as `cargo lambda watch` serves it.

#![allow(clippy::unwrap_used)] // a panic is the failure report

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::Arc;

use selfheal_states::{Clock, Definition, Executor, InvokeApi, Status};
use serde_json::{Value, json};

/// A minimal Invoke API: `remediate` echoes its payload under "got", `broken` fails the way a
/// Rust Lambda reports an error, anything else is 404.
fn serve() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let path = line
                .split_whitespace()
                .nth(1)
                .unwrap_or_default()
                .to_owned();
            let mut length = 0;
            loop {
                let mut header = String::new();
                reader.read_line(&mut header).unwrap();
                if header.trim().is_empty() {
                    break;
                }
                if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let payload: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let (status, extra, reply) = match path.as_str() {
                "/2015-03-31/functions/remediate/invocations" => {
                    ("200 OK", "", json!({"got": payload}))
                }
                "/2015-03-31/functions/broken/invocations" => (
                    "200 OK",
                    "X-Amz-Function-Error: Unhandled\r\n",
                    json!({"errorType": "Retryable", "errorMessage": "409 Conflict on deployments/backend"}),
                ),
                _ => (
                    "404 Not Found",
                    "",
                    json!({"Type": "User", "Message": "Function not found"}),
                ),
            };
            let reply = reply.to_string();
            write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{reply}",
                reply.len()
            )
            .unwrap();
        }
    });
    format!("http://{addr}")
}

fn task(function: &str) -> Definition {
    Definition::parse(
        &json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": function, "Payload": {"incident.$": "$.id"}}, "OutputPath": "$.Payload", "End": true}}})
        .to_string(),
    )
    .unwrap()
}

#[tokio::test]
async fn results_errors_and_missing_functions_come_back_as_lambda_reports_them() {
    let base = serve();
    let exec = Executor::new(Arc::new(InvokeApi::new(&base)), Clock::real());
    let ok = exec
        .execute(&task("remediate"), "m", "inc-1", json!({"id": "inc-1"}))
        .await;
    assert_eq!(ok.status, Status::Succeeded);
    assert_eq!(ok.output, Some(json!({"got": {"incident": "inc-1"}})));

    let failed = exec
        .execute(&task("broken"), "m", "inc-1", json!({"id": "inc-1"}))
        .await;
    let err = failed.error.unwrap();
    assert_eq!(err.error, "Retryable");
    assert!(err.cause.contains("409 Conflict"), "{}", err.cause);

    let missing = exec
        .execute(&task("nope"), "m", "inc-1", json!({"id": "inc-1"}))
        .await;
    assert_eq!(
        missing.error.unwrap().error,
        "Lambda.ResourceNotFoundException"
    );
}
