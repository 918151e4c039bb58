//! Budgets: money a tenant lets its jobs spend on a paid provider, per UTC day or calendar
//! month, in integer micro-dollars — a scheduling constraint, not a report.
//!
//! - [`reserve`] holds a paid call's estimate against every budget of the tenant's provider with
//!   one conditional `UPDATE` per budget period (`spent + reserved + estimate <= limit`), in
//!   one transaction: concurrent callers cannot overrun a limit between them. When a budget
//!   would overrun, the call is refused with [`BudgetError::Exhausted`], which turns into a
//!   parked job ([`JobError::Park`]): no attempt spent, back in the queue when the period rolls
//!   over, or at once when the limit is raised ([`update`]).
//! - [`Reservation::settle`] books the real cost once the call answered; [`Reservation::release`]
//!   gives the estimate back when it failed without a cost. A reservation whose job died in
//!   the middle is released by [`release_expired`] (the workers' sweep).
//! - Every reserve, settle and release is a row of the cost ledger ([`costs`]), with the
//!   model, the tokens and the job.
//! - A period crossing 80 % of its limit, or reaching 100 % (or refusing a reservation),
//!   records one alert per threshold ([`alerts`]) and counts `budget_alerts_total`.
//!
//! It never calls a provider and never prices tokens: callers bring the estimate and the cost.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{
    DomainError, FieldError,
    audit::{self, Actor, Change},
    kinds::from_value,
    queue::{JOBS_CHANNEL, JobError},
};

mod ledger;

pub use ledger::{CostEntry, CostFilter, CostPage, CostTotals, MAX_PAGE as MAX_COST_PAGE, costs};

/// The longest provider name.
pub const MAX_PROVIDER: usize = 50;
/// The largest limit: a billion dollars.
pub const MAX_LIMIT_MICROS: i64 = 1_000_000_000_000_000;
/// How long a reservation may stay unsettled before the sweep gives it back, unless the
/// caller says otherwise.
pub const DEFAULT_HOLD: Duration = Duration::from_secs(3600);

/// How long a budget's period lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    /// A UTC day.
    Day,
    /// A calendar month, in UTC.
    Month,
}

impl Period {
    /// Its name, as stored.
    pub const fn as_str(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Month => "month",
        }
    }

    fn parse(s: &str) -> Self {
        if s == "month" {
            Period::Month
        } else {
            Period::Day
        }
    }
}

/// A budget and what its current period has used.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Budget {
    /// Its id.
    pub id: Uuid,
    /// The provider it limits (`openai`, ...), as the paid job names it.
    pub provider: String,
    /// Day or month.
    pub period: Period,
    /// The limit per period, micro-dollars.
    pub limit_micros: i64,
    /// When the current period began.
    pub period_start: DateTime<Utc>,
    /// When it ends (and parked jobs resume).
    pub period_end: DateTime<Utc>,
    /// Settled this period.
    pub spent_micros: i64,
    /// Held by calls in flight.
    pub reserved_micros: i64,
    /// What a new reservation may still take: `limit - spent - reserved`, never below 0.
    pub remaining_micros: i64,
    /// Jobs parked on it right now.
    pub parked_jobs: i64,
    /// This period's alerts.
    pub alerts: Vec<Alert>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When its limit last changed.
    pub updated_at: DateTime<Utc>,
}

/// A threshold a budget's period crossed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    /// 80 or 100 (percent of the limit).
    pub threshold: i16,
    /// Spent (and, for a refused reservation, held) when it was recorded.
    pub spent_micros: i64,
    /// The limit then.
    pub limit_micros: i64,
    /// When.
    pub at: DateTime<Utc>,
}

/// A budget to create.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewBudget {
    /// The provider (1 to 50 characters of `a-z 0-9 _ - .`).
    pub provider: String,
    /// Day or month.
    pub period: Period,
    /// Micro-dollars per period.
    pub limit_micros: i64,
}

impl TryFrom<Value> for NewBudget {
    type Error = FieldError;

