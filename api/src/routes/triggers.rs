//! Workflow triggers: cron schedules (`/workflows/{id}/schedules`, `/schedules/{id}`), the
//! per-workflow webhook (`/workflows/{id}/webhook`) and its inbound URL (`/hooks/{id}`).
//!
//! Bodies are read as raw JSON and parsed by the domain (`jobs::workflows::schedules`), which
//! names every bad field (`cron`, `time_zone`, `catch_up`) in one 422. Changes need the operator
//! role and are audited in their own transaction. A webhook's secret is in the response that
//! creates or rotates it, and nowhere else. `/hooks/{id}` takes no API key: the signature made
//! with the webhook's secret is the credential.

use chrono::{DateTime, Utc};
use jobs::{
    audit,
    auth::Role,
    workflows::{
        schedules::{self, CatchUp, Schedule, ScheduleFields},
        webhooks::{self, HookError, Webhook},
    },
};
use poem::{
    middleware::ReqId,
    web::{Data, RemoteAddr},
};
use poem_openapi::{
    Enum, Object, OpenApi,
    param::{Header, Path},
    payload::Json,
};
use secrecy::ExposeSecret;
use serde_json::Value;
use uuid::Uuid;

use super::{
    ApiTags,
    sources_models::RawJson,
    workflows::{MAX_CORRELATION_ID, RunView, audited, invalid, wake},
};
use crate::{
    API_PREFIX, api_responses,
    app::AppState,
    auth::{Auth, Origin},
    models::JsonAs,
    problem::{ApiError, respond},
};

// ---------------------------------------------------------------------------------------------
// Schemas

/// What happens to fire times missed while no scheduler ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "CatchUp", rename_all = "snake_case")]
pub enum CatchUpName {
    /// Missed fire times are dropped; only one at most 60 s late runs.
    Skip,
    /// However many were missed, the latest runs once.
    Once,
    /// Every missed fire time runs, oldest first (at most 1,000).
    All,
}

impl From<CatchUp> for CatchUpName {
    fn from(c: CatchUp) -> Self {
        match c {
            CatchUp::Skip => Self::Skip,
            CatchUp::Once => Self::Once,
            CatchUp::All => Self::All,
        }
    }
}

/// A schedule to create.
#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "NewSchedule")]
pub struct NewScheduleSchema {
    /// Standard cron: `minute hour day-of-month month day-of-week` (e.g. `*/15 * * * *`), or six
    /// fields with seconds first; `@hourly`, `@daily`, `@weekly`, `@monthly`, `@yearly`.
    pub cron: String,
    /// The IANA time zone the expression is read in (default `UTC`), e.g. `Europe/Berlin`.
    pub time_zone: Option<String>,
    /// What happens to fire times missed while no scheduler ran (default `once`).
    pub catch_up: Option<CatchUpName>,
    /// The input of every run it starts (default `{}`).
    pub input: Option<Value>,
    /// Whether it fires (default true).
    pub enabled: Option<bool>,
}

/// A change to a schedule; absent fields stay as they are.
#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "SchedulePatch")]
pub struct SchedulePatchSchema {
    /// A new expression (its next fire time is then the first after now).
    pub cron: Option<String>,
    /// A new time zone.
    pub time_zone: Option<String>,
    /// A new catch-up policy.
    pub catch_up: Option<CatchUpName>,
    /// A new input.
    pub input: Option<Value>,
    /// Enable (its next fire time is then the first after now) or disable.
    pub enabled: Option<bool>,
}

