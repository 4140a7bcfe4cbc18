//! LLM providers behind one trait: the Anthropic Messages API, OpenAI-compatible Chat
//! Completions (OpenAI, and the servers that speak it: Ollama, vLLM, llama.cpp) and Amazon
//! Bedrock Converse (SigV4-signed with the function's role). Every request sets max_tokens and
//! a timeout. The providers only move text; what is asked and what is accepted is `analyst`'s.

use std::future::Future;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use serde_json::{Value, json};

/// What is sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Prompt {
    /// The instructions.
    pub system: String,
    /// The evidence and the question.
    pub user: String,
    /// The answer's token limit, always sent.
    pub max_tokens: u32,
}

/// What came back.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// The answer's text.
    pub text: String,
    /// Tokens the provider counted in the prompt.
    pub input_tokens: u64,
    /// Tokens it generated.
    pub output_tokens: u64,
}

/// The provider did not answer usefully.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// No answer within the timeout.
    #[error("timed out")]
    Timeout,
    /// The request failed on the way.
    #[error("request: {0}")]
    Http(String),
    /// The provider answered with an error status.
    #[error("HTTP {status}: {body}")]
    Status {
        /// The status code.
        status: u16,
        /// The start of the body.
        body: String,
    },
    /// The answer is not the provider's documented shape.
    #[error("unexpected answer: {0}")]
    Shape(String),
    /// The request could not be signed.
    #[error("signing: {0}")]
    Signing(String),
}

/// A chat model.
pub trait Provider: Send + Sync {
    /// `anthropic:<model>`, `openai:<model>`, `bedrock:<model>`.
    fn name(&self) -> String;
    /// One completion.
    fn complete(
        &self,
        prompt: &Prompt,
    ) -> impl Future<Output = Result<Completion, LlmError>> + Send;
}

selfheal_core::spelled_enum!(
    /// Which wire format, and where.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Kind {
        /// `POST {base}/v1/messages`, `x-api-key`.
        Anthropic = "anthropic",
        /// `POST {base}/chat/completions`, `Authorization: Bearer` (base ends in `/v1`).
        Openai = "openai",
        /// `POST {base}/model/{model}/converse`, SigV4 for service `bedrock`.
        Bedrock = "bedrock",
    }
);

/// What picks and reaches a model, wherever it comes from: the analyzer Lambda reads it from its
/// environment, `selfheal analyze` from its flags; both build the provider with [`Self::build`].
#[derive(Debug, Clone)]
pub struct LlmSettings {
    /// The wire format.
    pub kind: Kind,
    /// The model id.
    pub model: String,
    /// A local server's or a proxy's base URL; the vendor's when `None`.
    pub base_url: Option<String>,
    /// The API key (Anthropic, OpenAI-compatible).
    pub api_key: Option<String>,
    /// Bedrock's region (and its default endpoint's).
    pub region: String,
    /// The whole request's time limit.
    pub timeout: Duration,
}

impl LlmSettings {
    /// The provider. Bedrock signs with the environment's credentials (the function's role), so
    /// it fails when they are missing.
    pub fn build(self) -> Result<Llm, selfheal_eks::AccessError> {
        let base = self
            .base_url
            .unwrap_or_else(|| Llm::default_base_url(&self.kind, &self.region));
        let mut llm = Llm::new(self.kind, base, self.model).with_timeout(self.timeout);
        if let Some(key) = self.api_key {
            llm = llm.with_api_key(key);
        }
        if self.kind == Kind::Bedrock {
            let credentials = selfheal_eks::cluster::aws::EnvCredentials::read()?;
            llm = llm.with_credentials(credentials, self.region);
        }
        Ok(llm)
    }
}

/// One configured provider.
#[derive(Debug, Clone)]
pub struct Llm {
    kind: Kind,
    base_url: String,
    model: String,
    /// The API key (Anthropic, OpenAI); Bedrock signs with `credentials`.
    api_key: Option<String>,
    credentials: Option<(Credentials, String)>,
    http: reqwest::Client,
    timeout: Duration,
}

