//! `/runs` and `POST /workflows/{id}/runs`: start runs of a workflow, watch, list, cancel and
//! retry them.
//!
//! A run pins its workflow's latest version when it starts and enqueues its root steps' jobs in
//! the same transaction. Every change is audited in its own transaction; workers are woken after
//! the commit.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use jobs::{
    auth::Role,
    workflows::{self, Run, RunStatus},
};
use poem::web::Data;
use poem_openapi::{
    Enum, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use serde_json::Value;
use uuid::Uuid;

use super::{ApiTags, MAX_CORRELATION_ID, audited, common::optional, wake};
use crate::{
    api_responses,
    app::AppState,
    auth::{Auth, Origin},
    models::JsonAs,
    problem::{ApiError, respond},
};

// ---------------------------------------------------------------------------------------------
// Schemas

/// A run to start.
#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "NewRun")]
pub struct NewRunSchema {
    /// The run's input, read by `{{ input.x }}` (default `{}`).
    pub input: Option<Value>,
}

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "RunStatus", rename_all = "snake_case")]
pub enum RunStatusName {
    /// Started; no step job has run yet.
    Queued,
    /// Steps are running.
    Running,
    /// Every step succeeded or was skipped.
    Succeeded,
    /// A step failed (`failed_step`).
    Failed,
    /// Cancelled.
    Cancelled,
}

impl From<RunStatus> for RunStatusName {
    fn from(s: RunStatus) -> Self {
        match s {
            RunStatus::Queued => Self::Queued,
            RunStatus::Running => Self::Running,
            RunStatus::Succeeded => Self::Succeeded,
            RunStatus::Failed => Self::Failed,
            RunStatus::Cancelled => Self::Cancelled,
        }
    }
}

/// How far a run is.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "RunProgress")]
pub struct RunProgress {
    /// Steps finished (succeeded, skipped, failed or cancelled).
    pub steps_done: i64,
    /// Every step.
    pub steps_total: i64,
}

/// One step of a run.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none, rename = "RunStep")]
pub struct RunStepView {
    /// The step's name.
    pub name: String,
    /// `pending`, `running`, `succeeded`, `failed`, `skipped` or `cancelled`.
    pub state: String,
    /// Jobs enqueued for it (a for_each's items; 1 otherwise).
    pub items: Option<i32>,
    /// Its jobs by state.
    pub jobs: BTreeMap<String, i64>,
    /// Its output once succeeded: the job's result, or the items' results in order.
    pub output: Option<Value>,
    /// Why it failed.
    pub error: Option<String>,
    /// When its jobs were enqueued.
    pub started_at: Option<DateTime<Utc>>,
    /// When it finished.
    pub finished_at: Option<DateTime<Utc>>,
}

/// A run of a workflow.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none, rename = "Run")]
pub struct RunView {
    /// Its id.
    pub id: Uuid,
    /// Its workflow.
    pub workflow_id: Uuid,
    /// The version it pinned when it started.
    pub version: i32,
    /// Where it is.
    pub status: RunStatusName,
    /// Its input.
    pub input: Value,
    /// How it was started: `{"type": "api"}`, `{"type": "schedule", "schedule_id", "fire_at"}`
    /// or `{"type": "webhook", "webhook_id"}`.
    pub trigger: Value,
    /// The step that failed it.
    pub failed_step: Option<String>,
    /// Why.
    pub error: Option<String>,
    /// Steps done of all steps.
    pub progress: RunProgress,
    /// Its steps in definition order (absent in listings).
    pub steps: Option<Vec<RunStepView>>,
    /// When it was triggered.
    pub created_at: DateTime<Utc>,
    /// When its first step job finished.
    pub started_at: Option<DateTime<Utc>>,
    /// When it finished.
    pub finished_at: Option<DateTime<Utc>>,
}