/// A cron schedule of a workflow.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none, rename = "Schedule")]
pub struct ScheduleView {
    /// Its id.
    pub id: Uuid,
    /// Its workflow.
    pub workflow_id: Uuid,
    /// The cron expression.
    pub cron: String,
    /// The IANA time zone it is read in.
    pub time_zone: String,
    /// What happens to missed fire times.
    pub catch_up: CatchUpName,
    /// The input of every run it starts.
    pub input: Value,
    /// Whether it fires.
    pub enabled: bool,
    /// Its next fire time (absent when disabled, or when it never fires again).
    pub next_fire_at: Option<DateTime<Utc>>,
    /// The last fire time it handled.
    pub last_fire_at: Option<DateTime<Utc>>,
    /// The run its last fire started.
    pub last_run_id: Option<Uuid>,
    /// Why its last fire started no run (e.g. the workflow is disabled).
    pub last_error: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<Schedule> for ScheduleView {
    fn from(s: Schedule) -> Self {
        Self {
            id: s.id,
            workflow_id: s.workflow_id,
            cron: s.cron,
            time_zone: s.time_zone,
            catch_up: s.catch_up.into(),
            input: s.input,
            enabled: s.enabled,
            next_fire_at: s.next_fire_at,
            last_fire_at: s.last_fire_at,
            last_run_id: s.last_run_id,
            last_error: s.last_error,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

/// Schedules.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none, rename = "ScheduleList")]
pub struct ScheduleList {
    /// Oldest first.
    pub items: Vec<ScheduleView>,
}

/// A workflow's webhook (never its secret).
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none, rename = "Webhook")]
pub struct WebhookView {
    /// Its id.
    pub id: Uuid,
    /// Its workflow.
    pub workflow_id: Uuid,
    /// Where to send signed requests: `POST /api/v1/hooks/{id}`.
    pub url: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When its secret was last rotated.
    pub rotated_at: Option<DateTime<Utc>>,
    /// Until when the previous secret still verifies.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    /// When a signed request last started a run.
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<Webhook> for WebhookView {
    fn from(w: Webhook) -> Self {
        Self {
            url: format!("{API_PREFIX}/hooks/{}", w.id),
            id: w.id,
            workflow_id: w.workflow_id,
            created_at: w.created_at,
            rotated_at: w.rotated_at,
            previous_secret_expires_at: w.previous_secret_expires_at,
            last_used_at: w.last_used_at,
        }
    }
}

/// A webhook with its new secret: shown here, and never again.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none, rename = "WebhookSecret")]
pub struct WebhookSecret {
    /// The webhook.
    pub webhook: WebhookView,
    /// `whsec_` + 64 hex digits. Sign each request with it: `X-Demandflow-Signature:
    /// t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`.
    pub secret: String,
}

// ---------------------------------------------------------------------------------------------
// Operations

/// The trigger operations.
pub struct TriggersApi;

#[OpenApi(tag = "ApiTags::Workflows")]
impl TriggersApi {
    /// Create a cron schedule
    ///
    /// The workflow runs at each fire time of `cron` in `time_zone`, exactly once however many
    /// workers run. A bad expression or zone is a 422 naming `cron` or `time_zone`. At most 20
    /// per workflow (409 beyond). Needs the operator role.
    #[oai(
        path = "/workflows/:id/schedules",
        method = "post",
        operation_id = "createSchedule"
    )]
    async fn create_schedule(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        id: Path<Uuid>,
        request_id: ReqId,
        remote: &RemoteAddr,
        /// The schedule.
        body: Json<JsonAs<NewScheduleSchema>>,
    ) -> CreateScheduleResponse {
        let origin = Origin::of(&request_id, remote);
        respond(create_schedule(&state, &auth, &origin, id.0, body.0.value).await)
    }

    /// List a workflow's schedules
    #[oai(
        path = "/workflows/:id/schedules",
        method = "get",
        operation_id = "listSchedules"
    )]
    async fn list_schedules(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        id: Path<Uuid>,
    ) -> ListSchedulesResponse {
        respond(list_schedules(&state, &auth, id.0).await)
    }

    /// Get a schedule
    #[oai(path = "/schedules/:id", method = "get", operation_id = "getSchedule")]
    async fn get_schedule(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        id: Path<Uuid>,
    ) -> ScheduleResponse {
        respond(get_schedule(&state, &auth, id.0).await)
    }

    /// Change a schedule
    ///
    /// A new expression or zone, or enabling it, moves its next fire time to the first after
    /// now (fire times while it was disabled are not caught up). Needs the operator role.
    #[oai(
        path = "/schedules/:id",
        method = "patch",
        operation_id = "updateSchedule"
    )]
    async fn update_schedule(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        id: Path<Uuid>,
        request_id: ReqId,
        remote: &RemoteAddr,
        /// The change.
        body: Json<JsonAs<SchedulePatchSchema>>,
    ) -> ScheduleResponse {
        let origin = Origin::of(&request_id, remote);
        respond(update_schedule(&state, &auth, &origin, id.0, body.0.value).await)
    }

    /// Delete a schedule
    ///
    /// It fires no more; the runs it started stay. Needs the operator role.
    #[oai(
        path = "/schedules/:id",
        method = "delete",
        operation_id = "deleteSchedule"
    )]
    async fn delete_schedule(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        id: Path<Uuid>,
        request_id: ReqId,
        remote: &RemoteAddr,
    ) -> DeleteResponse {
        let origin = Origin::of(&request_id, remote);
        respond(delete_schedule(&state, &auth, &origin, id.0).await)
    }

    /// Create or rotate a workflow's webhook
    ///
    /// Gives the workflow a URL (`/api/v1/hooks/{id}`) where HMAC-signed requests start runs
    /// with their body as input, and answers its secret — shown here and never again. When the
    /// workflow has one already, its secret is rotated: the URL stays, and the previous secret
    /// keeps working for 24 hours. Needs the operator role.
    #[oai(
        path = "/workflows/:id/webhook",
        method = "post",
        operation_id = "createWebhook"
    )]
    async fn create_webhook(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        id: Path<Uuid>,
        request_id: ReqId,
        remote: &RemoteAddr,
    ) -> CreateWebhookResponse {
        let origin = Origin::of(&request_id, remote);
        respond(create_webhook(&state, &auth, &origin, id.0).await)
    }

    /// Get a workflow's webhook
    ///
    /// Its URL and dates, never its secret.
    #[oai(
        path = "/workflows/:id/webhook",
        method = "get",
        operation_id = "getWebhook"
    )]
    async fn get_webhook(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        id: Path<Uuid>,
    ) -> GetWebhookResponse {
        respond(get_webhook(&state, &auth, id.0).await)
    }

    /// Delete a workflow's webhook
    ///
    /// Its URL stops working at once. Needs the operator role.
    #[oai(
        path = "/workflows/:id/webhook",
        method = "delete",
        operation_id = "deleteWebhook"
    )]
    async fn delete_webhook(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        id: Path<Uuid>,
        request_id: ReqId,
        remote: &RemoteAddr,
    ) -> DeleteResponse {
        let origin = Origin::of(&request_id, remote);
        respond(delete_webhook(&state, &auth, &origin, id.0).await)
    }

    /// Start a run through a webhook
    ///
    /// No API key: the request must carry `X-Demandflow-Signature: t=<unix seconds>,v1=<hex
    /// HMAC-SHA256 of "<t>.<raw body>">` made with the webhook's secret, at most 5 minutes off.
    /// The body (a JSON object) becomes the run's input. An unknown webhook, or a missing,
    /// malformed, stale or wrong signature, is the same 401; a disabled workflow is a 409.
    #[oai(path = "/hooks/:id", method = "post", operation_id = "triggerWebhook")]
    async fn trigger(
        &self,
        state: Data<&AppState>,
        id: Path<Uuid>,
        request_id: ReqId,
        remote: &RemoteAddr,
        /// `t=<unix seconds>,v1=<hex HMAC-SHA256>`.
        #[oai(name = "X-Demandflow-Signature")]
        signature: Header<Option<String>>,
        /// Any JSON object: the run's input.
        body: RawJson<Value>,
    ) -> TriggerWebhookResponse {
        let origin = Origin::of(&request_id, remote);
        respond(trigger(&state, &origin, id.0, signature.0, &body.bytes).await)
    }
}