impl Llm {
    /// A provider of `kind` at `base_url` (the vendor's, or a local server's) for `model`.
    pub fn new(kind: Kind, base_url: impl Into<String>, model: impl Into<String>) -> Self {
        Llm {
            kind,
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            model: model.into(),
            api_key: None,
            credentials: None,
            http: reqwest::Client::new(),
            timeout: Duration::from_secs(30),
        }
    }

    /// The API key for Anthropic and OpenAI-compatible servers (none for a local Ollama).
    pub fn with_api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// The role credentials and region Bedrock requests are signed with.
    pub fn with_credentials(mut self, credentials: Credentials, region: impl Into<String>) -> Self {
        self.credentials = Some((credentials, region.into()));
        self
    }

    /// The whole request's time limit.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The vendor's endpoint for `kind` (Bedrock's in `region`).
    pub fn default_base_url(kind: &Kind, region: &str) -> String {
        match kind {
            Kind::Anthropic => "https://api.anthropic.com".into(),
            Kind::Openai => "https://api.openai.com/v1".into(),
            Kind::Bedrock => format!("https://bedrock-runtime.{region}.amazonaws.com"),
        }
    }

    /// The URL, headers and body of the provider's request.
    fn request(&self, prompt: &Prompt) -> (String, Vec<(String, String)>, Value) {
        let key = || self.api_key.clone().unwrap_or_default();
        match self.kind {
            Kind::Anthropic => (
                format!("{}/v1/messages", self.base_url),
                vec![
                    ("x-api-key".into(), key()),
                    ("anthropic-version".into(), "2023-06-01".into()),
                ],
                json!({
                    "model": self.model,
                    "max_tokens": prompt.max_tokens,
                    "temperature": 0,
                    "system": prompt.system,
                    "messages": [{"role": "user", "content": prompt.user}],
                }),
            ),
            Kind::Openai => (
                format!("{}/chat/completions", self.base_url),
                self.api_key
                    .iter()
                    .map(|k| ("authorization".into(), format!("Bearer {k}")))
                    .collect(),
                json!({
                    "model": self.model,
                    // `max_tokens` is what Ollama, vLLM and llama.cpp read.
                    "max_tokens": prompt.max_tokens,
                    "temperature": 0,
                    "response_format": {"type": "json_object"},
                    "messages": [
                        {"role": "system", "content": prompt.system},
                        {"role": "user", "content": prompt.user},
                    ],
                }),
            ),
            Kind::Bedrock => (
                // Model ids carry a colon (`...-v1:0`), which the path must escape.
                format!(
                    "{}/model/{}/converse",
                    self.base_url,
                    self.model.replace(':', "%3A")
                ),
                vec![],
                json!({
                    "system": [{"text": prompt.system}],
                    "messages": [{"role": "user", "content": [{"text": prompt.user}]}],
                    "inferenceConfig": {"maxTokens": prompt.max_tokens, "temperature": 0},
                }),
            ),
        }
    }

    fn parse(&self, answer: &Value) -> Result<Completion, LlmError> {
        let shape = || LlmError::Shape(truncate(&answer.to_string(), 300));
        let (text, input, output) = match self.kind {
            Kind::Anthropic => (
                answer["content"]
                    .as_array()
                    .ok_or_else(shape)?
                    .iter()
                    .filter(|b| b["type"] == "text")
                    .filter_map(|b| b["text"].as_str())
                    .collect::<String>(),
                &answer["usage"]["input_tokens"],
                &answer["usage"]["output_tokens"],
            ),
            Kind::Openai => (
                answer["choices"][0]["message"]["content"]
                    .as_str()
                    .ok_or_else(shape)?
                    .to_owned(),
                &answer["usage"]["prompt_tokens"],
                &answer["usage"]["completion_tokens"],
            ),
            Kind::Bedrock => (
                answer["output"]["message"]["content"]
                    .as_array()
                    .ok_or_else(shape)?
                    .iter()
                    .filter_map(|b| b["text"].as_str())
                    .collect::<String>(),
                &answer["usage"]["inputTokens"],
                &answer["usage"]["outputTokens"],
            ),
        };
        Ok(Completion {
            text,
            input_tokens: input.as_u64().unwrap_or(0),
            output_tokens: output.as_u64().unwrap_or(0),
        })
    }
}

