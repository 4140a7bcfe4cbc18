//! The secret port: one secret string (a webhook token, a signing secret, an API key).

use std::future::Future;

use crate::{BoxError, error_chain};

/// The secret could not be read.
#[derive(Debug, thiserror::Error)]
#[error("reading secret {id}: {message}")]
pub struct SecretError {
    /// Which secret.
    pub id: String,
    /// The error and its sources, for the log.
    pub message: String,
    /// The error itself.
    #[source]
    pub source: BoxError,
}

impl SecretError {
    /// Reading secret `id` failed because of `source`.
    pub fn new(id: impl Into<String>, source: impl Into<BoxError>) -> Self {
        let source = source.into();
        SecretError {
            id: id.into(),
            message: error_chain(source.as_ref()),
            source,
        }
    }
}

/// Reads the current value of one secret. Callers cache it; every call goes to the source.
pub trait SecretSource: Send + Sync {
    /// The current value.
    fn fetch(&self) -> impl Future<Output = Result<String, SecretError>> + Send;
}
