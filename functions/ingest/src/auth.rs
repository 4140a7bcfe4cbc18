//! Who may post alerts: `Authorization: Bearer <token>` (Alertmanager, which cannot sign), or
//! `X-Selfheal-Signature: sha256=<hex>` with `X-Selfheal-Timestamp: <unix seconds>`: HMAC-SHA256
//! of `<timestamp>.<raw body>`, refused when older than five minutes, so a captured delivery
//! cannot be replayed later. Both are checked against one secret read from the secret source,
//! cached for a TTL, read again once when a request does not match (the secret may have rotated),
//! and kept in use for a bounded time when the source is down. An empty secret lets nothing in.
//! Comparisons are constant-time.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use http::HeaderMap;
use selfheal_aws::secrets::{SecretError, SecretSource};
use sha2::Sha256;
use tokio::sync::Mutex;

/// The header carrying an HMAC-SHA256 signature of the timestamp and the raw body.
pub const SIGNATURE_HEADER: &str = "x-selfheal-signature";
/// The header carrying the signing time (unix seconds), inside the signed material.
pub const TIMESTAMP_HEADER: &str = "x-selfheal-timestamp";
/// How old (or how far ahead) a signed delivery may be.
pub const SIGNATURE_WINDOW: chrono::TimeDelta = chrono::TimeDelta::minutes(5);
/// How long the last secret read keeps serving while the secret source cannot be reached.
pub const STALE_SECRET_LIMIT: Duration = Duration::from_secs(3600);

/// Why a request is not let in.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Neither a bearer token nor a signature with its timestamp.
    #[error(
        "missing credentials: send Authorization: Bearer <token>, or {SIGNATURE_HEADER} with {TIMESTAMP_HEADER}"
    )]
    Missing,
    /// A signature made outside the window around now: a replay, or a clock far off.
    #[error("the signature's timestamp is more than five minutes from now")]
    Expired,
    /// The configured secret is empty: every request is refused rather than any let in.
    #[error("the webhook secret is empty; nothing is accepted until it is set")]
    Unconfigured,
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
    /// The signature and the timestamp it signs with the body.
    Signature(Vec<u8>, i64),
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
    /// How long the cached secret keeps serving while the source is down.
    stale_limit: Duration,
    cache: Mutex<Option<Cached>>,
}

impl<K: SecretSource> WebhookAuth<K> {
    /// Checks against `source`, caching its value for `ttl`.
    pub fn new(source: K, ttl: Duration) -> Self {
        WebhookAuth {
            source,
            ttl,
            min_refresh: Duration::from_secs(10),
            stale_limit: STALE_SECRET_LIMIT,
            cache: Mutex::new(None),
        }
    }

