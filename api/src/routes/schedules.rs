//! Cron schedules of a workflow: `/workflows/{id}/schedules` and `/schedules/{id}`. A
//! workflow's other trigger, its webhook, is in [`super::webhooks`].
//!
//! Bodies are read as raw JSON and parsed by the domain (`jobs::workflows::schedules`), which
//! names every bad field (`cron`, `time_zone`, `catch_up`) in one 422. Changes need the operator
//! role and are audited in their own transaction.

use chrono::{DateTime, Utc};
use jobs::{
    audit,
    auth::Role,
    workflows::schedules::{self, CatchUp, Schedule, ScheduleFields},
};
use poem::web::Data;
use poem_openapi::{Enum, Object, OpenApi, param::Path, payload::Json};
use serde_json::Value;
use uuid::Uuid;

use super::{ApiTags, audited, invalid};
use crate::{
    api_responses,
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

// ---------------------------------------------------------------------------------------------
// Operations

/// The schedule operations.
pub struct SchedulesApi;

#[OpenApi(tag = "ApiTags::Workflows")]
impl SchedulesApi {
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
        origin: Origin,
        /// The schedule.
        body: Json<JsonAs<NewScheduleSchema>>,
    ) -> CreateScheduleResponse {
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
        origin: Origin,
        /// The change.
        body: Json<JsonAs<SchedulePatchSchema>>,
    ) -> ScheduleResponse {
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
        origin: Origin,
    ) -> DeleteResponse {
        respond(delete_schedule(&state, &auth, &origin, id.0).await)
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

#[tracing::instrument(skip_all, fields(tenant_id, workflow_id = %workflow_id))]
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

#[tracing::instrument(skip_all, fields(tenant_id, schedule_id = %id))]
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
