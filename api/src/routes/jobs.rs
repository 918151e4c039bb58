//! `/jobs`: enqueue (one or a batch), read, list, cancel, retry and delete a tenant's jobs.
//!
//! Every job belongs to the caller's tenant; another tenant's job answers 404 exactly like a
//! missing one (the domain queries filter by tenant). Changes run in one transaction each;
//! workers are woken only after the commit.

use jobs::{
    FieldError,
    auth::{Principal, Role},
    paging,
    queue::{self, Enqueued, NewJob, admin},
    text,
};
use poem::web::Data;
use poem_openapi::{
    OpenApi,
    param::{Path, Query},
    payload::Json,
};
use serde_json::Value;
use uuid::Uuid;

use super::{
    ApiTags, MAX_CORRELATION_ID,
    common::{optional, parse_cursor},
};
use crate::{
    API_PREFIX, api_responses,
    app::AppState,
    auth::{Auth, Origin},
    models::{Job, JobList, JobPage, JsonAs, NewJobBatchSchema, NewJobSchema, StateParam},
    problem::{ApiError, respond},
};

/// The `/jobs` operations.
pub struct JobsApi;

#[OpenApi(tag = "ApiTags::Jobs")]
impl JobsApi {
    /// Enqueue a job
    ///
    /// Validates the job against its kind and enqueues it. The request's `X-Request-Id` becomes
    /// the job's `correlation_id`. With an `idempotency_key` this tenant used before, nothing is
    /// enqueued and the existing job is returned with 200; likewise with a `singleton_key` whose
    /// job is still queued or running, and with a `debounce` key whose job has not started (it
    /// now has these args and starts at the end of the new window). Needs the operator role.
    #[oai(path = "/jobs", method = "post", operation_id = "createJob")]
    async fn create(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        origin: Origin,
        /// The job: `kind` selects the schema of `args`.
        body: Json<JsonAs<NewJobSchema>>,
    ) -> CreateJobResponse {
        respond(create_job(&state, &auth, &origin, body.0.value).await)
    }

    /// Enqueue jobs in a batch
    ///
    /// Up to 1000 jobs, all or nothing: one invalid job fails the batch with a 422 naming its
    /// path (`jobs[3].args.url`). Answers 201 when at least one job was created, 200 when every
    /// job was a replay of an idempotency key. Needs the operator role.
    #[oai(path = "/jobs/batch", method = "post", operation_id = "createJobBatch")]
    async fn create_batch(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        origin: Origin,
        /// The jobs, all or nothing.
        body: Json<JsonAs<NewJobBatchSchema>>,
    ) -> CreateBatchResponse {
        respond(create_batch(&state, &auth, &origin, body.0.value).await)
    }

    /// Get a job
    #[oai(path = "/jobs/:id", method = "get", operation_id = "getJob")]
    async fn get(&self, auth: Auth, state: Data<&AppState>, id: Path<Uuid>) -> GetJobResponse {
        respond(get_job(&state, &auth, id.0).await)
    }

    /// List jobs
    ///
    /// The tenant's jobs, newest first, a page at a time: pass `next_cursor` as `cursor` for the
    /// next page. An unknown `state`, a `limit` outside 1 to 500 or a malformed `cursor` is a
    /// 422 naming the parameter.
    #[oai(path = "/jobs", method = "get", operation_id = "listJobs")]
    async fn list(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        /// Only jobs in this state.
        #[oai(name = "state")]
        job_state: Query<Option<StateParam>>,
        /// Only jobs of this kind.
        kind: Query<Option<String>>,
        /// Page size, 1 to 500 (default 50).
        limit: Query<Option<i64>>,
        /// The previous page's `next_cursor`.
        cursor: Query<Option<String>>,
    ) -> ListJobsResponse {
        let params = ListParams {
            state: job_state.0.map(|s| s.0),
            kind: kind.0,
            limit: limit.0,
            cursor: cursor.0,
        };
        respond(list_jobs(&state, &auth, params).await)
    }

