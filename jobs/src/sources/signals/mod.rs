//! Signals as their tenant reads and changes them: listing with filters and full-text search,
//! the state machine, soft delete, streaming export (CSV, NDJSON), GDPR erase per author,
//! the retention purge, and the tenant's quality settings with rejection counts.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{
    DomainError, FieldError,
    audit::{self, Actor},
    export::{self, Csv},
    paging::{self, Page},
};

mod settings;

pub use crate::export::ExportStream;
pub use settings::{QualitySettings, RejectionCount, rejections, settings, update_settings};

crate::named_enum! {
    /// Where a signal is in its life.
    pub enum SignalState {
        /// Just ingested.
        New = "new",
        /// A classifier has labelled it.
        Classified = "classified",
        /// It has a lead score.
        Scored = "scored",
        /// Someone was told (terminal).
        Alerted = "alerted",
        /// Not worth acting on: refused by a gate, a near duplicate, or judged so (terminal).
        Discarded = "discarded",
        /// Too old to act on (terminal).
        Expired = "expired",
    }
}

impl SignalState {
    /// The states a signal may move to from this one:
    /// `new → classified → scored → alerted` (an alert on the verdict itself goes straight from
    /// `classified` to `alerted`), and from any of the first three to `discarded` or `expired`.
    /// `alerted`, `discarded` and `expired` are final.
    pub const fn next(self) -> &'static [SignalState] {
        use SignalState::*;
        match self {
            New => &[Classified, Discarded, Expired],
            Classified => &[Scored, Alerted, Discarded, Expired],
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
    pub state: SignalState,
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
    /// Page size, 1 to [`MAX_PAGE`](paging::MAX_PAGE).
    pub limit: i64,
}

impl Filter {
    /// Checks what the types cannot.
    pub fn validate(&self) -> Result<(), FieldError> {
        paging::check_limit(self.limit)?;
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
                  published_at, encode(content_hash, 'hex') AS "content_hash!", duplicate_of,
                  state AS "state: SignalState",
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
    let rows = page(pool, tenant_id, &f).await?;
    Ok(Page::from_rows(rows, filter.limit, |s| s.id))
}

/// The tenant's signal `id`.
pub async fn get(pool: &PgPool, tenant_id: Uuid, id: Uuid) -> Result<Signal, DomainError> {
    sqlx::query_as!(
        Signal,
        r#"SELECT id, source_id, external_id, url, title, body_html, body_text, author, language,
                  published_at, encode(content_hash, 'hex') AS "content_hash!", duplicate_of,
                  state AS "state: SignalState",
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
           WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL
           RETURNING state AS "state: SignalState""#,
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
           RETURNING old.state AS "state: SignalState""#,
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
            r#"SELECT state AS "state: SignalState" FROM signals
               WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL"#,
            tenant_id,
            id
        )
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(DomainError::NotFound("signal"))?;
        return Err(DomainError::Conflict(format!(
            "a signal cannot go from {current} to {to}"
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
                  published_at, encode(content_hash, 'hex') AS "content_hash!", duplicate_of,
                  state AS "state: SignalState",
                  discard_reason, created_at, updated_at, deleted_at
           FROM signals WHERE id = $1"#,
        id
    )
    .fetch_one(conn)
    .await?;
    Ok(signal)
}

crate::named_enum! {
    /// Formats of an export.
    pub enum ExportFormat {
        /// One JSON object a line.
        Ndjson = "ndjson",
        /// RFC 4180 CSV with a header row (the HTML body is left out).
        Csv = "csv",
    }
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

/// Signals as CSV rows (every text cell guarded against formula injection).
fn csv_rows(signals: &[Signal]) -> Vec<u8> {
    let mut csv = Csv::new();
    for s in signals {
        csv.id(s.id)
            .id(s.source_id)
            .name(s.state.as_str())
            .time(s.created_at)
            .opt_time(s.published_at)
            .opt_text(s.language.as_deref())
            .opt_text(s.author.as_deref())
            .opt_text(s.url.as_deref())
            .text(&s.title)
            .text(&s.body_text)
            .opt_id(s.duplicate_of)
            .opt_text(s.discard_reason.as_deref())
            .opt_time(s.deleted_at)
            .end_row();
    }
    csv.finish()
}

/// Signals as NDJSON, one object a line.
fn ndjson_rows(signals: &[Signal]) -> Vec<u8> {
    let mut chunk = Vec::new();
    for s in signals {
        if serde_json::to_writer(&mut chunk, s).is_ok() {
            chunk.push(b'\n');
        }
    }
    chunk
}

/// Every signal matching `filter` (its `limit` is the page size of the reads), streamed in
/// `format`: pages of the keyset listing are read as the consumer pulls, so memory stays flat
/// and no connection is held between pages.
pub fn export(pool: PgPool, tenant_id: Uuid, filter: Filter, format: ExportFormat) -> ExportStream {
    let (start, page_size) = (filter.before, filter.limit);
    let fetch = move |before| {
        let pool = pool.clone();
        let filter = Filter {
            before,
            ..filter.clone()
        };
        async move { page(&pool, tenant_id, &filter).await }
    };
    match format {
        ExportFormat::Csv => export::paged(
            Some(Csv::header(CSV_HEADER)),
            start,
            page_size,
            fetch,
            |s: &Signal| s.id,
            csv_rows,
        ),
        ExportFormat::Ndjson => export::paged(
            None,
            start,
            page_size,
            fetch,
            |s: &Signal| s.id,
            ndjson_rows,
        ),
    }
}

/// Erases every signal by `author` (soft-deleted ones too) for the tenant: a hard delete, with
/// an audit entry that names the author only by its SHA-256, and the author scrubbed from the
/// engine's copies (job args, results and errors, run inputs, step outputs, run events,
/// classifications, memo rows: [`crate::scrub`]). Returns how many signals were erased.
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
    let scrubbed = crate::scrub::scrub_copies(conn, tenant_id, &[author.to_owned()]).await?;
    let digest = hex::encode(Sha256::digest(author.as_bytes()));
    audit::record(
        conn,
        tenant_id,
        actor,
        audit::Change {
            action: "signal.erase_author",
            target_type: "author",
            target_id: format!("sha256:{digest}"),
            before: Some(serde_json::json!({ "signals": erased, "scrubbed": scrubbed })),
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

#[cfg(test)]
mod tests;
