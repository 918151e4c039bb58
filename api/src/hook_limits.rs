//! Rate limits for keyless calls: signed requests to a webhook (`POST /hooks/{id}`) and pushes
//! to a push source without an API key (`POST /sources/{id}/signals`).
//!
//! Such calls carry no key, so the per-key limits ([`crate::limits`]) do not apply. Instead each
//! hook (or source) id has a token bucket in this api process: `HOOK_RATE_PER_MINUTE` calls a
//! minute (default 600), bursting to as many. It is taken before the signature is checked, so a
//! flood aimed at one URL (forged or replayed, or from a sender gone wrong) is answered 429 with
//! `Retry-After` without touching the database, and other hooks are not affected. Like the key
//! limits it is per process: N api processes allow up to N times the rate.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use moka::future::Cache;
use uuid::Uuid;

/// The default of `HOOK_RATE_PER_MINUTE`.
pub const DEFAULT_PER_MINUTE: u32 = 600;

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

impl Bucket {
    /// Takes one token at `now` for a bucket of `capacity` refilled at `per_second`; the wait
    /// until one is free when there is none.
    fn take(&mut self, capacity: f64, per_second: f64, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * per_second).min(capacity);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                ((1.0 - self.tokens) / per_second).max(0.001),
            ))
        }
    }
}

/// The keyless-call limits of one api process. Cheap to clone.
#[derive(Clone)]
pub struct HookLimits {
    per_minute: u32,
    buckets: Cache<Uuid, Arc<Mutex<Bucket>>>,
}

impl std::fmt::Debug for HookLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HookLimits")
            .field("per_minute", &self.per_minute)
            .finish()
    }
}

impl Default for HookLimits {
    fn default() -> Self {
        Self::new(DEFAULT_PER_MINUTE)
    }
}

impl HookLimits {
    /// `per_minute` keyless calls a minute per hook or source, bursting to as many.
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute: per_minute.max(1),
            buckets: Cache::builder()
                .max_capacity(100_000)
                .time_to_idle(Duration::from_secs(600))
                .build(),
        }
    }

    /// Takes one call to `scope` (a hook or source id); `Err(wait)` when it is over its rate.
    pub async fn take(&self, scope: Uuid) -> Result<(), Duration> {
        let capacity = f64::from(self.per_minute);
        let bucket = self
            .buckets
            .get_with(scope, async move {
                Arc::new(Mutex::new(Bucket {
                    tokens: capacity,
                    last: Instant::now(),
                }))
            })
            .await;
        let mut bucket = bucket
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        bucket.take(capacity, capacity / 60.0, Instant::now())
    }
}

/// `Retry-After` in whole seconds (at least 1) for a wait.
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_refills_at_its_rate() {
        let t0 = Instant::now();
        let mut b = Bucket {
            tokens: 3.0,
            last: t0,
        };
        for _ in 0..3 {
            assert!(b.take(3.0, 3.0 / 60.0, t0).is_ok());
        }
        let wait = b.take(3.0, 3.0 / 60.0, t0).unwrap_err();
        assert_eq!(retry_after_secs(wait), 20, "one call every 20 s");
        assert!(
            b.take(3.0, 3.0 / 60.0, t0 + Duration::from_secs(20))
                .is_ok()
        );
    }

    #[tokio::test]
    async fn each_hook_has_its_own_bucket() {
        let limits = HookLimits::new(2);
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        assert!(limits.take(a).await.is_ok());
        assert!(limits.take(a).await.is_ok());
        assert!(limits.take(a).await.is_err());
        assert!(limits.take(b).await.is_ok());
    }
}
