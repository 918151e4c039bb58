//! Putting jobs on the queue: parsing a request into a [`NewJob`], inserting inside the caller's
//! transaction, and waking idle workers after the commit.
//!
//! The multi-row insert lives in `columns`, the jobs that need a statement of their own
//! (singleton, over a concurrency limit, debounced) in `flow`.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::{JOBS_CHANNEL, Job, JobRow, JobState, StoredState};
use crate::{
    DomainError, FieldError,
    kinds::{self, JobKind, KindInfo},
};

/// Highest and lowest priority.
pub const PRIORITY_RANGE: std::ops::RangeInclusive<i16> = -100..=100;
/// Longest timeout a job may ask for (1 hour).
pub const MAX_TIMEOUT_MS: i32 = 3_600_000;
/// Most attempts a job may ask for.
pub const MAX_ATTEMPTS: i32 = 100;
/// Longest idempotency key.
pub const MAX_IDEMPOTENCY_KEY: usize = 200;
/// Most jobs in one batch.
pub const MAX_BATCH: usize = 1000;
/// Longest debounce window (1 day).
pub const MAX_DEBOUNCE_MS: i64 = 86_400_000;
/// Highest concurrency limit a key may have.
pub const MAX_CONCURRENCY_LIMIT: i32 = 10_000;

/// A validated job, ready to insert.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    kind: &'static str,
    args: Value,
    priority: i16,
    run_at: Option<DateTime<Utc>>,
    max_attempts: i32,
    timeout_ms: Option<i32>,
    idempotency_key: Option<String>,
    singleton_key: Option<String>,
    debounce: Option<Debounce>,
    concurrency: Option<Concurrency>,
}

crate::named_enum! {
    /// What an enqueue does when its concurrency key already has `limit` jobs queued or running.
    pub enum OverLimit {
        /// Wait in the queue until a slot frees (the default).
        Queue = "queue",
        /// Refuse the new job: it is stored cancelled, saying why.
        CancelNewest = "cancel_newest",
        /// Keep only the newest waiting job: the others waiting with the key are cancelled.
        KeepNewest = "keep_newest",
    }
}

/// A concurrency key: at most `limit` jobs of the tenant with `key` run at once, fleet-wide.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Concurrency {
    /// The key (per tenant), e.g. a source or customer id.
    pub key: String,
    /// Most jobs with the key running at once, 1 to [`MAX_CONCURRENCY_LIMIT`].
    pub limit: i32,
    /// What to do when the key is full at enqueue.
    #[serde(default = "OverLimit::default_queue")]
    pub on_limit: OverLimit,
}

impl OverLimit {
    fn default_queue() -> Self {
        Self::Queue
    }
}

/// A debounce: enqueues with the same key replace the waiting job until it starts, and it starts
/// `window_ms` after the last of them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Debounce {
    /// The key (per tenant).
    pub key: String,
    /// How long after the last enqueue the job starts, 1 ms to 1 day.
    pub window_ms: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    kind: String,
    #[serde(default)]
    args: Option<Value>,
    #[serde(default)]
    priority: Option<i16>,
    #[serde(default)]
    run_at: Option<DateTime<Utc>>,
    #[serde(default)]
    max_attempts: Option<i32>,
    #[serde(default)]
    timeout_ms: Option<i32>,
    #[serde(default)]
    idempotency_key: Option<String>,
    #[serde(default)]
    singleton_key: Option<String>,
    #[serde(default)]
    debounce: Option<Debounce>,
    #[serde(default)]
    concurrency: Option<Concurrency>,
}

impl NewJob {
    /// A job of kind `K` with default options, from typed args (the Rust enqueue path).
    pub fn new<K: JobKind>(args: &K) -> Result<Self, FieldError> {
        args.validate().map_err(|e| e.under("args"))?;
        let args =
            serde_json::to_value(args).map_err(|e| FieldError::new("args", e.to_string()))?;
        Ok(Self {
            kind: K::KIND,
            args,
            priority: 0,
            run_at: None,
            max_attempts: K::MAX_ATTEMPTS,
            timeout_ms: None,
            idempotency_key: None,
            singleton_key: None,
            debounce: None,
            concurrency: None,
        })
    }

