//! Politeness towards every outbound host, shared by the whole fleet through one row per host
//! in `hosts` (locked `FOR UPDATE` while a worker decides, so two workers never both take the
//! same slot).
//!
//! - **Rate limit**: requests to one host are spaced `60 / rate_limit_per_min` seconds apart
//!   (the requesting source's limit), so N a minute means N across every worker. A server's
//!   `Retry-After` blocks the host for everyone ([`block`]). Waiting callers come back at a
//!   time jittered over [`WINDOW`], so the first of them usually arrives a little after its
//!   slot opened: the slot it takes is counted from when it opened, not from when it was
//!   taken (reaching back at most one [`WINDOW`]), so the jitter spreads waiters without
//!   wasting the pace. N a minute holds on average; two requests are never closer than the
//!   spacing less one [`WINDOW`].
//! - **Circuit breaker**: `closed` → `open` after [`HostPolicy::failure_threshold`] consecutive
//!   failures; after [`HostPolicy::cooldown`] one job becomes the half-open probe (its success
//!   closes the circuit, its failure opens it again); a probe that never reports back is
//!   replaced after [`HostPolicy::probe_lease`].
//!
//! A job that may not go now gets [`Permit::Wait`] with the delay until its host is free; the
//! caller snoozes it (no attempt spent).
//!
//! Every function takes the time as `now` (callers pass the current time) and the SQL uses it
//! instead of the database's `now()`, so tests move the clock themselves.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::{DomainError, queue::JobError};

/// How the circuit breaker behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostPolicy {
    /// Consecutive failures that open the circuit.
    pub failure_threshold: i32,
    /// How long an open circuit waits before a probe.
    pub cooldown: Duration,
    /// How long a probe may take before another job may probe instead.
    pub probe_lease: Duration,
}

impl Default for HostPolicy {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            cooldown: Duration::from_secs(60),
            probe_lease: Duration::from_secs(120),
        }
    }
}

crate::named_enum! {
    /// A host's circuit breaker.
    pub enum Circuit {
        /// Requests go (within the rate limit).
        Closed = "closed",
        /// Requests wait until the cool-down is over.
        Open = "open",
        /// One probe is in flight; its outcome closes or opens the circuit.
        HalfOpen = "half_open",
    }
}

/// Whether a request may go now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Permit {
    /// Go; `probe` when this request is the half-open circuit's probe.
    Go {
        /// This request decides whether the circuit closes.
        probe: bool,
    },
    /// Not now: try again after `delay`.
    Wait {
        /// Until the host is free (jitter included).
        delay: Duration,
        /// `rate_limit`, `retry_after`, `circuit_open` or `circuit_half_open`.
        reason: &'static str,
    },
}

fn secs(d: chrono::TimeDelta) -> Duration {
    d.to_std().unwrap_or(Duration::ZERO)
}

/// The jitter of a waiting caller's return, and how far back a late caller's slot may reach.
pub const WINDOW: Duration = Duration::from_millis(200);

fn jitter(max: Duration) -> Duration {
    let ms = max.as_millis() as u64;
    if ms == 0 {
        Duration::ZERO
    } else {
        Duration::from_millis(rand::random_range(0..=ms))
    }
}

/// Asks at `now` for a request to `host` under a limit of `rate_per_min`.
pub async fn acquire(
    pool: &PgPool,
    host: &str,
    rate_per_min: i32,
    policy: &HostPolicy,
    now: DateTime<Utc>,
) -> Result<Permit, DomainError> {
    let spacing = Duration::from_secs_f64(60.0 / f64::from(rate_per_min.max(1)));
    let mut tx = pool.begin().await?;
    sqlx::query!(
        r#"INSERT INTO hosts (host, next_slot_at, updated_at) VALUES ($1, $2, $2)
           ON CONFLICT (host) DO NOTHING"#,
        host,
        now
    )
    .execute(&mut *tx)
    .await?;
    let h = sqlx::query!(
        r#"SELECT next_slot_at, blocked_until, circuit AS "circuit: Circuit", opened_at,
                  probe_until
           FROM hosts WHERE host = $1 FOR UPDATE"#,
        host
    )
    .fetch_one(&mut *tx)
    .await?;
    let wait = |delay: Duration, reason| {
        Ok(Permit::Wait {
            delay: delay + jitter(WINDOW),
            reason,
        })
    };
    if let Some(until) = h.blocked_until.filter(|u| *u > now) {
        return wait(secs(until - now), "retry_after");
    }
    let probe = match h.circuit {
        Circuit::Open => {
            let reopen = h.opened_at.unwrap_or(now)
                + chrono::TimeDelta::from_std(policy.cooldown).unwrap_or_default();
            if reopen > now {
                return wait(secs(reopen - now), "circuit_open");
            }
            true
        }
        Circuit::HalfOpen => match h.probe_until {
            Some(until) if until > now => {
                return wait(
                    secs(until - now).min(Duration::from_secs(2)),
                    "circuit_half_open",
                );
            }
            _ => true,
        },
        Circuit::Closed => false,
    };
    if h.next_slot_at > now {
        return wait(secs(h.next_slot_at - now), "rate_limit");
    }
    sqlx::query!(
        r#"UPDATE hosts SET next_slot_at = GREATEST(next_slot_at, $5::timestamptz - make_interval(secs => $6))
                                           + make_interval(secs => $2),
                  requests_total = requests_total + 1,
                  circuit = CASE WHEN $3 THEN 'half_open' ELSE circuit END,
                  probe_until = CASE WHEN $3 THEN $5::timestamptz + make_interval(secs => $4) ELSE probe_until END,
                  updated_at = $5
           WHERE host = $1"#,
        host,
        spacing.as_secs_f64(),
        probe,
        policy.probe_lease.as_secs_f64(),
        now,
        WINDOW.as_secs_f64()
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Permit::Go { probe })
}

