//! `/workflows`: define workflows (versioned DAGs of job steps), add versions, disable them.
//! Their runs are in [`super::runs`].
//!
//! Bodies are read as raw JSON and parsed by the domain (`jobs::workflows`), which names the
//! path of every problem of a definition in one 422 (`definition.steps[2].after[0]`). Every
//! change is audited in its own transaction.

use chrono::{DateTime, Utc};
use jobs::{
    auth::Role,
    workflows::{self, Workflow},
};
use poem::web::Data;
use poem_openapi::{
    Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
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

/// One step of a definition.
#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "WorkflowStep")]
pub struct StepSchema {
    /// Unique in the workflow: 1 to 50 of a-z, 0-9, `_` and `-`.
    pub name: String,
    /// The job kind it runs.
    pub kind: String,
    /// The kind's args; strings may hold `{{ input.x }}`, `{{ steps.NAME.output.x }}` or
    /// `{{ item }}` (a string that is exactly one placeholder becomes the value itself).
    pub args: Option<Value>,
    /// Steps that must succeed (or be skipped) first.
    pub after: Option<Vec<String>>,
    /// Fan out: one job per item of this list, e.g. `steps.fetch.output.items`. The step's
    /// output is the list of the items' results (fan-in).
    pub for_each: Option<String>,
    /// Run only when this holds, e.g. `steps.classify.output.score >= 70 and input.alert`
    /// (`== != < <= > >=`, `and`, `or`, parentheses, literals); skipped otherwise.
    #[oai(rename = "if")]
    pub condition: Option<String>,
    /// With `for_each`: only the items for which this holds get a job, e.g. `item.score >= 70`.
    pub item_if: Option<String>,
    /// Attempts of each of its jobs, 1 to 100 (the kind's default otherwise).
    pub max_attempts: Option<i32>,
    /// A concurrency key for its jobs: at most `limit` of the tenant's jobs with the rendered
    /// key run at once; the others wait their turn.
    pub concurrency: Option<StepConcurrencySchema>,
}

/// A step's concurrency key.
#[derive(Object)]
#[oai(rename = "WorkflowStepConcurrency")]
pub struct StepConcurrencySchema {
    /// The key, a template like the args' strings: `source-{{ item.source_id }}`.
    pub key: String,
    /// Most jobs with the rendered key running at once, 1 to 10000.
    #[oai(validator(minimum(value = "1"), maximum(value = "10000")))]
    pub limit: i32,
}

/// A workflow definition: a DAG of steps.
#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "WorkflowDefinition")]
pub struct DefinitionSchema {
    /// 1 to 100 steps.
    pub steps: Vec<StepSchema>,
}

/// A workflow to create.
#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "NewWorkflow")]
pub struct NewWorkflowSchema {
    /// 1 to 100 printable characters.
    pub name: String,
    /// Its first version.
    pub definition: DefinitionSchema,
}

/// A new version of a workflow.
#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "NewWorkflowVersion")]
pub struct NewVersionSchema {
    /// The definition; runs in flight keep the version they started with.
    pub definition: DefinitionSchema,
}

/// A workflow.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none, rename = "Workflow")]
pub struct WorkflowView {
    /// Its id.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// Its newest version; new runs pin it.
    pub version: i32,
    /// The newest version's definition.
    pub definition: Value,
    /// When it was disabled; a disabled workflow starts no new run.
    pub disabled_at: Option<DateTime<Utc>>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<Workflow> for WorkflowView {
    fn from(w: Workflow) -> Self {
        Self {
            id: w.id,
            name: w.name,
            version: w.version,
            definition: w.definition,
            disabled_at: w.disabled_at,
            created_at: w.created_at,
            updated_at: w.updated_at,
        }
    }
}

/// Workflows.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "WorkflowList")]
pub struct WorkflowList {
    /// Newest first.
    pub items: Vec<WorkflowView>,
}

// ---------------------------------------------------------------------------------------------
// Operations

/// The `/workflows` operations (a run is started in [`super::runs`]).
pub struct WorkflowsApi;

#[OpenApi(tag = "ApiTags::Workflows")]
impl WorkflowsApi {
    /// Create a workflow
    ///
    /// A DAG of steps, checked as a whole: unknown kinds, unknown or cyclic `after`, duplicate
    /// names, conditions that do not parse, templates that read what does not run before, and
    /// args that cannot fit their kind are each named in one 422 (`definition.steps[1].kind`).
    /// Needs the admin role.
    #[oai(path = "/workflows", method = "post", operation_id = "createWorkflow")]
    async fn create(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        origin: Origin,
        /// The workflow.
        body: Json<JsonAs<NewWorkflowSchema>>,
    ) -> CreateWorkflowResponse {
        respond(create_workflow(&state, &auth, &origin, body.0.value).await)
    }

    /// List workflows
    #[oai(path = "/workflows", method = "get", operation_id = "listWorkflows")]
    async fn list(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        /// Include disabled workflows (default false).
        include_disabled: Query<Option<bool>>,
    ) -> ListWorkflowsResponse {
        respond(list_workflows(&state, &auth, include_disabled.0.unwrap_or(false)).await)
    }

    /// Get a workflow
    #[oai(path = "/workflows/:id", method = "get", operation_id = "getWorkflow")]
    async fn get(&self, auth: Auth, state: Data<&AppState>, id: Path<Uuid>) -> GetWorkflowResponse {
        respond(get_workflow(&state, &auth, id.0).await)
    }

    /// Add a version to a workflow
    ///
    /// New runs pin the new version; runs in flight keep theirs. Needs the admin role.
    #[oai(
        path = "/workflows/:id/versions",
        method = "post",
        operation_id = "createWorkflowVersion"
    )]
    async fn new_version(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        id: Path<Uuid>,
        origin: Origin,
        /// The new definition.
        body: Json<JsonAs<NewVersionSchema>>,
    ) -> NewVersionResponse {
        respond(new_version(&state, &auth, &origin, id.0, body.0.value).await)
    }

    /// Disable a workflow
    ///
    /// It keeps its versions and runs (runs in flight finish) and starts no new run. Needs the
    /// admin role.
    #[oai(
        path = "/workflows/:id/disable",
        method = "post",
        operation_id = "disableWorkflow"
    )]
    async fn disable(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        id: Path<Uuid>,
        origin: Origin,
    ) -> DisableWorkflowResponse {
        respond(disable_workflow(&state, &auth, &origin, id.0).await)
    }
}

