//! `/budgets` and `/costs`: what a tenant lets its jobs spend on paid providers, and where every
//! micro-dollar went.
//!
//! Budgets are read by any role and changed by admins; a changed or deleted budget resumes the
//! jobs parked on it at once. The ledger is read by any role. Amounts are integer
//! micro-dollars (1 USD = 1,000,000).

use chrono::{DateTime, Utc};
use jobs::{
    FieldError,
    auth::Role,
    budgets::{self, BudgetPatch, NewBudget, Period},
};
use poem::web::Data;
use poem_openapi::{
    Enum, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use uuid::Uuid;

use super::{
    ApiTags,
    common::{parse_cursor, time_param, uuid_param},
};
use crate::{
    API_PREFIX, api_responses,
    app::AppState,
    auth::{Auth, Origin},
    models::JsonAs,
    problem::{ApiError, respond},
};

/// How long a budget's period lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "BudgetPeriod", rename_all = "snake_case")]
pub enum PeriodName {
    /// A UTC day.
    Day,
    /// A calendar month in UTC.
    Month,
}

impl From<Period> for PeriodName {
    fn from(p: Period) -> Self {
        match p {
            Period::Day => Self::Day,
            Period::Month => Self::Month,
        }
    }
}

/// A budget to create.
#[derive(Object)]
#[oai(rename = "NewBudget")]
pub struct NewBudgetSchema {
    /// The provider it limits, as paid jobs name it (`openai`, ...): 1 to 50 characters of
    /// `a-z 0-9 _ - .`.
    #[oai(validator(min_length = 1, max_length = 50))]
    pub provider: String,
    /// Day or month.
    pub period: PeriodName,
    /// The most a period may spend, micro-dollars (0 to 10^15).
    #[oai(validator(minimum(value = "0"), maximum(value = "1000000000000000")))]
    pub limit_micros: i64,
}

/// A change of a budget's limit.
#[derive(Object)]
#[oai(rename = "BudgetPatch")]
pub struct BudgetPatchSchema {
    /// The new limit per period, micro-dollars (0 to 10^15).
    #[oai(validator(minimum(value = "0"), maximum(value = "1000000000000000")))]
    pub limit_micros: i64,
}

/// A threshold a budget's current period crossed.
#[derive(Debug, Clone, Object)]
#[oai(rename = "BudgetAlert")]
pub struct BudgetAlert {
    /// 80 or 100 (percent of the limit).
    pub threshold: i16,
    /// Spent (with held, for a refused reservation) when it was recorded.
    pub spent_micros: i64,
    /// The limit then.
    pub limit_micros: i64,
    /// When.
    pub at: DateTime<Utc>,
}

/// A budget and its current period.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Budget {
    /// Its id.
    pub id: Uuid,
    /// The provider it limits.
    pub provider: String,
    /// Day or month.
    pub period: PeriodName,
    /// The limit per period, micro-dollars.
    pub limit_micros: i64,
    /// When the current period began.
    pub period_start: DateTime<Utc>,
    /// When it ends; jobs parked on this budget resume then.
    pub period_end: DateTime<Utc>,
    /// Settled this period.
    pub spent_micros: i64,
    /// Held by calls in flight.
    pub reserved_micros: i64,
    /// What a new call may still reserve.
    pub remaining_micros: i64,
    /// Jobs parked on it right now.
    pub parked_jobs: i64,
    /// This period's alerts (80 % and 100 %), oldest first.
    pub alerts: Vec<BudgetAlert>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When its limit last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<budgets::Budget> for Budget {
    fn from(b: budgets::Budget) -> Self {
        Self {
            id: b.id,
            provider: b.provider,
            period: b.period.into(),
            limit_micros: b.limit_micros,
            period_start: b.period_start,
            period_end: b.period_end,
            spent_micros: b.spent_micros,
            reserved_micros: b.reserved_micros,
            remaining_micros: b.remaining_micros,
            parked_jobs: b.parked_jobs,
            alerts: b
                .alerts
                .into_iter()
                .map(|a| BudgetAlert {
                    threshold: a.threshold,
                    spent_micros: a.spent_micros,
                    limit_micros: a.limit_micros,
                    at: a.at,
                })
                .collect(),
            created_at: b.created_at,
            updated_at: b.updated_at,
        }
    }
}

/// The tenant's budgets.
#[derive(Debug, Clone, Object)]
pub struct BudgetList {
    /// By provider, then period.
    pub items: Vec<Budget>,
}

/// A budget after a change, and the parked jobs the change put back in the queue.
#[derive(Debug, Clone, Object)]
pub struct BudgetChanged {
    /// The budget.
    pub budget: Budget,
    /// Jobs that were parked on it and are due again.
    pub resumed_jobs: u64,
}

/// What a budget's deletion put back in the queue.
#[derive(Debug, Clone, Object)]
pub struct BudgetDeleted {
    /// Jobs that were parked on it and are due again.
    pub resumed_jobs: u64,
}

/// One row of the cost ledger.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CostEntry {
    /// Its id.
    pub id: Uuid,
    /// When.
    pub at: DateTime<Utc>,
    /// `reserve` (an estimate held before a call), `settle` (the real cost) or `release` (an
    /// estimate given back).
    pub entry: String,
    /// The provider.
    pub provider: String,
    /// The model.
    pub model: String,
    /// Micro-dollars.
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

impl From<budgets::CostEntry> for CostEntry {
    fn from(e: budgets::CostEntry) -> Self {
        Self {
            id: e.id,
            at: e.at,
            entry: e.entry,
            provider: e.provider,
            model: e.model,
            amount_micros: e.amount_micros,
            prompt_tokens: e.prompt_tokens,
            completion_tokens: e.completion_tokens,
            job_id: e.job_id,
            reservation_id: e.reservation_id,
            note: e.note,
        }
    }
}

/// Sums over every entry the filters match (not just this page).
#[derive(Debug, Clone, Object)]
pub struct CostTotals {
    /// Settled: the money spent.
    pub spent_micros: i64,
    /// Reserved by calls not yet settled or released.
    pub held_micros: i64,
    /// Settled calls.
    pub calls: i64,
    /// Prompt tokens of settled calls.
    pub prompt_tokens: i64,
    /// Completion tokens of settled calls.
    pub completion_tokens: i64,
}

/// A page of the ledger with the totals.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CostPage {
    /// Newest first.
    pub items: Vec<CostEntry>,
    /// Pass as `cursor` for the next page; absent at the end.
    pub next_cursor: Option<Uuid>,
    /// Sums over everything the filters match.
    pub totals: CostTotals,
}