/// How a job takes a slot of a pace with [`take_slot`].
#[derive(Debug, Clone, Copy)]
pub struct SlotRules {
    /// A wait up to this long is slept inside the job; a longer one snoozes it.
    pub wait_here: Duration,
    /// The counter a snooze increments (label `reason`), if any.
    pub snoozed_metric: Option<&'static str>,
}

/// How often [`take_slot`] sleeps a short wait before it snoozes anyway.
const SLOT_TRIES: usize = 3;

/// A job's slot of the pace `key` (N a minute across the fleet, `policy`'s circuit): `Ok` to
/// go now; a wait up to [`SlotRules::wait_here`] is slept here (at most [`SLOT_TRIES`] times);
/// a longer one is a [`JobError::Snooze`] ("`<reason> on <key>`"), so the job waits without
/// spending an attempt. The one way every paced kind (deliveries, exports, posts, LLM calls)
/// asks before it calls out.
pub async fn take_slot(
    pool: &PgPool,
    key: &str,
    rate_per_min: i32,
    policy: &HostPolicy,
    rules: SlotRules,
) -> Result<(), JobError> {
    let mut last = (rules.wait_here, "rate_limit");
    for _ in 0..SLOT_TRIES {
        match acquire(pool, key, rate_per_min, policy, Utc::now()).await? {
            Permit::Go { .. } => return Ok(()),
            Permit::Wait { delay, reason } if delay <= rules.wait_here && !delay.is_zero() => {
                last = (delay, reason);
                tokio::time::sleep(delay).await;
            }
            Permit::Wait { delay, reason } => {
                last = (delay, reason);
                break;
            }
        }
    }
    let (delay, reason) = last;
    if let Some(metric) = rules.snoozed_metric {
        metrics::counter!(metric, "reason" => reason).increment(1);
    }
    Err(JobError::snooze(format!("{reason} on {key}"), delay))
}

