//! Runs as their tenant reads them: where a run is ([`RunStatus`]), where each of its steps is
//! ([`StepState`]), what started it ([`Trigger`]), and the queries that read one run or list
//! them. The engine changes runs; this module only reads them.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::Definition;
use crate::{DomainError, paging, queue::JobState};

crate::named_enum! {
    /// Where a run is.
    pub enum RunStatus {
        /// Started; no step job has run yet.
        Queued = "queued",
        /// Steps are running.
        Running = "running",
        /// Every step succeeded or was skipped.
        Succeeded = "succeeded",
        /// A step failed (see `failed_step`).
        Failed = "failed",
        /// Cancelled.
        Cancelled = "cancelled",
    }
}

impl RunStatus {
    /// Whether the run is over: succeeded, failed or cancelled (a failed run may be retried).
    pub const fn is_finished(self) -> bool {
        matches!(
            self,
            RunStatus::Succeeded | RunStatus::Failed | RunStatus::Cancelled
        )
    }
}

crate::named_enum! {
    /// Where a step of a run is.
    pub enum StepState {
        /// Waiting for the steps in its `after`.
        Pending = "pending",
        /// Its jobs are enqueued and not all finished.
        Running = "running",
        /// Every job of it succeeded; its output is set.
        Succeeded = "succeeded",
        /// A job of it is dead or cancelled, or its args could not be made.
        Failed = "failed",
        /// Its `if` was false, or every step it waits for was skipped.
        Skipped = "skipped",
        /// Cancelled with its run before it finished.
        Cancelled = "cancelled",
    }
}

impl StepState {
    /// Whether the step is done: anything but pending or running.
    pub const fn is_done(self) -> bool {
        !matches!(self, StepState::Pending | StepState::Running)
    }

    /// Whether it succeeded or was skipped: the steps waiting for it may go on.
    pub const fn succeeded_or_skipped(self) -> bool {
        matches!(self, StepState::Succeeded | StepState::Skipped)
    }
}

/// One step of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunStep {
    /// The step's name.
    pub name: String,
    /// Where it is.
    pub state: StepState,
    /// Jobs enqueued for it (a for_each's items; 1 otherwise).
    pub items: Option<i32>,
    /// Its jobs by state.
    pub jobs: BTreeMap<String, i64>,
    /// Its output once succeeded.
    pub output: Option<Value>,
    /// Why it failed.
    pub error: Option<String>,
    /// When its jobs were enqueued.
    pub started_at: Option<DateTime<Utc>>,
    /// When it finished.
    pub finished_at: Option<DateTime<Utc>>,
}

/// A run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Run {
    /// Its id.
    pub id: Uuid,
    /// Its workflow.
    pub workflow_id: Uuid,
    /// The version it pinned.
    pub version: i32,
    /// Where it is.
    pub status: RunStatus,
    /// Its input.
    pub input: Value,
    /// How it was triggered: `{"type": "api"}`, `{"type": "schedule", "schedule_id", "fire_at"}`
    /// or `{"type": "webhook", "webhook_id"}`.
    pub trigger: Value,
    /// The step that failed it.
    pub failed_step: Option<String>,
    /// Why.
    pub error: Option<String>,
    /// Steps finished (succeeded, skipped, failed or cancelled), of all steps.
    pub steps_done: i64,
    /// Every step.
    pub steps_total: i64,
    /// Its steps, in definition order (empty in listings).
    pub steps: Vec<RunStep>,
    /// When it was triggered.
    pub created_at: DateTime<Utc>,
    /// When its first step job finished.
    pub started_at: Option<DateTime<Utc>>,
    /// When it finished.
    pub finished_at: Option<DateTime<Utc>>,
}

/// A run's row, with its pinned definition.
pub(super) struct RunRow {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub workflow_id: Uuid,
    pub version: i32,
    pub status: RunStatus,
    pub input: Value,
    pub trigger: Value,
    pub correlation_id: Option<String>,
    pub failed_step: Option<String>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub definition: Value,
}

/// What started a run.
#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    /// `POST /workflows/{id}/runs`.
    Api,
    /// A cron schedule's fire time.
    Schedule {
        /// The schedule.
        schedule_id: Uuid,
        /// The fire time it stands for.
        fire_at: DateTime<Utc>,
    },
    /// A signed request to the workflow's webhook.
    Webhook {
        /// The webhook.
        webhook_id: Uuid,
    },
}

impl Trigger {
    /// As stored on the run and shown in its `trigger` field.
    pub fn to_json(&self) -> Value {
        match self {
            Trigger::Api => serde_json::json!({"type": "api"}),
            Trigger::Schedule {
                schedule_id,
                fire_at,
            } => {
                serde_json::json!({"type": "schedule", "schedule_id": schedule_id, "fire_at": fire_at})
            }
            Trigger::Webhook { webhook_id } => {
                serde_json::json!({"type": "webhook", "webhook_id": webhook_id})
            }
        }
    }
}