// ---------------------------------------------------------------------------------------------
// Handlers

#[tracing::instrument(skip_all, fields(tenant_id, workflow_id = %workflow_id, schedule_id))]
async fn create_schedule(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    workflow_id: Uuid,
    body: Value,
) -> Result<CreateScheduleResponse, ApiError> {
    let principal = auth.require(Role::Operator)?;
    // The workflow first: another tenant's id is a 404 whatever the body.
    jobs::workflows::get(&state.pool, principal.tenant_id, workflow_id).await?;
    let fields = match ScheduleFields::parse(&body, true) {
        Ok(f) => f,
        Err(errors) => return Ok(CreateScheduleResponse::Invalid(Json(invalid(errors)))),
    };
    let mut tx = state.pool.begin().await?;
    let schedule = schedules::create(&mut tx, principal.tenant_id, workflow_id, fields).await?;
    tracing::Span::current().record("schedule_id", tracing::field::display(schedule.id));
    audited(
        &mut tx,
        &principal,
        origin,
        "schedule.create",
        ("schedule", schedule.id),
        None,
        &schedule,
    )
    .await?;
    tx.commit().await?;
    Ok(CreateScheduleResponse::Created(Json(schedule.into())))
}

async fn list_schedules(
    state: &AppState,
    auth: &Auth,
    workflow_id: Uuid,
) -> Result<ListSchedulesResponse, ApiError> {
    let principal = auth.require(Role::Viewer)?;
    let items = schedules::list(&state.pool, principal.tenant_id, workflow_id).await?;
    Ok(ListSchedulesResponse::Ok(Json(ScheduleList {
        items: items.into_iter().map(Into::into).collect(),
    })))
}