    /// Cancel a job
    ///
    /// A queued job is cancelled at once; a running one is told to stop (`cancel_requested`
    /// becomes true and its worker records `cancelled`). A finished job answers 409. Needs the
    /// operator role.
    #[oai(path = "/jobs/:id/cancel", method = "post", operation_id = "cancelJob")]
    async fn cancel(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        id: Path<Uuid>,
        origin: Origin,
    ) -> ChangeJobResponse {
        respond(change_job(&state, &auth, &origin, id.0, Change::Cancel).await)
    }

    /// Retry a job
    ///
    /// Puts a dead or cancelled job back in the queue with its attempts reset (its error history
    /// is kept). Any other state answers 409. Needs the operator role.
    #[oai(path = "/jobs/:id/retry", method = "post", operation_id = "retryJob")]
    async fn retry(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        id: Path<Uuid>,
        origin: Origin,
    ) -> ChangeJobResponse {
        respond(change_job(&state, &auth, &origin, id.0, Change::Retry).await)
    }

    /// Delete a job
    ///
    /// Deletes a finished job (succeeded, dead or cancelled); any other state answers 409.
    /// Needs the operator role.
    #[oai(path = "/jobs/:id", method = "delete", operation_id = "deleteJob")]
    async fn delete(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        id: Path<Uuid>,
        origin: Origin,
    ) -> DeleteJobResponse {
        respond(delete_job(&state, &auth, &origin, id.0).await)
    }
}

