//! Sources in Postgres: created, read, listed, changed and soft-deleted, each change with its
//! audit entry in the caller's transaction; and what a fetch learnt, written back to its row.
//!
//! A source's secret (a push source's signing key, an API source's credentials) is sealed
//! ([`crate::secrets`], purpose [`SECRET_PURPOSE`]) before it is written; [`SourceRow::secret`]
//! holds it as stored, and only [`super::push`] and the poll of [`super::apis`] open it.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{NewSource, PollEvery, Source, SourceKind, SourcePatch, SourceRow, SourceUrl};
use crate::{
    DomainError, FieldError,
    audit::{self, Actor},
    paging::{self, Page},
    secrets, text,
};

/// What a push source's secret is sealed for (bound to the sealed value, so it opens nowhere
/// else).
pub const SECRET_PURPOSE: &str = "sources.secret";

/// `secret` sealed for storage.
fn seal(secret: &str) -> Result<String, DomainError> {
    secrets::seal(SECRET_PURPOSE, secret)
        .map_err(|e| DomainError::Database(sqlx::Error::Encode(Box::new(e))))
}

#[derive(sqlx::FromRow)]
struct RawRow {
    id: Uuid,
    tenant_id: Uuid,
    kind: SourceKind,
    url: Option<String>,
    host: Option<String>,
    poll_every_secs: i32,
    enabled: bool,
    tags: Vec<String>,
    rate_limit_per_min: i32,
    secret: Option<String>,
    settings: Value,
    cursor: Option<String>,
    etag: Option<String>,
    last_modified: Option<String>,
    next_poll_at: Option<DateTime<Utc>>,
    last_polled_at: Option<DateTime<Utc>>,
    last_status: Option<i32>,
    last_error: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    deleted_at: Option<DateTime<Utc>>,
}

impl From<RawRow> for SourceRow {
    fn from(r: RawRow) -> Self {
        SourceRow {
            source: Source {
                id: r.id,
                kind: r.kind,
                url: r.url,
                host: r.host,
                poll_every_secs: r.poll_every_secs,
                enabled: r.enabled,
                tags: r.tags,
                rate_limit_per_min: r.rate_limit_per_min,
                has_secret: r.secret.is_some(),
                settings: r.settings,
                cursor: r.cursor,
                next_poll_at: r.next_poll_at,
                last_polled_at: r.last_polled_at,
                last_status: r.last_status,
                last_error: r.last_error,
                created_at: r.created_at,
                updated_at: r.updated_at,
            },
            tenant_id: r.tenant_id,
            secret: r.secret,
            etag: r.etag,
            last_modified: r.last_modified,
            deleted_at: r.deleted_at,
        }
    }
}

fn to_json(s: &Source) -> Option<Value> {
    serde_json::to_value(s).ok()
}

/// Creates a source (due for its first poll at once when enabled), with its audit entry.
pub async fn create(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &Actor,
    new: NewSource,
) -> Result<Source, DomainError> {
    let id = Uuid::now_v7();
    let host = new.url.as_ref().map(SourceUrl::host_key);
    let url = new.url.as_ref().map(|u| u.as_url().to_string());
    let next_poll_at = (new.kind != SourceKind::Push).then(Utc::now);
    let secret = new.secret.as_deref().map(seal).transpose()?;
    let row = sqlx::query_as!(
        RawRow,
        r#"INSERT INTO sources (id, tenant_id, kind, url, host, poll_every_secs, enabled, tags,
                               rate_limit_per_min, secret, next_poll_at, settings)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
           RETURNING id, tenant_id, kind AS "kind: SourceKind", url, host, poll_every_secs, enabled, tags,
                     rate_limit_per_min, secret, settings, cursor, etag, last_modified, next_poll_at, last_polled_at,
                     last_status, last_error, created_at, updated_at, deleted_at"#,
        id,
        tenant_id,
        new.kind.as_str(),
        url,
        host,
        new.poll_every.secs(),
        new.enabled,
        &new.tags,
        new.rate_limit_per_min,
        secret,
        next_poll_at,
        new.settings,
    )
    .fetch_one(&mut *conn)
    .await?;
    let source = SourceRow::from(row).source;
    audit::record(
        conn,
        tenant_id,
        actor,
        audit::Change {
            action: "source.create",
            target_type: "source",
            target_id: id.to_string(),
            before: None,
            after: to_json(&source),
        },
    )
    .await?;
    Ok(source)
}

