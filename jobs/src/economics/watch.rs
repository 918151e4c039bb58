//! The economics watch: a tenant's thresholds on what its sources earn and cost, judged per
//! source over a window of days, and the `source.economics` event a breach emits for alert
//! rules and subscriptions.
//!
//! A watch names a ceiling on the cost per confirmed lead and/or asks to hear of a negative
//! ROI. Sources that spent less than `min_cost_micros` in the window are not judged (one cheap
//! call with no sale yet is not news). A source that spent more than the ceiling without a
//! single confirmed lead has crossed it too: whatever it sells next, each sale cost more.
//!
//! Every worker's scheduler calls [`tick`]; each due watch is claimed with `FOR UPDATE SKIP
//! LOCKED` and judged while its row is held, so one worker judges it at a time and a change to
//! the watch waits for the judgement in progress. A breach is remembered
//! (`economics_breaches`) while it holds: its event is written in the transaction that records
//! it, once, and a breach that ends is forgotten, so the next crossing alerts again. The
//! figures come from [`super::report`]; nothing here writes a ledger row.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{Figures, GroupBy, Query, report};
use crate::{
    DomainError, FieldError,
    deliveries::events::{self, EventType},
    kinds::from_value,
};

/// The longest window, in days.
pub const MAX_WINDOW_DAYS: i32 = 90;

/// How long after a judgement a watch is judged again.
pub const RECHECK: Duration = Duration::minutes(5);

crate::named_enum! {
    /// What a source's figures crossed.
    pub enum Condition {
        /// Its cost per confirmed lead rose above the watch's ceiling.
        CostPerConfirmedLead = "cost_per_confirmed_lead",
        /// It cost more than it earned (ROI below zero).
        NegativeRoi = "negative_roi",
    }
}

/// A watch as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchSpec {
    /// The days judged, ending today (UTC), 1 to [`MAX_WINDOW_DAYS`].
    pub window_days: i32,
    /// The ceiling on the cost per confirmed lead, micro-dollars; none: not watched.
    pub max_cost_per_confirmed_lead_micros: Option<i64>,
    /// Whether a negative ROI is a breach.
    pub negative_roi: bool,
    /// Sources that spent less in the window are not judged.
    pub min_cost_micros: i64,
}

impl WatchSpec {
    /// Checks the bounds, naming the field at fault.
    pub fn validate(&self) -> Result<(), FieldError> {
        if !(1..=MAX_WINDOW_DAYS).contains(&self.window_days) {
            return Err(FieldError::new(
                "window_days",
                format!("must be 1 to {MAX_WINDOW_DAYS}"),
            ));
        }
        if self
            .max_cost_per_confirmed_lead_micros
            .is_some_and(|m| m <= 0)
        {
            return Err(FieldError::new(
                "max_cost_per_confirmed_lead_micros",
                "must be positive",
            ));
        }
        if self.min_cost_micros < 0 {
            return Err(FieldError::new("min_cost_micros", "must not be negative"));
        }
        if !self.negative_roi && self.max_cost_per_confirmed_lead_micros.is_none() {
            return Err(FieldError::new(
                "negative_roi",
                "watches nothing: set `max_cost_per_confirmed_lead_micros` or `negative_roi`",
            ));
        }
        Ok(())
    }
}

/// The window when a body names none.
pub const DEFAULT_WINDOW_DAYS: i32 = 7;

/// The floor when a body names none: $1.00, so a new source's first calls, made before any
/// sale could come back, are not a negative ROI.
pub const DEFAULT_MIN_COST_MICROS: i64 = 1_000_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    #[serde(default)]
    window_days: Option<i32>,
    #[serde(default)]
    max_cost_per_confirmed_lead_micros: Option<i64>,
    #[serde(default)]
    negative_roi: bool,
    #[serde(default)]
    min_cost_micros: Option<i64>,
}

impl TryFrom<Value> for WatchSpec {
    type Error = FieldError;

    fn try_from(value: Value) -> Result<Self, FieldError> {
        let r: Request = from_value(value)?;
        let spec = WatchSpec {
            window_days: r.window_days.unwrap_or(DEFAULT_WINDOW_DAYS),
            max_cost_per_confirmed_lead_micros: r.max_cost_per_confirmed_lead_micros,
            negative_roi: r.negative_roi,
            min_cost_micros: r.min_cost_micros.unwrap_or(DEFAULT_MIN_COST_MICROS),
        };
        spec.validate()?;
        Ok(spec)
    }
}

/// A tenant's watch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Watch {
    /// The days judged, ending today (UTC).
    pub window_days: i32,
    /// The ceiling on the cost per confirmed lead, micro-dollars.
    pub max_cost_per_confirmed_lead_micros: Option<i64>,
    /// Whether a negative ROI is a breach.
    pub negative_roi: bool,
    /// Sources that spent less in the window are not judged.
    pub min_cost_micros: i64,
    /// The sources in breach now.
    pub breaches: Vec<Breach>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// A breach that holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Breach {
    /// The source.
    pub source_id: Uuid,
    /// What it crossed.
    pub condition: Condition,
    /// Since when (the judgement that found it).
    pub since: DateTime<Utc>,
}

