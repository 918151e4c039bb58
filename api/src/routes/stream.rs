//! `/stream`: the tenant's queues and the worker fleet as server-sent events, one snapshot a
//! second (or at `interval_ms`), for the dashboard and anyone who wants to watch live.
//!
//! A stream holds a slot of [`crate::streams`] (per key, per tenant and per process caps) and
//! ends after `STREAM_MAX_LIFETIME_SECS` (the client reconnects). Its snapshots come from
//! [`FleetSnapshots`]: one read of the tenant's queues (and one of the fleet) at most every
//! [`SNAPSHOT_MAX_AGE`], shared by every stream that wants one, so N open streams do not make N
//! times the queries.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use chrono::{DateTime, Utc};
use futures::{StreamExt, stream::BoxStream};
use jobs::{DomainError, auth::Role, queue::admin};
use moka::future::Cache;
use poem::web::Data;
use poem_openapi::{
    Object, OpenApi,
    param::Query,
    payload::{EventStream, Json},
};
use sqlx::PgPool;
use uuid::Uuid;

use super::{ApiTags, system::WORKER_STALE_AFTER};
use crate::{
    api_responses,
    app::AppState,
    auth::Auth,
    models::{QueueStats, Worker},
    problem::{ApiError, Problem, respond},
    streams::{self, Refused},
};

/// How old a shared snapshot may be: the shortest interval a stream may ask for.
pub const SNAPSHOT_MAX_AGE: Duration = Duration::from_millis(250);

/// Fleet snapshots shared by every `/stream` of the process: per tenant, taken at most once per
/// [`SNAPSHOT_MAX_AGE`] (concurrent asks wait for the one read). Cheap to clone.
#[derive(Clone)]
pub struct FleetSnapshots {
    inner: Arc<SnapshotsInner>,
}

struct SnapshotsInner {
    pool: PgPool,
    tenants: Cache<Uuid, FleetSnapshot>,
    workers: Cache<(), Arc<Vec<Worker>>>,
    reads: AtomicU64,
}

impl std::fmt::Debug for FleetSnapshots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FleetSnapshots")
            .field("reads", &self.reads())
            .finish_non_exhaustive()
    }
}

impl FleetSnapshots {
    /// No snapshot taken yet.
    pub fn new(pool: PgPool) -> Self {
        Self {
            inner: Arc::new(SnapshotsInner {
                pool,
                tenants: Cache::builder()
                    .max_capacity(10_000)
                    .time_to_live(SNAPSHOT_MAX_AGE)
                    .build(),
                workers: Cache::builder()
                    .max_capacity(1)
                    .time_to_live(SNAPSHOT_MAX_AGE)
                    .build(),
                reads: AtomicU64::new(0),
            }),
        }
    }

    /// The tenant's queues and the live workers, at most [`SNAPSHOT_MAX_AGE`] old.
    pub async fn take(&self, tenant_id: Uuid) -> Result<FleetSnapshot, Arc<DomainError>> {
        let inner = &self.inner;
        let taken = inner
            .tenants
            .try_get_with(tenant_id, async {
                let queues = admin::queues(&inner.pool, tenant_id)
                    .await
                    .map_err(Arc::new)?;
                inner.reads.fetch_add(1, Ordering::Relaxed);
                let workers = inner
                    .workers
                    .try_get_with((), async {
                        let workers = admin::workers(&inner.pool, WORKER_STALE_AFTER).await?;
                        inner.reads.fetch_add(1, Ordering::Relaxed);
                        Ok::<_, DomainError>(Arc::new(
                            workers.into_iter().map(Worker::from).collect::<Vec<_>>(),
                        ))
                    })
                    .await?;
                Ok::<_, Arc<DomainError>>(FleetSnapshot {
                    at: Utc::now(),
                    queues: queues.into_iter().map(QueueStats::from).collect(),
                    workers: workers.as_ref().clone(),
                })
            })
            .await;
        taken.map_err(|e| Arc::clone(&*e))
    }

    /// Database reads made so far (a tenant's queues or the fleet's workers count one each).
    pub fn reads(&self) -> u64 {
        self.inner.reads.load(Ordering::Relaxed)
    }
}

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
    /// 60000, default 1000) until the client goes away or the stream reaches its longest life
    /// (`STREAM_MAX_LIFETIME_SECS`, default an hour; reconnect then). A key and its tenant may
    /// hold a limited number of streams open (429 with `Retry-After` beyond). Needs the viewer
    /// role.
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
        /// Over the key's request rate, too many bad keys from this address, or the key or its
        /// tenant holds as many open streams as it may (see `Retry-After`).
        #[oai(status = 429, content_type = "application/problem+json")]
        TooManyRequests(
            Json<Problem>,
            /// Seconds to wait before trying again.
            #[oai(header = "Retry-After")]
            u64,
        ),
    }
    problems {
        400 => BadRequest: "A parameter could not be read.",
        401 => Unauthorized,
        422 => Invalid: "`interval_ms` is out of range.",
        503 => Unavailable: "Too many streams are open on this api process; retry shortly.",
    }
}

impl From<Refused> for StreamResponse {
    fn from(refused: Refused) -> Self {
        match refused {
            Refused::Process => Self::Unavailable(Json(refused.problem())),
            _ => Self::TooManyRequests(Json(refused.problem()), streams::RETRY_AFTER.as_secs()),
        }
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
    let slot = match state.streams.open(&principal) {
        Ok(slot) => slot,
        Err(refused) => return Ok(refused.into()),
    };
    let fleet = state.fleet.clone();
    let tenant_id = principal.tenant_id;
    let deadline = tokio::time::Instant::now() + state.streams.limits().max_lifetime;
    let mut tick = tokio::time::interval(Duration::from_millis(interval_ms));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The slot lives in the stream's state: it is given back when the stream ends or is dropped
    // (the client went away).
    let snapshots = futures::stream::unfold(
        (fleet, tick, slot),
        move |(fleet, mut tick, slot)| async move {
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    () = tokio::time::sleep_until(deadline) => return None,
                }
                match fleet.take(tenant_id).await {
                    Ok(snapshot) => return Some((snapshot, (fleet, tick, slot))),
                    // A failed snapshot is skipped; the next tick tries again.
                    Err(e) => tracing::warn!(error = %e, "could not take a fleet snapshot"),
                }
            }
        },
    );
    Ok(StreamResponse::Ok(
        EventStream::new(snapshots.boxed()).keep_alive(Duration::from_secs(15)),
    ))
}