#[tracing::instrument(skip_all, fields(tenant_id, workflow_id))]
async fn create_workflow(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    body: Value,
) -> Result<CreateWorkflowResponse, ApiError> {
    let principal = auth.require(Role::Admin)?;
    let (name, definition) = match workflows::parse_body(&body, true) {
        Ok(parsed) => parsed,
        Err(errors) => return Ok(CreateWorkflowResponse::Invalid(Json(invalid(errors)))),
    };
    let mut tx = state.pool.begin().await?;
    let wf = workflows::create(
        &mut tx,
        principal.tenant_id,
        &name.unwrap_or_default(),
        &definition,
    )
    .await?;
    tracing::Span::current().record("workflow_id", tracing::field::display(wf.id));
    audited(
        &mut tx,
        &principal,
        origin,
        "workflow.create",
        ("workflow", wf.id),
        None,
        &wf,
    )
    .await?;
    tx.commit().await?;
    Ok(CreateWorkflowResponse::Created(Json(wf.into())))
}

#[tracing::instrument(skip_all, fields(tenant_id))]
async fn list_workflows(
    state: &AppState,
    auth: &Auth,
    include_disabled: bool,
) -> Result<ListWorkflowsResponse, ApiError> {
    let principal = auth.require(Role::Viewer)?;
    let items = workflows::list(&state.pool, principal.tenant_id, include_disabled).await?;
    Ok(ListWorkflowsResponse::Ok(Json(WorkflowList {
        items: items.into_iter().map(Into::into).collect(),
    })))
}

