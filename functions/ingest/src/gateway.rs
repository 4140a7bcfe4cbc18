//! The local API Gateway: serves `POST /alerts` on a socket by wrapping each request as an API
//! Gateway HTTP API (payload v2) event and invoking the same handler the Lambda runs, so a real
//! Alertmanager can post to it.

use std::sync::Arc;

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Router, body::Bytes};
use chrono::Utc;
use selfheal_aws::secrets::SecretSource;
use selfheal_aws::starter::ExecutionStarter;
use selfheal_aws::store::IncidentStore;
use tokio::net::TcpListener;

use crate::Ingest;

/// API Gateway's own payload limit; smaller limits are the handler's to enforce (with a 413).
const GATEWAY_BODY_LIMIT: usize = 10 * 1024 * 1024;

/// The routes: `POST /alerts`.
pub fn router<S, E, K>(ingest: Arc<Ingest<S, E, K>>) -> Router
where
    S: IncidentStore + 'static,
    E: ExecutionStarter + 'static,
    K: SecretSource + 'static,
{
    Router::new()
        .route("/alerts", post(alerts::<S, E, K>))
        .layer(DefaultBodyLimit::max(GATEWAY_BODY_LIMIT))
        .with_state(ingest)
}

/// Serves the routes on `listener` until the task is dropped.
pub async fn serve<S, E, K>(
    listener: TcpListener,
    ingest: Arc<Ingest<S, E, K>>,
) -> std::io::Result<()>
where
    S: IncidentStore + 'static,
    E: ExecutionStarter + 'static,
    K: SecretSource + 'static,
{
    axum::serve(listener, router(ingest)).await
}

/// The request as API Gateway hands it to the Lambda.
pub fn event(headers: HeaderMap, body: &[u8]) -> ApiGatewayV2httpRequest {
    let mut request = ApiGatewayV2httpRequest::default();
    request.version = Some("2.0".into());
    request.route_key = Some("POST /alerts".into());
    request.raw_path = Some("/alerts".into());
    request.request_context.route_key = Some("POST /alerts".into());
    request.request_context.stage = Some("$default".into());
    request.request_context.http.method = Method::POST;
    request.request_context.http.path = Some("/alerts".into());
    request.request_context.time_epoch = Utc::now().timestamp_millis();
    request.headers = headers;
    match std::str::from_utf8(body) {
        Ok(text) => request.body = Some(text.to_owned()),
        Err(_) => {
            use base64::Engine;
            request.body = Some(base64::engine::general_purpose::STANDARD.encode(body));
            request.is_base64_encoded = true;
        }
    }
    request
}

async fn alerts<S, E, K>(
    State(ingest): State<Arc<Ingest<S, E, K>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response
where
    S: IncidentStore + 'static,
    E: ExecutionStarter + 'static,
    K: SecretSource + 'static,
{
    let invocation = serde_json::to_value(event(headers, &body))
        .map_err(|e| e.to_string())
        .map(|value| ingest.invoke(value, Utc::now()));
    let value = match invocation {
        Ok(fut) => fut.await.map_err(|e| e.to_string()),
        Err(e) => Err(e),
    };
    let response = value.and_then(|v| {
        serde_json::from_value::<ApiGatewayV2httpResponse>(v).map_err(|e| e.to_string())
    });
    match response {
        Ok(r) => {
            let status = u16::try_from(r.status_code)
                .ok()
                .and_then(|s| StatusCode::from_u16(s).ok())
                .unwrap_or(StatusCode::BAD_GATEWAY);
            let body = match r.body {
                Some(Body::Text(t)) => t.into_bytes(),
                Some(Body::Binary(b)) => b,
                _ => Vec::new(),
            };
            (status, r.headers, body).into_response()
        }
        // What API Gateway answers when the integration fails.
        Err(e) => (StatusCode::BAD_GATEWAY, e).into_response(),
    }
}
