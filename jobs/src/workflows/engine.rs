//! The engine: starting a run and advancing it as its step jobs finish.
//!
//! [`advance`] runs inside the transaction that records a step job's outcome (the queue calls
//! it through [`Engine`], its completion hook): finished steps are recorded, ready successors
//! are enqueued (respecting `after`, `if` and `for_each`, with fan-in after a fan-out), and the
//! run's status is set. A crash between "step done" and "successors enqueued" is impossible by
//! construction. Every change is written with its event ([`events`]).

use std::collections::{BTreeSet, HashMap};

use futures::future::BoxFuture;
use serde_json::Value;
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

use super::{
    Definition, MAX_FOR_EACH_ARGS, MAX_ITEMS, MAX_RENDERED_ARGS, Step, events,
    expr::{self, Budget, Scope},
    runs::{Run, RunRow, RunStatus, StepState, Trigger, get_run_on},
};
use crate::{
    DomainError, FieldError,
    queue::{self, CompletionHook, Concurrency, Group, NewJob, OverLimit},
    text::truncate_at_char,
};

/// Longest error a step records about its args (a serde error may quote a large value).
const MAX_STEP_ERROR: usize = 2000;

/// The workflow engine as the queue's [`CompletionHook`]: when jobs of runs finish, the runs
/// advance ([`advance`]) in the same transaction. Hand it to the queue wherever jobs finish:
/// `WorkerNode::start` in the worker, `queue::admin::cancel` in the api.
#[derive(Debug, Clone, Copy, Default)]
pub struct Engine;

impl CompletionHook for Engine {
    fn finished<'c>(
        &'c self,
        conn: &'c mut PgConnection,
        groups: &'c [Uuid],
    ) -> BoxFuture<'c, Result<Vec<String>, sqlx::Error>> {
        Box::pin(advance(conn, groups))
    }
}

/// Starts a run of the workflow's latest version with `input`: the run row, its step rows, its
/// `run_created` event and its root steps' jobs, on `conn` (the caller's transaction). Returns
/// the run and the kinds of the jobs enqueued (wake their workers after the commit).
///
/// A root step whose args exceed their rendering budget with this input refuses the start
/// ([`DomainError::Invalid`] at `input`, naming the step and the budget) and leaves nothing
/// behind: the run is written under a savepoint, rolled back then.
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
    let workflow = super::get_on(conn, tenant_id, workflow_id, true).await?;
    if workflow.disabled_at.is_some() {
        return Err(DomainError::Conflict(
            "the workflow is disabled; it starts no new run".into(),
        ));
    }
    let definition = Definition::parse(&workflow.definition).map_err(|mut e| e.remove(0))?;
    let mut conn = conn.begin().await?;
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
        &mut conn,
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
    let mut refused = None;
    let kinds = advance_runs(&mut conn, &[id], Some(&mut refused)).await?;
    if let Some(error) = refused {
        conn.rollback().await?;
        return Err(FieldError::new("input", error).into());
    }
    let run = get_run_on(&mut conn, tenant_id, id).await?;
    conn.commit().await?;
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
    advance_runs(conn, run_ids, None).await
}

/// [`advance`]; with `refuse`, a step over its rendering budget is not recorded as failed: the
/// error is put in `refuse` and the run is left as it was (its start is refused).
async fn advance_runs(
    conn: &mut PgConnection,
    run_ids: &[Uuid],
    mut refuse: Option<&mut Option<String>>,
) -> Result<Vec<String>, sqlx::Error> {
    let mut ids: Vec<Uuid> = run_ids.to_vec();
    ids.sort();
    ids.dedup();
    let runs = sqlx::query_as!(
        RunRow,
        r#"SELECT r.id, r.tenant_id, r.workflow_id, r.version, r.status AS "status: RunStatus",
                  r.input, r.trigger, r.correlation_id,
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
        if matches!(run.status, RunStatus::Succeeded | RunStatus::Cancelled) {
            continue;
        }
        kinds.extend(advance_one(conn, &run, refuse.as_deref_mut()).await?);
    }
    Ok(kinds.into_iter().collect())
}