/// The run `id` of this tenant on `conn`, its row locked when `lock`.
pub(super) async fn run_row(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    lock: bool,
) -> Result<RunRow, DomainError> {
    let row = if lock {
        sqlx::query_as!(
            RunRow,
            r#"SELECT r.id, r.tenant_id, r.workflow_id, r.version, r.status AS "status: RunStatus",
                      r.input, r.trigger, r.correlation_id,
                      r.failed_step, r.error, r.created_at, r.started_at, r.finished_at, v.definition
               FROM workflow_runs r
               JOIN workflow_versions v ON v.workflow_id = r.workflow_id AND v.version = r.version
               WHERE r.id = $1 AND r.tenant_id = $2
               FOR UPDATE OF r"#,
            id,
            tenant_id
        )
        .fetch_optional(&mut *conn)
        .await?
    } else {
        sqlx::query_as!(
            RunRow,
            r#"SELECT r.id, r.tenant_id, r.workflow_id, r.version, r.status AS "status: RunStatus",
                      r.input, r.trigger, r.correlation_id,
                      r.failed_step, r.error, r.created_at, r.started_at, r.finished_at, v.definition
               FROM workflow_runs r
               JOIN workflow_versions v ON v.workflow_id = r.workflow_id AND v.version = r.version
               WHERE r.id = $1 AND r.tenant_id = $2"#,
            id,
            tenant_id
        )
        .fetch_optional(&mut *conn)
        .await?
    };
    row.ok_or(DomainError::NotFound("run"))
}

struct StepDetail {
    step: String,
    state: StepState,
    items: Option<i32>,
    output: Option<Value>,
    error: Option<String>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
}

/// The run `id` of this tenant on `conn`, with its steps in definition order.
pub(super) async fn get_run_on(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Run, DomainError> {
    let row = run_row(conn, tenant_id, id, false).await?;
    let order: Vec<String> = Definition::parse(&row.definition)
        .map(|d| d.steps.into_iter().map(|s| s.name).collect())
        .unwrap_or_default();
    let mut details = sqlx::query_as!(
        StepDetail,
        r#"SELECT step, state AS "state: StepState", items, output, error, started_at, finished_at
           FROM workflow_run_steps WHERE run_id = $1"#,
        id
    )
    .fetch_all(&mut *conn)
    .await?;
    details.sort_by_key(|d| {
        order
            .iter()
            .position(|n| *n == d.step)
            .unwrap_or(usize::MAX)
    });
    let counts = sqlx::query!(
        r#"SELECT step AS "step!",
                  CASE WHEN state = 'available' AND run_at > now() THEN 'scheduled' ELSE state END
                    AS "state!: JobState",
                  count(*) AS "n!"
           FROM jobs WHERE run_id = $1 GROUP BY 1, 2"#,
        id
    )
    .fetch_all(&mut *conn)
    .await?;
    // A queued run whose first job was claimed is shown running before any step finishes.
    let claimed = counts
        .iter()
        .any(|c| !matches!(c.state, JobState::Available | JobState::Scheduled));
    let mut by_step: HashMap<String, BTreeMap<String, i64>> = HashMap::new();
    for c in counts {
        by_step
            .entry(c.step)
            .or_default()
            .insert(c.state.as_str().to_owned(), c.n);
    }
    let mut run = run_of(row);
    run.steps_total = details.len() as i64;
    run.steps_done = details.iter().filter(|d| d.state.is_done()).count() as i64;
    if run.status == RunStatus::Queued && claimed {
        run.status = RunStatus::Running;
    }
    run.steps = details
        .into_iter()
        .map(|d| RunStep {
            jobs: by_step.remove(&d.step).unwrap_or_default(),
            name: d.step,
            state: d.state,
            items: d.items,
            output: d.output,
            error: d.error,
            started_at: d.started_at,
            finished_at: d.finished_at,
        })
        .collect();
    Ok(run)
}

fn run_of(row: RunRow) -> Run {
    Run {
        id: row.id,
        workflow_id: row.workflow_id,
        version: row.version,
        status: row.status,
        input: row.input,
        trigger: row.trigger,
        failed_step: row.failed_step,
        error: row.error,
        steps_done: 0,
        steps_total: 0,
        steps: vec![],
        created_at: row.created_at,
        started_at: row.started_at,
        finished_at: row.finished_at,
    }
}

/// One run of this tenant, with its steps.
pub async fn get_run(pool: &PgPool, tenant_id: Uuid, id: Uuid) -> Result<Run, DomainError> {
    let mut conn = pool.acquire().await?;
    get_run_on(&mut conn, tenant_id, id).await
}

/// This tenant's runs, newest first, optionally of one workflow and in one status (without
/// their steps; steps done and total are filled).
pub async fn list_runs(
    pool: &PgPool,
    tenant_id: Uuid,
    workflow_id: Option<Uuid>,
    status: Option<RunStatus>,
    limit: i64,
) -> Result<Vec<Run>, DomainError> {
    let rows = sqlx::query!(
        r#"SELECT r.id, r.workflow_id, r.version, r.status AS "status: RunStatus", r.input, r.trigger,
                  r.failed_step, r.error,
                  r.created_at, r.started_at, r.finished_at,
                  (SELECT count(*) FROM workflow_run_steps s WHERE s.run_id = r.id) AS "total!",
                  (SELECT count(*) FROM workflow_run_steps s WHERE s.run_id = r.id
                     AND s.state NOT IN ('pending', 'running')) AS "done!"
           FROM workflow_runs r
           WHERE r.tenant_id = $1 AND ($2::uuid IS NULL OR r.workflow_id = $2)
             AND ($3::text IS NULL OR r.status = $3)
           ORDER BY r.id DESC
           LIMIT $4"#,
        tenant_id,
        workflow_id,
        status.map(RunStatus::as_str),
        paging::clamp_limit(limit)
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Run {
            id: r.id,
            workflow_id: r.workflow_id,
            version: r.version,
            status: r.status,
            input: r.input,
            trigger: r.trigger,
            failed_step: r.failed_step,
            error: r.error,
            steps_done: r.done,
            steps_total: r.total,
            steps: vec![],
            created_at: r.created_at,
            started_at: r.started_at,
            finished_at: r.finished_at,
        })
        .collect())
}