/// The host answered at `now`: the circuit closes and the failure count resets.
pub async fn record_success(
    pool: &PgPool,
    host: &str,
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    sqlx::query!(
        r#"UPDATE hosts SET circuit = 'closed', consecutive_failures = 0, opened_at = NULL,
                  probe_until = NULL, last_success_at = $2, updated_at = $2
           WHERE host = $1"#,
        host,
        now
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// The host failed at `now` (a network error, a timeout or a 5xx): one more consecutive
/// failure; the circuit opens at the threshold, or at once when this was the half-open probe.
pub async fn record_failure(
    pool: &PgPool,
    host: &str,
    error: &str,
    policy: &HostPolicy,
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    let error: String = error.chars().take(500).collect();
    sqlx::query!(
        r#"UPDATE hosts SET
               consecutive_failures = consecutive_failures + 1,
               circuit = CASE WHEN circuit = 'half_open' OR consecutive_failures + 1 >= $2
                              THEN 'open' ELSE circuit END,
               opened_at = CASE WHEN circuit = 'half_open'
                                  OR (circuit = 'closed' AND consecutive_failures + 1 >= $2)
                                THEN $4 ELSE opened_at END,
               probe_until = NULL, last_failure_at = $4, last_error = $3, updated_at = $4
           WHERE host = $1"#,
        host,
        policy.failure_threshold,
        error,
        now
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// The host asked everyone, at `now`, to wait (`429` with `Retry-After`).
pub async fn block(
    pool: &PgPool,
    host: &str,
    wait: Duration,
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    sqlx::query!(
        r#"UPDATE hosts SET blocked_until = greatest(coalesce(blocked_until, $3), $3::timestamptz + make_interval(secs => $2)),
                  updated_at = $3
           WHERE host = $1"#,
        host,
        wait.as_secs_f64(),
        now
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// A host's limiter and circuit, as `GET /hosts` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HostState {
    /// The host (with a non-default port).
    pub host: String,
    /// `closed`, `open` or `half_open`.
    pub circuit: Circuit,
    /// Failures since the last success.
    pub consecutive_failures: i32,
    /// When the circuit last opened.
    pub opened_at: Option<DateTime<Utc>>,
    /// When the next request may go.
    pub next_slot_at: DateTime<Utc>,
    /// A server's `Retry-After`, until then.
    pub blocked_until: Option<DateTime<Utc>>,
    /// The strictest limit of the tenant's sources on this host.
    pub rate_limit_per_min: i32,
    /// Requests made by the whole fleet.
    pub requests_total: i64,
    /// The last success.
    pub last_success_at: Option<DateTime<Utc>>,
    /// The last failure.
    pub last_failure_at: Option<DateTime<Utc>>,
    /// What the last failure was.
    pub last_error: Option<String>,
}

/// The hosts of the tenant's live sources (only those: other tenants' hosts are not shown).
pub async fn list(pool: &PgPool, tenant_id: Uuid) -> Result<Vec<HostState>, DomainError> {
    Ok(sqlx::query_as!(
        HostState,
        r#"SELECT h.host, h.circuit AS "circuit: Circuit", h.consecutive_failures, h.opened_at, h.next_slot_at,
                  h.blocked_until, s.rate AS "rate_limit_per_min!", h.requests_total,
                  h.last_success_at, h.last_failure_at, h.last_error
           FROM hosts h
           JOIN (SELECT host, min(rate_limit_per_min) AS rate FROM sources
                 WHERE tenant_id = $1 AND deleted_at IS NULL AND host IS NOT NULL
                 GROUP BY host) s ON s.host = h.host
           ORDER BY h.host"#,
        tenant_id
    )
    .fetch_all(pool)
    .await?)
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    fn policy() -> HostPolicy {
        HostPolicy {
            failure_threshold: 2,
            cooldown: Duration::from_millis(300),
            probe_lease: Duration::from_secs(60),
        }
    }

    fn ms(n: i64) -> TimeDelta {
        TimeDelta::milliseconds(n)
    }

    #[sqlx::test(migrator = "crate::db::MIGRATOR")]
    async fn the_rate_limit_spaces_requests_across_callers(pool: PgPool) {
        let p = policy();
        let t = Utc::now();
        assert_eq!(
            acquire(&pool, "a.example", 60, &p, t).await.unwrap(),
            Permit::Go { probe: false }
        );
        // A second caller (any worker) must wait about one second.
        match acquire(&pool, "a.example", 60, &p, t + ms(5))
            .await
            .unwrap()
        {
            Permit::Wait { delay, reason } => {
                assert_eq!(reason, "rate_limit");
                assert!(
                    delay > Duration::from_millis(500) && delay < Duration::from_secs(3),
                    "{delay:?}"
                );
            }
            other => panic!("expected a wait, got {other:?}"),
        }
        // Another host is independent.
        assert!(matches!(
            acquire(&pool, "b.example", 60, &p, t + ms(5))
                .await
                .unwrap(),
            Permit::Go { .. }
        ));
        // A second later the slot is free.
        assert!(matches!(
            acquire(&pool, "a.example", 60, &p, t + ms(1000))
                .await
                .unwrap(),
            Permit::Go { probe: false }
        ));
    }

    /// Callers that come back late (their waits are jittered) take the slots they missed,
    /// back to back, up to one jitter window; an idle host gives no larger burst.
    #[sqlx::test(migrator = "crate::db::MIGRATOR")]
    async fn late_callers_keep_the_pace_without_bursting_after_idle(pool: PgPool) {
        let p = policy();
        let go = |at| {
            let pool = pool.clone();
            async move {
                matches!(
                    acquire(&pool, "d.example", 600, &p, at).await.unwrap(),
                    Permit::Go { .. }
                )
            }
        };
        let t = Utc::now();
        // 600 a minute: one slot each 100 ms; the window is 200 ms.
        assert!(go(t).await);
        // The next slot opened at +100 ms; a caller arriving at +250 ms takes it, and the one
        // at +200 ms it made room for, at once; the third waits for +300 ms.
        assert!(go(t + ms(250)).await);
        assert!(go(t + ms(251)).await);
        assert!(!go(t + ms(252)).await);
        assert!(go(t + ms(300)).await);
        // After ten idle seconds, ten callers at once: three go (the slot that is due and the
        // two of the window), not a hundred.
        let later = t + ms(10_000);
        let mut went = 0;
        for _ in 0..10 {
            went += usize::from(go(later).await);
        }
        assert_eq!(went, 3);
    }

    #[sqlx::test(migrator = "crate::db::MIGRATOR")]
    async fn concurrent_callers_get_one_slot(pool: PgPool) {
        let p = policy();
        let t = Utc::now();
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let pool = pool.clone();
                tokio::spawn(async move { acquire(&pool, "c.example", 1, &p, t).await.unwrap() })
            })
            .collect();
        let mut go = 0;
        for t in tasks {
            if matches!(t.await.unwrap(), Permit::Go { .. }) {
                go += 1;
            }
        }
        assert_eq!(go, 1, "one request a minute means one");
    }

    /// The clock only moves when the test moves it: each step happens at a chosen instant, just
    /// before or just after the cool-down (300 ms) and the spacing (10 ms at 6000 a minute).
    #[sqlx::test(migrator = "crate::db::MIGRATOR")]
    async fn the_circuit_opens_probes_and_closes(pool: PgPool) {
        let p = policy();
        let h = "d.example";
        let t = Utc::now();
        assert!(matches!(
            acquire(&pool, h, 6000, &p, t).await.unwrap(),
            Permit::Go { probe: false }
        ));
        record_failure(&pool, h, "HTTP 500", &p, t + ms(20))
            .await
            .unwrap();
        record_failure(&pool, h, "HTTP 500", &p, t + ms(30))
            .await
            .unwrap();
        // Opened at t + 30 ms: closed to everyone until t + 330 ms.
        for at in [t + ms(40), t + ms(329)] {
            match acquire(&pool, h, 6000, &p, at).await.unwrap() {
                Permit::Wait { reason, .. } => assert_eq!(reason, "circuit_open"),
                other => panic!("expected the circuit to be open, got {other:?}"),
            }
        }
        assert_eq!(
            acquire(&pool, h, 6000, &p, t + ms(330)).await.unwrap(),
            Permit::Go { probe: true }
        );
        // The probe holds the host (past the rate limit's spacing) until it reports back.
        match acquire(&pool, h, 6000, &p, t + ms(350)).await.unwrap() {
            Permit::Wait { reason, .. } => assert_eq!(reason, "circuit_half_open"),
            other => panic!("one probe at a time, got {other:?}"),
        }
        // The probe fails: open again, for another cool-down from its failure.
        record_failure(&pool, h, "HTTP 503", &p, t + ms(400))
            .await
            .unwrap();
        assert!(matches!(
            acquire(&pool, h, 6000, &p, t + ms(699)).await.unwrap(),
            Permit::Wait {
                reason: "circuit_open",
                ..
            }
        ));
        assert_eq!(
            acquire(&pool, h, 6000, &p, t + ms(700)).await.unwrap(),
            Permit::Go { probe: true }
        );
        record_success(&pool, h, t + ms(710)).await.unwrap();
        assert_eq!(
            acquire(&pool, h, 6000, &p, t + ms(720)).await.unwrap(),
            Permit::Go { probe: false }
        );
    }

    #[sqlx::test(migrator = "crate::db::MIGRATOR")]
    async fn retry_after_blocks_the_host_for_everyone(pool: PgPool) {
        let p = policy();
        let t = Utc::now();
        assert!(matches!(
            acquire(&pool, "e.example", 6000, &p, t).await.unwrap(),
            Permit::Go { .. }
        ));
        block(&pool, "e.example", Duration::from_secs(30), t)
            .await
            .unwrap();
        match acquire(&pool, "e.example", 6000, &p, t + ms(10))
            .await
            .unwrap()
        {
            Permit::Wait { delay, reason } => {
                assert_eq!(reason, "retry_after");
                assert!(delay >= Duration::from_secs(29), "{delay:?}");
            }
            other => panic!("expected a wait, got {other:?}"),
        }
        assert!(matches!(
            acquire(&pool, "e.example", 6000, &p, t + ms(30_000))
                .await
                .unwrap(),
            Permit::Go { .. }
        ));
    }
}
