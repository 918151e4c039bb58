//! demandflow's Postgres queue, run by apalis.
//!
//! apalis-postgres 1.0 cannot keep the lifecycle promises (it retries with no delay, wakes on a
//! 30 s heartbeat, has no cancellation, lease fencing or retention), so demandflow keeps its own
//! `jobs` table and plugs it into apalis as a [`Backend`](apalis_core::backend::Backend):
//!
//! - [`enqueue`]: insert jobs inside the caller's transaction (both or neither), idempotently;
//!   [`Notifier`] wakes idle workers after the commit.
//! - [`PgBackend`]: one per job kind in a worker process; claims jobs in batches with
//!   `FOR UPDATE SKIP LOCKED`, wakes on LISTEN/NOTIFY with an interval poll as a safety net.
//! - [`AckLayer`]: wraps each attempt with its timeout, cancellation and tracing span, and
//!   records the outcome (success, durable retry with jittered backoff, dead, cancelled) through a
//!   batching completer, fenced by the attempt number so a stale holder cannot overwrite a
//!   rescued job. A job is reported done only once its row is committed.
//! - [`WorkerNode`]: the process' identity (unique per start), heartbeats that renew leases,
//!   rescue of expired leases, cancellation delivery, retention, and release on shutdown; with
//!   `liveness`, rescue of a dead worker's jobs as soon as its database session is gone.
//! - [`admin`]: what the api reads and changes: get, list, enqueue, cancel, retry, delete (each
//!   change with its audit entry), queue stats, workers.
//! - [`share`]: a tenant's share of the workers (weight, caps), set by the operator, and what
//!   its concurrency keys are doing.
//! - Groups: jobs a feature built on the queue tracks together (a workflow run's steps), enqueued
//!   with [`enqueue_group`], cancelled with [`cancel_group`] and retried with [`retry_group`].
//!   Whenever jobs of a group finish, the queue calls the [`CompletionHook`] it was given, in the
//!   transaction that records it. The queue knows nothing of what a group means: it never calls
//!   into the features built on it.

use std::time::Duration;

use apalis_core::task::{Task, from_request::FromRequest};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::kinds::Backoff;

mod ack;
pub mod admin;
mod backend;
mod enqueue;
mod group;
mod liveness;
mod node;
pub mod share;

pub use ack::AckLayer;
pub use backend::PgBackend;
pub use enqueue::{
    Concurrency, Debounce, Enqueued, MAX_CONCURRENCY_LIMIT, NewJob, Notifier, OverLimit, enqueue,
};
pub use group::{CompletionHook, Group, NoHook, cancel_group, enqueue_group, retry_group};
pub use node::{NodeSettings, WorkerNode};

/// Channel that wakes idle workers; the payload is the job kind.
pub const JOBS_CHANNEL: &str = "demandflow_jobs";
/// Channel that tells the holder of a running job to cancel it; the payload is the job id.
pub const CANCEL_CHANNEL: &str = "demandflow_cancel";

crate::named_enum! {
    /// Where a job is in its life, as the api shows it (in life order).
    pub enum JobState {
        /// Waiting for its `run_at`.
        Scheduled = "scheduled",
        /// Held back (an exhausted budget) until its `run_at` or until what holds it is lifted;
        /// no attempt spent.
        Parked = "parked",
        /// Ready to be claimed.
        Available = "available",
        /// Held by a worker.
        Running = "running",
        /// An attempt failed; a retry waits for `run_at`.
        Failed = "failed",
        /// Done.
        Succeeded = "succeeded",
        /// Out of attempts, or failed permanently; kept with every attempt's error.
        Dead = "dead",
        /// Cancelled before it finished.
        Cancelled = "cancelled",
    }
}

