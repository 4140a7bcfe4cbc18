//! The API Gateway HTTP API (payload format 2.0) edge that the HTTP-facing functions (ingest,
//! approval) share: the raw body of a request and a JSON response.

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::{HeaderValue, header};
use base64::Engine;
use serde_json::Value;

/// The request body as sent: API Gateway base64-encodes bodies it does not take for text.
pub fn body(request: &ApiGatewayV2httpRequest) -> Result<Vec<u8>, base64::DecodeError> {
    match (&request.body, request.is_base64_encoded) {
        (None, _) => Ok(Vec::new()),
        (Some(b), false) => Ok(b.clone().into_bytes()),
        (Some(b), true) => base64::engine::general_purpose::STANDARD.decode(b),
    }
}

/// A response with `body` as JSON.
pub fn json_response(status: u16, body: &Value) -> ApiGatewayV2httpResponse {
    let mut r = ApiGatewayV2httpResponse::default();
    r.status_code = status.into();
    r.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r.body = Some(Body::Text(body.to_string()));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_come_back_as_sent() {
        let mut r = ApiGatewayV2httpRequest::default();
        assert_eq!(body(&r).unwrap(), b"");
        r.body = Some("{\"a\":1}".into());
        assert_eq!(body(&r).unwrap(), b"{\"a\":1}");
        r.body = Some("AP8=".into());
        r.is_base64_encoded = true;
        assert_eq!(body(&r).unwrap(), [0x00, 0xff]);
        r.body = Some("not base64!".into());
        assert!(body(&r).is_err());
        let resp = json_response(202, &serde_json::json!({"ok": true}));
        assert_eq!(resp.status_code, 202);
        assert_eq!(resp.headers["content-type"], "application/json");
    }
}
