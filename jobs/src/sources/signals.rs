//! Signals as their tenant reads and changes them: listing with filters and full-text search,
//! the state machine, soft delete, streaming export (CSV, NDJSON), GDPR erase per author,
//! the retention purge, and the tenant's quality settings with rejection counts.

use std::pin::Pin;

use chrono::{DateTime, Utc};
use futures::Stream;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{MAX_PAGE, Page};
use crate::{
    DomainError, FieldError,
    audit::{self, Actor},
};

/// Where a signal is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalState {
    /// Just ingested.
    New,
    /// A classifier has labelled it.
    Classified,
    /// It has a lead score.
    Scored,
    /// Someone was told (terminal).
    Alerted,
    /// Not worth acting on: refused by a gate, a near duplicate, or judged so (terminal).
    Discarded,
    /// Too old to act on (terminal).
    Expired,
}

impl SignalState {
    /// Every state.
    pub const ALL: [SignalState; 6] = [
        SignalState::New,
        SignalState::Classified,
        SignalState::Scored,
        SignalState::Alerted,
        SignalState::Discarded,
        SignalState::Expired,
    ];

    /// The state's name.
    pub const fn as_str(self) -> &'static str {
        match self {
            SignalState::New => "new",
            SignalState::Classified => "classified",
            SignalState::Scored => "scored",
            SignalState::Alerted => "alerted",
            SignalState::Discarded => "discarded",
            SignalState::Expired => "expired",
        }
    }

    /// Parses a state's name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// The states a signal may move to from this one:
    /// `new → classified → scored → alerted`, and from any of the first three to `discarded`
    /// or `expired`. `alerted`, `discarded` and `expired` are final.
    pub const fn next(self) -> &'static [SignalState] {
        use SignalState::*;
        match self {
            New => &[Classified, Discarded, Expired],
            Classified => &[Scored, Discarded, Expired],
            Scored => &[Alerted, Discarded, Expired],
            Alerted | Discarded | Expired => &[],
        }
    }

    /// The states from which `self` may be reached.
    pub fn previous(self) -> Vec<SignalState> {
        Self::ALL
            .into_iter()
            .filter(|s| s.next().contains(&self))
            .collect()
    }

    /// Every state's name, for messages.
    pub fn names() -> String {
        Self::ALL.map(|s| s.as_str()).join(", ")
    }
}

/// A signal.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Signal {
    /// Its id (UUIDv7: sorts by ingest time).
    pub id: Uuid,
    /// The source it came from.
    pub source_id: Uuid,
    /// The feed's id of the entry.
    pub external_id: Option<String>,
    /// The normalised link.
    pub url: Option<String>,
    /// Plain-text title.
    pub title: String,
    /// Sanitised HTML.
    pub body_html: String,
    /// Plain text of the body.
    pub body_text: String,
    /// Who wrote it.
    pub author: Option<String>,
    /// ISO 639-3 language code, when detected.
    pub language: Option<String>,
    /// When it was published.
    pub published_at: Option<DateTime<Utc>>,
    /// Hex SHA-256 of the normalised content.
    pub content_hash: String,
    /// The original this near-duplicate repeats.
    pub duplicate_of: Option<Uuid>,
    /// Where it is in its life.
    pub state: String,
    /// Why it was discarded.
    pub discard_reason: Option<String>,
    /// When it was ingested.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it was soft-deleted (only shown by a GDPR export).
    pub deleted_at: Option<DateTime<Utc>>,
}

/// Filters of a signal listing or export.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only from this source.
    pub source_id: Option<Uuid>,
    /// Only in this state.
    pub state: Option<SignalState>,
    /// Only in this language (ISO 639-3).
    pub language: Option<String>,
    /// Only ingested at or after.
    pub since: Option<DateTime<Utc>>,
    /// Only ingested before.
    pub until: Option<DateTime<Utc>>,
    /// Full-text search (web-search syntax: words, `"phrases"`, `-not`, `or`).
    pub q: Option<String>,
    /// Only by this author (exact).
    pub author: Option<String>,
    /// Also soft-deleted signals (a GDPR export shows everything held).
    pub include_deleted: bool,
    /// Older than this id (the previous page's cursor).
    pub before: Option<Uuid>,
    /// Page size, 1 to [`MAX_PAGE`].
    pub limit: i64,
}

