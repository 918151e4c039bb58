//! The memo of paid LLM answers: by (ruleset version, content hash, model), durable in
//! `classification_memo` and fronted by a moka cache, so a question paid for once is never paid
//! for again — on any worker, after any restart.
//!
//! Two jobs asking the same question at the same moment do not both pay: the first to insert a
//! `pending` row holds a claim on it (for a bounded time) and makes the call; the others are
//! told to wait ([`Lookup::Busy`]) and come back, without spending an attempt, until the answer
//! is `done` (a hit) or the claim is given up or expires (then one of them claims it). A new
//! ruleset version has a new id, so it misses by construction.
//!
//! Metrics: `classify_memo_lookups_total{outcome="hit"|"miss"}` and the process' hit ratio
//! `classify_memo_hit_ratio`.
//!
//! It never calls the LLM and never moves money: it only remembers.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use moka::future::Cache;
use sqlx::PgPool;
use uuid::Uuid;

use crate::{DomainError, llm::Answer};

/// Answers kept in memory per process.
const CACHE_CAPACITY: u64 = 100_000;
/// How long an answer stays in memory.
const CACHE_TTL: Duration = Duration::from_secs(3600);
/// The longest a waiting job sleeps before it looks again.
const MAX_WAIT: Duration = Duration::from_secs(2);

/// What is memoised: one question.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MemoKey {
    /// The ruleset version asked under.
    pub ruleset_version_id: Uuid,
    /// The signal content's hash.
    pub content_hash: Vec<u8>,
    /// The model asked.
    pub model: String,
}

/// What a lookup found.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    /// Answered before: free.
    Hit(Answer),
    /// Not answered; the caller now holds the claim and should pay for the answer, then
    /// [`Memo::fulfil`] or [`Memo::abandon`].
    Claimed,
    /// Another job is paying for the answer right now: look again after this.
    Busy(Duration),
}

/// The memo: the table plus this process' cache. Cheap to clone (shared).
#[derive(Clone)]
pub struct Memo {
    pool: PgPool,
    cache: Cache<MemoKey, Arc<Answer>>,
    hits: Arc<AtomicU64>,
    misses: Arc<AtomicU64>,
}

impl std::fmt::Debug for Memo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Memo")
            .field("cached", &self.cache.entry_count())
            .finish()
    }
}

