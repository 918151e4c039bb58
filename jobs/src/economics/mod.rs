//! Economics: what each source (ruleset, category, workflow, day) earns and costs.
//!
//! It owns the report behind `GET /api/v1/economics`: signals ingested, verdicts by how they
//! were reached (keywords, a paid LLM call, the memo), leads, leads exported and confirmed,
//! returns, cost, revenue, cost per lead, cost per confirmed lead and ROI — per group and in
//! total, as JSON or CSV.
//!
//! Money comes from `economics_daily`, the rollup the ledgers' triggers keep in the transaction
//! that writes each ledger row; every ledger row carries its attribution from the moment it is
//! written (see `budgets::Attribution` and `partners::revenue`), so nothing is guessed at read
//! time. Activity (signals, verdicts, leads, exports) is counted from its own tables.
//!
//! Units: cost in integer micro-dollars (USD); revenue in integer cents per currency. It never
//! converts currencies: ROI is given only when every revenue of the group is in USD.
//!
//! The [`watch`] judges each source against a tenant's thresholds and emits `source.economics`
//! when one is crossed.
//!
//! It only reads the ledgers; it never writes a ledger row.

use chrono::NaiveDate;
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::{DomainError, FieldError, export::Csv};

pub mod forecast;
pub mod watch;

crate::named_enum! {
    /// What the report's rows are per.
    pub enum GroupBy {
        /// The signal's source.
        Source = "source",
        /// The verdict's category.
        Category = "category",
        /// The ruleset that classified it.
        Ruleset = "ruleset",
        /// The workflow whose run did the work.
        Workflow = "workflow",
        /// The UTC day.
        Day = "day",
    }
}

/// The longest range one report covers, in days.
pub const MAX_RANGE_DAYS: i64 = 3660;

/// What the report covers.
#[derive(Debug, Clone)]
pub struct Query {
    /// Rows per.
    pub group_by: GroupBy,
    /// From this UTC day on.
    pub since: Option<NaiveDate>,
    /// Up to this UTC day, included.
    pub until: Option<NaiveDate>,
}

impl Query {
    /// Checks the order and span of the days.
    pub fn validate(&self) -> Result<(), FieldError> {
        if let (Some(s), Some(u)) = (self.since, self.until) {
            if s > u {
                return Err(FieldError::new("until", "must not be before `since`"));
            }
            if (u - s).num_days() > MAX_RANGE_DAYS {
                return Err(FieldError::new(
                    "until",
                    format!("at most {MAX_RANGE_DAYS} days after `since`"),
                ));
            }
        }
        Ok(())
    }
}

/// Revenue in one currency.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Revenue {
    /// ISO 4217.
    pub currency: String,
    /// Sales.
    pub sales: i64,
    /// Their prices, integer cents.
    pub sales_cents: i64,
    /// Returns.
    pub returns: i64,
    /// What they took back, integer cents (zero or negative).
    pub returns_cents: i64,
    /// Sales plus returns, integer cents.
    pub net_cents: i64,
}

/// The figures of one group (or of all).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Figures {
    /// Signals ingested.
    pub signals: i64,
    /// Verdicts the keyword rules reached (including an LLM's invalid answers, kept as keywords).
    pub classified_keyword: i64,
    /// Verdicts a paid LLM call reached.
    pub classified_llm: i64,
    /// Verdicts read from the memo (free).
    pub classified_memo: i64,
    /// Leads found.
    pub leads: i64,
    /// Leads handed to a partner (received, whether or not sold yet).
    pub leads_exported: i64,
    /// Leads a partner confirmed (sold).
    pub leads_confirmed: i64,
    /// Sales returned.
    pub returns: i64,
    /// Settled paid calls.
    pub paid_calls: i64,
    /// What they cost, integer micro-dollars.
    pub cost_micros: i64,
    /// Per currency.
    pub revenue: Vec<Revenue>,
    /// `cost_micros / leads`, rounded to the nearest micro-dollar; none without leads.
    pub cost_per_lead_micros: Option<i64>,
    /// `cost_micros / leads_confirmed`, rounded; none without confirmed leads.
    pub cost_per_confirmed_lead_micros: Option<i64>,
    /// `(USD net revenue − cost) / cost` in basis points (10,000 = +100 %), rounded; none
    /// without cost, or when some revenue is in another currency (no rate is assumed).
    pub roi_basis_points: Option<i64>,
}