/// A step of a run, as the engine reads it.
struct StepRow {
    step: String,
    state: StepState,
    items: Option<i32>,
    output: Option<Value>,
}

/// The jobs of a running step, by outcome.
#[derive(Debug)]
struct StepCounts {
    step: String,
    total: i64,
    succeeded: i64,
    bad: i64,
    error: Option<String>,
}

async fn advance_one(
    conn: &mut PgConnection,
    run: &RunRow,
    refuse: Option<&mut Option<String>>,
) -> Result<Vec<String>, sqlx::Error> {
    let definition = match Definition::parse(&run.definition) {
        Ok(d) => d,
        Err(e) => {
            let msg = format!("the pinned definition no longer parses: {}", e[0]);
            set_status(conn, run.id, RunStatus::Failed, None, Some(&msg)).await?;
            return Ok(vec![]);
        }
    };
    let rows = sqlx::query_as!(
        StepRow,
        r#"SELECT step, state AS "state: StepState", items, output
           FROM workflow_run_steps WHERE run_id = $1"#,
        run.id
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut states: HashMap<String, StepState> =
        rows.iter().map(|r| (r.step.clone(), r.state)).collect();
    let mut outputs: HashMap<String, Value> = rows
        .iter()
        .filter(|r| r.state == StepState::Succeeded)
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
        .filter(|r| r.state == StepState::Running)
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
                fail_step(conn, run.id, &c.step, &error, true).await?;
                states.insert(c.step.clone(), StepState::Failed);
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
                states.insert(c.step.clone(), StepState::Succeeded);
                outputs.insert(c.step.clone(), output);
            }
        }
    }

    // Start what is ready, until nothing changes (a skipped step may unblock others).
    let any_failed =
        |states: &HashMap<String, StepState>| states.values().any(|s| *s == StepState::Failed);
    let failed_already = run.status == RunStatus::Failed || any_failed(&states);
    let mut kinds = BTreeSet::new();
    if !failed_already {
        loop {
            let mut changed = false;
            for step in &definition.steps {
                if states.get(&step.name) != Some(&StepState::Pending) {
                    continue;
                }
                let dep_states: Vec<StepState> = step
                    .after
                    .iter()
                    .map(|d| states.get(d).copied().unwrap_or(StepState::Pending))
                    .collect();
                if !dep_states.iter().all(|s| s.succeeded_or_skipped()) {
                    continue;
                }
                changed = true;
                let scope = Scope {
                    input: &run.input,
                    steps: &outputs,
                    item: None,
                };
                let all_skipped =
                    !dep_states.is_empty() && dep_states.iter().all(|s| *s == StepState::Skipped);
                let skip = if all_skipped {
                    Some("every step it waits for was skipped")
                } else if step.condition.as_ref().is_some_and(|c| !c.eval(&scope)) {
                    Some("its condition is false")
                } else {
                    None
                };
                if let Some(reason) = skip {
                    finish_step(conn, run.id, &step.name, Finish::Skipped(reason)).await?;
                    states.insert(step.name.clone(), StepState::Skipped);
                    continue;
                }
                match jobs_of(step, &scope) {
                    Err(StepError::OverBudget(error)) if refuse.is_some() => {
                        if let Some(refused) = refuse {
                            *refused = Some(error);
                        }
                        return Ok(vec![]);
                    }
                    Err(StepError::OverBudget(error) | StepError::Other(error)) => {
                        fail_step(conn, run.id, &step.name, &error, false).await?;
                        states.insert(step.name.clone(), StepState::Failed);
                        first_failure.get_or_insert((step.name.clone(), error));
                    }
                    Ok(jobs) if jobs.is_empty() => {
                        let output = Value::Array(vec![]);
                        finish_step(conn, run.id, &step.name, Finish::Succeeded(&output)).await?;
                        states.insert(step.name.clone(), StepState::Succeeded);
                        outputs.insert(step.name.clone(), output);
                    }
                    Ok(jobs) => {
                        insert_jobs(conn, run, step, jobs).await?;
                        kinds.insert(step.kind.name.to_owned());
                        states.insert(step.name.clone(), StepState::Running);
                    }
                }
            }
            if !changed || any_failed(&states) {
                break;
            }
        }
    }

    // The run's status.
    if let Some((step, error)) = first_failure
        && run.status != RunStatus::Failed
    {
        set_status(conn, run.id, RunStatus::Failed, Some(&step), Some(&error)).await?;
    } else if states.values().all(|s| s.succeeded_or_skipped()) {
        set_status(conn, run.id, RunStatus::Succeeded, None, None).await?;
    } else if run.status == RunStatus::Queued && states.values().any(|s| s.is_done()) {
        set_status(conn, run.id, RunStatus::Running, None, None).await?;
    } else if run.status == RunStatus::Queued && !running.is_empty() {
        // A job of this run finished (that is why it is advanced) without finishing its step.
        set_status(conn, run.id, RunStatus::Running, None, None).await?;
    }
    Ok(kinds.into_iter().collect())
}