/// The tenant's watch, with its breaches; none when it has none.
pub async fn get(pool: &PgPool, tenant_id: Uuid) -> Result<Option<Watch>, DomainError> {
    let mut conn = pool.acquire().await?;
    get_on(&mut conn, tenant_id).await
}

/// [`get`] on `conn` (a transaction that changes it).
pub async fn get_on(
    conn: &mut PgConnection,
    tenant_id: Uuid,
) -> Result<Option<Watch>, DomainError> {
    let Some(w) = sqlx::query!(
        r#"SELECT window_days, max_cost_per_confirmed_lead_micros, negative_roi, min_cost_micros,
                  updated_at
           FROM economics_watches WHERE tenant_id = $1"#,
        tenant_id
    )
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let breaches = sqlx::query_as!(
        Breach,
        r#"SELECT source_id, condition AS "condition: Condition", since
           FROM economics_breaches WHERE tenant_id = $1 ORDER BY since, source_id, condition"#,
        tenant_id
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(Some(Watch {
        window_days: w.window_days,
        max_cost_per_confirmed_lead_micros: w.max_cost_per_confirmed_lead_micros,
        negative_roi: w.negative_roi,
        min_cost_micros: w.min_cost_micros,
        breaches,
        updated_at: w.updated_at,
    }))
}

/// Sets the tenant's watch on `conn` (the caller's transaction, with its audit entry) and
/// has it judged at the next tick. Breaches that still hold under the new thresholds are kept
/// (and alert no more); the others end at that judgement.
pub async fn put(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    spec: &WatchSpec,
) -> Result<Watch, DomainError> {
    spec.validate()?;
    sqlx::query!(
        r#"INSERT INTO economics_watches (tenant_id, window_days, max_cost_per_confirmed_lead_micros,
                                         negative_roi, min_cost_micros)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (tenant_id) DO UPDATE SET
               window_days = EXCLUDED.window_days,
               max_cost_per_confirmed_lead_micros = EXCLUDED.max_cost_per_confirmed_lead_micros,
               negative_roi = EXCLUDED.negative_roi,
               min_cost_micros = EXCLUDED.min_cost_micros,
               next_check_at = now(),
               updated_at = now()"#,
        tenant_id,
        spec.window_days,
        spec.max_cost_per_confirmed_lead_micros,
        spec.negative_roi,
        spec.min_cost_micros
    )
    .execute(&mut *conn)
    .await?;
    get_on(conn, tenant_id)
        .await?
        .ok_or_else(|| DomainError::NotFound("economics watch"))
}

/// Removes the tenant's watch and forgets its breaches; whether there was one.
pub async fn delete(conn: &mut PgConnection, tenant_id: Uuid) -> Result<bool, DomainError> {
    let n = sqlx::query!(
        "DELETE FROM economics_watches WHERE tenant_id = $1",
        tenant_id
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n > 0)
}

/// What one [`tick`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Judged {
    /// Watches judged.
    pub watches: usize,
    /// Breaches that began (one event each).
    pub began: usize,
    /// Breaches that ended.
    pub ended: usize,
}