/// One row of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    /// The source, ruleset or workflow id, the category, or the day (`2026-11-30`); none for
    /// what has none (a signal not yet classified has no category).
    pub key: Option<String>,
    /// The source's, ruleset's or workflow's name, when it still exists.
    pub name: Option<String>,
    /// The figures.
    #[serde(flatten)]
    pub figures: Figures,
}

/// The report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// What the rows are per.
    pub group_by: GroupBy,
    /// The rows, by key.
    pub groups: Vec<Group>,
    /// Every row summed.
    pub totals: Figures,
}

struct Row {
    key: Option<String>,
    name: Option<String>,
    currency: String,
    signals: i64,
    keyword: i64,
    llm: i64,
    memo: i64,
    leads: i64,
    exported: i64,
    confirmed: i64,
    paid_calls: i64,
    cost_micros: i64,
    sales: i64,
    sales_cents: i64,
    returns: i64,
    returns_cents: i64,
}

/// The tenant's report.
pub async fn report(pool: &PgPool, tenant_id: Uuid, q: &Query) -> Result<Report, DomainError> {
    q.validate()?;
    let rows = sqlx::query_file_as!(
        Row,
        "src/economics/report.sql",
        tenant_id,
        q.group_by.as_str(),
        q.since,
        q.until
    )
    .fetch_all(pool)
    .await?;
    Ok(assemble(q.group_by, rows))
}

fn assemble(group_by: GroupBy, rows: Vec<Row>) -> Report {
    let mut groups: Vec<Group> = Vec::new();
    for r in rows {
        if groups.last().is_none_or(|g| g.key != r.key) {
            groups.push(Group {
                key: r.key.clone(),
                name: r.name.clone(),
                figures: Figures::default(),
            });
        }
        let Some(g) = groups.last_mut() else { continue };
        let f = &mut g.figures;
        f.signals += r.signals;
        f.classified_keyword += r.keyword;
        f.classified_llm += r.llm;
        f.classified_memo += r.memo;
        f.leads += r.leads;
        f.leads_exported += r.exported;
        f.leads_confirmed += r.confirmed;
        f.returns += r.returns;
        f.paid_calls += r.paid_calls;
        f.cost_micros += r.cost_micros;
        if !r.currency.is_empty() {
            add_revenue(
                &mut f.revenue,
                &Revenue {
                    currency: r.currency,
                    sales: r.sales,
                    sales_cents: r.sales_cents,
                    returns: r.returns,
                    returns_cents: r.returns_cents,
                    net_cents: r.sales_cents + r.returns_cents,
                },
            );
        }
    }
    let mut totals = Figures::default();
    for g in &mut groups {
        derive(&mut g.figures);
        let f = &g.figures;
        totals.signals += f.signals;
        totals.classified_keyword += f.classified_keyword;
        totals.classified_llm += f.classified_llm;
        totals.classified_memo += f.classified_memo;
        totals.leads += f.leads;
        totals.leads_exported += f.leads_exported;
        totals.leads_confirmed += f.leads_confirmed;
        totals.returns += f.returns;
        totals.paid_calls += f.paid_calls;
        totals.cost_micros += f.cost_micros;
        for r in &f.revenue {
            add_revenue(&mut totals.revenue, r);
        }
    }
    derive(&mut totals);
    Report {
        group_by,
        groups,
        totals,
    }
}