    fn try_from(value: Value) -> Result<Self, FieldError> {
        let new: NewBudget = from_value(value)?;
        check_provider(&new.provider).map_err(|e| e.under("provider"))?;
        check_limit(new.limit_micros).map_err(|e| e.under("limit_micros"))?;
        Ok(new)
    }
}

/// A change of a budget: only its limit changes.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetPatch {
    /// The new limit per period.
    pub limit_micros: i64,
}

impl TryFrom<Value> for BudgetPatch {
    type Error = FieldError;

    fn try_from(value: Value) -> Result<Self, FieldError> {
        let patch: BudgetPatch = from_value(value)?;
        check_limit(patch.limit_micros).map_err(|e| e.under("limit_micros"))?;
        Ok(patch)
    }
}

/// Checks a provider's name.
pub fn check_provider(provider: &str) -> Result<(), FieldError> {
    let ok_chars = provider
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'.'));
    if provider.is_empty() || provider.len() > MAX_PROVIDER || !ok_chars {
        return Err(FieldError::new(
            "",
            format!("expected 1 to {MAX_PROVIDER} characters of a-z, 0-9, '_', '-' and '.'"),
        ));
    }
    Ok(())
}

fn check_limit(limit: i64) -> Result<(), FieldError> {
    if !(0..=MAX_LIMIT_MICROS).contains(&limit) {
        return Err(FieldError::new(
            "",
            format!("expected 0 to {MAX_LIMIT_MICROS} micro-dollars"),
        ));
    }
    Ok(())
}

/// What parks a job held back by budget `id`: raising that budget resumes them.
pub fn parked_on(id: Uuid) -> String {
    format!("budget:{id}")
}

