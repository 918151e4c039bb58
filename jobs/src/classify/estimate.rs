//! What classifying a batch from one source is expected to cost, before anything runs.
//!
//! From the source's history (its last [`HISTORY`] verdicts, under any ruleset):
//! - the share of its signals the keywords left undecided (those go to the LLM);
//! - the share of those the memo answered (free);
//! - paid calls per paid verdict (an invalid answer is asked again once);
//! - the average settled cost of one call, from the cost ledger: this source's calls, else the
//!   tenant's calls to the same provider and model;
//!
//! beside what each of the tenant's budgets for the provider has left this period.
//!
//! Fallbacks without history, all on the side of spending more: every item undecided, no memo
//! hits, one call per item, and a call priced from the price table with an estimated prompt (a
//! quarter token per character of the source's average signal, or of
//! [`DEFAULT_SIGNAL_CHARS`], plus the instructions) and a full `LLM_MAX_TOKENS` completion.
//!
//! With it, the forecast of what the batch brings ([`crate::economics::forecast`]): leads, cost
//! per lead and revenue, from the source's history or the tenant's.
//!
//! It reads; it never reserves.

use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    DomainError, FieldError,
    budgets::{self, BudgetLeft},
    economics::forecast::{self, Forecast},
    llm::{self, LlmSettings},
};

/// Verdicts of the source's history read.
pub const HISTORY: i64 = 1000;
/// The most items an estimate is asked about.
pub const MAX_ITEMS: i64 = 10_000_000;
/// The length assumed for a signal when the source has none yet.
pub const DEFAULT_SIGNAL_CHARS: i64 = 2000;
/// Characters of the fixed instructions around every prompt.
pub const PROMPT_OVERHEAD_CHARS: i64 = 600;

/// The question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EstimateRequest {
    /// The tenant's source.
    pub source_id: Uuid,
    /// How many items the batch will bring.
    pub expected_items: i64,
}

impl EstimateRequest {
    /// Checks the numbers.
    pub fn validate(&self) -> Result<(), FieldError> {
        if !(1..=MAX_ITEMS).contains(&self.expected_items) {
            return Err(FieldError::new(
                "expected_items",
                format!("expected 1 to {MAX_ITEMS}"),
            ));
        }
        Ok(())
    }
}

/// Where a figure came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// The source's own history.
    Source,
    /// The tenant's history with this provider and model.
    Tenant,
    /// The price table and an estimated token count.
    PriceTable,
    /// The conservative default (no history).
    Fallback,
    /// No LLM is configured: nothing is paid.
    NoLlm,
}

/// The answer, before budgets.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    /// The source.
    pub source_id: Uuid,
    /// As asked.
    pub expected_items: i64,
    /// The provider budgets are kept for.
    pub provider: String,
    /// The model calls would use (none when no LLM is configured).
    pub model: Option<String>,
    /// Verdicts of the source the figures were drawn from.
    pub history_items: i64,
    /// Share of items the keywords leave undecided (0 to 1).
    pub llm_share: f64,
    /// Where `llm_share` came from (`source` or `fallback`).
    pub llm_share_basis: Basis,
    /// Share of undecided items the memo answers (0 to 1).
    pub memo_hit_share: f64,
    /// Paid calls per paid item (1 to 2).
    pub calls_per_paid_item: f64,
    /// Items expected to reach the LLM (memo hits included).
    pub expected_llm_items: i64,
    /// Paid calls expected.
    pub expected_paid_calls: i64,
    /// Average cost of one call, micro-dollars.
    pub cost_per_call_micros: i64,
    /// Where `cost_per_call_micros` came from.
    pub cost_basis: Basis,
    /// `expected_paid_calls × cost_per_call_micros`.
    pub expected_cost_micros: i64,
    /// What each budget of the provider has left this period (none: unlimited).
    pub budgets: Vec<BudgetLeft>,
    /// Whether every budget has at least `expected_cost_micros` left.
    pub fits_budgets: bool,
    /// Leads, cost per lead and revenue the batch is expected to bring.
    pub forecast: Forecast,
}