impl JobState {
    /// The state shown for a stored state, run time and hold (`parked_on`).
    pub fn shown(
        stored: StoredState,
        run_at: DateTime<Utc>,
        parked: bool,
        now: DateTime<Utc>,
    ) -> Self {
        match stored {
            StoredState::Available if run_at > now && parked => JobState::Parked,
            StoredState::Available if run_at > now => JobState::Scheduled,
            StoredState::Available => JobState::Available,
            StoredState::Running => JobState::Running,
            StoredState::Failed => JobState::Failed,
            StoredState::Succeeded => JobState::Succeeded,
            StoredState::Dead => JobState::Dead,
            StoredState::Cancelled => JobState::Cancelled,
        }
    }

    /// Whether the job will not run again unless retried by hand.
    pub const fn is_finished(self) -> bool {
        matches!(
            self,
            JobState::Succeeded | JobState::Dead | JobState::Cancelled
        )
    }
}

crate::named_enum! {
    /// A job's state as stored in `jobs.state` (decode it with `state AS "state: StoredState"`).
    /// `scheduled` and `parked` are not stored: they are `available` rows whose `run_at` is
    /// ahead (see [`JobState::shown`]).
    pub enum StoredState {
        /// Waiting to be claimed once its `run_at` has come.
        Available = "available",
        /// Claimed: held by a worker under a lease.
        Running = "running",
        /// An attempt failed; claimable again at its `run_at`.
        Failed = "failed",
        /// Done.
        Succeeded = "succeeded",
        /// Out of attempts, or failed permanently.
        Dead = "dead",
        /// Cancelled before it finished.
        Cancelled = "cancelled",
    }
}

impl StoredState {
    /// Waiting in the queue (`available` or `failed`): cancelling it takes effect at once.
    pub const fn is_queued(self) -> bool {
        matches!(self, StoredState::Available | StoredState::Failed)
    }

    /// Finished (`succeeded`, `dead` or `cancelled`): it runs again only when retried.
    pub const fn is_finished(self) -> bool {
        matches!(
            self,
            StoredState::Succeeded | StoredState::Dead | StoredState::Cancelled
        )
    }
}

/// One failed attempt.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct AttemptError {
    /// The attempt's number (1-based).
    pub attempt: i32,
    /// When it failed.
    pub at: DateTime<Utc>,
    /// What went wrong.
    pub error: String,
}

/// A job as its tenant sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Job {
    /// Its id (UUIDv7: sorts by creation time).
    pub id: Uuid,
    /// The kind (queue) name.
    pub kind: String,
    /// The stored args.
    pub args: Value,
    /// Where it is.
    pub state: JobState,
    /// Higher runs first.
    pub priority: i16,
    /// Attempts started.
    pub attempts: i32,
    /// Attempts allowed.
    pub max_attempts: i32,
    /// When it may run next.
    pub run_at: DateTime<Utc>,
    /// Timeout of one attempt, when set on the job.
    pub timeout_ms: Option<i32>,
    /// The enqueuer's idempotency key.
    pub idempotency_key: Option<String>,
    /// Its singleton key: no other job with it is queued or running meanwhile.
    pub singleton_key: Option<String>,
    /// Its debounce key: enqueues with it replace this job until it starts.
    pub debounce_key: Option<String>,
    /// Its concurrency key (`kind:<kind>` for the operator's per-kind limit): at most
    /// `concurrency_limit` jobs of the tenant with it run at once.
    pub concurrency_key: Option<String>,
    /// How many jobs with its concurrency key may run at once.
    pub concurrency_limit: Option<i32>,
    /// The request id of the call that enqueued it.
    pub correlation_id: Option<String>,
    /// The handler's result, once succeeded.
    pub result: Option<Value>,
    /// The latest attempt's error.
    pub last_error: Option<String>,
    /// Every failed attempt's error.
    pub errors: Vec<AttemptError>,
    /// Whether a cancel was asked while it ran.
    pub cancel_requested: bool,
    /// The worker holding it, while it runs.
    pub worker: Option<String>,
    /// When the holder's lease ends unless renewed.
    pub lease_expires_at: Option<DateTime<Utc>>,
    /// When it was enqueued.
    pub created_at: DateTime<Utc>,
    /// When its latest attempt started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// Why it is parked, while it is.
    pub parked_reason: Option<String>,
}

