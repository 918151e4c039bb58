//! Request limits: a token bucket per API key (rate and burst from the key's tenant settings,
//! under the operator's [`Ceilings`]), and a cooling-off for client addresses that present too
//! many bad keys.
//!
//! The cooling-off never refuses a request that carries a valid key: behind a shared router (or
//! with a neighbour who sends garbage) one address is many clients, and someone else's bad keys
//! must not lock out a good one. The key is checked first; only a request without a valid key is
//! refused while its address cools off. A cooling address's requests with a key therefore still
//! cost a key check each (one indexed probe; each unknown key is then cached for a second).
//!
//! Both live in this api process' memory: with N api processes a key may make up to N times its
//! rate. That is deliberate: a fleet-wide limit would cost a database round trip (or a shared
//! store) on every request, while per-process limits cost nothing and still bound abuse; put a
//! shared limiter in front (a load balancer) when the exact fleet-wide figure matters. The
//! bad-key counter needs no database either: unknown keys are cached briefly by the
//! [`Authenticator`](crate::auth::Authenticator), so a flood of them does not reach Postgres.

use std::{
    net::IpAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use jobs::{auth::Principal, tenants::Ceilings};
use moka::future::Cache;
use poem::{
    Endpoint, IntoResponse, Middleware, Request, Response,
    http::{HeaderValue, header},
};
use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    auth::{Authenticator, client_ip},
    problem::ApiError,
};

/// How long a tenant's quota is remembered (changes through the api apply at once in the
/// process that made them).
const QUOTA_TTL: Duration = Duration::from_secs(10);
/// The window in which bad keys are counted.
const BAD_KEY_WINDOW: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq)]
struct Quota {
    per_second: f64,
    burst: f64,
}

#[derive(Debug)]
struct Bucket {
    quota: Quota,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn new(quota: Quota) -> Self {
        Self {
            quota,
            tokens: quota.burst,
            last: Instant::now(),
        }
    }

    /// Takes one token if there is one; returns the decision and the headers' figures.
    fn take(&mut self, quota: Quota, now: Instant) -> Decision {
        if quota != self.quota {
            self.tokens = self.tokens.min(quota.burst);
            self.quota = quota;
        }
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * quota.per_second).min(quota.burst);
        self.last = now;
        let limit = quota.burst as u64;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Decision::Allowed {
                limit,
                remaining: self.tokens.floor() as u64,
                reset: ((quota.burst - self.tokens) / quota.per_second).ceil() as u64,
            }
        } else {
            let wait = (1.0 - self.tokens) / quota.per_second;
            Decision::Limited {
                limit,
                retry_after: Duration::from_secs_f64(wait.max(0.001)),
            }
        }
    }
}

/// What the bucket said.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Decision {
    Allowed {
        limit: u64,
        remaining: u64,
        reset: u64,
    },
    Limited {
        limit: u64,
        retry_after: Duration,
    },
}

#[derive(Debug)]
struct Failures {
    window_start: Instant,
    count: u32,
    blocked_until: Option<Instant>,
}

/// The limits of one api process. Cheap to clone.
#[derive(Clone)]
pub struct Limits {
    inner: Arc<Inner>,
}

struct Inner {
    pool: PgPool,
    quotas: Cache<Uuid, Quota>,
    buckets: Cache<Uuid, Arc<Mutex<Bucket>>>,
    failures: Cache<IpAddr, Arc<Mutex<Failures>>>,
    bad_key_limit: u32,
    cooldown: Duration,
    ceilings: Ceilings,
}

impl std::fmt::Debug for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limits")
            .field("bad_key_limit", &self.inner.bad_key_limit)
            .field("cooldown", &self.inner.cooldown)
            .finish()
    }
}

impl Limits {
    /// Limits that refuse an address for `cooldown` after `bad_key_limit` bad keys in a minute,
    /// with tenants' rates held under `ceilings`.
    pub fn new(pool: PgPool, bad_key_limit: u32, cooldown: Duration, ceilings: Ceilings) -> Self {
        Self {
            inner: Arc::new(Inner {
                pool,
                quotas: Cache::builder()
                    .max_capacity(100_000)
                    .time_to_live(QUOTA_TTL)
                    .build(),
                buckets: Cache::builder()
                    .max_capacity(100_000)
                    .time_to_idle(Duration::from_secs(3600))
                    .build(),
                failures: Cache::builder()
                    .max_capacity(100_000)
                    .time_to_idle(BAD_KEY_WINDOW + cooldown)
                    .build(),
                bad_key_limit,
                cooldown,
                ceilings,
            }),
        }
    }

    /// Forgets a tenant's quota, so a change applies to the next request.
    pub async fn forget_tenant(&self, tenant_id: Uuid) {
        self.inner.quotas.invalidate(&tenant_id).await;
    }

    async fn quota(&self, tenant_id: Uuid) -> Quota {
        let pool = self.inner.pool.clone();
        let ceilings = self.inner.ceilings;
        self.inner
            .quotas
            .get_with(tenant_id, async move {
                match jobs::tenants::get(&pool, tenant_id).await {
                    Ok(t) => {
                        let (rate, burst) =
                            ceilings.clamp_rate(t.rate_limit_per_second, t.rate_limit_burst);
                        Quota {
                            per_second: f64::from(rate),
                            burst: f64::from(burst),
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "could not read the tenant's rate limit; using the defaults");
                        Quota { per_second: 50.0, burst: 100.0 }
                    }
                }
            })
            .await
    }

