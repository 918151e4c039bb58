//! `GET /runs/{id}/events`: a run's events as server-sent events, resumable with
//! `Last-Event-ID`.
//!
//! Each event's SSE `id` is its id in `workflow_run_events` (increasing within a run), its SSE
//! `event` its type, its `data` the [`RunEventView`] as JSON. The stream reads the table with a
//! short poll ([`POLL`]) per open stream; each holds a slot of [`crate::streams`] (a key's and a
//! tenant's caps: 429 beyond; the process's: 503), and each lasts at most
//! `STREAM_MAX_LIFETIME_SECS` (then it ends and the client resumes). It ends once the run has
//! settled (finished, with no step still running) and every event has been sent; asked again
//! after that, it answers 204, which tells an `EventSource` to stop reconnecting. It never writes
//! anything.

use std::{collections::VecDeque, time::Duration};

use chrono::{DateTime, Utc};
use futures::{StreamExt, stream::BoxStream};
use jobs::{
    FieldError,
    auth::Role,
    workflows::events::{self, RunEvent},
};
use poem::web::{Data, sse::Event};
use poem_openapi::{
    Object, OpenApi,
    param::{Header, Path},
    payload::{EventStream, Json},
    types::ToJSON,
};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use super::ApiTags;
use crate::{
    api_responses,
    app::AppState,
    auth::Auth,
    problem::{ApiError, Problem, respond},
    streams::{self, Refused, StreamSlot},
};

/// How often an open stream looks for new events.
pub const POLL: Duration = Duration::from_millis(500);

/// One event of a run.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none, rename = "RunEvent")]
pub struct RunEventView {
    /// Its id, also the SSE `id`: increasing within the run; send it back as `Last-Event-ID`
    /// to resume after it.
    pub id: i64,
    /// Its run.
    pub run_id: Uuid,
    /// `run_created`, `step_started`, `step_succeeded`, `step_skipped`, `step_failed`,
    /// `step_cancelled`, `run_retried` or `run_finished` (also the SSE `event`).
    #[oai(rename = "type")]
    pub type_: String,
    /// The step it is about (`step_*` events).
    pub step: Option<String>,
    /// Details: `run_created` `{workflow_id, version, trigger}`; `step_started` `{kind, items}`;
    /// `step_succeeded` `{output}` (or `{output_omitted: true}` over 8 KiB); `step_skipped`
    /// `{reason}`; `step_failed` `{error}`; `step_cancelled` `{}`; `run_retried` `{steps}`;
    /// `run_finished` `{status, failed_step?, error?}`.
    pub data: Value,
    /// When it happened.
    pub at: DateTime<Utc>,
}

impl From<RunEvent> for RunEventView {
    fn from(e: RunEvent) -> Self {
        Self {
            id: e.id,
            run_id: e.run_id,
            type_: e.type_,
            step: e.step,
            data: e.data,
            at: e.at,
        }
    }
}

/// The `/runs/{id}/events` operation.
pub struct RunEventsApi;

#[OpenApi(tag = "ApiTags::Workflows")]
impl RunEventsApi {
    /// Watch a run's events
    ///
    /// Server-sent events, oldest first: each has the event's id as SSE `id` and its type as SSE
    /// `event`. With `Last-Event-ID` (sent by `EventSource` when it reconnects), only later
    /// events come. The stream ends once the run has finished and every event was sent; asked
    /// again then, it answers 204 (an `EventSource` stops reconnecting). Needs the viewer role.
    #[oai(
        path = "/runs/:id/events",
        method = "get",
        operation_id = "streamRunEvents"
    )]
    async fn events(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        id: Path<Uuid>,
        /// Resume after this event id.
        #[oai(name = "Last-Event-ID")]
        last_event_id: Header<Option<String>>,
    ) -> RunEventsResponse {
        respond(open(&state, &auth, id.0, last_event_id.0).await)
    }
}