struct BudgetRow {
    id: Uuid,
    provider: String,
    period: String,
    limit_micros: i64,
    period_start: DateTime<Utc>,
    period_end: DateTime<Utc>,
    spent_micros: i64,
    reserved_micros: i64,
    parked_jobs: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl BudgetRow {
    fn into_budget(self, alerts: Vec<Alert>) -> Budget {
        Budget {
            remaining_micros: (self.limit_micros - self.spent_micros - self.reserved_micros).max(0),
            id: self.id,
            provider: self.provider,
            period: Period::parse(&self.period),
            limit_micros: self.limit_micros,
            period_start: self.period_start,
            period_end: self.period_end,
            spent_micros: self.spent_micros,
            reserved_micros: self.reserved_micros,
            parked_jobs: self.parked_jobs,
            alerts,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// The tenant's budgets with their current periods, by provider then period (only
/// `provider`'s when given).
pub async fn list(
    pool: &PgPool,
    tenant_id: Uuid,
    provider: Option<&str>,
) -> Result<Vec<Budget>, DomainError> {
    let rows = sqlx::query_as!(
        BudgetRow,
        r#"SELECT b.id, b.provider, b.period, b.limit_micros,
                  p.start AS "period_start!", p.start + p.length AS "period_end!",
                  coalesce(u.spent_micros, 0) AS "spent_micros!",
                  coalesce(u.reserved_micros, 0) AS "reserved_micros!",
                  (SELECT count(*) FROM jobs j
                   WHERE j.tenant_id = b.tenant_id AND j.parked_on = 'budget:' || b.id::text
                     AND j.state = 'available' AND j.run_at > now()) AS "parked_jobs!",
                  b.created_at, b.updated_at
           FROM budgets b
           CROSS JOIN LATERAL (SELECT date_trunc(b.period, now(), 'UTC') AS start,
                                      CASE b.period WHEN 'day' THEN interval '1 day'
                                                    ELSE interval '1 month' END AS length) p
           LEFT JOIN budget_usage u ON u.budget_id = b.id AND u.period_start = p.start
           WHERE b.tenant_id = $1 AND ($2::text IS NULL OR b.provider = $2)
           ORDER BY b.provider, b.period"#,
        tenant_id,
        provider
    )
    .fetch_all(pool)
    .await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let alerts = sqlx::query!(
        r#"SELECT a.budget_id, a.threshold, a.spent_micros, a.limit_micros, a.created_at
           FROM budget_alerts a JOIN budgets b ON b.id = a.budget_id
           WHERE a.budget_id = ANY($1) AND a.period_start = date_trunc(b.period, now(), 'UTC')
           ORDER BY a.created_at"#,
        &ids
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let mine = alerts
                .iter()
                .filter(|a| a.budget_id == row.id)
                .map(|a| Alert {
                    threshold: a.threshold,
                    spent_micros: a.spent_micros,
                    limit_micros: a.limit_micros,
                    at: a.created_at,
                })
                .collect();
            row.into_budget(mine)
        })
        .collect())
}

/// One budget of the tenant.
pub async fn get(pool: &PgPool, tenant_id: Uuid, id: Uuid) -> Result<Budget, DomainError> {
    list(pool, tenant_id, None)
        .await?
        .into_iter()
        .find(|b| b.id == id)
        .ok_or(DomainError::NotFound("budget"))
}

/// Creates a budget (one per tenant, provider and period: a second answers a conflict).
pub async fn create(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &Actor,
    new: NewBudget,
) -> Result<Uuid, DomainError> {
    let id = Uuid::now_v7();
    let inserted = sqlx::query_scalar!(
        r#"INSERT INTO budgets (id, tenant_id, provider, period, limit_micros)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (tenant_id, provider, period) DO NOTHING
           RETURNING id"#,
        id,
        tenant_id,
        new.provider,
        new.period.as_str(),
        new.limit_micros
    )
    .fetch_optional(&mut *conn)
    .await?;
    if inserted.is_none() {
        return Err(DomainError::Conflict(format!(
            "a {} budget for {:?} exists already; change its limit instead",
            new.period.as_str(),
            new.provider
        )));
    }
    audit::record(
        conn,
        tenant_id,
        actor,
        Change {
            action: "budget.create",
            target_type: "budget",
            target_id: id.to_string(),
            before: None,
            after: Some(serde_json::json!({
                "provider": new.provider,
                "period": new.period,
                "limit_micros": new.limit_micros,
            })),
        },
    )
    .await?;
    Ok(id)
}

/// Changes a budget's limit. The jobs parked on it are put back in the queue at once (they
/// reserve again; if the new limit is still short, they park again): returns how many.
pub async fn update(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &Actor,
    id: Uuid,
    patch: BudgetPatch,
) -> Result<u64, DomainError> {
    let before = sqlx::query_scalar!(
        "SELECT limit_micros FROM budgets WHERE id = $1 AND tenant_id = $2 FOR UPDATE",
        id,
        tenant_id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(DomainError::NotFound("budget"))?;
    sqlx::query!(
        "UPDATE budgets SET limit_micros = $2, updated_at = now() WHERE id = $1",
        id,
        patch.limit_micros
    )
    .execute(&mut *conn)
    .await?;
    audit::record(
        conn,
        tenant_id,
        actor,
        Change {
            action: "budget.update",
            target_type: "budget",
            target_id: id.to_string(),
            before: Some(serde_json::json!({ "limit_micros": before })),
            after: Some(serde_json::json!({ "limit_micros": patch.limit_micros })),
        },
    )
    .await?;
    resume_parked(conn, tenant_id, id).await
}

/// Deletes a budget and its history of periods and alerts (the ledger stays); its parked
/// jobs resume at once.
pub async fn delete(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &Actor,
    id: Uuid,
) -> Result<u64, DomainError> {
    let row = sqlx::query!(
        r#"DELETE FROM budgets WHERE id = $1 AND tenant_id = $2
           RETURNING provider, period, limit_micros"#,
        id,
        tenant_id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(DomainError::NotFound("budget"))?;
    audit::record(
        conn,
        tenant_id,
        actor,
        Change {
            action: "budget.delete",
            target_type: "budget",
            target_id: id.to_string(),
            before: Some(serde_json::json!({
                "provider": row.provider,
                "period": row.period,
                "limit_micros": row.limit_micros,
            })),
            after: None,
        },
    )
    .await?;
    resume_parked(conn, tenant_id, id).await
}

/// Makes the jobs parked on budget `id` due now and wakes their workers at commit.
async fn resume_parked(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<u64, DomainError> {
    let kinds = sqlx::query_scalar!(
        r#"UPDATE jobs SET run_at = now(), parked_on = NULL, parked_reason = NULL
           WHERE tenant_id = $1 AND parked_on = $2 AND state = 'available'
           RETURNING kind"#,
        tenant_id,
        parked_on(id)
    )
    .fetch_all(&mut *conn)
    .await?;
    let resumed = kinds.len() as u64;
    let mut kinds = kinds;
    kinds.sort();
    kinds.dedup();
    if !kinds.is_empty() {
        sqlx::query!(
            "SELECT pg_notify($1, k) FROM unnest($2::text[]) AS k",
            JOBS_CHANNEL,
            &kinds
        )
        .execute(&mut *conn)
        .await?;
    }
    if resumed > 0 {
        metrics::counter!("jobs_unparked_total").increment(resumed);
    }
    Ok(resumed)
}

// ---------------------------------------------------------------------------------------------
// Spending

/// A paid call about to be made.
#[derive(Debug, Clone)]
pub struct SpendRequest<'a> {
    /// Whose money.
    pub tenant_id: Uuid,
    /// The provider its budgets name.
    pub provider: &'a str,
    /// The model (for the ledger).
    pub model: &'a str,
    /// The job making the call (for the ledger).
    pub job_id: Option<Uuid>,
    /// The most the call is expected to cost, micro-dollars.
    pub estimate_micros: i64,
}

/// What a call really cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Micro-dollars.
    pub cost_micros: i64,
    /// Prompt (input) tokens.
    pub prompt_tokens: i64,
    /// Completion (output) tokens.
    pub completion_tokens: i64,
}

/// Why a reservation was refused.
#[derive(Debug, thiserror::Error)]
pub enum BudgetError {
    /// A budget of the provider would overrun: wait for `resumes_at` or a higher limit.
    #[error(
        "the {period} budget {budget_id} for {provider} is exhausted \
         ({spent_micros} spent and held of {limit_micros} micro-dollars; this call needs \
         {estimate_micros}); it resets at {resumes_at}"
    )]
    Exhausted {
        /// The budget that refused (the one resetting last, when several did).
        budget_id: Uuid,
        /// Its provider.
        provider: String,
        /// Its period's name.
        period: &'static str,
        /// When its next period starts.
        resumes_at: DateTime<Utc>,
        /// Its limit.
        limit_micros: i64,
        /// Spent plus reserved in its current period.
        spent_micros: i64,
        /// The estimate refused.
        estimate_micros: i64,
    },
    /// The database failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<BudgetError> for JobError {
    fn from(e: BudgetError) -> Self {
        match &e {
            BudgetError::Exhausted {
                budget_id,
                resumes_at,
                ..
            } => JobError::Park {
                reason: e.to_string(),
                on: parked_on(*budget_id),
                until: *resumes_at,
            },
            BudgetError::Database(_) => JobError::retry(format!("budget check failed: {e}")),
        }
    }
}

/// An estimate held against the provider's budgets. Settle it or release it; one left alone
/// is released by the workers' sweep after its hold time.
#[derive(Debug)]
#[must_use = "a reservation holds budget until it is settled or released"]
pub struct Reservation {
    /// Its id (in every ledger row it makes).
    pub id: Uuid,
    /// The estimate it holds.
    pub estimate_micros: i64,
}

struct Held {
    budget_id: Uuid,
    period: String,
    period_start: DateTime<Utc>,
    period_end: DateTime<Utc>,
    limit_micros: i64,
    used: i64,
}

/// Holds `req.estimate_micros` against every budget of the tenant's provider for the current
/// period, or refuses when any would overrun. With no budget for the provider, the call is
/// unlimited (but still in the ledger). The hold lasts [`DEFAULT_HOLD`] unless settled or
/// released first.
pub async fn reserve(pool: &PgPool, req: &SpendRequest<'_>) -> Result<Reservation, BudgetError> {
    reserve_for(pool, req, DEFAULT_HOLD).await
}

/// [`reserve`] with the hold time given: a caller whose call may take longer says so.
pub async fn reserve_for(
    pool: &PgPool,
    req: &SpendRequest<'_>,
    hold: Duration,
) -> Result<Reservation, BudgetError> {
    let estimate = req.estimate_micros.max(0);
    let mut tx = pool.begin().await?;
    // The current period's row of each budget, created on first use, then locked in id
    // order (so two reservations never wait on each other crosswise).
    sqlx::query!(
        r#"INSERT INTO budget_usage (budget_id, period_start)
           SELECT id, date_trunc(period, now(), 'UTC') FROM budgets
           WHERE tenant_id = $1 AND provider = $2
           ON CONFLICT DO NOTHING"#,
        req.tenant_id,
        req.provider
    )
    .execute(&mut *tx)
    .await?;
    let held = sqlx::query_as!(
        Held,
        r#"SELECT b.id AS budget_id, b.period, u.period_start,
                  u.period_start + CASE b.period WHEN 'day' THEN interval '1 day'
                                                 ELSE interval '1 month' END AS "period_end!",
                  b.limit_micros, u.spent_micros + u.reserved_micros AS "used!"
           FROM budgets b
           JOIN budget_usage u ON u.budget_id = b.id
                              AND u.period_start = date_trunc(b.period, now(), 'UTC')
           WHERE b.tenant_id = $1 AND b.provider = $2
           ORDER BY b.id
           FOR UPDATE OF u"#,
        req.tenant_id,
        req.provider
    )
    .fetch_all(&mut *tx)
    .await?;
    // Rows are locked: what they say now is what the UPDATE below would see.
    if let Some(short) = held
        .iter()
        .filter(|h| h.used + estimate > h.limit_micros)
        .max_by_key(|h| h.period_end)
    {
        record_alert(
            &mut tx,
            req.tenant_id,
            short.budget_id,
            short.period_start,
            100,
            short.used,
            short.limit_micros,
        )
        .await?;
        tx.commit().await?;
        metrics::counter!("budget_reservations_total", "outcome" => "refused").increment(1);
        return Err(BudgetError::Exhausted {
            budget_id: short.budget_id,
            provider: req.provider.to_owned(),
            period: if short.period == "month" {
                "month"
            } else {
                "day"
            },
            resumes_at: short.period_end,
            limit_micros: short.limit_micros,
            spent_micros: short.used,
            estimate_micros: estimate,
        });
    }
    let budget_ids: Vec<Uuid> = held.iter().map(|h| h.budget_id).collect();
    let starts: Vec<DateTime<Utc>> = held.iter().map(|h| h.period_start).collect();
    // The condition again, so the limit holds even if this code changes around it.
    let updated = sqlx::query!(
        r#"UPDATE budget_usage u SET reserved_micros = u.reserved_micros + $3
           FROM budgets b, unnest($1::uuid[], $2::timestamptz[]) AS h(budget_id, start)
           WHERE u.budget_id = h.budget_id AND u.period_start = h.start AND b.id = u.budget_id
             AND u.spent_micros + u.reserved_micros + $3 <= b.limit_micros"#,
        &budget_ids,
        &starts,
        estimate
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated != held.len() as u64 {
        return Err(BudgetError::Database(sqlx::Error::Protocol(
            "a budget changed under its lock".into(),
        )));
    }
    let id = Uuid::now_v7();
    sqlx::query!(
        r#"INSERT INTO budget_reservations (id, tenant_id, provider, model, job_id,
                                           estimate_micros, budget_ids, period_starts, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now() + make_interval(secs => $9))"#,
        id,
        req.tenant_id,
        req.provider,
        req.model,
        req.job_id,
        estimate,
        &budget_ids,
        &starts,
        hold.as_secs_f64()
    )
    .execute(&mut *tx)
    .await?;
    ledger::write(
        &mut tx,
        ledger::Line {
            tenant_id: req.tenant_id,
            entry: "reserve",
            provider: req.provider,
            model: req.model,
            amount_micros: estimate,
            usage: None,
            job_id: req.job_id,
            reservation_id: id,
            note: None,
        },
    )
    .await?;
    tx.commit().await?;
    metrics::counter!("budget_reservations_total", "outcome" => "held").increment(1);
    Ok(Reservation {
        id,
        estimate_micros: estimate,
    })
}

struct Finished {
    tenant_id: Uuid,
    provider: String,
    model: String,
    job_id: Option<Uuid>,
    estimate_micros: i64,
    budget_ids: Vec<Uuid>,
    period_starts: Vec<DateTime<Utc>>,
    was_held: bool,
}

/// Marks reservation `id` finished (`settled` or `released`); `was_held` is false when the
/// sweep had released it already.
async fn finish(
    conn: &mut PgConnection,
    id: Uuid,
    state: &str,
) -> Result<Option<Finished>, sqlx::Error> {
    sqlx::query_as!(
        Finished,
        r#"WITH old AS (SELECT state FROM budget_reservations WHERE id = $1 FOR UPDATE)
           UPDATE budget_reservations r
           SET state = CASE WHEN old.state = 'held' THEN $2 ELSE r.state END,
               finished_at = coalesce(r.finished_at, now())
           FROM old WHERE r.id = $1
           RETURNING r.tenant_id, r.provider, r.model, r.job_id, r.estimate_micros,
                     r.budget_ids, r.period_starts, old.state = 'held' AS "was_held!""#,
        id,
        state
    )
    .fetch_optional(&mut *conn)
    .await
}

impl Reservation {
    /// Books what the call really cost against the periods it was reserved in (the estimate
    /// is given back, the cost is spent — even when it is more than the estimate, since the
    /// money is gone), records it in the ledger and any threshold crossed.
    pub async fn settle(self, pool: &PgPool, usage: &Usage) -> Result<(), DomainError> {
        let cost = usage.cost_micros.max(0);
        let mut tx = pool.begin().await?;
        let Some(r) = finish(&mut tx, self.id, "settled").await? else {
            return Err(DomainError::NotFound("reservation"));
        };
        // Released already by the sweep: the estimate is no longer held, only the cost counts.
        let give_back = if r.was_held { r.estimate_micros } else { 0 };
        let crossed = sqlx::query!(
            r#"UPDATE budget_usage u
               SET reserved_micros = greatest(u.reserved_micros - $3, 0),
                   spent_micros = u.spent_micros + $4
               FROM budgets b, unnest($1::uuid[], $2::timestamptz[]) AS h(budget_id, start)
               WHERE u.budget_id = h.budget_id AND u.period_start = h.start AND b.id = u.budget_id
               RETURNING u.budget_id, u.period_start, u.spent_micros, b.limit_micros"#,
            &r.budget_ids,
            &r.period_starts,
            give_back,
            cost
        )
        .fetch_all(&mut *tx)
        .await?;
        for c in crossed {
            for threshold in [80i16, 100] {
                if c.spent_micros * 100 >= c.limit_micros * i64::from(threshold) {
                    record_alert(
                        &mut tx,
                        r.tenant_id,
                        c.budget_id,
                        c.period_start,
                        threshold,
                        c.spent_micros,
                        c.limit_micros,
                    )
                    .await?;
                }
            }
        }
        ledger::write(
            &mut tx,
            ledger::Line {
                tenant_id: r.tenant_id,
                entry: "settle",
                provider: &r.provider,
                model: &r.model,
                amount_micros: cost,
                usage: Some(usage),
                job_id: r.job_id,
                reservation_id: self.id,
                note: (!r.was_held).then_some("settled after the sweep released it"),
            },
        )
        .await?;
        tx.commit().await?;
        metrics::counter!("llm_cost_micros_total", "provider" => r.provider).increment(cost as u64);
        Ok(())
    }

