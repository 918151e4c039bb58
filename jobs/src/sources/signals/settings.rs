//! A tenant's quality gates, near-duplicate and retention settings (`signal_settings`), read
//! and patched with an audit entry, and the counts of signals each gate refused.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{
    DomainError, FieldError,
    audit::{self, Actor},
};

/// A tenant's quality gates, near-duplicate settings and signal retention.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QualitySettings {
    /// Fewest characters of title and text together.
    pub min_length: i32,
    /// Most links per word.
    pub max_link_density: f32,
    /// Most times one character may repeat in a row.
    pub max_repeated_chars: i32,
    /// Phrases that refuse a signal (case-insensitive).
    pub blocklist: Vec<String>,
    /// ISO 639-3 codes accepted (empty: every language; undetected languages pass).
    pub languages: Vec<String>,
    /// Most differing simhash bits for a near duplicate (0 to 3).
    pub simhash_threshold: i32,
    /// How far back near duplicates are looked for, in seconds.
    pub near_duplicate_window_secs: i32,
    /// Signals older than this are purged (none: kept).
    pub retention_secs: Option<i32>,
    /// Signals still `new`, `classified` or `scored` this long after ingest become `expired`
    /// (none: they wait forever).
    pub expire_after_secs: Option<i32>,
}

impl Default for QualitySettings {
    fn default() -> Self {
        Self {
            min_length: 20,
            max_link_density: 0.3,
            max_repeated_chars: 12,
            blocklist: vec![],
            languages: vec![],
            simhash_threshold: 3,
            near_duplicate_window_secs: 7 * 24 * 3600,
            retention_secs: None,
            expire_after_secs: None,
        }
    }
}

/// The tenant's quality settings (the defaults when never set).
pub async fn settings(
    conn: &mut PgConnection,
    tenant_id: Uuid,
) -> Result<QualitySettings, DomainError> {
    let row = sqlx::query_as!(
        QualitySettings,
        r#"SELECT min_length, max_link_density, max_repeated_chars, blocklist, languages,
                  simhash_threshold, near_duplicate_window_secs, retention_secs, expire_after_secs
           FROM signal_settings WHERE tenant_id = $1"#,
        tenant_id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.unwrap_or_default())
}

fn int_in(v: &Value, range: std::ops::RangeInclusive<i64>) -> Result<i32, FieldError> {
    match v.as_i64() {
        Some(n) if range.contains(&n) => Ok(n as i32),
        _ => Err(FieldError::new(
            "",
            format!("expected {} to {}", range.start(), range.end()),
        )),
    }
}

fn strings(
    v: &Value,
    max_items: usize,
    check: impl Fn(&str) -> bool,
    what: &str,
) -> Result<Vec<String>, FieldError> {
    let Value::Array(items) = v else {
        return Err(FieldError::new("", "expected a list of strings"));
    };
    if items.len() > max_items {
        return Err(FieldError::new("", format!("at most {max_items} items")));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, s)| match s.as_str() {
            Some(s) if check(s.trim()) => Ok(s.trim().to_owned()),
            _ => Err(FieldError::new(
                format!("[{i}]"),
                format!("expected {what}"),
            )),
        })
        .collect()
}

