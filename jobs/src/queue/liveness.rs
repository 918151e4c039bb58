//! Dead-worker detection: a killed worker's jobs run again within a second or two, not after
//! their lease.
//!
//! Each worker holds a session-level advisory lock for its lifetime on the connection it keeps
//! open to LISTEN (key `(LOCK_NAMESPACE, n)`, `n` drawn from `worker_lock_keys` per session), and
//! records `n` in `workers.lock_key` once it holds it. When a worker process dies, the kernel
//! closes its sockets, Postgres ends its backends, and the lock is free. (At once because that
//! session is idle: a backend busy in a query notices its client gone only when the query ends,
//! so nothing but LISTEN and the lock ever runs on it.) Every worker's watch
//! loop tries, every `DEAD_WORKER_CHECK_MS`, the lock of each registered worker not stopped: one
//! it gets belongs to a worker whose session is gone. In one transaction that keeps holding that
//! lock it marks the worker stopped and rescues its running jobs exactly as a lease rescue does
//! (a failed attempt each, dead when it was the last, the completion hook told of dead jobs of
//! groups), so two live workers never both rescue, and the dead worker cannot re-take its lock
//! halfway through.
//!
//! A worker that loses its own session while it lives (a network blip, a terminated backend)
//! sees it at once on the LISTEN connection: it fences itself as when it cannot renew its leases
//! (stops every held job and claims nothing), connects again, takes a new key, records it (no
//! longer stopped), returns the jobs it let go of as failed attempts, and claims again. A rescued
//! job's late outcome is refused by the attempt fence (`ack`).
//!
//! What it cannot see, the lease still covers: a host that vanished without its connections
//! being closed (Postgres holds the backend, and its lock, until TCP keepalive ends it), and a
//! connection pooler in transaction mode, where session locks do not belong to one worker (run
//! workers straight to Postgres or through a session-mode pooler, or set
//! `DEAD_WORKER_CHECK_MS=0`). It never decides from a pid alone: a pid can be reused.

use std::{sync::Arc, time::Duration};

use sqlx::{PgExecutor, postgres::PgListener};

use super::{
    StoredState,
    node::{NodeInner, Rescued, finish_rescue},
};

/// The first half of every worker liveness lock's key: demandflow's worker locks, apart from
/// any other advisory lock in the database (two-number keys never meet one-number keys).
pub(crate) const LOCK_NAMESPACE: i32 = 1_684_406_273;

/// The liveness lock one session holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Held {
    /// The second half of its key (`workers.lock_key`).
    pub key: i32,
    /// The backend of the session holding it (`workers.backend_pid`).
    pub backend_pid: i32,
}

/// Takes a new liveness lock on `conn`'s session; it holds until the session ends.
pub(crate) async fn hold<C>(conn: &mut C) -> Result<Held, sqlx::Error>
where
    for<'c> &'c mut C: PgExecutor<'c>,
{
    loop {
        let row = sqlx::query!(
            r#"SELECT k::int4 AS "key!", pg_backend_pid() AS "backend_pid!",
                      pg_try_advisory_lock($1, k::int4) AS "held!"
               FROM nextval('worker_lock_keys') AS k"#,
            LOCK_NAMESPACE
        )
        .fetch_one(&mut *conn)
        .await?;
        // Keys are unique among live sessions until the sequence wraps; a wrapped key still held
        // is skipped.
        if row.held {
            return Ok(Held {
                key: row.key,
                backend_pid: row.backend_pid,
            });
        }
    }
}

/// The registered workers, other than `me`, not stopped, whose session is gone (their liveness
/// lock is free). It takes each free lock for the length of the statement only: it changes
/// nothing.
pub(crate) async fn dead_workers(
    conn: impl PgExecutor<'_>,
    me: &str,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT id FROM workers
         WHERE stopped_at IS NULL AND lock_key IS NOT NULL AND id <> $1
           AND pg_try_advisory_xact_lock($2, lock_key)
         ORDER BY id",
        me,
        LOCK_NAMESPACE
    )
    .fetch_all(conn)
    .await
}