/// Why a step fails before any of its jobs is enqueued.
#[derive(Debug)]
enum StepError {
    /// Its args exceeded their rendering budget.
    OverBudget(String),
    /// Anything else: its args do not fit its kind, its `for_each` is not a list.
    Other(String),
}

/// `bytes` for a reader: `1048576 bytes (1 MiB)`.
fn bytes(n: usize) -> String {
    format!("{n} bytes ({} MiB)", n / (1024 * 1024))
}

/// The jobs of `step` (one per item of a for_each), their args rendered under their budgets
/// ([`MAX_RENDERED_ARGS`] each, [`MAX_FOR_EACH_ARGS`] for all the items together) and checked
/// against its kind. The error says why the step fails instead.
fn jobs_of(step: &Step, scope: &Scope<'_>) -> Result<Vec<NewJob>, StepError> {
    let job = |scope: &Scope<'_>, budget: &mut Budget, item: Option<usize>| {
        let label = item.map(|i| format!(" of item {i}")).unwrap_or_default();
        let args = expr::render(&step.args, scope, budget).map_err(|e| {
            StepError::OverBudget(match item {
                Some(i) if e.limit < MAX_RENDERED_ARGS => format!(
                    "step {:?}: rendering the args of its for_each items exceeds the budget of {} \
                     for all items together (stopped at item {i})",
                    step.name,
                    bytes(MAX_FOR_EACH_ARGS)
                ),
                _ => format!(
                    "step {:?}: rendering the args{label} exceeds the budget of {} per job",
                    step.name,
                    bytes(MAX_RENDERED_ARGS)
                ),
            })
        })?;
        let job = NewJob::of_kind(step.kind, args).map_err(|e| {
            let e = format!("the args{label} do not fit {}: {e}", step.kind.name);
            StepError::Other(truncate_at_char(&e, MAX_STEP_ERROR).to_owned())
        })?;
        let job = match step.max_attempts {
            Some(n) => job
                .max_attempts(n)
                .map_err(|e| StepError::Other(e.to_string()))?,
            None => job,
        };
        let Some((key, limit)) = &step.concurrency else {
            return Ok(job);
        };
        let key = match expr::render(key, scope, budget) {
            Ok(Value::String(k)) => k,
            Ok(other) => other.to_string(),
            Err(_) => {
                return Err(StepError::OverBudget(format!(
                    "step {:?}: rendering its concurrency key{label} exceeds the budget",
                    step.name
                )));
            }
        };
        job.concurrency(Concurrency {
            key,
            limit: *limit,
            on_limit: OverLimit::Queue,
        })
        .map_err(|e| StepError::Other(format!("step {:?}{label}: {e}", step.name)))
    };
    let Some(path) = &step.for_each else {
        return Ok(vec![job(scope, &mut Budget::new(MAX_RENDERED_ARGS), None)?]);
    };
    let items: &[Value] = match path.lookup(scope) {
        Some(Value::Array(items)) => items,
        None | Some(Value::Null) => &[],
        Some(other) => {
            return Err(StepError::Other(format!(
                "for_each expects a list, found {}",
                truncate_at_char(&other.to_string(), 100)
            )));
        }
    };
    if items.len() > MAX_ITEMS {
        return Err(StepError::Other(format!(
            "for_each has {} items; at most {MAX_ITEMS}",
            items.len()
        )));
    }
    let mut left = MAX_FOR_EACH_ARGS;
    // `item_if` keeps the items it holds for; the step's output lists their results only.
    let kept = items.iter().filter(|item| {
        step.item_condition.as_ref().is_none_or(|c| {
            c.eval(&Scope {
                item: Some(item),
                ..*scope
            })
        })
    });
    kept.enumerate()
        .map(|(i, item)| {
            let scope = Scope {
                item: Some(item),
                ..*scope
            };
            // One job's budget, or what is left of the step's when that is less.
            let mut budget = Budget::new(left.min(MAX_RENDERED_ARGS));
            let job = job(&scope, &mut budget, Some(i));
            left -= budget.spent();
            job
        })
        .collect()
}

