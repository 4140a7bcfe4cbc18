//! Who may post alerts: `Authorization: Bearer <token>` or `X-Selfheal-Signature: sha256=<hex>`
//! (HMAC-SHA256 of the raw body), both against one secret read from the secret source, cached
//! for a TTL and read again once when a request does not match (the secret may have rotated).
//! Comparisons are constant-time.

use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use http::HeaderMap;
use selfheal_aws::secrets::{SecretError, SecretSource};
use sha2::Sha256;
use tokio::sync::Mutex;

/// The header carrying an HMAC-SHA256 signature of the raw body.
pub const SIGNATURE_HEADER: &str = "x-selfheal-signature";

/// Why a request is not let in.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Neither a bearer token nor a signature.
    #[error("missing credentials: send Authorization: Bearer <token> or {SIGNATURE_HEADER}")]
    Missing,
    /// A credential that does not match the secret.
    #[error("invalid credentials")]
    Invalid,
    /// The secret itself could not be read: not the caller's fault, so not a 401.
    #[error(transparent)]
    Secret(#[from] SecretError),
}

/// A credential presented by a request.
enum Presented<'a> {
    Bearer(&'a [u8]),
    Signature(Vec<u8>),
}

struct Cached {
    value: String,
    read_at: Instant,
}

/// Checks requests against a secret, with a cache in front of its source.
pub struct WebhookAuth<K> {
    source: K,
    ttl: Duration,
    /// A mismatch re-reads the secret at most this often, so wrong tokens cannot hammer the
    /// source.
    min_refresh: Duration,
    cache: Mutex<Option<Cached>>,
}

impl<K: SecretSource> WebhookAuth<K> {
    /// Checks against `source`, caching its value for `ttl`.
    pub fn new(source: K, ttl: Duration) -> Self {
        WebhookAuth {
            source,
            ttl,
            min_refresh: Duration::from_secs(10),
            cache: Mutex::new(None),
        }
    }

    /// Lets the request in, or says why not.
    pub async fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<(), AuthError> {
        let presented = presented(headers).ok_or(AuthError::Missing)?;
        let (secret, fresh) = self.secret(false).await?;
        if matches(&presented, &secret, body) {
            return Ok(());
        }
        if fresh {
            return Err(AuthError::Invalid);
        }
        // The secret may have been rotated since it was cached: read it once more.
        let (secret, refreshed) = self.secret(true).await?;
        if refreshed && matches(&presented, &secret, body) {
            return Ok(());
        }
        Err(AuthError::Invalid)
    }

    /// The secret, and whether it was read from the source just now.
    async fn secret(&self, refresh: bool) -> Result<(String, bool), SecretError> {
        let mut cache = self.cache.lock().await;
        let now = Instant::now();
        if let Some(c) = cache.as_ref() {
            let age = now.duration_since(c.read_at);
            let keep = if refresh {
                age < self.min_refresh
            } else {
                age < self.ttl
            };
            if keep {
                return Ok((c.value.clone(), false));
            }
        }
        let value = self.source.fetch().await?;
        *cache = Some(Cached {
            value: value.clone(),
            read_at: now,
        });
        Ok((value, true))
    }
}

fn presented(headers: &HeaderMap) -> Option<Presented<'_>> {
    if let Some(auth) = headers.get(http::header::AUTHORIZATION) {
        let auth = auth.as_bytes();
        let scheme = b"bearer ";
        if auth.len() > scheme.len() && auth[..scheme.len()].eq_ignore_ascii_case(scheme) {
            return Some(Presented::Bearer(auth[scheme.len()..].trim_ascii()));
        }
    }
    let sig = headers.get(SIGNATURE_HEADER)?.to_str().ok()?;
    let hex_sig = sig.trim().strip_prefix("sha256=")?;
    hex::decode(hex_sig).ok().map(Presented::Signature)
}

fn mac(key: &str, message: &[u8]) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(message);
    mac
}