    /// A job of `kind` with default options, from untyped args checked here against the kind
    /// (errors name paths relative to the args).
    pub fn of_kind(kind: &'static KindInfo, args: Value) -> Result<Self, FieldError> {
        Ok(Self {
            kind: kind.name,
            args: kind.validate(args)?,
            priority: 0,
            run_at: None,
            max_attempts: kind.max_attempts,
            timeout_ms: None,
            idempotency_key: None,
            singleton_key: None,
            debounce: None,
            concurrency: None,
        })
    }

    /// Parses an enqueue request (`{kind, args, priority?, run_at?, max_attempts?, timeout_ms?,
    /// idempotency_key?}`), checking the args against the kind's schema.
    pub fn parse(request: Value) -> Result<Self, FieldError> {
        if !request.is_object() {
            return Err(FieldError::new("", "expected a JSON object"));
        }
        let kind_name = request.get("kind").cloned();
        let req: Request = kinds::from_value(request).map_err(|e| {
            // serde names a missing field without a path; say which.
            if e.path.is_empty() && e.message.starts_with("missing field `kind`") {
                FieldError::new("kind", "required")
            } else {
                e
            }
        })?;
        let kind = kinds::find(&req.kind).ok_or_else(|| {
            FieldError::new(
                "kind",
                format!(
                    "unknown kind {:?}; expected one of {}",
                    kind_name.unwrap_or_default(),
                    kinds::names()
                ),
            )
        })?;
        let args = req
            .args
            .unwrap_or_else(|| Value::Object(Default::default()));
        let job = Self {
            run_at: req.run_at,
            ..Self::of_kind(kind, args).map_err(|e| e.under("args"))?
        };
        let job = match req.priority {
            Some(p) => job.priority(p)?,
            None => job,
        };
        let job = match req.max_attempts {
            Some(n) => job.max_attempts(n)?,
            None => job,
        };
        let job = match req.timeout_ms {
            Some(t) => job.timeout_ms(t)?,
            None => job,
        };
        let job = match req.idempotency_key {
            Some(k) => job.idempotency_key(k)?,
            None => job,
        };
        let job = match req.singleton_key {
            Some(k) => job.singleton_key(k)?,
            None => job,
        };
        let job = match req.debounce {
            Some(d) => job.debounce(d)?,
            None => job,
        };
        match req.concurrency {
            Some(c) => job.concurrency(c),
            None => Ok(job),
        }
    }

    /// Parses a batch request (`{jobs: [...]}`), naming the failing item's path.
    pub fn parse_batch(request: Value) -> Result<Vec<Self>, FieldError> {
        let Value::Object(mut map) = request else {
            return Err(FieldError::new("", "expected a JSON object"));
        };
        if let Some(extra) = map.keys().find(|k| *k != "jobs") {
            return Err(FieldError::new(
                extra.as_str(),
                "unknown field; expected `jobs`",
            ));
        }
        let Some(Value::Array(items)) = map.remove("jobs") else {
            return Err(FieldError::new("jobs", "required: a list of jobs"));
        };
        if items.is_empty() || items.len() > MAX_BATCH {
            return Err(FieldError::new(
                "jobs",
                format!("expected 1 to {MAX_BATCH} jobs"),
            ));
        }
        items
            .into_iter()
            .enumerate()
            .map(|(i, item)| Self::parse(item).map_err(|e| e.under(&format!("jobs[{i}]"))))
            .collect()
    }

    /// Sets the priority (higher runs first).
    pub fn priority(mut self, priority: i16) -> Result<Self, FieldError> {
        if !PRIORITY_RANGE.contains(&priority) {
            return Err(FieldError::new("priority", "expected -100 to 100"));
        }
        self.priority = priority;
        Ok(self)
    }

    /// Runs the job no earlier than `at`.
    #[must_use]
    pub fn run_at(mut self, at: DateTime<Utc>) -> Self {
        self.run_at = Some(at);
        self
    }

    /// Sets the attempts allowed.
    pub fn max_attempts(mut self, n: i32) -> Result<Self, FieldError> {
        if !(1..=MAX_ATTEMPTS).contains(&n) {
            return Err(FieldError::new(
                "max_attempts",
                format!("expected 1 to {MAX_ATTEMPTS}"),
            ));
        }
        self.max_attempts = n;
        Ok(self)
    }