/// Enqueues `jobs` for `step` (the run's group, one item each) and marks the step running.
async fn insert_jobs(
    conn: &mut PgConnection,
    run: &RunRow,
    step: &Step,
    jobs: Vec<NewJob>,
) -> Result<(), sqlx::Error> {
    let items = jobs.len();
    queue::enqueue_group(
        conn,
        run.tenant_id,
        run.correlation_id.as_deref(),
        Group {
            id: run.id,
            step: &step.name,
        },
        jobs,
    )
    .await?;
    sqlx::query!(
        r#"UPDATE workflow_run_steps SET state = 'running', items = $3, started_at = now()
           WHERE run_id = $1 AND step = $2"#,
        run.id,
        step.name,
        items as i32
    )
    .execute(&mut *conn)
    .await?;
    events::record(
        conn,
        run.id,
        events::types::STEP_STARTED,
        Some(&step.name),
        serde_json::json!({"kind": step.kind.name, "items": items}),
    )
    .await?;
    Ok(())
}

/// Marks `step` failed with `error`, with its `step_failed` event. `enqueued`: its jobs were
/// enqueued (it started then); otherwise it fails before any job, starting and ending now.
async fn fail_step(
    conn: &mut PgConnection,
    run_id: Uuid,
    step: &str,
    error: &str,
    enqueued: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE workflow_run_steps SET state = 'failed', error = $3,
                  started_at = CASE WHEN $4 THEN started_at ELSE now() END, finished_at = now()
           WHERE run_id = $1 AND step = $2"#,
        run_id,
        step,
        error,
        enqueued
    )
    .execute(&mut *conn)
    .await?;
    events::record(
        conn,
        run_id,
        events::types::STEP_FAILED,
        Some(step),
        serde_json::json!({ "error": error }),
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
            StepState::Succeeded,
            Some(output),
            events::types::STEP_SUCCEEDED,
            events::succeeded_data(Some(output)),
        ),
        Finish::Skipped(reason) => (
            StepState::Skipped,
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
        state.as_str(),
        output
    )
    .execute(&mut *conn)
    .await?;
    events::record(conn, run_id, event, Some(step), data).await?;
    Ok(())
}

/// Sets the run's status (with its `run_finished` event when it is over).
pub(super) async fn set_status(
    conn: &mut PgConnection,
    run_id: Uuid,
    status: RunStatus,
    failed_step: Option<&str>,
    error: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE workflow_runs SET status = $2, failed_step = $3, error = $4,
                  started_at = CASE WHEN $2 = 'queued' THEN started_at ELSE coalesce(started_at, now()) END,
                  finished_at = CASE WHEN $2 IN ('succeeded', 'failed', 'cancelled') THEN now() END
           WHERE id = $1"#,
        run_id,
        status.as_str(),
        failed_step,
        error
    )
    .execute(&mut *conn)
    .await?;
    if status.is_finished() {
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

#[cfg(test)]
mod tests;