fn add_revenue(into: &mut Vec<Revenue>, r: &Revenue) {
    let at = match into.iter().position(|x| x.currency == r.currency) {
        Some(i) => i,
        None => {
            into.push(Revenue {
                currency: r.currency.clone(),
                ..Revenue::default()
            });
            into.sort_by(|a, b| a.currency.cmp(&b.currency));
            into.iter()
                .position(|x| x.currency == r.currency)
                .unwrap_or_default()
        }
    };
    let x = &mut into[at];
    x.sales += r.sales;
    x.sales_cents += r.sales_cents;
    x.returns += r.returns;
    x.returns_cents += r.returns_cents;
    x.net_cents += r.net_cents;
}

/// `a / b` rounded to the nearest integer, halves away from zero; none when `b` is 0.
pub fn ratio(a: i128, b: i128) -> Option<i64> {
    if b == 0 {
        return None;
    }
    let (q, r) = (a / b, a % b);
    let q = if 2 * r.abs() >= b.abs() {
        q + if (a < 0) == (b < 0) { 1 } else { -1 }
    } else {
        q
    };
    i64::try_from(q).ok()
}

/// The ratios, from the sums.
fn derive(f: &mut Figures) {
    let cost = i128::from(f.cost_micros);
    f.cost_per_lead_micros = ratio(cost, f.leads.into());
    f.cost_per_confirmed_lead_micros = ratio(cost, f.leads_confirmed.into());
    f.roi_basis_points = if f.revenue.iter().all(|r| r.currency == "USD") {
        let usd_micros = f
            .revenue
            .iter()
            .map(|r| i128::from(r.net_cents) * 10_000)
            .sum::<i128>();
        ratio((usd_micros - cost) * 10_000, cost)
    } else {
        None
    };
}

const CSV_HEADER: &[&str] = &[
    "group_by",
    "key",
    "name",
    "signals",
    "classified_keyword",
    "classified_llm",
    "classified_memo",
    "leads",
    "leads_exported",
    "leads_confirmed",
    "returns",
    "paid_calls",
    "cost_micros",
    "cost_per_lead_micros",
    "cost_per_confirmed_lead_micros",
    "roi_basis_points",
    "currency",
    "sales",
    "sales_cents",
    "returns_cents",
    "net_cents",
];

/// The report as CSV with a header row: one row per group and currency (a group without
/// revenue has one row, its currency empty), then the totals with `group_by` = `total`. Names
/// and categories are guarded against formula injection.
pub fn csv(report: &Report) -> Vec<u8> {
    let mut out = Csv::header(CSV_HEADER);
    let mut csv = Csv::new();
    let rows = report
        .groups
        .iter()
        .map(|g| {
            (
                report.group_by.as_str(),
                g.key.as_deref(),
                g.name.as_deref(),
                &g.figures,
            )
        })
        .chain(std::iter::once(("total", None, None, &report.totals)));
    for (group_by, key, name, f) in rows {
        let revenue: Vec<Option<&Revenue>> = if f.revenue.is_empty() {
            vec![None]
        } else {
            f.revenue.iter().map(Some).collect()
        };
        for r in revenue {
            csv.name(group_by)
                .opt_text(key)
                .opt_text(name)
                .number(f.signals)
                .number(f.classified_keyword)
                .number(f.classified_llm)
                .number(f.classified_memo)
                .number(f.leads)
                .number(f.leads_exported)
                .number(f.leads_confirmed)
                .number(f.returns)
                .number(f.paid_calls)
                .number(f.cost_micros);
            opt_number(&mut csv, f.cost_per_lead_micros);
            opt_number(&mut csv, f.cost_per_confirmed_lead_micros);
            opt_number(&mut csv, f.roi_basis_points);
            match r {
                Some(r) => csv
                    .text(&r.currency)
                    .number(r.sales)
                    .number(r.sales_cents)
                    .number(r.returns_cents)
                    .number(r.net_cents),
                None => csv.text("").text("").text("").text("").text(""),
            };
            csv.end_row();
        }
    }
    out.extend(csv.finish());
    out
}

fn opt_number(csv: &mut Csv, n: Option<i64>) {
    match n {
        Some(n) => csv.number(n),
        None => csv.text(""),
    };
}

#[cfg(test)]
mod tests;
