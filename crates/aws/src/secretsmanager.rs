//! [`SecretSource`] on AWS Secrets Manager.

use aws_sdk_secretsmanager::Client;

use crate::secrets::{SecretError, SecretSource};

/// One secret in Secrets Manager (its `SecretString`, current version).
#[derive(Debug, Clone)]
pub struct ManagedSecret {
    client: Client,
    id: String,
}

impl ManagedSecret {
    /// The secret `id` (name or ARN).
    pub fn new(config: &aws_config::SdkConfig, id: impl Into<String>) -> Self {
        ManagedSecret {
            client: Client::new(config),
            id: id.into(),
        }
    }
}

impl SecretSource for ManagedSecret {
    async fn fetch(&self) -> Result<String, SecretError> {
        let out = self
            .client
            .get_secret_value()
            .secret_id(&self.id)
            .send()
            .await
            .map_err(|e| SecretError::new(&self.id, e))?;
        out.secret_string
            .ok_or_else(|| SecretError::new(&self.id, "the secret has no SecretString"))
    }
}
