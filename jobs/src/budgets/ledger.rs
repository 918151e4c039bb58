//! The cost ledger: one row per reserve, settle and release, and what a tenant reads of it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::Usage;
use crate::{
    DomainError,
    paging::{self, Page},
};

pub(super) struct Line<'a> {
    pub tenant_id: Uuid,
    pub entry: &'static str,
    pub provider: &'a str,
    pub model: &'a str,
    pub amount_micros: i64,
    pub usage: Option<&'a Usage>,
    pub job_id: Option<Uuid>,
    pub reservation_id: Uuid,
    pub note: Option<&'a str>,
}

/// Writes one row, with the attribution its reservation carries (signal, source, ruleset,
/// workflow) copied in the same statement.
pub(super) async fn write(conn: &mut PgConnection, line: Line<'_>) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"INSERT INTO cost_ledger (id, tenant_id, entry, provider, model, amount_micros,
                                   prompt_tokens, completion_tokens, job_id, reservation_id, note,
                                   signal_id, source_id, ruleset_id, workflow_id)
           SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,
                  r.signal_id, r.source_id, r.ruleset_id, r.workflow_id
           FROM (VALUES (1)) AS one (n)
           LEFT JOIN budget_reservations r ON r.id = $10"#,
        Uuid::now_v7(),
        line.tenant_id,
        line.entry,
        line.provider,
        line.model,
        line.amount_micros,
        line.usage.map(|u| u.prompt_tokens),
        line.usage.map(|u| u.completion_tokens),
        line.job_id,
        line.reservation_id,
        line.note
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// One row of the ledger.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostEntry {
    /// Its id (UUIDv7: sorts by time).
    pub id: Uuid,
    /// When.
    pub at: DateTime<Utc>,
    /// `reserve`, `settle` or `release`.
    pub entry: String,
    /// The provider.
    pub provider: String,
    /// The model.
    pub model: String,
    /// Micro-dollars: the estimate held or given back, or the real cost.
    pub amount_micros: i64,
    /// Prompt tokens (settle only).
    pub prompt_tokens: Option<i64>,
    /// Completion tokens (settle only).
    pub completion_tokens: Option<i64>,
    /// The job that made the call.
    pub job_id: Option<Uuid>,
    /// The reservation the row belongs to.
    pub reservation_id: Uuid,
    /// Why (a release's reason).
    pub note: Option<String>,
}

/// The kinds of ledger entry: a reservation before a paid call, its settlement at the real
/// cost, or its release when the call was not made.
pub const COST_ENTRIES: [&str; 3] = ["reserve", "settle", "release"];

/// Filters of the ledger.
#[derive(Debug, Clone, Default)]
pub struct CostFilter {
    /// Only this provider.
    pub provider: Option<String>,
    /// Only this model.
    pub model: Option<String>,
    /// Only this kind of entry.
    pub entry: Option<String>,
    /// Only this job's.
    pub job_id: Option<Uuid>,
    /// From this time on (inclusive).
    pub since: Option<DateTime<Utc>>,
    /// Before this time.
    pub until: Option<DateTime<Utc>>,
    /// Entries older than this id (the previous page's cursor).
    pub before: Option<Uuid>,
    /// Page size (1 to [`paging::MAX_PAGE`]; clamped into it).
    pub limit: i64,
}

/// Sums over every entry the filter matches (not just the page).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CostTotals {
    /// Settled: the money spent.
    pub spent_micros: i64,
    /// Reserved and not yet settled or released.
    pub held_micros: i64,
    /// Settled calls.
    pub calls: i64,
    /// Prompt tokens of settled calls.
    pub prompt_tokens: i64,
    /// Completion tokens of settled calls.
    pub completion_tokens: i64,
}

/// A page of the ledger, newest first, with the totals of everything the filter matches.
#[derive(Debug, Clone, PartialEq)]
pub struct CostPage {
    /// The entries.
    pub items: Vec<CostEntry>,
    /// Pass as `before` for the next page.
    pub next_cursor: Option<Uuid>,
    /// Sums over the whole filter.
    pub totals: CostTotals,
}

/// Reads the tenant's ledger.
pub async fn costs(
    pool: &PgPool,
    tenant_id: Uuid,
    filter: &CostFilter,
) -> Result<CostPage, DomainError> {
    let limit = paging::clamp_limit(filter.limit);
    let rows = sqlx::query_as!(
        CostEntry,
        r#"SELECT id, at, entry, provider, model, amount_micros, prompt_tokens,
                  completion_tokens, job_id, reservation_id, note
           FROM cost_ledger
           WHERE tenant_id = $1
             AND ($2::text IS NULL OR provider = $2)
             AND ($3::text IS NULL OR model = $3)
             AND ($4::text IS NULL OR entry = $4)
             AND ($5::uuid IS NULL OR job_id = $5)
             AND ($6::timestamptz IS NULL OR at >= $6)
             AND ($7::timestamptz IS NULL OR at < $7)
             AND ($8::uuid IS NULL OR id < $8)
           ORDER BY id DESC
           LIMIT $9"#,
        tenant_id,
        filter.provider,
        filter.model,
        filter.entry,
        filter.job_id,
        filter.since,
        filter.until,
        filter.before,
        limit + 1
    )
    .fetch_all(pool)
    .await?;
    let sums = sqlx::query!(
        r#"SELECT coalesce(sum(amount_micros) FILTER (WHERE entry = 'settle'), 0)::int8 AS "spent!",
                  count(*) FILTER (WHERE entry = 'settle') AS "calls!",
                  coalesce(sum(prompt_tokens), 0)::int8 AS "prompt_tokens!",
                  coalesce(sum(completion_tokens), 0)::int8 AS "completion_tokens!"
           FROM cost_ledger
           WHERE tenant_id = $1
             AND ($2::text IS NULL OR provider = $2)
             AND ($3::text IS NULL OR model = $3)
             AND ($4::text IS NULL OR entry = $4)
             AND ($5::uuid IS NULL OR job_id = $5)
             AND ($6::timestamptz IS NULL OR at >= $6)
             AND ($7::timestamptz IS NULL OR at < $7)"#,
        tenant_id,
        filter.provider,
        filter.model,
        filter.entry,
        filter.job_id,
        filter.since,
        filter.until
    )
    .fetch_one(pool)
    .await?;
    // What is held is what the reservations still hold (their `reserve` rows match the filters).
    let held = if filter.entry.as_deref().is_none_or(|e| e == "reserve") {
        sqlx::query_scalar!(
            r#"SELECT coalesce(sum(estimate_micros), 0)::int8 AS "held!"
               FROM budget_reservations
               WHERE tenant_id = $1 AND state = 'held'
                 AND ($2::text IS NULL OR provider = $2)
                 AND ($3::text IS NULL OR model = $3)
                 AND ($4::uuid IS NULL OR job_id = $4)
                 AND ($5::timestamptz IS NULL OR created_at >= $5)
                 AND ($6::timestamptz IS NULL OR created_at < $6)"#,
            tenant_id,
            filter.provider,
            filter.model,
            filter.job_id,
            filter.since,
            filter.until
        )
        .fetch_one(pool)
        .await?
    } else {
        0
    };
    let totals = CostTotals {
        spent_micros: sums.spent,
        held_micros: held,
        calls: sums.calls,
        prompt_tokens: sums.prompt_tokens,
        completion_tokens: sums.completion_tokens,
    };
    let Page { items, next_cursor } = Page::from_rows(rows, limit, |e| e.id);
    Ok(CostPage {
        items,
        next_cursor,
        totals,
    })
}
