//! Who is calling: the API key, its tenant and its role.
//!
//! A key is accepted as `X-API-Key: <key>` or `Authorization: Bearer <key>` ([`Auth`], a
//! poem-openapi security scheme of both). The checkers look the key up through
//! [`Authenticator`]: `jobs::auth::authenticate` fronted by a small moka cache keyed by the key's
//! SHA-256 (never by the key), so a burst of requests costs one query. A live key is cached for
//! [`VALID_TTL`] at most, so a revoked key stops working within that in every process (and at
//! once in the process that revoked it: [`Authenticator::forget_key`]); an unknown key for
//! [`INVALID_TTL`], which keeps a stream of bad keys off the database without making a
//! just-created key wait long.
//!
//! [`client_ip`] says who the client is (through the operator's trusted proxies).
//!
//! Roles are checked in the handlers with [`Auth::require`]: viewers read; operators also
//! enqueue, cancel, retry and delete; admins can do everything.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use jobs::{
    DomainError,
    auth::{Principal, Role},
};
use moka::{Expiry, future::Cache};
use poem::{FromRequest, Request, RequestBody, middleware::ReqId};
use poem_openapi::{
    SecurityScheme,
    auth::{ApiKey, Bearer},
    error::AuthorizationError,
};
use secrecy::SecretString;
use sqlx::PgPool;

use crate::{problem::ApiError, proxies::TrustedProxies};

/// How long a live key is trusted without asking the database again.
pub const VALID_TTL: Duration = Duration::from_secs(5);
/// How long an unknown, revoked or expired key is refused without asking again.
pub const INVALID_TTL: Duration = Duration::from_secs(1);
/// Most keys remembered at once.
const CACHE_CAPACITY: u64 = 10_000;

/// Looks keys up, with a short cache in front of the database.
#[derive(Clone)]
pub struct Authenticator {
    pool: PgPool,
    cache: Cache<Vec<u8>, Option<Principal>>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("cached", &self.cache.entry_count())
            .finish()
    }
}

struct TtlByOutcome;

impl Expiry<Vec<u8>, Option<Principal>> for TtlByOutcome {
    fn expire_after_create(
        &self,
        _key: &Vec<u8>,
        value: &Option<Principal>,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(if value.is_some() {
            VALID_TTL
        } else {
            INVALID_TTL
        })
    }
}

impl Authenticator {
    /// An authenticator over `pool` with an empty cache.
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            cache: Cache::builder()
                .max_capacity(CACHE_CAPACITY)
                .expire_after(TtlByOutcome)
                .support_invalidation_closures()
                .build(),
        }
    }

    /// Forgets key `key_id` (every secret of it that was cached), so this process asks the
    /// database again at its next use: call it after the change that revoked the key commits.
    pub fn forget_key(&self, key_id: uuid::Uuid) {
        let forgotten = self
            .cache
            .invalidate_entries_if(move |_, p| p.is_some_and(|p| p.key_id == key_id));
        if let Err(e) = forgotten {
            // Only when the cache was built without invalidation closures; the TTL still
            // bounds how long the key keeps working.
            tracing::error!(error = %e, "could not forget a revoked key");
        }
    }

    /// The principal behind `key`, or `None` for a key that is not live. Database failures are
    /// not cached.
    pub async fn principal(&self, key: String) -> Result<Option<Principal>, Arc<DomainError>> {
        let hash = jobs::auth::hash_key(&key);
        let key = SecretString::from(key);
        let pool = &self.pool;
        self.cache
            .try_get_with(
                hash,
                async move { jobs::auth::authenticate(pool, &key).await },
            )
            .await
    }
}

/// What a checker concluded about a presented key.
#[derive(Debug, Clone, Copy)]
pub enum Checked {
    /// A live key.
    Valid(Principal),
    /// The key could not be checked (the database failed; logged). Carried to the handler, which
    /// answers 500: an `Err` here would let poem-openapi try the other scheme and report *its*
    /// error, turning an outage into a 401.
    Unavailable,
}

