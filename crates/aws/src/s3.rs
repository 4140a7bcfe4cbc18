//! [`Archive`] on S3: one JSON object per incident, written once (`If-None-Match: *`). Reading
//! a record back is the operator's and the tests' ([`operator`], feature `operator`): the audit
//! function only writes.

use aws_sdk_s3::Client;
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::primitives::ByteStream;
use serde_json::Value;

use crate::audit::Archive;
use crate::store::StoreError;

#[cfg(feature = "operator")]
pub mod operator;

/// Incident records in one bucket.
#[derive(Debug, Clone)]
pub struct S3Archive {
    client: Client,
    bucket: String,
}

impl S3Archive {
    /// Records in `bucket`. Path-style addressing, so moto and S3 alike.
    pub fn new(config: &aws_config::SdkConfig, bucket: impl Into<String>) -> Self {
        let conf = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(true)
            .build();
        S3Archive {
            client: Client::from_conf(conf),
            bucket: bucket.into(),
        }
    }
}

impl Archive for S3Archive {
    async fn put_once(&self, key: &str, body: &Value) -> Result<bool, StoreError> {
        let bytes =
            serde_json::to_vec_pretty(body).map_err(|e| StoreError::corrupt("record", e))?;
        let result = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type("application/json")
            .if_none_match("*")
            .body(ByteStream::from(bytes))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            // 412: a record is there already (a retried close).
            Err(SdkError::ServiceError(e)) if e.raw().status().as_u16() == 412 => Ok(false),
            Err(e) => Err(StoreError::unavailable(e)),
        }
    }
}
