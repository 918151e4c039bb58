//! Cron schedules: a workflow started at the fire times of a cron expression in a time zone,
//! exactly once per fire time however many workers run, with a catch-up policy for fire times
//! missed while no scheduler ran.
//!
//! - [`CronSpec`]: a checked expression (standard 5 fields, or 6 with seconds first; `@daily`
//!   and friends; read by `croner`) and an IANA time zone (`chrono-tz`). Fire times are
//!   computed in the zone's wall-clock time: across a DST change a daily `30 2 * * *` fires
//!   once (at 03:00 on a spring-forward day whose 02:30 does not exist, once on a fall-back day
//!   whose 02:30 happens twice), and an hourly `0 * * * *` fires at each real hour.
//! - [`create`], [`update`], [`delete`], [`get`], [`list`]: a workflow's schedules.
//! - [`tick`]: called by every worker's scheduler loop (`sources::schedule::run`). It claims the
//!   due schedules with `FOR UPDATE SKIP LOCKED`, decides their fire times by their
//!   [`CatchUp`] policy ([`plan`]), inserts one `workflow_schedule_fires` row per fire time
//!   (primary key `(schedule, fire_at)`, so a duplicate is impossible even if two claimers
//!   raced), starts each run in the same transaction and advances `next_fire_at`.
//!
//! It never runs a job and never speaks HTTP.

use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use croner::{
    Cron,
    parser::{CronParser, Seconds},
};
use serde::Serialize;
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{Changed, Trigger, start_run};
use crate::{DomainError, FieldError};

/// Most schedules per workflow.
pub const MAX_PER_WORKFLOW: i64 = 20;
/// A fire time at most this late is on time; `skip` drops anything later.
pub const GRACE: Duration = Duration::seconds(60);
/// Most fire times one schedule fires in one scheduler tick (policy `all`; the rest follow on
/// the next ticks).
pub const MAX_FIRES_PER_TICK: usize = 100;
/// Most missed fire times the policy `all` catches up on; older ones are skipped.
pub const MAX_BACKLOG: usize = 1000;
/// Longest cron expression.
pub const MAX_CRON_LEN: usize = 200;

/// What happens to fire times missed while no scheduler ran (downtime), or that came due more
/// than [`GRACE`] ago.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CatchUp {
    /// Missed fire times are dropped: only a fire time at most [`GRACE`] late runs.
    Skip,
    /// However many were missed, the latest one runs, once.
    Once,
    /// Every missed fire time runs, oldest first (at most [`MAX_BACKLOG`]).
    All,
}

impl CatchUp {
    /// Every policy.
    pub const ALL: [CatchUp; 3] = [CatchUp::Skip, CatchUp::Once, CatchUp::All];

    /// Its name.
    pub const fn as_str(self) -> &'static str {
        match self {
            CatchUp::Skip => "skip",
            CatchUp::Once => "once",
            CatchUp::All => "all",
        }
    }

    /// Parses a policy name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// A checked cron expression in a time zone.
#[derive(Debug, Clone)]
pub struct CronSpec {
    cron: Cron,
    tz: Tz,
}

impl CronSpec {
    /// Parses `cron` and the IANA zone `time_zone`, naming each bad one by its field (`cron`,
    /// `time_zone`). An expression that never fires again is refused too.
    pub fn parse(cron: &str, time_zone: &str) -> Result<Self, Vec<FieldError>> {
        let mut errors = vec![];
        let tz = match Tz::from_str(time_zone) {
            Ok(tz) => Some(tz),
            Err(_) => {
                errors.push(FieldError::new(
                    "time_zone",
                    format!("unknown time zone {time_zone:?}; expected an IANA name such as UTC or Europe/Berlin"),
                ));
                None
            }
        };
        let parsed = if cron.trim().is_empty() || cron.len() > MAX_CRON_LEN {
            errors.push(FieldError::new(
                "cron",
                format!("expected a cron expression of 1 to {MAX_CRON_LEN} characters"),
            ));
            None
        } else {
            match CronParser::builder()
                .seconds(Seconds::Optional)
                .build()
                .parse(cron.trim())
            {
                Ok(c) => Some(c),
                Err(e) => {
                    errors.push(FieldError::new(
                        "cron",
                        format!("not a cron expression ({e}); expected 5 fields `minute hour day-of-month month day-of-week`, or 6 with seconds first"),
                    ));
                    None
                }
            }
        };
        let (Some(cron), Some(tz)) = (parsed, tz) else {
            return Err(errors);
        };
        let spec = Self { cron, tz };
        if spec.next_after(Utc::now()).is_none() {
            return Err(vec![FieldError::new(
                "cron",
                "this expression never fires (e.g. a day that does not exist)",
            )]);
        }
        Ok(spec)
    }

