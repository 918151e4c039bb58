//! `/economics`: what each source, category, ruleset, workflow or day earns and costs — the
//! report of [`jobs::economics`], as JSON or CSV (`/economics/export`, like `/revenue`).
//!
//! Viewers read. Cost is in integer micro-dollars (USD), revenue in integer cents per
//! currency; no currency is converted.

use chrono::NaiveDate;
use jobs::{
    FieldError,
    auth::Role,
    economics::{self, GroupBy, Query as ReportQuery},
};
use poem::web::Data;
use poem_openapi::{
    Object, OpenApi,
    param::Query,
    payload::{Binary, Json},
};

use super::{ApiTags, common::optional};
use crate::{
    api_responses,
    app::AppState,
    auth::Auth,
    problem::{ApiError, respond},
};

/// Revenue in one currency.
#[derive(Debug, Clone, Object)]
pub struct EconomicsRevenue {
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

/// The figures of a group, or of all.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct EconomicsFigures {
    /// Signals ingested.
    pub signals: i64,
    /// Verdicts the keyword rules reached (an LLM's twice-invalid answer keeps the keywords').
    pub classified_keyword: i64,
    /// Verdicts a paid LLM call reached.
    pub classified_llm: i64,
    /// Verdicts read from the memo of paid answers (free).
    pub classified_memo: i64,
    /// Leads found.
    pub leads: i64,
    /// Leads a partner received (sold or not yet).
    pub leads_exported: i64,
    /// Leads a partner confirmed (sold).
    pub leads_confirmed: i64,
    /// Sales returned.
    pub returns: i64,
    /// Settled paid calls.
    pub paid_calls: i64,
    /// What they cost, integer micro-dollars (USD).
    pub cost_micros: i64,
    /// Per currency, integer cents.
    pub revenue: Vec<EconomicsRevenue>,
    /// Cost per lead, micro-dollars, rounded (halves away from zero); absent without leads.
    pub cost_per_lead_micros: Option<i64>,
    /// Cost per confirmed lead, micro-dollars, rounded; absent without confirmed leads.
    pub cost_per_confirmed_lead_micros: Option<i64>,
    /// (USD net revenue − cost) / cost in basis points (10000 = +100 %), rounded; absent
    /// without cost or when some revenue is not in USD (no exchange rate is assumed).
    pub roi_basis_points: Option<i64>,
}

impl From<economics::Figures> for EconomicsFigures {
    fn from(f: economics::Figures) -> Self {
        Self {
            signals: f.signals,
            classified_keyword: f.classified_keyword,
            classified_llm: f.classified_llm,
            classified_memo: f.classified_memo,
            leads: f.leads,
            leads_exported: f.leads_exported,
            leads_confirmed: f.leads_confirmed,
            returns: f.returns,
            paid_calls: f.paid_calls,
            cost_micros: f.cost_micros,
            revenue: f
                .revenue
                .into_iter()
                .map(|r| EconomicsRevenue {
                    currency: r.currency,
                    sales: r.sales,
                    sales_cents: r.sales_cents,
                    returns: r.returns,
                    returns_cents: r.returns_cents,
                    net_cents: r.net_cents,
                })
                .collect(),
            cost_per_lead_micros: f.cost_per_lead_micros,
            cost_per_confirmed_lead_micros: f.cost_per_confirmed_lead_micros,
            roi_basis_points: f.roi_basis_points,
        }
    }
}

/// One group of the report.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct EconomicsGroup {
    /// The source, ruleset or workflow id, the category, or the UTC day; absent for what has
    /// none (signals not yet classified have no category, work outside workflows no workflow).
    pub key: Option<String>,
    /// The source's URL (or kind), the ruleset's or the workflow's name, while it exists.
    pub name: Option<String>,
    /// The figures.
    pub figures: EconomicsFigures,
}

/// The economics report.
#[derive(Debug, Clone, Object)]
pub struct EconomicsReport {
    /// `source`, `category`, `ruleset`, `workflow` or `day`.
    pub group_by: String,
    /// The groups, by key (absent key last).
    pub groups: Vec<EconomicsGroup>,
    /// Every group summed.
    pub totals: EconomicsFigures,
}

