//! [`PgBackend`]: apalis' source of tasks for one job kind in one worker process.

use std::{
    collections::VecDeque,
    marker::PhantomData,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use apalis_core::{
    backend::{Backend, BackendConfig, finalize::Ephemeral},
    task::{Task, builder::TaskBuilder, task_id::TaskId},
    worker::context::WorkerContext,
};
use futures::{FutureExt, StreamExt, future::BoxFuture, stream::BoxStream};
use serde_json::Value;
use uuid::Uuid;

use super::{
    JobContext,
    ack::{AckLayer, Completion, Outcome},
    node::NodeInner,
};
use crate::kinds::JobKind;

pub(crate) struct Claimed {
    id: Uuid,
    tenant_id: Uuid,
    args: Value,
    attempt: i32,
    max_attempts: i32,
    timeout_ms: Option<i32>,
    correlation_id: Option<String>,
    pickup_ms: f64,
    /// Whether some tenant filled its share: there may be more to claim at once.
    more: bool,
}

/// Claims jobs of kind `K` for one apalis worker.
///
/// The claim is fair across tenants. One statement finds the tenants with work of the kind (a
/// skip scan over `jobs_fetch`, one index probe per tenant), gives each a share of the batch in
/// proportion to its weight (at least one job, and no more than its cap leaves), takes each
/// share from the front of that tenant's own queue with `FOR UPDATE SKIP LOCKED`, and orders
/// the candidates by turn: a tenant's n-th job gets turn `(n - 1 + e) / weight` with `e` drawn
/// from Exp(1), so when there are more candidates than slots (one free slot, many tenants) each
/// tenant wins in proportion to its weight, and no tenant is always first. Priority and wait
/// (`job_claim_rank`: a priority level is worth a minute) order jobs within a tenant only.
/// Jobs whose concurrency key is full are stepped over; the `jobs_slots_take` trigger refuses any
/// that fill up meanwhile, so a limit holds even under concurrent claims.
///
/// It fetches only when the worker has free slots and its buffer is empty, at most
/// [`PREFETCH`] jobs per free slot, in one `UPDATE … FOR UPDATE SKIP LOCKED` statement, and
/// hands them out as slots free up. It fetches again right away while batches come back full, and
/// otherwise sleeps until a NOTIFY for its kind or the poll interval. A database error is logged
/// and retried at the next wake-up: it never stops the worker.
pub struct PgBackend<K> {
    node: Arc<NodeInner>,
    concurrency: usize,
    buffer: VecDeque<Task<K>>,
    fetch: Option<BoxFuture<'static, Result<Vec<Claimed>, sqlx::Error>>>,
    wake: BoxStream<'static, ()>,
    fetch_now: bool,
    /// How many jobs the fetch in flight asked for.
    asked: usize,
    _kind: PhantomData<K>,
}

impl<K> std::fmt::Debug for PgBackend<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgBackend")
            .field("worker", &self.node.id)
            .field("concurrency", &self.concurrency)
            .field("buffered", &self.buffer.len())
            .finish()
    }
}

impl<K: JobKind> PgBackend<K> {
    pub(crate) fn new(node: Arc<NodeInner>, concurrency: usize) -> Self {
        let notify = node.waker(K::KIND);
        let notified = futures::stream::unfold(notify, |n| async move {
            n.notified().await;
            Some(((), n))
        });
        let mut interval = tokio::time::interval(node.settings.poll_interval);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let ticks = futures::stream::unfold(interval, |mut i| async move {
            i.tick().await;
            Some(((), i))
        });
        Self {
            node,
            concurrency: concurrency.max(1),
            buffer: VecDeque::new(),
            fetch: None,
            wake: futures::stream::select(notified, ticks).boxed(),
            fetch_now: true,
            asked: 0,
            _kind: PhantomData,
        }
    }

    fn start_fetch(&mut self, limit: usize) {
        let pool = self.node.pool.clone();
        let worker_id = self.node.id.clone();
        let lease = self.node.settings.lease.as_secs_f64();
        self.fetch =
            Some(async move { claim(&pool, K::KIND, limit, &worker_id, lease).await }.boxed());
    }

