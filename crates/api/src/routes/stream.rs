//! `/stream`: the tenant's queues and the worker fleet as server-sent events, one snapshot a
//! second (or at `interval_ms`), for the dashboard and anyone who wants to watch live.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::{StreamExt, stream::BoxStream};
use jobs::{auth::Role, queue::admin};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::Query,
    payload::{EventStream, Json},
};

use super::{ApiTags, system::WORKER_STALE_AFTER};
use crate::{
    app::AppState,
    auth::Auth,
    models::{QueueStats, Worker},
    problem::{ApiError, Problem, respond},
    problem_responses,
};

/// One moment of the fleet.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct FleetSnapshot {
    /// When it was taken.
    pub at: DateTime<Utc>,
    /// The tenant's queues, as `GET /queues` shows them.
    pub queues: Vec<QueueStats>,
    /// The live workers, as `GET /workers` shows them.
    pub workers: Vec<Worker>,
}

/// The `/stream` operation.
pub struct StreamApi;

#[OpenApi(tag = "ApiTags::System")]
impl StreamApi {
    /// Watch queues and workers live
    ///
    /// Server-sent events: a `FleetSnapshot` right away, then one every `interval_ms` (250 to
    /// 60000, default 1000) until the client goes away. Needs the viewer role.
    #[oai(path = "/stream", method = "get", operation_id = "streamFleet")]
    async fn stream(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        /// Milliseconds between snapshots.
        interval_ms: Query<Option<u64>>,
    ) -> StreamResponse {
        respond(open(&state, &auth, interval_ms.0))
    }
}

/// Outcomes of `streamFleet`.
#[derive(ApiResponse)]
#[oai(bad_request_handler = "crate::problem::from_extractor")]
pub enum StreamResponse {
    /// The event stream.
    #[oai(status = 200)]
    Ok(EventStream<BoxStream<'static, FleetSnapshot>>),
    /// A parameter could not be read.
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    /// No API key, or not a live one.
    #[oai(status = 401, content_type = "application/problem+json")]
    Unauthorized(Json<Problem>),
    /// `interval_ms` is out of range.
    #[oai(status = 422, content_type = "application/problem+json")]
    Invalid(Json<Problem>),
    /// Over the key's request rate, or too many bad keys from this address (see `Retry-After`).
    #[oai(status = 429, content_type = "application/problem+json")]
    TooManyRequests(Json<Problem>),
    /// An unexpected failure (logged, not described).
    #[oai(status = 500, content_type = "application/problem+json")]
    Internal(Json<Problem>),
}
problem_responses!(StreamResponse {
    400 => BadRequest,
    401 => Unauthorized,
    422 => Invalid,
    429 => TooManyRequests,
});

fn open(
    state: &AppState,
    auth: &Auth,
    interval_ms: Option<u64>,
) -> Result<StreamResponse, ApiError> {
    let principal = auth.require(Role::Viewer)?;
    let interval_ms = interval_ms.unwrap_or(1000);
    if !(250..=60_000).contains(&interval_ms) {
        return Err(jobs::FieldError::new("interval_ms", "expected 250 to 60000").into());
    }
    let pool = state.pool.clone();
    let tenant_id = principal.tenant_id;
    let mut tick = tokio::time::interval(Duration::from_millis(interval_ms));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let snapshots = futures::stream::unfold((pool, tick), move |(pool, mut tick)| async move {
        loop {
            tick.tick().await;
            let taken = async {
                let queues = admin::queues(&pool, tenant_id).await?;
                let workers = admin::workers(&pool, WORKER_STALE_AFTER).await?;
                Ok::<_, jobs::DomainError>(FleetSnapshot {
                    at: Utc::now(),
                    queues: queues.into_iter().map(QueueStats::from).collect(),
                    workers: workers.into_iter().map(Worker::from).collect(),
                })
            }
            .await;
            match taken {
                Ok(snapshot) => return Some((snapshot, (pool, tick))),
                // A failed snapshot is skipped; the next tick tries again.
                Err(e) => tracing::warn!(error = %e, "could not take a fleet snapshot"),
            }
        }
    });
    Ok(StreamResponse::Ok(
        EventStream::new(snapshots.boxed()).keep_alive(Duration::from_secs(15)),
    ))
}