#[tracing::instrument(skip_all, fields(tenant_id, workflow_id = %id))]
async fn get_workflow(
    state: &AppState,
    auth: &Auth,
    id: Uuid,
) -> Result<GetWorkflowResponse, ApiError> {
    let principal = auth.require(Role::Viewer)?;
    let wf = workflows::get(&state.pool, principal.tenant_id, id).await?;
    Ok(GetWorkflowResponse::Ok(Json(wf.into())))
}

#[tracing::instrument(skip_all, fields(tenant_id, workflow_id = %id))]
async fn new_version(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    id: Uuid,
    body: Value,
) -> Result<NewVersionResponse, ApiError> {
    let principal = auth.require(Role::Admin)?;
    let (_, definition) = match workflows::parse_body(&body, false) {
        Ok(parsed) => parsed,
        Err(errors) => return Ok(NewVersionResponse::Invalid(Json(invalid(errors)))),
    };
    let mut tx = state.pool.begin().await?;
    let changed = workflows::new_version(&mut tx, principal.tenant_id, id, &definition).await?;
    audited(
        &mut tx,
        &principal,
        origin,
        "workflow.version",
        ("workflow", id),
        Some(&changed.before),
        &changed.after,
    )
    .await?;
    tx.commit().await?;
    Ok(NewVersionResponse::Created(Json(changed.after.into())))
}

#[tracing::instrument(skip_all, fields(tenant_id, workflow_id = %id))]
async fn disable_workflow(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    id: Uuid,
) -> Result<DisableWorkflowResponse, ApiError> {
    let principal = auth.require(Role::Admin)?;
    let mut tx = state.pool.begin().await?;
    let changed = workflows::disable(&mut tx, principal.tenant_id, id).await?;
    audited(
        &mut tx,
        &principal,
        origin,
        "workflow.disable",
        ("workflow", id),
        Some(&changed.before),
        &changed.after,
    )
    .await?;
    tx.commit().await?;
    Ok(DisableWorkflowResponse::Ok(Json(changed.after.into())))
}

api_responses! {
    /// Outcomes of `createWorkflow`.
    pub enum CreateWorkflowResponse {
        /// The workflow, at version 1.
        #[oai(status = 201)]
        Created(Json<WorkflowView>),
    }
    problems {
        400 => BadRequest: "The body is not JSON, or a parameter could not be read.",
        401 => Unauthorized,
        403 => Forbidden: "The key's role is too low for this operation.",
        413 => PayloadTooLarge,
        422 => Invalid: "A field is invalid; `errors[].path` names each problem.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `listWorkflows`.
    pub enum ListWorkflowsResponse {
        /// The workflows, newest first.
        #[oai(status = 200)]
        Ok(Json<WorkflowList>),
    }
    problems {
        400 => BadRequest: "The body is not JSON, or a parameter could not be read.",
        401 => Unauthorized,
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `getWorkflow`.
    pub enum GetWorkflowResponse {
        /// The workflow with its latest definition.
        #[oai(status = 200)]
        Ok(Json<WorkflowView>),
    }
    problems {
        400 => BadRequest: "The body is not JSON, or a parameter could not be read.",
        401 => Unauthorized,
        404 => NotFound: "No such workflow or run in this tenant.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `createWorkflowVersion`.
    pub enum NewVersionResponse {
        /// The workflow at its new version.
        #[oai(status = 201)]
        Created(Json<WorkflowView>),
    }
    problems {
        400 => BadRequest: "The body is not JSON, or a parameter could not be read.",
        401 => Unauthorized,
        403 => Forbidden: "The key's role is too low for this operation.",
        404 => NotFound: "No such workflow or run in this tenant.",
        413 => PayloadTooLarge,
        422 => Invalid: "A field is invalid; `errors[].path` names each problem.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `disableWorkflow`.
    pub enum DisableWorkflowResponse {
        /// The workflow, disabled.
        #[oai(status = 200)]
        Ok(Json<WorkflowView>),
    }
    problems {
        400 => BadRequest: "The body is not JSON, or a parameter could not be read.",
        401 => Unauthorized,
        403 => Forbidden: "The key's role is too low for this operation.",
        404 => NotFound: "No such workflow or run in this tenant.",
        429 => TooManyRequests,
    }
}