impl RunView {
    pub(crate) fn of(r: Run, with_steps: bool) -> Self {
        Self {
            id: r.id,
            workflow_id: r.workflow_id,
            version: r.version,
            status: r.status.into(),
            input: r.input,
            trigger: r.trigger,
            failed_step: r.failed_step,
            error: r.error,
            progress: RunProgress {
                steps_done: r.steps_done,
                steps_total: r.steps_total,
            },
            steps: with_steps.then(|| {
                r.steps
                    .into_iter()
                    .map(|s| RunStepView {
                        name: s.name,
                        state: s.state.to_string(),
                        items: s.items,
                        jobs: s.jobs,
                        output: s.output,
                        error: s.error,
                        started_at: s.started_at,
                        finished_at: s.finished_at,
                    })
                    .collect()
            }),
            created_at: r.created_at,
            started_at: r.started_at,
            finished_at: r.finished_at,
        }
    }
}

/// Runs.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "RunList")]
pub struct RunList {
    /// Newest first.
    pub items: Vec<RunView>,
}

// ---------------------------------------------------------------------------------------------
// Operations

/// The run operations.
pub struct RunsApi;

#[OpenApi(tag = "ApiTags::Workflows")]
impl RunsApi {
    /// Start a run
    ///
    /// Pins the workflow's latest version and enqueues its root steps' jobs in the same
    /// transaction as the run. A disabled workflow answers 409. Needs the operator role.
    #[oai(
        path = "/workflows/:id/runs",
        method = "post",
        operation_id = "startRun"
    )]
    async fn start(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        id: Path<Uuid>,
        origin: Origin,
        /// The run's input.
        body: Json<JsonAs<NewRunSchema>>,
    ) -> StartRunResponse {
        respond(start_run(&state, &auth, &origin, id.0, body.0.value).await)
    }

    /// Get a run
    ///
    /// Its status, the pinned version, progress, times, and each step's state, job counts by
    /// state and output.
    #[oai(path = "/runs/:id", method = "get", operation_id = "getRun")]
    async fn get_run(&self, auth: Auth, state: Data<&AppState>, id: Path<Uuid>) -> GetRunResponse {
        respond(get_run(&state, &auth, id.0).await)
    }

    /// List runs
    ///
    /// Newest first, optionally of one workflow and in one status. An unknown `status` or a
    /// `limit` outside 1 to 500 is a 422 naming the parameter.
    #[oai(path = "/runs", method = "get", operation_id = "listRuns")]
    async fn list_runs(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        /// Only runs of this workflow.
        workflow: Query<Option<Uuid>>,
        /// Only runs in this status.
        status: Query<Option<String>>,
        /// Page size, 1 to 500 (default 50).
        limit: Query<Option<i64>>,
    ) -> ListRunsResponse {
        respond(list_runs(&state, &auth, workflow.0, status.0, limit.0).await)
    }

    /// Cancel a run
    ///
    /// Its queued step jobs are cancelled at once, running ones are told to stop, and no new
    /// step starts. A finished run answers 409. Needs the operator role.
    #[oai(path = "/runs/:id/cancel", method = "post", operation_id = "cancelRun")]
    async fn cancel(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        id: Path<Uuid>,
        origin: Origin,
    ) -> ChangeRunResponse {
        respond(change_run(&state, &auth, &origin, id.0, false).await)
    }

    /// Retry a failed run
    ///
    /// Re-runs only its failed steps (their dead jobs go back to the queue with attempts reset);
    /// the run then continues. Any other status answers 409. Needs the operator role.
    #[oai(path = "/runs/:id/retry", method = "post", operation_id = "retryRun")]
    async fn retry(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        id: Path<Uuid>,
        origin: Origin,
    ) -> ChangeRunResponse {
        respond(change_run(&state, &auth, &origin, id.0, true).await)
    }
}

#[tracing::instrument(skip_all, fields(tenant_id, workflow_id = %id, run_id))]
async fn start_run(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    id: Uuid,
    body: Value,
) -> Result<StartRunResponse, ApiError> {
    let principal = auth.require(Role::Operator)?;
    let input = workflows::parse_trigger(&body)?;
    let correlation_id: String = origin.request_id.chars().take(MAX_CORRELATION_ID).collect();
    let mut tx = state.pool.begin().await?;
    let (run, kinds) = workflows::start_run(
        &mut tx,
        principal.tenant_id,
        id,
        input,
        Some(&correlation_id),
        &workflows::Trigger::Api,
    )
    .await?;
    tracing::Span::current().record("run_id", tracing::field::display(run.id));
    audited(
        &mut tx,
        &principal,
        origin,
        "run.start",
        ("run", run.id),
        None,
        &run,
    )
    .await?;
    tx.commit().await?;
    wake(state, &kinds);
    Ok(StartRunResponse::Created(Json(RunView::of(run, true))))
}

