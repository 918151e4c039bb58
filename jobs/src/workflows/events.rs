//! Run events: what happened to a run, in order, for `GET /runs/{id}/events`.
//!
//! Events are rows of `workflow_run_events`, inserted by [`record`] in the transactions that
//! change a run's steps and status ([`super::start_run`], [`super::advance`],
//! [`super::cancel_run`], [`super::retry_run`]), always while the run's row is locked (or, for a
//! new run, not yet visible to anyone). So within one run the ids (a `bigserial`) are committed in
//! increasing order, and a reader that resumes after id `N` misses nothing. This module never
//! writes anything on the claim path of jobs: a step counts as started when its jobs are
//! enqueued.
//!
//! Types and their `data`:
//!
//! | type | step | data |
//! |---|---|---|
//! | `run_created` | — | `{workflow_id, version, trigger}` |
//! | `step_started` | yes | `{kind, items}`: the jobs enqueued (a for_each's items; 1 otherwise) |
//! | `step_succeeded` | yes | `{output}` (its output when at most [`MAX_OUTPUT_BYTES`] as JSON, else `{output_omitted: true}`) |
//! | `step_skipped` | yes | `{reason}` |
//! | `step_failed` | yes | `{error}` |
//! | `step_cancelled` | yes | `{}` |
//! | `run_retried` | — | `{steps}`: the failed steps that run again |
//! | `run_finished` | — | `{status, failed_step?, error?}` |

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::RunStatus;
use crate::DomainError;

/// Largest step output carried in a `step_succeeded` event, as JSON; larger ones are read with
/// `GET /runs/{id}`.
pub const MAX_OUTPUT_BYTES: usize = 8 * 1024;
/// Most events returned by one [`after`] call.
pub const MAX_BATCH: i64 = 500;

/// The event types, as stored and sent.
pub mod types {
    /// A run was created (by the api, a schedule or a webhook).
    pub const RUN_CREATED: &str = "run_created";
    /// A step's jobs were enqueued.
    pub const STEP_STARTED: &str = "step_started";
    /// Every job of a step succeeded.
    pub const STEP_SUCCEEDED: &str = "step_succeeded";
    /// A step was skipped (its `if` was false, or everything it waits for was skipped).
    pub const STEP_SKIPPED: &str = "step_skipped";
    /// A job of a step is dead or cancelled, or its args could not be made.
    pub const STEP_FAILED: &str = "step_failed";
    /// A step was cancelled with its run.
    pub const STEP_CANCELLED: &str = "step_cancelled";
    /// A failed run was retried.
    pub const RUN_RETRIED: &str = "run_retried";
    /// A run succeeded, failed or was cancelled.
    pub const RUN_FINISHED: &str = "run_finished";
    /// Every type.
    pub const ALL: [&str; 8] = [
        RUN_CREATED,
        STEP_STARTED,
        STEP_SUCCEEDED,
        STEP_SKIPPED,
        STEP_FAILED,
        STEP_CANCELLED,
        RUN_RETRIED,
        RUN_FINISHED,
    ];
}

/// One event of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunEvent {
    /// Its id: increasing within a run; the SSE id.
    pub id: i64,
    /// Its run.
    pub run_id: Uuid,
    /// One of [`types::ALL`].
    #[serde(rename = "type")]
    pub type_: String,
    /// The step it is about, if any.
    pub step: Option<String>,
    /// Its details (see the module docs).
    pub data: Value,
    /// When it happened.
    pub at: DateTime<Utc>,
}

/// Records an event of `run_id` on `conn`, which must hold the run's row lock (or have
/// created the run).
pub(crate) async fn record(
    conn: &mut PgConnection,
    run_id: Uuid,
    type_: &str,
    step: Option<&str>,
    data: Value,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO workflow_run_events (run_id, type, step, data) VALUES ($1, $2, $3, $4)",
        run_id,
        type_,
        step,
        data
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The data of a `step_succeeded` event: the output, unless it is large.
pub(crate) fn succeeded_data(output: Option<&Value>) -> Value {
    let output = output.cloned().unwrap_or(Value::Null);
    let small = serde_json::to_vec(&output).is_ok_and(|b| b.len() <= MAX_OUTPUT_BYTES);
    if small {
        json!({ "output": output })
    } else {
        json!({ "output_omitted": true })
    }
}

/// Where a run is, as a reader of its events needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// The run's status.
    pub status: RunStatus,
    /// Whether a step of it is still running (a failed run's other steps finish on their own).
    pub steps_running: bool,
}

impl Progress {
    /// Nothing more will happen to the run unless someone retries it.
    pub fn is_settled(self) -> bool {
        self.status.is_finished() && !self.steps_running
    }
}

/// The run's progress, then its events after `after` (at most `limit`, oldest first). The
/// progress is read first: when it says settled, the events read after it include every event
/// the run will have (they commit with the status change). A run of another tenant is not found.
pub async fn after(
    pool: &PgPool,
    tenant_id: Uuid,
    run_id: Uuid,
    after: i64,
    limit: i64,
) -> Result<(Progress, Vec<RunEvent>), DomainError> {
    let row = sqlx::query!(
        r#"SELECT r.status AS "status: RunStatus",
                  EXISTS (SELECT 1 FROM workflow_run_steps s
                          WHERE s.run_id = r.id AND s.state = 'running') AS "steps_running!"
           FROM workflow_runs r WHERE r.id = $1 AND r.tenant_id = $2"#,
        run_id,
        tenant_id
    )
    .fetch_optional(pool)
    .await?
    .ok_or(DomainError::NotFound("run"))?;
    let progress = Progress {
        status: row.status,
        steps_running: row.steps_running,
    };
    let events = sqlx::query_as!(
        RunEvent,
        r#"SELECT id, run_id, type AS type_, step, data, at FROM workflow_run_events
           WHERE run_id = $1 AND id > $2
           ORDER BY id
           LIMIT $3"#,
        run_id,
        after,
        limit.clamp(1, MAX_BATCH)
    )
    .fetch_all(pool)
    .await?;
    Ok((progress, events))
}
