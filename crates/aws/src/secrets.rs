//! The secret port: one secret string (a webhook token, a signing secret, an API key).

use std::future::Future;

/// The secret could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("reading secret {id}: {message}")]
pub struct SecretError {
    /// Which secret.
    pub id: String,
    /// What went wrong.
    pub message: String,
}

/// Reads the current value of one secret. Callers cache it; every call goes to the source.
pub trait SecretSource: Send + Sync {
    /// The current value.
    fn fetch(&self) -> impl Future<Output = Result<String, SecretError>> + Send;
}

/// A secret given in configuration (the local lab, tests).
#[derive(Debug, Clone)]
pub struct StaticSecret(pub String);

impl SecretSource for StaticSecret {
    async fn fetch(&self) -> Result<String, SecretError> {
        Ok(self.0.clone())
    }
}