/// The tenant's live source `id` (with its secret and conditional-GET state).
pub async fn get_row(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<SourceRow, DomainError> {
    sqlx::query_as!(
        RawRow,
        r#"SELECT id, tenant_id, kind AS "kind: SourceKind", url, host, poll_every_secs, enabled, tags,
                  rate_limit_per_min, secret, settings, cursor, etag, last_modified, next_poll_at, last_polled_at,
                  last_status, last_error, created_at, updated_at, deleted_at
           FROM sources WHERE id = $1 AND tenant_id = $2 AND deleted_at IS NULL"#,
        id,
        tenant_id
    )
    .fetch_optional(conn)
    .await?
    .map(SourceRow::from)
    .ok_or(DomainError::NotFound("source"))
}

/// The tenant's live source `id`.
pub async fn get(pool: &PgPool, tenant_id: Uuid, id: Uuid) -> Result<Source, DomainError> {
    let mut conn = pool.acquire().await?;
    Ok(get_row(&mut conn, tenant_id, id).await?.source)
}

/// Filters of a source listing.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Only sources of this kind.
    pub kind: Option<SourceKind>,
    /// Only sources carrying this tag.
    pub tag: Option<String>,
    /// Only enabled (or disabled) sources.
    pub enabled: Option<bool>,
    /// Sources older than this id (the previous page's cursor).
    pub before: Option<Uuid>,
    /// Page size, 1 to [`MAX_PAGE`](paging::MAX_PAGE) (brought into that range).
    pub limit: i64,
}

/// Lists the tenant's live sources, newest first.
pub async fn list(
    pool: &PgPool,
    tenant_id: Uuid,
    filter: &ListFilter,
) -> Result<Page<Source>, DomainError> {
    let limit = paging::clamp_limit(filter.limit);
    let rows = sqlx::query_as!(
        RawRow,
        r#"SELECT id, tenant_id, kind AS "kind: SourceKind", url, host, poll_every_secs, enabled, tags,
                  rate_limit_per_min, secret, settings, cursor, etag, last_modified, next_poll_at, last_polled_at,
                  last_status, last_error, created_at, updated_at, deleted_at
           FROM sources
           WHERE tenant_id = $1 AND deleted_at IS NULL
             AND ($2::text IS NULL OR kind = $2)
             AND ($3::text IS NULL OR $3 = ANY (tags))
             AND ($4::bool IS NULL OR enabled = $4)
             AND ($5::uuid IS NULL OR id < $5)
           ORDER BY id DESC
           LIMIT $6"#,
        tenant_id,
        filter.kind.map(SourceKind::as_str),
        filter.tag,
        filter.enabled,
        filter.before,
        limit + 1
    )
    .fetch_all(pool)
    .await?;
    let items = rows
        .into_iter()
        .map(|r| SourceRow::from(r).source)
        .collect();
    Ok(Page::from_rows(items, limit, |s| s.id))
}

