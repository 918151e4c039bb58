//! Alert rules: when to tell which destinations, and how.
//!
//! A rule watches one event type, filters its data (a score at least `min_score`, a category
//! among `categories`; `signal.classified` matches relevant verdicts only), and names its
//! destinations. Per destination it delivers at once, or gathers matches for `digest_secs`
//! into one message; a throttle caps the messages per destination per window (what it holds
//! back is recorded as `suppressed`); quiet hours in a time zone hold messages until they end.

use chrono::{DateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{channels::ChannelKind, events::EventType, render};
use crate::{
    DomainError, FieldError,
    audit::{self, Actor, Change},
    kinds::from_value,
};

/// Longest name.
pub const MAX_NAME: usize = 100;
/// Most destinations one rule names.
pub const MAX_DESTINATIONS: usize = 20;
/// Most categories one rule lists.
pub const MAX_CATEGORIES: usize = 50;
/// Longest digest window (a week).
pub const MAX_DIGEST_SECS: i32 = 604_800;

/// At most `max` messages per destination in any `per_secs` window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Throttle {
    /// Messages allowed in the window (1 to 10,000).
    pub max: i32,
    /// The window, seconds (1 to a week).
    pub per_secs: i32,
}

/// Hours in which nothing is sent: what matches is sent when they end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    /// When they start, local time (`22:00`).
    pub start: NaiveTime,
    /// When they end, local time (`07:00`; before `start` means the next day).
    pub end: NaiveTime,
    /// The IANA time zone (`Europe/Paris`).
    pub time_zone: String,
}

impl QuietHours {
    /// When the quiet hours around `now` end, or `None` when `now` is not in them.
    pub fn until(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let tz: Tz = self.time_zone.parse().ok()?;
        let local = now.with_timezone(&tz);
        let time = local.time();
        let quiet = if self.start <= self.end {
            time >= self.start && time < self.end
        } else {
            time >= self.start || time < self.end
        };
        if !quiet {
            return None;
        }
        let mut day = local.date_naive();
        if time >= self.end {
            day = day.succ_opt()?;
        }
        // A wall-clock time that does not exist (a DST gap) resolves to the next hour's.
        let end = day.and_time(self.end);
        let resolved = tz.from_local_datetime(&end).earliest().or_else(|| {
            tz.from_local_datetime(&(end + chrono::TimeDelta::hours(1)))
                .earliest()
        })?;
        Some(resolved.with_timezone(&Utc))
    }
}

