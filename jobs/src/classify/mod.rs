//! Classification: keyword rules first, the LLM only for what they leave undecided.
//!
//! - [`rules`]: a ruleset version's document (terms and phrases with weights, negative terms,
//!   categories, thresholds), checked as a whole, compiled into one Aho-Corasick automaton, and
//!   the keyword score it gives a signal.
//! - [`rulesets`]: per-tenant rulesets as immutable versions, and the workers' moka cache of
//!   compiled versions keyed by version id.
//! - Verdicts ([`Verdict`], [`store`], [`latest_for_signal`], [`for_signal`]): one per signal and
//!   ruleset version (a re-run finds it, a new version adds its own row and never touches the
//!   old ones); storing one moves its signal from `new` to `classified`.
//! - [`estimate`]: what classifying a batch from a source is expected to cost, from that
//!   source's history.
//!
//! The `classify_signal` job kind (`kinds::classify_signal`) drives it; the LLM client is
//! [`crate::llm`] and the memo of paid answers [`crate::memo`]. This module never calls out.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::DomainError;

pub mod estimate;
pub mod rules;
pub mod rulesets;

crate::named_enum! {
    /// How a verdict was reached.
    pub enum Method {
        /// The keyword score (decided, or kept when the LLM could not help).
        Keyword = "keyword",
        /// The LLM's answer (paid for, or read from the memo).
        Llm = "llm",
    }
}

crate::named_enum! {
    /// The LLM's part in a verdict.
    pub enum LlmRoute {
        /// The keywords decided.
        NotNeeded = "not_needed",
        /// Undecided, but no LLM is configured.
        NotConfigured = "not_configured",
        /// Answered from the memo: free.
        Memo = "memo",
        /// Paid calls were made.
        Paid = "paid",
    }
}

/// A verdict to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewVerdict {
    /// The tenant.
    pub tenant_id: Uuid,
    /// The signal.
    pub signal_id: Uuid,
    /// Its source.
    pub source_id: Uuid,
    /// The ruleset.
    pub ruleset_id: Uuid,
    /// The version's id.
    pub ruleset_version_id: Uuid,
    /// The version's number.
    pub ruleset_version: i32,
    /// One of the ruleset's categories, or none.
    pub category: Option<String>,
    /// Worth acting on.
    pub relevant: bool,
    /// 0 to 100.
    pub score: i32,
    /// The keyword score (0 to 100), whatever decided.
    pub keyword_score: i32,
    /// 0 to 1.
    pub confidence: f64,
    /// How it was reached.
    pub method: Method,
    /// The keyword verdict kept because the LLM could not give a valid answer.
    pub low_confidence: bool,
    /// Why.
    pub reasons: Vec<String>,
    /// The LLM's model, when asked.
    pub model: Option<String>,
    /// The LLM's part.
    pub llm: LlmRoute,
    /// Paid calls made.
    pub llm_calls: i32,
    /// What they cost, in micro-dollars.
    pub cost_micros: i64,
    /// Prompt tokens they used.
    pub prompt_tokens: i64,
    /// Completion tokens they used.
    pub completion_tokens: i64,
    /// The job that classified.
    pub job_id: Option<Uuid>,
}

