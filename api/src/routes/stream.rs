//! `/stream`: the tenant's queues and the worker fleet as server-sent events, one snapshot a
//! second (or at `interval_ms`), for the dashboard and anyone who wants to watch live.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::{StreamExt, stream::BoxStream};
use jobs::{auth::Role, queue::admin};
use poem::web::Data;
use poem_openapi::{Object, OpenApi, param::Query, payload::EventStream};

use super::{ApiTags, system::WORKER_STALE_AFTER};
use crate::{
    api_responses,
    app::AppState,
    auth::Auth,
    models::{QueueStats, Worker},
    problem::{ApiError, respond},
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

api_responses! {
    /// Outcomes of `streamFleet`.
    pub enum StreamResponse {
        /// The event stream.
        #[oai(status = 200)]
        Ok(EventStream<BoxStream<'static, FleetSnapshot>>),
    }
    problems {
        400 => BadRequest: "A parameter could not be read.",
        401 => Unauthorized,
        422 => Invalid: "`interval_ms` is out of range.",
        429 => TooManyRequests,
    }
}

#[tracing::instrument(skip_all, fields(tenant_id))]
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