/// An alert rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertRule {
    /// Its id.
    pub id: Uuid,
    /// Its name, unique in the tenant.
    pub name: String,
    /// Whether it alerts.
    pub enabled: bool,
    /// The event it watches.
    pub event: EventType,
    /// Only data with a `score` at least this.
    pub min_score: Option<i16>,
    /// Only data whose `category` is one of these (empty: any).
    pub categories: Vec<String>,
    /// Where it alerts.
    pub destination_ids: Vec<Uuid>,
    /// A template per destination kind (none: the default).
    pub templates: Value,
    /// 0: at once; otherwise the digest window, seconds.
    pub digest_secs: i32,
    /// At most so many messages per destination per window.
    pub throttle: Option<Throttle>,
    /// Hours in which nothing is sent.
    pub quiet_hours: Option<QuietHours>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl AlertRule {
    /// Whether an event's data passes this rule's filter.
    pub fn matches(&self, data: &Value) -> bool {
        if self.event == EventType::SignalClassified
            && data.get("relevant").and_then(Value::as_bool) != Some(true)
        {
            return false;
        }
        if let Some(min) = self.min_score {
            match data.get("score").and_then(Value::as_f64) {
                Some(score) if score >= f64::from(min) => {}
                _ => return false,
            }
        }
        if !self.categories.is_empty() {
            let category = data.get("category").and_then(Value::as_str);
            if !category.is_some_and(|c| self.categories.iter().any(|k| k == c)) {
                return false;
            }
        }
        true
    }

    /// The template for a destination of `kind`, when the rule has one.
    pub fn template(&self, kind: ChannelKind) -> Option<&str> {
        self.templates.get(kind.as_str()).and_then(Value::as_str)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    name: String,
    event: String,
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    min_score: Option<i16>,
    #[serde(default)]
    categories: Vec<String>,
    destination_ids: Vec<Uuid>,
    #[serde(default)]
    templates: Option<Value>,
    #[serde(default)]
    digest_secs: i32,
    #[serde(default)]
    throttle: Option<Throttle>,
    #[serde(default)]
    quiet_hours: Option<QuietHours>,
}

fn yes() -> bool {
    true
}

/// A rule to create, or the whole new content of a rule (a change replaces every field).
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSpec {
    /// Its name.
    pub name: String,
    /// Whether it alerts.
    pub enabled: bool,
    /// The event it watches.
    pub event: EventType,
    /// The score filter.
    pub min_score: Option<i16>,
    /// The category filter.
    pub categories: Vec<String>,
    /// Where it alerts.
    pub destination_ids: Vec<Uuid>,
    /// Templates per destination kind.
    pub templates: Value,
    /// The digest window (0: at once).
    pub digest_secs: i32,
    /// The throttle.
    pub throttle: Option<Throttle>,
    /// Quiet hours.
    pub quiet_hours: Option<QuietHours>,
}

impl TryFrom<Value> for RuleSpec {
    type Error = FieldError;

    fn try_from(value: Value) -> Result<Self, FieldError> {
        let r: Request = from_value(value)?;
        let name = r.name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control)
        {
            return Err(FieldError::new(
                "name",
                format!("expected 1 to {MAX_NAME} printable characters"),
            ));
        }
        let event = EventType::parse(&r.event)
            .filter(|e| e.alertable())
            .ok_or_else(|| {
                let names: Vec<_> = EventType::ALL
                    .iter()
                    .filter(|e| e.alertable())
                    .map(|e| e.as_str())
                    .collect();
                FieldError::new("event", format!("expected one of {}", names.join(", ")))
            })?;
        if let Some(min) = r.min_score
            && !(0..=100).contains(&min)
        {
            return Err(FieldError::new("min_score", "expected 0 to 100"));
        }
        if r.categories.len() > MAX_CATEGORIES {
            return Err(FieldError::new(
                "categories",
                format!("at most {MAX_CATEGORIES}"),
            ));
        }
        for (i, c) in r.categories.iter().enumerate() {
            if c.is_empty() || c.len() > 100 {
                return Err(FieldError::new(
                    format!("categories[{i}]"),
                    "expected 1 to 100 characters",
                ));
            }
        }
        if r.destination_ids.is_empty() || r.destination_ids.len() > MAX_DESTINATIONS {
            return Err(FieldError::new(
                "destination_ids",
                format!("expected 1 to {MAX_DESTINATIONS} destinations"),
            ));
        }
        let mut destination_ids = r.destination_ids;
        destination_ids.sort();
        destination_ids.dedup();
        let templates = r.templates.unwrap_or_else(|| json!({}));
        let Some(map) = templates.as_object() else {
            return Err(FieldError::new(
                "templates",
                "expected an object of templates by destination kind",
            ));
        };
        for (kind, template) in map {
            let path = format!("templates.{kind}");
            let kind = ChannelKind::parse(kind).ok_or_else(|| {
                FieldError::new(
                    path.clone(),
                    format!("expected a destination kind: {}", ChannelKind::names()),
                )
            })?;
            let text = template
                .as_str()
                .ok_or_else(|| FieldError::new(path.clone(), "expected a template string"))?;
            render::check_template(kind, text).map_err(|e| e.under(&path))?;
        }
        if !(0..=MAX_DIGEST_SECS).contains(&r.digest_secs) {
            return Err(FieldError::new(
                "digest_secs",
                format!("expected 0 (at once) to {MAX_DIGEST_SECS} seconds"),
            ));
        }
        if let Some(t) = r.throttle {
            if !(1..=10_000).contains(&t.max) {
                return Err(FieldError::new("throttle.max", "expected 1 to 10000"));
            }
            if !(1..=MAX_DIGEST_SECS).contains(&t.per_secs) {
                return Err(FieldError::new(
                    "throttle.per_secs",
                    format!("expected 1 to {MAX_DIGEST_SECS} seconds"),
                ));
            }
        }
        if let Some(q) = &r.quiet_hours {
            if q.time_zone.parse::<Tz>().is_err() {
                return Err(FieldError::new(
                    "quiet_hours.time_zone",
                    "expected an IANA time zone such as Europe/Paris",
                ));
            }
            if q.start == q.end {
                return Err(FieldError::new(
                    "quiet_hours.end",
                    "expected an end different from the start",
                ));
            }
        }
        Ok(Self {
            name: name.to_owned(),
            enabled: r.enabled,
            event,
            min_score: r.min_score,
            categories: r.categories,
            destination_ids,
            templates,
            digest_secs: r.digest_secs,
            throttle: r.throttle,
            quiet_hours: r.quiet_hours,
        })
    }
}