    /// Lets the request in, or says why not.
    pub async fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), AuthError> {
        let presented = presented(headers).ok_or(AuthError::Missing)?;
        if let Presented::Signature(_, at) = presented {
            let signed = DateTime::from_timestamp(at, 0).ok_or(AuthError::Expired)?;
            if (now - signed).abs() > SIGNATURE_WINDOW {
                return Err(AuthError::Expired);
            }
        }
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

    /// The secret, and whether it was read from the source just now. An empty secret refuses.
    async fn secret(&self, refresh: bool) -> Result<(String, bool), AuthError> {
        let (secret, fresh) = self.read(refresh).await?;
        if secret.trim().is_empty() {
            return Err(AuthError::Unconfigured);
        }
        Ok((secret, fresh))
    }

    /// The cached secret, or the source's; the cached one while the source is down, up to
    /// [`STALE_SECRET_LIMIT`] after it was read.
    async fn read(&self, refresh: bool) -> Result<(String, bool), SecretError> {
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
        let value = match self.source.fetch().await {
            Ok(v) => v,
            Err(e) => match cache.as_ref() {
                Some(c) if now.duration_since(c.read_at) < self.stale_limit => {
                    tracing::warn!(error = %e, "secret source unreachable; using the cached secret");
                    return Ok((c.value.clone(), false));
                }
                _ => return Err(e),
            },
        };
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
    let at = headers
        .get(TIMESTAMP_HEADER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    hex::decode(hex_sig)
        .ok()
        .map(|s| Presented::Signature(s, at))
}

/// What is signed: the timestamp, a dot, the raw body.
fn signed_material(at: i64, body: &[u8]) -> Vec<u8> {
    let mut material = format!("{at}.").into_bytes();
    material.extend_from_slice(body);
    material
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
        Presented::Signature(sig, at) => mac(secret, &signed_material(*at, body))
            .verify_slice(sig)
            .is_ok(),
    }
}

/// The signature header value for `body` signed at `at` (for senders and tests); send it with
/// `at.timestamp()` in [`TIMESTAMP_HEADER`].
pub fn sign(secret: &str, at: DateTime<Utc>, body: &[u8]) -> String {
    let material = signed_material(at.timestamp(), body);
    format!(
        "sha256={}",
        hex::encode(mac(secret, &material).finalize().into_bytes())
    )
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex as StdMutex};

    use super::*;

    /// A source whose value can be rotated, counting reads; `down` makes it fail.
    #[derive(Clone, Default)]
    struct Rotating {
        value: Arc<StdMutex<String>>,
        reads: Arc<AtomicUsize>,
        down: Arc<std::sync::atomic::AtomicBool>,
    }

    impl SecretSource for Rotating {
        async fn fetch(&self) -> Result<String, SecretError> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            if self.down.load(Ordering::SeqCst) {
                return Err(SecretError::new("webhook", "Secrets Manager unreachable"));
            }
            Ok(self.value.lock().unwrap().clone())
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-05T03:30:00Z")
            .unwrap()
            .to_utc()
    }

    /// The headers of a delivery signed with `secret` at `at`.
    fn signed(secret: &str, at: DateTime<Utc>, body: &[u8]) -> HeaderMap {
        headers(&[
            (SIGNATURE_HEADER, &sign(secret, at, body)),
            (TIMESTAMP_HEADER, &at.timestamp().to_string()),
        ])
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
        auth.verify(&headers(&[("authorization", "Bearer s3cret")]), body, now())
            .await
            .unwrap();
        auth.verify(
            &headers(&[("authorization", "bearer  s3cret ")]),
            body,
            now(),
        )
        .await
        .unwrap();
        auth.verify(&signed("s3cret", now(), body), body, now())
            .await
            .unwrap();
        assert!(matches!(
            auth.verify(&headers(&[]), body, now()).await,
            Err(AuthError::Missing)
        ));
        assert!(matches!(
            auth.verify(
                &headers(&[("authorization", "Basic czNjcmV0")]),
                body,
                now()
            )
            .await,
            Err(AuthError::Missing)
        ));
        for bad in ["Bearer s3cre", "Bearer s3cret2", "Bearer "] {
            assert!(
                matches!(
                    auth.verify(&headers(&[("authorization", bad)]), body, now())
                        .await,
                    Err(AuthError::Invalid | AuthError::Missing)
                ),
                "{bad}"
            );
        }
        // A signature over other bytes does not let this body in.
        let other = signed("s3cret", now(), b"{}");
        assert!(matches!(
            auth.verify(&other, body, now()).await,
            Err(AuthError::Invalid)
        ));
        // A signature without its timestamp is no credential.
        let bare = headers(&[(SIGNATURE_HEADER, &sign("s3cret", now(), body))]);
        assert!(matches!(
            auth.verify(&bare, body, now()).await,
            Err(AuthError::Missing)
        ));
    }

    #[tokio::test]
    async fn a_rotated_secret_is_read_again_once_and_not_on_every_mismatch() {
        let source = Rotating::default();
        *source.value.lock().unwrap() = "old".into();
        let mut auth = WebhookAuth::new(source.clone(), Duration::from_secs(300));
        auth.min_refresh = Duration::ZERO;
        auth.verify(&headers(&[("authorization", "Bearer old")]), b"", now())
            .await
            .unwrap();
        assert_eq!(source.reads.load(Ordering::SeqCst), 1);
        *source.value.lock().unwrap() = "new".into();
        // Cached "old" does not match "new": one more read, then it does.
        auth.verify(&headers(&[("authorization", "Bearer new")]), b"", now())
            .await
            .unwrap();
        assert_eq!(source.reads.load(Ordering::SeqCst), 2);
        auth.verify(&headers(&[("authorization", "Bearer new")]), b"", now())
            .await
            .unwrap();
        assert_eq!(source.reads.load(Ordering::SeqCst), 2);
        // With the rate limit in place, a burst of wrong tokens reads the source at most once.
        auth.min_refresh = Duration::from_secs(60);
        for _ in 0..5 {
            assert!(
                auth.verify(&headers(&[("authorization", "Bearer wrong")]), b"", now())
                    .await
                    .is_err()
            );
        }
        assert_eq!(source.reads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_signed_delivery_is_good_for_five_minutes_and_its_timestamp_is_signed() {
        let source = Rotating::default();
        *source.value.lock().unwrap() = "s3cret".into();
        let auth = WebhookAuth::new(source, Duration::from_secs(300));
        let body = br#"{"version":"4"}"#;
        let at = now() - chrono::TimeDelta::minutes(4);
        auth.verify(&signed("s3cret", at, body), body, now())
            .await
            .unwrap();
        let replayed = now() - chrono::TimeDelta::minutes(6);
        assert!(matches!(
            auth.verify(&signed("s3cret", replayed, body), body, now())
                .await,
            Err(AuthError::Expired)
        ));
        // Moving the timestamp forward breaks the signature: it is part of what was signed.
        let mut moved = signed("s3cret", replayed, body);
        moved.insert(
            TIMESTAMP_HEADER,
            now().timestamp().to_string().parse().unwrap(),
        );
        assert!(matches!(
            auth.verify(&moved, body, now()).await,
            Err(AuthError::Invalid)
        ));
    }

    #[tokio::test]
    async fn an_empty_secret_lets_nothing_in() {
        for empty in ["", "  \n"] {
            let source = Rotating::default();
            *source.value.lock().unwrap() = empty.into();
            let auth = WebhookAuth::new(source, Duration::from_secs(300));
            let body = b"{}";
            // The HMAC anyone can compute with an empty key, and an empty bearer token.
            for h in [
                signed(empty, now(), body),
                headers(&[("authorization", "Bearer  ")]),
                headers(&[("authorization", "Bearer x")]),
            ] {
                let err = auth.verify(&h, body, now()).await.unwrap_err();
                assert!(
                    matches!(err, AuthError::Unconfigured | AuthError::Missing),
                    "{err}"
                );
            }
        }
    }

    #[tokio::test]
    async fn the_cached_secret_serves_while_the_source_is_down_for_a_bounded_time() {
        let source = Rotating::default();
        *source.value.lock().unwrap() = "s3cret".into();
        let mut auth = WebhookAuth::new(source.clone(), Duration::ZERO);
        let ok = headers(&[("authorization", "Bearer s3cret")]);
        auth.verify(&ok, b"", now()).await.unwrap();
        source.down.store(true, Ordering::SeqCst);
        // The TTL is over, the source fails: the last value read keeps serving.
        auth.verify(&ok, b"", now()).await.unwrap();
        assert!(
            source.reads.load(Ordering::SeqCst) >= 2,
            "it did try the source"
        );
        // Past the limit it does not: the source's error is the answer (503, retried).
        auth.stale_limit = Duration::ZERO;
        assert!(matches!(
            auth.verify(&ok, b"", now()).await,
            Err(AuthError::Secret(_))
        ));
    }
}