impl Provider for Llm {
    fn name(&self) -> String {
        let kind = match self.kind {
            Kind::Anthropic => "anthropic",
            Kind::Openai => "openai",
            Kind::Bedrock => "bedrock",
        };
        format!("{kind}:{}", self.model)
    }

    async fn complete(&self, prompt: &Prompt) -> Result<Completion, LlmError> {
        let (url, mut headers, body) = self.request(prompt);
        let body = serde_json::to_vec(&body).map_err(|e| LlmError::Http(e.to_string()))?;
        if self.kind == Kind::Bedrock {
            let (credentials, region) = self
                .credentials
                .as_ref()
                .ok_or_else(|| LlmError::Signing("no credentials".into()))?;
            headers.extend(bedrock_signature(
                &url,
                &body,
                credentials,
                region,
                SystemTime::now(),
            )?);
        }
        let mut request = self
            .http
            .post(&url)
            .timeout(self.timeout)
            .header("content-type", "application/json");
        for (k, v) in headers {
            request = request.header(k, v);
        }
        let response = request.body(body).send().await.map_err(|e| {
            if e.is_timeout() {
                LlmError::Timeout
            } else {
                LlmError::Http(e.to_string())
            }
        })?;
        let status = response.status();
        let text = response.text().await.map_err(|e| {
            if e.is_timeout() {
                LlmError::Timeout
            } else {
                LlmError::Http(e.to_string())
            }
        })?;
        if !status.is_success() {
            return Err(LlmError::Status {
                status: status.as_u16(),
                body: truncate(&text, 300),
            });
        }
        let answer: Value =
            serde_json::from_str(&text).map_err(|_| LlmError::Shape(truncate(&text, 300)))?;
        self.parse(&answer)
    }
}

/// The SigV4 headers (`authorization`, `x-amz-date`, and `x-amz-security-token` with a
/// session) for a Bedrock Runtime POST of `body` to `url`, signed at `time`.
pub fn bedrock_signature(
    url: &str,
    body: &[u8],
    credentials: &Credentials,
    region: &str,
    time: SystemTime,
) -> Result<Vec<(String, String)>, LlmError> {
    let identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("bedrock")
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| LlmError::Signing(e.to_string()))?
        .into();
    let host = url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_default();
    let headers = [("host", host), ("content-type", "application/json")];
    let signable =
        SignableRequest::new("POST", url, headers.into_iter(), SignableBody::Bytes(body))
            .map_err(|e| LlmError::Signing(e.to_string()))?;
    let (instructions, _) = sign(signable, &params)
        .map_err(|e| LlmError::Signing(e.to_string()))?
        .into_parts();
    Ok(instructions
        .headers()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect())
}

fn truncate(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn bedrock_requests_are_signed_as_botocore_signs_them() {
        // Expected from botocore's SigV4Auth("bedrock", "us-east-1") on the same request, with
        // its clock set to 2026-11-25T21:30:00Z.
        let url = "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse";
        let credentials = Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            None,
            None,
            "test",
        );
        let at = UNIX_EPOCH + Duration::from_secs(1_795_642_200);
        let headers =
            bedrock_signature(url, br#"{"messages":[]}"#, &credentials, "us-east-1", at).unwrap();
        let get = |k: &str| {
            headers
                .iter()
                .find(|(h, _)| h == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("x-amz-date"), Some("20261125T213000Z"));
        assert_eq!(
            get("authorization"),
            Some(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261125/us-east-1/bedrock/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=93c94cbf89dfa5926dbafd0909bffe0743738821614e286d7bc2ecd7ce34fccf"
            )
        );
    }

    #[test]
    fn the_model_id_colon_is_escaped_in_the_path() {
        let llm = Llm::new(Kind::Bedrock, "https://b", "m-v1:0");
        let prompt = Prompt {
            system: "s".into(),
            user: "u".into(),
            max_tokens: 10,
        };
        assert_eq!(llm.request(&prompt).0, "https://b/model/m-v1%3A0/converse");
    }
}