impl Filter {
    /// Checks what the types cannot.
    pub fn validate(&self) -> Result<(), FieldError> {
        if !(1..=MAX_PAGE).contains(&self.limit) {
            return Err(FieldError::new(
                "limit",
                format!("expected 1 to {MAX_PAGE}"),
            ));
        }
        if let (Some(s), Some(u)) = (self.since, self.until)
            && s >= u
        {
            return Err(FieldError::new("until", "must be later than `since`"));
        }
        if self.q.as_ref().is_some_and(|q| q.len() > 500) {
            return Err(FieldError::new("q", "at most 500 characters"));
        }
        Ok(())
    }
}

async fn page(pool: &PgPool, tenant_id: Uuid, f: &Filter) -> Result<Vec<Signal>, DomainError> {
    let rows = sqlx::query_as!(
        Signal,
        r#"SELECT id, source_id, external_id, url, title, body_html, body_text, author, language,
                  published_at, encode(content_hash, 'hex') AS "content_hash!", duplicate_of, state,
                  discard_reason, created_at, updated_at, deleted_at
           FROM signals
           WHERE tenant_id = $1
             AND ($2 OR deleted_at IS NULL)
             AND ($3::uuid IS NULL OR source_id = $3)
             AND ($4::text IS NULL OR state = $4)
             AND ($5::text IS NULL OR language = $5)
             AND ($6::timestamptz IS NULL OR created_at >= $6)
             AND ($7::timestamptz IS NULL OR created_at < $7)
             AND ($8::text IS NULL OR search @@ websearch_to_tsquery('simple', $8))
             AND ($9::text IS NULL OR author = $9)
             AND ($10::uuid IS NULL OR id < $10)
           ORDER BY id DESC
           LIMIT $11"#,
        tenant_id,
        f.include_deleted,
        f.source_id,
        f.state.map(SignalState::as_str),
        f.language,
        f.since,
        f.until,
        f.q.as_deref().filter(|q| !q.trim().is_empty()),
        f.author,
        f.before,
        f.limit
    )
    .fetch_all(pool)
    .await?;
    Ok(rows)
}

/// Lists the tenant's signals, newest first.
pub async fn list(
    pool: &PgPool,
    tenant_id: Uuid,
    filter: &Filter,
) -> Result<Page<Signal>, DomainError> {
    filter.validate()?;
    let mut f = filter.clone();
    f.limit += 1;
    let mut items = page(pool, tenant_id, &f).await?;
    let more = items.len() as i64 > filter.limit;
    items.truncate(filter.limit as usize);
    let next_cursor = if more {
        items.last().map(|s| s.id)
    } else {
        None
    };
    Ok(Page { items, next_cursor })
}

/// The tenant's signal `id`.
pub async fn get(pool: &PgPool, tenant_id: Uuid, id: Uuid) -> Result<Signal, DomainError> {
    sqlx::query_as!(
        Signal,
        r#"SELECT id, source_id, external_id, url, title, body_html, body_text, author, language,
                  published_at, encode(content_hash, 'hex') AS "content_hash!", duplicate_of, state,
                  discard_reason, created_at, updated_at, deleted_at
           FROM signals WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL"#,
        tenant_id,
        id
    )
    .fetch_optional(pool)
    .await?
    .ok_or(DomainError::NotFound("signal"))
}

/// Soft-deletes the tenant's signal `id`, with its audit entry.
pub async fn delete(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &Actor,
    id: Uuid,
) -> Result<(), DomainError> {
    let state = sqlx::query_scalar!(
        r#"UPDATE signals SET deleted_at = now(), updated_at = now()
           WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL RETURNING state"#,
        tenant_id,
        id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(DomainError::NotFound("signal"))?;
    audit::record(
        conn,
        tenant_id,
        actor,
        audit::Change {
            action: "signal.delete",
            target_type: "signal",
            target_id: id.to_string(),
            before: Some(serde_json::json!({ "state": state })),
            after: None,
        },
    )
    .await
}

/// Moves the tenant's signal `id` to `to`, refusing an illegal transition with a conflict.
/// The check and the change are one statement, so concurrent moves cannot both win.
pub async fn transition(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &Actor,
    id: Uuid,
    to: SignalState,
    reason: Option<&str>,
) -> Result<Signal, DomainError> {
    let from: Vec<String> = to
        .previous()
        .iter()
        .map(|s| s.as_str().to_owned())
        .collect();
    let moved = sqlx::query_scalar!(
        r#"WITH old AS (SELECT id, state FROM signals
                        WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL FOR UPDATE)
           UPDATE signals s SET state = $3, updated_at = now(),
                  discard_reason = CASE WHEN $3 = 'discarded' THEN coalesce($5, 'manual') ELSE s.discard_reason END
           FROM old WHERE s.id = old.id AND old.state = ANY($4)
           RETURNING old.state"#,
        tenant_id,
        id,
        to.as_str(),
        &from,
        reason
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(from) = moved else {
        let current = sqlx::query_scalar!(
            "SELECT state FROM signals WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL",
            tenant_id,
            id
        )
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(DomainError::NotFound("signal"))?;
        return Err(DomainError::Conflict(format!(
            "a signal cannot go from {current} to {}",
            to.as_str()
        )));
    };
    audit::record(
        conn,
        tenant_id,
        actor,
        audit::Change {
            action: "signal.transition",
            target_type: "signal",
            target_id: id.to_string(),
            before: Some(serde_json::json!({ "state": from })),
            after: Some(serde_json::json!({ "state": to.as_str(), "reason": reason })),
        },
    )
    .await?;
    let signal = sqlx::query_as!(
        Signal,
        r#"SELECT id, source_id, external_id, url, title, body_html, body_text, author, language,
                  published_at, encode(content_hash, 'hex') AS "content_hash!", duplicate_of, state,
                  discard_reason, created_at, updated_at, deleted_at
           FROM signals WHERE id = $1"#,
        id
    )
    .fetch_one(conn)
    .await?;
    Ok(signal)
}

/// Formats of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// One JSON object a line.
    Ndjson,
    /// RFC 4180 CSV with a header row (the HTML body is left out).
    Csv,
}