    /// The first fire time strictly after `t`, if any.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron
            .find_next_occurrence(&t.with_timezone(&self.tz), false)
            .ok()
            .map(|d| d.with_timezone(&Utc))
    }

    /// The last fire time at or before `t`, if any.
    pub fn latest_at_or_before(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron
            .find_previous_occurrence(&t.with_timezone(&self.tz), true)
            .ok()
            .map(|d| d.with_timezone(&Utc))
    }

    fn before(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron
            .find_previous_occurrence(&t.with_timezone(&self.tz), false)
            .ok()
            .map(|d| d.with_timezone(&Utc))
    }
}

/// What one tick does with a due schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Fire times to run now, oldest first.
    pub fire: Vec<DateTime<Utc>>,
    /// The next fire time not handled yet (possibly still in the past for `all`).
    pub next: Option<DateTime<Utc>>,
}

/// Decides the fire times of a schedule that was due at `due` (its `next_fire_at`, at or before
/// `now`), by its policy.
pub fn plan(spec: &CronSpec, catch_up: CatchUp, due: DateTime<Utc>, now: DateTime<Utc>) -> Plan {
    let after_now = spec.next_after(now);
    let Some(latest) = spec.latest_at_or_before(now).filter(|l| *l >= due) else {
        // Nothing between `due` and now (the expression changed under it): just move on.
        return Plan {
            fire: vec![],
            next: after_now,
        };
    };
    match catch_up {
        CatchUp::Skip => Plan {
            fire: if now - latest <= GRACE {
                vec![latest]
            } else {
                vec![]
            },
            next: after_now,
        },
        CatchUp::Once => Plan {
            fire: vec![latest],
            next: after_now,
        },
        CatchUp::All => {
            // Walk back from the latest to `due`, at most MAX_BACKLOG fire times.
            let mut backlog = vec![latest];
            while backlog.len() < MAX_BACKLOG {
                match spec.before(*backlog.last().expect("never empty")) {
                    Some(t) if t >= due => backlog.push(t),
                    _ => break,
                }
            }
            backlog.reverse();
            if backlog.len() > MAX_FIRES_PER_TICK {
                let next = Some(backlog[MAX_FIRES_PER_TICK]);
                backlog.truncate(MAX_FIRES_PER_TICK);
                Plan {
                    fire: backlog,
                    next,
                }
            } else {
                Plan {
                    fire: backlog,
                    next: after_now,
                }
            }
        }
    }
}

/// A schedule, as its tenant sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Schedule {
    /// Its id.
    pub id: Uuid,
    /// Its workflow.
    pub workflow_id: Uuid,
    /// The cron expression.
    pub cron: String,
    /// The IANA time zone it is read in.
    pub time_zone: String,
    /// What happens to missed fire times.
    pub catch_up: CatchUp,
    /// The input of each run.
    pub input: Value,
    /// Whether it fires.
    pub enabled: bool,
    /// Its next fire time (none when disabled or when it never fires again).
    pub next_fire_at: Option<DateTime<Utc>>,
    /// The last fire time it handled.
    pub last_fire_at: Option<DateTime<Utc>>,
    /// The run the last fire started.
    pub last_run_id: Option<Uuid>,
    /// Why the last fire started no run.
    pub last_error: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