/// Marks the workers whose session is gone stopped and rescues their running jobs, in one
/// transaction that holds their liveness locks. Returns the workers found dead.
pub(crate) async fn rescue_dead(node: &NodeInner) -> Result<Vec<String>, sqlx::Error> {
    let mut tx = node.pool.begin().await?;
    // `lock_key` is compared again on the row as updated: a worker that took a new lock
    // meanwhile (and recorded it) is alive.
    let dead = sqlx::query_scalar!(
        "WITH free AS (
             SELECT id, lock_key FROM workers
             WHERE stopped_at IS NULL AND lock_key IS NOT NULL AND id <> $1
               AND pg_try_advisory_xact_lock($2, lock_key))
         UPDATE workers w SET stopped_at = now(), in_flight = 0
         FROM free
         WHERE w.id = free.id AND w.lock_key = free.lock_key AND w.stopped_at IS NULL
         RETURNING w.id",
        node.id,
        LOCK_NAMESPACE
    )
    .fetch_all(&mut *tx)
    .await?;
    if dead.is_empty() {
        tx.commit().await?;
        return Ok(dead);
    }
    let rescued = sqlx::query_as!(
        Rescued,
        r#"UPDATE jobs j SET
               state = CASE WHEN j.attempt >= j.max_attempts THEN 'dead' ELSE 'failed' END,
               run_at = now(),
               finished_at = CASE WHEN j.attempt >= j.max_attempts THEN now() END,
               errors = j.errors || jsonb_build_array(jsonb_build_object(
                   'attempt', j.attempt, 'at', now(),
                   'error', 'worker ' || j.locked_by || ' died: its database session ended')),
               locked_by = NULL, lease_expires_at = NULL
           WHERE j.state = 'running' AND j.locked_by = ANY($1)
           RETURNING j.id, j.kind, j.state AS "state: StoredState", j.run_id"#,
        &dead
    )
    .fetch_all(&mut *tx)
    .await?;
    for worker in &dead {
        tracing::warn!(
            dead_worker = %worker,
            "a worker's database session ended: rescuing its jobs"
        );
    }
    finish_rescue(
        node,
        tx,
        rescued,
        "session",
        "rescued a job whose worker died",
    )
    .await?;
    Ok(dead)
}

/// After this process lost its session and took a new lock: records the new key (and that it
/// is not stopped, should another worker have found it dead meanwhile), and returns the jobs it
/// holds in the database but let go of when it fenced itself, as failed attempts.
pub(crate) async fn rejoin(node: &NodeInner, held: Held) -> Result<(), sqlx::Error> {
    let mut tx = node.pool.begin().await?;
    sqlx::query!(
        "UPDATE workers SET lock_key = $2, backend_pid = $3, stopped_at = NULL WHERE id = $1",
        node.id,
        held.key,
        held.backend_pid
    )
    .execute(&mut *tx)
    .await?;
    let tracked = node.in_flight();
    let rescued = sqlx::query_as!(
        Rescued,
        r#"UPDATE jobs j SET
               state = CASE WHEN j.attempt >= j.max_attempts THEN 'dead' ELSE 'failed' END,
               run_at = now(),
               finished_at = CASE WHEN j.attempt >= j.max_attempts THEN now() END,
               errors = j.errors || jsonb_build_array(jsonb_build_object(
                   'attempt', j.attempt, 'at', now(),
                   'error', 'worker ' || j.locked_by || ' lost its database session')),
               locked_by = NULL, lease_expires_at = NULL
           WHERE j.state = 'running' AND j.locked_by = $1 AND NOT (j.id = ANY($2))
           RETURNING j.id, j.kind, j.state AS "state: StoredState", j.run_id"#,
        node.id,
        &tracked
    )
    .fetch_all(&mut *tx)
    .await?;
    finish_rescue(
        node,
        tx,
        rescued,
        "session",
        "returned a job let go of when the session was lost",
    )
    .await?;
    Ok(())
}

/// Connects the LISTEN connection; with `liveness`, its session also takes a liveness lock.
pub(crate) async fn connect(
    pool: &sqlx::PgPool,
    channels: [&str; 2],
    liveness: bool,
) -> Result<(PgListener, Option<Held>), sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    // A lost connection is dropped, not quietly replaced: the caller connects again, and takes a
    // new lock on the new session.
    listener.eager_reconnect(false);
    let held = if liveness {
        Some(hold(&mut listener).await?)
    } else {
        None
    };
    // LISTEN last: `pg_stat_activity` shows the session by it.
    listener.listen_all(channels).await?;
    Ok((listener, held))
}

/// Looks for dead workers every `every` and rescues their jobs, until the node stops.
pub(crate) async fn watch(node: Arc<NodeInner>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tokio::select! {
            _ = node.stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        // A look that hangs must not stop the next one for long.
        let looked = tokio::time::timeout(node.settings.lease, check(&node)).await;
        match looked {
            Ok(Ok(())) => failing = false,
            Ok(Err(e)) if !failing => {
                failing = true;
                tracing::warn!(error = %e, "looking for dead workers failed; trying again");
            }
            Err(_) if !failing => {
                failing = true;
                tracing::warn!("looking for dead workers timed out; trying again");
            }
            _ => {}
        }
    }
}

/// One look: a cheap probe, then a rescue only when it finds a dead worker.
async fn check(node: &NodeInner) -> Result<(), sqlx::Error> {
    if dead_workers(&node.pool, &node.id).await?.is_empty() {
        return Ok(());
    }
    rescue_dead(node).await.map(|_| ())
}

#[cfg(test)]
mod tests;