api_responses! {
    /// Outcomes of `getEconomics`.
    pub enum EconomicsResponse {
        /// The report.
        #[oai(status = 200)]
        Ok(Json<EconomicsReport>),
    }
    problems {
        401 => Unauthorized,
        422 => Invalid: "A parameter is invalid; `errors[].path` names it.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `exportEconomics`.
    pub enum EconomicsCsvResponse {
        /// The report as CSV, with a header row: one row per group and currency, then the totals.
        #[oai(status = 200, content_type = "text/csv")]
        Csv(Binary<Vec<u8>>),
    }
    problems {
        401 => Unauthorized,
        422 => Invalid: "A parameter is invalid; `errors[].path` names it.",
        429 => TooManyRequests,
    }
}

/// The `/economics` operations.
pub struct EconomicsApi;

#[OpenApi(tag = "ApiTags::Economics")]
impl EconomicsApi {
    /// What each source earns and costs
    ///
    /// Per `group_by` (`source`, the default, `category`, `ruleset`, `workflow` or `day`) over
    /// UTC days `since` to `until` (both included, `2026-11-30`): signals ingested, verdicts by
    /// keywords, LLM and memo, leads, leads exported and confirmed, returns, cost (micro-dollars),
    /// revenue (cents per currency), cost per lead, cost per confirmed lead and ROI, with totals.
    /// Every ledger row is attributed when it is written, so the figures need no guessing.
    #[oai(path = "/economics", method = "get", operation_id = "getEconomics")]
    async fn economics(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        group_by: Query<Option<String>>,
        since: Query<Option<String>>,
        until: Query<Option<String>>,
    ) -> EconomicsResponse {
        respond(report(&state, &auth, group_by.0, since.0, until.0).await)
    }

    /// The economics report as CSV
    #[oai(
        path = "/economics/export",
        method = "get",
        operation_id = "exportEconomics"
    )]
    async fn economics_csv(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        group_by: Query<Option<String>>,
        since: Query<Option<String>>,
        until: Query<Option<String>>,
    ) -> EconomicsCsvResponse {
        respond(export(&state, &auth, group_by.0, since.0, until.0).await)
    }
}

fn query(
    group_by: Option<String>,
    since: Option<String>,
    until: Option<String>,
) -> Result<ReportQuery, FieldError> {
    let day = |name: &'static str| {
        move |s: &str| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map_err(|_| FieldError::new(name, "expected a day, like 2026-11-30"))
        }
    };
    let q = ReportQuery {
        group_by: optional(group_by, |s| GroupBy::parse_field("group_by", s))?
            .unwrap_or(GroupBy::Source),
        since: optional(since, day("since"))?,
        until: optional(until, day("until"))?,
    };
    q.validate()?;
    Ok(q)
}

#[tracing::instrument(skip_all, fields(tenant_id))]
async fn report(
    state: &AppState,
    auth: &Auth,
    group_by: Option<String>,
    since: Option<String>,
    until: Option<String>,
) -> Result<EconomicsResponse, ApiError> {
    let principal = auth.require(Role::Viewer)?;
    let q = query(group_by, since, until)?;
    let r = economics::report(&state.pool, principal.tenant_id, &q).await?;
    Ok(EconomicsResponse::Ok(Json(EconomicsReport {
        group_by: r.group_by.as_str().to_owned(),
        groups: r
            .groups
            .into_iter()
            .map(|g| EconomicsGroup {
                key: g.key,
                name: g.name,
                figures: g.figures.into(),
            })
            .collect(),
        totals: r.totals.into(),
    })))
}

#[tracing::instrument(skip_all, fields(tenant_id))]
async fn export(
    state: &AppState,
    auth: &Auth,
    group_by: Option<String>,
    since: Option<String>,
    until: Option<String>,
) -> Result<EconomicsCsvResponse, ApiError> {
    let principal = auth.require(Role::Viewer)?;
    let q = query(group_by, since, until)?;
    let r = economics::report(&state.pool, principal.tenant_id, &q).await?;
    Ok(EconomicsCsvResponse::Csv(Binary(economics::csv(&r))))
}
