//! What happens around and after each attempt: timeout, cancellation, tracing, metrics, and the
//! durable record of the outcome.
//!
//! Outcomes go to one completer task per process, which writes whatever has queued up in one
//! transaction (two statements at most), so the commit cost is shared by every job that finished
//! meanwhile, without waiting for a timer. An attempt is reported done only after its outcome is
//! committed. Every write is fenced on `(id, attempt, locked_by)`: if the lease was lost and the
//! job rescued, this worker's late outcome changes nothing.

use std::{
    collections::HashSet,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use apalis_core::{error::BoxDynError, task::Task};
use futures::future::BoxFuture;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tower_layer::Layer;
use tower_service::Service;
use tracing::Instrument;
use uuid::Uuid;

use super::{JobContext, JobError, node::NodeInner};
use crate::{kinds::Backoff, text};

/// The longest a retry is put off, whatever the backoff or `Retry-After` says.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(24 * 3600);
/// The longest a job is parked before it checks again (a budget's month).
const MAX_PARK: Duration = Duration::from_secs(32 * 24 * 3600);
/// Most outcomes written in one transaction.
const MAX_BATCH: usize = 1000;

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    Succeeded(Value),
    Retry {
        error: String,
        delay: Duration,
    },
    Dead(String),
    Cancelled,
    /// Not run (a limit or a circuit): back to `available` after `delay`, the attempt given back.
    Snoozed(Duration),
    /// Not run (an exhausted budget): parked until `delay` has passed or `on` is lifted, the
    /// attempt given back.
    Parked {
        delay: Duration,
        on: String,
        reason: String,
    },
}

impl Outcome {
    fn label(&self) -> &'static str {
        match self {
            Outcome::Succeeded(_) => "succeeded",
            Outcome::Retry { .. } => "failed",
            Outcome::Dead(_) => "dead",
            Outcome::Cancelled => "cancelled",
            Outcome::Snoozed(_) => "snoozed",
            Outcome::Parked { .. } => "parked",
        }
    }

    /// A failure: retried after the backoff while attempts remain, dead otherwise.
    fn failure(ctx: &JobContext, error: String, retry_after: Option<Duration>) -> Self {
        Self::failure_of(
            ctx.attempt,
            ctx.max_attempts,
            ctx.backoff,
            error,
            retry_after,
        )
    }

    fn failure_of(
        attempt: i32,
        max_attempts: i32,
        backoff: Backoff,
        error: String,
        retry_after: Option<Duration>,
    ) -> Self {
        if attempt >= max_attempts {
            return Outcome::Dead(error);
        }
        let delay = backoff
            .delay(attempt.max(1) as u32)
            .max(retry_after.unwrap_or_default())
            .min(MAX_RETRY_DELAY);
        Outcome::Retry { error, delay }
    }

    fn from_error(ctx: &JobContext, error: BoxDynError) -> Self {
        match error.downcast::<JobError>() {
            Ok(job_error) => match *job_error {
                JobError::Permanent(message) => Outcome::Dead(message),
                JobError::Retry {
                    message,
                    retry_after,
                } => Outcome::failure(ctx, message, retry_after),
                JobError::Snooze { delay, .. } => Outcome::Snoozed(delay.min(MAX_RETRY_DELAY)),
                JobError::Park { reason, on, until } => Outcome::Parked {
                    // Never less than a second: a hold that just ended is re-checked, not spun on.
                    delay: (until - chrono::Utc::now())
                        .to_std()
                        .unwrap_or_default()
                        .clamp(Duration::from_secs(1), MAX_PARK),
                    on,
                    reason,
                },
            },
            Err(other) => Outcome::failure(ctx, other.to_string(), None),
        }
    }
}

pub(crate) struct Completion {
    id: Uuid,
    attempt: i32,
    max_attempts: i32,
    backoff: Backoff,
    outcome: Outcome,
    /// How often Postgres refused this outcome when written alone.
    refusals: u8,
    /// Whether `outcome` already replaced one that could not be stored.
    replaced: bool,
    done: Option<oneshot::Sender<bool>>,
}

impl Completion {
    /// A completion and the receiver that says whether it was applied.
    pub fn new(ctx: &JobContext, outcome: Outcome) -> (Self, oneshot::Receiver<bool>) {
        let (tx, rx) = oneshot::channel();
        (
            Self {
                id: ctx.id,
                attempt: ctx.attempt,
                max_attempts: ctx.max_attempts,
                backoff: ctx.backoff,
                outcome,
                refusals: 0,
                replaced: false,
                done: Some(tx),
            },
            rx,
        )
    }