/// A stored verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// Its id.
    pub id: Uuid,
    /// The signal.
    pub signal_id: Uuid,
    /// The ruleset.
    pub ruleset_id: Uuid,
    /// The ruleset version's number.
    pub ruleset_version: i32,
    /// One of the ruleset's categories, or none.
    pub category: Option<String>,
    /// Worth acting on.
    pub relevant: bool,
    /// 0 to 100: the keyword score, or for an LLM verdict 100 × the model's probability that
    /// the signal is relevant.
    pub score: i32,
    /// The keyword score.
    pub keyword_score: i32,
    /// 0 to 1.
    pub confidence: f64,
    /// `keyword` or `llm`.
    pub method: String,
    /// The keyword verdict was kept because the LLM gave no valid answer (or none is configured
    /// and the keywords were undecided).
    pub low_confidence: bool,
    /// Why.
    pub reasons: Vec<String>,
    /// The LLM's model, when asked.
    pub model: Option<String>,
    /// `not_needed`, `not_configured`, `memo` or `paid`.
    pub llm: String,
    /// Paid calls made.
    pub llm_calls: i32,
    /// What they cost, in micro-dollars.
    pub cost_micros: i64,
    /// The job that classified.
    pub job_id: Option<Uuid>,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl Verdict {
    /// The job's result, which workflow steps read (`steps.classify.output.relevant`,
    /// `steps.classify.output.score >= 70`, `{{ steps.classify.output.confidence }}`).
    pub fn output(&self) -> Value {
        json!({
            "signal_id": self.signal_id,
            "category": self.category,
            "confidence": self.confidence,
            "score": self.score,
            "relevant": self.relevant,
            "method": self.method,
            "low_confidence": self.low_confidence,
            "ruleset_id": self.ruleset_id,
            "ruleset_version": self.ruleset_version,
            "llm": self.llm,
            "cost_micros": self.cost_micros,
        })
    }
}

struct VerdictRow {
    id: Uuid,
    signal_id: Uuid,
    ruleset_id: Uuid,
    ruleset_version: i32,
    category: Option<String>,
    relevant: bool,
    score: i16,
    keyword_score: i16,
    confidence: f32,
    method: String,
    low_confidence: bool,
    reasons: Value,
    model: Option<String>,
    llm: String,
    llm_calls: i16,
    cost_micros: i64,
    job_id: Option<Uuid>,
    created_at: DateTime<Utc>,
}

impl From<VerdictRow> for Verdict {
    fn from(r: VerdictRow) -> Self {
        Self {
            id: r.id,
            signal_id: r.signal_id,
            ruleset_id: r.ruleset_id,
            ruleset_version: r.ruleset_version,
            category: r.category,
            relevant: r.relevant,
            score: r.score.into(),
            keyword_score: r.keyword_score.into(),
            // stored as real: round off the float noise
            confidence: (f64::from(r.confidence) * 1e4).round() / 1e4,
            method: r.method,
            low_confidence: r.low_confidence,
            reasons: serde_json::from_value(r.reasons).unwrap_or_default(),
            model: r.model,
            llm: r.llm,
            llm_calls: r.llm_calls.into(),
            cost_micros: r.cost_micros,
            job_id: r.job_id,
            created_at: r.created_at,
        }
    }
}

/// The verdict on `signal_id` under the ruleset version `ruleset_version_id`, if any.
pub async fn existing(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    signal_id: Uuid,
    ruleset_version_id: Uuid,
) -> Result<Option<Verdict>, DomainError> {
    Ok(sqlx::query_as!(
        VerdictRow,
        r#"SELECT id, signal_id, ruleset_id, ruleset_version, category, relevant, score,
                  keyword_score, confidence, method, low_confidence, reasons, model, llm, llm_calls,
                  cost_micros, job_id, created_at
           FROM classifications
           WHERE tenant_id = $1 AND signal_id = $2 AND ruleset_version_id = $3"#,
        tenant_id,
        signal_id,
        ruleset_version_id
    )
    .fetch_optional(conn)
    .await?
    .map(Verdict::from))
}

