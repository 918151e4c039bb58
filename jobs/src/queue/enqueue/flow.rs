//! Jobs that go in by a statement of their own, in order with the rest of a batch: a singleton
//! (nothing if one with its key is queued or running), a job over its concurrency key's limit
//! (`cancel_newest`, `keep_newest`), and a debounced job (replacing the queued one with its
//! key). Each is decided by the database, so concurrent enqueues cannot both win.

use chrono::Utc;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{
    super::{JobRow, JobState, StoredState},
    Concurrency, Enqueued, Inserted, NewJob, OverLimit, enqueue_batched,
};
use crate::DomainError;

/// How many times a singleton enqueue looks again when the job it collided with finished
/// between the insert and the read.
const SINGLETON_TRIES: usize = 3;

/// Inserts a singleton job unless one with its key is queued, running or waiting for a retry;
/// then that one is the answer (`created: false`). The unique index decides, so of concurrent
/// enqueues exactly one inserts.
pub(super) async fn singleton(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    correlation_id: Option<&str>,
    job: &NewJob,
) -> Result<Enqueued, DomainError> {
    let key = job.singleton_key.as_deref().unwrap_or_default();
    for _ in 0..SINGLETON_TRIES {
        let id = Uuid::now_v7();
        let inserted = sqlx::query_as!(
            Inserted,
            r#"INSERT INTO jobs (id, tenant_id, kind, args, priority, max_attempts, run_at,
                                 timeout_ms, correlation_id, singleton_key, concurrency_key,
                                 concurrency_limit, tenant_capped)
               SELECT $1, $2, $3, $4, $5, $6, coalesce($7, now()), $8, $9, $10,
                      coalesce($11, CASE WHEN t.kind_limits ? $3 THEN 'kind:' || $3 END),
                      coalesce($12, (t.kind_limits ->> $3)::int4), t.max_running IS NOT NULL
               FROM tenants t WHERE t.id = $2
               ON CONFLICT (tenant_id, singleton_key)
                  WHERE singleton_key IS NOT NULL AND state IN ('available', 'running', 'failed')
                  DO NOTHING
               RETURNING id, run_at, created_at, concurrency_key, concurrency_limit"#,
            id,
            tenant_id,
            job.kind,
            job.args,
            job.priority,
            job.max_attempts,
            job.run_at,
            job.timeout_ms,
            correlation_id,
            key,
            job.concurrency_key(),
            job.concurrency_limit()
        )
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(row) = inserted {
            return Ok(Enqueued {
                job: job.inserted(row, correlation_id, Utc::now()),
                created: true,
            });
        }
        let existing = sqlx::query_as!(
            JobRow,
            r#"SELECT id, tenant_id, kind, args, state AS "state: StoredState", priority, attempt,
                      max_attempts, run_at, timeout_ms, idempotency_key, correlation_id, result,
                      errors, locked_by, lease_expires_at, cancel_requested, created_at,
                      started_at, finished_at, run_id, step, item, parked_on, parked_reason,
                      singleton_key, debounce_key, concurrency_key, concurrency_limit
               FROM jobs
               WHERE tenant_id = $1 AND singleton_key = $2
                 AND state IN ('available', 'running', 'failed')"#,
            tenant_id,
            key
        )
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(row) = existing {
            return Ok(Enqueued {
                job: row.into(),
                created: false,
            });
        }
    }
    Err(DomainError::Conflict(format!(
        "singleton key {key:?} is changing hands under concurrent requests; try again"
    )))
}

