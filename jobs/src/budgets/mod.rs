//! Budgets: money a tenant lets its jobs spend on a paid provider, per UTC day or calendar
//! month, in integer micro-dollars — a scheduling constraint, not a report.
//!
//! - [`reserve`] holds a paid call's estimate against every budget of the tenant's provider with
//!   one conditional `UPDATE` per budget period (`spent + reserved + estimate <= limit`), in
//!   one transaction: concurrent callers cannot overrun a limit between them. When a budget
//!   would overrun, the call is refused with [`BudgetError::Exhausted`], which turns into a
//!   parked job ([`JobError::Park`](crate::queue::JobError::Park)): no attempt spent, back in
//!   the queue when the period rolls over, or at once when the limit is raised ([`update`]).
//! - [`Reservation::settle`] books the real cost once the call answered; [`Reservation::release`]
//!   gives the estimate back when it failed without a cost. A reservation whose job died in
//!   the middle is released by [`release_expired`] (the workers' sweep).
//! - [`paid_call`] is that sequence for a job kind that pays: reserve, call, settle or release.
//! - Every reserve, settle and release is a row of the cost ledger ([`costs`]), with the
//!   model, the tokens and the job.
//! - A period crossing 80 % of its limit, or reaching 100 % (or refusing a reservation),
//!   records one alert per threshold ([`Budget::alerts`]) and counts `budget_alerts_total`.
//!
//! This file holds the budgets themselves (create, list, change, delete, what is left); spending
//! (reserve, settle, release, the sweep, [`paid_call`]) is in `spend`, the ledger in `ledger`,
//! and resuming the jobs parked on a budget in `parking`.
//!
//! It never calls a provider and never prices tokens: callers bring the estimate and the cost.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{
    DomainError, FieldError,
    audit::{self, Actor, Change},
    kinds::from_value,
};

mod ledger;
mod parking;
mod spend;

pub use ledger::{COST_ENTRIES, CostEntry, CostFilter, CostPage, CostTotals, costs};
pub use parking::parked_on;
pub use spend::{
    Attribution, BudgetError, DEFAULT_HOLD, Reservation, SpendRequest, Usage, attribute_category,
    paid_call, release_expired, reserve, reserve_for,
};

/// Most ledger entries in one page: the one page size of every listing.
pub use crate::paging::MAX_PAGE as MAX_COST_PAGE;

/// The longest provider name.
pub const MAX_PROVIDER: usize = 50;
/// The largest limit: a billion dollars.
pub const MAX_LIMIT_MICROS: i64 = 1_000_000_000_000_000;

crate::named_enum! {
    /// How long a budget's period lasts.
    pub enum Period {
        /// A UTC day.
        Day = "day",
        /// A calendar month, in UTC.
        Month = "month",
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

struct BudgetRow {
    id: Uuid,
    provider: String,
    period: Period,
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
            period: self.period,
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
        r#"SELECT b.id, b.provider, b.period AS "period: Period", b.limit_micros,
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
    parking::resume_parked(conn, tenant_id, id).await
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
    parking::resume_parked(conn, tenant_id, id).await
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