/// `X-API-Key: <key>`.
#[derive(SecurityScheme)]
#[oai(
    rename = "ApiKey",
    ty = "api_key",
    key_name = "X-API-Key",
    key_in = "header",
    checker = "check_api_key"
)]
pub struct ApiKeyHeader(Checked);

/// `Authorization: Bearer <key>`: the same API key, as a bearer token.
#[derive(SecurityScheme)]
#[oai(rename = "Bearer", ty = "bearer", checker = "check_bearer")]
pub struct BearerKey(Checked);

/// An API key in either header.
#[derive(SecurityScheme)]
pub enum Auth {
    /// `X-API-Key`.
    ApiKey(ApiKeyHeader),
    /// `Authorization: Bearer`.
    Bearer(BearerKey),
}

async fn check_api_key(req: &Request, key: ApiKey) -> poem::Result<Checked> {
    check(req, key.key).await
}

async fn check_bearer(req: &Request, bearer: Bearer) -> poem::Result<Checked> {
    check(req, bearer.token).await
}

async fn check(req: &Request, key: String) -> poem::Result<Checked> {
    let Some(auth) = req.data::<Authenticator>() else {
        tracing::error!("the Authenticator is not in the request data; every key is refused");
        return Ok(Checked::Unavailable);
    };
    match auth.principal(key).await {
        Ok(Some(principal)) => Ok(Checked::Valid(principal)),
        Ok(None) => Err(AuthorizationError.into()),
        Err(err) => {
            tracing::error!(error = %err, cause = ?err, "could not check an API key");
            Ok(Checked::Unavailable)
        }
    }
}

impl Auth {
    fn checked(&self) -> Checked {
        match self {
            Auth::ApiKey(ApiKeyHeader(c)) | Auth::Bearer(BearerKey(c)) => *c,
        }
    }

    /// The caller, when its key has at least `role`; 403 otherwise (500 when the key could not
    /// be checked). The caller's tenant is recorded on the current span (the handler's
    /// `tenant_id` field, where it declares one), so every log line of the request carries it.
    pub fn require(&self, role: Role) -> Result<Principal, ApiError> {
        match self.checked() {
            Checked::Valid(p) if p.role >= role => {
                tracing::Span::current().record("tenant_id", tracing::field::display(p.tenant_id));
                Ok(p)
            }
            Checked::Valid(_) => Err(ApiError::Forbidden(role)),
            Checked::Unavailable => Err(ApiError::Internal),
        }
    }
}

/// Where a request came from, for the audit log: its id and the client's address.
///
/// A poem extractor: an operation takes it as a parameter (it does not appear in the OpenAPI
/// document), so every handler reads the origin the same way.
#[derive(Debug, Clone)]
pub struct Origin {
    /// The request's `X-Request-Id`.
    pub request_id: String,
    /// The client's address (without the port).
    pub client_addr: Option<String>,
}

impl<'a> FromRequest<'a> for Origin {
    async fn from_request(req: &'a Request, body: &mut RequestBody) -> poem::Result<Self> {
        let request_id = ReqId::from_request(req, body).await?;
        Ok(Self {
            request_id: request_id.to_string(),
            client_addr: client_ip(req).map(|ip| ip.to_string()),
        })
    }
}

impl Origin {
    /// The audit actor: this origin and the caller's key.
    pub fn actor(&self, principal: &Principal) -> jobs::audit::Actor {
        jobs::audit::Actor::of(
            principal,
            Some(self.request_id.clone()),
            self.client_addr.clone(),
        )
    }
}

/// The client's IP address, when the connection has one: the one place that says who the client
/// is, for the audit log ([`Origin`]), the bad-key limit and the request logs alike.
///
/// The TCP peer, unless it is one of the [`TrustedProxies`] in the request's data: then the
/// client its `X-Forwarded-For` names ([`TrustedProxies::client`]).
pub fn client_ip(req: &Request) -> Option<std::net::IpAddr> {
    let peer = req.remote_addr().as_socket_addr()?.ip();
    let forwarded_for = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok());
    Some(match req.data::<TrustedProxies>() {
        Some(trusted) => trusted.client(peer, forwarded_for),
        None => peer.to_canonical(),
    })
}
