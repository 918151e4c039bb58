//! Cron schedules: a workflow started at the fire times of a cron expression in a time zone,
//! exactly once per fire time however many workers run, with a catch-up policy for fire times
//! missed while no scheduler ran.
//!
//! - `cron` (no storage): [`CronSpec`], a checked expression (standard 5 fields, or 6 with
//!   seconds first; `@daily` and friends; read by `croner`) and an IANA time zone
//!   (`chrono-tz`), whose fire times follow the zone's wall clock across DST changes; the
//!   [`CatchUp`] policies and [`plan`], what a tick fires for a due schedule.
//! - Here: [`create`], [`update`], [`delete`], [`get`], [`list`]: a workflow's schedules.
//! - `tick`: [`tick`], called by every worker's scheduler loop (`sources::schedule::run`). It
//!   claims the due schedules with `FOR UPDATE SKIP LOCKED`, decides their fire times by their
//!   policy ([`plan`]), inserts one `workflow_schedule_fires` row per fire time (primary key
//!   `(schedule, fire_at)`, so a duplicate is impossible even if two claimers raced), starts each
//!   run in the same transaction and advances `next_fire_at`.
//!
//! It never runs a job and never speaks HTTP.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::Changed;
use crate::{DomainError, FieldError};

mod cron;
mod tick;

pub use cron::{
    CatchUp, CronSpec, GRACE, MAX_BACKLOG, MAX_CRON_LEN, MAX_FIRES_PER_TICK, Plan, plan,
};
pub use tick::{FIRE_RETENTION, Fired, purge_fires, tick};

/// Most schedules per workflow.
pub const MAX_PER_WORKFLOW: i64 = 20;

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
    catch_up: CatchUp,
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
            catch_up: r.catch_up,
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
                    format!("expected one of {}", CatchUp::names()),
                )),
            },
            None | Some(Value::Null) => {}
            _ => errors.push(FieldError::new(
                "catch_up",
                format!("expected one of {}", CatchUp::names()),
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
            r#"SELECT id, workflow_id, cron, time_zone, catch_up AS "catch_up: CatchUp", input, enabled,
                  next_fire_at,
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
            r#"SELECT id, workflow_id, cron, time_zone, catch_up AS "catch_up: CatchUp", input, enabled,
                  next_fire_at,
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
           RETURNING id, workflow_id, cron, time_zone, catch_up AS "catch_up: CatchUp", input,
                     enabled, next_fire_at,
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
           RETURNING id, workflow_id, cron, time_zone, catch_up AS "catch_up: CatchUp", input,
                     enabled, next_fire_at,
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
        r#"SELECT id, workflow_id, cron, time_zone, catch_up AS "catch_up: CatchUp", input, enabled,
                  next_fire_at,
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn schedule_fields_name_every_bad_field() {
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
}
