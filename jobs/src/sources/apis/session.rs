//! The token step: an API that wants a short-lived access token before it is searched
//! (Reddit's OAuth client credentials, a Bluesky app-password session) has a [`Session`] —
//! the token request to make for the source's secret, and the reader of its answer (the token
//! and how long it lives). The poll and the preview make the exchange ([`exchange`]) and send
//! the token as `Authorization: Bearer`; like a dialect, a session never does I/O.
//!
//! Tokens are cached per process ([`Tokens`], moka) by source id and a digest of the sealed
//! secret (a new secret is a new key), each until a minute before it expires. A 401 from the
//! API drops the cached token and the poll exchanges once more before it fails. A refused
//! exchange (401 or 403 from the token endpoint) fails the poll permanently and is a 422 on
//! `secret` in a preview. Secrets and tokens only ever live in [`SecretString`]s, opened at
//! the moment a request is built: no log line, error, job result, answer or audit entry
//! holds them, and the cache key holds a digest of the sealed secret, not the secret.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use moka::{Expiry, future::Cache};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use sha2::{Digest, Sha256};
use url::Url;
use uuid::Uuid;

use super::poll::{Failure, send};
use crate::queue::JobError;

/// A token is dropped this long before it expires (a request in flight must not carry a token
/// that lapses on the way).
pub const EXPIRY_MARGIN: Duration = Duration::from_secs(60);

/// Largest token answer read.
const MAX_TOKEN_ANSWER: usize = 64 * 1024;

/// Tokens cached per process.
const CAPACITY: u64 = 10_000;

/// How an API's token is asked for and read.
pub trait Session: Sync {
    /// The token request for `secret` with the source's checked `settings` (the reason, when
    /// it cannot be built; never the secret).
    fn token_request(
        &self,
        settings: &Value,
        secret: &SecretString,
    ) -> Result<TokenRequest, String>;

    /// Reads the token endpoint's answer, received at `now` (the reason, when it holds no
    /// token; never the answer itself).
    fn token(&self, body: &[u8], now: DateTime<Utc>) -> Result<Token, String>;
}

/// A request for a token: a POST of `body` to `url`, with HTTP basic auth when `basic` is set.
#[derive(Debug)]
pub struct TokenRequest {
    /// Where to POST.
    pub url: Url,
    /// The user and password of HTTP basic auth.
    pub basic: Option<(String, SecretString)>,
    /// The body (it may hold the secret).
    pub body: SecretString,
    /// The body's `Content-Type`.
    pub content_type: &'static str,
}

/// An access token and how long it lives.
#[derive(Debug, Clone)]
pub struct Token {
    /// The bearer of the API's requests.
    pub access: SecretString,
    /// How long it lives from when it was received.
    pub lifetime: Duration,
}

/// What a cached token belongs to: a source and its sealed secret (as a digest).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TokenKey {
    source_id: Uuid,
    secret: [u8; 32],
}

impl TokenKey {
    /// The key of the source `source_id` with the secret `sealed` as stored.
    pub fn new(source_id: Uuid, sealed: &str) -> Self {
        Self {
            source_id,
            secret: Sha256::digest(sealed.as_bytes()).into(),
        }
    }
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKey")
            .field("source_id", &self.source_id)
            .finish_non_exhaustive()
    }
}

/// Each token lives until [`EXPIRY_MARGIN`] before its own expiry.
struct UntilExpiry;

impl Expiry<TokenKey, Arc<Token>> for UntilExpiry {
    fn expire_after_create(
        &self,
        _key: &TokenKey,
        token: &Arc<Token>,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(token.lifetime.saturating_sub(EXPIRY_MARGIN))
    }
}

/// This process' tokens. Cheap to clone (shared).
#[derive(Clone)]
pub struct Tokens {
    cache: Cache<TokenKey, Arc<Token>>,
}

impl Default for Tokens {
    fn default() -> Self {
        Self {
            cache: Cache::builder()
                .max_capacity(CAPACITY)
                .expire_after(UntilExpiry)
                .build(),
        }
    }
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("cached", &self.cache.entry_count())
            .finish()
    }
}

impl Tokens {
    /// The live token of `key`.
    pub async fn get(&self, key: &TokenKey) -> Option<SecretString> {
        self.cache.get(key).await.map(|t| t.access.clone())
    }

    /// Keeps `token` for `key` (a token that lives less than [`EXPIRY_MARGIN`] is not kept).
    pub async fn insert(&self, key: TokenKey, token: Token) {
        if token.lifetime > EXPIRY_MARGIN {
            self.cache.insert(key, Arc::new(token)).await;
        }
    }

    /// Drops the token of `key` (the API refused it).
    pub async fn invalidate(&self, key: &TokenKey) {
        self.cache.invalidate(key).await;
    }
}

/// Makes the exchange `request` (with the dialect's `headers`) and reads the answer with
/// `session`. A 401 or 403 is a permanent failure that names the source's secret; other
/// failures are those of any request (a 429 waits, a 5xx is retried).
pub(super) async fn exchange(
    client: &reqwest::Client,
    session: &dyn Session,
    request: TokenRequest,
    headers: &[(&str, &str)],
    timeout: Duration,
) -> Result<Token, Failure> {
    let mut builder = client
        .post(request.url)
        .timeout(timeout)
        .header(reqwest::header::CONTENT_TYPE, request.content_type)
        .body(request.body.expose_secret().to_owned());
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    if let Some((user, password)) = &request.basic {
        builder = builder.basic_auth(user, Some(password.expose_secret()));
    }
    let answer = send(builder, timeout, MAX_TOKEN_ANSWER)
        .await
        .map_err(|f| match f.status {
            Some(s @ (401 | 403)) => permanent(
                format!("the token endpoint refused the source's `secret` (HTTP {s})"),
                Some(s),
            ),
            _ => f.reworded(|m| format!("the token exchange failed: {m}")),
        })?;
    session.token(&answer.body, Utc::now()).map_err(|reason| {
        permanent(
            format!("the token exchange gave no token: {reason}"),
            Some(i32::from(answer.status.as_u16())),
        )
    })
}

/// A permanent failure of the exchange, the host not to blame.
fn permanent(message: String, status: Option<i32>) -> Failure {
    Failure {
        error: JobError::permanent(message.clone()),
        message,
        status,
        host_failed: false,
    }
}

/// Whether a failed exchange was the token endpoint refusing the credentials.
pub(super) fn is_refusal(f: &Failure) -> bool {
    matches!(f.status, Some(401 | 403))
}