/// Stores a verdict unless one exists for its signal and ruleset version (then that one is
/// returned: a re-run never duplicates), and moves the signal from `new` to `classified`.
pub async fn store(conn: &mut PgConnection, v: &NewVerdict) -> Result<Verdict, DomainError> {
    let reasons = json!(v.reasons);
    let inserted = sqlx::query_as!(
        VerdictRow,
        r#"INSERT INTO classifications
               (id, tenant_id, signal_id, source_id, ruleset_id, ruleset_version_id, ruleset_version,
                category, relevant, score, keyword_score, confidence, method, low_confidence,
                reasons, model, llm, llm_calls, cost_micros, prompt_tokens, completion_tokens,
                job_id, workflow_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
                   $18, $19, $20, $21, $22,
                   (SELECT r.workflow_id FROM jobs j JOIN workflow_runs r ON r.id = j.run_id
                    WHERE j.id = $22))
           ON CONFLICT (signal_id, ruleset_version_id) DO NOTHING
           RETURNING id, signal_id, ruleset_id, ruleset_version, category, relevant, score,
                     keyword_score, confidence, method, low_confidence, reasons, model, llm,
                     llm_calls, cost_micros, job_id, created_at"#,
        Uuid::now_v7(),
        v.tenant_id,
        v.signal_id,
        v.source_id,
        v.ruleset_id,
        v.ruleset_version_id,
        v.ruleset_version,
        v.category,
        v.relevant,
        v.score.clamp(0, 100) as i16,
        v.keyword_score.clamp(0, 100) as i16,
        v.confidence.clamp(0.0, 1.0) as f32,
        v.method.as_str(),
        v.low_confidence,
        reasons,
        v.model,
        v.llm.as_str(),
        v.llm_calls.clamp(0, i16::MAX.into()) as i16,
        v.cost_micros.max(0),
        v.prompt_tokens.max(0),
        v.completion_tokens.max(0),
        v.job_id
    )
    .fetch_optional(&mut *conn)
    .await?;
    let verdict = match inserted {
        Some(row) => row.into(),
        None => existing(conn, v.tenant_id, v.signal_id, v.ruleset_version_id)
            .await?
            .ok_or(DomainError::NotFound("classification"))?,
    };
    sqlx::query!(
        "UPDATE signals SET state = 'classified', updated_at = now()
         WHERE tenant_id = $1 AND id = $2 AND state = 'new'",
        v.tenant_id,
        v.signal_id
    )
    .execute(&mut *conn)
    .await?;
    Ok(verdict)
}

/// The newest verdict on the tenant's signal `signal_id` (under any ruleset), if any.
pub async fn latest_for_signal(
    db: impl sqlx::PgExecutor<'_>,
    tenant_id: Uuid,
    signal_id: Uuid,
) -> Result<Option<Verdict>, DomainError> {
    Ok(sqlx::query_as!(
        VerdictRow,
        r#"SELECT id, signal_id, ruleset_id, ruleset_version, category, relevant, score,
                  keyword_score, confidence, method, low_confidence, reasons, model, llm, llm_calls,
                  cost_micros, job_id, created_at
           FROM classifications
           WHERE tenant_id = $1 AND signal_id = $2
           ORDER BY created_at DESC, id DESC
           LIMIT 1"#,
        tenant_id,
        signal_id
    )
    .fetch_optional(db)
    .await?
    .map(Verdict::from))
}

/// Every verdict on the tenant's signal `signal_id`, newest first (404 when the signal is not
/// the tenant's).
pub async fn for_signal(
    pool: &PgPool,
    tenant_id: Uuid,
    signal_id: Uuid,
) -> Result<Vec<Verdict>, DomainError> {
    let exists = sqlx::query_scalar!(
        "SELECT 1 AS one FROM signals WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL",
        tenant_id,
        signal_id
    )
    .fetch_optional(pool)
    .await?;
    if exists.is_none() {
        return Err(DomainError::NotFound("signal"));
    }
    Ok(sqlx::query_as!(
        VerdictRow,
        r#"SELECT id, signal_id, ruleset_id, ruleset_version, category, relevant, score,
                  keyword_score, confidence, method, low_confidence, reasons, model, llm, llm_calls,
                  cost_micros, job_id, created_at
           FROM classifications
           WHERE tenant_id = $1 AND signal_id = $2
           ORDER BY created_at DESC, id DESC
           LIMIT 500"#,
        tenant_id,
        signal_id
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(Verdict::from)
    .collect())
}