/// Applies `patch` to the tenant's source `id`, with its audit entry. A new URL or interval
/// makes the source due at once; a new URL also forgets the conditional-GET state.
pub async fn update(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &Actor,
    id: Uuid,
    patch: SourcePatch,
) -> Result<Source, DomainError> {
    let before = sqlx::query_as!(
        RawRow,
        r#"SELECT id, tenant_id, kind AS "kind: SourceKind", url, host, poll_every_secs, enabled, tags,
                  rate_limit_per_min, secret, settings, cursor, etag, last_modified, next_poll_at, last_polled_at,
                  last_status, last_error, created_at, updated_at, deleted_at
           FROM sources WHERE id = $1 AND tenant_id = $2 AND deleted_at IS NULL FOR UPDATE"#,
        id,
        tenant_id
    )
    .fetch_optional(&mut *conn)
    .await?
    .map(SourceRow::from)
    .ok_or(DomainError::NotFound("source"))?;
    let kind = before.source.kind;
    if kind == SourceKind::Push && patch.url.is_some() {
        return Err(FieldError::new("url", "push sources have no URL").into());
    }
    if let Some(secret) = &patch.secret {
        super::model::check_secret(kind, &before.source.settings, secret.as_deref())?;
    }
    let url_changed = patch
        .url
        .as_ref()
        .is_some_and(|u| Some(u.as_url().as_str()) != before.source.url.as_deref());
    let reschedule = kind != SourceKind::Push
        && (url_changed
            || patch
                .poll_every
                .is_some_and(|p| p.secs() != before.source.poll_every_secs)
            || (patch.enabled == Some(true) && !before.source.enabled));
    let url = patch
        .url
        .as_ref()
        .map(|u| u.as_url().to_string())
        .or(before.source.url.clone());
    let host = patch
        .url
        .as_ref()
        .map(SourceUrl::host_key)
        .or(before.source.host.clone());
    let secret = match &patch.secret {
        Some(new) => new.as_deref().map(seal).transpose()?,
        None => before.secret.clone(),
    };
    let row = sqlx::query_as!(
        RawRow,
        r#"UPDATE sources SET url = $3, host = $4, poll_every_secs = $5, enabled = $6, tags = $7,
                  rate_limit_per_min = $8, secret = $9,
                  etag = CASE WHEN $10 THEN NULL ELSE etag END,
                  last_modified = CASE WHEN $10 THEN NULL ELSE last_modified END,
                  cursor = CASE WHEN $10 THEN NULL ELSE cursor END,
                  next_poll_at = CASE WHEN $11 THEN now() ELSE next_poll_at END,
                  updated_at = now()
           WHERE id = $1 AND tenant_id = $2
           RETURNING id, tenant_id, kind AS "kind: SourceKind", url, host, poll_every_secs, enabled, tags,
                     rate_limit_per_min, secret, settings, cursor, etag, last_modified, next_poll_at, last_polled_at,
                     last_status, last_error, created_at, updated_at, deleted_at"#,
        id,
        tenant_id,
        url,
        host,
        patch
            .poll_every
            .map_or(before.source.poll_every_secs, PollEvery::secs),
        patch.enabled.unwrap_or(before.source.enabled),
        &patch.tags.clone().unwrap_or(before.source.tags.clone()),
        patch
            .rate_limit_per_min
            .unwrap_or(before.source.rate_limit_per_min),
        secret,
        url_changed,
        reschedule,
    )
    .fetch_one(&mut *conn)
    .await?;
    let after = SourceRow::from(row).source;
    audit::record(
        conn,
        tenant_id,
        actor,
        audit::Change {
            action: "source.update",
            target_type: "source",
            target_id: id.to_string(),
            before: to_json(&before.source),
            after: to_json(&after),
        },
    )
    .await?;
    Ok(after)
}

/// Soft-deletes the tenant's source `id` (its signals stay), with its audit entry.
pub async fn delete(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &Actor,
    id: Uuid,
) -> Result<(), DomainError> {
    let row = sqlx::query_as!(
        RawRow,
        r#"UPDATE sources SET deleted_at = now(), enabled = false, updated_at = now()
           WHERE id = $1 AND tenant_id = $2 AND deleted_at IS NULL
           RETURNING id, tenant_id, kind AS "kind: SourceKind", url, host, poll_every_secs, enabled, tags,
                     rate_limit_per_min, secret, settings, cursor, etag, last_modified, next_poll_at, last_polled_at,
                     last_status, last_error, created_at, updated_at, deleted_at"#,
        id,
        tenant_id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(DomainError::NotFound("source"))?;
    let before = SourceRow::from(row).source;
    audit::record(
        conn,
        tenant_id,
        actor,
        audit::Change {
            action: "source.delete",
            target_type: "source",
            target_id: id.to_string(),
            before: to_json(&before),
            after: None,
        },
    )
    .await?;
    Ok(())
}

/// What a fetch learnt, written back to its source.
#[derive(Debug, Clone, Default)]
pub struct FetchRecord {
    /// The HTTP status (none when no response came).
    pub status: Option<i32>,
    /// The new `ETag` (kept when the server sent none on a 304).
    pub etag: Option<String>,
    /// The new `Last-Modified`.
    pub last_modified: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
    /// Where an API source's next poll resumes (kept when none).
    pub cursor: Option<String>,
}

/// Records a fetch of source `id` on its row.
pub async fn record_fetch(
    conn: &mut PgConnection,
    id: Uuid,
    record: &FetchRecord,
) -> Result<(), DomainError> {
    // The error may quote what the server sent: never let a NUL fail the write.
    let error = record.error.as_deref().map(text::storable);
    sqlx::query!(
        r#"UPDATE sources SET last_polled_at = now(), last_status = $2, last_error = $3,
                  etag = coalesce($4, etag), last_modified = coalesce($5, last_modified),
                  cursor = coalesce($6, cursor)
           WHERE id = $1"#,
        id,
        record.status,
        error.as_deref(),
        record.etag,
        record.last_modified,
        record.cursor
    )
    .execute(conn)
    .await?;
    Ok(())
}