async fn get_schedule(
    state: &AppState,
    auth: &Auth,
    id: Uuid,
) -> Result<ScheduleResponse, ApiError> {
    let principal = auth.require(Role::Viewer)?;
    let s = schedules::get(&state.pool, principal.tenant_id, id).await?;
    Ok(ScheduleResponse::Ok(Json(s.into())))
}

#[tracing::instrument(skip_all, fields(tenant_id, schedule_id = %id))]
async fn update_schedule(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    id: Uuid,
    body: Value,
) -> Result<ScheduleResponse, ApiError> {
    let principal = auth.require(Role::Operator)?;
    schedules::get(&state.pool, principal.tenant_id, id).await?;
    let fields = match ScheduleFields::parse(&body, false) {
        Ok(f) => f,
        Err(errors) => return Ok(ScheduleResponse::Invalid(Json(invalid(errors)))),
    };
    let mut tx = state.pool.begin().await?;
    let changed = schedules::update(&mut tx, principal.tenant_id, id, fields).await?;
    audited(
        &mut tx,
        &principal,
        origin,
        "schedule.update",
        ("schedule", id),
        Some(&changed.before),
        &changed.after,
    )
    .await?;
    tx.commit().await?;
    Ok(ScheduleResponse::Ok(Json(changed.after.into())))
}

