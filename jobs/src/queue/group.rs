//! Groups: jobs that a feature built on the queue tracks together, such as the steps of a
//! workflow run.
//!
//! The queue does not know what a group means. A job may belong to one: `jobs.run_id` is the
//! group's id, `jobs.step` the step it was enqueued for and `jobs.item` its index among that
//! step's jobs. The feature owning the groups enqueues into them ([`enqueue_group`]), cancels
//! them ([`cancel_group`]) and puts their failed jobs back ([`retry_group`]).
//!
//! Whenever jobs of a group finish, the queue calls its [`CompletionHook`] inside the transaction
//! that records the change: outcomes written by the completer, a queued job cancelled through
//! [`admin::cancel`](super::admin::cancel), a job dead-lettered by lease rescue. What follows from
//! it (the next steps) commits with it or not at all, and the workers of the kinds the hook names
//! are woken by a NOTIFY delivered at that commit.
//!
//! The hook is handed to the queue at the edges: the worker gives it to
//! [`WorkerNode::start`](super::WorkerNode::start), the api passes it to `admin::cancel`.

use futures::future::BoxFuture;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{CANCEL_CHANNEL, JOBS_CHANNEL, NewJob, enqueue};

/// What the queue calls when jobs of groups finish.
///
/// Called inside the transaction that records the jobs' new states, once per transaction, with
/// every group affected. It may read and write anything in that transaction (it runs while the
/// finished jobs' rows are locked) and returns the kinds of the jobs it enqueued: the queue
/// wakes their workers at commit. An error rolls the whole transaction back.
pub trait CompletionHook: std::fmt::Debug + Send + Sync {
    /// Jobs of `groups` got an outcome in the transaction on `conn`: from the completer any
    /// outcome (a success, a failure to retry or for good, a cancel, a snooze, a park); from
    /// `admin::cancel` a queued job cancelled; from lease rescue a job dead-lettered.
    fn finished<'c>(
        &'c self,
        conn: &'c mut PgConnection,
        groups: &'c [Uuid],
    ) -> BoxFuture<'c, Result<Vec<String>, sqlx::Error>>;
}

/// A hook that does nothing: for a queue that no feature builds groups on (tests, tools).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHook;

impl CompletionHook for NoHook {
    fn finished<'c>(
        &'c self,
        _conn: &'c mut PgConnection,
        _groups: &'c [Uuid],
    ) -> BoxFuture<'c, Result<Vec<String>, sqlx::Error>> {
        Box::pin(async { Ok(vec![]) })
    }
}

/// Tells `hook` that jobs of `groups` finished, on `conn` (the transaction that finished them),
/// and wakes the workers of the kinds it enqueued, at commit. Nothing when `groups` is empty.
pub(crate) async fn finished(
    conn: &mut PgConnection,
    hook: &dyn CompletionHook,
    groups: &[Uuid],
) -> Result<(), sqlx::Error> {
    if groups.is_empty() {
        return Ok(());
    }
    let kinds = hook.finished(conn, groups).await?;
    if !kinds.is_empty() {
        sqlx::query!(
            "SELECT pg_notify($1, k) FROM unnest($2::text[]) AS k",
            JOBS_CHANNEL,
            &kinds
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Where jobs go in a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Group<'a> {
    /// The group's id (`jobs.run_id`).
    pub id: Uuid,
    /// The step the jobs are enqueued for (`jobs.step`); each job's index among them is its
    /// `item`.
    pub step: &'a str,
}

/// Inserts `jobs` into `group`, in one statement on `conn` (the caller's transaction), the i-th
/// job as item i. Call it while the group's own row is locked, so its jobs and its state change
/// together; the caller wakes the workers of their kinds at commit.
pub async fn enqueue_group(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    correlation_id: Option<&str>,
    group: Group<'_>,
    jobs: Vec<NewJob>,
) -> Result<(), sqlx::Error> {
    enqueue::insert(
        conn,
        tenant_id,
        correlation_id,
        Some(group),
        enqueue::Columns::new(jobs),
    )
    .await?;
    Ok(())
}

/// Cancels the jobs of group `group_id`: queued ones at once, running ones told (their holders
/// stop them and record `cancelled`; one that misses the NOTIFY sees the flag at its next
/// heartbeat). With `skip_locked`, rows another transaction holds right now are left alone
/// instead of waited for (they are finishing or being claimed).
///
/// The hook is not called: the caller is the feature that owns the group.
pub async fn cancel_group(
    conn: &mut PgConnection,
    group_id: Uuid,
    skip_locked: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE jobs SET state = 'cancelled', finished_at = now()
           WHERE id IN (SELECT id FROM jobs WHERE run_id = $1 AND state IN ('available', 'failed')
                        AND (NOT $2 OR id IN (SELECT id FROM jobs WHERE run_id = $1
                                              AND state IN ('available', 'failed') FOR UPDATE SKIP LOCKED)))"#,
        group_id,
        skip_locked
    )
    .execute(&mut *conn)
    .await?;
    let told = sqlx::query_scalar!(
        r#"UPDATE jobs SET cancel_requested = true
           WHERE id IN (SELECT id FROM jobs WHERE run_id = $1 AND state = 'running' AND NOT cancel_requested
                        AND (NOT $2 OR id IN (SELECT id FROM jobs WHERE run_id = $1
                                              AND state = 'running' FOR UPDATE SKIP LOCKED)))
           RETURNING id"#,
        group_id,
        skip_locked
    )
    .fetch_all(&mut *conn)
    .await?;
    if !told.is_empty() {
        let ids: Vec<String> = told.iter().map(Uuid::to_string).collect();
        // Delivered at commit; a holder that misses it sees the flag at its next heartbeat.
        sqlx::query!(
            "SELECT pg_notify($1, i) FROM unnest($2::text[]) AS i",
            CANCEL_CHANNEL,
            &ids
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Puts the dead and cancelled jobs of group `group_id` enqueued for `steps` back in the queue,
/// their attempts reset (their error history is kept). Returns the kinds put back, once each:
/// the caller wakes their workers at commit.
pub async fn retry_group(
    conn: &mut PgConnection,
    group_id: Uuid,
    steps: &[String],
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"WITH retried AS (
               UPDATE jobs SET state = 'available', attempt = 0, run_at = now(), finished_at = NULL,
                      started_at = NULL, result = NULL, cancel_requested = false
               WHERE run_id = $1 AND state IN ('dead', 'cancelled') AND step = ANY($2)
               RETURNING kind)
           SELECT DISTINCT kind FROM retried"#,
        group_id,
        steps
    )
    .fetch_all(&mut *conn)
    .await
}