/// Judges up to `batch` due watches, each in its own transaction holding its row.
pub async fn tick(pool: &PgPool, now: DateTime<Utc>, batch: usize) -> Result<Judged, DomainError> {
    let mut judged = Judged::default();
    while judged.watches < batch {
        let mut tx = pool.begin().await?;
        let Some(due) = sqlx::query!(
            r#"SELECT tenant_id, window_days, max_cost_per_confirmed_lead_micros, negative_roi,
                      min_cost_micros
               FROM economics_watches WHERE next_check_at <= $1
               ORDER BY next_check_at LIMIT 1 FOR UPDATE SKIP LOCKED"#,
            now
        )
        .fetch_optional(&mut *tx)
        .await?
        else {
            break;
        };
        let tenant_id = due.tenant_id;
        let spec = WatchSpec {
            window_days: due.window_days,
            max_cost_per_confirmed_lead_micros: due.max_cost_per_confirmed_lead_micros,
            negative_roi: due.negative_roi,
            min_cost_micros: due.min_cost_micros,
        };
        let (began, ended) = judge(pool, &mut tx, tenant_id, &spec, now).await?;
        sqlx::query!(
            "UPDATE economics_watches SET next_check_at = $2 WHERE tenant_id = $1",
            tenant_id,
            now + RECHECK
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        judged.watches += 1;
        judged.began += began;
        judged.ended += ended;
    }
    if judged.began > 0 {
        metrics::counter!("economics_breaches_total").increment(judged.began as u64);
    }
    Ok(judged)
}

/// What a source's figures breach under `watch`.
pub fn breaches(spec: &WatchSpec, f: &Figures) -> Vec<Condition> {
    let mut found = Vec::new();
    if f.cost_micros == 0 || f.cost_micros < spec.min_cost_micros {
        return found;
    }
    if let Some(ceiling) = spec.max_cost_per_confirmed_lead_micros {
        let over = match f.cost_per_confirmed_lead_micros {
            Some(per) => per > ceiling,
            // Spent past the ceiling without a sale: the first sale costs more than it.
            None => f.cost_micros > ceiling,
        };
        if over {
            found.push(Condition::CostPerConfirmedLead);
        }
    }
    if spec.negative_roi && f.roi_basis_points.is_some_and(|r| r < 0) {
        found.push(Condition::NegativeRoi);
    }
    found
}

/// Judges the tenant's sources against `w` on `tx` (holding its watch row): records the
/// breaches that begin, with their events, and forgets the ones that ended. Returns (began,
/// ended).
async fn judge(
    pool: &PgPool,
    tx: &mut PgConnection,
    tenant_id: Uuid,
    w: &WatchSpec,
    now: DateTime<Utc>,
) -> Result<(usize, usize), DomainError> {
    let until: NaiveDate = now.date_naive();
    let since = until - Duration::days(i64::from(w.window_days) - 1);
    let r = report(
        pool,
        tenant_id,
        &Query {
            group_by: GroupBy::Source,
            since: Some(since),
            until: Some(until),
        },
    )
    .await?;
    let mut holding: Vec<(Uuid, Condition, Option<String>, Figures)> = Vec::new();
    for g in r.groups {
        let Some(source_id) = g.key.as_deref().and_then(|k| Uuid::parse_str(k).ok()) else {
            continue;
        };
        for c in breaches(w, &g.figures) {
            holding.push((source_id, c, g.name.clone(), g.figures.clone()));
        }
    }
    let (ids, names): (Vec<Uuid>, Vec<&str>) =
        holding.iter().map(|(s, c, ..)| (*s, c.as_str())).unzip();
    let ended = sqlx::query!(
        r#"DELETE FROM economics_breaches b
           WHERE b.tenant_id = $1
             AND NOT EXISTS (SELECT 1 FROM unnest($2::uuid[], $3::text[]) AS h(source_id, condition)
                             WHERE h.source_id = b.source_id AND h.condition = b.condition)"#,
        tenant_id,
        &ids,
        &names as &[&str]
    )
    .execute(&mut *tx)
    .await?
    .rows_affected() as usize;
    let mut began = 0;
    for (source_id, condition, name, f) in holding {
        let new = sqlx::query_scalar!(
            r#"INSERT INTO economics_breaches (tenant_id, source_id, condition, since)
               VALUES ($1, $2, $3, $4)
               ON CONFLICT (tenant_id, source_id, condition) DO NOTHING
               RETURNING since"#,
            tenant_id,
            source_id,
            condition.as_str(),
            now
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some(since_at) = new else { continue };
        let data = event_data(w, source_id, condition, name, &f, (since, until));
        events::emit(
            tx,
            tenant_id,
            EventType::SourceEconomics,
            &format!(
                "source:{source_id}:{}:{}",
                condition.as_str(),
                since_at.timestamp_micros()
            ),
            data,
        )
        .await?;
        tracing::info!(%tenant_id, %source_id, %condition, "a source's economics crossed its watch");
        began += 1;
    }
    Ok((began, ended))
}

fn event_data(
    w: &WatchSpec,
    source_id: Uuid,
    condition: Condition,
    name: Option<String>,
    f: &Figures,
    (since, until): (NaiveDate, NaiveDate),
) -> serde_json::Value {
    let label = name.clone().unwrap_or_else(|| source_id.to_string());
    let dollars = |micros: i64| format!("${:.4}", micros as f64 / 1e6);
    let title = match condition {
        Condition::CostPerConfirmedLead => format!(
            "Source {label}: cost per confirmed lead {} over {} days (ceiling {})",
            f.cost_per_confirmed_lead_micros.map_or_else(
                || format!("{} with none confirmed", dollars(f.cost_micros)),
                dollars
            ),
            w.window_days,
            dollars(w.max_cost_per_confirmed_lead_micros.unwrap_or_default()),
        ),
        Condition::NegativeRoi => format!(
            "Source {label}: ROI {:.1} % over {} days",
            f.roi_basis_points.unwrap_or_default() as f64 / 100.0,
            w.window_days
        ),
    };
    json!({
        "source_id": source_id,
        "source_name": name,
        "condition": condition.as_str(),
        "window_days": w.window_days,
        "since": since,
        "until": until,
        "cost_micros": f.cost_micros,
        "leads": f.leads,
        "leads_confirmed": f.leads_confirmed,
        "cost_per_confirmed_lead_micros": f.cost_per_confirmed_lead_micros,
        "max_cost_per_confirmed_lead_micros": w.max_cost_per_confirmed_lead_micros,
        "roi_basis_points": f.roi_basis_points,
        "revenue": f.revenue,
        "title": title,
    })
}