/// Applies a JSON patch of settings (absent fields stay; `retention_secs: null` keeps signals
/// forever), returning (before, after), with an audit entry.
pub async fn update_settings(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &Actor,
    patch: Value,
) -> Result<QualitySettings, DomainError> {
    const FIELDS: &[&str] = &[
        "min_length",
        "max_link_density",
        "max_repeated_chars",
        "blocklist",
        "languages",
        "simhash_threshold",
        "near_duplicate_window_secs",
        "retention_secs",
        "expire_after_secs",
    ];
    let Value::Object(map) = patch else {
        return Err(FieldError::new("", "expected a JSON object").into());
    };
    let before = settings(conn, tenant_id).await?;
    let mut s = before.clone();
    for (name, v) in &map {
        let at = |e: FieldError| e.under(name);
        match name.as_str() {
            "min_length" => s.min_length = int_in(v, 0..=10_000).map_err(at)?,
            "max_repeated_chars" => s.max_repeated_chars = int_in(v, 2..=1000).map_err(at)?,
            "simhash_threshold" => s.simhash_threshold = int_in(v, 0..=3).map_err(at)?,
            "near_duplicate_window_secs" => {
                s.near_duplicate_window_secs = int_in(v, 60..=31_536_000).map_err(at)?;
            }
            "retention_secs" => {
                s.retention_secs = match v {
                    Value::Null => None,
                    v => Some(int_in(v, 3600..=315_360_000).map_err(at)?),
                };
            }
            "expire_after_secs" => {
                s.expire_after_secs = match v {
                    Value::Null => None,
                    v => Some(int_in(v, 3600..=315_360_000).map_err(at)?),
                };
            }
            "max_link_density" => match v.as_f64() {
                Some(d) if (0.0..=1.0).contains(&d) => s.max_link_density = d as f32,
                _ => return Err(FieldError::new(name.as_str(), "expected 0 to 1").into()),
            },
            "blocklist" => {
                s.blocklist = strings(
                    v,
                    1000,
                    |p| (1..=200).contains(&p.len()),
                    "1 to 200 characters",
                )
                .map_err(at)?;
            }
            "languages" => {
                s.languages = strings(
                    v,
                    100,
                    |c| {
                        c.len() == 3
                            && c.chars().all(|ch| ch.is_ascii_lowercase())
                            && whatlang::Lang::from_code(c).is_some()
                    },
                    "an ISO 639-3 code whatlang knows, like eng or deu",
                )
                .map_err(at)?;
            }
            other => {
                return Err(FieldError::new(
                    other,
                    format!("unknown field; expected one of {}", FIELDS.join(", ")),
                )
                .into());
            }
        }
    }
    sqlx::query!(
        r#"INSERT INTO signal_settings (tenant_id, min_length, max_link_density, max_repeated_chars,
                                       blocklist, languages, simhash_threshold,
                                       near_duplicate_window_secs, retention_secs, expire_after_secs)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (tenant_id) DO UPDATE SET
               min_length = excluded.min_length, max_link_density = excluded.max_link_density,
               max_repeated_chars = excluded.max_repeated_chars, blocklist = excluded.blocklist,
               languages = excluded.languages, simhash_threshold = excluded.simhash_threshold,
               near_duplicate_window_secs = excluded.near_duplicate_window_secs,
               retention_secs = excluded.retention_secs,
               expire_after_secs = excluded.expire_after_secs, updated_at = now()"#,
        tenant_id,
        s.min_length,
        s.max_link_density,
        s.max_repeated_chars,
        &s.blocklist,
        &s.languages,
        s.simhash_threshold,
        s.near_duplicate_window_secs,
        s.retention_secs,
        s.expire_after_secs
    )
    .execute(&mut *conn)
    .await?;
    audit::record(
        conn,
        tenant_id,
        actor,
        audit::Change {
            action: "signal_settings.update",
            target_type: "signal_settings",
            target_id: tenant_id.to_string(),
            before: serde_json::to_value(&before).ok(),
            after: serde_json::to_value(&s).ok(),
        },
    )
    .await?;
    Ok(s)
}

/// Signals refused by a gate, per source and reason.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct RejectionCount {
    /// The source.
    pub source_id: Uuid,
    /// The gate.
    pub reason: String,
    /// How many.
    pub count: i64,
    /// The latest.
    pub last_at: DateTime<Utc>,
}

/// The tenant's rejection counts.
pub async fn rejections(
    pool: &PgPool,
    tenant_id: Uuid,
) -> Result<Vec<RejectionCount>, DomainError> {
    Ok(sqlx::query_as!(
        RejectionCount,
        r#"SELECT source_id, reason, count, last_at FROM signal_rejections
           WHERE tenant_id = $1 ORDER BY source_id, reason"#,
        tenant_id
    )
    .fetch_all(pool)
    .await?)
}