/// The `/budgets` and `/costs` operations.
pub struct BudgetsApi;

#[OpenApi(tag = "ApiTags::Budgets")]
impl BudgetsApi {
    /// Create a budget
    ///
    /// One per provider and period (`day` or `month`, in UTC). Paid jobs reserve their
    /// estimate against every budget of their provider before calling it; when one would
    /// overrun, the job is parked (no attempt spent) until the period rolls over or the limit
    /// is raised. Needs the admin role.
    #[oai(path = "/budgets", method = "post", operation_id = "createBudget")]
    async fn create(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        origin: Origin,
        /// The budget.
        body: Json<JsonAs<NewBudgetSchema>>,
    ) -> CreateBudgetResponse {
        respond(create_budget(&state, &auth, &origin, body.0.value).await)
    }

    /// List budgets
    ///
    /// Every budget of the tenant with its current period: spent, held, remaining, parked
    /// jobs and alerts.
    #[oai(path = "/budgets", method = "get", operation_id = "listBudgets")]
    async fn list(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        /// Only this provider's.
        provider: Query<Option<String>>,
    ) -> ListBudgetsResponse {
        respond(list_budgets(&state, &auth, provider.0).await)
    }

    /// Get a budget
    #[oai(path = "/budgets/:id", method = "get", operation_id = "getBudget")]
    async fn get(&self, auth: Auth, state: Data<&AppState>, id: Path<Uuid>) -> GetBudgetResponse {
        respond(get_budget(&state, &auth, id.0).await)
    }

    /// Change a budget's limit
    ///
    /// The jobs parked on it are due again at once (each reserves again, and parks again if
    /// the new limit is still short). Needs the admin role.
    #[oai(path = "/budgets/:id", method = "patch", operation_id = "updateBudget")]
    async fn update(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        id: Path<Uuid>,
        origin: Origin,
        /// The new limit.
        body: Json<JsonAs<BudgetPatchSchema>>,
    ) -> UpdateBudgetResponse {
        respond(update_budget(&state, &auth, &origin, id.0, body.0.value).await)
    }