    fn accept(&mut self, claimed: Vec<Claimed>) {
        for job in claimed {
            metrics::histogram!("job_pickup_seconds", "kind" => K::KIND)
                .record(job.pickup_ms.max(0.0) / 1000.0);
            let cancel = self.node.track(K::KIND, job.id);
            let ctx = JobContext {
                id: job.id,
                tenant_id: job.tenant_id,
                kind: K::KIND,
                attempt: job.attempt,
                max_attempts: job.max_attempts,
                timeout: job
                    .timeout_ms
                    .map(|ms| Duration::from_millis(ms as u64))
                    .unwrap_or(K::TIMEOUT),
                correlation_id: job.correlation_id,
                cancel,
                backoff: K::BACKOFF,
            };
            match serde_json::from_value::<K>(job.args) {
                Ok(args) => self.buffer.push_back(
                    TaskBuilder::new(args)
                        .task_id(TaskId::from_uuid(job.id))
                        .data(ctx)
                        .build(),
                ),
                Err(e) => {
                    // Stored args no longer fit the kind (a code change?): retrying cannot help.
                    // The job is dead at once and lets go of its slot once that is recorded
                    // (until then it is held like any job whose outcome waits to be written).
                    tracing::error!(job_id = %job.id, kind = K::KIND, error = %e, "stored args do not fit the kind; the job is dead");
                    let (completion, applied) = Completion::new(
                        &ctx,
                        Outcome::Dead(format!(
                            "the stored args do not fit kind {} (written by another version?): {e}",
                            K::KIND
                        )),
                    );
                    let node = self.node.clone();
                    tokio::spawn(async move {
                        if node.completer.send(completion).await.is_ok() {
                            let _ = applied.await;
                        }
                        node.untrack(ctx.id);
                    });
                }
            }
        }
    }
}

impl<K: JobKind> Backend for PgBackend<K> {
    type Task = Task<K>;
    type Error = std::convert::Infallible;