struct Row {
    id: Uuid,
    workflow_id: Uuid,
    cron: String,
    time_zone: String,
    catch_up: String,
    input: Value,
    enabled: bool,
    next_fire_at: Option<DateTime<Utc>>,
    last_fire_at: Option<DateTime<Utc>>,
    last_run_id: Option<Uuid>,
    last_error: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<Row> for Schedule {
    fn from(r: Row) -> Self {
        Self {
            id: r.id,
            workflow_id: r.workflow_id,
            cron: r.cron,
            time_zone: r.time_zone,
            catch_up: CatchUp::parse(&r.catch_up).unwrap_or(CatchUp::Once),
            input: r.input,
            enabled: r.enabled,
            next_fire_at: r.enabled.then_some(r.next_fire_at).flatten(),
            last_fire_at: r.last_fire_at,
            last_run_id: r.last_run_id,
            last_error: r.last_error,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// A schedule to create, or a change to one (absent fields stay as they are), parsed at the
/// edge with every problem named by its path.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScheduleFields {
    cron: Option<String>,
    time_zone: Option<String>,
    catch_up: Option<CatchUp>,
    input: Option<Value>,
    enabled: Option<bool>,
}

const FIELDS: &[&str] = &["cron", "time_zone", "catch_up", "input", "enabled"];

impl ScheduleFields {
    /// Parses a create body (`cron` required) or a patch body (`create` false).
    pub fn parse(body: &Value, create: bool) -> Result<Self, Vec<FieldError>> {
        let Value::Object(map) = body else {
            return Err(vec![FieldError::new("", "expected a JSON object")]);
        };
        let mut errors = vec![];
        for k in map.keys().filter(|k| !FIELDS.contains(&k.as_str())) {
            errors.push(FieldError::new(
                k.as_str(),
                format!("unknown field; expected one of {}", FIELDS.join(", ")),
            ));
        }
        let mut fields = Self::default();
        match map.get("cron") {
            Some(Value::String(c)) => fields.cron = Some(c.trim().to_owned()),
            None if !create => {}
            _ => errors.push(FieldError::new(
                "cron",
                "required: a cron expression such as \"*/15 * * * *\"",
            )),
        }
        match map.get("time_zone") {
            Some(Value::String(z)) => fields.time_zone = Some(z.trim().to_owned()),
            None | Some(Value::Null) => {}
            _ => errors.push(FieldError::new(
                "time_zone",
                "expected an IANA time zone name",
            )),
        }
        match map.get("catch_up") {
            Some(Value::String(c)) => match CatchUp::parse(c) {
                Some(c) => fields.catch_up = Some(c),
                None => errors.push(FieldError::new(
                    "catch_up",
                    "expected one of skip, once, all",
                )),
            },
            None | Some(Value::Null) => {}
            _ => errors.push(FieldError::new(
                "catch_up",
                "expected one of skip, once, all",
            )),
        }
        match map.get("input") {
            Some(v @ Value::Object(_)) => fields.input = Some(v.clone()),
            None | Some(Value::Null) => {}
            _ => errors.push(FieldError::new("input", "expected a JSON object")),
        }
        match map.get("enabled") {
            Some(Value::Bool(b)) => fields.enabled = Some(*b),
            None | Some(Value::Null) => {}
            _ => errors.push(FieldError::new("enabled", "expected true or false")),
        }
        // The expression and the zone are checked together (a zone alone is checked too).
        if fields.cron.is_some() || fields.time_zone.is_some() {
            let cron = fields.cron.as_deref().unwrap_or("* * * * *");
            let zone = fields.time_zone.as_deref().unwrap_or("UTC");
            if let Err(e) = CronSpec::parse(cron, zone) {
                errors.extend(e);
            }
        }
        if errors.is_empty() {
            Ok(fields)
        } else {
            Err(errors)
        }
    }
}

async fn get_on(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    lock: bool,
) -> Result<Schedule, DomainError> {
    let row = if lock {
        sqlx::query_as!(
            Row,
            r#"SELECT id, workflow_id, cron, time_zone, catch_up, input, enabled, next_fire_at,
                      last_fire_at, last_run_id, last_error, created_at, updated_at
               FROM workflow_schedules WHERE id = $1 AND tenant_id = $2 FOR UPDATE"#,
            id,
            tenant_id
        )
        .fetch_optional(&mut *conn)
        .await?
    } else {
        sqlx::query_as!(
            Row,
            r#"SELECT id, workflow_id, cron, time_zone, catch_up, input, enabled, next_fire_at,
                      last_fire_at, last_run_id, last_error, created_at, updated_at
               FROM workflow_schedules WHERE id = $1 AND tenant_id = $2"#,
            id,
            tenant_id
        )
        .fetch_optional(&mut *conn)
        .await?
    };
    row.map(Schedule::from)
        .ok_or(DomainError::NotFound("schedule"))
}

/// Creates a schedule of the tenant's workflow `workflow_id`; its first fire time is the first
/// after now. `fields` must come from [`ScheduleFields::parse`] with `create`.
pub async fn create(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    workflow_id: Uuid,
    fields: ScheduleFields,
) -> Result<Schedule, DomainError> {
    // The workflow must be the tenant's; locking it serialises the count below.
    super::get_on(conn, tenant_id, workflow_id, true).await?;
    let count = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM workflow_schedules WHERE workflow_id = $1"#,
        workflow_id
    )
    .fetch_one(&mut *conn)
    .await?;
    if count >= MAX_PER_WORKFLOW {
        return Err(DomainError::Conflict(format!(
            "a workflow has at most {MAX_PER_WORKFLOW} schedules"
        )));
    }
    let cron = fields.cron.unwrap_or_default();
    let time_zone = fields.time_zone.unwrap_or_else(|| "UTC".into());
    let spec = CronSpec::parse(&cron, &time_zone).map_err(|mut e| e.remove(0))?;
    let catch_up = fields.catch_up.unwrap_or(CatchUp::Once);
    let input = fields
        .input
        .unwrap_or_else(|| Value::Object(Default::default()));
    let enabled = fields.enabled.unwrap_or(true);
    let id = Uuid::now_v7();
    let row = sqlx::query_as!(
        Row,
        r#"INSERT INTO workflow_schedules (id, tenant_id, workflow_id, cron, time_zone, catch_up,
                                           input, enabled, next_fire_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           RETURNING id, workflow_id, cron, time_zone, catch_up, input, enabled, next_fire_at,
                     last_fire_at, last_run_id, last_error, created_at, updated_at"#,
        id,
        tenant_id,
        workflow_id,
        cron,
        time_zone,
        catch_up.as_str(),
        input,
        enabled,
        spec.next_after(Utc::now())
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.into())
}

/// Changes a schedule. A new expression, zone, or enabling it, moves its next fire time to the
/// first after now (fire times while it was disabled are not caught up).
pub async fn update(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    fields: ScheduleFields,
) -> Result<Changed<Schedule>, DomainError> {
    let before = get_on(conn, tenant_id, id, true).await?;
    let cron = fields.cron.clone().unwrap_or(before.cron.clone());
    let time_zone = fields.time_zone.clone().unwrap_or(before.time_zone.clone());
    let spec = CronSpec::parse(&cron, &time_zone).map_err(|mut e| e.remove(0))?;
    let enabled = fields.enabled.unwrap_or(before.enabled);
    let reschedule =
        cron != before.cron || time_zone != before.time_zone || (enabled && !before.enabled);
    let row = sqlx::query_as!(
        Row,
        r#"UPDATE workflow_schedules SET cron = $3, time_zone = $4, catch_up = $5, input = $6,
                  enabled = $7, next_fire_at = CASE WHEN $8 THEN $9 ELSE next_fire_at END,
                  updated_at = now()
           WHERE id = $1 AND tenant_id = $2
           RETURNING id, workflow_id, cron, time_zone, catch_up, input, enabled, next_fire_at,
                     last_fire_at, last_run_id, last_error, created_at, updated_at"#,
        id,
        tenant_id,
        cron,
        time_zone,
        fields.catch_up.unwrap_or(before.catch_up).as_str(),
        fields.input.clone().unwrap_or(before.input.clone()),
        enabled,
        reschedule,
        spec.next_after(Utc::now())
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(Changed {
        before,
        after: row.into(),
    })
}

/// Deletes a schedule (its fires go with it; the runs it started stay). Returns it as it was.
pub async fn delete(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Schedule, DomainError> {
    let before = get_on(conn, tenant_id, id, true).await?;
    sqlx::query!("DELETE FROM workflow_schedules WHERE id = $1", id)
        .execute(&mut *conn)
        .await?;
    Ok(before)
}

/// One schedule of this tenant.
pub async fn get(pool: &PgPool, tenant_id: Uuid, id: Uuid) -> Result<Schedule, DomainError> {
    let mut conn = pool.acquire().await?;
    get_on(&mut conn, tenant_id, id, false).await
}

/// The schedules of the tenant's workflow `workflow_id`, oldest first.
pub async fn list(
    pool: &PgPool,
    tenant_id: Uuid,
    workflow_id: Uuid,
) -> Result<Vec<Schedule>, DomainError> {
    let mut conn = pool.acquire().await?;
    super::get_on(&mut conn, tenant_id, workflow_id, false).await?;
    Ok(sqlx::query_as!(
        Row,
        r#"SELECT id, workflow_id, cron, time_zone, catch_up, input, enabled, next_fire_at,
                  last_fire_at, last_run_id, last_error, created_at, updated_at
           FROM workflow_schedules WHERE workflow_id = $1 AND tenant_id = $2
           ORDER BY id"#,
        workflow_id,
        tenant_id
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(Schedule::from)
    .collect())
}

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
    catch_up: String,
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
        r#"SELECT id, tenant_id, workflow_id, cron, time_zone, catch_up, input, next_fire_at
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
            Ok(spec) => plan(
                &spec,
                CatchUp::parse(&d.catch_up).unwrap_or(CatchUp::Once),
                due_at,
                now,
            ),
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
    use chrono::{DurationRound, TimeZone};
    use serde_json::json;

    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn fires(spec: &CronSpec, from: &str, n: usize) -> Vec<DateTime<Utc>> {
        let mut t = utc(from);
        (0..n)
            .map(|_| {
                t = spec.next_after(t).unwrap();
                t
            })
            .collect()
    }

    #[test]
    fn a_daily_time_in_a_spring_forward_gap_fires_once_at_the_end_of_the_gap() {
        // Berlin, 2026-03-29: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist.
        let spec = CronSpec::parse("30 2 * * *", "Europe/Berlin").unwrap();
        assert_eq!(
            fires(&spec, "2026-03-27T12:00:00Z", 3),
            [
                utc("2026-03-28T01:30:00Z"), // 02:30 CET
                utc("2026-03-29T01:00:00Z"), // 03:00 CEST, the first instant after the gap
                utc("2026-03-30T00:30:00Z"), // 02:30 CEST
            ]
        );
    }

    #[test]
    fn a_daily_time_in_a_fall_back_overlap_fires_once() {
        // Berlin, 2026-10-25: 03:00 CEST falls back to 02:00 CET; 02:30 happens twice.
        let spec = CronSpec::parse("30 2 * * *", "Europe/Berlin").unwrap();
        assert_eq!(
            fires(&spec, "2026-10-24T12:00:00Z", 2),
            [utc("2026-10-25T00:30:00Z"), utc("2026-10-26T01:30:00Z")]
        );
    }

    #[test]
    fn an_hourly_schedule_fires_at_every_real_hour_across_both_changes() {
        let spec = CronSpec::parse("0 * * * *", "Europe/Berlin").unwrap();
        // Fall back: 02:00 CEST, 02:00 CET and 03:00 CET are three real hours.
        assert_eq!(
            fires(&spec, "2026-10-24T23:30:00Z", 3),
            [
                utc("2026-10-25T00:00:00Z"),
                utc("2026-10-25T01:00:00Z"),
                utc("2026-10-25T02:00:00Z")
            ]
        );
        // Spring forward: 01:00 CET, then 03:00 CEST, one real hour later.
        assert_eq!(
            fires(&spec, "2026-03-28T23:30:00Z", 2),
            [utc("2026-03-29T00:00:00Z"), utc("2026-03-29T01:00:00Z")]
        );
    }

    #[test]
    fn wall_clock_times_follow_the_zone_offset() {
        // New York leaves EST (UTC-5) for EDT (UTC-4) on 2026-03-08: 09:00 moves by an hour in UTC.
        let spec = CronSpec::parse("0 9 * * *", "America/New_York").unwrap();
        assert_eq!(
            fires(&spec, "2026-03-06T15:00:00Z", 3),
            [
                utc("2026-03-07T14:00:00Z"),
                utc("2026-03-08T13:00:00Z"),
                utc("2026-03-09T13:00:00Z")
            ]
        );
        // Six fields: seconds first.
        let spec = CronSpec::parse("*/20 * * * * *", "UTC").unwrap();
        assert_eq!(
            fires(&spec, "2026-01-01T00:00:05Z", 2),
            [utc("2026-01-01T00:00:20Z"), utc("2026-01-01T00:00:40Z")]
        );
    }

    #[test]
    fn bad_expressions_and_zones_are_named_by_field() {
        let paths = |cron: &str, tz: &str| -> Vec<String> {
            CronSpec::parse(cron, tz)
                .unwrap_err()
                .into_iter()
                .map(|e| e.path)
                .collect()
        };
        assert_eq!(paths("61 * * * *", "UTC"), ["cron"]);
        assert_eq!(paths("* * *", "UTC"), ["cron"]);
        assert_eq!(paths("", "UTC"), ["cron"]);
        assert_eq!(
            paths("0 0 30 2 *", "UTC"),
            ["cron"],
            "February 30th never comes"
        );
        assert_eq!(paths("0 9 * * *", "Mars/Olympus"), ["time_zone"]);
        assert_eq!(paths("nope", "Nowhere"), ["time_zone", "cron"]);
        assert!(CronSpec::parse("@daily", "Asia/Kolkata").is_ok());

        let body = json!({"cron": "0 9 * * *", "time_zone": "Mars/Olympus", "catch_up": "twice", "input": [1], "extra": 1});
        let mut paths: Vec<String> = ScheduleFields::parse(&body, true)
            .unwrap_err()
            .into_iter()
            .map(|e| e.path)
            .collect();
        paths.sort();
        assert_eq!(paths, ["catch_up", "extra", "input", "time_zone"]);
        assert_eq!(
            ScheduleFields::parse(&json!({}), true).unwrap_err()[0].path,
            "cron"
        );
        assert!(ScheduleFields::parse(&json!({}), false).is_ok());
    }

    #[test]
    fn each_policy_plans_the_missed_fire_times() {
        let spec = CronSpec::parse("0 * * * *", "UTC").unwrap();
        let due = utc("2026-01-01T07:00:00Z");
        let now = utc("2026-01-01T12:30:00Z");
        let hours = |hs: &[u32]| -> Vec<DateTime<Utc>> {
            hs.iter()
                .map(|h| Utc.with_ymd_and_hms(2026, 1, 1, *h, 0, 0).unwrap())
                .collect()
        };
        let next = Some(utc("2026-01-01T13:00:00Z"));
        assert_eq!(
            plan(&spec, CatchUp::Skip, due, now),
            Plan { fire: vec![], next }
        );
        assert_eq!(
            plan(&spec, CatchUp::Once, due, now),
            Plan {
                fire: hours(&[12]),
                next
            }
        );
        assert_eq!(
            plan(&spec, CatchUp::All, due, now),
            Plan {
                fire: hours(&[7, 8, 9, 10, 11, 12]),
                next
            }
        );
        // On time (within the grace), every policy fires the one fire time.
        let on_time = utc("2026-01-01T12:00:30Z");
        for c in CatchUp::ALL {
            assert_eq!(
                plan(&spec, c, utc("2026-01-01T12:00:00Z"), on_time).fire,
                hours(&[12])
            );
        }
        // A long backlog: at most MAX_BACKLOG, MAX_FIRES_PER_TICK per tick, oldest first.
        let spec = CronSpec::parse("* * * * *", "UTC").unwrap();
        let now = utc("2026-01-10T00:00:00Z");
        let p = plan(&spec, CatchUp::All, utc("2026-01-01T00:00:00Z"), now);
        assert_eq!(p.fire.len(), MAX_FIRES_PER_TICK);
        assert_eq!(
            p.fire[0],
            now - Duration::minutes(MAX_BACKLOG as i64 - 1),
            "older ones are dropped"
        );
        assert_eq!(
            p.next,
            Some(p.fire[MAX_FIRES_PER_TICK - 1] + Duration::minutes(1))
        );
    }

    async fn setup(pool: &PgPool, catch_up: &str, cron: &str) -> (Uuid, Uuid) {
        let mut conn = pool.acquire().await.unwrap();
        let tenant = crate::auth::ensure_tenant(&mut conn, "t").await.unwrap();
        let wf = super::super::create(
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
        super::super::disable(&mut conn, tenant, wf).await.unwrap();
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