const CSV_HEADER: &[&str] = &[
    "id",
    "source_id",
    "state",
    "created_at",
    "published_at",
    "language",
    "author",
    "url",
    "title",
    "body_text",
    "duplicate_of",
    "discard_reason",
    "deleted_at",
];

fn csv_row(s: &Signal) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    let opt = |v: Option<String>| v.unwrap_or_default();
    let _ = w.write_record([
        s.id.to_string(),
        s.source_id.to_string(),
        s.state.clone(),
        s.created_at.to_rfc3339(),
        opt(s.published_at.map(|t| t.to_rfc3339())),
        opt(s.language.clone()),
        opt(s.author.clone()),
        opt(s.url.clone()),
        s.title.clone(),
        s.body_text.clone(),
        opt(s.duplicate_of.map(|d| d.to_string())),
        opt(s.discard_reason.clone()),
        opt(s.deleted_at.map(|t| t.to_rfc3339())),
    ]);
    w.into_inner().unwrap_or_default()
}

/// A stream of export chunks.
pub type ExportStream = Pin<Box<dyn Stream<Item = Result<Vec<u8>, DomainError>> + Send>>;

/// Every signal matching `filter` (its `limit` is the page size of the reads), streamed in
/// `format`: pages of the keyset listing are read as the consumer pulls, so memory stays flat
/// and no connection is held between pages.
pub fn export(pool: PgPool, tenant_id: Uuid, filter: Filter, format: ExportFormat) -> ExportStream {
    struct St {
        pool: PgPool,
        filter: Filter,
        header: bool,
        done: bool,
    }
    let st = St {
        pool,
        filter,
        header: format == ExportFormat::Csv,
        done: false,
    };
    Box::pin(futures::stream::unfold(st, move |mut st| async move {
        if st.header {
            st.header = false;
            let mut w = csv::Writer::from_writer(Vec::new());
            let _ = w.write_record(CSV_HEADER);
            return Some((Ok(w.into_inner().unwrap_or_default()), st));
        }
        if st.done {
            return None;
        }
        match page(&st.pool, tenant_id, &st.filter).await {
            Err(e) => {
                st.done = true;
                Some((Err(e), st))
            }
            Ok(rows) if rows.is_empty() => None,
            Ok(rows) => {
                st.done = (rows.len() as i64) < st.filter.limit;
                st.filter.before = rows.last().map(|s| s.id);
                let mut chunk = Vec::new();
                for s in &rows {
                    match format {
                        ExportFormat::Csv => chunk.extend(csv_row(s)),
                        ExportFormat::Ndjson => {
                            if serde_json::to_writer(&mut chunk, s).is_ok() {
                                chunk.push(b'\n');
                            }
                        }
                    }
                }
                Some((Ok(chunk), st))
            }
        }
    }))
}

