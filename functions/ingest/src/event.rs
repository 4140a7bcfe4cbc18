//! The Lambda's two front doors in one handler: an API Gateway HTTP API (payload v2) request, or
//! an SNS event (Amazon Managed Prometheus). Both end in [`Ingest::notification`].

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use chrono::{DateTime, Utc};
use http::{HeaderValue, Method};
use selfheal_aws::secrets::SecretSource;
use selfheal_aws::starter::ExecutionStarter;
use selfheal_aws::store::IncidentStore;
use selfheal_core::apigw;
use serde_json::{Value, json};
use tracing::{error, warn};

use crate::{AlertReport, Ingest, IngestError};

/// What a Lambda invocation carries.
pub enum Event {
    /// API Gateway HTTP API, payload format 2.0.
    Http(Box<ApiGatewayV2httpRequest>),
    /// SNS records, kept as the bytes the parser checks.
    Sns(Vec<u8>),
}

impl Event {
    /// Tells the two apart: SNS events carry `Records` with `EventSource` `aws:sns`.
    pub fn classify(value: Value) -> Result<Event, serde_json::Error> {
        let is_sns = value
            .get("Records")
            .and_then(|r| r.get(0))
            .and_then(|r| r.get("EventSource"))
            .and_then(Value::as_str)
            == Some("aws:sns");
        if is_sns {
            Ok(Event::Sns(serde_json::to_vec(&value)?))
        } else {
            serde_json::from_value(value).map(|r| Event::Http(Box::new(r)))
        }
    }
}

impl<S: IncidentStore, E: ExecutionStarter, K: SecretSource> Ingest<S, E, K> {
    /// One Lambda invocation. HTTP requests always get a response (errors are statuses); an SNS
    /// event that fails returns the error, so SNS delivers it again.
    pub async fn invoke(&self, event: Value, now: DateTime<Utc>) -> Result<Value, IngestError> {
        match Event::classify(event) {
            Ok(Event::Http(request)) => {
                let response = self.http(&request, now).await;
                Ok(serde_json::to_value(response).unwrap_or_else(|e| {
                    error!(error = %e, "response did not serialize");
                    json!({"statusCode": 500})
                }))
            }
            Ok(Event::Sns(bytes)) => {
                let result = self.sns(&bytes, now).await;
                result.map(|alerts| json!({ "alerts": alerts }))
            }
            Err(e) => Err(IngestError::Payload(
                selfheal_core::PayloadError::Malformed {
                    path: ".".into(),
                    message: format!("neither an API Gateway v2 request nor an SNS event: {e}"),
                },
            )),
        }
    }

    /// An API Gateway v2 request to the API Gateway v2 response.
    pub async fn http(
        &self,
        request: &ApiGatewayV2httpRequest,
        now: DateTime<Utc>,
    ) -> ApiGatewayV2httpResponse {
        if request.request_context.http.method != Method::POST {
            return response(405, &json!({"error": "POST alerts to this endpoint"}));
        }
        let body = match apigw::body(request) {
            Ok(bytes) => bytes,
            Err(e) => return response(400, &json!({"error": format!("body is not base64: {e}")})),
        };
        let result = self.webhook(&request.headers, &body, now).await;
        match result {
            Ok(alerts) => response(202, &json!({ "alerts": alerts })),
            Err(e) => {
                let status = e.status();
                if status >= 500 {
                    error!(error = %e, status, "notification not (completely) handled; Alertmanager retries");
                } else {
                    warn!(error = %e, status, "notification rejected");
                }
                let done: &[AlertReport] = match &e {
                    IngestError::Partial { done, .. } => done,
                    _ => &[],
                };
                response(status, &json!({"error": e.to_string(), "alerts": done}))
            }
        }
    }
}

/// A JSON response; a 503 also says when Alertmanager may try again.
fn response(status: u16, body: &Value) -> ApiGatewayV2httpResponse {
    let mut r = apigw::json_response(status, body);
    if status == 503 {
        r.headers
            .insert(http::header::RETRY_AFTER, HeaderValue::from_static("5"));
    }
    r
}