    /// Gives the estimate back: the call failed without costing anything.
    pub async fn release(self, pool: &PgPool, reason: &str) -> Result<(), DomainError> {
        let mut tx = pool.begin().await?;
        release_in(&mut tx, self.id, reason).await?;
        tx.commit().await?;
        Ok(())
    }
}

async fn release_in(conn: &mut PgConnection, id: Uuid, reason: &str) -> Result<(), DomainError> {
    let Some(r) = finish(conn, id, "released").await? else {
        return Err(DomainError::NotFound("reservation"));
    };
    if !r.was_held {
        return Ok(());
    }
    sqlx::query!(
        r#"UPDATE budget_usage u SET reserved_micros = greatest(u.reserved_micros - $3, 0)
           FROM unnest($1::uuid[], $2::timestamptz[]) AS h(budget_id, start)
           WHERE u.budget_id = h.budget_id AND u.period_start = h.start"#,
        &r.budget_ids,
        &r.period_starts,
        r.estimate_micros
    )
    .execute(&mut *conn)
    .await?;
    ledger::write(
        conn,
        ledger::Line {
            tenant_id: r.tenant_id,
            entry: "release",
            provider: &r.provider,
            model: &r.model,
            amount_micros: r.estimate_micros,
            usage: None,
            job_id: r.job_id,
            reservation_id: id,
            note: Some(reason),
        },
    )
    .await?;
    Ok(())
}

/// Releases reservations held past their hold time (their job died mid-call, or never
/// settled): returns how many. Run by the workers now and then.
pub async fn release_expired(pool: &PgPool) -> Result<u64, DomainError> {
    let ids = sqlx::query_scalar!(
        r#"SELECT id FROM budget_reservations
           WHERE state = 'held' AND expires_at < now()
           ORDER BY expires_at LIMIT 1000"#
    )
    .fetch_all(pool)
    .await?;
    let mut released = 0;
    for id in ids {
        let mut tx = pool.begin().await?;
        release_in(&mut tx, id, "expired: never settled").await?;
        tx.commit().await?;
        released += 1;
    }
    if released > 0 {
        tracing::warn!(
            released,
            "released budget reservations that were never settled"
        );
        metrics::counter!("budget_reservations_expired_total").increment(released);
    }
    Ok(released)
}

/// Records that a budget's period reached `threshold` percent, once per period.
async fn record_alert(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    budget_id: Uuid,
    period_start: DateTime<Utc>,
    threshold: i16,
    spent_micros: i64,
    limit_micros: i64,
) -> Result<(), sqlx::Error> {
    let new = sqlx::query!(
        r#"INSERT INTO budget_alerts (id, tenant_id, budget_id, period_start, threshold,
                                     spent_micros, limit_micros)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (budget_id, period_start, threshold) DO NOTHING"#,
        Uuid::now_v7(),
        tenant_id,
        budget_id,
        period_start,
        threshold,
        spent_micros,
        limit_micros
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if new > 0 {
        tracing::warn!(%budget_id, threshold, spent_micros, limit_micros, "budget alert");
        metrics::counter!("budget_alerts_total", "threshold" => threshold.to_string()).increment(1);
    }
    Ok(())
}

/// What the tenant's budgets of `provider` have left this period, for estimates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BudgetLeft {
    /// The budget.
    pub budget_id: Uuid,
    /// Its period.
    pub period: Period,
    /// Its limit.
    pub limit_micros: i64,
    /// What a reservation may still take.
    pub remaining_micros: i64,
    /// When the period ends.
    pub period_end: DateTime<Utc>,
}

/// What each budget of the tenant's `provider` has left this period (none: unlimited).
pub async fn remaining(
    pool: &PgPool,
    tenant_id: Uuid,
    provider: &str,
) -> Result<Vec<BudgetLeft>, DomainError> {
    Ok(list(pool, tenant_id, Some(provider))
        .await?
        .into_iter()
        .map(|b| BudgetLeft {
            budget_id: b.id,
            period: b.period,
            limit_micros: b.limit_micros,
            remaining_micros: b.remaining_micros,
            period_end: b.period_end,
        })
        .collect())
}

#[cfg(test)]
mod tests;