#[tracing::instrument(skip_all, fields(tenant_id, schedule_id = %id))]
async fn delete_schedule(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    id: Uuid,
) -> Result<DeleteResponse, ApiError> {
    let principal = auth.require(Role::Operator)?;
    let mut tx = state.pool.begin().await?;
    let before = schedules::delete(&mut tx, principal.tenant_id, id).await?;
    audit::record(
        &mut tx,
        principal.tenant_id,
        &origin.actor(&principal),
        audit::Change {
            action: "schedule.delete",
            target_type: "schedule",
            target_id: id.to_string(),
            before: serde_json::to_value(&before).ok(),
            after: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(DeleteResponse::Deleted)
}

#[tracing::instrument(skip_all, fields(tenant_id, workflow_id = %workflow_id))]
async fn create_webhook(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    workflow_id: Uuid,
) -> Result<CreateWebhookResponse, ApiError> {
    let principal = auth.require(Role::Operator)?;
    let mut tx = state.pool.begin().await?;
    let (before, after, secret) =
        webhooks::create_or_rotate(&mut tx, principal.tenant_id, workflow_id).await?;
    let action = if before.is_some() {
        "webhook.rotate"
    } else {
        "webhook.create"
    };
    audited(
        &mut tx,
        &principal,
        origin,
        action,
        ("webhook", after.id),
        before.as_ref(),
        &after,
    )
    .await?;
    tx.commit().await?;
    Ok(CreateWebhookResponse::Created(Json(WebhookSecret {
        webhook: after.into(),
        secret: secret.expose_secret().to_owned(),
    })))
}

async fn get_webhook(
    state: &AppState,
    auth: &Auth,
    workflow_id: Uuid,
) -> Result<GetWebhookResponse, ApiError> {
    let principal = auth.require(Role::Viewer)?;
    let w = webhooks::get(&state.pool, principal.tenant_id, workflow_id).await?;
    Ok(GetWebhookResponse::Ok(Json(w.into())))
}

#[tracing::instrument(skip_all, fields(tenant_id, workflow_id = %workflow_id))]
async fn delete_webhook(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    workflow_id: Uuid,
) -> Result<DeleteResponse, ApiError> {
    let principal = auth.require(Role::Operator)?;
    let mut tx = state.pool.begin().await?;
    let before = webhooks::delete(&mut tx, principal.tenant_id, workflow_id).await?;
    audit::record(
        &mut tx,
        principal.tenant_id,
        &origin.actor(&principal),
        audit::Change {
            action: "webhook.delete",
            target_type: "webhook",
            target_id: before.id.to_string(),
            before: serde_json::to_value(&before).ok(),
            after: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(DeleteResponse::Deleted)
}

#[tracing::instrument(skip_all, fields(tenant_id, webhook_id = %id, run_id))]
async fn trigger(
    state: &AppState,
    origin: &Origin,
    id: Uuid,
    signature: Option<String>,
    body: &[u8],
) -> Result<TriggerWebhookResponse, ApiError> {
    let actor = audit::Actor {
        request_id: Some(origin.request_id.chars().take(MAX_CORRELATION_ID).collect()),
        client_addr: origin.client_addr.clone(),
        ..audit::Actor::default()
    };
    match webhooks::trigger(&state.pool, id, signature.as_deref(), body, &actor).await {
        Ok(t) => {
            let span = tracing::Span::current();
            span.record("tenant_id", tracing::field::display(t.tenant_id));
            span.record("run_id", tracing::field::display(t.run.id));
            wake(state, &t.kinds);
            Ok(TriggerWebhookResponse::Created(Json(RunView::of(
                t.run, true,
            ))))
        }
        Err(HookError::Refused(why)) => Err(ApiError::Other(
            poem::http::StatusCode::UNAUTHORIZED,
            why.to_owned(),
        )),
        Err(HookError::Domain(e)) => Err(e.into()),
    }
}

// ---------------------------------------------------------------------------------------------
// Responses

api_responses! {
    /// Outcomes of `createSchedule`.
    pub enum CreateScheduleResponse {
        /// The schedule, with its first fire time.
        #[oai(status = 201)]
        Created(Json<ScheduleView>),
    }
    problems {
        400 => BadRequest: "The body is not JSON, or a parameter could not be read.",
        401 => Unauthorized,
        403 => Forbidden: "The key's role is too low for this operation.",
        404 => NotFound: "No such workflow in this tenant.",
        409 => Conflict: "The workflow has the most schedules it may have.",
        413 => PayloadTooLarge,
        422 => Invalid: "A field is invalid; `errors[].path` names each (`cron`, `time_zone`, `catch_up`, ...).",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `listSchedules`.
    pub enum ListSchedulesResponse {
        /// The workflow's schedules.
        #[oai(status = 200)]
        Ok(Json<ScheduleList>),
    }
    problems {
        400 => BadRequest: "A parameter could not be read.",
        401 => Unauthorized,
        404 => NotFound: "No such workflow in this tenant.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `getSchedule` and `updateSchedule`.
    pub enum ScheduleResponse {
        /// The schedule.
        #[oai(status = 200)]
        Ok(Json<ScheduleView>),
    }
    problems {
        400 => BadRequest: "The body is not JSON, or a parameter could not be read.",
        401 => Unauthorized,
        403 => Forbidden: "The key's role is too low for this operation.",
        404 => NotFound: "No such schedule in this tenant.",
        413 => PayloadTooLarge,
        422 => Invalid: "A field is invalid; `errors[].path` names each.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `deleteSchedule` and `deleteWebhook`.
    pub enum DeleteResponse {
        /// Deleted.
        #[oai(status = 204)]
        Deleted,
    }
    problems {
        400 => BadRequest: "A parameter could not be read.",
        401 => Unauthorized,
        403 => Forbidden: "The key's role is too low for this operation.",
        404 => NotFound: "No such schedule, workflow or webhook in this tenant.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `createWebhook`.
    pub enum CreateWebhookResponse {
        /// The webhook and its new secret (shown only here).
        #[oai(status = 201)]
        Created(Json<WebhookSecret>),
    }
    problems {
        400 => BadRequest: "A parameter could not be read.",
        401 => Unauthorized,
        403 => Forbidden: "The key's role is too low for this operation.",
        404 => NotFound: "No such workflow in this tenant.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `getWebhook`.
    pub enum GetWebhookResponse {
        /// The webhook (without its secret).
        #[oai(status = 200)]
        Ok(Json<WebhookView>),
    }
    problems {
        400 => BadRequest: "A parameter could not be read.",
        401 => Unauthorized,
        404 => NotFound: "No such workflow in this tenant, or it has no webhook.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `triggerWebhook`.
    pub enum TriggerWebhookResponse {
        /// The run, with its root steps' jobs enqueued.
        #[oai(status = 201)]
        Created(Json<RunView>),
    }
    problems {
        400 => BadRequest: "A parameter could not be read.",
        401 => Unauthorized: "No such webhook, or the signature is missing, malformed, stale or wrong.",
        409 => Conflict: "The workflow is disabled.",
        413 => PayloadTooLarge,
        422 => Invalid: "The signed body is not a JSON object.",
        429 => TooManyRequests: "Too many requests (see `Retry-After`).",
    }
}