    /// Counts a refusal of this outcome written alone. The second one replaces the outcome by a
    /// failed attempt saying why (retried while attempts remain); returns false when even that
    /// was refused twice: the outcome is given up (the lease, no longer renewed, expires and the
    /// job is rescued).
    fn refused(&mut self, error: &sqlx::Error) -> bool {
        self.refusals += 1;
        if self.refusals < 2 {
            return true;
        }
        if self.replaced {
            tracing::error!(job_id = %self.id, %error, "even the failure could not be recorded; giving the job up to lease rescue");
            return false;
        }
        tracing::error!(job_id = %self.id, %error, outcome = self.outcome.label(), "the outcome could not be stored; recording a failed attempt instead");
        self.outcome = Outcome::failure_of(
            self.attempt,
            self.max_attempts,
            self.backoff,
            format!("the outcome could not be stored: {error}"),
            None,
        );
        self.refusals = 0;
        self.replaced = true;
        true
    }
}

/// Whether a failed write was refused by Postgres for what it was asked to store (a value out of
/// range, a constraint, a trigger, the completion hook's own error), rather than lost on the way
/// (a dropped connection, a restart, a failover, a deadlock): only the former is the outcome's
/// fault, and retrying it unchanged can never succeed.
fn refused(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => {
            let class = db.code().and_then(|c| c.get(..2).map(str::to_owned));
            // 08 connection, 25 read-only (failover), 40 rollback (deadlock, serialization),
            // 53 resources, 57 operator intervention (shutdown, terminate), 58 system, XX internal.
            !matches!(
                class.as_deref(),
                Some("08" | "25" | "40" | "53" | "57" | "58" | "XX") | None
            )
        }
        sqlx::Error::Encode(_) => true,
        _ => false,
    }
}

/// The layer every [`PgBackend`](super::PgBackend) puts around its worker's service.
#[derive(Clone)]
pub struct AckLayer {
    node: Arc<NodeInner>,
}

impl AckLayer {
    pub(crate) fn new(node: Arc<NodeInner>) -> Self {
        Self { node }
    }
}

impl<S> Layer<S> for AckLayer {
    type Service = AckService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AckService {
            inner,
            node: self.node.clone(),
        }
    }
}

/// The service [`AckLayer`] makes.
#[derive(Clone)]
pub struct AckService<S> {
    inner: S,
    node: Arc<NodeInner>,
}

impl<S, Args> Service<Task<Args>> for AckService<S>
where
    S: Service<Task<Args>>,
    S::Future: Send + 'static,
    S::Response: Serialize + Send + 'static,
    S::Error: Into<BoxDynError>,
{
    type Response = ();
    type Error = BoxDynError;
    type Future = BoxFuture<'static, Result<(), BoxDynError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, task: Task<Args>) -> Self::Future {
        let Ok(ctx) = task.ctx().data().get_checked::<JobContext>().cloned() else {
            return Box::pin(async {
                Err("a task reached the ack layer without its job context".into())
            });
        };
        let span = tracing::info_span!(
            "job",
            kind = ctx.kind,
            job_id = %ctx.id,
            attempt = ctx.attempt,
            correlation_id = ctx.correlation_id.as_deref().unwrap_or(""),
        );
        let attempt = self.inner.call(task);
        let node = self.node.clone();
        Box::pin(
            async move {
                metrics::counter!("jobs_started_total", "kind" => ctx.kind).increment(1);
                tracing::debug!("attempt started");
                let started = std::time::Instant::now();
                let outcome = tokio::select! {
                    biased;
                    _ = ctx.cancel.cancelled() => Outcome::Cancelled,
                    result = tokio::time::timeout(ctx.timeout, attempt) => match result {
                        Ok(Ok(value)) => match serde_json::to_value(value) {
                            Ok(v) => Outcome::Succeeded(v),
                            Err(e) => Outcome::Dead(format!("the handler's result is not JSON: {e}")),
                        },
                        Ok(Err(e)) => Outcome::from_error(&ctx, e.into()),
                        Err(_) => Outcome::failure(
                            &ctx,
                            format!("timed out after {} ms", ctx.timeout.as_millis()),
                            None,
                        ),
                    },
                };
                if matches!(outcome, Outcome::Cancelled) && node.take_abandoned(ctx.id) {
                    // Fenced: this worker could not renew the lease, so the job is another
                    // worker's to rescue; nothing is recorded here.
                    tracing::warn!("attempt abandoned: this worker lost the database; the job will be rescued");
                    return Ok(());
                }
                let elapsed = started.elapsed().as_secs_f64();
                metrics::histogram!("job_duration_seconds", "kind" => ctx.kind).record(elapsed);
                let label = outcome.label();
                metrics::counter!(format!("jobs_{label}_total"), "kind" => ctx.kind).increment(1);
                match &outcome {
                    Outcome::Succeeded(_) => tracing::info!(elapsed_ms = elapsed * 1000.0, "job succeeded"),
                    Outcome::Retry { error, delay } => tracing::warn!(%error, retry_in_ms = delay.as_millis() as u64, "attempt failed; will retry"),
                    Outcome::Dead(error) => tracing::error!(%error, "job is dead"),
                    Outcome::Cancelled => tracing::info!("job cancelled"),
                    Outcome::Snoozed(delay) => tracing::debug!(delay_ms = delay.as_millis() as u64, "job snoozed; no attempt spent"),
                    Outcome::Parked { delay, reason, .. } => tracing::info!(%reason, resume_in_ms = delay.as_millis() as u64, "job parked; no attempt spent"),
                }
                let (completion, applied) = Completion::new(&ctx, outcome);
                let sent = node.completer.send(completion).await;
                let applied = match sent {
                    Ok(()) => applied.await.unwrap_or(false),
                    Err(_) => false,
                };
                node.untrack(ctx.id);
                if !applied {
                    tracing::warn!("outcome not recorded: the lease was lost (the job was rescued, cancelled or released)");
                }
                Ok(())
            }
            .instrument(span),
        )
    }
}

