//! `POST /budgets/estimate`: what classifying a batch from a source is expected to cost before
//! anything runs — paid calls and micro-dollars from the source's history (or documented
//! fallbacks) — beside what the tenant's budgets for the provider have left.
//!
//! The figures come from `jobs::classify::estimate`; the LLM settings (`LLM_*`) are the api's
//! own, which should match the workers'. It reads and never reserves.

use jobs::{
    auth::Role,
    classify::estimate::{self, Basis, EstimateRequest},
    economics::forecast,
    kinds::from_value,
};
use poem::web::Data;
use poem_openapi::{Enum, Object, OpenApi, payload::Json};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use chrono::{DateTime, Utc};

use super::{ApiTags, budgets::PeriodName};
use crate::{
    api_responses,
    app::AppState,
    auth::Auth,
    models::JsonAs,
    problem::{ApiError, respond},
};

/// A batch to estimate.
#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "EstimateRequest")]
pub struct EstimateRequestSchema {
    /// A source of the caller's tenant.
    pub source_id: Uuid,
    /// Items the batch will bring, 1 to 10000000.
    #[oai(validator(minimum(value = "1"), maximum(value = "10000000")))]
    pub expected_items: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EstimateBody {
    source_id: Uuid,
    expected_items: i64,
}

/// Where a figure came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "EstimateBasis", rename_all = "snake_case")]
pub enum BasisName {
    /// The source's own history.
    Source,
    /// The tenant's history with this provider and model.
    Tenant,
    /// The price table and an estimated token count.
    PriceTable,
    /// The conservative default: every item undecided.
    Fallback,
    /// No LLM is configured: nothing is paid.
    NoLlm,
}

impl From<Basis> for BasisName {
    fn from(b: Basis) -> Self {
        match b {
            Basis::Source => Self::Source,
            Basis::Tenant => Self::Tenant,
            Basis::PriceTable => Self::PriceTable,
            Basis::Fallback => Self::Fallback,
            Basis::NoLlm => Self::NoLlm,
        }
    }
}

/// The expected cost of a batch.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none, rename = "Estimate")]
pub struct EstimateView {
    /// The source.
    pub source_id: Uuid,
    /// As asked.
    pub expected_items: i64,
    /// The provider whose budgets apply (`LLM_PROVIDER`).
    pub provider: String,
    /// The model calls would use; absent when no LLM is configured.
    pub model: Option<String>,
    /// Verdicts of the source the figures were drawn from (its last 1000).
    pub history_items: i64,
    /// Share of items the keywords leave undecided, 0 to 1.
    pub llm_share: f64,
    /// `source` or `fallback` (no history: every item counted as undecided).
    pub llm_share_basis: BasisName,
    /// Share of undecided items answered by the memo (free), 0 to 1.
    pub memo_hit_share: f64,
    /// Paid calls per paid item (an invalid answer is asked again once), 1 to 2.
    pub calls_per_paid_item: f64,
    /// Items expected to reach the LLM, memo hits included.
    pub expected_llm_items: i64,
    /// Paid calls expected.
    pub expected_paid_calls: i64,
    /// Average cost of one call, micro-dollars.
    pub cost_per_call_micros: i64,
    /// `source` (its settled calls), `tenant`, `price_table` or `no_llm`.
    pub cost_basis: BasisName,
    /// `expected_paid_calls × cost_per_call_micros`.
    pub expected_cost_micros: i64,
    /// What each of the tenant's budgets for the provider has left this period (empty: no
    /// budget, unlimited).
    pub budgets: Vec<BudgetLeftView>,
    /// Leads, cost per lead and revenue the batch is expected to bring, with the assumptions.
    pub forecast: ForecastView,
    /// Whether every budget has at least `expected_cost_micros` left.
    pub fits_budgets: bool,
}

/// What a budget has left.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none, rename = "BudgetLeft")]
pub struct BudgetLeftView {
    /// The budget.
    pub budget_id: Uuid,
    /// `day` or `month`.
    pub period: PeriodName,
    /// Its limit, micro-dollars.
    pub limit_micros: i64,
    /// What reservations may still take this period, micro-dollars.
    pub remaining_micros: i64,
    /// When the period ends.
    pub period_end: DateTime<Utc>,
}

impl From<estimate::Estimate> for EstimateView {
    fn from(e: estimate::Estimate) -> Self {
        Self {
            source_id: e.source_id,
            expected_items: e.expected_items,
            provider: e.provider,
            model: e.model,
            history_items: e.history_items,
            llm_share: e.llm_share,
            llm_share_basis: e.llm_share_basis.into(),
            memo_hit_share: e.memo_hit_share,
            calls_per_paid_item: e.calls_per_paid_item,
            expected_llm_items: e.expected_llm_items,
            expected_paid_calls: e.expected_paid_calls,
            cost_per_call_micros: e.cost_per_call_micros,
            cost_basis: e.cost_basis.into(),
            expected_cost_micros: e.expected_cost_micros,
            budgets: e
                .budgets
                .into_iter()
                .map(|b| BudgetLeftView {
                    budget_id: b.budget_id,
                    period: b.period.into(),
                    limit_micros: b.limit_micros,
                    remaining_micros: b.remaining_micros,
                    period_end: b.period_end,
                })
                .collect(),
            fits_budgets: e.fits_budgets,
            forecast: e.forecast.into(),
        }
    }
}

/// Whose history a forecast is drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "ForecastBasis", rename_all = "snake_case")]
pub enum ForecastBasisName {
    /// The source's own signals, leads and revenue.
    Source,
    /// The tenant's, across its sources (the source has no lead yet).
    Tenant,
    /// No history at all: nothing is forecast.
    None,
}

/// Revenue a batch is expected to bring in one currency.
#[derive(Debug, Clone, Object)]
#[oai(rename = "ExpectedRevenue")]
pub struct ExpectedRevenueView {
    /// ISO 4217.
    pub currency: String,
    /// Net (sales minus returns), integer cents.
    pub net_cents: i64,
}

/// What a batch is expected to bring.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none, rename = "Forecast")]
pub struct ForecastView {
    /// Whose history.
    pub basis: ForecastBasisName,
    /// Signals of that history.
    pub history_signals: i64,
    /// Leads of that history.
    pub history_leads: i64,
    /// Leads a partner confirmed, of that history.
    pub history_confirmed_leads: i64,
    /// Leads per item (0 to 1).
    pub leads_per_item: f64,
    /// Leads expected (rounded up).
    pub expected_leads: i64,
    /// Confirmed leads expected (rounded down).
    pub expected_confirmed_leads: i64,
    /// `expected_cost_micros / expected_leads`, rounded; absent when no lead is expected.
    pub cost_per_lead_micros: Option<i64>,
    /// Per currency: the history's net revenue per signal times the items, rounded.
    pub expected_revenue: Vec<ExpectedRevenueView>,
    /// What the figures take for granted.
    pub assumptions: Vec<String>,
}

impl From<forecast::Forecast> for ForecastView {
    fn from(f: forecast::Forecast) -> Self {
        Self {
            basis: match f.basis {
                forecast::ForecastBasis::Source => ForecastBasisName::Source,
                forecast::ForecastBasis::Tenant => ForecastBasisName::Tenant,
                forecast::ForecastBasis::None => ForecastBasisName::None,
            },
            history_signals: f.history_signals,
            history_leads: f.history_leads,
            history_confirmed_leads: f.history_confirmed_leads,
            leads_per_item: f.leads_per_item,
            expected_leads: f.expected_leads,
            expected_confirmed_leads: f.expected_confirmed_leads,
            cost_per_lead_micros: f.cost_per_lead_micros,
            expected_revenue: f
                .expected_revenue
                .into_iter()
                .map(|r| ExpectedRevenueView {
                    currency: r.currency,
                    net_cents: r.net_cents,
                })
                .collect(),
            assumptions: f.assumptions,
        }
    }
}

/// The estimate operation.
pub struct EstimateApi;

#[OpenApi(tag = "ApiTags::Budgets")]
impl EstimateApi {
    /// Estimate a batch's cost
    ///
    /// Before a batch from a source is classified: how many paid LLM calls it should take and
    /// what they should cost, from the source's history (the share of its signals the keywords
    /// left undecided, memo hits, the average settled cost of a call in the ledger), or from
    /// conservative fallbacks when it has none; and what the tenant's budgets for the provider
    /// have left.
    #[oai(
        path = "/budgets/estimate",
        method = "post",
        operation_id = "estimateBatch"
    )]
    async fn estimate(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        /// The batch.
        body: Json<JsonAs<EstimateRequestSchema>>,
    ) -> EstimateResponse {
        respond(estimate_batch(&state, &auth, body.0.value).await)
    }
}

api_responses! {
    /// Outcomes of `estimateBatch`.
    pub enum EstimateResponse {
        /// The estimate.
        #[oai(status = 200)]
        Ok(Json<EstimateView>),
    }
    problems {
        400 => BadRequest: "The body is not JSON.",
        401 => Unauthorized,
        404 => NotFound: "No such source in this tenant.",
        413 => PayloadTooLarge,
        422 => Invalid: "A field is invalid; `errors[].path` names it.",
        429 => TooManyRequests,
    }
}

#[tracing::instrument(skip_all, fields(tenant_id))]
async fn estimate_batch(
    state: &AppState,
    auth: &Auth,
    body: Value,
) -> Result<EstimateResponse, ApiError> {
    let principal = auth.require(Role::Viewer)?;
    let body: EstimateBody = from_value(body)?;
    let req = EstimateRequest {
        source_id: body.source_id,
        expected_items: body.expected_items,
    };
    let e = estimate::estimate(&state.pool, principal.tenant_id, &state.llm, &req).await?;
    Ok(EstimateResponse::Ok(Json(e.into())))
}
