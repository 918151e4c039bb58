//! Workflows: versioned DAGs of job steps, and their runs.
//!
//! - [`Definition`]: a workflow's steps, parsed and checked as a whole (every problem named by
//!   its path); [`expr`] holds its two tiny languages, `{{ ... }}` templates and `if` conditions.
//! - [`create`], [`new_version`], [`disable`], [`get`], [`list`]: definitions are immutable
//!   versions; a run pins the version it started with.
//! - [`start_run`]: the run row, its step rows and its root steps' jobs, in the caller's
//!   transaction.
//! - [`advance`]: called by the queue's completer inside the transaction that records a step
//!   job's outcome: finished steps are recorded, ready successors are enqueued (respecting
//!   `after`, `if` and `for_each`, with fan-in after a fan-out), and the run's status is set. A
//!   crash between "step done" and "successors enqueued" is impossible by construction.
//! - [`cancel_run`], [`retry_run`], [`get_run`], [`list_runs`].
//! - [`events`]: what happened to each run, in order, written in the same transactions.
//! - [`schedules`] (cron triggers, fired by the workers' scheduler exactly once per tick) and
//!   [`webhooks`] (a per-workflow URL whose HMAC-signed requests start runs).
//!
//! Semantics: a step runs once every step in its `after` has succeeded or was skipped; it is
//! skipped when its `if` is false, or when every step it waits for was skipped. A skipped step's
//! output reads as `null`. A `for_each` step enqueues one job per item (`{{ item }}`), and its
//! output is the list of the items' results, in item order, once all have succeeded. A step
//! fails when one of its jobs is dead or cancelled; the run then fails naming the step, and no
//! new step starts (steps already running finish). Retrying a run re-runs only its failed steps.
//!
//! A step job finished outside the completer — cancelled through `/jobs` while queued, or
//! dead-lettered by lease rescue — advances its run in that same transaction too
//! (`queue::admin::advance_runs`). Retrying a single step job through `/jobs` is refused: the
//! run's retry re-runs its failed steps.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{DomainError, FieldError, queue::CANCEL_CHANNEL};

mod definition;
pub mod events;
pub mod expr;
pub mod schedules;
pub mod webhooks;

pub use definition::{Definition, MAX_STEPS, Step};
use expr::Scope;

/// Most items a `for_each` step may fan out to.
pub const MAX_ITEMS: usize = 10_000;
/// Longest workflow name.
pub const MAX_WORKFLOW_NAME: usize = 100;
/// Most rows in one listing.
pub const MAX_PAGE: i64 = 500;

/// A workflow: its name and latest definition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Workflow {
    /// Its id.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// The newest version; new runs pin it.
    pub version: i32,
    /// The newest version's definition.
    pub definition: Value,
    /// When it was disabled (it starts no new run).
    pub disabled_at: Option<DateTime<Utc>>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When its latest version or state changed.
    pub updated_at: DateTime<Utc>,
}

/// A checked workflow name.
pub fn parse_name(name: &str) -> Result<String, FieldError> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_WORKFLOW_NAME
        || name.chars().any(char::is_control)
    {
        return Err(FieldError::new(
            "name",
            format!("expected 1 to {MAX_WORKFLOW_NAME} printable characters"),
        ));
    }
    Ok(name.to_owned())
}

/// Parses a create (`{name, definition}`) or new-version (`{definition}`) body, naming every
/// problem's path (`definition.steps[2].after[0]`).
pub fn parse_body(
    body: &Value,
    with_name: bool,
) -> Result<(Option<String>, Value), Vec<FieldError>> {
    let Value::Object(map) = body else {
        return Err(vec![FieldError::new("", "expected a JSON object")]);
    };
    let mut errors = vec![];
    let allowed: &[&str] = if with_name {
        &["name", "definition"]
    } else {
        &["definition"]
    };
    for k in map.keys().filter(|k| !allowed.contains(&k.as_str())) {
        errors.push(FieldError::new(
            k.as_str(),
            format!("unknown field; expected {}", allowed.join(", ")),
        ));
    }
    let name = if with_name {
        match map.get("name") {
            Some(Value::String(n)) => match parse_name(n) {
                Ok(n) => Some(n),
                Err(e) => {
                    errors.push(e);
                    None
                }
            },
            _ => {
                errors.push(FieldError::new("name", "required: a string"));
                None
            }
        }
    } else {
        None
    };
    match map.get("definition") {
        None => errors.push(FieldError::new("definition", "required: {steps: [...]}")),
        Some(d) => {
            if let Err(e) = Definition::parse(d) {
                errors.extend(e.into_iter().map(|e| e.under("definition")));
            }
        }
    }
    if errors.is_empty() {
        Ok((name, map.get("definition").cloned().unwrap_or_default()))
    } else {
        Err(errors)
    }
}