    /// Delete a budget
    ///
    /// The provider is unlimited again (unless another period's budget remains); the jobs
    /// parked on it are due at once; the ledger stays. Needs the admin role.
    #[oai(
        path = "/budgets/:id",
        method = "delete",
        operation_id = "deleteBudget"
    )]
    async fn delete(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        id: Path<Uuid>,
        origin: Origin,
    ) -> DeleteBudgetResponse {
        respond(delete_budget(&state, &auth, &origin, id.0).await)
    }

    /// Read the cost ledger
    ///
    /// Every reservation, settlement and release of paid calls, newest first, with totals
    /// over everything the filters match.
    #[oai(path = "/costs", method = "get", operation_id = "listCosts")]
    #[allow(clippy::too_many_arguments)] // poem-openapi takes one argument per query parameter
    async fn costs(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        /// Only this provider's.
        provider: Query<Option<String>>,
        /// Only this model's.
        model: Query<Option<String>>,
        /// Only `reserve`, `settle` or `release` entries.
        entry: Query<Option<String>>,
        /// Only this job's.
        job_id: Query<Option<String>>,
        /// From this time on (RFC 3339).
        since: Query<Option<String>>,
        /// Before this time (RFC 3339).
        until: Query<Option<String>>,
        /// The previous page's `next_cursor`.
        cursor: Query<Option<String>>,
        /// Page size, 1 to 500 (default 50).
        limit: Query<Option<i64>>,
    ) -> ListCostsResponse {
        let params = CostParams {
            provider: provider.0,
            model: model.0,
            entry: entry.0,
            job_id: job_id.0,
            since: since.0,
            until: until.0,
            cursor: cursor.0,
            limit: limit.0,
        };
        respond(list_costs(&state, &auth, params).await)
    }
}