/// Constant-time: both sides become HMAC tags of equal length before they are compared.
fn matches(presented: &Presented<'_>, secret: &str, body: &[u8]) -> bool {
    match presented {
        Presented::Bearer(token) => {
            let expected = mac(secret, secret.as_bytes()).finalize().into_bytes();
            mac(secret, token).verify_slice(&expected).is_ok()
        }
        Presented::Signature(sig) => mac(secret, body).verify_slice(sig).is_ok(),
    }
}

/// The signature header value for `body` (for senders and tests).
pub fn sign(secret: &str, body: &[u8]) -> String {
    format!(
        "sha256={}",
        hex::encode(mac(secret, body).finalize().into_bytes())
    )
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex as StdMutex};

    use super::*;

    /// A source whose value can be rotated, counting reads.
    #[derive(Clone, Default)]
    struct Rotating {
        value: Arc<StdMutex<String>>,
        reads: Arc<AtomicUsize>,
    }

    impl SecretSource for Rotating {
        async fn fetch(&self) -> Result<String, SecretError> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            Ok(self.value.lock().unwrap().clone())
        }
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[tokio::test]
    async fn bearer_and_signature_are_checked() {
        let source = Rotating::default();
        *source.value.lock().unwrap() = "s3cret".into();
        let auth = WebhookAuth::new(source.clone(), Duration::from_secs(300));
        let body = br#"{"version":"4"}"#;
        auth.verify(&headers(&[("authorization", "Bearer s3cret")]), body)
            .await
            .unwrap();
        auth.verify(&headers(&[("authorization", "bearer  s3cret ")]), body)
            .await
            .unwrap();
        auth.verify(&headers(&[(SIGNATURE_HEADER, &sign("s3cret", body))]), body)
            .await
            .unwrap();
        assert!(matches!(
            auth.verify(&headers(&[]), body).await,
            Err(AuthError::Missing)
        ));
        assert!(matches!(
            auth.verify(&headers(&[("authorization", "Basic czNjcmV0")]), body)
                .await,
            Err(AuthError::Missing)
        ));
        for bad in ["Bearer s3cre", "Bearer s3cret2", "Bearer "] {
            assert!(
                matches!(
                    auth.verify(&headers(&[("authorization", bad)]), body).await,
                    Err(AuthError::Invalid | AuthError::Missing)
                ),
                "{bad}"
            );
        }
        // A signature over other bytes does not let this body in.
        let other = sign("s3cret", b"{}");
        assert!(matches!(
            auth.verify(&headers(&[(SIGNATURE_HEADER, &other)]), body)
                .await,
            Err(AuthError::Invalid)
        ));
    }

    #[tokio::test]
    async fn a_rotated_secret_is_read_again_once_and_not_on_every_mismatch() {
        let source = Rotating::default();
        *source.value.lock().unwrap() = "old".into();
        let mut auth = WebhookAuth::new(source.clone(), Duration::from_secs(300));
        auth.min_refresh = Duration::ZERO;
        auth.verify(&headers(&[("authorization", "Bearer old")]), b"")
            .await
            .unwrap();
        assert_eq!(source.reads.load(Ordering::SeqCst), 1);
        *source.value.lock().unwrap() = "new".into();
        // Cached "old" does not match "new": one more read, then it does.
        auth.verify(&headers(&[("authorization", "Bearer new")]), b"")
            .await
            .unwrap();
        assert_eq!(source.reads.load(Ordering::SeqCst), 2);
        auth.verify(&headers(&[("authorization", "Bearer new")]), b"")
            .await
            .unwrap();
        assert_eq!(source.reads.load(Ordering::SeqCst), 2);
        // With the rate limit in place, a burst of wrong tokens reads the source at most once.
        auth.min_refresh = Duration::from_secs(60);
        for _ in 0..5 {
            assert!(
                auth.verify(&headers(&[("authorization", "Bearer wrong")]), b"")
                    .await
                    .is_err()
            );
        }
        assert_eq!(source.reads.load(Ordering::SeqCst), 2);
    }
}
