//! The revenue ledger: one `sale` row per sold export (its price, integer cents), one negative
//! `return` row when the partner returns it — each at most once per export (a unique key, so a
//! repeated confirmation or postback writes nothing) — and the totals per partner and UTC day,
//! as JSON or CSV. Each row carries the attribution of its lead (source, category, and the
//! ruleset and workflow of the lead's latest verdict), written by the same statement; a return
//! copies its sale's.

use chrono::NaiveDate;
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{DomainError, FieldError, export::Csv};

/// Writes the `sale` row of export `export_id` (its price, or 0 when the partner gave none).
/// `false`: it was written before.
pub async fn record_sale(conn: &mut PgConnection, export_id: Uuid) -> Result<bool, DomainError> {
    let row = sqlx::query!(
        r#"INSERT INTO revenue_ledger (id, tenant_id, partner_id, partner_name, export_id, lead_id,
                                       kind, amount_cents, currency,
                                       source_id, category, ruleset_id, workflow_id)
           SELECT $2, e.tenant_id, e.partner_id, p.name, e.id, e.lead_id, 'sale',
                  coalesce(e.price_cents, 0), e.currency,
                  l.source_id, l.category, c.ruleset_id, c.workflow_id
           FROM partner_exports e JOIN partners p ON p.id = e.partner_id
           LEFT JOIN leads l ON l.id = e.lead_id
           LEFT JOIN LATERAL (
               SELECT c.ruleset_id, c.workflow_id FROM lead_signals ls
               JOIN classifications c ON c.signal_id = ls.signal_id
               WHERE ls.lead_id = e.lead_id ORDER BY c.created_at DESC, c.id DESC LIMIT 1
           ) c ON true
           WHERE e.id = $1
           ON CONFLICT (export_id, kind) DO NOTHING
           RETURNING amount_cents"#,
        export_id,
        Uuid::now_v7()
    )
    .fetch_optional(conn)
    .await?;
    if let Some(r) = &row {
        metrics::counter!("partner_sales_total").increment(1);
        metrics::counter!("partner_revenue_cents_total")
            .increment(u64::try_from(r.amount_cents).unwrap_or(0));
    }
    Ok(row.is_some())
}

/// Writes the `return` row of export `export_id`: minus its sale. `false`: written before.
pub async fn record_return(
    conn: &mut PgConnection,
    export_id: Uuid,
    reason: Option<&str>,
) -> Result<bool, DomainError> {
    let row = sqlx::query!(
        r#"INSERT INTO revenue_ledger (id, tenant_id, partner_id, partner_name, export_id, lead_id,
                                       kind, amount_cents, currency, reason,
                                       source_id, category, ruleset_id, workflow_id)
           SELECT $2, s.tenant_id, s.partner_id, s.partner_name, s.export_id, s.lead_id, 'return',
                  -s.amount_cents, s.currency, $3,
                  s.source_id, s.category, s.ruleset_id, s.workflow_id
           FROM revenue_ledger s WHERE s.export_id = $1 AND s.kind = 'sale'
           ON CONFLICT (export_id, kind) DO NOTHING
           RETURNING amount_cents"#,
        export_id,
        Uuid::now_v7(),
        reason
    )
    .fetch_optional(conn)
    .await?;
    if row.is_some() {
        metrics::counter!("partner_returns_total").increment(1);
    }
    Ok(row.is_some())
}

/// The totals of one partner on one day in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayTotal {
    /// The UTC day.
    pub day: NaiveDate,
    /// The partner (none once deleted).
    pub partner_id: Option<Uuid>,
    /// Its name.
    pub partner_name: String,
    /// The currency.
    pub currency: String,
    /// Sales.
    pub sales: i64,
    /// What they brought, in cents.
    pub sales_cents: i64,
    /// Returns.
    pub returns: i64,
    /// What they took back, in cents (negative or zero).
    pub returns_cents: i64,
    /// Sales plus returns, in cents.
    pub net_cents: i64,
}

/// Which ledger rows count.
#[derive(Debug, Clone, Default)]
pub struct Range {
    /// From this day on.
    pub since: Option<NaiveDate>,
    /// Up to this day, included.
    pub until: Option<NaiveDate>,
    /// Only this partner.
    pub partner_id: Option<Uuid>,
}

impl Range {
    /// Checks the order of the days.
    pub fn validate(&self) -> Result<(), FieldError> {
        if let (Some(s), Some(u)) = (self.since, self.until)
            && s > u
        {
            return Err(FieldError::new("until", "must not be before `since`"));
        }
        Ok(())
    }
}

/// The tenant's totals per day and partner, newest day first.
pub async fn totals(
    pool: &PgPool,
    tenant_id: Uuid,
    range: &Range,
) -> Result<Vec<DayTotal>, DomainError> {
    range.validate()?;
    Ok(sqlx::query_as!(
        DayTotal,
        r#"SELECT day, partner_id, partner_name, currency,
                  count(*) FILTER (WHERE kind = 'sale') AS "sales!",
                  coalesce(sum(amount_cents) FILTER (WHERE kind = 'sale'), 0)::bigint AS "sales_cents!",
                  count(*) FILTER (WHERE kind = 'return') AS "returns!",
                  coalesce(sum(amount_cents) FILTER (WHERE kind = 'return'), 0)::bigint AS "returns_cents!",
                  coalesce(sum(amount_cents), 0)::bigint AS "net_cents!"
           FROM revenue_ledger
           WHERE tenant_id = $1
             AND ($2::date IS NULL OR day >= $2)
             AND ($3::date IS NULL OR day <= $3)
             AND ($4::uuid IS NULL OR partner_id = $4)
           GROUP BY day, partner_id, partner_name, currency
           ORDER BY day DESC, partner_name, currency
           LIMIT 10000"#,
        tenant_id,
        range.since,
        range.until,
        range.partner_id
    )
    .fetch_all(pool)
    .await?)
}

const CSV_HEADER: &[&str] = &[
    "day",
    "partner_id",
    "partner_name",
    "currency",
    "sales",
    "sales_cents",
    "returns",
    "returns_cents",
    "net_cents",
];

/// The totals as CSV with a header row (the partner's name guarded against formula injection).
pub fn csv(totals: &[DayTotal]) -> Vec<u8> {
    let mut out = Csv::header(CSV_HEADER);
    let mut csv = Csv::new();
    for t in totals {
        csv.text(&t.day.to_string())
            .opt_id(t.partner_id)
            .text(&t.partner_name)
            .text(&t.currency)
            .number(t.sales)
            .number(t.sales_cents)
            .number(t.returns)
            .number(t.returns_cents)
            .number(t.net_cents)
            .end_row();
    }
    out.extend(csv.finish());
    out
}