    async fn take(&self, principal: &Principal) -> Decision {
        let quota = self.quota(principal.tenant_id).await;
        let bucket = self
            .inner
            .buckets
            .get_with(principal.key_id, async move {
                Arc::new(Mutex::new(Bucket::new(quota)))
            })
            .await;
        let mut bucket = bucket.lock().expect("bucket lock");
        bucket.take(quota, Instant::now())
    }

    /// How long `ip` must still wait, when it is cooling off.
    async fn blocked(&self, ip: IpAddr) -> Option<Duration> {
        let entry = self.inner.failures.get(&ip).await?;
        let f = entry.lock().expect("failures lock");
        f.blocked_until
            .and_then(|until| until.checked_duration_since(Instant::now()))
    }

    async fn record_failure(&self, ip: IpAddr) {
        let entry = self
            .inner
            .failures
            .get_with(ip, async {
                Arc::new(Mutex::new(Failures {
                    window_start: Instant::now(),
                    count: 0,
                    blocked_until: None,
                }))
            })
            .await;
        let mut f = entry.lock().expect("failures lock");
        let now = Instant::now();
        if now.duration_since(f.window_start) > BAD_KEY_WINDOW {
            f.window_start = now;
            f.count = 0;
        }
        f.count += 1;
        if f.count >= self.inner.bad_key_limit {
            f.blocked_until = Some(now + self.inner.cooldown);
            f.window_start = now;
            f.count = 0;
            tracing::warn!(client = %ip, "too many bad API keys; refusing this address for a while");
        }
    }
}

/// Applies [`Limits`] to the `/api/v1` operations.
#[derive(Clone)]
pub struct Limit {
    /// The limits.
    pub limits: Limits,
    /// Where keys are checked.
    pub authenticator: Authenticator,
}

impl<E: Endpoint> Middleware<E> for Limit {
    type Output = LimitEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        LimitEndpoint {
            inner,
            limit: self.clone(),
        }
    }
}

/// [`Limit`] around an endpoint.
pub struct LimitEndpoint<E> {
    inner: E,
    limit: Limit,
}

fn presented_key(req: &Request) -> Option<String> {
    if let Some(v) = req.headers().get("x-api-key") {
        return v.to_str().ok().map(str::to_owned);
    }
    let auth = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = auth.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

fn too_many(detail: String, retry_after: Duration, limit: Option<u64>) -> Response {
    let mut resp = ApiError::TooManyRequests(detail).into_response();
    let secs = retry_after.as_secs_f64().ceil().max(1.0) as u64;
    let headers = resp.headers_mut();
    headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    if let Some(limit) = limit {
        headers.insert("ratelimit-limit", HeaderValue::from(limit));
        headers.insert("ratelimit-remaining", HeaderValue::from(0u64));
        headers.insert("ratelimit-reset", HeaderValue::from(secs));
    }
    resp
}

impl<E: Endpoint> Endpoint for LimitEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Self::Output> {
        let ip = client_ip(&req);
        let cooling = async || match ip {
            Some(ip) => self.limit.limits.blocked(ip).await.map(|wait| {
                too_many(
                    "too many requests with bad API keys from this address; wait before trying \
                     again (a valid key is never refused for this)"
                        .into(),
                    wait,
                    None,
                )
            }),
            None => None,
        };
        let Some(key) = presented_key(&req) else {
            if let Some(refused) = cooling().await {
                return Ok(refused);
            }
            return self.inner.call(req).await.map(IntoResponse::into_response);
        };
        match self.limit.authenticator.principal(key).await {
            // A valid key is never refused for its address: only by its own rate.
            Ok(Some(principal)) => match self.limit.limits.take(&principal).await {
                Decision::Allowed {
                    limit,
                    remaining,
                    reset,
                } => {
                    let mut resp = self.inner.call(req).await?.into_response();
                    let headers = resp.headers_mut();
                    headers.insert("ratelimit-limit", HeaderValue::from(limit));
                    headers.insert("ratelimit-remaining", HeaderValue::from(remaining));
                    headers.insert("ratelimit-reset", HeaderValue::from(reset));
                    Ok(resp)
                }
                Decision::Limited { limit, retry_after } => Ok(too_many(
                    "this key is over its request rate; see Retry-After".into(),
                    retry_after,
                    Some(limit),
                )),
            },
            Ok(None) => {
                if let Some(refused) = cooling().await {
                    return Ok(refused);
                }
                if let Some(ip) = ip {
                    self.limit.limits.record_failure(ip).await;
                }
                self.inner.call(req).await.map(IntoResponse::into_response)
            }
            // The handler's own check reports the outage as a 500.
            Err(_) => self.inner.call(req).await.map(IntoResponse::into_response),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_refills_at_its_rate() {
        let quota = Quota {
            per_second: 2.0,
            burst: 3.0,
        };
        let mut b = Bucket::new(quota);
        let t0 = b.last;
        for remaining in [2, 1, 0] {
            assert!(
                matches!(b.take(quota, t0), Decision::Allowed { remaining: r, limit: 3, .. } if r == remaining)
            );
        }
        let Decision::Limited { retry_after, .. } = b.take(quota, t0) else {
            panic!("the burst is spent");
        };
        assert!(retry_after <= Duration::from_millis(500), "{retry_after:?}");
        assert!(matches!(
            b.take(quota, t0 + Duration::from_millis(500)),
            Decision::Allowed { .. }
        ));
    }

    #[test]
    fn a_lower_quota_applies_at_once() {
        let mut b = Bucket::new(Quota {
            per_second: 100.0,
            burst: 100.0,
        });
        let t0 = b.last;
        let low = Quota {
            per_second: 1.0,
            burst: 1.0,
        };
        assert!(matches!(b.take(low, t0), Decision::Allowed { .. }));
        assert!(matches!(b.take(low, t0), Decision::Limited { .. }));
    }
}