/// A row of `jobs`, as stored: every column, with `state` decoded. Queries name each column
/// (`state` needs its type override, `state AS "state: StoredState"`), in table order.
#[derive(Debug, Clone)]
pub(crate) struct JobRow {
    pub id: Uuid,
    #[allow(dead_code)] // read by the queries' WHERE clauses, never shown
    pub tenant_id: Uuid,
    pub kind: String,
    pub args: Value,
    pub state: StoredState,
    pub priority: i16,
    pub attempt: i32,
    pub max_attempts: i32,
    pub run_at: DateTime<Utc>,
    pub timeout_ms: Option<i32>,
    pub idempotency_key: Option<String>,
    pub correlation_id: Option<String>,
    pub result: Option<Value>,
    pub errors: Value,
    pub locked_by: Option<String>,
    pub lease_expires_at: Option<DateTime<Utc>>,
    pub cancel_requested: bool,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The group the job belongs to, if any (see `group`).
    pub run_id: Option<Uuid>,
    #[allow(dead_code)]
    pub step: Option<String>,
    #[allow(dead_code)]
    pub item: Option<i32>,
    pub parked_on: Option<String>,
    pub parked_reason: Option<String>,
    pub singleton_key: Option<String>,
    pub debounce_key: Option<String>,
    pub concurrency_key: Option<String>,
    pub concurrency_limit: Option<i32>,
}

impl From<JobRow> for Job {
    fn from(row: JobRow) -> Self {
        let errors: Vec<AttemptError> = serde_json::from_value(row.errors).unwrap_or_default();
        let state = JobState::shown(row.state, row.run_at, row.parked_on.is_some(), Utc::now());
        Job {
            parked_reason: row.parked_reason.filter(|_| state == JobState::Parked),
            state,
            last_error: errors.last().map(|e| e.error.clone()),
            errors,
            id: row.id,
            kind: row.kind,
            args: row.args,
            priority: row.priority,
            attempts: row.attempt,
            max_attempts: row.max_attempts,
            run_at: row.run_at,
            timeout_ms: row.timeout_ms,
            idempotency_key: row.idempotency_key,
            singleton_key: row.singleton_key,
            concurrency_key: row.concurrency_key,
            concurrency_limit: row.concurrency_limit,
            debounce_key: row.debounce_key,
            correlation_id: row.correlation_id,
            result: row.result,
            cancel_requested: row.cancel_requested,
            worker: row.locked_by,
            lease_expires_at: row.lease_expires_at,
            created_at: row.created_at,
            started_at: row.started_at,
            finished_at: row.finished_at,
        }
    }
}

/// Why an attempt failed, as a handler says it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// May succeed later: retried after the kind's backoff (or `retry_after`, when longer),
    /// until the attempts run out.
    #[error("{message}")]
    Retry {
        /// What went wrong.
        message: String,
        /// The earliest time worth trying again, when the other side said so.
        retry_after: Option<Duration>,
    },
    /// Will never succeed: the job is dead at once, with no attempt wasted.
    #[error("{0}")]
    Permanent(String),
    /// Could not start (a rate limit, an open circuit): put back to run after `delay`, without
    /// spending an attempt.
    #[error("snoozed: {reason}")]
    Snooze {
        /// Why it waits.
        reason: String,
        /// How long.
        delay: Duration,
    },
    /// Held back by something that will lift (an exhausted budget): parked until `until`, or
    /// until what `on` names is lifted (a raised limit), without spending an attempt.
    #[error("parked: {reason}")]
    Park {
        /// Why it waits.
        reason: String,
        /// What holds it, e.g. `budget:<id>`.
        on: String,
        /// When it resumes by itself.
        until: DateTime<Utc>,
    },
}