struct Batch {
    ok_ids: Vec<Uuid>,
    ok_attempts: Vec<i32>,
    ok_results: Vec<Value>,
    ids: Vec<Uuid>,
    attempts: Vec<i32>,
    states: Vec<String>,
    delays: Vec<f64>,
    errors: Vec<Option<String>>,
    parked_on: Vec<Option<String>>,
}

impl Batch {
    fn of(items: &[Completion]) -> Self {
        let mut b = Batch {
            ok_ids: vec![],
            ok_attempts: vec![],
            ok_results: vec![],
            ids: vec![],
            attempts: vec![],
            states: vec![],
            delays: vec![],
            errors: vec![],
            parked_on: vec![],
        };
        for c in items {
            match &c.outcome {
                // The one place outcomes are written: no string in them can make Postgres refuse
                // the write (NUL), whatever a handler returned or an error said.
                Outcome::Succeeded(v) => {
                    b.ok_ids.push(c.id);
                    b.ok_attempts.push(c.attempt);
                    b.ok_results.push(text::storable_json(v.clone()));
                }
                other => {
                    b.ids.push(c.id);
                    b.attempts.push(c.attempt);
                    b.states.push(other.label().to_owned());
                    let (delay, error, parked_on) = match other {
                        Outcome::Retry { error, delay } => {
                            (delay.as_secs_f64(), Some(error.clone()), None)
                        }
                        Outcome::Dead(error) => (0.0, Some(error.clone()), None),
                        Outcome::Snoozed(delay) => (delay.as_secs_f64(), None, None),
                        // The reason rides in `error` (it is not an attempt's error: see below).
                        Outcome::Parked { delay, on, reason } => (
                            delay.as_secs_f64(),
                            Some(reason.clone()),
                            Some(text::storable(on).into_owned()),
                        ),
                        _ => (0.0, None, None),
                    };
                    b.delays.push(delay);
                    b.errors
                        .push(error.map(|e| text::storable(&e).into_owned()));
                    b.parked_on.push(parked_on);
                }
            }
        }
        b
    }