/// Estimates a batch of `req.expected_items` items from the tenant's source `req.source_id`.
pub async fn estimate(
    pool: &PgPool,
    tenant_id: Uuid,
    settings: &LlmSettings,
    req: &EstimateRequest,
) -> Result<Estimate, DomainError> {
    req.validate()?;
    sqlx::query_scalar!(
        "SELECT 1 AS one FROM sources WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL",
        tenant_id,
        req.source_id
    )
    .fetch_optional(pool)
    .await?
    .ok_or(DomainError::NotFound("source"))?;

    let h = sqlx::query!(
        r#"SELECT count(*) AS "total!",
                  count(*) FILTER (WHERE llm <> 'not_needed') AS "undecided!",
                  count(*) FILTER (WHERE llm = 'memo') AS "memo!",
                  count(*) FILTER (WHERE llm = 'paid') AS "paid!",
                  coalesce(sum(llm_calls) FILTER (WHERE llm = 'paid'), 0)::bigint AS "calls!"
           FROM (SELECT llm, llm_calls FROM classifications
                 WHERE tenant_id = $1 AND source_id = $2
                 ORDER BY created_at DESC LIMIT $3) recent"#,
        tenant_id,
        req.source_id,
        HISTORY
    )
    .fetch_one(pool)
    .await?;

    let (llm_share, llm_share_basis) = if h.total > 0 {
        (h.undecided as f64 / h.total as f64, Basis::Source)
    } else {
        (1.0, Basis::Fallback)
    };
    let asked = h.memo + h.paid;
    let memo_hit_share = if asked > 0 {
        h.memo as f64 / asked as f64
    } else {
        0.0
    };
    let calls_per_paid_item = if h.paid > 0 {
        (h.calls as f64 / h.paid as f64).clamp(1.0, 2.0)
    } else {
        1.0
    };
    let expected_llm_items = (req.expected_items as f64 * llm_share).ceil() as i64;

    let mut e = Estimate {
        source_id: req.source_id,
        expected_items: req.expected_items,
        provider: settings.provider.clone(),
        model: settings.enabled().then(|| settings.model.clone()),
        history_items: h.total,
        llm_share,
        llm_share_basis,
        memo_hit_share,
        calls_per_paid_item,
        expected_llm_items,
        expected_paid_calls: 0,
        cost_per_call_micros: 0,
        cost_basis: Basis::NoLlm,
        expected_cost_micros: 0,
        budgets: budgets::remaining(pool, tenant_id, &settings.provider).await?,
        fits_budgets: true,
        forecast: forecast::forecast(pool, tenant_id, req.source_id, req.expected_items, 0).await?,
    };
    if !settings.enabled() {
        return Ok(e);
    }
    e.expected_paid_calls =
        (expected_llm_items as f64 * (1.0 - memo_hit_share) * calls_per_paid_item).ceil() as i64;
    let (cost, basis) = cost_per_call(pool, tenant_id, settings, req.source_id).await?;
    e.cost_per_call_micros = cost;
    e.cost_basis = basis;
    e.expected_cost_micros = e.expected_paid_calls.saturating_mul(cost);
    e.fits_budgets = e
        .budgets
        .iter()
        .all(|b| b.remaining_micros >= e.expected_cost_micros);
    e.forecast.cost_per_lead_micros = crate::economics::ratio(
        e.expected_cost_micros.into(),
        e.forecast.expected_leads.into(),
    );
    Ok(e)
}

async fn cost_per_call(
    pool: &PgPool,
    tenant_id: Uuid,
    settings: &LlmSettings,
    source_id: Uuid,
) -> Result<(i64, Basis), DomainError> {
    // settled calls of the jobs that classified this source's signals
    let from_source = sqlx::query_scalar!(
        r#"SELECT avg(l.amount_micros)::float8 AS "avg"
           FROM cost_ledger l
           WHERE l.tenant_id = $1 AND l.entry = 'settle' AND l.provider = $2 AND l.model = $3
             AND l.job_id IN (SELECT job_id FROM classifications
                              WHERE tenant_id = $1 AND source_id = $4 AND llm = 'paid'
                                AND job_id IS NOT NULL
                              ORDER BY created_at DESC LIMIT $5)"#,
        tenant_id,
        settings.provider,
        settings.model,
        source_id,
        HISTORY
    )
    .fetch_one(pool)
    .await?;
    if let Some(avg) = from_source {
        return Ok((avg.ceil() as i64, Basis::Source));
    }
    let from_tenant = sqlx::query_scalar!(
        r#"SELECT avg(amount_micros)::float8 AS "avg"
           FROM (SELECT amount_micros FROM cost_ledger
                 WHERE tenant_id = $1 AND entry = 'settle' AND provider = $2 AND model = $3
                 ORDER BY at DESC LIMIT $4) recent"#,
        tenant_id,
        settings.provider,
        settings.model,
        HISTORY
    )
    .fetch_one(pool)
    .await?;
    if let Some(avg) = from_tenant {
        return Ok((avg.ceil() as i64, Basis::Tenant));
    }
    let avg_chars = sqlx::query_scalar!(
        r#"SELECT avg(length(title) + length(body_text))::float8 AS "avg"
           FROM (SELECT title, body_text FROM signals
                 WHERE tenant_id = $1 AND source_id = $2 ORDER BY id DESC LIMIT 100) recent"#,
        tenant_id,
        source_id
    )
    .fetch_one(pool)
    .await?
    .map_or(DEFAULT_SIGNAL_CHARS, |a| a.ceil() as i64);
    let chars = avg_chars.min(crate::kinds::classify_signal::MAX_PROMPT_CONTENT_CHARS as i64)
        + PROMPT_OVERHEAD_CHARS;
    let price = settings.price().unwrap_or(llm::Price {
        input_per_mtok_micros: 0,
        output_per_mtok_micros: 0,
    });
    let cost = price.cost(
        llm::estimate_tokens(chars as usize),
        i64::from(settings.max_tokens),
    );
    Ok((cost, Basis::PriceTable))
}