impl JobError {
    /// A retryable failure.
    pub fn retry(message: impl Into<String>) -> Self {
        JobError::Retry {
            message: message.into(),
            retry_after: None,
        }
    }

    /// A permanent failure.
    pub fn permanent(message: impl Into<String>) -> Self {
        JobError::Permanent(message.into())
    }

    /// A job that waits `delay` without spending an attempt.
    pub fn snooze(reason: impl Into<String>, delay: Duration) -> Self {
        JobError::Snooze {
            reason: reason.into(),
            delay,
        }
    }
}

/// Runs one attempt on its own task, aborted when the returned handle is dropped: give it to
/// apalis' `parallelize`, so an attempt that times out or is cancelled stops at its next await
/// point instead of running on unseen.
pub fn spawn_attempt<F>(attempt: F) -> tokio_util::task::AbortOnDropHandle<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio_util::task::AbortOnDropHandle::new(tokio::spawn(attempt))
}

/// What a handler knows of the attempt it runs. Extract it as a handler argument.
#[derive(Debug, Clone)]
pub struct JobContext {
    /// The job's id; also its idempotency key towards other systems.
    pub id: Uuid,
    /// The job's tenant.
    pub tenant_id: Uuid,
    /// The kind.
    pub kind: &'static str,
    /// This attempt's number (1-based); also the fencing token of this lease.
    pub attempt: i32,
    /// Attempts allowed.
    pub max_attempts: i32,
    /// This attempt's timeout.
    pub timeout: Duration,
    /// The request id of the call that enqueued the job.
    pub correlation_id: Option<String>,
    /// Fires when the job is cancelled or the worker must let go of it.
    pub cancel: CancellationToken,
    pub(crate) backoff: Backoff,
}

impl<Args: Sync> FromRequest<Task<Args>> for JobContext {
    type Error = apalis_core::task::data::MissingDataError;

    async fn from_request(task: &Task<Args>) -> Result<Self, Self::Error> {
        task.ctx().data().get_checked::<JobContext>().cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn dropping_an_attempt_handle_aborts_the_attempt() {
        struct Guard(Option<tokio::sync::oneshot::Sender<()>>);
        impl Drop for Guard {
            fn drop(&mut self) {
                let _ = self.0.take().map(|tx| tx.send(()));
            }
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        let (started_tx, started) = tokio::sync::oneshot::channel();
        let handle = spawn_attempt(async move {
            let _guard = Guard(Some(tx));
            let _ = started_tx.send(());
            std::future::pending::<()>().await;
        });
        started.await.unwrap();
        drop(handle);
        tokio::time::timeout(Duration::from_secs(5), rx)
            .await
            .expect("the attempt was aborted")
            .expect("its state was dropped");
    }

    #[test]
    fn shown_state_tells_scheduled_from_available() {
        let now = Utc::now();
        let later = now + chrono::Duration::seconds(5);
        let available = StoredState::Available;
        assert_eq!(
            JobState::shown(available, later, false, now),
            JobState::Scheduled
        );
        assert_eq!(
            JobState::shown(available, later, true, now),
            JobState::Parked
        );
        assert_eq!(
            JobState::shown(available, now, true, now),
            JobState::Available,
            "a parked job whose hold ended is due"
        );
        assert_eq!(
            JobState::shown(available, now, false, now),
            JobState::Available
        );
        assert_eq!(
            JobState::shown(StoredState::Failed, later, false, now),
            JobState::Failed
        );
        for s in JobState::ALL {
            assert_eq!(JobState::parse(s.as_str()), Some(s));
        }
        assert_eq!(
            JobState::names(),
            "scheduled, parked, available, running, failed, succeeded, dead, cancelled",
            "life order, as listed in messages"
        );
        for s in StoredState::ALL {
            assert_eq!(
                JobState::shown(s, now, false, now).as_str(),
                s.as_str(),
                "a due stored state is shown as itself"
            );
        }
    }
}
