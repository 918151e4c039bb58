//! The forecast per source, before it runs: leads, cost per lead and revenue a batch of items
//! is expected to bring, from the source's history — or the tenant's, for a source without
//! leads yet — with the assumptions it rests on. Part of the cost estimate
//! (`classify::estimate`); it reads, never writes.

use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use super::ratio;
use crate::DomainError;

/// Whose history the forecast is drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ForecastBasis {
    /// The source's own signals, leads and revenue.
    Source,
    /// The tenant's, across its sources (the source has no lead yet).
    Tenant,
    /// No history at all: nothing is forecast.
    None,
}

/// Revenue expected in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpectedRevenue {
    /// ISO 4217.
    pub currency: String,
    /// Net (sales minus returns), integer cents.
    pub net_cents: i64,
}

/// The forecast of a batch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Forecast {
    /// Whose history.
    pub basis: ForecastBasis,
    /// Signals of that history.
    pub history_signals: i64,
    /// Leads of that history.
    pub history_leads: i64,
    /// Leads a partner confirmed, of that history.
    pub history_confirmed_leads: i64,
    /// Leads per item (0 to 1).
    pub leads_per_item: f64,
    /// Leads the batch is expected to bring (rounded up).
    pub expected_leads: i64,
    /// Confirmed leads expected (rounded down).
    pub expected_confirmed_leads: i64,
    /// The estimate's expected cost per expected lead, micro-dollars (none: no lead expected).
    pub cost_per_lead_micros: Option<i64>,
    /// Per currency: the history's net revenue per signal times the batch's items, rounded.
    pub expected_revenue: Vec<ExpectedRevenue>,
    /// What the figures take for granted.
    pub assumptions: Vec<String>,
}

struct History {
    signals: i64,
    leads: i64,
    confirmed: i64,
}

async fn history(
    pool: &PgPool,
    tenant_id: Uuid,
    source_id: Option<Uuid>,
) -> Result<(History, Vec<ExpectedRevenue>), DomainError> {
    let h = sqlx::query_as!(
        History,
        r#"SELECT
             (SELECT count(*) FROM signals
              WHERE tenant_id = $1 AND ($2::uuid IS NULL OR source_id = $2)) AS "signals!",
             (SELECT count(*) FROM leads
              WHERE tenant_id = $1 AND ($2::uuid IS NULL OR source_id = $2)) AS "leads!",
             (SELECT count(DISTINCT e.lead_id) FROM partner_exports e
              JOIN leads l ON l.id = e.lead_id
              WHERE e.tenant_id = $1 AND e.confirmed_at IS NOT NULL
                AND ($2::uuid IS NULL OR l.source_id = $2)) AS "confirmed!""#,
        tenant_id,
        source_id
    )
    .fetch_one(pool)
    .await?;
    let revenue = sqlx::query_as!(
        ExpectedRevenue,
        r#"SELECT currency AS "currency!",
                  coalesce(sum(sales_cents + returns_cents), 0)::bigint AS "net_cents!"
           FROM economics_daily
           WHERE tenant_id = $1 AND ($2::uuid IS NULL OR source_id = $2) AND currency <> ''
           GROUP BY currency ORDER BY currency"#,
        tenant_id,
        source_id
    )
    .fetch_all(pool)
    .await?;
    Ok((h, revenue))
}

/// The forecast of `items` items from the tenant's source, whose classification is expected to
/// cost `expected_cost_micros`.
pub async fn forecast(
    pool: &PgPool,
    tenant_id: Uuid,
    source_id: Uuid,
    items: i64,
    expected_cost_micros: i64,
) -> Result<Forecast, DomainError> {
    let mut assumptions = vec![];
    let (mut h, mut revenue) = history(pool, tenant_id, Some(source_id)).await?;
    let mut basis = ForecastBasis::Source;
    if h.leads == 0 {
        (h, revenue) = history(pool, tenant_id, None).await?;
        basis = ForecastBasis::Tenant;
        assumptions.push(
            "the source has no lead yet: it is assumed to convert like the tenant's sources".into(),
        );
    }
    if h.signals == 0 {
        basis = ForecastBasis::None;
        assumptions.push("no signal in the history: no lead or revenue is forecast".into());
    }
    let per_item = |n: i64| {
        if h.signals == 0 {
            0.0
        } else {
            (n as f64 / h.signals as f64).min(1.0)
        }
    };
    let leads_per_item = per_item(h.leads);
    // in integers: rounded up for leads, down for confirmations
    let scaled = |n: i64, up: bool| -> i64 {
        if h.signals == 0 {
            return 0;
        }
        let (num, den) = (i128::from(n) * i128::from(items), i128::from(h.signals));
        let q = if up { (num + den - 1) / den } else { num / den };
        i64::try_from(q.min(i128::from(items))).unwrap_or(items)
    };
    let expected_leads = scaled(h.leads, true);
    let expected_confirmed_leads = scaled(h.confirmed, false);
    let expected_revenue = revenue
        .into_iter()
        .map(|r| ExpectedRevenue {
            net_cents: ratio(
                i128::from(r.net_cents) * i128::from(items),
                i128::from(h.signals),
            )
            .unwrap_or(0),
            currency: r.currency,
        })
        .collect();
    assumptions.push(
        "items convert to leads, confirmations and revenue at the history's rates (all of it, \
         every day); prices and return rates stay as they were"
            .into(),
    );
    assumptions.push("revenue is per currency: no exchange rate is assumed".into());
    Ok(Forecast {
        basis,
        history_signals: h.signals,
        history_leads: h.leads,
        history_confirmed_leads: h.confirmed,
        leads_per_item,
        expected_leads,
        expected_confirmed_leads,
        cost_per_lead_micros: ratio(expected_cost_micros.into(), expected_leads.into()),
        expected_revenue,
        assumptions,
    })
}