    async fn write(&self, node: &NodeInner) -> Result<Vec<Uuid>, sqlx::Error> {
        let mut tx = node.pool.begin().await?;
        let mut applied: Vec<Applied> = Vec::with_capacity(self.ok_ids.len() + self.ids.len());
        if !self.ok_ids.is_empty() {
            applied.extend(
                sqlx::query_as!(
                    Applied,
                    r#"UPDATE jobs j SET state = 'succeeded', result = c.result, finished_at = now(),
                              locked_by = NULL, lease_expires_at = NULL,
                              parked_on = NULL, parked_reason = NULL
                       FROM unnest($1::uuid[], $2::int4[], $3::jsonb[]) AS c(id, attempt, result)
                       WHERE j.id = c.id AND j.attempt = c.attempt AND j.state = 'running' AND j.locked_by = $4
                       RETURNING j.id, j.run_id"#,
                    &self.ok_ids,
                    &self.ok_attempts,
                    &self.ok_results,
                    node.id
                )
                .fetch_all(&mut *tx)
                .await?,
            );
        }
        if !self.ids.is_empty() {
            applied.extend(
                sqlx::query_as!(
                    Applied,
                    r#"UPDATE jobs j SET
                           state = CASE WHEN c.state IN ('snoozed', 'parked') THEN 'available' ELSE c.state END,
                           attempt = CASE WHEN c.state IN ('snoozed', 'parked') THEN greatest(j.attempt - 1, 0) ELSE j.attempt END,
                           run_at = CASE WHEN c.state IN ('failed', 'snoozed', 'parked') THEN now() + make_interval(secs => c.delay) ELSE j.run_at END,
                           finished_at = CASE WHEN c.state IN ('failed', 'snoozed', 'parked') THEN NULL ELSE now() END,
                           errors = CASE WHEN c.error IS NULL OR c.state = 'parked' THEN j.errors
                                    ELSE j.errors || jsonb_build_array(jsonb_build_object(
                                        'attempt', j.attempt, 'at', now(), 'error', c.error)) END,
                           parked_on = c.parked_on,
                           parked_reason = CASE WHEN c.state = 'parked' THEN c.error END,
                           locked_by = NULL, lease_expires_at = NULL
                       FROM unnest($1::uuid[], $2::int4[], $3::text[], $4::float8[], $5::text[], $7::text[])
                            AS c(id, attempt, state, delay, error, parked_on)
                       WHERE j.id = c.id AND j.attempt = c.attempt AND j.state = 'running' AND j.locked_by = $6
                       RETURNING j.id, j.run_id"#,
                    &self.ids,
                    &self.attempts,
                    &self.states,
                    &self.delays,
                    &self.errors as &[Option<String>],
                    node.id,
                    &self.parked_on as &[Option<String>]
                )
                .fetch_all(&mut *tx)
                .await?,
            );
        }
        // Jobs of groups (a workflow run's steps): what follows from their outcomes is done by
        // the completion hook in this same transaction, so both commit together. Workers of the
        // kinds it enqueued are woken by NOTIFY, delivered at commit.
        let groups: Vec<Uuid> = applied.iter().filter_map(|a| a.run_id).collect();
        super::group::finished(&mut tx, node.hook.as_ref(), &groups).await?;
        tx.commit().await?;
        Ok(applied.into_iter().map(|a| a.id).collect())
    }
}

/// A row an outcome was written to.
struct Applied {
    id: Uuid,
    run_id: Option<Uuid>,
}

/// Writes outcomes as they come, batching whatever queued up while the last write ran.
pub(crate) async fn run_completer(node: Arc<NodeInner>, mut rx: mpsc::Receiver<Completion>) {
    let mut items: Vec<Completion> = Vec::new();
    loop {
        if items.is_empty() {
            tokio::select! {
                next = rx.recv() => match next {
                    Some(c) => items.push(c),
                    None => return,
                },
                // Stopping: write what is left, then end.
                _ = node.stop.cancelled() => match rx.try_recv() {
                    Ok(c) => items.push(c),
                    Err(_) => return,
                },
            }
        }
        while items.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(c) => items.push(c),
                Err(_) => break,
            }
        }
        let waiting: Vec<(Uuid, oneshot::Sender<bool>)> = items
            .iter_mut()
            .filter_map(|c| c.done.take().map(|d| (c.id, d)))
            .collect();
        let applied = record(&node, std::mem::take(&mut items)).await;
        for (id, done) in waiting {
            let _ = done.send(applied.contains(&id));
        }
    }
}

