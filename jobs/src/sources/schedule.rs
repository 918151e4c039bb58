//! Polling on schedule, once per interval however many workers run; the retention purge, the
//! expiry of signals nobody acted on, and forgetting remembered signatures once they are too
//! old to verify again ([`signing::prune`]).
//!
//! Every worker runs [`run`]. Each tick claims the sources whose `next_poll_at` has come with
//! `FOR UPDATE SKIP LOCKED`, moves `next_poll_at` to the first slot after now (slots are
//! `next_poll_at + k × poll_every`, so a stopped fleet catches up with one poll, not a
//! backlog), and enqueues one `fetch_source` per claimed source in the same transaction, with
//! the idempotency key `fetch_source:<source id>:<slot>`. The row claim makes one worker win
//! each slot; the unique key would stop a second job even if two did.
//!
//! The same loop fires workflows' cron schedules ([`crate::workflows::schedules::tick`]) and
//! judges the tenants' economics watches ([`crate::economics::watch::tick`]), with the same
//! row-claim discipline, so there is one kind of scheduler in the fleet.

use std::{collections::BTreeMap, time::Duration};

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::signals;
use crate::{
    DomainError, deliveries, economics,
    kinds::{JobKind, fetch_source::FetchSource},
    queue::{self, JOBS_CHANNEL, NewJob},
    signing,
    workflows::schedules,
};

/// How the scheduler runs.
#[derive(Debug, Clone, Copy)]
pub struct ScheduleSettings {
    /// How often due sources are looked for (`SCHEDULER_TICK_MS`, default 1 s).
    pub tick: Duration,
    /// Most sources claimed per tick.
    pub batch: i64,
    /// How often signals past their tenant's retention are purged.
    pub purge_every: Duration,
}

impl Default for ScheduleSettings {
    fn default() -> Self {
        Self {
            tick: Duration::from_secs(1),
            batch: 500,
            purge_every: Duration::from_secs(60),
        }
    }
}

/// Claims the due sources and enqueues their fetches; returns how many were enqueued.
pub async fn tick(pool: &PgPool, batch: i64) -> Result<usize, DomainError> {
    let mut tx = pool.begin().await?;
    let due = sqlx::query!(
        r#"WITH due AS (
               SELECT id, next_poll_at FROM sources
               WHERE enabled AND deleted_at IS NULL AND kind <> 'push' AND next_poll_at <= now()
               ORDER BY next_poll_at
               LIMIT $1
               FOR UPDATE SKIP LOCKED)
           UPDATE sources s SET next_poll_at = due.next_poll_at + make_interval(secs =>
                   s.poll_every_secs * (floor(extract(epoch FROM now() - due.next_poll_at) / s.poll_every_secs) + 1))
           FROM due WHERE s.id = due.id
           RETURNING s.id, s.tenant_id, (extract(epoch FROM due.next_poll_at) * 1000)::int8 AS "slot_ms!""#,
        batch
    )
    .fetch_all(&mut *tx)
    .await?;
    if due.is_empty() {
        return Ok(0);
    }
    let mut by_tenant: BTreeMap<Uuid, Vec<NewJob>> = BTreeMap::new();
    for d in &due {
        let job = NewJob::new(&FetchSource { source_id: d.id })?
            .idempotency_key(format!("fetch_source:{}:{}", d.id, d.slot_ms))?;
        by_tenant.entry(d.tenant_id).or_default().push(job);
    }
    let mut created = 0;
    for (tenant_id, jobs) in by_tenant {
        created += queue::enqueue(&mut tx, tenant_id, None, &jobs)
            .await?
            .iter()
            .filter(|e| e.created)
            .count();
    }
    // Delivered at commit: idle workers claim at once.
    sqlx::query!("SELECT pg_notify($1, $2)", JOBS_CHANNEL, FetchSource::KIND)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(created)
}