impl Memo {
    /// A memo over `pool` with an empty cache.
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            cache: Cache::builder()
                .max_capacity(CACHE_CAPACITY)
                .time_to_live(CACHE_TTL)
                .build(),
            hits: Arc::default(),
            misses: Arc::default(),
        }
    }

    fn count(&self, hit: bool) {
        let (h, m) = if hit {
            (
                self.hits.fetch_add(1, Ordering::Relaxed) + 1,
                self.misses.load(Ordering::Relaxed),
            )
        } else {
            (
                self.hits.load(Ordering::Relaxed),
                self.misses.fetch_add(1, Ordering::Relaxed) + 1,
            )
        };
        metrics::counter!("classify_memo_lookups_total", "outcome" => if hit { "hit" } else { "miss" })
            .increment(1);
        metrics::gauge!("classify_memo_hit_ratio").set(h as f64 / (h + m).max(1) as f64);
    }

    /// Looks `key` up; on a miss, claims it for `job_id` for `claim_for` (or reports who holds
    /// it). A job looking again while it holds the claim (a retry of its own) gets it back.
    pub async fn lookup_or_claim(
        &self,
        tenant_id: Uuid,
        key: &MemoKey,
        job_id: Uuid,
        claim_for: Duration,
    ) -> Result<Lookup, DomainError> {
        if let Some(answer) = self.cache.get(key).await {
            self.count(true);
            return Ok(Lookup::Hit((*answer).clone()));
        }
        // Claim, or find what is there; a claim given up between the two statements is
        // claimed on the next turn.
        for _ in 0..3 {
            let claimed = sqlx::query_scalar!(
                r#"INSERT INTO classification_memo
                       (ruleset_version_id, content_hash, model, tenant_id, state, claimed_by,
                        claim_expires_at)
                   VALUES ($1, $2, $3, $4, 'pending', $5, now() + make_interval(secs => $6))
                   ON CONFLICT (ruleset_version_id, content_hash, model) DO UPDATE
                       SET claimed_by = EXCLUDED.claimed_by,
                           claim_expires_at = EXCLUDED.claim_expires_at, updated_at = now()
                       WHERE classification_memo.state = 'pending'
                         AND (classification_memo.claim_expires_at < now()
                              OR classification_memo.claimed_by = EXCLUDED.claimed_by)
                   RETURNING state"#,
                key.ruleset_version_id,
                key.content_hash,
                key.model,
                tenant_id,
                job_id,
                claim_for.as_secs_f64()
            )
            .fetch_optional(&self.pool)
            .await?;
            if claimed.is_some() {
                self.count(false);
                return Ok(Lookup::Claimed);
            }
            let row = sqlx::query!(
                r#"SELECT state, answer,
                          greatest(extract(epoch FROM claim_expires_at - now()), 0)::float8 AS "wait_secs"
                   FROM classification_memo
                   WHERE ruleset_version_id = $1 AND content_hash = $2 AND model = $3"#,
                key.ruleset_version_id,
                key.content_hash,
                key.model
            )
            .fetch_optional(&self.pool)
            .await?;
            let Some(row) = row else { continue };
            if row.state == "done"
                && let Some(answer) = row
                    .answer
                    .and_then(|a| serde_json::from_value::<Answer>(a).ok())
            {
                self.cache
                    .insert(key.clone(), Arc::new(answer.clone()))
                    .await;
                self.count(true);
                return Ok(Lookup::Hit(answer));
            }
            let wait = Duration::from_secs_f64(row.wait_secs.unwrap_or(0.0).max(0.05));
            return Ok(Lookup::Busy(wait.min(MAX_WAIT)));
        }
        Ok(Lookup::Busy(Duration::from_millis(200)))
    }

    /// Stores the paid answer to `key` (whoever holds the claim now: it was paid for).
    pub async fn fulfil(
        &self,
        tenant_id: Uuid,
        key: &MemoKey,
        answer: &Answer,
        cost_micros: i64,
    ) -> Result<(), DomainError> {
        let value = serde_json::to_value(answer)
            .map_err(|e| DomainError::Database(sqlx::Error::Encode(Box::new(e))))?;
        sqlx::query!(
            r#"INSERT INTO classification_memo
                   (ruleset_version_id, content_hash, model, tenant_id, state, answer, cost_micros)
               VALUES ($1, $2, $3, $4, 'done', $5, $6)
               ON CONFLICT (ruleset_version_id, content_hash, model) DO UPDATE
                   SET state = 'done', answer = EXCLUDED.answer, cost_micros = EXCLUDED.cost_micros,
                       claimed_by = NULL, claim_expires_at = NULL, updated_at = now()
                   WHERE classification_memo.state = 'pending'"#,
            key.ruleset_version_id,
            key.content_hash,
            key.model,
            tenant_id,
            value,
            cost_micros
        )
        .execute(&self.pool)
        .await?;
        self.cache
            .insert(key.clone(), Arc::new(answer.clone()))
            .await;
        Ok(())
    }

    /// Gives up `job_id`'s claim on `key` (the call failed): the next asker claims it.
    pub async fn abandon(&self, key: &MemoKey, job_id: Uuid) -> Result<(), DomainError> {
        sqlx::query!(
            "DELETE FROM classification_memo
             WHERE ruleset_version_id = $1 AND content_hash = $2 AND model = $3
               AND state = 'pending' AND claimed_by = $4",
            key.ruleset_version_id,
            key.content_hash,
            key.model,
            job_id
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