api_responses! {
    /// Outcomes of `createBudget`.
    pub enum CreateBudgetResponse {
        /// The budget was created.
        #[oai(status = 201)]
        Created(
            Json<Budget>,
            /// Where the budget can be read.
            #[oai(header = "Location")]
            String,
        ),
    }
    problems {
        400 => BadRequest: "The body is not JSON.",
        401 => Unauthorized,
        403 => Forbidden: "The key is not an admin's.",
        409 => Conflict: "A budget for this provider and period exists already.",
        413 => PayloadTooLarge,
        422 => Invalid: "A field is invalid; `errors[].path` names it.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `listBudgets`.
    pub enum ListBudgetsResponse {
        /// The budgets.
        #[oai(status = 200)]
        Ok(Json<BudgetList>),
    }
    problems {
        400 => BadRequest: "A parameter could not be read.",
        401 => Unauthorized,
        422 => Invalid: "A parameter is invalid; `errors[].path` names it.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `getBudget`.
    pub enum GetBudgetResponse {
        /// The budget.
        #[oai(status = 200)]
        Ok(Json<Budget>),
    }
    problems {
        400 => BadRequest: "The id is not a UUID.",
        401 => Unauthorized,
        404 => NotFound: "No such budget in this tenant.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `updateBudget`.
    pub enum UpdateBudgetResponse {
        /// The budget as it is now, and the jobs resumed.
        #[oai(status = 200)]
        Ok(Json<BudgetChanged>),
    }
    problems {
        400 => BadRequest: "The body is not JSON, or the id is not a UUID.",
        401 => Unauthorized,
        403 => Forbidden: "The key is not an admin's.",
        404 => NotFound: "No such budget in this tenant.",
        413 => PayloadTooLarge,
        422 => Invalid: "A field is invalid; `errors[].path` names it.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `deleteBudget`.
    pub enum DeleteBudgetResponse {
        /// The budget is gone; the jobs parked on it are due again.
        #[oai(status = 200)]
        Ok(Json<BudgetDeleted>),
    }
    problems {
        400 => BadRequest: "The id is not a UUID.",
        401 => Unauthorized,
        403 => Forbidden: "The key is not an admin's.",
        404 => NotFound: "No such budget in this tenant.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `listCosts`.
    pub enum ListCostsResponse {
        /// A page of the ledger and the totals.
        #[oai(status = 200)]
        Ok(Json<CostPage>),
    }
    problems {
        400 => BadRequest: "A parameter could not be read (`limit` is not a number).",
        401 => Unauthorized,
        422 => Invalid: "A parameter is invalid; `errors[].path` names it.",
        429 => TooManyRequests,
    }
}

#[tracing::instrument(skip_all, fields(tenant_id, budget_id))]
async fn create_budget(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    body: serde_json::Value,
) -> Result<CreateBudgetResponse, ApiError> {
    let principal = auth.require(Role::Admin)?;
    let span = tracing::Span::current();
    let new = NewBudget::try_from(body)?;
    let mut tx = state.pool.begin().await?;
    let id = budgets::create(&mut tx, principal.tenant_id, &origin.actor(&principal), new).await?;
    tx.commit().await?;
    span.record("budget_id", tracing::field::display(id));
    let budget = budgets::get(&state.pool, principal.tenant_id, id).await?;
    Ok(CreateBudgetResponse::Created(
        Json(budget.into()),
        format!("{API_PREFIX}/budgets/{id}"),
    ))
}

#[tracing::instrument(skip_all, fields(tenant_id))]
async fn list_budgets(
    state: &AppState,
    auth: &Auth,
    provider: Option<String>,
) -> Result<ListBudgetsResponse, ApiError> {
    let principal = auth.require(Role::Viewer)?;
    let provider = provider.filter(|p| !p.is_empty());
    if let Some(p) = &provider {
        budgets::check_provider(p).map_err(|e| e.under("provider"))?;
    }
    let items = budgets::list(&state.pool, principal.tenant_id, provider.as_deref()).await?;
    Ok(ListBudgetsResponse::Ok(Json(BudgetList {
        items: items.into_iter().map(Budget::from).collect(),
    })))
}

#[tracing::instrument(skip_all, fields(tenant_id, budget_id = %id))]
async fn get_budget(
    state: &AppState,
    auth: &Auth,
    id: Uuid,
) -> Result<GetBudgetResponse, ApiError> {
    let principal = auth.require(Role::Viewer)?;
    let budget = budgets::get(&state.pool, principal.tenant_id, id).await?;
    Ok(GetBudgetResponse::Ok(Json(budget.into())))
}

#[tracing::instrument(skip_all, fields(tenant_id, budget_id = %id, resumed))]
async fn update_budget(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    id: Uuid,
    body: serde_json::Value,
) -> Result<UpdateBudgetResponse, ApiError> {
    let principal = auth.require(Role::Admin)?;
    let span = tracing::Span::current();
    let patch = BudgetPatch::try_from(body)?;
    let mut tx = state.pool.begin().await?;
    let resumed = budgets::update(
        &mut tx,
        principal.tenant_id,
        &origin.actor(&principal),
        id,
        patch,
    )
    .await?;
    tx.commit().await?;
    span.record("resumed", resumed);
    let budget = budgets::get(&state.pool, principal.tenant_id, id).await?;
    Ok(UpdateBudgetResponse::Ok(Json(BudgetChanged {
        budget: budget.into(),
        resumed_jobs: resumed,
    })))
}

#[tracing::instrument(skip_all, fields(tenant_id, budget_id = %id))]
async fn delete_budget(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    id: Uuid,
) -> Result<DeleteBudgetResponse, ApiError> {
    let principal = auth.require(Role::Admin)?;
    let mut tx = state.pool.begin().await?;
    let resumed =
        budgets::delete(&mut tx, principal.tenant_id, &origin.actor(&principal), id).await?;
    tx.commit().await?;
    Ok(DeleteBudgetResponse::Ok(Json(BudgetDeleted {
        resumed_jobs: resumed,
    })))
}

/// The query of `listCosts`, as read.
struct CostParams {
    provider: Option<String>,
    model: Option<String>,
    entry: Option<String>,
    job_id: Option<String>,
    since: Option<String>,
    until: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

impl TryFrom<CostParams> for budgets::CostFilter {
    type Error = FieldError;

    fn try_from(p: CostParams) -> Result<Self, FieldError> {
        let entry = p.entry.filter(|e| !e.is_empty());
        if let Some(e) = &entry
            && !budgets::COST_ENTRIES.contains(&e.as_str())
        {
            return Err(FieldError::new(
                "entry",
                "expected one of reserve, settle, release",
            ));
        }
        let job_id = uuid_param("job_id", "a UUID", p.job_id)?;
        let limit = p.limit.unwrap_or(50);
        if !(1..=budgets::MAX_COST_PAGE).contains(&limit) {
            return Err(FieldError::new(
                "limit",
                format!("expected 1 to {}", budgets::MAX_COST_PAGE),
            ));
        }
        Ok(Self {
            provider: p.provider.filter(|s| !s.is_empty()),
            model: p.model.filter(|s| !s.is_empty()),
            entry,
            job_id,
            since: time_param("since", p.since)?,
            until: time_param("until", p.until)?,
            before: parse_cursor(p.cursor)?,
            limit,
        })
    }
}

#[tracing::instrument(skip_all, fields(tenant_id))]
async fn list_costs(
    state: &AppState,
    auth: &Auth,
    params: CostParams,
) -> Result<ListCostsResponse, ApiError> {
    let principal = auth.require(Role::Viewer)?;
    let filter = budgets::CostFilter::try_from(params)?;
    let page = budgets::costs(&state.pool, principal.tenant_id, &filter).await?;
    Ok(ListCostsResponse::Ok(Json(CostPage {
        items: page.items.into_iter().map(CostEntry::from).collect(),
        next_cursor: page.next_cursor,
        totals: CostTotals {
            spent_micros: page.totals.spent_micros,
            held_micros: page.totals.held_micros,
            calls: page.totals.calls,
            prompt_tokens: page.totals.prompt_tokens,
            completion_tokens: page.totals.completion_tokens,
        },
    })))
}
