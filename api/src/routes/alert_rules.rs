//! `/alert-rules`: when to tell which destinations, and how — at once or as a digest, under a
//! throttle, outside quiet hours.
//!
//! Viewers read; admins change. A rule is replaced whole by `PUT`.

use chrono::{DateTime, NaiveTime, Utc};
use jobs::{
    auth::Role,
    deliveries::rules::{self, RuleSpec},
};
use poem::web::Data;
use poem_openapi::{Object, OpenApi, param::Path, payload::Json};
use serde_json::Value;
use uuid::Uuid;

use super::ApiTags;
use crate::{
    API_PREFIX, api_responses,
    app::AppState,
    auth::{Auth, Origin},
    models::JsonAs,
    problem::{ApiError, respond},
};

/// At most `max` messages per destination in any `per_secs` window.
#[derive(Debug, Clone, Object)]
pub struct Throttle {
    /// Messages allowed in the window (1 to 10,000).
    #[oai(validator(minimum(value = "1"), maximum(value = "10000")))]
    pub max: i32,
    /// The window, seconds (1 to 604,800).
    #[oai(validator(minimum(value = "1"), maximum(value = "604800")))]
    pub per_secs: i32,
}

/// Hours in which nothing is sent; what matches is sent when they end.
#[derive(Debug, Clone, Object)]
pub struct QuietHours {
    /// Local start (`22:00:00`).
    pub start: NaiveTime,
    /// Local end (`07:00:00`; before the start means the next day).
    pub end: NaiveTime,
    /// An IANA time zone (`Europe/Paris`).
    pub time_zone: String,
}

/// A rule to create, or a rule's whole new content.
#[derive(Object)]
#[oai(rename = "AlertRuleSpec")]
pub struct AlertRuleSpecSchema {
    /// Its name, unique in the tenant.
    #[oai(validator(min_length = 1, max_length = 100))]
    pub name: String,
    /// The event it watches: `signal.classified` (relevant verdicts), `lead.created`,
    /// `lead.scored`, `budget.alert`, `job.dead`, `run.succeeded`, `run.failed` or
    /// `source.economics` (a source crossed the economics watch).
    pub event: String,
    /// Whether it alerts (default true).
    pub enabled: Option<bool>,
    /// Only events whose `score` is at least this (0 to 100).
    #[oai(validator(minimum(value = "0"), maximum(value = "100")))]
    pub min_score: Option<i16>,
    /// Only events whose `category` is one of these.
    pub categories: Option<Vec<String>>,
    /// Where it alerts (1 to 20 destinations of the tenant).
    pub destination_ids: Vec<Uuid>,
    /// A template per destination kind (`{"slack": "...", "email": "..."}`, minijinja syntax
    /// over the event's data); none: a default that shows title, score, category, link and
    /// contact.
    pub templates: Option<Value>,
    /// 0 (default): at once; otherwise matches are gathered this many seconds into one message.
    #[oai(validator(minimum(value = "0"), maximum(value = "604800")))]
    pub digest_secs: Option<i32>,
    /// At most so many messages per destination per window; what it holds back is recorded
    /// as `suppressed`.
    pub throttle: Option<Throttle>,
    /// Hours in which nothing is sent.
    pub quiet_hours: Option<QuietHours>,
}

