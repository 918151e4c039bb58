//! `/economics`: what each source, category, ruleset, workflow or day earns and costs — the
//! report of [`jobs::economics`], as JSON or CSV (`/economics/export`, like `/revenue`).
//!
//! `/economics/watch` sets the thresholds ([`jobs::economics::watch`]) whose breach emits the
//! `source.economics` event that alert rules and subscriptions watch.
//!
//! Viewers read; admins set the watch. Cost is in integer micro-dollars (USD), revenue in
//! integer cents per currency; no currency is converted.

use chrono::{DateTime, Utc};
use jobs::{
    FieldError,
    auth::Role,
    economics::{
        self, GroupBy, Query as ReportQuery,
        watch::{self, WatchSpec},
    },
};
use poem::web::Data;
use poem_openapi::{
    Object, OpenApi,
    param::Query,
    payload::{Binary, Json},
};
use serde_json::Value;
use uuid::Uuid;

use super::{
    ApiTags, audited,
    common::{day_param, optional},
};
use crate::{
    api_responses,
    app::AppState,
    auth::{Auth, Origin},
    models::JsonAs,
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

/// The thresholds a tenant's sources are judged against.
#[derive(Object)]
#[oai(rename = "EconomicsWatchSpec")]
pub struct EconomicsWatchSpecSchema {
    /// The days judged, ending today (UTC): 1 to 90, default 7.
    #[oai(validator(minimum(value = "1"), maximum(value = "90")))]
    pub window_days: Option<i32>,
    /// A ceiling on the cost per confirmed lead, micro-dollars: a source above it (or one that
    /// spent more than it without a confirmed lead) is in breach.
    #[oai(validator(minimum(value = "1")))]
    pub max_cost_per_confirmed_lead_micros: Option<i64>,
    /// Whether a source whose ROI is below zero is in breach (default false). One of this
    /// and the ceiling is required.
    pub negative_roi: Option<bool>,
    /// Sources that spent less in the window are not judged; default 1,000,000 ($1.00).
    #[oai(validator(minimum(value = "0")))]
    pub min_cost_micros: Option<i64>,
}

/// A source in breach.
#[derive(Debug, Clone, Object)]
pub struct EconomicsBreach {
    /// The source.
    pub source_id: Uuid,
    /// `cost_per_confirmed_lead` or `negative_roi`.
    pub condition: String,
    /// Since the judgement that found it.
    pub since: DateTime<Utc>,
}

/// The tenant's economics watch.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct EconomicsWatch {
    /// The days judged, ending today (UTC).
    pub window_days: i32,
    /// The ceiling on the cost per confirmed lead, micro-dollars.
    pub max_cost_per_confirmed_lead_micros: Option<i64>,
    /// Whether a negative ROI is a breach.
    pub negative_roi: bool,
    /// Sources that spent less in the window are not judged.
    pub min_cost_micros: i64,
    /// The sources in breach now; each alerted once, when it began.
    pub breaches: Vec<EconomicsBreach>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<watch::Watch> for EconomicsWatch {
    fn from(w: watch::Watch) -> Self {
        Self {
            window_days: w.window_days,
            max_cost_per_confirmed_lead_micros: w.max_cost_per_confirmed_lead_micros,
            negative_roi: w.negative_roi,
            min_cost_micros: w.min_cost_micros,
            breaches: w
                .breaches
                .into_iter()
                .map(|b| EconomicsBreach {
                    source_id: b.source_id,
                    condition: b.condition.as_str().to_owned(),
                    since: b.since,
                })
                .collect(),
            updated_at: w.updated_at,
        }
    }
}

api_responses! {
    /// Outcomes of `getEconomicsWatch`.
    pub enum GetWatchResponse {
        /// The watch.
        #[oai(status = 200)]
        Ok(Json<EconomicsWatch>),
    }
    problems {
        401 => Unauthorized,
        404 => NotFound: "The tenant has no economics watch.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `putEconomicsWatch`.
    pub enum PutWatchResponse {
        /// The watch as set; it is judged within a second or two by a worker.
        #[oai(status = 200)]
        Ok(Json<EconomicsWatch>),
    }
    problems {
        400 => BadRequest: "The body is not JSON.",
        401 => Unauthorized,
        403 => Forbidden: "The key is not an admin's.",
        422 => Invalid: "A field is invalid; `errors[].path` names it.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `deleteEconomicsWatch`.
    pub enum DeleteWatchResponse {
        /// The watch and its breaches are gone.
        #[oai(status = 204)]
        Deleted,
    }
    problems {
        401 => Unauthorized,
        403 => Forbidden: "The key is not an admin's.",
        404 => NotFound: "The tenant has no economics watch.",
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

    /// The economics watch
    ///
    /// The thresholds the tenant's sources are judged against, and the sources in breach now.
    #[oai(
        path = "/economics/watch",
        method = "get",
        operation_id = "getEconomicsWatch"
    )]
    async fn get_watch(&self, auth: Auth, state: Data<&AppState>) -> GetWatchResponse {
        respond(read_watch(&state, &auth).await)
    }

    /// Set the economics watch
    ///
    /// Every few minutes a worker judges each source over the last `window_days` UTC days: a
    /// cost per confirmed lead above `max_cost_per_confirmed_lead_micros`, or a negative ROI
    /// when `negative_roi` is set, is a breach, and a breach that begins emits one
    /// `source.economics` event (for alert rules and subscriptions); it alerts again only after
    /// it ended. Setting the watch has it judged at once. Needs the admin role.
    #[oai(
        path = "/economics/watch",
        method = "put",
        operation_id = "putEconomicsWatch"
    )]
    async fn put_watch(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        origin: Origin,
        /// The thresholds.
        body: Json<JsonAs<EconomicsWatchSpecSchema>>,
    ) -> PutWatchResponse {
        respond(set_watch(&state, &auth, &origin, body.0.value).await)
    }

    /// Remove the economics watch
    ///
    /// Needs the admin role.
    #[oai(
        path = "/economics/watch",
        method = "delete",
        operation_id = "deleteEconomicsWatch"
    )]
    async fn delete_watch(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        origin: Origin,
    ) -> DeleteWatchResponse {
        respond(remove_watch(&state, &auth, &origin).await)
    }
}