/// Writes `items`' outcomes and returns the ids they were applied to.
///
/// A write lost on the way (the database unreachable, restarting) is retried with a growing
/// pause until it goes through. A batch Postgres refuses is written again item by item, so the
/// outcomes it can store are stored at once; an outcome refused twice on its own is replaced by
/// a failed attempt saying why (see [`Completion::refused`]), so one job's outcome never holds
/// up the others.
async fn record(node: &NodeInner, mut items: Vec<Completion>) -> HashSet<Uuid> {
    let mut applied = HashSet::new();
    let mut wait = Duration::from_millis(50);
    while !items.is_empty() {
        let error = match Batch::of(&items).write(node).await {
            Ok(ids) => {
                applied.extend(ids);
                break;
            }
            Err(e) => e,
        };
        if node.is_stopping() {
            tracing::error!(%error, pending = items.len(), "could not record outcomes during shutdown; their leases will expire and the jobs will be rescued");
            break;
        }
        if !refused(&error) {
            tracing::warn!(%error, pending = items.len(), "recording outcomes failed; retrying");
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(5));
            continue;
        }
        if items.len() == 1 {
            if !items[0].refused(&error) {
                items.clear();
            }
            continue;
        }
        tracing::warn!(%error, pending = items.len(), "outcomes refused; writing them one by one");
        let mut left = Vec::new();
        for mut c in items {
            match Batch::of(std::slice::from_ref(&c)).write(node).await {
                Ok(ids) => applied.extend(ids),
                Err(e) if !refused(&e) => left.push(c),
                Err(e) => {
                    if c.refused(&e) {
                        left.push(c);
                    }
                }
            }
        }
        items = left;
    }
    applied
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::Backoff;

    fn ctx(attempt: i32, max_attempts: i32) -> JobContext {
        JobContext {
            id: Uuid::now_v7(),
            tenant_id: Uuid::now_v7(),
            kind: "noop",
            attempt,
            max_attempts,
            timeout: Duration::from_secs(1),
            correlation_id: None,
            cancel: Default::default(),
            backoff: Backoff {
                base: Duration::from_secs(1),
                cap: Duration::from_secs(8),
            },
        }
    }

    #[test]
    fn failures_retry_until_attempts_run_out() {
        let retry = Outcome::from_error(&ctx(1, 3), Box::new(JobError::retry("boom")));
        assert!(
            matches!(retry, Outcome::Retry { ref error, delay } if error == "boom" && delay <= Duration::from_secs(1))
        );
        let dead = Outcome::from_error(&ctx(3, 3), Box::new(JobError::retry("boom")));
        assert_eq!(dead, Outcome::Dead("boom".into()));
    }

    #[test]
    fn permanent_failures_are_dead_at_once() {
        let dead = Outcome::from_error(&ctx(1, 10), Box::new(JobError::permanent("404")));
        assert_eq!(dead, Outcome::Dead("404".into()));
    }

    #[test]
    fn retry_after_is_honoured_when_longer_than_the_backoff() {
        let e = JobError::Retry {
            message: "slow down".into(),
            retry_after: Some(Duration::from_secs(120)),
        };
        let Outcome::Retry { delay, .. } = Outcome::from_error(&ctx(1, 5), Box::new(e)) else {
            panic!("expected a retry");
        };
        assert_eq!(delay, Duration::from_secs(120));
    }

    /// A queued noop job of a new tenant, and a worker node that will not claim it by itself
    /// (no kinds, an hour between polls): the tests play the holder's part by hand.
    async fn queued_job_and_idle_node(
        pool: &sqlx::PgPool,
    ) -> (uuid::Uuid, crate::queue::Job, crate::queue::WorkerNode) {
        use crate::{
            auth,
            kinds::noop::Noop,
            queue::{NewJob, NoHook, NodeSettings, WorkerNode, enqueue},
        };
        let mut conn = pool.acquire().await.unwrap();
        let tenant = auth::ensure_tenant(&mut conn, "t").await.unwrap();
        let job = enqueue(
            &mut conn,
            tenant,
            None,
            &[NewJob::new(&Noop::default()).unwrap()],
        )
        .await
        .unwrap()
        .remove(0)
        .job;
        let settings = NodeSettings {
            poll_interval: Duration::from_secs(3600),
            ..Default::default()
        };
        let node = WorkerNode::start(pool.clone(), settings, &[], Arc::new(NoHook))
            .await
            .unwrap();
        (tenant, job, node)
    }

    #[sqlx::test(migrator = "crate::db::MIGRATOR")]
    async fn a_stale_holder_cannot_overwrite_a_rescued_job(pool: sqlx::PgPool) {
        let (_, job, node) = queued_job_and_idle_node(&pool).await;
        // This node held attempt 1; its lease expired and another worker now runs attempt 2.
        sqlx::query("UPDATE jobs SET state = 'running', attempt = 2, locked_by = 'other-worker' WHERE id = $1")
            .bind(job.id)
            .execute(&pool)
            .await
            .unwrap();
        let mut stale = ctx(1, 3);
        stale.id = job.id;
        let (late, applied) = Completion::new(
            &stale,
            Outcome::Succeeded(serde_json::json!({"late": true})),
        );
        node.inner().completer.send(late).await.unwrap();
        assert!(!applied.await.unwrap(), "the stale outcome must not apply");
        let (state, attempt, holder): (String, i32, Option<String>) =
            sqlx::query_as("SELECT state, attempt, locked_by FROM jobs WHERE id = $1")
                .bind(job.id)
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!(
            (state.as_str(), attempt, holder.as_deref()),
            ("running", 2, Some("other-worker"))
        );

        // The current holder's outcome does apply.
        sqlx::query("UPDATE jobs SET locked_by = $2 WHERE id = $1")
            .bind(job.id)
            .bind(node.id())
            .execute(&pool)
            .await
            .unwrap();
        let mut current = ctx(2, 3);
        current.id = job.id;
        let (ok, applied) = Completion::new(
            &current,
            Outcome::Retry {
                error: "boom".into(),
                delay: Duration::from_secs(60),
            },
        );
        node.inner().completer.send(ok).await.unwrap();
        assert!(applied.await.unwrap());
        let (state, errors, later): (String, serde_json::Value, bool) = sqlx::query_as(
            "SELECT state, errors, run_at > now() + interval '50 seconds' FROM jobs WHERE id = $1",
        )
        .bind(job.id)
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(state, "failed");
        assert_eq!(errors[0]["attempt"], 2);
        assert!(later, "the backoff is written to run_at");
        node.shutdown().await.unwrap();
    }

    #[sqlx::test(migrator = "crate::db::MIGRATOR")]
    async fn a_snoozed_job_waits_without_spending_an_attempt(pool: sqlx::PgPool) {
        let (_, job, node) = queued_job_and_idle_node(&pool).await;
        sqlx::query("UPDATE jobs SET state = 'running', attempt = 1, locked_by = $2 WHERE id = $1")
            .bind(job.id)
            .bind(node.id())
            .execute(&pool)
            .await
            .unwrap();
        let mut held = ctx(1, 3);
        held.id = job.id;
        let e = JobError::snooze("rate_limit on example.com", Duration::from_secs(30));
        let (c, applied) = Completion::new(&held, Outcome::from_error(&held, Box::new(e)));
        node.inner().completer.send(c).await.unwrap();
        assert!(applied.await.unwrap());
        let (state, attempt, errors, later): (String, i32, serde_json::Value, bool) = sqlx::query_as(
            "SELECT state, attempt, errors, run_at > now() + interval '25 seconds' FROM jobs WHERE id = $1",
        )
        .bind(job.id)
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(
            (state.as_str(), attempt),
            ("available", 0),
            "the attempt is given back"
        );
        assert_eq!(errors, serde_json::json!([]), "a snooze is not a failure");
        assert!(later, "it waits for its slot");
        node.shutdown().await.unwrap();
    }

    #[sqlx::test(migrator = "crate::db::MIGRATOR")]
    async fn a_parked_job_shows_why_and_spends_no_attempt(pool: sqlx::PgPool) {
        use crate::queue::{JobState, admin};
        let (tenant, job, node) = queued_job_and_idle_node(&pool).await;
        sqlx::query("UPDATE jobs SET state = 'running', attempt = 2, locked_by = $2 WHERE id = $1")
            .bind(job.id)
            .bind(node.id())
            .execute(&pool)
            .await
            .unwrap();
        let mut held = ctx(2, 3);
        held.id = job.id;
        let until = chrono::Utc::now() + chrono::Duration::hours(3);
        let e = JobError::Park {
            reason: "the day budget is exhausted".into(),
            on: "budget:x".into(),
            until,
        };
        let (c, applied) = Completion::new(&held, Outcome::from_error(&held, Box::new(e)));
        node.inner().completer.send(c).await.unwrap();
        assert!(applied.await.unwrap());
        let parked = admin::get(&pool, tenant, job.id).await.unwrap();
        assert_eq!(parked.state, JobState::Parked);
        assert_eq!(parked.attempts, 1, "the attempt is given back");
        assert!(parked.errors.is_empty(), "parking is not a failure");
        assert_eq!(
            parked.parked_reason.as_deref(),
            Some("the day budget is exhausted")
        );
        let drift = (parked.run_at - until).num_seconds().abs();
        assert!(drift <= 2, "it resumes when the hold ends: {drift} s off");
        node.shutdown().await.unwrap();
    }

    /// Marks `job` as held by `node` in its attempt `attempt`, as a claim would.
    async fn hold(pool: &sqlx::PgPool, node: &crate::queue::WorkerNode, id: Uuid, attempt: i32) {
        sqlx::query(
            "UPDATE jobs SET state = 'running', attempt = $3, locked_by = $2 WHERE id = $1",
        )
        .bind(id)
        .bind(node.id())
        .bind(attempt)
        .execute(pool)
        .await
        .unwrap();
    }

    #[sqlx::test(migrator = "crate::db::MIGRATOR")]
    async fn nul_characters_in_results_and_errors_are_stored_replaced(pool: sqlx::PgPool) {
        use crate::queue::{NewJob, enqueue};
        let (tenant, first, node) = queued_job_and_idle_node(&pool).await;
        let mut conn = pool.acquire().await.unwrap();
        let second = enqueue(
            &mut conn,
            tenant,
            None,
            &[NewJob::new(&crate::kinds::noop::Noop::default()).unwrap()],
        )
        .await
        .unwrap()
        .remove(0)
        .job;
        hold(&pool, &node, first.id, 1).await;
        hold(&pool, &node, second.id, 1).await;
        let mut a = ctx(1, 3);
        a.id = first.id;
        let mut b = ctx(1, 3);
        b.id = second.id;
        let (ok, ok_applied) = Completion::new(
            &a,
            Outcome::Succeeded(serde_json::json!({"body": "PNG\u{0}\u{1}", "k\u{0}": 1})),
        );
        let (failed, failed_applied) = Completion::new(
            &b,
            Outcome::Retry {
                error: "answer: \u{0}\u{0}".into(),
                delay: Duration::from_secs(60),
            },
        );
        node.inner().completer.send(ok).await.unwrap();
        node.inner().completer.send(failed).await.unwrap();
        let within = Duration::from_secs(10);
        assert!(
            tokio::time::timeout(within, ok_applied)
                .await
                .unwrap()
                .unwrap()
        );
        assert!(
            tokio::time::timeout(within, failed_applied)
                .await
                .unwrap()
                .unwrap()
        );
        let (state, result): (String, Value) =
            sqlx::query_as("SELECT state, result FROM jobs WHERE id = $1")
                .bind(first.id)
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!(state, "succeeded");
        assert_eq!(
            result,
            serde_json::json!({"body": "PNG\u{FFFD}\u{1}", "k\u{FFFD}": 1})
        );
        let (state, errors): (String, Value) =
            sqlx::query_as("SELECT state, errors FROM jobs WHERE id = $1")
                .bind(second.id)
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!(state, "failed");
        assert_eq!(errors[0]["error"], "answer: \u{FFFD}\u{FFFD}");
        node.shutdown().await.unwrap();
    }

    #[sqlx::test(migrator = "crate::db::MIGRATOR")]
    async fn an_outcome_postgres_refuses_never_holds_up_the_others(pool: sqlx::PgPool) {
        use crate::queue::{NewJob, enqueue};
        // Postgres refuses one result (as it would an oversized or otherwise invalid value):
        // a trigger of this test's database only.
        sqlx::raw_sql(
            r#"CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
               BEGIN
                   IF NEW.result ? 'poison' THEN RAISE EXCEPTION 'value refused'; END IF;
                   RETURN NEW;
               END $$;
               CREATE TRIGGER refuse_poison BEFORE UPDATE ON jobs
                   FOR EACH ROW EXECUTE FUNCTION refuse_poison();"#,
        )
        .execute(&pool)
        .await
        .unwrap();
        let (tenant, _, node) = queued_job_and_idle_node(&pool).await;
        let mut conn = pool.acquire().await.unwrap();
        let noop = NewJob::new(&crate::kinds::noop::Noop::default()).unwrap();
        let jobs: Vec<Uuid> = enqueue(&mut conn, tenant, None, &vec![noop; 5])
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.job.id)
            .collect();
        let poisoned = [jobs[1], jobs[3]];
        let mut receivers = Vec::new();
        let mut completions = Vec::new();
        for (i, id) in jobs.iter().enumerate() {
            // The second poisoned job is on its last attempt: it is dead, not retried.
            let attempt = if *id == jobs[3] { 3 } else { 1 };
            hold(&pool, &node, *id, attempt).await;
            let mut c = ctx(attempt, 3);
            c.id = *id;
            let result = if poisoned.contains(id) {
                serde_json::json!({"poison": i})
            } else {
                serde_json::json!({"fine": i})
            };
            let (completion, applied) = Completion::new(&c, Outcome::Succeeded(result));
            completions.push(completion);
            receivers.push(applied);
        }
        // One batch: every outcome reaches the completer before it writes.
        let (tx, rx) = mpsc::channel(16);
        for c in completions {
            tx.send(c).await.unwrap();
        }
        drop(tx);
        let completer = tokio::spawn(run_completer(node.inner().clone(), rx));
        for applied in receivers {
            let applied = tokio::time::timeout(Duration::from_secs(10), applied)
                .await
                .expect("every outcome is settled: none stalls the completer")
                .unwrap();
            assert!(applied);
        }
        completer.await.unwrap();
        for (i, id) in jobs.iter().enumerate() {
            let (state, errors, result): (String, Value, Option<Value>) =
                sqlx::query_as("SELECT state, errors, result FROM jobs WHERE id = $1")
                    .bind(id)
                    .fetch_one(&pool)
                    .await
                    .unwrap();
            if poisoned.contains(id) {
                let expected = if *id == jobs[3] { "dead" } else { "failed" };
                assert_eq!(state, expected, "job {i}");
                let error = errors[0]["error"].as_str().unwrap();
                assert!(
                    error.starts_with("the outcome could not be stored: ")
                        && error.contains("value refused"),
                    "the error says why: {error}"
                );
                assert_eq!(result, None);
            } else {
                assert_eq!(state, "succeeded", "job {i}");
                assert_eq!(result, Some(serde_json::json!({"fine": i})));
            }
        }
        node.shutdown().await.unwrap();
    }

    /// A kind whose handler panics, as a bug would. Its retries wait up to an hour, so the
    /// attempt a test watches is the only one that runs.
    #[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
    struct Buggy {}

    impl crate::kinds::JobKind for Buggy {
        const KIND: &'static str = "test_buggy";
        const MAX_ATTEMPTS: i32 = 3;
        const TIMEOUT: Duration = Duration::from_secs(60);
        const BACKOFF: Backoff = Backoff {
            base: Duration::from_secs(3600),
            cap: Duration::from_secs(3600),
        };

        fn validate(&self) -> Result<(), crate::FieldError> {
            Ok(())
        }
    }

    async fn buggy(_: Buggy) -> Result<Value, JobError> {
        panic!("a bug in the handler")
    }

    #[sqlx::test(migrator = "crate::db::MIGRATOR")]
    async fn other_errors_and_panics_are_retried(pool: sqlx::PgPool) {
        use apalis::prelude::{WorkerBuilder, WorkerBuilderExt};
        use apalis_core::worker::ext::parallelize::ParallelizeExt;

        use crate::queue::{NewJob, enqueue, spawn_attempt};

        let out = Outcome::from_error(&ctx(1, 2), "some library error".into());
        assert!(matches!(out, Outcome::Retry { .. }));

        // A real panic, through the stack the worker binary builds for every kind: the backend's
        // ack layer, apalis' catch-panic layer, and the attempt on its own task
        // (`spawn_attempt`), whose join error carries the panic to the ack layer.
        let (tenant, _, node) = queued_job_and_idle_node(&pool).await;
        let mut conn = pool.acquire().await.unwrap();
        let job = enqueue(&mut conn, tenant, None, &[NewJob::new(&Buggy {}).unwrap()])
            .await
            .unwrap()
            .remove(0)
            .job;
        let worker = WorkerBuilder::new("buggy")
            .backend(node.backend::<Buggy>(1))
            .catch_panic()
            .concurrency(1)
            .parallelize(spawn_attempt)
            .build(buggy);
        let running = tokio::spawn(worker.run());
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let (state, attempt, errors) = loop {
            let row: (String, i32, Value) =
                sqlx::query_as("SELECT state, attempt, errors FROM jobs WHERE id = $1")
                    .bind(job.id)
                    .fetch_one(&pool)
                    .await
                    .unwrap();
            if !matches!(row.0.as_str(), "available" | "running") {
                break row;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no outcome recorded: {row:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        running.abort();
        assert_eq!(
            (state.as_str(), attempt),
            ("failed", 1),
            "a panic is retried"
        );
        let error = errors[0]["error"].as_str().unwrap_or_default();
        assert!(
            error.contains("a bug in the handler"),
            "the panic is the attempt's error: {error}"
        );
        node.shutdown().await.unwrap();
    }
}
