//! A tenant's share of the workers, set by the operator (never by the tenant): its weight in the
//! fair claim, its cap on jobs running at once, and its caps per job kind; and what the busiest
//! concurrency keys are doing. The claim reads these in `backend`; the slot triggers
//! enforces the caps.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{
    DomainError, FieldError,
    audit::{self, Actor, Change},
    kinds,
};

/// Highest weight.
pub const MAX_WEIGHT: i16 = 1000;
/// Highest cap on a tenant's running jobs.
pub const MAX_RUNNING: i32 = 1_000_000;
/// How many keys `/queues` lists.
pub const BUSIEST_KEYS: i64 = 20;

/// A tenant's share, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Share {
    /// Its weight among the tenants with work: 3 gets three times the claims of 1.
    pub weight: i16,
    /// Most of its jobs running at once, fleet-wide (none: no cap).
    pub max_running: Option<i32>,
    /// Most of its jobs of a kind running at once, per kind.
    pub kind_limits: BTreeMap<String, i32>,
}

/// A change to a share; absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SharePatch {
    /// New weight.
    pub weight: Option<i16>,
    /// New cap (`Some(None)` lifts it).
    pub max_running: Option<Option<i32>>,
    /// New per-kind caps, replacing the old ones whole.
    pub kind_limits: Option<BTreeMap<String, i32>>,
}

impl SharePatch {
    /// Checks every field, naming the first bad one.
    pub fn validate(&self) -> Result<(), FieldError> {
        if let Some(w) = self.weight
            && !(1..=MAX_WEIGHT).contains(&w)
        {
            return Err(FieldError::new(
                "weight",
                format!("expected 1 to {MAX_WEIGHT}"),
            ));
        }
        if let Some(Some(n)) = self.max_running
            && !(1..=MAX_RUNNING).contains(&n)
        {
            return Err(FieldError::new(
                "max_running",
                format!("expected 1 to {MAX_RUNNING}"),
            ));
        }
        for (kind, n) in self.kind_limits.iter().flatten() {
            if kinds::find(kind).is_none() {
                return Err(FieldError::new(
                    format!("kind_limits.{kind}"),
                    format!("unknown kind; expected one of {}", kinds::names()),
                ));
            }
            if !(1..=super::enqueue::MAX_CONCURRENCY_LIMIT).contains(n) {
                return Err(FieldError::new(
                    format!("kind_limits.{kind}"),
                    format!("expected 1 to {}", super::enqueue::MAX_CONCURRENCY_LIMIT),
                ));
            }
        }
        Ok(())
    }

    /// Parses `kind=n,kind=n` (empty: no per-kind caps).
    pub fn parse_kind_limits(s: &str) -> Result<BTreeMap<String, i32>, FieldError> {
        s.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|pair| {
                let (kind, n) = pair
                    .split_once('=')
                    .ok_or_else(|| FieldError::new("kind_limits", "expected kind=n pairs"))?;
                let n = n.trim().parse::<i32>().map_err(|_| {
                    FieldError::new(format!("kind_limits.{}", kind.trim()), "not a number")
                })?;
                Ok((kind.trim().to_owned(), n))
            })
            .collect()
    }
}

