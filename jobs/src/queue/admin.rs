//! What the api reads and changes on the queue, always within one tenant: a job of another
//! tenant does not exist here. Every change writes its audit entry in the transaction that makes
//! it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{
    CANCEL_CHANNEL, CompletionHook, Enqueued, Job, JobRow, JobState, NewJob, StoredState, group,
};
use crate::{
    DomainError,
    audit::{self, Actor},
    paging::{self, Page},
};

/// One job of this tenant.
pub async fn get(pool: &PgPool, tenant_id: Uuid, id: Uuid) -> Result<Job, DomainError> {
    sqlx::query_as!(
        JobRow,
        r#"SELECT id, tenant_id, kind, args, state AS "state: StoredState", priority, attempt,
                  max_attempts, run_at, timeout_ms, idempotency_key, correlation_id, result,
                  errors, locked_by, lease_expires_at, cancel_requested, created_at,
                  started_at, finished_at, run_id, step, item, parked_on, parked_reason,
                      singleton_key, debounce_key, concurrency_key, concurrency_limit
           FROM jobs WHERE id = $1 AND tenant_id = $2"#,
        id,
        tenant_id
    )
    .fetch_optional(pool)
    .await?
    .map(Job::from)
    .ok_or(DomainError::NotFound("job"))
}

/// Filters of a job listing.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Only this state.
    pub state: Option<JobState>,
    /// Only this kind.
    pub kind: Option<String>,
    /// Jobs older than this id (the previous page's cursor).
    pub before: Option<Uuid>,
    /// Page size (1 to [`paging::MAX_PAGE`]; clamped into it).
    pub limit: i64,
}

/// Lists this tenant's jobs, newest first, a page at a time.
pub async fn list(
    pool: &PgPool,
    tenant_id: Uuid,
    filter: &ListFilter,
) -> Result<Page<Job>, DomainError> {
    let limit = paging::clamp_limit(filter.limit);
    let rows = sqlx::query_as!(
        JobRow,
        r#"SELECT id, tenant_id, kind, args, state AS "state: StoredState", priority, attempt,
                  max_attempts, run_at, timeout_ms, idempotency_key, correlation_id, result,
                  errors, locked_by, lease_expires_at, cancel_requested, created_at,
                  started_at, finished_at, run_id, step, item, parked_on, parked_reason,
                      singleton_key, debounce_key, concurrency_key, concurrency_limit
           FROM jobs
           WHERE tenant_id = $1
             AND ($2::text IS NULL OR kind = $2)
             AND ($3::uuid IS NULL OR id < $3)
             AND ($4::text IS NULL OR CASE
                    WHEN $4 = 'parked' THEN state = 'available' AND run_at > now() AND parked_on IS NOT NULL
                    WHEN $4 = 'scheduled' THEN state = 'available' AND run_at > now() AND parked_on IS NULL
                    WHEN $4 = 'available' THEN state = 'available' AND run_at <= now()
                    ELSE state = $4 END)
           ORDER BY id DESC
           LIMIT $5"#,
        tenant_id,
        filter.kind,
        filter.before,
        filter.state.map(JobState::as_str),
        limit + 1
    )
    .fetch_all(pool)
    .await?;
    Ok(Page::from_rows(
        rows.into_iter().map(Job::from).collect(),
        limit,
        |j| j.id,
    ))
}

