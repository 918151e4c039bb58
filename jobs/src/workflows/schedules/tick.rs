//! The scheduler's tick: claiming due schedules, firing them by their policies, and pruning old
//! fire records.

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use super::{CatchUp, CronSpec, plan};
use crate::{
    DomainError,
    workflows::{Trigger, start_run},
};

/// What a scheduler tick did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fired {
    /// Runs started.
    pub runs: usize,
    /// Kinds of the jobs those runs enqueued (their workers are woken at commit).
    pub kinds: Vec<String>,
}

struct Due {
    id: Uuid,
    tenant_id: Uuid,
    workflow_id: Uuid,
    cron: String,
    time_zone: String,
    catch_up: CatchUp,
    input: Value,
    next_fire_at: Option<DateTime<Utc>>,
}

/// Claims up to `batch` schedules due at `now`, fires them by their policies and advances them,
/// all in one transaction; workers of the runs' first steps are woken at commit. Two schedulers
/// never claim the same schedule at once (`SKIP LOCKED`), and a fire time is recorded under a
/// unique key, so each fire time starts at most one run.
pub async fn tick(pool: &PgPool, now: DateTime<Utc>, batch: i64) -> Result<Fired, DomainError> {
    let mut tx = pool.begin().await?;
    let due = sqlx::query_as!(
        Due,
        r#"SELECT id, tenant_id, workflow_id, cron, time_zone, catch_up AS "catch_up: CatchUp", input,
                  next_fire_at
           FROM workflow_schedules
           WHERE enabled AND next_fire_at <= $1
           ORDER BY next_fire_at
           LIMIT $2
           FOR UPDATE SKIP LOCKED"#,
        now,
        batch
    )
    .fetch_all(&mut *tx)
    .await?;
    if due.is_empty() {
        return Ok(Fired::default());
    }
    let mut fired = Fired::default();
    for d in due {
        let Some(due_at) = d.next_fire_at else {
            continue;
        };
        let plan = match CronSpec::parse(&d.cron, &d.time_zone) {
            Ok(spec) => plan(&spec, d.catch_up, due_at, now),
            // Checked when written; a zone dropped from the database since stops the schedule.
            Err(e) => {
                sqlx::query!(
                    "UPDATE workflow_schedules SET next_fire_at = NULL, last_error = $2 WHERE id = $1",
                    d.id,
                    e[0].to_string()
                )
                .execute(&mut *tx)
                .await?;
                continue;
            }
        };
        let mut last: Option<(DateTime<Utc>, Option<Uuid>, Option<String>)> = None;
        for fire_at in plan.fire {
            let inserted = sqlx::query_scalar!(
                r#"INSERT INTO workflow_schedule_fires (schedule_id, fire_at) VALUES ($1, $2)
                   ON CONFLICT DO NOTHING RETURNING fire_at"#,
                d.id,
                fire_at
            )
            .fetch_optional(&mut *tx)
            .await?;
            if inserted.is_none() {
                continue;
            }
            let correlation_id = format!("schedule:{}:{}", d.id, fire_at.timestamp());
            let started = start_run(
                &mut tx,
                d.tenant_id,
                d.workflow_id,
                d.input.clone(),
                Some(&correlation_id),
                &Trigger::Schedule {
                    schedule_id: d.id,
                    fire_at,
                },
            )
            .await;
            let (run_id, error) = match started {
                Ok((run, kinds)) => {
                    fired.runs += 1;
                    fired.kinds.extend(kinds);
                    (Some(run.id), None)
                }
                // The workflow was disabled (or its definition no longer fits): no run, and the
                // fire says why. A database error aborts the whole tick instead.
                Err(DomainError::Database(e)) => return Err(e.into()),
                Err(e) => (None, Some(e.to_string())),
            };
            sqlx::query!(
                "UPDATE workflow_schedule_fires SET run_id = $3, error = $4 WHERE schedule_id = $1 AND fire_at = $2",
                d.id,
                fire_at,
                run_id,
                error
            )
            .execute(&mut *tx)
            .await?;
            last = Some((fire_at, run_id, error));
        }
        match last {
            Some((fire_at, run_id, error)) => {
                sqlx::query!(
                    r#"UPDATE workflow_schedules SET next_fire_at = $2, last_fire_at = $3,
                              last_run_id = coalesce($4, last_run_id), last_error = $5
                       WHERE id = $1"#,
                    d.id,
                    plan.next,
                    fire_at,
                    run_id,
                    error
                )
                .execute(&mut *tx)
                .await?;
            }
            None => {
                sqlx::query!(
                    "UPDATE workflow_schedules SET next_fire_at = $2 WHERE id = $1",
                    d.id,
                    plan.next
                )
                .execute(&mut *tx)
                .await?;
            }
        }
    }
    fired.kinds.sort();
    fired.kinds.dedup();
    if !fired.kinds.is_empty() {
        sqlx::query!(
            "SELECT pg_notify($1, k) FROM unnest($2::text[]) AS k",
            crate::queue::JOBS_CHANNEL,
            &fired.kinds
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(fired)
}

/// How long fire records are kept; they only guard against a second run for a recent fire time.
pub const FIRE_RETENTION: Duration = Duration::days(7);

/// Deletes up to `limit` fire records older than [`FIRE_RETENTION`]; returns how many.
pub async fn purge_fires(pool: &PgPool, limit: i64) -> Result<u64, DomainError> {
    let cutoff = Utc::now() - FIRE_RETENTION;
    Ok(sqlx::query!(
        r#"DELETE FROM workflow_schedule_fires WHERE (schedule_id, fire_at) IN (
               SELECT schedule_id, fire_at FROM workflow_schedule_fires
               WHERE fire_at < $1 LIMIT $2)"#,
        cutoff,
        limit
    )
    .execute(pool)
    .await?
    .rows_affected())
}

#[cfg(test)]
mod tests {
    use chrono::DurationRound;
    use serde_json::json;

    use super::*;
    use crate::workflows::schedules::{ScheduleFields, create, get};

    async fn setup(pool: &PgPool, catch_up: &str, cron: &str) -> (Uuid, Uuid) {
        let mut conn = pool.acquire().await.unwrap();
        let tenant = crate::auth::ensure_tenant(&mut conn, "t").await.unwrap();
        let wf = crate::workflows::create(
            &mut conn,
            tenant,
            "wf",
            &json!({"steps": [{"name": "a", "kind": "noop", "args": {"output": "{{ input.x }}"}}]}),
        )
        .await
        .unwrap();
        let fields = ScheduleFields::parse(
            &json!({"cron": cron, "catch_up": catch_up, "input": {"x": 1}}),
            true,
        )
        .unwrap();
        let s = create(&mut conn, tenant, wf.id, fields).await.unwrap();
        (tenant, s.id)
    }

    async fn runs_of(pool: &PgPool, schedule: Uuid) -> Vec<DateTime<Utc>> {
        sqlx::query_scalar(
            r#"SELECT (trigger ->> 'fire_at')::timestamptz FROM workflow_runs
               WHERE trigger ->> 'schedule_id' = $1::text ORDER BY 1"#,
        )
        .bind(schedule)
        .fetch_all(pool)
        .await
        .unwrap()
    }

    #[sqlx::test(migrator = "crate::db::MIGRATOR")]
    async fn after_downtime_each_policy_catches_up_as_configured(pool: PgPool) {
        // Half past an hour: the latest fire time is 30 minutes late, past the grace.
        let now = Utc::now().duration_trunc(Duration::hours(1)).unwrap() + Duration::minutes(30);
        // The last fire time handled was five and a half hours ago.
        let spec = CronSpec::parse("0 * * * *", "UTC").unwrap();
        let due = spec.next_after(now - Duration::minutes(330)).unwrap();
        let missed = {
            let mut t = due;
            let mut all = vec![];
            while t <= now {
                all.push(t);
                t = spec.next_after(t).unwrap();
            }
            all
        };
        for (policy, expected) in [
            ("skip", vec![]),
            ("once", vec![*missed.last().unwrap()]),
            ("all", missed.clone()),
        ] {
            let (_, id) = setup(&pool, policy, "0 * * * *").await;
            sqlx::query("UPDATE workflow_schedules SET next_fire_at = $2 WHERE id = $1")
                .bind(id)
                .bind(due)
                .execute(&pool)
                .await
                .unwrap();
            tick(&pool, now, 100).await.unwrap();
            assert_eq!(runs_of(&pool, id).await, expected, "{policy}");
            let next: DateTime<Utc> =
                sqlx::query_scalar("SELECT next_fire_at FROM workflow_schedules WHERE id = $1")
                    .bind(id)
                    .fetch_one(&pool)
                    .await
                    .unwrap();
            assert_eq!(Some(next), spec.next_after(now), "{policy}");
            // Nothing more until then.
            tick(&pool, now, 100).await.unwrap();
            assert_eq!(runs_of(&pool, id).await.len(), expected.len(), "{policy}");
        }
        // The runs got the schedule's input and enqueued their first step.
        let jobs: i64 =
            sqlx::query_scalar("SELECT count(*) FROM jobs WHERE args = '{\"output\": 1}'")
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!(jobs as usize, 1 + missed.len());
    }

    #[sqlx::test(migrator = "crate::db::MIGRATOR")]
    async fn concurrent_ticks_start_one_run_per_fire_time(pool: PgPool) {
        let now = Utc::now();
        let (_, id) = setup(&pool, "all", "* * * * *").await;
        let due = now - Duration::minutes(250);
        sqlx::query("UPDATE workflow_schedules SET next_fire_at = date_trunc('minute', $2::timestamptz) WHERE id = $1")
            .bind(id)
            .bind(due)
            .execute(&pool)
            .await
            .unwrap();
        // 250 minutes of backlog, 100 per tick: eight schedulers race for it, three times over.
        for _ in 0..3 {
            let ticks: Vec<_> = (0..8)
                .map(|_| {
                    let pool = pool.clone();
                    tokio::spawn(async move { tick(&pool, now, 100).await.unwrap().runs })
                })
                .collect();
            for t in ticks {
                t.await.unwrap();
            }
        }
        let runs = runs_of(&pool, id).await;
        let mut distinct = runs.clone();
        distinct.dedup();
        assert_eq!(runs, distinct, "no fire time ran twice");
        assert!(runs.len() >= 250, "{} runs", runs.len());
        assert!(
            runs.windows(2).all(|w| w[1] - w[0] == Duration::minutes(1)),
            "no fire time was skipped"
        );
        assert_eq!(
            runs.last().copied(),
            CronSpec::parse("* * * * *", "UTC")
                .unwrap()
                .latest_at_or_before(now)
        );
    }

    #[sqlx::test(migrator = "crate::db::MIGRATOR")]
    async fn a_disabled_workflow_fires_no_run_and_says_why(pool: PgPool) {
        let (tenant, id) = setup(&pool, "once", "0 * * * *").await;
        let wf: Uuid =
            sqlx::query_scalar("SELECT workflow_id FROM workflow_schedules WHERE id = $1")
                .bind(id)
                .fetch_one(&pool)
                .await
                .unwrap();
        let mut conn = pool.acquire().await.unwrap();
        crate::workflows::disable(&mut conn, tenant, wf)
            .await
            .unwrap();
        sqlx::query(
            "UPDATE workflow_schedules SET next_fire_at = date_trunc('hour', now()) WHERE id = $1",
        )
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
        let fired = tick(&pool, Utc::now(), 100).await.unwrap();
        assert_eq!(fired.runs, 0);
        let s = get(&pool, tenant, id).await.unwrap();
        assert!(s.last_error.unwrap().contains("disabled"));
        assert!(s.next_fire_at.unwrap() > Utc::now());
    }
}