api_responses! {
    /// Outcomes of `streamRunEvents`.
    pub enum RunEventsResponse {
        /// The event stream.
        #[oai(status = 200)]
        Ok(EventStream<BoxStream<'static, RunEventView>>),
        /// The run has finished and there is no event after `Last-Event-ID`.
        #[oai(status = 204)]
        Finished,
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
        404 => NotFound: "No such run in this tenant.",
        422 => Invalid: "`Last-Event-ID` is not an event id.",
        503 => Unavailable: "Too many event streams are open on this api process; retry shortly.",
    }
}

impl From<Refused> for RunEventsResponse {
    fn from(refused: Refused) -> Self {
        match refused {
            Refused::Process => Self::Unavailable(Json(refused.problem())),
            _ => Self::TooManyRequests(Json(refused.problem()), streams::RETRY_AFTER.as_secs()),
        }
    }
}

/// What an open stream carries from one poll to the next.
struct Cursor {
    pool: PgPool,
    tenant_id: Uuid,
    run_id: Uuid,
    last: i64,
    pending: VecDeque<RunEvent>,
    settled: bool,
    deadline: tokio::time::Instant,
    _slot: StreamSlot,
}

#[tracing::instrument(skip_all, fields(tenant_id, run_id = %run_id))]
async fn open(
    state: &AppState,
    auth: &Auth,
    run_id: Uuid,
    last_event_id: Option<String>,
) -> Result<RunEventsResponse, ApiError> {
    let principal = auth.require(Role::Viewer)?;
    let last = match last_event_id.as_deref().map(str::trim) {
        None | Some("") => 0,
        Some(s) => s.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            FieldError::new(
                "Last-Event-ID",
                "expected an event id (a non-negative integer)",
            )
        })?,
    };
    let slot = match state.streams.open(&principal) {
        Ok(slot) => slot,
        Err(refused) => return Ok(refused.into()),
    };
    let (progress, first) = events::after(
        &state.pool,
        principal.tenant_id,
        run_id,
        last,
        events::MAX_BATCH,
    )
    .await?;
    let settled = progress.is_settled() && (first.len() as i64) < events::MAX_BATCH;
    if settled && first.is_empty() {
        return Ok(RunEventsResponse::Finished);
    }
    let cursor = Cursor {
        pool: state.pool.clone(),
        tenant_id: principal.tenant_id,
        run_id,
        last: first.last().map_or(last, |e| e.id),
        pending: first.into(),
        settled,
        deadline: tokio::time::Instant::now() + state.streams.limits().max_lifetime,
        _slot: slot,
    };
    let stream = futures::stream::unfold(cursor, |mut c| async move {
        loop {
            if let Some(e) = c.pending.pop_front() {
                return Some((RunEventView::from(e), c));
            }
            if c.settled || tokio::time::Instant::now() >= c.deadline {
                return None;
            }
            tokio::time::sleep(POLL).await;
            match events::after(&c.pool, c.tenant_id, c.run_id, c.last, events::MAX_BATCH).await {
                Ok((progress, batch)) => {
                    c.settled = progress.is_settled() && (batch.len() as i64) < events::MAX_BATCH;
                    if let Some(e) = batch.last() {
                        c.last = e.id;
                    }
                    c.pending.extend(batch);
                }
                // The run was deleted with its tenant: nothing more to say.
                Err(jobs::DomainError::NotFound(_)) => return None,
                // A failed read is tried again at the next poll.
                Err(e) => {
                    tracing::warn!(error = %e, run_id = %c.run_id, "could not read run events")
                }
            }
        }
    });
    Ok(RunEventsResponse::Ok(
        EventStream::new(stream.boxed())
            .keep_alive(Duration::from_secs(15))
            .to_event(|e: RunEventView| {
                Event::message(e.to_json_string())
                    .id(e.id.to_string())
                    .event_type(e.type_.clone())
            }),
    ))
}