/// Inserts a job whose concurrency key says what to do when the key is full: `cancel_newest`
/// stores it cancelled (with why) when the key already has `limit` jobs queued or running;
/// `keep_newest` inserts it and cancels the other jobs waiting with the key (never a running
/// one, nor a workflow's step). Concurrent enqueues with the key take turns on a transaction
/// lock, so two cannot both see room for one.
pub(super) async fn keyed(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    correlation_id: Option<&str>,
    job: &NewJob,
    concurrency: &Concurrency,
    strategy: OverLimit,
) -> Result<Enqueued, DomainError> {
    let key = concurrency.key.as_str();
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended($1::uuid::text || '/' || $2, 17))",
        tenant_id,
        key
    )
    .execute(&mut *conn)
    .await?;
    let mut inserted = enqueue_batched(conn, tenant_id, correlation_id, std::slice::from_ref(job))
        .await?
        .pop()
        .ok_or_else(|| DomainError::Conflict("the job went missing".into()))?;
    if !inserted.created {
        return Ok(inserted);
    }
    let id = inserted.job.id;
    match strategy {
        OverLimit::Queue => {}
        OverLimit::CancelNewest => {
            let reason = format!(
                "concurrency key {key:?} already had {} jobs queued or running (on_limit: cancel_newest)",
                concurrency.limit
            );
            let cancelled = sqlx::query_scalar!(
                r#"UPDATE jobs SET state = 'cancelled', finished_at = now(),
                          errors = jsonb_build_array(jsonb_build_object(
                              'attempt', 0, 'at', now(), 'error', $4::text))
                   WHERE id = $1
                     AND (SELECT count(*) FROM jobs o
                          WHERE o.tenant_id = $2 AND o.concurrency_key = $3 AND o.id <> $1
                            AND o.state IN ('available', 'running', 'failed')) >= $5
                   RETURNING finished_at AS "finished_at!""#,
                id,
                tenant_id,
                key,
                reason,
                i64::from(concurrency.limit)
            )
            .fetch_optional(&mut *conn)
            .await?;
            if let Some(at) = cancelled {
                inserted.job.state = JobState::Cancelled;
                inserted.job.finished_at = Some(at);
                inserted.job.last_error = Some(reason);
            }
        }
        OverLimit::KeepNewest => {
            sqlx::query!(
                r#"UPDATE jobs SET state = 'cancelled', finished_at = now(),
                          errors = errors || jsonb_build_array(jsonb_build_object(
                              'attempt', attempt, 'at', now(),
                              'error', 'replaced by a newer job with the same concurrency key (on_limit: keep_newest)'))
                   WHERE tenant_id = $1 AND concurrency_key = $2 AND id <> $3 AND run_id IS NULL
                     AND state IN ('available', 'failed')"#,
                tenant_id,
                key,
                id
            )
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(inserted)
}

/// Inserts a debounced job to start at the end of its window, or — while one with its key waits
/// to start — gives that one these args and moves its start to the end of the new window
/// (`created: false`). A job with the key but of another kind is a conflict.
pub(super) async fn debounced(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    correlation_id: Option<&str>,
    job: &NewJob,
) -> Result<Enqueued, DomainError> {
    let Some(debounce) = &job.debounce else {
        return Err(DomainError::Conflict("not a debounced job".into()));
    };
    let row = sqlx::query!(
        r#"INSERT INTO jobs (id, tenant_id, kind, args, priority, max_attempts, run_at,
                             timeout_ms, correlation_id, debounce_key, concurrency_key,
                             concurrency_limit, tenant_capped)
           SELECT $1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7), $8, $9, $10,
                  coalesce($11, CASE WHEN t.kind_limits ? $3 THEN 'kind:' || $3 END),
                  coalesce($12, (t.kind_limits ->> $3)::int4), t.max_running IS NOT NULL
           FROM tenants t WHERE t.id = $2
           ON CONFLICT (tenant_id, debounce_key)
              WHERE debounce_key IS NOT NULL AND state = 'available' AND attempt = 0
              DO UPDATE SET args = EXCLUDED.args, run_at = EXCLUDED.run_at,
                            priority = EXCLUDED.priority, max_attempts = EXCLUDED.max_attempts,
                            timeout_ms = EXCLUDED.timeout_ms,
                            correlation_id = EXCLUDED.correlation_id,
                            concurrency_key = EXCLUDED.concurrency_key,
                            concurrency_limit = EXCLUDED.concurrency_limit
              WHERE jobs.kind = EXCLUDED.kind
           RETURNING id, run_at, created_at, concurrency_key, concurrency_limit,
                     (xmax = 0) AS "created!""#,
        Uuid::now_v7(),
        tenant_id,
        job.kind,
        job.args,
        job.priority,
        job.max_attempts,
        debounce.window_ms as f64 / 1000.0,
        job.timeout_ms,
        correlation_id,
        debounce.key,
        job.concurrency_key(),
        job.concurrency_limit()
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| {
        DomainError::Conflict(format!(
            "debounce key {:?} is held by a waiting job of another kind",
            debounce.key
        ))
    })?;
    let created = row.created;
    let row = Inserted {
        id: row.id,
        run_at: row.run_at,
        created_at: row.created_at,
        concurrency_key: row.concurrency_key,
        concurrency_limit: row.concurrency_limit,
    };
    Ok(Enqueued {
        job: job.inserted(row, correlation_id, Utc::now()),
        created,
    })
}