/// The share of tenant `id`.
pub async fn get(conn: &mut PgConnection, id: Uuid) -> Result<Share, DomainError> {
    let row = sqlx::query!(
        "SELECT queue_weight, max_running, kind_limits FROM tenants WHERE id = $1",
        id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(DomainError::NotFound("tenant"))?;
    Ok(Share {
        weight: row.queue_weight,
        max_running: row.max_running,
        kind_limits: serde_json::from_value(row.kind_limits).unwrap_or_default(),
    })
}

/// Applies `patch` to the tenant named `tenant` and records it in its audit log, returning the
/// share before and after. Jobs not yet finished follow the new caps at once: the count of
/// each cap starts from the jobs running now. Claims and outcomes wait for the change to commit
/// (it locks `job_slots` and `job_slots_returned`), so no count is off by a claim or an outcome
/// made meanwhile.
pub async fn set(
    pool: &PgPool,
    tenant: &str,
    patch: &SharePatch,
) -> Result<(Uuid, Share, Share), DomainError> {
    patch.validate()?;
    let mut tx = pool.begin().await?;
    let id = sqlx::query_scalar!("SELECT id FROM tenants WHERE name = $1 FOR UPDATE", tenant)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(DomainError::NotFound("tenant"))?;
    let before = get(&mut tx, id).await?;
    let after = Share {
        weight: patch.weight.unwrap_or(before.weight),
        max_running: patch.max_running.unwrap_or(before.max_running),
        kind_limits: patch
            .kind_limits
            .clone()
            .unwrap_or_else(|| before.kind_limits.clone()),
    };
    let limits = serde_json::to_value(&after.kind_limits).unwrap_or(Value::Null);
    sqlx::query!("LOCK TABLE job_slots, job_slots_returned IN EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await?;
    sqlx::query!(
        r#"UPDATE tenants SET queue_weight = $2, max_running = $3, kind_limits = $4, updated_at = now()
           WHERE id = $1"#,
        id,
        after.weight,
        after.max_running,
        limits
    )
    .execute(&mut *tx)
    .await?;
    // The tenant's cap: which unfinished jobs it counts, and how many of them run now.
    sqlx::query!(
        r#"UPDATE jobs SET tenant_capped = $2
           WHERE tenant_id = $1 AND state IN ('available', 'running', 'failed')
             AND tenant_capped <> $2"#,
        id,
        after.max_running.is_some()
    )
    .execute(&mut *tx)
    .await?;
    // Per-kind caps: unfinished jobs of a limited kind without a key of their own get the
    // kind's key; jobs of a kind no longer limited lose it.
    sqlx::query!(
        r#"UPDATE jobs SET concurrency_key = NULL, concurrency_limit = NULL
           WHERE tenant_id = $1 AND state IN ('available', 'running', 'failed')
             AND concurrency_key LIKE 'kind:%' AND NOT ($2::jsonb ? kind)"#,
        id,
        limits
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        r#"UPDATE jobs SET concurrency_key = 'kind:' || kind,
                           concurrency_limit = ($2::jsonb ->> kind)::int4
           WHERE tenant_id = $1 AND state IN ('available', 'running', 'failed') AND $2::jsonb ? kind
             AND (concurrency_key IS NULL OR concurrency_key LIKE 'kind:%')"#,
        id,
        limits
    )
    .execute(&mut *tx)
    .await?;
    // Recount what the caps hold from the jobs running now.
    sqlx::query!(
        "DELETE FROM job_slots WHERE tenant_id = $1 AND (key = '' OR key LIKE 'kind:%')",
        id
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "DELETE FROM job_slots_returned WHERE tenant_id = $1 AND (key = '' OR key LIKE 'kind:%')",
        id
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        r#"INSERT INTO job_slots (tenant_id, key, taken)
           SELECT $1, '', count(*) FROM jobs
           WHERE $2 AND tenant_id = $1 AND state = 'running' AND tenant_capped
           UNION ALL
           SELECT $1, concurrency_key, count(*) FROM jobs
           WHERE tenant_id = $1 AND state = 'running' AND concurrency_key LIKE 'kind:%'
           GROUP BY concurrency_key"#,
        id,
        after.max_running.is_some()
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        id,
        &Actor {
            role: Some("cli"),
            ..Actor::default()
        },
        Change {
            action: "tenant.queue_share",
            target_type: "tenant",
            target_id: id.to_string(),
            before: serde_json::to_value(&before).ok(),
            after: serde_json::to_value(&after).ok(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok((id, before, after))
}

/// What one concurrency key is doing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyStats {
    /// The key (`kind:<kind>` for a per-kind cap).
    pub key: String,
    /// Its limit (the newest job's, should they differ).
    pub limit: i32,
    /// Jobs with it running now.
    pub running: i64,
    /// Jobs with it waiting to run (ready now, or waiting for a retry).
    pub waiting: i64,
}

/// Concurrency keys across the fleet, for the metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyPressure {
    /// Keys with jobs waiting or running.
    pub keys: i64,
    /// Keys running at their limit with jobs waiting behind them.
    pub saturated: i64,
    /// Jobs waiting on a key (ready now, or waiting for a retry).
    pub waiting: i64,
}

/// How busy the concurrency keys of every tenant are.
pub async fn key_pressure(pool: &PgPool) -> Result<KeyPressure, DomainError> {
    let p = sqlx::query!(
        r#"SELECT count(*) AS "keys!",
                  count(*) FILTER (WHERE running >= lim AND waiting > 0) AS "saturated!",
                  coalesce(sum(waiting), 0)::int8 AS "waiting!"
           FROM (SELECT max(concurrency_limit) AS lim,
                        count(*) FILTER (WHERE state = 'running') AS running,
                        count(*) FILTER (WHERE state IN ('available', 'failed')) AS waiting
                 FROM jobs
                 WHERE concurrency_key IS NOT NULL AND state IN ('available', 'running', 'failed')
                 GROUP BY tenant_id, concurrency_key) k"#
    )
    .fetch_one(pool)
    .await?;
    Ok(KeyPressure {
        keys: p.keys,
        saturated: p.saturated,
        waiting: p.waiting,
    })
}

/// The tenant's busiest concurrency keys (most waiting first), at most [`BUSIEST_KEYS`].
pub async fn busiest_keys(pool: &PgPool, tenant_id: Uuid) -> Result<Vec<KeyStats>, DomainError> {
    Ok(sqlx::query_as!(
        KeyStats,
        r#"SELECT concurrency_key AS "key!",
                  max(concurrency_limit) AS "limit!",
                  count(*) FILTER (WHERE state = 'running') AS "running!",
                  count(*) FILTER (WHERE state IN ('available', 'failed')) AS "waiting!"
           FROM jobs
           WHERE tenant_id = $1 AND concurrency_key IS NOT NULL
             AND state IN ('available', 'running', 'failed')
           GROUP BY concurrency_key
           ORDER BY 4 DESC, 3 DESC, 1
           LIMIT $2"#,
        tenant_id,
        BUSIEST_KEYS
    )
    .fetch_all(pool)
    .await?)
}
