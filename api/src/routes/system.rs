//! `/queues` and `/workers`: how the queues and the worker fleet are doing.

use std::time::Duration;

use jobs::{
    auth::Role,
    queue::{admin, share},
};
use poem::web::Data;
use poem_openapi::{ApiResponse, OpenApi, payload::Json};

use super::ApiTags;
use crate::{
    app::AppState,
    auth::Auth,
    models::{ConcurrencyKeyStats, QueueList, QueueStats, Worker, WorkerList},
    problem::{ApiError, Problem, respond},
    problem_responses,
};

/// A worker without a heartbeat for this long is not listed.
pub const WORKER_STALE_AFTER: Duration = Duration::from_secs(60);

/// The `/queues` and `/workers` operations.
pub struct SystemApi;

#[OpenApi(tag = "ApiTags::System")]
impl SystemApi {
    /// List queues
    ///
    /// Per job kind, for the caller's tenant: jobs per state, the age of the oldest runnable
    /// job and completions in the last minute. Every known kind is listed, even when empty.
    #[oai(path = "/queues", method = "get", operation_id = "listQueues")]
    async fn queues(&self, auth: Auth, state: Data<&AppState>) -> ListQueuesResponse {
        respond(list_queues(&state, &auth).await)
    }

    /// List workers
    ///
    /// Worker processes that heartbeated in the last minute and have not stopped (the whole
    /// fleet: workers serve every tenant).
    #[oai(path = "/workers", method = "get", operation_id = "listWorkers")]
    async fn workers(&self, auth: Auth, state: Data<&AppState>) -> ListWorkersResponse {
        respond(list_workers(&state, &auth).await)
    }
}

/// Outcomes of `listQueues`.
#[derive(ApiResponse)]
#[oai(bad_request_handler = "crate::problem::from_extractor")]
pub enum ListQueuesResponse {
    /// The queues.
    #[oai(status = 200)]
    Ok(Json<QueueList>),
    /// No API key, or not a live one.
    #[oai(status = 401, content_type = "application/problem+json")]
    Unauthorized(Json<Problem>),
    /// Over the key's request rate, or too many bad keys from this address (see `Retry-After`).
    #[oai(status = 429, content_type = "application/problem+json")]
    TooManyRequests(Json<Problem>),
    /// An unexpected failure (logged, not described).
    #[oai(status = 500, content_type = "application/problem+json")]
    Internal(Json<Problem>),
}
problem_responses!(ListQueuesResponse { 401 => Unauthorized, 429 => TooManyRequests });

/// Outcomes of `listWorkers`.
#[derive(ApiResponse)]
#[oai(bad_request_handler = "crate::problem::from_extractor")]
pub enum ListWorkersResponse {
    /// The live workers.
    #[oai(status = 200)]
    Ok(Json<WorkerList>),
    /// No API key, or not a live one.
    #[oai(status = 401, content_type = "application/problem+json")]
    Unauthorized(Json<Problem>),
    /// Over the key's request rate, or too many bad keys from this address (see `Retry-After`).
    #[oai(status = 429, content_type = "application/problem+json")]
    TooManyRequests(Json<Problem>),
    /// An unexpected failure (logged, not described).
    #[oai(status = 500, content_type = "application/problem+json")]
    Internal(Json<Problem>),
}
problem_responses!(ListWorkersResponse { 401 => Unauthorized, 429 => TooManyRequests });

#[tracing::instrument(skip_all, fields(tenant_id))]
async fn list_queues(state: &AppState, auth: &Auth) -> Result<ListQueuesResponse, ApiError> {
    let principal = auth.require(Role::Viewer)?;
    let queues = admin::queues(&state.pool, principal.tenant_id).await?;
    let keys = share::busiest_keys(&state.pool, principal.tenant_id).await?;
    Ok(ListQueuesResponse::Ok(Json(QueueList {
        items: queues.into_iter().map(QueueStats::from).collect(),
        keys: keys.into_iter().map(ConcurrencyKeyStats::from).collect(),
    })))
}

#[tracing::instrument(skip_all, fields(tenant_id))]
async fn list_workers(state: &AppState, auth: &Auth) -> Result<ListWorkersResponse, ApiError> {
    auth.require(Role::Viewer)?;
    let workers = admin::workers(&state.pool, WORKER_STALE_AFTER).await?;
    Ok(ListWorkersResponse::Ok(Json(WorkerList {
        items: workers.into_iter().map(Worker::from).collect(),
    })))
}