    fn poll_ready(
        &mut self,
        _cx: &mut Context<'_>,
        _worker: &WorkerContext,
    ) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
        worker: &WorkerContext,
    ) -> Poll<Option<Result<Self::Task, Self::Error>>> {
        loop {
            if let Some(task) = self.buffer.pop_front() {
                return Poll::Ready(Some(Ok(task)));
            }
            if let Some(fetch) = self.fetch.as_mut() {
                match fetch.poll_unpin(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(result) => {
                        self.fetch = None;
                        match result {
                            Ok(claimed) => {
                                // A full batch means there may be more: ask again at once.
                                // Compared with what was asked, not with the slots free now:
                                // slots free up while the claim runs, and comparing with
                                // those left a full claim looking short, so a busy queue was
                                // only fetched again at the next poll tick.
                                //
                                // A short batch with `more` set means some tenant filled its
                                // share (the rest of the batch went unused only because the
                                // other tenants had less): ask again at once too.
                                self.fetch_now = !claimed.is_empty()
                                    && (claimed.len() >= self.asked
                                        || claimed.iter().any(|c| c.more));
                                self.accept(claimed);
                            }
                            Err(e) if is_deadlock(&e) => {
                                // Two claims took the slots of two concurrency keys in
                                // opposite orders and Postgres broke the tie: nothing was
                                // claimed, so claim again.
                                tracing::debug!(
                                    kind = K::KIND,
                                    "a claim met another on the slots; claiming again"
                                );
                                self.fetch_now = true;
                            }
                            Err(e) => {
                                tracing::warn!(kind = K::KIND, error = %e, "claiming jobs failed; retrying at the next poll");
                                self.fetch_now = false;
                            }
                        }
                        continue;
                    }
                }
            }
            // Fenced (leases cannot be renewed): claim nothing until the database answers
            // again; the node wakes every kind then.
            if self.fetch_now && self.node.is_fenced() {
                self.fetch_now = false;
            }
            if self.fetch_now {
                self.fetch_now = false;
                let limit = self.claim_limit(worker);
                if limit > 0 {
                    self.asked = limit;
                    self.start_fetch(limit);
                    continue;
                }
                // Too many outcomes not yet committed: wait until some settle (or the poll).
                if self.node.wait_for_settle(K::KIND) < self.max_held() {
                    self.fetch_now = true;
                    continue;
                }
            }
            match self.wake.poll_next_unpin(cx) {
                Poll::Ready(Some(())) => self.fetch_now = true,
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    fn poll_close(
        &mut self,
        _cx: &mut Context<'_>,
        _worker: &WorkerContext,
    ) -> Poll<Result<(), Self::Error>> {
        // Claimed but never started: `WorkerNode::shutdown` returns them to the queue.
        for task in self.buffer.drain(..) {
            if let Ok(ctx) = task.ctx().data().get_checked::<JobContext>() {
                self.node.untrack(ctx.id);
            }
        }
        self.fetch = None;
        Poll::Ready(Ok(()))
    }
}

/// How many claimed jobs of one kind a process may hold beyond its concurrency while their
/// outcomes wait to be committed.
///
/// apalis counts a task (and its concurrency permit) only while the handler runs; the ack layer
/// waits for the outcome's commit outside that count. Without a bound a fast kind claims far
/// ahead of the completer (measured: 21,000 rows `running` in a 60,000-job drain), and the
/// completer's and the heartbeat's statements, which touch every held row, slow down with it.
/// 256 is ample: at 20,000 jobs/s and a 5 ms commit about 100 outcomes wait at a time.
const MAX_UNSETTLED: usize = 256;

/// How many jobs a claim takes per free slot.
///
/// Claiming only the free slots kept claims at about 9 jobs (concurrency 16), and a drain then
/// spent its time on claim statements: 0.21 commits per job, 7,200 jobs/s (pg_stat_statements).
/// A claim now takes up to 8 jobs per free slot and the backend hands them out from its buffer
/// as slots free up; it claims again only once the buffer is empty. Buffered jobs hold their
/// lease meanwhile (renewed by the heartbeat, rescued if the worker dies, returned to the queue
/// on shutdown, cancellable). With short jobs many slots are free at each claim, so claims grow
/// (measured: 12,800–15,200 jobs/s on the same drain); with slow jobs few slots are free at a
/// time, so a worker holds at most 8 jobs per slot that was free, not a whole backlog. (8 per
/// slot of the whole concurrency at every claim drained at 16,800–18,200 jobs/s, but one free
/// slot among slow jobs would then take 8 × concurrency of them.)
const PREFETCH: usize = 8;

impl<K: JobKind> PgBackend<K> {
    fn max_held(&self) -> usize {
        self.concurrency + MAX_UNSETTLED
    }

    /// How many jobs the next claim may take: [`PREFETCH`] per free slot, within
    /// [`MAX_UNSETTLED`] (0 when the kind holds too many).
    fn claim_limit(&self, worker: &WorkerContext) -> usize {
        let room = self.max_held().saturating_sub(self.node.held(K::KIND));
        (self.free_slots(worker) * PREFETCH).min(room)
    }
}

impl<K> PgBackend<K> {
    fn free_slots(&self, worker: &WorkerContext) -> usize {
        self.concurrency.saturating_sub(worker.task_count()).max(1)
    }
}

impl<K: JobKind> BackendConfig for PgBackend<K> {
    type Args = K;
    type Id = Uuid;
    type Kind = Ephemeral;
    type Config = ();
    type Layer = AckLayer;

    fn config(&self) -> &Self::Config {
        &()
    }

    fn middleware(&mut self, _worker: &mut WorkerContext) -> Self::Layer {
        AckLayer::new(self.node.clone())
    }
}

/// One claim of up to `limit` jobs of `kind` for `worker_id` (the statement [`PgBackend`]'s docs
/// describe), committed.
pub(crate) async fn claim(
    pool: &sqlx::PgPool,
    kind: &str,
    limit: usize,
    worker_id: &str,
    lease: f64,
) -> Result<Vec<Claimed>, sqlx::Error> {
    // The claim's commit does not wait for its WAL flush (synchronous_commit off for
    // this transaction only): it is the one commit per batch a worker waits on before
    // it can run anything, and a claim lost with a crash of Postgres itself loses no
    // job: the row is `available` again and is claimed again. The outcome's commit
    // stays synchronous and flushes the claim before it. The cost: after a crash of
    // the database (not of a worker), an attempt that ran may not be counted.
    let mut tx = pool
        .begin_with("BEGIN; SET LOCAL synchronous_commit = off; SET LOCAL jit = off")
        .await?;
    // Fair across tenants: see the type's docs for how the statement works.
    let claimed = sqlx::query_as!(
        Claimed,
        r#"WITH RECURSIVE ready (tenant_id) AS (
    (SELECT tenant_id FROM jobs
     WHERE kind = $1 AND state IN ('available', 'failed')
     ORDER BY tenant_id LIMIT 1)
    UNION ALL
    SELECT (SELECT j.tenant_id FROM jobs j
    WHERE j.kind = $1 AND j.state IN ('available', 'failed') AND j.tenant_id > r.tenant_id
    ORDER BY j.tenant_id LIMIT 1)
    FROM ready r WHERE r.tenant_id IS NOT NULL
),
quota AS (
    SELECT t.id AS tenant_id, t.queue_weight::float8 AS weight,
   least(greatest(1, ceil($2 * t.queue_weight::float8 / sum(t.queue_weight) OVER ())),
         coalesce(t.max_running - coalesce(s.running, 0), $2))::int8 AS take,
   -ln(1.0 - random()) AS head_start
    FROM ready r
    JOIN tenants t ON t.id = r.tenant_id
    LEFT JOIN job_slot_use s ON s.tenant_id = t.id AND s.key = '' AND t.max_running IS NOT NULL
),
-- the keys with jobs running now, and how many: a key without any has room, so the scan below
-- checks its rows against this handful, not against the slot tables row by row
busy AS MATERIALIZED (
    SELECT u.tenant_id, u.key, u.running
    FROM (SELECT DISTINCT r.tenant_id, r.concurrency_key FROM jobs r
          WHERE r.state = 'running' AND r.concurrency_key IS NOT NULL
            AND r.tenant_id IN (SELECT tenant_id FROM quota)) k
    JOIN job_slot_use u ON u.tenant_id = k.tenant_id AND u.key = k.concurrency_key
),
candidates AS (
    SELECT c.id, c.concurrency_key, q.tenant_id, q.take,
   (row_number() OVER (PARTITION BY q.tenant_id ORDER BY c.rank DESC) - 1 + q.head_start)
       / q.weight AS turn,
   -- a key's candidates beyond the room it has left stay where they are
   CASE WHEN c.concurrency_key IS NULL THEN true
        ELSE row_number() OVER (PARTITION BY q.tenant_id, c.concurrency_key ORDER BY c.rank DESC)
             <= c.concurrency_limit - coalesce((
                    SELECT s.running FROM job_slot_use s
                    WHERE s.tenant_id = q.tenant_id AND s.key = c.concurrency_key), 0)
   END AS fits
    FROM quota q
    CROSS JOIN LATERAL (
SELECT j.id, j.concurrency_key, j.concurrency_limit,
       job_claim_rank(j.priority, j.run_at) AS rank
FROM jobs j
WHERE j.kind = $1 AND j.tenant_id = q.tenant_id AND j.state IN ('available', 'failed')
  AND j.run_at <= now()
  AND (j.concurrency_key IS NULL OR NOT EXISTS (
        SELECT 1 FROM busy b
        WHERE b.tenant_id = j.tenant_id AND b.key = j.concurrency_key
          AND b.running >= j.concurrency_limit))
ORDER BY job_claim_rank(j.priority, j.run_at) DESC
LIMIT q.take
FOR UPDATE SKIP LOCKED
    ) c
    WHERE q.take > 0
),
next AS (
    SELECT id, concurrency_key FROM (SELECT * FROM candidates WHERE fits ORDER BY turn LIMIT $2) n
    ORDER BY concurrency_key NULLS FIRST
),
more AS (
    SELECT coalesce(bool_or(n = take), false) AS more
    FROM (SELECT tenant_id, take, count(*) AS n FROM candidates GROUP BY tenant_id, take) c
)
UPDATE jobs j SET state = 'running', attempt = j.attempt + 1, locked_by = $3,
       started_at = now(), lease_expires_at = now() + make_interval(secs => $4)
FROM next, more
WHERE j.id = next.id
RETURNING j.id, j.tenant_id, j.args, j.attempt, j.max_attempts, j.timeout_ms, j.correlation_id,
  (extract(epoch FROM now() - j.run_at) * 1000)::float8 AS "pickup_ms!", more.more AS "more!""#,
        kind,
        limit as i64,
        worker_id,
        lease
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(claimed)
}

/// Whether `e` is Postgres breaking a deadlock (SQLSTATE 40P01).
fn is_deadlock(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|c| c == "40P01")
}

#[cfg(test)]
mod tests;