/// Erases every signal by `author` (soft-deleted ones too) for the tenant: a hard delete, with
/// an audit entry that names the author only by its SHA-256. Returns how many were erased.
pub async fn erase_author(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &Actor,
    author: &str,
) -> Result<u64, DomainError> {
    if author.trim().is_empty() {
        return Err(FieldError::new("author", "required").into());
    }
    // Near duplicates of an erased original keep their row but lose the link (ON DELETE SET NULL).
    let erased = sqlx::query!(
        "DELETE FROM signals WHERE tenant_id = $1 AND author = $2",
        tenant_id,
        author
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    let digest = hex::encode(Sha256::digest(author.as_bytes()));
    audit::record(
        conn,
        tenant_id,
        actor,
        audit::Change {
            action: "signal.erase_author",
            target_type: "author",
            target_id: format!("sha256:{digest}"),
            before: Some(serde_json::json!({ "signals": erased })),
            after: None,
        },
    )
    .await?;
    Ok(erased)
}

/// Erases the tenant's signals `ids` (soft-deleted ones too) for good, like
/// [`erase_author`] but by id: a GDPR erase of a lead's contact (`leads::gdpr`) removes the
/// signals that name it. The caller writes the audit entry. Returns how many were erased.
pub async fn erase_ids(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> Result<u64, DomainError> {
    // Near duplicates of an erased original keep their row but lose the link (ON DELETE SET NULL).
    let erased = sqlx::query!(
        "DELETE FROM signals WHERE tenant_id = $1 AND id = ANY($2)",
        tenant_id,
        ids
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(erased)
}

/// Deletes signals older than their tenant's `retention_secs` (tenants without one keep their
/// signals), at most `batch` at a time; returns how many.
pub async fn purge_expired(pool: &PgPool, batch: i64) -> Result<u64, DomainError> {
    let n = sqlx::query!(
        r#"DELETE FROM signals WHERE id IN (
               SELECT s.id FROM signals s JOIN signal_settings st ON st.tenant_id = s.tenant_id
               WHERE st.retention_secs IS NOT NULL
                 AND s.created_at < now() - make_interval(secs => st.retention_secs)
               LIMIT $1)"#,
        batch
    )
    .execute(pool)
    .await?
    .rows_affected();
    Ok(n)
}

/// Moves signals nobody acted on to `expired`: those still `new`, `classified` or `scored`
/// longer than their tenant's `expire_after_secs`, at most `batch` at a time; returns how many.
pub async fn expire_stale(pool: &PgPool, batch: i64) -> Result<u64, DomainError> {
    let n = sqlx::query!(
        r#"UPDATE signals SET state = 'expired', updated_at = now()
           WHERE id IN (
               SELECT s.id FROM signals s JOIN signal_settings st ON st.tenant_id = s.tenant_id
               WHERE st.expire_after_secs IS NOT NULL
                 AND s.state IN ('new', 'classified', 'scored') AND s.deleted_at IS NULL
                 AND s.created_at < now() - make_interval(secs => st.expire_after_secs)
               LIMIT $1
               FOR UPDATE OF s SKIP LOCKED)"#,
        batch
    )
    .execute(pool)
    .await?
    .rows_affected();
    Ok(n)
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_machine_allows_only_forward_moves() {
        use SignalState::*;
        assert_eq!(New.next(), &[Classified, Discarded, Expired]);
        assert!(Classified.next().contains(&Scored));
        assert!(Scored.next().contains(&Alerted));
        for terminal in [Alerted, Discarded, Expired] {
            assert!(terminal.next().is_empty());
        }
        assert!(!New.next().contains(&Scored), "no skipping classification");
        assert!(!Scored.next().contains(&New), "no going back");
        assert_eq!(Alerted.previous(), vec![Scored]);
        assert_eq!(Discarded.previous(), vec![New, Classified, Scored]);
        for s in SignalState::ALL {
            assert_eq!(SignalState::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn csv_rows_quote_what_needs_quoting() {
        let s = Signal {
            id: Uuid::nil(),
            source_id: Uuid::nil(),
            external_id: None,
            url: None,
            title: "a, \"b\"".into(),
            body_html: String::new(),
            body_text: "line1\nline2".into(),
            author: None,
            language: None,
            published_at: None,
            content_hash: String::new(),
            duplicate_of: None,
            state: "new".into(),
            discard_reason: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            deleted_at: None,
        };
        let row = String::from_utf8(csv_row(&s)).unwrap();
        assert!(row.contains("\"a, \"\"b\"\"\""), "{row}");
        assert!(row.contains("\"line1\nline2\""), "{row}");
    }

    #[test]
    fn filters_are_checked() {
        let ok = Filter {
            limit: 10,
            ..Default::default()
        };
        assert!(ok.validate().is_ok());
        assert_eq!(
            Filter {
                limit: 0,
                ..Default::default()
            }
            .validate()
            .unwrap_err()
            .path,
            "limit"
        );
        let now = Utc::now();
        let bad = Filter {
            limit: 10,
            since: Some(now),
            until: Some(now),
            ..Default::default()
        };
        assert_eq!(bad.validate().unwrap_err().path, "until");
    }
}