#[tracing::instrument(skip_all, fields(tenant_id, run_id = %id))]
async fn get_run(state: &AppState, auth: &Auth, id: Uuid) -> Result<GetRunResponse, ApiError> {
    let principal = auth.require(Role::Viewer)?;
    let run = workflows::get_run(&state.pool, principal.tenant_id, id).await?;
    Ok(GetRunResponse::Ok(Json(RunView::of(run, true))))
}

#[tracing::instrument(skip_all, fields(tenant_id))]
async fn list_runs(
    state: &AppState,
    auth: &Auth,
    workflow: Option<Uuid>,
    status: Option<String>,
    limit: Option<i64>,
) -> Result<ListRunsResponse, ApiError> {
    let principal = auth.require(Role::Viewer)?;
    let status = optional(status, |s| RunStatus::parse_field("status", s))?;
    let limit = jobs::paging::check_limit(limit.unwrap_or(50))?;
    let runs =
        workflows::list_runs(&state.pool, principal.tenant_id, workflow, status, limit).await?;
    Ok(ListRunsResponse::Ok(Json(RunList {
        items: runs.into_iter().map(|r| RunView::of(r, false)).collect(),
    })))
}

#[tracing::instrument(skip_all, fields(tenant_id, run_id = %id, retry))]
async fn change_run(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    id: Uuid,
    retry: bool,
) -> Result<ChangeRunResponse, ApiError> {
    let principal = auth.require(Role::Operator)?;
    let mut tx = state.pool.begin().await?;
    let (changed, kinds, action) = if retry {
        let (changed, kinds) = workflows::retry_run(&mut tx, principal.tenant_id, id).await?;
        (changed, kinds, "run.retry")
    } else {
        (
            workflows::cancel_run(&mut tx, principal.tenant_id, id).await?,
            vec![],
            "run.cancel",
        )
    };
    audited(
        &mut tx,
        &principal,
        origin,
        action,
        ("run", id),
        Some(&changed.before),
        &changed.after,
    )
    .await?;
    tx.commit().await?;
    wake(state, &kinds);
    Ok(ChangeRunResponse::Ok(Json(RunView::of(
        changed.after,
        true,
    ))))
}

api_responses! {
    /// Outcomes of `startRun`.
    pub enum StartRunResponse {
        /// The run, with its root steps' jobs enqueued.
        #[oai(status = 201)]
        Created(Json<RunView>),
    }
    problems {
        400 => BadRequest: "The body is not JSON, or a parameter could not be read.",
        401 => Unauthorized,
        403 => Forbidden: "The key's role is too low for this operation.",
        404 => NotFound: "No such workflow or run in this tenant.",
        409 => Conflict: "The state forbids the operation.",
        413 => PayloadTooLarge,
        422 => Invalid: "A field is invalid; `errors[].path` names each problem.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `getRun`.
    pub enum GetRunResponse {
        /// The run with its steps.
        #[oai(status = 200)]
        Ok(Json<RunView>),
    }
    problems {
        400 => BadRequest: "The body is not JSON, or a parameter could not be read.",
        401 => Unauthorized,
        404 => NotFound: "No such workflow or run in this tenant.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `listRuns`.
    pub enum ListRunsResponse {
        /// The runs, newest first (without their steps).
        #[oai(status = 200)]
        Ok(Json<RunList>),
    }
    problems {
        400 => BadRequest: "The body is not JSON, or a parameter could not be read.",
        401 => Unauthorized,
        422 => Invalid: "A field is invalid; `errors[].path` names each problem.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `cancelRun` and `retryRun`.
    pub enum ChangeRunResponse {
        /// The run after the change.
        #[oai(status = 200)]
        Ok(Json<RunView>),
    }
    problems {
        400 => BadRequest: "The body is not JSON, or a parameter could not be read.",
        401 => Unauthorized,
        403 => Forbidden: "The key's role is too low for this operation.",
        404 => NotFound: "No such workflow or run in this tenant.",
        409 => Conflict: "The state forbids the operation.",
        429 => TooManyRequests,
    }
}