api_responses! {
    /// Outcomes of `createJob`.
    pub enum CreateJobResponse {
        /// The job was enqueued.
        #[oai(status = 201)]
        Created(
            Json<Job>,
            /// Where the job can be read.
            #[oai(header = "Location")]
            String,
        ),
        /// The idempotency key was used before by this tenant: the existing job, unchanged.
        #[oai(status = 200)]
        Replayed(Json<Job>),
    }
    problems {
        400 => BadRequest: "The body is not JSON.",
        401 => Unauthorized,
        403 => Forbidden: "The key is not an operator's.",
        409 => Conflict: "A concurrent request is enqueueing with the same idempotency key.",
        413 => PayloadTooLarge,
        422 => Invalid: "A field is invalid; `errors[].path` names it.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `createJobBatch`.
    pub enum CreateBatchResponse {
        /// At least one job was enqueued; every job, in the order of the request.
        #[oai(status = 201)]
        Created(Json<JobList>),
        /// Every job replayed an idempotency key: the existing jobs.
        #[oai(status = 200)]
        Replayed(Json<JobList>),
    }
    problems {
        400 => BadRequest: "The body is not JSON.",
        401 => Unauthorized,
        403 => Forbidden: "The key is not an operator's.",
        409 => Conflict: "A concurrent request is enqueueing with one of the same idempotency keys.",
        413 => PayloadTooLarge,
        422 => Invalid: "A job is invalid; `errors[].path` names it (`jobs[3].args.url`).",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `getJob`.
    // Built once per request and returned at once: boxing the job would buy nothing.
    #[allow(clippy::large_enum_variant)]
    pub enum GetJobResponse {
        /// The job.
        #[oai(status = 200)]
        Ok(Json<Job>),
    }
    problems {
        400 => BadRequest: "The id is not a UUID.",
        401 => Unauthorized,
        404 => NotFound: "No such job in this tenant.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `listJobs`.
    pub enum ListJobsResponse {
        /// A page of jobs.
        #[oai(status = 200)]
        Ok(Json<JobPage>),
    }
    problems {
        400 => BadRequest: "A parameter could not be read (`limit` is not a number).",
        401 => Unauthorized,
        422 => Invalid: "A parameter is invalid; `errors[].path` names it.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `cancelJob` and `retryJob`.
    // Built once per request and returned at once: boxing the job would buy nothing.
    #[allow(clippy::large_enum_variant)]
    pub enum ChangeJobResponse {
        /// The job, as it is after the change.
        #[oai(status = 200)]
        Ok(Json<Job>),
    }
    problems {
        400 => BadRequest: "The id is not a UUID.",
        401 => Unauthorized,
        403 => Forbidden: "The key is not an operator's.",
        404 => NotFound: "No such job in this tenant.",
        409 => Conflict: "The job's state does not allow this.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `deleteJob`.
    pub enum DeleteJobResponse {
        /// The job is gone.
        #[oai(status = 204)]
        Deleted,
    }
    problems {
        400 => BadRequest: "The id is not a UUID.",
        401 => Unauthorized,
        403 => Forbidden: "The key is not an operator's.",
        404 => NotFound: "No such job in this tenant.",
        409 => Conflict: "The job has not finished.",
        429 => TooManyRequests,
    }
}

/// Inserts `jobs` in one transaction, with its audit entry, and wakes their workers after the
/// commit.
async fn enqueue_all(
    state: &AppState,
    principal: &Principal,
    origin: &Origin,
    jobs: &[NewJob],
) -> Result<Vec<Enqueued>, ApiError> {
    let correlation_id: String = origin.request_id.chars().take(MAX_CORRELATION_ID).collect();
    let mut tx = state.pool.begin().await?;
    let enqueued = admin::enqueue(
        &mut tx,
        principal.tenant_id,
        &origin.actor(principal),
        Some(&correlation_id),
        jobs,
    )
    .await?;
    tx.commit().await?;
    if enqueued.iter().any(|e| e.created) {
        state.notifier.wake(jobs);
    }
    for e in enqueued.iter().filter(|e| e.created) {
        metrics::counter!(crate::metrics::ENQUEUED_TOTAL, "kind" => e.job.kind.clone())
            .increment(1);
    }
    Ok(enqueued)
}

/// Refuses a body holding a NUL (`\u0000`) anywhere, naming the first one's path: Postgres
/// cannot store it, and args are the caller's own input, so it is a 422 rather than a change.
fn refuse_nul(body: &Value) -> Result<(), ApiError> {
    match text::find_nul(body) {
        None => Ok(()),
        Some(path) => Err(ApiError::Invalid(FieldError::new(
            path,
            "holds a NUL character (\\u0000), which cannot be stored",
        ))),
    }
}

#[tracing::instrument(skip_all, fields(tenant_id, job_id, kind))]
async fn create_job(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    body: Value,
) -> Result<CreateJobResponse, ApiError> {
    let principal = auth.require(Role::Operator)?;
    let span = tracing::Span::current();
    refuse_nul(&body)?;
    let job = NewJob::parse(body)?;
    job.priority_at_most(state.ceilings.max_priority)?;
    span.record("kind", job.kind());
    let enqueued = enqueue_all(state, &principal, origin, std::slice::from_ref(&job))
        .await?
        .pop()
        .ok_or(ApiError::Internal)?;
    span.record("job_id", tracing::field::display(enqueued.job.id));
    let job = Job::from(enqueued.job);
    Ok(if enqueued.created {
        let location = format!("{API_PREFIX}/jobs/{}", job.id);
        CreateJobResponse::Created(Json(job), location)
    } else {
        CreateJobResponse::Replayed(Json(job))
    })
}

#[tracing::instrument(skip_all, fields(tenant_id, jobs))]
async fn create_batch(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    body: Value,
) -> Result<CreateBatchResponse, ApiError> {
    let principal = auth.require(Role::Operator)?;
    let span = tracing::Span::current();
    refuse_nul(&body)?;
    let jobs = NewJob::parse_batch(body)?;
    for (i, job) in jobs.iter().enumerate() {
        job.priority_at_most(state.ceilings.max_priority)
            .map_err(|e| e.under(&format!("jobs[{i}]")))?;
    }
    span.record("jobs", jobs.len());
    let enqueued = enqueue_all(state, &principal, origin, &jobs).await?;
    let any_created = enqueued.iter().any(|e| e.created);
    let list = JobList {
        items: enqueued.into_iter().map(|e| Job::from(e.job)).collect(),
    };
    Ok(if any_created {
        CreateBatchResponse::Created(Json(list))
    } else {
        CreateBatchResponse::Replayed(Json(list))
    })
}

#[tracing::instrument(skip_all, fields(tenant_id, job_id = %id))]
async fn get_job(state: &AppState, auth: &Auth, id: Uuid) -> Result<GetJobResponse, ApiError> {
    let principal = auth.require(Role::Viewer)?;
    let job = admin::get(&state.pool, principal.tenant_id, id).await?;
    Ok(GetJobResponse::Ok(Json(job.into())))
}

/// The raw query of `listJobs`.
#[derive(Debug, Default)]
struct ListParams {
    state: Option<String>,
    kind: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

impl ListParams {
    /// Checks the parameters, naming the first bad one.
    fn filter(self) -> Result<admin::ListFilter, jobs::FieldError> {
        let state = optional(self.state, |s| queue::JobState::parse_field("state", s))?;
        let limit = paging::check_limit(self.limit.unwrap_or(paging::DEFAULT_PAGE))?;
        let before = parse_cursor(self.cursor)?;
        Ok(admin::ListFilter {
            state,
            kind: self.kind.filter(|k| !k.is_empty()),
            before,
            limit,
        })
    }
}

#[tracing::instrument(skip_all, fields(tenant_id))]
async fn list_jobs(
    state: &AppState,
    auth: &Auth,
    params: ListParams,
) -> Result<ListJobsResponse, ApiError> {
    let principal = auth.require(Role::Viewer)?;
    let filter = params.filter()?;
    let page = admin::list(&state.pool, principal.tenant_id, &filter).await?;
    Ok(ListJobsResponse::Ok(Json(JobPage {
        items: page.items.into_iter().map(Job::from).collect(),
        next_cursor: page.next_cursor,
    })))
}

/// A change to one job.
#[derive(Debug, Clone, Copy)]
enum Change {
    Cancel,
    Retry,
}

#[tracing::instrument(skip_all, fields(tenant_id, job_id = %id, change = ?change))]
async fn change_job(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    id: Uuid,
    change: Change,
) -> Result<ChangeJobResponse, ApiError> {
    let principal = auth.require(Role::Operator)?;
    let actor = origin.actor(&principal);
    let mut tx = state.pool.begin().await?;
    let changed = match change {
        Change::Cancel => {
            let hook = state.completion_hook.as_ref();
            admin::cancel(&mut tx, principal.tenant_id, &actor, id, hook).await?
        }
        Change::Retry => admin::retry(&mut tx, principal.tenant_id, &actor, id).await?,
    };
    let job = changed.after;
    // A cancel's NOTIFY to the running job's worker is delivered here, at commit.
    tx.commit().await?;
    if let Change::Retry = change
        && let Some(kind) = jobs::kinds::find(&job.kind)
    {
        state.notifier.wake_kind(kind.name);
    }
    Ok(ChangeJobResponse::Ok(Json(job.into())))
}

#[tracing::instrument(skip_all, fields(tenant_id, job_id = %id))]
async fn delete_job(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    id: Uuid,
) -> Result<DeleteJobResponse, ApiError> {
    let principal = auth.require(Role::Operator)?;
    let mut tx = state.pool.begin().await?;
    admin::delete(&mut tx, principal.tenant_id, &origin.actor(&principal), id).await?;
    tx.commit().await?;
    Ok(DeleteJobResponse::Deleted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(params: ListParams) -> String {
        params.filter().unwrap_err().path
    }

    #[test]
    fn list_parameters_are_checked_and_named() {
        let ok = ListParams::default().filter().unwrap();
        assert_eq!(
            (ok.limit, ok.state, ok.before),
            (paging::DEFAULT_PAGE, None, None)
        );
        let ok = ListParams {
            state: Some("scheduled".into()),
            ..Default::default()
        }
        .filter()
        .unwrap();
        assert_eq!(ok.state, Some(queue::JobState::Scheduled));
        let bad_state = ListParams {
            state: Some("sleeping".into()),
            ..Default::default()
        };
        assert_eq!(field_of(bad_state), "state");
        for limit in [0, 501, -1] {
            let bad = ListParams {
                limit: Some(limit),
                ..Default::default()
            };
            assert_eq!(field_of(bad), "limit");
        }
        let bad_cursor = ListParams {
            cursor: Some("nope".into()),
            ..Default::default()
        };
        assert_eq!(field_of(bad_cursor), "cursor");
    }
}
