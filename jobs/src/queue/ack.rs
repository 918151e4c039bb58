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
        // Lock the batch's rows in id order before the two updates: the heartbeat renews the
        // same rows (also in id order), and two multi-row writers that lock in different orders
        // deadlock — the heartbeat's failure would make this worker let go of every held job.
        if self.ok_ids.len() + self.ids.len() > 1 {
            let all: Vec<Uuid> = self.ok_ids.iter().chain(&self.ids).copied().collect();
            sqlx::query!(
                "SELECT id FROM jobs WHERE id = ANY($1) ORDER BY id FOR UPDATE",
                &all
            )
            .fetch_all(&mut *tx)
            .await?;
        }
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
mod tests;