/// An alert rule.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct AlertRule {
    /// Its id.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// Whether it alerts.
    pub enabled: bool,
    /// The event it watches.
    pub event: String,
    /// The score filter.
    pub min_score: Option<i16>,
    /// The category filter (empty: any).
    pub categories: Vec<String>,
    /// Where it alerts.
    pub destination_ids: Vec<Uuid>,
    /// Templates by destination kind.
    pub templates: Value,
    /// 0: at once; otherwise the digest window, seconds.
    pub digest_secs: i32,
    /// The throttle.
    pub throttle: Option<Throttle>,
    /// Quiet hours.
    pub quiet_hours: Option<QuietHours>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<rules::AlertRule> for AlertRule {
    fn from(r: rules::AlertRule) -> Self {
        Self {
            id: r.id,
            name: r.name,
            enabled: r.enabled,
            event: r.event.as_str().to_owned(),
            min_score: r.min_score,
            categories: r.categories,
            destination_ids: r.destination_ids,
            templates: r.templates,
            digest_secs: r.digest_secs,
            throttle: r.throttle.map(|t| Throttle {
                max: t.max,
                per_secs: t.per_secs,
            }),
            quiet_hours: r.quiet_hours.map(|q| QuietHours {
                start: q.start,
                end: q.end,
                time_zone: q.time_zone,
            }),
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// The tenant's rules.
#[derive(Debug, Clone, Object)]
pub struct AlertRuleList {
    /// By name.
    pub items: Vec<AlertRule>,
}

/// The `/alert-rules` operations.
pub struct AlertRulesApi;

#[OpenApi(tag = "ApiTags::Deliveries")]
impl AlertRulesApi {
    /// Create an alert rule
    ///
    /// Each (rule, subject, destination) is delivered at most once, ever. Needs the admin role.
    #[oai(
        path = "/alert-rules",
        method = "post",
        operation_id = "createAlertRule"
    )]
    async fn create(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        origin: Origin,
        /// The rule.
        body: Json<JsonAs<AlertRuleSpecSchema>>,
    ) -> CreateAlertRuleResponse {
        respond(create_rule(&state, &auth, &origin, body.0.value).await)
    }

    /// List alert rules
    #[oai(path = "/alert-rules", method = "get", operation_id = "listAlertRules")]
    async fn list(&self, auth: Auth, state: Data<&AppState>) -> ListAlertRulesResponse {
        respond(list_rules(&state, &auth).await)
    }

    /// Get an alert rule
    #[oai(
        path = "/alert-rules/:id",
        method = "get",
        operation_id = "getAlertRule"
    )]
    async fn get(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        id: Path<Uuid>,
    ) -> GetAlertRuleResponse {
        respond(get_rule(&state, &auth, id.0).await)
    }

    /// Replace an alert rule
    ///
    /// Every field as at creation. Needs the admin role.
    #[oai(
        path = "/alert-rules/:id",
        method = "put",
        operation_id = "replaceAlertRule"
    )]
    async fn replace(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        id: Path<Uuid>,
        origin: Origin,
        /// The rule's new content.
        body: Json<JsonAs<AlertRuleSpecSchema>>,
    ) -> ReplaceAlertRuleResponse {
        respond(replace_rule(&state, &auth, &origin, id.0, body.0.value).await)
    }

    /// Delete an alert rule
    ///
    /// Its deliveries stay in the log. Needs the admin role.
    #[oai(
        path = "/alert-rules/:id",
        method = "delete",
        operation_id = "deleteAlertRule"
    )]
    async fn delete(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        id: Path<Uuid>,
        origin: Origin,
    ) -> DeleteAlertRuleResponse {
        respond(delete_rule(&state, &auth, &origin, id.0).await)
    }
}