#[tracing::instrument(skip_all, fields(tenant_id))]
async fn read_watch(state: &AppState, auth: &Auth) -> Result<GetWatchResponse, ApiError> {
    let principal = auth.require(Role::Viewer)?;
    let w = watch::get(&state.pool, principal.tenant_id)
        .await?
        .ok_or(jobs::DomainError::NotFound("economics watch"))?;
    Ok(GetWatchResponse::Ok(Json(w.into())))
}

#[tracing::instrument(skip_all, fields(tenant_id))]
async fn set_watch(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    body: Value,
) -> Result<PutWatchResponse, ApiError> {
    let principal = auth.require(Role::Admin)?;
    let spec = WatchSpec::try_from(body)?;
    let mut tx = state.pool.begin().await?;
    let before = watch::get_on(&mut tx, principal.tenant_id).await?;
    let after = watch::put(&mut tx, principal.tenant_id, &spec).await?;
    audited(
        &mut tx,
        &principal,
        origin,
        "economics.watch.set",
        ("tenant", principal.tenant_id),
        before.as_ref(),
        &after,
    )
    .await?;
    tx.commit().await?;
    Ok(PutWatchResponse::Ok(Json(after.into())))
}

#[tracing::instrument(skip_all, fields(tenant_id))]
async fn remove_watch(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
) -> Result<DeleteWatchResponse, ApiError> {
    let principal = auth.require(Role::Admin)?;
    let mut tx = state.pool.begin().await?;
    let before = watch::get_on(&mut tx, principal.tenant_id)
        .await?
        .ok_or(jobs::DomainError::NotFound("economics watch"))?;
    watch::delete(&mut tx, principal.tenant_id).await?;
    audited(
        &mut tx,
        &principal,
        origin,
        "economics.watch.delete",
        ("tenant", principal.tenant_id),
        Some(&serde_json::to_value(&before).unwrap_or_default()),
        &Value::Null,
    )
    .await?;
    tx.commit().await?;
    Ok(DeleteWatchResponse::Deleted)
}

fn query(
    group_by: Option<String>,
    since: Option<String>,
    until: Option<String>,
) -> Result<ReportQuery, FieldError> {
    let q = ReportQuery {
        group_by: optional(group_by, |s| GroupBy::parse_field("group_by", s))?
            .unwrap_or(GroupBy::Source),
        since: day_param("since", since)?,
        until: day_param("until", until)?,
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