    /// Sets the timeout of one attempt.
    pub fn timeout_ms(mut self, ms: i32) -> Result<Self, FieldError> {
        if !(1..=MAX_TIMEOUT_MS).contains(&ms) {
            return Err(FieldError::new(
                "timeout_ms",
                format!("expected 1 to {MAX_TIMEOUT_MS}"),
            ));
        }
        self.timeout_ms = Some(ms);
        Ok(self)
    }

    /// Makes the enqueue idempotent: the same key again (same tenant) returns the first job.
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Result<Self, FieldError> {
        self.idempotency_key = Some(checked_key("idempotency_key", key.into())?);
        self.one_dedupe_rule("idempotency_key")?;
        Ok(self)
    }

    /// Makes the job a singleton: while a job of this tenant with `key` is queued, running or
    /// waiting for a retry, enqueueing returns that one and inserts nothing.
    pub fn singleton_key(mut self, key: impl Into<String>) -> Result<Self, FieldError> {
        self.singleton_key = Some(checked_key("singleton_key", key.into())?);
        self.one_dedupe_rule("singleton_key")?;
        Ok(self)
    }

    /// Debounces the job: it starts `window_ms` after the last enqueue with the same key, with
    /// the newest args; enqueues meanwhile replace it.
    pub fn debounce(mut self, debounce: Debounce) -> Result<Self, FieldError> {
        let key = checked_key("debounce.key", debounce.key)?;
        if !(1..=MAX_DEBOUNCE_MS).contains(&debounce.window_ms) {
            return Err(FieldError::new(
                "debounce.window_ms",
                format!("expected 1 to {MAX_DEBOUNCE_MS}"),
            ));
        }
        if self.run_at.is_some() {
            return Err(FieldError::new(
                "run_at",
                "a debounced job starts at the end of its window: give one or the other",
            ));
        }
        self.debounce = Some(Debounce {
            key,
            window_ms: debounce.window_ms,
        });
        self.one_dedupe_rule("debounce")?;
        Ok(self)
    }

    /// Gives the job a concurrency key: at most `limit` jobs of the tenant with the key run at
    /// once, fleet-wide; `on_limit` says what an enqueue does when the key is full.
    pub fn concurrency(mut self, c: Concurrency) -> Result<Self, FieldError> {
        let key = checked_key("concurrency.key", c.key)?;
        if key.starts_with("kind:") {
            return Err(FieldError::new(
                "concurrency.key",
                "keys starting with `kind:` are the operator's per-kind limits",
            ));
        }
        if !(1..=MAX_CONCURRENCY_LIMIT).contains(&c.limit) {
            return Err(FieldError::new(
                "concurrency.limit",
                format!("expected 1 to {MAX_CONCURRENCY_LIMIT}"),
            ));
        }
        if c.on_limit != OverLimit::Queue
            && (self.singleton_key.is_some() || self.debounce.is_some())
        {
            return Err(FieldError::new(
                "concurrency.on_limit",
                "a singleton or debounced job already decides what a repeat does: use `queue`",
            ));
        }
        self.concurrency = Some(Concurrency { key, ..c });
        Ok(self)
    }

    /// At most one of an idempotency key, a singleton key and a debounce: each decides alone
    /// what a repeat does.
    fn one_dedupe_rule(&self, field: &str) -> Result<(), FieldError> {
        let rules = usize::from(self.idempotency_key.is_some())
            + usize::from(self.singleton_key.is_some())
            + usize::from(self.debounce.is_some());
        if rules > 1 {
            return Err(FieldError::new(
                field,
                "give at most one of idempotency_key, singleton_key and debounce",
            ));
        }
        Ok(())
    }

    /// Whether the job goes in with the batch insert (no singleton key, no debounce).
    fn batched(&self) -> bool {
        self.singleton_key.is_none() && self.debounce.is_none() && self.over_limit().is_none()
    }

    /// The strategy when it is not simply to queue.
    fn over_limit(&self) -> Option<(&Concurrency, OverLimit)> {
        self.concurrency
            .as_ref()
            .filter(|c| c.on_limit != OverLimit::Queue)
            .map(|c| (c, c.on_limit))
    }