api_responses! {
    /// Outcomes of `createAlertRule`.
    pub enum CreateAlertRuleResponse {
        /// The rule was created.
        #[oai(status = 201)]
        Created(
            Json<AlertRule>,
            /// Where the rule can be read.
            #[oai(header = "Location")]
            String,
        ),
    }
    problems {
        400 => BadRequest: "The body is not JSON.",
        401 => Unauthorized,
        403 => Forbidden: "The key is not an admin's.",
        409 => Conflict: "A rule with this name exists already.",
        413 => PayloadTooLarge,
        422 => Invalid: "A field is invalid (an unknown destination, a bad template); `errors[].path` names it.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `listAlertRules`.
    pub enum ListAlertRulesResponse {
        /// The rules.
        #[oai(status = 200)]
        Ok(Json<AlertRuleList>),
    }
    problems {
        401 => Unauthorized,
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `getAlertRule`.
    pub enum GetAlertRuleResponse {
        /// The rule.
        #[oai(status = 200)]
        Ok(Json<AlertRule>),
    }
    problems {
        400 => BadRequest: "The id is not a UUID.",
        401 => Unauthorized,
        404 => NotFound: "No such rule in this tenant.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `replaceAlertRule`.
    pub enum ReplaceAlertRuleResponse {
        /// The rule as it is now.
        #[oai(status = 200)]
        Ok(Json<AlertRule>),
    }
    problems {
        400 => BadRequest: "The body is not JSON, or the id is not a UUID.",
        401 => Unauthorized,
        403 => Forbidden: "The key is not an admin's.",
        404 => NotFound: "No such rule in this tenant.",
        409 => Conflict: "Another rule has that name.",
        413 => PayloadTooLarge,
        422 => Invalid: "A field is invalid; `errors[].path` names it.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `deleteAlertRule`.
    pub enum DeleteAlertRuleResponse {
        /// The rule is gone.
        #[oai(status = 204)]
        Deleted,
    }
    problems {
        400 => BadRequest: "The id is not a UUID.",
        401 => Unauthorized,
        403 => Forbidden: "The key is not an admin's.",
        404 => NotFound: "No such rule in this tenant.",
        429 => TooManyRequests,
    }
}

#[tracing::instrument(skip_all, fields(tenant_id, rule_id))]
async fn create_rule(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    body: Value,
) -> Result<CreateAlertRuleResponse, ApiError> {
    let principal = auth.require(Role::Admin)?;
    let spec = RuleSpec::try_from(body)?;
    let mut tx = state.pool.begin().await?;
    let id = rules::create(
        &mut tx,
        principal.tenant_id,
        &origin.actor(&principal),
        spec,
    )
    .await?;
    let rule = rules::get(&mut tx, principal.tenant_id, id).await?;
    tx.commit().await?;
    tracing::Span::current().record("rule_id", tracing::field::display(id));
    Ok(CreateAlertRuleResponse::Created(
        Json(rule.into()),
        format!("{API_PREFIX}/alert-rules/{id}"),
    ))
}

#[tracing::instrument(skip_all, fields(tenant_id))]
async fn list_rules(state: &AppState, auth: &Auth) -> Result<ListAlertRulesResponse, ApiError> {
    let principal = auth.require(Role::Viewer)?;
    let mut conn = state.pool.acquire().await?;
    let items = rules::list(&mut conn, principal.tenant_id, None).await?;
    Ok(ListAlertRulesResponse::Ok(Json(AlertRuleList {
        items: items.into_iter().map(AlertRule::from).collect(),
    })))
}

#[tracing::instrument(skip_all, fields(tenant_id, rule_id = %id))]
async fn get_rule(
    state: &AppState,
    auth: &Auth,
    id: Uuid,
) -> Result<GetAlertRuleResponse, ApiError> {
    let principal = auth.require(Role::Viewer)?;
    let mut conn = state.pool.acquire().await?;
    let rule = rules::get(&mut conn, principal.tenant_id, id).await?;
    Ok(GetAlertRuleResponse::Ok(Json(rule.into())))
}

#[tracing::instrument(skip_all, fields(tenant_id, rule_id = %id))]
async fn replace_rule(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    id: Uuid,
    body: Value,
) -> Result<ReplaceAlertRuleResponse, ApiError> {
    let principal = auth.require(Role::Admin)?;
    let spec = RuleSpec::try_from(body)?;
    let mut tx = state.pool.begin().await?;
    rules::replace(
        &mut tx,
        principal.tenant_id,
        &origin.actor(&principal),
        id,
        spec,
    )
    .await?;
    let rule = rules::get(&mut tx, principal.tenant_id, id).await?;
    tx.commit().await?;
    Ok(ReplaceAlertRuleResponse::Ok(Json(rule.into())))
}

#[tracing::instrument(skip_all, fields(tenant_id, rule_id = %id))]
async fn delete_rule(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    id: Uuid,
) -> Result<DeleteAlertRuleResponse, ApiError> {
    let principal = auth.require(Role::Admin)?;
    let mut tx = state.pool.begin().await?;
    rules::delete(&mut tx, principal.tenant_id, &origin.actor(&principal), id).await?;
    tx.commit().await?;
    Ok(DeleteAlertRuleResponse::Deleted)
}