/// Parses a trigger body (`{input?: {...}}`) into the run's input.
pub fn parse_trigger(body: &Value) -> Result<Value, FieldError> {
    let Value::Object(map) = body else {
        return Err(FieldError::new("", "expected a JSON object"));
    };
    if let Some(k) = map.keys().find(|k| *k != "input") {
        return Err(FieldError::new(
            k.as_str(),
            "unknown field; expected `input`",
        ));
    }
    match map.get("input") {
        None | Some(Value::Null) => Ok(Value::Object(Default::default())),
        Some(v @ Value::Object(_)) => Ok(v.clone()),
        Some(_) => Err(FieldError::new("input", "expected a JSON object")),
    }
}

async fn get_on(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    lock: bool,
) -> Result<Workflow, DomainError> {
    let row = if lock {
        sqlx::query_as!(
            Workflow,
            r#"SELECT w.id, w.name, w.latest_version AS version, v.definition, w.disabled_at,
                      w.created_at, w.updated_at
               FROM workflows w JOIN workflow_versions v ON v.workflow_id = w.id AND v.version = w.latest_version
               WHERE w.id = $1 AND w.tenant_id = $2
               FOR UPDATE OF w"#,
            id,
            tenant_id
        )
        .fetch_optional(&mut *conn)
        .await?
    } else {
        sqlx::query_as!(
            Workflow,
            r#"SELECT w.id, w.name, w.latest_version AS version, v.definition, w.disabled_at,
                      w.created_at, w.updated_at
               FROM workflows w JOIN workflow_versions v ON v.workflow_id = w.id AND v.version = w.latest_version
               WHERE w.id = $1 AND w.tenant_id = $2"#,
            id,
            tenant_id
        )
        .fetch_optional(&mut *conn)
        .await?
    };
    row.ok_or(DomainError::NotFound("workflow"))
}

/// Creates a workflow at version 1. `definition` must have passed [`Definition::parse`].
pub async fn create(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    name: &str,
    definition: &Value,
) -> Result<Workflow, DomainError> {
    let id = Uuid::now_v7();
    sqlx::query!(
        "INSERT INTO workflows (id, tenant_id, name) VALUES ($1, $2, $3)",
        id,
        tenant_id,
        name
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO workflow_versions (workflow_id, version, definition) VALUES ($1, 1, $2)",
        id,
        definition
    )
    .execute(&mut *conn)
    .await?;
    get_on(conn, tenant_id, id, false).await
}

/// A change to a workflow: as it was and as it is.
#[derive(Debug, Clone)]
pub struct Changed<T> {
    /// Before.
    pub before: T,
    /// After.
    pub after: T,
}

/// Adds a version; runs in flight keep the version they pinned.
pub async fn new_version(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    definition: &Value,
) -> Result<Changed<Workflow>, DomainError> {
    let before = get_on(conn, tenant_id, id, true).await?;
    let version = before.version + 1;
    sqlx::query!(
        "INSERT INTO workflow_versions (workflow_id, version, definition) VALUES ($1, $2, $3)",
        id,
        version,
        definition
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE workflows SET latest_version = $2, updated_at = now() WHERE id = $1",
        id,
        version
    )
    .execute(&mut *conn)
    .await?;
    let after = get_on(conn, tenant_id, id, false).await?;
    Ok(Changed { before, after })
}

/// Disables a workflow: it keeps its history and its runs in flight, and starts no new run.
pub async fn disable(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Changed<Workflow>, DomainError> {
    let before = get_on(conn, tenant_id, id, true).await?;
    sqlx::query!(
        "UPDATE workflows SET disabled_at = coalesce(disabled_at, now()), updated_at = now() WHERE id = $1",
        id
    )
    .execute(&mut *conn)
    .await?;
    let after = get_on(conn, tenant_id, id, false).await?;
    Ok(Changed { before, after })
}

/// One workflow of this tenant.
pub async fn get(pool: &PgPool, tenant_id: Uuid, id: Uuid) -> Result<Workflow, DomainError> {
    let mut conn = pool.acquire().await?;
    get_on(&mut conn, tenant_id, id, false).await
}

/// This tenant's workflows, newest first (disabled ones only when asked).
pub async fn list(
    pool: &PgPool,
    tenant_id: Uuid,
    include_disabled: bool,
) -> Result<Vec<Workflow>, DomainError> {
    Ok(sqlx::query_as!(
        Workflow,
        r#"SELECT w.id, w.name, w.latest_version AS version, v.definition, w.disabled_at,
                  w.created_at, w.updated_at
           FROM workflows w JOIN workflow_versions v ON v.workflow_id = w.id AND v.version = w.latest_version
           WHERE w.tenant_id = $1 AND ($2 OR w.disabled_at IS NULL)
           ORDER BY w.id DESC
           LIMIT $3"#,
        tenant_id,
        include_disabled,
        MAX_PAGE
    )
    .fetch_all(pool)
    .await?)
}

// ---------------------------------------------------------------------------------------------
// Runs

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Started; no step job has run yet.
    Queued,
    /// Steps are running.
    Running,
    /// Every step succeeded or was skipped.
    Succeeded,
    /// A step failed (see `failed_step`).
    Failed,
    /// Cancelled.
    Cancelled,
}