async fn lock(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> Result<JobRow, DomainError> {
    sqlx::query_as!(
        JobRow,
        r#"SELECT id, tenant_id, kind, args, state AS "state: StoredState", priority, attempt,
                  max_attempts, run_at, timeout_ms, idempotency_key, correlation_id, result,
                  errors, locked_by, lease_expires_at, cancel_requested, created_at,
                  started_at, finished_at, run_id, step, item, parked_on, parked_reason,
                      singleton_key, debounce_key, concurrency_key, concurrency_limit
           FROM jobs WHERE id = $1 AND tenant_id = $2 FOR UPDATE"#,
        id,
        tenant_id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(DomainError::NotFound("job"))
}

/// A job as its audit entry keeps it: sealed values (credentials in args) redacted.
fn audited(job: &Job) -> serde_json::Value {
    let mut value = serde_json::to_value(job).unwrap_or_default();
    crate::secrets::redact_sealed(&mut value);
    value
}

/// Enqueues `jobs` for a caller of the api ([`super::enqueue`]), with the audit entry of the
/// jobs it created: `job.create` for a single job, `job.create_batch` (count and ids) for a batch;
/// none when every job replayed an idempotency key.
pub async fn enqueue(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &Actor,
    correlation_id: Option<&str>,
    jobs: &[NewJob],
) -> Result<Vec<Enqueued>, DomainError> {
    let enqueued = super::enqueue(conn, tenant_id, correlation_id, jobs).await?;
    let created: Vec<&Job> = enqueued
        .iter()
        .filter(|e| e.created)
        .map(|e| &e.job)
        .collect();
    let change = match created.as_slice() {
        [] => None,
        [job] if jobs.len() == 1 => Some(audit::Change {
            action: "job.create",
            target_type: "job",
            target_id: job.id.to_string(),
            before: None,
            after: Some(audited(job)),
        }),
        many => Some(audit::Change {
            action: "job.create_batch",
            target_type: "job_batch",
            target_id: many[0].id.to_string(),
            before: None,
            after: Some(serde_json::json!({
                "count": many.len(),
                "job_ids": many.iter().map(|j| j.id).collect::<Vec<_>>(),
            })),
        }),
    };
    if let Some(change) = change {
        audit::record(conn, tenant_id, actor, change).await?;
    }
    Ok(enqueued)
}

/// A job before and after a change.
#[derive(Debug, Clone, PartialEq)]
pub struct Changed {
    /// As it was.
    pub before: Job,
    /// As it is now.
    pub after: Job,
}

/// Records a `job.cancel` or `job.retry` entry for `changed`.
async fn audit_change(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &Actor,
    action: &str,
    changed: &Changed,
) -> Result<(), DomainError> {
    audit::record(
        conn,
        tenant_id,
        actor,
        audit::Change {
            action,
            target_type: "job",
            target_id: changed.after.id.to_string(),
            before: Some(audited(&changed.before)),
            after: Some(audited(&changed.after)),
        },
    )
    .await
}

/// Cancels a job: a queued one at once; a running one is told (its holder stops it and records
/// `cancelled`). A finished job cannot be cancelled. Audited as `job.cancel`.
///
/// A queued job of a group finishes here: `hook` is told in this transaction, as if the
/// completer had recorded the cancellation.
pub async fn cancel(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &Actor,
    id: Uuid,
    hook: &dyn CompletionHook,
) -> Result<Changed, DomainError> {
    let row = lock(conn, tenant_id, id).await?;
    let before = Job::from(row.clone());
    let after: Job = match row.state {
        StoredState::Available | StoredState::Failed => {
            let row = sqlx::query_as!(
                JobRow,
                r#"UPDATE jobs SET state = 'cancelled', finished_at = now(),
                                  parked_on = NULL, parked_reason = NULL
                   WHERE id = $1
                   RETURNING id, tenant_id, kind, args, state AS "state: StoredState", priority,
                             attempt, max_attempts, run_at, timeout_ms, idempotency_key,
                             correlation_id, result, errors, locked_by, lease_expires_at,
                             cancel_requested, created_at, started_at, finished_at, run_id, step,
                             item, parked_on, parked_reason, singleton_key, debounce_key, concurrency_key,
                             concurrency_limit"#,
                id
            )
            .fetch_one(&mut *conn)
            .await?;
            if let Some(group) = row.run_id {
                group::finished(conn, hook, &[group]).await?;
            }
            row.into()
        }
        StoredState::Running => {
            let row = sqlx::query_as!(
                JobRow,
                r#"UPDATE jobs SET cancel_requested = true WHERE id = $1
                   RETURNING id, tenant_id, kind, args, state AS "state: StoredState", priority,
                             attempt, max_attempts, run_at, timeout_ms, idempotency_key,
                             correlation_id, result, errors, locked_by, lease_expires_at,
                             cancel_requested, created_at, started_at, finished_at, run_id, step,
                             item, parked_on, parked_reason, singleton_key, debounce_key, concurrency_key,
                             concurrency_limit"#,
                id
            )
            .fetch_one(&mut *conn)
            .await?;
            // Delivered at commit; a holder that misses it sees the flag at its next heartbeat.
            sqlx::query!("SELECT pg_notify($1, $2)", CANCEL_CHANNEL, id.to_string())
                .execute(&mut *conn)
                .await?;
            row.into()
        }
        state @ (StoredState::Succeeded | StoredState::Dead | StoredState::Cancelled) => {
            return Err(DomainError::Conflict(format!(
                "the job is {state}; only queued or running jobs can be cancelled"
            )));
        }
    };
    let changed = Changed { before, after };
    audit_change(conn, tenant_id, actor, "job.cancel", &changed).await?;
    Ok(changed)
}

/// Puts a dead or cancelled job back in the queue with its attempts reset (its error history
/// is kept). Audited as `job.retry`. A job of a group is refused: its group's owner retries it.
pub async fn retry(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &Actor,
    id: Uuid,
) -> Result<Changed, DomainError> {
    let row = lock(conn, tenant_id, id).await?;
    let before = Job::from(row.clone());
    if !matches!(row.state, StoredState::Dead | StoredState::Cancelled) {
        return Err(DomainError::Conflict(format!(
            "the job is {}; only dead or cancelled jobs can be retried",
            before.state
        )));
    }
    if let Some(run_id) = row.run_id {
        return Err(DomainError::Conflict(format!(
            "the job is a step of workflow run {run_id}: retry the run \
             (POST /api/v1/runs/{run_id}/retry), which re-runs its failed steps"
        )));
    }
    let row = sqlx::query_as!(
        JobRow,
        r#"UPDATE jobs SET state = 'available', attempt = 0, run_at = now(), finished_at = NULL,
                  started_at = NULL, result = NULL, cancel_requested = false
           WHERE id = $1
           RETURNING id, tenant_id, kind, args, state AS "state: StoredState", priority, attempt,
                     max_attempts, run_at, timeout_ms, idempotency_key, correlation_id, result,
                     errors, locked_by, lease_expires_at, cancel_requested, created_at,
                     started_at, finished_at, run_id, step, item, parked_on, parked_reason,
                      singleton_key, debounce_key, concurrency_key,
                             concurrency_limit"#,
        id
    )
    .fetch_one(&mut *conn)
    .await?;
    let changed = Changed {
        before,
        after: row.into(),
    };
    audit_change(conn, tenant_id, actor, "job.retry", &changed).await?;
    Ok(changed)
}

/// Deletes a finished job (succeeded, dead or cancelled). Audited as `job.delete`.
pub async fn delete(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &Actor,
    id: Uuid,
) -> Result<Job, DomainError> {
    let row = lock(conn, tenant_id, id).await?;
    if !row.state.is_finished() {
        return Err(DomainError::Conflict(
            "only finished jobs (succeeded, dead or cancelled) can be deleted; cancel it first"
                .into(),
        ));
    }
    sqlx::query!("DELETE FROM jobs WHERE id = $1", id)
        .execute(&mut *conn)
        .await?;
    let deleted = Job::from(row);
    audit::record(
        conn,
        tenant_id,
        actor,
        audit::Change {
            action: "job.delete",
            target_type: "job",
            target_id: id.to_string(),
            before: Some(audited(&deleted)),
            after: None,
        },
    )
    .await?;
    Ok(deleted)
}

/// One queue's numbers, for one tenant.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct QueueStats {
    /// The kind.
    pub kind: String,
    /// Jobs per state (every state listed, zeros included).
    pub counts: Vec<(JobState, i64)>,
    /// Seconds the oldest available job has waited.
    pub oldest_available_age_secs: Option<f64>,
    /// Jobs that succeeded in the last minute.
    pub completed_last_minute: i64,
}

/// Per kind: counts by state, the age of the oldest available job, and completions in the last
/// minute. Every known kind is listed, even when empty.
pub async fn queues(pool: &PgPool, tenant_id: Uuid) -> Result<Vec<QueueStats>, DomainError> {
    let rows = sqlx::query!(
        r#"SELECT kind AS "kind!",
                  CASE WHEN state = 'available' AND run_at > now() AND parked_on IS NOT NULL THEN 'parked'
                       WHEN state = 'available' AND run_at > now() THEN 'scheduled'
                       ELSE state END AS "state!: JobState",
                  count(*) AS "count!",
                  extract(epoch FROM now() - min(run_at) FILTER (WHERE state IN ('available', 'failed') AND run_at <= now()))::float8 AS oldest,
                  count(*) FILTER (WHERE state = 'succeeded' AND finished_at > now() - interval '1 minute') AS "recent!"
           FROM jobs WHERE tenant_id = $1
           GROUP BY 1, 2"#,
        tenant_id
    )
    .fetch_all(pool)
    .await?;
    let mut names: Vec<String> = crate::kinds::ALL
        .iter()
        .map(|k| k.name.to_owned())
        .collect();
    for r in &rows {
        if !names.contains(&r.kind) {
            names.push(r.kind.clone());
        }
    }
    Ok(names
        .into_iter()
        .map(|kind| {
            let mine: Vec<_> = rows.iter().filter(|r| r.kind == kind).collect();
            let counts = JobState::ALL
                .iter()
                .map(|s| {
                    let n = mine.iter().filter(|r| r.state == *s).map(|r| r.count).sum();
                    (*s, n)
                })
                .collect();
            QueueStats {
                oldest_available_age_secs: mine.iter().filter_map(|r| r.oldest).reduce(f64::max),
                completed_last_minute: mine.iter().map(|r| r.recent).sum(),
                counts,
                kind,
            }
        })
        .collect())
}

/// A live worker process.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkerInfo {
    /// Its identity (host, pid, random suffix: unique per start).
    pub id: String,
    /// The host it runs on.
    pub host: String,
    /// Its process id.
    pub pid: i32,
    /// The kinds it runs.
    pub kinds: Vec<String>,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// Its last heartbeat.
    pub last_heartbeat_at: DateTime<Utc>,
    /// Jobs it held at that heartbeat.
    pub in_flight: i32,
}

/// Worker processes that heartbeated within `stale_after` and have not stopped.
pub async fn workers(
    pool: &PgPool,
    stale_after: std::time::Duration,
) -> Result<Vec<WorkerInfo>, DomainError> {
    let rows = sqlx::query_as!(
        WorkerInfo,
        r#"SELECT id, host, pid, kinds, started_at, last_heartbeat_at, in_flight FROM workers
           WHERE stopped_at IS NULL AND last_heartbeat_at > now() - make_interval(secs => $1)
           ORDER BY started_at"#,
        stale_after.as_secs_f64()
    )
    .fetch_all(pool)
    .await?;
    Ok(rows)
}

/// Jobs per kind and stored state across every tenant, for the `/metrics` gauges.
pub async fn depth(pool: &PgPool) -> Result<Vec<(String, String, i64)>, DomainError> {
    let rows = sqlx::query!(
        r#"SELECT kind AS "kind!", state AS "state!", count(*) AS "count!"
           FROM jobs WHERE state IN ('available', 'running', 'failed') GROUP BY 1, 2"#
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.kind, r.state, r.count))
        .collect())
}
