//! Reading incident records back: the operator's tools and the tests, never a Lambda.

use aws_sdk_s3::error::SdkError;
use serde_json::Value;

use super::S3Archive;
use crate::store::StoreError;

impl S3Archive {
    /// The object under `key`, if any.
    pub async fn get(&self, key: &str) -> Result<Option<Value>, StoreError> {
        match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => {
                let bytes = out
                    .body
                    .collect()
                    .await
                    .map_err(StoreError::unavailable)?
                    .into_bytes();
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|e| StoreError::corrupt("record", e))
            }
            Err(SdkError::ServiceError(e)) if e.err().is_no_such_key() => Ok(None),
            Err(e) => Err(StoreError::unavailable(e)),
        }
    }
}