    fn concurrency_key(&self) -> Option<&str> {
        self.concurrency.as_ref().map(|c| c.key.as_str())
    }

    fn concurrency_limit(&self) -> Option<i32> {
        self.concurrency.as_ref().map(|c| c.limit)
    }

    /// The kind's name.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// Refuses a priority above `max` (the operator's ceiling, under [`PRIORITY_RANGE`]'s),
    /// naming the field.
    pub fn priority_at_most(&self, max: i16) -> Result<(), FieldError> {
        if self.priority > max {
            return Err(FieldError::new(
                "priority",
                format!(
                    "expected {} to {max}: {max} is this server's ceiling",
                    PRIORITY_RANGE.start()
                ),
            ));
        }
        Ok(())
    }

    /// The job as the insert just stored it: what was sent plus what the database decided.
    fn inserted(&self, row: Inserted, correlation_id: Option<&str>, now: DateTime<Utc>) -> Job {
        let Inserted {
            id,
            run_at,
            created_at,
            concurrency_key,
            concurrency_limit,
        } = row;
        Job {
            id,
            kind: self.kind.to_owned(),
            args: self.args.clone(),
            state: JobState::shown(StoredState::Available, run_at, false, now),
            priority: self.priority,
            attempts: 0,
            max_attempts: self.max_attempts,
            run_at,
            timeout_ms: self.timeout_ms,
            idempotency_key: self.idempotency_key.clone(),
            singleton_key: self.singleton_key.clone(),
            debounce_key: self.debounce.as_ref().map(|d| d.key.clone()),
            concurrency_key,
            concurrency_limit,
            correlation_id: correlation_id.map(str::to_owned),
            result: None,
            last_error: None,
            errors: Vec::new(),
            cancel_requested: false,
            worker: None,
            lease_expires_at: None,
            created_at,
            started_at: None,
            finished_at: None,
            parked_reason: None,
        }
    }

    fn runs_now(&self) -> bool {
        self.run_at.is_none_or(|at| at <= Utc::now())
    }
}

/// The outcome of enqueueing one job.
#[derive(Debug, Clone, PartialEq)]
pub struct Enqueued {
    /// The job (the existing one when the idempotency key was seen before).
    pub job: Job,
    /// Whether this call created it.
    pub created: bool,
}

/// Inserts `jobs` for `tenant_id` on `conn` — pass the caller's transaction, so the jobs commit
/// with the rest of its change or not at all. A job whose idempotency key this tenant used before
/// is not inserted again; the existing one is returned with `created: false`. Results are in
/// the order of `jobs`. Call [`Notifier::wake`] after the commit.
///
/// A singleton or debounced job goes in by a statement of its own ([`singleton`],
/// [`debounced`]), in order with the rest of the batch.
pub async fn enqueue(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    correlation_id: Option<&str>,
    jobs: &[NewJob],
) -> Result<Vec<Enqueued>, DomainError> {
    if jobs.iter().all(NewJob::batched) {
        return enqueue_batched(conn, tenant_id, correlation_id, jobs).await;
    }
    let batched: Vec<NewJob> = jobs.iter().filter(|j| j.batched()).cloned().collect();
    let mut batched = enqueue_batched(conn, tenant_id, correlation_id, &batched)
        .await?
        .into_iter();
    let mut out = Vec::with_capacity(jobs.len());
    for job in jobs {
        out.push(if job.batched() {
            batched
                .next()
                .ok_or_else(|| DomainError::Conflict("a batched job went missing".into()))?
        } else if job.singleton_key.is_some() {
            singleton(conn, tenant_id, correlation_id, job).await?
        } else if let Some((c, strategy)) = job.over_limit() {
            keyed(conn, tenant_id, correlation_id, job, c, strategy).await?
        } else {
            debounced(conn, tenant_id, correlation_id, job).await?
        });
    }
    Ok(out)
}

