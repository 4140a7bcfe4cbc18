//! The EKS bearer token, made as aws-iam-authenticator makes it: a GET of STS
//! GetCallerIdentity, presigned with SigV4 in the query string, with the cluster name in the
//! signed `x-k8s-aws-id` header; base64url without padding, prefixed `k8s-aws-v1.`. The API
//! server replays the request to STS to learn who is calling. No `aws eks get-token` subprocess.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use thiserror::Error;

/// The header naming the cluster; signed so a token for one cluster is useless for another.
pub const CLUSTER_HEADER: &str = "x-k8s-aws-id";
const PREFIX: &str = "k8s-aws-v1.";
/// What aws-iam-authenticator puts in X-Amz-Expires.
const PRESIGN_EXPIRY: Duration = Duration::from_secs(60);
/// The API server accepts a token for 15 minutes from signing; refresh a minute before.
pub const REFRESH_AFTER: Duration = Duration::from_secs(14 * 60);

/// A token and when to stop using it.
#[derive(Clone, PartialEq, Eq)]
pub struct EksToken {
    /// `k8s-aws-v1.<base64url(presigned URL)>`, the bearer token.
    pub token: String,
    /// Refresh at or after this time.
    pub refresh_at: SystemTime,
}

impl std::fmt::Debug for EksToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token is a credential: never in logs.
        f.debug_struct("EksToken")
            .field("token", &"<redacted>")
            .field("refresh_at", &self.refresh_at)
            .finish()
    }
}

impl EksToken {
    /// Whether the token should be replaced at `now`.
    pub fn needs_refresh(&self, now: SystemTime) -> bool {
        now >= self.refresh_at
    }
}

/// Why a token could not be made.
#[derive(Debug, Error)]
pub enum TokenError {
    /// The region or cluster cannot form a valid STS request.
    #[error("invalid token request: {0}")]
    Request(String),
    /// SigV4 signing failed.
    #[error("signing the STS request failed: {0}")]
    Signing(String),
}

/// The regional STS endpoint's presigned GetCallerIdentity URL for `cluster`.
pub fn presigned_url(
    cluster: &str,
    region: &str,
    credentials: &Credentials,
    now: SystemTime,
) -> Result<String, TokenError> {
    if cluster.is_empty()
        || region.is_empty()
        || !region
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(TokenError::Request(format!(
            "cluster {cluster:?} / region {region:?}"
        )));
    }
    let host = format!("sts.{region}.amazonaws.com");
    let url = format!("https://{host}/?Action=GetCallerIdentity&Version=2011-06-15");
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(PRESIGN_EXPIRY);
    let identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("sts")
        .time(now)
        .settings(settings)
        .build()
        .map_err(|e| TokenError::Signing(e.to_string()))?
        .into();
    let headers = [("host", host.as_str()), (CLUSTER_HEADER, cluster)];
    let signable = SignableRequest::new(
        "GET",
        url.as_str(),
        headers.into_iter(),
        SignableBody::Bytes(&[]),
    )
    .map_err(|e| TokenError::Signing(e.to_string()))?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| TokenError::Signing(e.to_string()))?
        .into_parts();
    let mut request = http::Request::get(&url)
        .body(())
        .map_err(|e| TokenError::Request(e.to_string()))?;
    instructions.apply_to_request_http1x(&mut request);
    Ok(request.uri().to_string())
}

/// The bearer token for `cluster`, signed at `now` with `credentials`.
pub fn presign_token(
    cluster: &str,
    region: &str,
    credentials: &Credentials,
    now: SystemTime,
) -> Result<EksToken, TokenError> {
    let url = presigned_url(cluster, region, credentials, now)?;
    Ok(EksToken {
        token: format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(url)),
        refresh_at: now + REFRESH_AFTER,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> Credentials {
        Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            None,
            None,
            "test",
        )
    }

    /// 2026-11-25T21:30:00Z
    fn t0() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_642_200)
    }

    fn query(url: &str) -> Vec<(String, String)> {
        let q = url.split_once('?').unwrap().1;
        q.split('&')
            .map(|kv| {
                kv.split_once('=')
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .unwrap()
            })
            .collect()
    }

    fn param<'a>(q: &'a [(String, String)], key: &str) -> &'a str {
        q.iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap()
    }

    #[test]
    fn the_url_is_a_regional_presigned_get_caller_identity() {
        let url = presigned_url("prod-eu", "eu-west-1", &creds(), t0()).unwrap();
        assert!(
            url.starts_with(
                "https://sts.eu-west-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&"
            ),
            "{url}"
        );
        let q = query(&url);
        assert_eq!(param(&q, "X-Amz-Algorithm"), "AWS4-HMAC-SHA256");
        assert_eq!(
            param(&q, "X-Amz-Credential"),
            "AKIDEXAMPLE%2F20261125%2Feu-west-1%2Fsts%2Faws4_request"
        );
        assert_eq!(param(&q, "X-Amz-Date"), "20261125T213000Z");
        assert_eq!(param(&q, "X-Amz-Expires"), "60");
        assert_eq!(
            param(&q, "X-Amz-SignedHeaders"),
            "host%3Bx-k8s-aws-id",
            "the cluster name is signed"
        );
        let sig = param(&q, "X-Amz-Signature");
        assert_eq!(sig.len(), 64);
        assert!(sig.chars().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn the_signature_matches_an_independent_sigv4_implementation() {
        // Cross-checked with botocore's SigV4QueryAuth (same credentials, time, headers).
        let url = presigned_url("prod-eu", "eu-west-1", &creds(), t0()).unwrap();
        assert_eq!(param(&query(&url), "X-Amz-Signature"), GOLDEN_SIGNATURE);
    }

    const GOLDEN_SIGNATURE: &str =
        "32baea2f3cbada492a05a53c0e8e37b044128159fc8eef8d18e720326bc030a8";

    #[test]
    fn the_token_decodes_to_the_url_and_names_the_cluster_in_its_signature_scope() {
        let token = presign_token("prod-eu", "eu-west-1", &creds(), t0()).unwrap();
        let encoded = token.token.strip_prefix("k8s-aws-v1.").unwrap();
        assert!(
            !encoded.contains('=') && !encoded.contains('+') && !encoded.contains('/'),
            "base64url, no padding"
        );
        let url = String::from_utf8(URL_SAFE_NO_PAD.decode(encoded).unwrap()).unwrap();
        assert_eq!(
            url,
            presigned_url("prod-eu", "eu-west-1", &creds(), t0()).unwrap()
        );
        let other = presign_token("staging", "eu-west-1", &creds(), t0()).unwrap();
        assert_ne!(
            token.token, other.token,
            "another cluster gives another signature"
        );
        assert!(
            !format!("{token:?}").contains("k8s-aws-v1"),
            "Debug never shows the token"
        );
    }

    #[test]
    fn tokens_are_refreshed_after_fourteen_minutes() {
        let token = presign_token("prod-eu", "eu-west-1", &creds(), t0()).unwrap();
        assert!(!token.needs_refresh(t0() + Duration::from_secs(13 * 60 + 59)));
        assert!(token.needs_refresh(t0() + Duration::from_secs(14 * 60)));
    }

    #[test]
    fn bad_regions_are_refused() {
        assert!(presigned_url("prod", "eu-west-1/../x", &creds(), t0()).is_err());
        assert!(presigned_url("", "eu-west-1", &creds(), t0()).is_err());
    }
}