impl RunStatus {
    /// Every status.
    pub const ALL: [RunStatus; 5] = [
        RunStatus::Queued,
        RunStatus::Running,
        RunStatus::Succeeded,
        RunStatus::Failed,
        RunStatus::Cancelled,
    ];

    /// Its name.
    pub const fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Cancelled => "cancelled",
        }
    }

    /// Parses a status name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// One step of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunStep {
    /// The step's name.
    pub name: String,
    /// `pending`, `running`, `succeeded`, `failed`, `skipped` or `cancelled`.
    pub state: String,
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

struct RunRow {
    id: Uuid,
    tenant_id: Uuid,
    workflow_id: Uuid,
    version: i32,
    status: String,
    input: Value,
    trigger: Value,
    correlation_id: Option<String>,
    failed_step: Option<String>,
    error: Option<String>,
    created_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
    definition: Value,
}

struct StepRow {
    step: String,
    state: String,
    items: Option<i32>,
    output: Option<Value>,
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

/// Starts a run of the workflow's latest version with `input`: the run row, its step rows, its
/// `run_created` event and its root steps' jobs, on `conn` (the caller's transaction). Returns
/// the run and the kinds of the jobs enqueued (wake their workers after the commit).
pub async fn start_run(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    workflow_id: Uuid,
    input: Value,
    correlation_id: Option<&str>,
    trigger: &Trigger,
) -> Result<(Run, Vec<String>), DomainError> {
    if !input.is_object() {
        return Err(FieldError::new("input", "expected a JSON object").into());
    }
    // FOR UPDATE: a concurrent new version or disable waits for this run to pin its version.
    let workflow = get_on(conn, tenant_id, workflow_id, true).await?;
    if workflow.disabled_at.is_some() {
        return Err(DomainError::Conflict(
            "the workflow is disabled; it starts no new run".into(),
        ));
    }
    let definition = Definition::parse(&workflow.definition).map_err(|mut e| e.remove(0))?;
    let id = Uuid::now_v7();
    let trigger = trigger.to_json();
    sqlx::query!(
        r#"INSERT INTO workflow_runs (id, tenant_id, workflow_id, version, input, correlation_id, trigger)
           VALUES ($1, $2, $3, $4, $5, $6, $7)"#,
        id,
        tenant_id,
        workflow_id,
        workflow.version,
        input,
        correlation_id,
        trigger
    )
    .execute(&mut *conn)
    .await?;
    events::record(
        conn,
        id,
        events::types::RUN_CREATED,
        None,
        serde_json::json!({"workflow_id": workflow_id, "version": workflow.version, "trigger": trigger}),
    )
    .await?;
    let names: Vec<String> = definition.steps.iter().map(|s| s.name.clone()).collect();
    sqlx::query!(
        "INSERT INTO workflow_run_steps (run_id, step) SELECT $1, s FROM unnest($2::text[]) AS s",
        id,
        &names
    )
    .execute(&mut *conn)
    .await?;
    let kinds = advance(conn, &[id]).await?;
    let run = get_run_on(conn, tenant_id, id).await?;
    Ok((run, kinds))
}

/// Advances the runs `run_ids` after outcomes of their jobs were written on `conn` (the
/// completer's transaction): records finished steps, enqueues the successors that are ready,
/// marks skipped steps and sets each run's status. Returns the kinds of the jobs enqueued.
///
/// Each run is locked (in id order, so concurrent completers cannot deadlock on them), so two
/// workers finishing the two branches of a diamond at once enqueue the join exactly once.
pub async fn advance(
    conn: &mut PgConnection,
    run_ids: &[Uuid],
) -> Result<Vec<String>, sqlx::Error> {
    let mut ids: Vec<Uuid> = run_ids.to_vec();
    ids.sort();
    ids.dedup();
    let runs = sqlx::query_as!(
        RunRow,
        r#"SELECT r.id, r.tenant_id, r.workflow_id, r.version, r.status, r.input, r.trigger, r.correlation_id,
                  r.failed_step, r.error, r.created_at, r.started_at, r.finished_at, v.definition
           FROM workflow_runs r
           JOIN workflow_versions v ON v.workflow_id = r.workflow_id AND v.version = r.version
           WHERE r.id = ANY($1)
           ORDER BY r.id
           FOR UPDATE OF r"#,
        &ids
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut kinds = BTreeSet::new();
    for run in runs {
        if matches!(run.status.as_str(), "succeeded" | "cancelled") {
            continue;
        }
        kinds.extend(advance_one(conn, &run).await?);
    }
    Ok(kinds.into_iter().collect())
}

#[derive(Debug)]
struct StepCounts {
    step: String,
    total: i64,
    succeeded: i64,
    bad: i64,
    error: Option<String>,
}

async fn advance_one(conn: &mut PgConnection, run: &RunRow) -> Result<Vec<String>, sqlx::Error> {
    let definition = match Definition::parse(&run.definition) {
        Ok(d) => d,
        Err(e) => {
            let msg = format!("the pinned definition no longer parses: {}", e[0]);
            set_status(conn, run.id, "failed", None, Some(&msg)).await?;
            return Ok(vec![]);
        }
    };
    let rows = sqlx::query_as!(
        StepRow,
        "SELECT step, state, items, output FROM workflow_run_steps WHERE run_id = $1",
        run.id
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut states: HashMap<String, String> = rows
        .iter()
        .map(|r| (r.step.clone(), r.state.clone()))
        .collect();
    let mut outputs: HashMap<String, Value> = rows
        .iter()
        .filter(|r| r.state == "succeeded")
        .filter_map(|r| r.output.clone().map(|o| (r.step.clone(), o)))
        .collect();
    let single: HashMap<&str, bool> = definition
        .steps
        .iter()
        .map(|s| (s.name.as_str(), s.for_each.is_none()))
        .collect();

    // Record the running steps whose jobs are all finished.
    let running: Vec<String> = rows
        .iter()
        .filter(|r| r.state == "running")
        .map(|r| r.step.clone())
        .collect();
    let mut first_failure: Option<(String, String)> = None;
    if !running.is_empty() {
        let counts = sqlx::query_as!(
            StepCounts,
            r#"SELECT step AS "step!", count(*) AS "total!",
                      count(*) FILTER (WHERE state = 'succeeded') AS "succeeded!",
                      count(*) FILTER (WHERE state IN ('dead', 'cancelled')) AS "bad!",
                      max(CASE WHEN state = 'cancelled' THEN 'a job was cancelled'
                               WHEN state = 'dead' THEN errors -> -1 ->> 'error' END) AS error
               FROM jobs WHERE run_id = $1 AND step = ANY($2)
               GROUP BY step"#,
            run.id,
            &running
        )
        .fetch_all(&mut *conn)
        .await?;
        for c in counts {
            let expected = rows
                .iter()
                .find(|r| r.step == c.step)
                .and_then(|r| r.items)
                .unwrap_or(1) as i64;
            if c.bad > 0 {
                let error = format!(
                    "a job of step {:?} is dead: {}",
                    c.step,
                    c.error.clone().unwrap_or_default()
                );
                sqlx::query!(
                    r#"UPDATE workflow_run_steps SET state = 'failed', error = $3, finished_at = now()
                       WHERE run_id = $1 AND step = $2"#,
                    run.id,
                    c.step,
                    error
                )
                .execute(&mut *conn)
                .await?;
                events::record(
                    conn,
                    run.id,
                    events::types::STEP_FAILED,
                    Some(&c.step),
                    serde_json::json!({ "error": error }),
                )
                .await?;
                states.insert(c.step.clone(), "failed".into());
                first_failure.get_or_insert((c.step.clone(), error));
            } else if c.succeeded == expected && c.total == expected {
                let output = sqlx::query_scalar!(
                    r#"SELECT coalesce(jsonb_agg(coalesce(result, 'null') ORDER BY item), '[]') AS "o!"
                       FROM jobs WHERE run_id = $1 AND step = $2"#,
                    run.id,
                    c.step
                )
                .fetch_one(&mut *conn)
                .await?;
                let output = if single.get(c.step.as_str()).copied().unwrap_or(true) {
                    output.get(0).cloned().unwrap_or(Value::Null)
                } else {
                    output
                };
                finish_step(conn, run.id, &c.step, Finish::Succeeded(&output)).await?;
                states.insert(c.step.clone(), "succeeded".into());
                outputs.insert(c.step.clone(), output);
            }
        }
    }

    // Start what is ready, until nothing changes (a skipped step may unblock others).
    let failed_already = run.status == "failed" || states.values().any(|s| s == "failed");
    let mut kinds = BTreeSet::new();
    if !failed_already {
        loop {
            let mut changed = false;
            for step in &definition.steps {
                if states.get(&step.name).map(String::as_str) != Some("pending") {
                    continue;
                }
                let dep_states: Vec<&str> = step
                    .after
                    .iter()
                    .map(|d| states.get(d).map(String::as_str).unwrap_or("pending"))
                    .collect();
                if !dep_states
                    .iter()
                    .all(|s| matches!(*s, "succeeded" | "skipped"))
                {
                    continue;
                }
                changed = true;
                let scope = Scope {
                    input: &run.input,
                    steps: &outputs,
                    item: None,
                };
                let all_skipped =
                    !dep_states.is_empty() && dep_states.iter().all(|s| *s == "skipped");
                let skip = if all_skipped {
                    Some("every step it waits for was skipped")
                } else if step.condition.as_ref().is_some_and(|c| !c.eval(&scope)) {
                    Some("its condition is false")
                } else {
                    None
                };
                if let Some(reason) = skip {
                    finish_step(conn, run.id, &step.name, Finish::Skipped(reason)).await?;
                    states.insert(step.name.clone(), "skipped".into());
                    continue;
                }
                match jobs_of(step, &scope) {
                    Err(error) => {
                        sqlx::query!(
                            r#"UPDATE workflow_run_steps SET state = 'failed', error = $3,
                                      started_at = now(), finished_at = now()
                               WHERE run_id = $1 AND step = $2"#,
                            run.id,
                            step.name,
                            error
                        )
                        .execute(&mut *conn)
                        .await?;
                        events::record(
                            conn,
                            run.id,
                            events::types::STEP_FAILED,
                            Some(&step.name),
                            serde_json::json!({ "error": error }),
                        )
                        .await?;
                        states.insert(step.name.clone(), "failed".into());
                        first_failure.get_or_insert((step.name.clone(), error));
                    }
                    Ok(args) if args.is_empty() => {
                        let output = Value::Array(vec![]);
                        finish_step(conn, run.id, &step.name, Finish::Succeeded(&output)).await?;
                        states.insert(step.name.clone(), "succeeded".into());
                        outputs.insert(step.name.clone(), output);
                    }
                    Ok(args) => {
                        insert_jobs(conn, run, step, args).await?;
                        kinds.insert(step.kind.name.to_owned());
                        states.insert(step.name.clone(), "running".into());
                    }
                }
            }
            if !changed || states.values().any(|s| s == "failed") {
                break;
            }
        }
    }

    // The run's status.
    if let Some((step, error)) = first_failure
        && run.status != "failed"
    {
        set_status(conn, run.id, "failed", Some(&step), Some(&error)).await?;
    } else if states
        .values()
        .all(|s| matches!(s.as_str(), "succeeded" | "skipped"))
    {
        set_status(conn, run.id, "succeeded", None, None).await?;
    } else if run.status == "queued" && states.values().any(|s| s != "pending" && s != "running") {
        set_status(conn, run.id, "running", None, None).await?;
    } else if run.status == "queued" && !running.is_empty() {
        // A job of this run finished (that is why it is advanced) without finishing its step.
        set_status(conn, run.id, "running", None, None).await?;
    }
    Ok(kinds.into_iter().collect())
}

/// The args of each job of `step` (one per item of a for_each), checked against its kind.
fn jobs_of(step: &Step, scope: &Scope<'_>) -> Result<Vec<Value>, String> {
    let check = |args: Value, label: &str| {
        step.kind
            .validate(args)
            .map_err(|e| format!("the args{label} do not fit {}: {e}", step.kind.name))
    };
    let Some(path) = &step.for_each else {
        return Ok(vec![check(expr::render(&step.args, scope), "")?]);
    };
    let items = match path.resolve(scope) {
        Value::Array(items) => items,
        Value::Null => vec![],
        other => return Err(format!("for_each expects a list, found {other}")),
    };
    if items.len() > MAX_ITEMS {
        return Err(format!(
            "for_each has {} items; at most {MAX_ITEMS}",
            items.len()
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let scope = Scope {
                item: Some(item),
                ..*scope
            };
            check(expr::render(&step.args, &scope), &format!(" of item {i}"))
        })
        .collect()
}

async fn insert_jobs(
    conn: &mut PgConnection,
    run: &RunRow,
    step: &Step,
    args: Vec<Value>,
) -> Result<(), sqlx::Error> {
    let ids: Vec<Uuid> = args.iter().map(|_| Uuid::now_v7()).collect();
    let items: Vec<i32> = (0..args.len() as i32).collect();
    let max_attempts = step.max_attempts.unwrap_or(step.kind.max_attempts);
    sqlx::query!(
        r#"INSERT INTO jobs (id, tenant_id, kind, args, max_attempts, correlation_id, run_id, step, item)
           SELECT u.id, $2, $3, u.args, $4, $5, $6, $7, u.item
           FROM unnest($1::uuid[], $8::jsonb[], $9::int4[]) AS u(id, args, item)"#,
        &ids,
        run.tenant_id,
        step.kind.name,
        max_attempts,
        run.correlation_id,
        run.id,
        step.name,
        &args,
        &items
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        r#"UPDATE workflow_run_steps SET state = 'running', items = $3, started_at = now()
           WHERE run_id = $1 AND step = $2"#,
        run.id,
        step.name,
        args.len() as i32
    )
    .execute(&mut *conn)
    .await?;
    events::record(
        conn,
        run.id,
        events::types::STEP_STARTED,
        Some(&step.name),
        serde_json::json!({"kind": step.kind.name, "items": args.len()}),
    )
    .await?;
    Ok(())
}

/// How a step finished without failing.
enum Finish<'a> {
    Succeeded(&'a Value),
    Skipped(&'static str),
}

async fn finish_step(
    conn: &mut PgConnection,
    run_id: Uuid,
    step: &str,
    finish: Finish<'_>,
) -> Result<(), sqlx::Error> {
    let (state, output, event, data) = match finish {
        Finish::Succeeded(output) => (
            "succeeded",
            Some(output),
            events::types::STEP_SUCCEEDED,
            events::succeeded_data(Some(output)),
        ),
        Finish::Skipped(reason) => (
            "skipped",
            None,
            events::types::STEP_SKIPPED,
            serde_json::json!({ "reason": reason }),
        ),
    };
    sqlx::query!(
        r#"UPDATE workflow_run_steps SET state = $3, output = $4, error = NULL,
                  started_at = coalesce(started_at, now()), finished_at = now()
           WHERE run_id = $1 AND step = $2"#,
        run_id,
        step,
        state,
        output
    )
    .execute(&mut *conn)
    .await?;
    events::record(conn, run_id, event, Some(step), data).await?;
    Ok(())
}

async fn set_status(
    conn: &mut PgConnection,
    run_id: Uuid,
    status: &str,
    failed_step: Option<&str>,
    error: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE workflow_runs SET status = $2, failed_step = $3, error = $4,
                  started_at = CASE WHEN $2 = 'queued' THEN started_at ELSE coalesce(started_at, now()) END,
                  finished_at = CASE WHEN $2 IN ('succeeded', 'failed', 'cancelled') THEN now() END
           WHERE id = $1"#,
        run_id,
        status,
        failed_step,
        error
    )
    .execute(&mut *conn)
    .await?;
    if matches!(status, "succeeded" | "failed" | "cancelled") {
        let mut data = serde_json::json!({ "status": status });
        if let Some(step) = failed_step {
            data["failed_step"] = step.into();
        }
        if let Some(error) = error {
            data["error"] = error.into();
        }
        events::record(conn, run_id, events::types::RUN_FINISHED, None, data).await?;
    }
    Ok(())
}

async fn run_row(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    lock: bool,
) -> Result<RunRow, DomainError> {
    let row = if lock {
        sqlx::query_as!(
            RunRow,
            r#"SELECT r.id, r.tenant_id, r.workflow_id, r.version, r.status, r.input, r.trigger, r.correlation_id,
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
            r#"SELECT r.id, r.tenant_id, r.workflow_id, r.version, r.status, r.input, r.trigger, r.correlation_id,
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
    state: String,
    items: Option<i32>,
    output: Option<Value>,
    error: Option<String>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
}

async fn get_run_on(
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
        r#"SELECT step, state, items, output, error, started_at, finished_at
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
                  CASE WHEN state = 'available' AND run_at > now() THEN 'scheduled' ELSE state END AS "state!",
                  count(*) AS "n!"
           FROM jobs WHERE run_id = $1 GROUP BY 1, 2"#,
        id
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut by_step: HashMap<String, BTreeMap<String, i64>> = HashMap::new();
    for c in counts {
        by_step.entry(c.step).or_default().insert(c.state, c.n);
    }
    let mut run = run_of(row);
    run.steps_total = details.len() as i64;
    run.steps_done = details
        .iter()
        .filter(|d| !matches!(d.state.as_str(), "pending" | "running"))
        .count() as i64;
    if run.status == RunStatus::Queued
        && by_step
            .values()
            .any(|m| m.keys().any(|s| s != "available" && s != "scheduled"))
    {
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
        status: RunStatus::parse(&row.status).unwrap_or(RunStatus::Failed),
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
        r#"SELECT r.id, r.workflow_id, r.version, r.status, r.input, r.trigger, r.failed_step, r.error,
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
        limit.clamp(1, MAX_PAGE)
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Run {
            id: r.id,
            workflow_id: r.workflow_id,
            version: r.version,
            status: RunStatus::parse(&r.status).unwrap_or(RunStatus::Failed),
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

/// Cancels a run: its queued step jobs at once, its running ones told (their workers stop
/// them), its pending steps never start. A finished run answers a conflict.
pub async fn cancel_run(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Changed<Run>, DomainError> {
    let before = get_run_on(conn, tenant_id, id).await?;
    if matches!(
        before.status,
        RunStatus::Succeeded | RunStatus::Failed | RunStatus::Cancelled
    ) {
        return Err(DomainError::Conflict(format!(
            "the run is {}; only queued or running runs can be cancelled",
            before.status.as_str()
        )));
    }
    // The jobs first, then the run: the completer locks a job, then its run; taking them in the
    // same order here cannot deadlock with it.
    cancel_jobs(conn, id, false).await?;
    run_row(conn, tenant_id, id, true).await?;
    let cancelled = sqlx::query_scalar!(
        r#"UPDATE workflow_run_steps SET state = 'cancelled', finished_at = now()
           WHERE run_id = $1 AND state IN ('pending', 'running')
           RETURNING step"#,
        id
    )
    .fetch_all(&mut *conn)
    .await?;
    for step in before.steps.iter().filter(|s| cancelled.contains(&s.name)) {
        events::record(
            conn,
            id,
            events::types::STEP_CANCELLED,
            Some(&step.name),
            serde_json::json!({}),
        )
        .await?;
    }
    set_status(conn, id, "cancelled", None, None).await?;
    // Jobs a completer enqueued between the two steps above (it held the run's lock then).
    // Rows another transaction holds right now are finishing or being claimed; they are skipped
    // rather than waited for, and their outcomes no longer advance the cancelled run.
    cancel_jobs(conn, id, true).await?;
    let after = get_run_on(conn, tenant_id, id).await?;
    Ok(Changed { before, after })
}

async fn cancel_jobs(
    conn: &mut PgConnection,
    run_id: Uuid,
    skip_locked: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE jobs SET state = 'cancelled', finished_at = now()
           WHERE id IN (SELECT id FROM jobs WHERE run_id = $1 AND state IN ('available', 'failed')
                        AND (NOT $2 OR id IN (SELECT id FROM jobs WHERE run_id = $1
                                              AND state IN ('available', 'failed') FOR UPDATE SKIP LOCKED)))"#,
        run_id,
        skip_locked
    )
    .execute(&mut *conn)
    .await?;
    let told = sqlx::query_scalar!(
        r#"UPDATE jobs SET cancel_requested = true
           WHERE id IN (SELECT id FROM jobs WHERE run_id = $1 AND state = 'running' AND NOT cancel_requested
                        AND (NOT $2 OR id IN (SELECT id FROM jobs WHERE run_id = $1
                                              AND state = 'running' FOR UPDATE SKIP LOCKED)))
           RETURNING id"#,
        run_id,
        skip_locked
    )
    .fetch_all(&mut *conn)
    .await?;
    if !told.is_empty() {
        let ids: Vec<String> = told.iter().map(Uuid::to_string).collect();
        // Delivered at commit; a holder that misses it sees the flag at its next heartbeat.
        sqlx::query!(
            "SELECT pg_notify($1, i) FROM unnest($2::text[]) AS i",
            CANCEL_CHANNEL,
            &ids
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Re-runs the failed steps of a failed run: their dead or cancelled jobs go back to the queue
/// (attempts reset), a step that failed before enqueueing is tried again, and the run continues.
/// Returns the run and the kinds to wake after the commit.
pub async fn retry_run(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<(Changed<Run>, Vec<String>), DomainError> {
    let before = get_run_on(conn, tenant_id, id).await?;
    if before.status != RunStatus::Failed {
        return Err(DomainError::Conflict(format!(
            "the run is {}; only failed runs can be retried",
            before.status.as_str()
        )));
    }
    run_row(conn, tenant_id, id, true).await?;
    let mut kinds = sqlx::query_scalar!(
        r#"WITH retried AS (
               UPDATE jobs SET state = 'available', attempt = 0, run_at = now(), finished_at = NULL,
                      started_at = NULL, result = NULL, cancel_requested = false
               WHERE run_id = $1 AND state IN ('dead', 'cancelled')
                 AND step IN (SELECT step FROM workflow_run_steps WHERE run_id = $1 AND state = 'failed')
               RETURNING kind)
           SELECT DISTINCT kind FROM retried"#,
        id
    )
    .fetch_all(&mut *conn)
    .await?;
    let retried = sqlx::query_scalar!(
        r#"UPDATE workflow_run_steps
           SET state = CASE WHEN items IS NULL THEN 'pending' ELSE 'running' END,
               error = NULL, finished_at = NULL
           WHERE run_id = $1 AND state = 'failed'
           RETURNING step"#,
        id
    )
    .fetch_all(&mut *conn)
    .await?;
    let retried: Vec<&str> = before
        .steps
        .iter()
        .map(|s| s.name.as_str())
        .filter(|n| retried.iter().any(|r| r == n))
        .collect();
    events::record(
        conn,
        id,
        events::types::RUN_RETRIED,
        None,
        serde_json::json!({ "steps": retried }),
    )
    .await?;
    sqlx::query!(
        r#"UPDATE workflow_runs SET status = 'running', failed_step = NULL, error = NULL, finished_at = NULL
           WHERE id = $1"#,
        id
    )
    .execute(&mut *conn)
    .await?;
    kinds.extend(advance(conn, &[id]).await?);
    kinds.sort();
    kinds.dedup();
    let after = get_run_on(conn, tenant_id, id).await?;
    Ok((Changed { before, after }, kinds))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Finishes every queued job of `run` as a worker would (`ok`: succeeded with its args'
    /// `output`, else dead), advancing the run in the same transaction. Returns how many.
    async fn finish_queued(pool: &PgPool, run: Uuid, ok: bool) -> usize {
        let mut tx = pool.begin().await.unwrap();
        let ids: Vec<Uuid> = sqlx::query_scalar(
            r#"UPDATE jobs SET state = CASE WHEN $2 THEN 'succeeded' ELSE 'dead' END,
                      result = CASE WHEN $2 THEN coalesce(args -> 'output', '{}') END,
                      errors = CASE WHEN $2 THEN errors ELSE '[{"attempt": 1, "at": "2026-01-01T00:00:00Z", "error": "boom"}]' END,
                      finished_at = now()
               WHERE run_id = $1 AND state = 'available' RETURNING id"#,
        )
        .bind(run)
        .bind(ok)
        .fetch_all(&mut *tx)
        .await
        .unwrap();
        advance(&mut tx, &[run]).await.unwrap();
        tx.commit().await.unwrap();
        ids.len()
    }

    async fn setup(pool: &PgPool, definition: Value, input: Value) -> Run {
        let mut conn = pool.acquire().await.unwrap();
        let tenant = crate::auth::ensure_tenant(&mut conn, "t").await.unwrap();
        Definition::parse(&definition).unwrap();
        let wf = create(&mut conn, tenant, "wf", &definition).await.unwrap();
        start_run(&mut conn, tenant, wf.id, input, Some("req"), &Trigger::Api)
            .await
            .unwrap()
            .0
    }

    #[sqlx::test(migrator = "crate::db::MIGRATOR")]
    async fn a_diamond_with_a_fan_out_a_skip_and_a_fan_in_runs_in_order(pool: PgPool) {
        let run = setup(
            &pool,
            json!({"steps": [
                {"name": "a", "kind": "noop", "args": {"output": {"items": [1, 2, 3], "score": 50}}},
                {"name": "b", "kind": "noop", "after": ["a"], "for_each": "steps.a.output.items",
                 "args": {"output": "{{ item }}"}},
                {"name": "c", "kind": "noop", "after": ["a"], "if": "steps.a.output.score >= 70"},
                {"name": "d", "kind": "noop", "after": ["b", "c"],
                 "args": {"output": {"all": "{{ steps.b.output }}", "c": "{{ steps.c.output }}", "n": "{{ input.n }}"}}},
            ]}),
            json!({"n": 7}),
        )
        .await;
        assert_eq!(run.status, RunStatus::Queued);
        assert_eq!(
            finish_queued(&pool, run.id, true).await,
            1,
            "only the root runs first"
        );
        assert_eq!(
            finish_queued(&pool, run.id, true).await,
            3,
            "b fans out; c is skipped"
        );
        assert_eq!(finish_queued(&pool, run.id, true).await, 1, "the join");
        assert_eq!(finish_queued(&pool, run.id, true).await, 0);
        let tenant = sqlx::query_scalar("SELECT tenant_id FROM workflow_runs WHERE id = $1")
            .bind(run.id)
            .fetch_one(&pool)
            .await
            .unwrap();
        let done = get_run(&pool, tenant, run.id).await.unwrap();
        assert_eq!(done.status, RunStatus::Succeeded);
        let states: Vec<&str> = done.steps.iter().map(|s| s.state.as_str()).collect();
        assert_eq!(states, ["succeeded", "succeeded", "skipped", "succeeded"]);
        assert_eq!(
            done.steps[3].output,
            Some(json!({"all": [1, 2, 3], "c": null, "n": 7}))
        );
        assert_eq!((done.steps_done, done.steps_total), (4, 4));
    }

    #[sqlx::test(migrator = "crate::db::MIGRATOR")]
    async fn a_dead_step_fails_the_run_and_a_retry_reruns_only_it(pool: PgPool) {
        let run = setup(
            &pool,
            json!({"steps": [
                {"name": "a", "kind": "noop"},
                {"name": "b", "kind": "noop", "after": ["a"]},
            ]}),
            json!({}),
        )
        .await;
        finish_queued(&pool, run.id, false).await;
        let tenant = sqlx::query_scalar("SELECT tenant_id FROM workflow_runs WHERE id = $1")
            .bind(run.id)
            .fetch_one(&pool)
            .await
            .unwrap();
        let failed = get_run(&pool, tenant, run.id).await.unwrap();
        assert_eq!(failed.status, RunStatus::Failed);
        assert_eq!(failed.failed_step.as_deref(), Some("a"));
        assert!(failed.error.unwrap().contains("boom"));
        assert_eq!(failed.steps[1].state, "pending");

        let mut tx = pool.begin().await.unwrap();
        let (changed, kinds) = retry_run(&mut tx, tenant, run.id).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(kinds, ["noop"]);
        assert_eq!(changed.after.status, RunStatus::Running);
        assert_eq!(finish_queued(&pool, run.id, true).await, 1, "only a again");
        assert_eq!(finish_queued(&pool, run.id, true).await, 1, "then b");
        assert_eq!(
            get_run(&pool, tenant, run.id).await.unwrap().status,
            RunStatus::Succeeded
        );
    }
}