/// A running scheduler (see [`spawn`]).
#[derive(Debug)]
pub struct Scheduler {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Scheduler {
    /// Stops the scheduler after its current tick.
    pub async fn stop(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

/// Starts [`run`] on its own task.
pub fn spawn(pool: PgPool, settings: ScheduleSettings) -> Scheduler {
    let stop = CancellationToken::new();
    let task = tokio::spawn(run(pool, settings, stop.clone()));
    Scheduler { stop, task }
}

/// Runs the scheduler and the retention purge until `stop` fires.
pub async fn run(pool: PgPool, settings: ScheduleSettings, stop: CancellationToken) {
    let mut ticks = tokio::time::interval(settings.tick);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_purge = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = ticks.tick() => {}
        }
        match tick(&pool, settings.batch).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(enqueued = n, "scheduled source polls"),
            Err(e) => {
                tracing::warn!(error = %e, "scheduling source polls failed; retrying next tick")
            }
        }
        match economics::watch::tick(&pool, chrono::Utc::now(), 20).await {
            Ok(j) if j.began == 0 && j.ended == 0 => {}
            Ok(j) => tracing::info!(began = j.began, ended = j.ended, "economics breaches"),
            Err(e) => tracing::warn!(error = %e, "judging economics watches failed"),
        }
        match schedules::tick(&pool, chrono::Utc::now(), settings.batch).await {
            Ok(f) if f.runs == 0 => {}
            Ok(f) => tracing::info!(runs = f.runs, "cron schedules started workflow runs"),
            Err(e) => {
                tracing::warn!(error = %e, "firing cron schedules failed; retrying next tick")
            }
        }
        if last_purge.elapsed() >= settings.purge_every {
            last_purge = tokio::time::Instant::now();
            if let Err(e) = schedules::purge_fires(&pool, 10_000).await {
                tracing::warn!(error = %e, "purging old schedule fires failed");
            }
            match deliveries::log::prune(&pool, chrono::Utc::now(), 10_000).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(pruned = n, "forgot old events and deliveries"),
                Err(e) => tracing::warn!(error = %e, "pruning events and deliveries failed"),
            }
            match signing::prune(&pool).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(pruned = n, "forgot signatures too old to replay"),
                Err(e) => tracing::warn!(error = %e, "pruning remembered signatures failed"),
            }
            match signals::expire_stale(&pool, 10_000).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(expired = n, "signals nobody acted on expired"),
                Err(e) => tracing::warn!(error = %e, "expiring signals failed"),
            }
            loop {
                match signals::purge_expired(&pool, 5000).await {
                    Ok(5000) => continue,
                    Ok(0) => break,
                    Ok(n) => {
                        tracing::info!(purged = n, "purged signals past their retention");
                        break;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "purging signals failed");
                        break;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[sqlx::test(migrator = "crate::db::MIGRATOR")]
    async fn each_due_slot_is_enqueued_once_however_many_schedulers_run(pool: PgPool) {
        let mut conn = pool.acquire().await.unwrap();
        let tenant = crate::auth::ensure_tenant(&mut conn, "t").await.unwrap();
        for i in 0..5 {
            let new = crate::sources::NewSource::try_from(serde_json::json!({
                "kind": "rss", "url": format!("https://example.com/{i}.xml"), "poll_every": "1h"
            }))
            .unwrap();
            crate::sources::create(&mut conn, tenant, &crate::audit::Actor::default(), new)
                .await
                .unwrap();
        }
        drop(conn);
        let ticks: Vec<_> = (0..4)
            .map(|_| {
                let pool = pool.clone();
                tokio::spawn(async move { tick(&pool, 100).await.unwrap() })
            })
            .collect();
        let mut total = 0;
        for t in ticks {
            total += t.await.unwrap();
        }
        assert_eq!(total, 5, "one fetch per source for this slot");
        assert_eq!(
            tick(&pool, 100).await.unwrap(),
            0,
            "the next slot is an hour away"
        );
        let next: Vec<bool> =
            sqlx::query_scalar("SELECT next_poll_at > now() + interval '59 minutes' FROM sources")
                .fetch_all(&pool)
                .await
                .unwrap();
        assert!(next.iter().all(|b| *b));
        let jobs: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE kind = 'fetch_source'")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(jobs, 5);
    }

    #[sqlx::test(migrator = "crate::db::MIGRATOR")]
    async fn the_maintenance_tick_forgets_signatures_too_old_to_replay(pool: PgPool) {
        let (old, fresh) = (Uuid::now_v7(), Uuid::now_v7());
        sqlx::query(
            "INSERT INTO seen_signatures (scope, digest, signed_at) VALUES
                 ($1, '\\x00', now() - interval '1 hour'), ($2, '\\x01', now())",
        )
        .bind(old)
        .bind(fresh)
        .execute(&pool)
        .await
        .unwrap();
        let scheduler = spawn(
            pool.clone(),
            ScheduleSettings {
                tick: Duration::from_millis(10),
                purge_every: Duration::from_millis(10),
                ..ScheduleSettings::default()
            },
        );
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        let left = loop {
            let left: Vec<Uuid> = sqlx::query_scalar("SELECT scope FROM seen_signatures")
                .fetch_all(&pool)
                .await
                .unwrap();
            if left.len() == 1 || tokio::time::Instant::now() > deadline {
                break left;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        scheduler.stop().await;
        assert_eq!(left, vec![fresh]);
    }
}