async fn enqueue_batched(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    correlation_id: Option<&str>,
    jobs: &[NewJob],
) -> Result<Vec<Enqueued>, DomainError> {
    if jobs.is_empty() {
        return Ok(Vec::new());
    }
    let columns = Columns::new(jobs.iter().cloned());
    let ids = columns.ids.clone();
    let inserted = insert(conn, tenant_id, correlation_id, None, columns).await?;

    let mut by_id: HashMap<Uuid, Inserted> = inserted.into_iter().map(|r| (r.id, r)).collect();
    let replayed: Vec<String> = jobs
        .iter()
        .zip(&ids)
        .filter(|(_, id)| !by_id.contains_key(id))
        .filter_map(|(j, _)| j.idempotency_key.clone())
        .collect();
    let mut by_key: HashMap<String, JobRow> = HashMap::new();
    if !replayed.is_empty() {
        let existing = sqlx::query_as!(
            JobRow,
            r#"SELECT id, tenant_id, kind, args, state AS "state: StoredState", priority, attempt,
                      max_attempts, run_at, timeout_ms, idempotency_key, correlation_id, result,
                      errors, locked_by, lease_expires_at, cancel_requested, created_at,
                      started_at, finished_at, run_id, step, item, parked_on, parked_reason,
                      singleton_key, debounce_key, concurrency_key, concurrency_limit
               FROM jobs WHERE tenant_id = $1 AND idempotency_key = ANY($2)"#,
            tenant_id,
            &replayed
        )
        .fetch_all(&mut *conn)
        .await?;
        by_key = existing
            .into_iter()
            .filter_map(|r| r.idempotency_key.clone().map(|k| (k, r)))
            .collect();
    }

    let now = Utc::now();
    jobs.iter()
        .zip(ids)
        .map(|(job, id)| {
            if let Some(row) = by_id.remove(&id) {
                return Ok(Enqueued {
                    job: job.inserted(row, correlation_id, now),
                    created: true,
                });
            }
            let key = job.idempotency_key.as_deref().unwrap_or_default();
            by_key
                .get(key)
                .cloned()
                .map(|row| Enqueued {
                    job: row.into(),
                    created: false,
                })
                .ok_or_else(|| {
                    DomainError::Conflict(format!(
                        "idempotency key {key:?} is being used by a concurrent request"
                    ))
                })
        })
        .collect()
}

/// A dedupe key: 1 to [`MAX_IDEMPOTENCY_KEY`] printable characters.
fn checked_key(field: &str, key: String) -> Result<String, FieldError> {
    if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY || key.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            format!("expected 1 to {MAX_IDEMPOTENCY_KEY} printable characters"),
        ));
    }
    Ok(key)
}

/// Wakes idle workers after jobs are committed.
///
/// NOTIFY inside many concurrent enqueue transactions serialises their commits (Postgres takes
/// a global lock to queue notifications at commit), so wake-ups are sent after the commit from
/// one background task that coalesces them: one NOTIFY per kind per round trip, however many
/// jobs were enqueued meanwhile. A lost wake-up costs at most the workers' poll interval.
#[derive(Debug, Clone)]
pub struct Notifier {
    tx: mpsc::UnboundedSender<&'static str>,
}

impl Notifier {
    /// Starts the background task on the current runtime.
    pub fn spawn(pool: PgPool) -> Self {
        let (tx, mut rx) = mpsc::unbounded_channel::<&'static str>();
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut kinds = BTreeSet::from([first]);
                while let Ok(more) = rx.try_recv() {
                    kinds.insert(more);
                }
                let kinds: Vec<String> = kinds.into_iter().map(str::to_owned).collect();
                if let Err(e) = sqlx::query!(
                    "SELECT pg_notify($1, k) FROM unnest($2::text[]) AS k",
                    JOBS_CHANNEL,
                    &kinds
                )
                .execute(&pool)
                .await
                {
                    tracing::warn!(error = %e, "could not wake workers; they will poll");
                }
            }
        });
        Self { tx }
    }

    /// Wakes the workers of every kind in `jobs` that can run now.
    pub fn wake(&self, jobs: &[NewJob]) {
        let mut sent = BTreeSet::new();
        for job in jobs.iter().filter(|j| j.runs_now()) {
            if sent.insert(job.kind) {
                let _ = self.tx.send(job.kind);
            }
        }
    }

    /// Wakes the workers of `kind`.
    pub fn wake_kind(&self, kind: &'static str) {
        let _ = self.tx.send(kind);
    }
}

mod columns;
mod flow;
#[cfg(test)]
mod tests;

pub(in crate::queue) use columns::{Columns, Inserted, insert};
use flow::{debounced, keyed, singleton};