struct Row {
    id: Uuid,
    name: String,
    enabled: bool,
    event: String,
    min_score: Option<i16>,
    categories: Vec<String>,
    destination_ids: Vec<Uuid>,
    templates: Value,
    digest_secs: i32,
    throttle_max: i32,
    throttle_secs: i32,
    quiet_start: Option<NaiveTime>,
    quiet_end: Option<NaiveTime>,
    quiet_tz: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl Row {
    fn into_rule(self) -> Option<AlertRule> {
        Some(AlertRule {
            id: self.id,
            name: self.name,
            enabled: self.enabled,
            event: EventType::parse(&self.event)?,
            min_score: self.min_score,
            categories: self.categories,
            destination_ids: self.destination_ids,
            templates: self.templates,
            digest_secs: self.digest_secs,
            throttle: (self.throttle_max > 0).then_some(Throttle {
                max: self.throttle_max,
                per_secs: self.throttle_secs,
            }),
            quiet_hours: match (self.quiet_start, self.quiet_end, self.quiet_tz) {
                (Some(start), Some(end), Some(time_zone)) => Some(QuietHours {
                    start,
                    end,
                    time_zone,
                }),
                _ => None,
            },
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// Rules of `tenant_ids` with their destinations: `id` only that one, `enabled_for` only the
/// enabled ones watching that event, `enabled_only` only enabled ones. One query for every
/// reader, with each rule's tenant.
async fn rows(
    conn: &mut PgConnection,
    tenant_ids: &[Uuid],
    id: Option<Uuid>,
    enabled_for: Option<EventType>,
    enabled_only: bool,
) -> Result<Vec<(Uuid, AlertRule)>, DomainError> {
    let rows = sqlx::query!(
        r#"SELECT r.tenant_id, r.id, r.name, r.enabled, r.event, r.min_score, r.categories,
                  coalesce(array_agg(d.destination_id ORDER BY d.destination_id)
                           FILTER (WHERE d.destination_id IS NOT NULL), '{}') AS "destination_ids!",
                  r.templates, r.digest_secs, r.throttle_max, r.throttle_secs,
                  r.quiet_start, r.quiet_end, r.quiet_tz, r.created_at, r.updated_at
           FROM alert_rules r LEFT JOIN alert_rule_destinations d ON d.rule_id = r.id
           WHERE r.tenant_id = ANY($1)
             AND ($2::uuid IS NULL OR r.id = $2)
             AND ($3::text IS NULL OR r.event = $3)
             AND (r.enabled OR NOT $4)
           GROUP BY r.id ORDER BY r.name"#,
        tenant_ids,
        id,
        enabled_for.map(EventType::as_str),
        enabled_only || enabled_for.is_some()
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let tenant = r.tenant_id;
            Row {
                id: r.id,
                name: r.name,
                enabled: r.enabled,
                event: r.event,
                min_score: r.min_score,
                categories: r.categories,
                destination_ids: r.destination_ids,
                templates: r.templates,
                digest_secs: r.digest_secs,
                throttle_max: r.throttle_max,
                throttle_secs: r.throttle_secs,
                quiet_start: r.quiet_start,
                quiet_end: r.quiet_end,
                quiet_tz: r.quiet_tz,
                created_at: r.created_at,
                updated_at: r.updated_at,
            }
            .into_rule()
            .map(|rule| (tenant, rule))
        })
        .collect())
}

/// The tenant's rules (all, or those watching `event` that are enabled), by name.
pub async fn list(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    enabled_for: Option<EventType>,
) -> Result<Vec<AlertRule>, DomainError> {
    let rules = rows(conn, &[tenant_id], None, enabled_for, false).await?;
    Ok(rules.into_iter().map(|(_, rule)| rule).collect())
}

/// One rule.
pub async fn get(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<AlertRule, DomainError> {
    rows(conn, &[tenant_id], Some(id), None, false)
        .await?
        .pop()
        .map(|(_, rule)| rule)
        .ok_or(DomainError::NotFound("alert rule"))
}

async fn set_destinations(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    rule_id: Uuid,
    destination_ids: &[Uuid],
) -> Result<(), DomainError> {
    let known = sqlx::query_scalar!(
        "SELECT id FROM destinations WHERE tenant_id = $1 AND id = ANY($2)",
        tenant_id,
        destination_ids
    )
    .fetch_all(&mut *conn)
    .await?;
    if let Some((i, missing)) = destination_ids
        .iter()
        .enumerate()
        .find(|(_, id)| !known.contains(id))
    {
        return Err(FieldError::new(
            format!("destination_ids[{i}]"),
            format!("no destination {missing} in this tenant"),
        )
        .into());
    }
    sqlx::query!(
        "DELETE FROM alert_rule_destinations WHERE rule_id = $1",
        rule_id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        r#"INSERT INTO alert_rule_destinations (rule_id, destination_id)
           SELECT $1, unnest($2::uuid[])"#,
        rule_id,
        destination_ids
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn audit_view(spec: &RuleSpec) -> Value {
    json!({
        "name": spec.name, "enabled": spec.enabled, "event": spec.event,
        "min_score": spec.min_score, "categories": spec.categories,
        "destination_ids": spec.destination_ids, "digest_secs": spec.digest_secs,
        "throttle": spec.throttle, "quiet_hours": spec.quiet_hours,
    })
}

/// Creates a rule.
pub async fn create(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &Actor,
    spec: RuleSpec,
) -> Result<Uuid, DomainError> {
    let id = Uuid::now_v7();
    let inserted = sqlx::query_scalar!(
        r#"INSERT INTO alert_rules (id, tenant_id, name, enabled, event, min_score, categories,
                                    templates, digest_secs, throttle_max, throttle_secs,
                                    quiet_start, quiet_end, quiet_tz)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
           ON CONFLICT (tenant_id, name) DO NOTHING RETURNING id"#,
        id,
        tenant_id,
        spec.name,
        spec.enabled,
        spec.event.as_str(),
        spec.min_score,
        &spec.categories,
        spec.templates,
        spec.digest_secs,
        spec.throttle.map_or(0, |t| t.max),
        spec.throttle.map_or(0, |t| t.per_secs),
        spec.quiet_hours.as_ref().map(|q| q.start),
        spec.quiet_hours.as_ref().map(|q| q.end),
        spec.quiet_hours.as_ref().map(|q| q.time_zone.clone()),
    )
    .fetch_optional(&mut *conn)
    .await?;
    if inserted.is_none() {
        return Err(DomainError::Conflict(format!(
            "an alert rule named {:?} exists already",
            spec.name
        )));
    }
    set_destinations(conn, tenant_id, id, &spec.destination_ids).await?;
    audit::record(
        conn,
        tenant_id,
        actor,
        Change {
            action: "alert_rule.create",
            target_type: "alert_rule",
            target_id: id.to_string(),
            before: None,
            after: Some(audit_view(&spec)),
        },
    )
    .await?;
    Ok(id)
}

/// Replaces a rule's content.
pub async fn replace(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &Actor,
    id: Uuid,
    spec: RuleSpec,
) -> Result<(), DomainError> {
    let before = get(&mut *conn, tenant_id, id).await?;
    let updated = sqlx::query!(
        r#"UPDATE alert_rules SET name = $3, enabled = $4, event = $5, min_score = $6,
                  categories = $7, templates = $8, digest_secs = $9, throttle_max = $10,
                  throttle_secs = $11, quiet_start = $12, quiet_end = $13, quiet_tz = $14,
                  updated_at = now()
           WHERE tenant_id = $1 AND id = $2"#,
        tenant_id,
        id,
        spec.name,
        spec.enabled,
        spec.event.as_str(),
        spec.min_score,
        &spec.categories,
        spec.templates,
        spec.digest_secs,
        spec.throttle.map_or(0, |t| t.max),
        spec.throttle.map_or(0, |t| t.per_secs),
        spec.quiet_hours.as_ref().map(|q| q.start),
        spec.quiet_hours.as_ref().map(|q| q.end),
        spec.quiet_hours.as_ref().map(|q| q.time_zone.clone()),
    )
    .execute(&mut *conn)
    .await;
    match updated {
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            return Err(DomainError::Conflict(
                "another alert rule has that name".into(),
            ));
        }
        other => {
            other?;
        }
    }
    set_destinations(conn, tenant_id, id, &spec.destination_ids).await?;
    let before_spec = RuleSpec {
        name: before.name,
        enabled: before.enabled,
        event: before.event,
        min_score: before.min_score,
        categories: before.categories,
        destination_ids: before.destination_ids,
        templates: before.templates,
        digest_secs: before.digest_secs,
        throttle: before.throttle,
        quiet_hours: before.quiet_hours,
    };
    audit::record(
        conn,
        tenant_id,
        actor,
        Change {
            action: "alert_rule.update",
            target_type: "alert_rule",
            target_id: id.to_string(),
            before: Some(audit_view(&before_spec)),
            after: Some(audit_view(&spec)),
        },
    )
    .await?;
    Ok(())
}

/// Deletes a rule (its deliveries stay in the log).
pub async fn delete(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &Actor,
    id: Uuid,
) -> Result<(), DomainError> {
    let name = sqlx::query_scalar!(
        "DELETE FROM alert_rules WHERE tenant_id = $1 AND id = $2 RETURNING name",
        tenant_id,
        id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(DomainError::NotFound("alert rule"))?;
    audit::record(
        conn,
        tenant_id,
        actor,
        Change {
            action: "alert_rule.delete",
            target_type: "alert_rule",
            target_id: id.to_string(),
            before: Some(json!({ "name": name })),
            after: None,
        },
    )
    .await?;
    Ok(())
}

/// Every enabled rule of the tenants in `tenant_ids`, for the dispatcher.
pub async fn enabled_for_tenants(
    conn: &mut PgConnection,
    tenant_ids: &[Uuid],
) -> Result<Vec<(Uuid, AlertRule)>, DomainError> {
    rows(conn, tenant_ids, None, None, true).await
}

#[cfg(test)]
mod tests;
