//! What the `publish_post` job reads and records of a post: its content and images, the
//! server's media ids, the moment it started posting, and how it ended. Every write is guarded
//! by the post's state, so a late or duplicate job changes nothing of a post that moved on.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{PostState, Visibility};
use crate::DomainError;

/// A post as its job sees it.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// The account.
    pub account_id: Uuid,
    /// Where it is.
    pub state: PostState,
    /// The text.
    pub text: String,
    /// Who sees it.
    pub visibility: Visibility,
    /// The content warning.
    pub spoiler_text: Option<String>,
    /// The language.
    pub language: Option<String>,
    /// The server's status id, once published.
    pub remote_id: Option<String>,
    /// When the first status request went out.
    pub posting_since: Option<DateTime<Utc>>,
}

/// An image of a post.
#[derive(Debug, Clone)]
pub struct Media {
    /// Its place.
    pub position: i16,
    /// Its type.
    pub content_type: String,
    /// The image.
    pub bytes: Vec<u8>,
    /// Its description.
    pub description: Option<String>,
    /// The server's id, once uploaded.
    pub remote_id: Option<String>,
    /// Whether the server finished processing it.
    pub ready: bool,
}

/// The post (`None` when it was deleted).
pub async fn load(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<Outgoing>, DomainError> {
    Ok(sqlx::query_as!(
        Outgoing,
        r#"SELECT account_id, state AS "state: PostState", text,
                  visibility AS "visibility: Visibility", spoiler_text, language, remote_id,
                  posting_since
           FROM posts WHERE tenant_id = $1 AND id = $2"#,
        tenant_id,
        id
    )
    .fetch_optional(conn)
    .await?)
}

/// The post's images, in order.
pub async fn media(conn: &mut PgConnection, post_id: Uuid) -> Result<Vec<Media>, DomainError> {
    Ok(sqlx::query_as!(
        Media,
        r#"SELECT position, content_type, bytes, description, remote_id, ready
           FROM post_media WHERE post_id = $1 ORDER BY position"#,
        post_id
    )
    .fetch_all(conn)
    .await?)
}

/// Records the server's id of an image (and whether it is processed).
pub async fn media_uploaded(
    conn: &mut PgConnection,
    post_id: Uuid,
    position: i16,
    remote_id: &str,
    ready: bool,
) -> Result<(), DomainError> {
    sqlx::query!(
        r#"UPDATE post_media SET remote_id = $3, ready = $4 WHERE post_id = $1 AND position = $2"#,
        post_id,
        position,
        remote_id,
        ready
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Notes that a status request is about to go out, and one attempt more; returns since when
/// the post has been posting (the first such moment), or `None` when it is no longer a
/// scheduled post without a status id.
pub async fn begin_posting(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, DomainError> {
    Ok(sqlx::query_scalar!(
        r#"UPDATE posts SET posting_since = coalesce(posting_since, $3), attempts = attempts + 1,
                  updated_at = $3
           WHERE tenant_id = $1 AND id = $2 AND state = 'scheduled' AND remote_id IS NULL
           RETURNING posting_since AS "since!""#,
        tenant_id,
        id,
        now
    )
    .fetch_optional(conn)
    .await?)
}

/// The server said no status was made (a 429 or a refusal): the post is not posting.
pub async fn posted_nothing(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<(), DomainError> {
    sqlx::query!(
        r#"UPDATE posts SET posting_since = NULL, updated_at = now()
           WHERE tenant_id = $1 AND id = $2 AND remote_id IS NULL"#,
        tenant_id,
        id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The post is on the server.
pub async fn published(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    remote_id: &str,
    remote_url: Option<&str>,
) -> Result<(), DomainError> {
    sqlx::query!(
        r#"UPDATE posts SET state = 'published', remote_id = $3, remote_url = $4, error = NULL,
                  published_at = now(), updated_at = now()
           WHERE tenant_id = $1 AND id = $2 AND remote_id IS NULL"#,
        tenant_id,
        id,
        remote_id,
        remote_url
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The post will not be published; `error` says why (at most 1000 characters are kept).
pub async fn failed(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    error: &str,
) -> Result<(), DomainError> {
    let error: String = crate::text::storable(error).chars().take(1000).collect();
    sqlx::query!(
        r#"UPDATE posts SET state = 'failed', error = $3, updated_at = now()
           WHERE tenant_id = $1 AND id = $2 AND state IN ('draft', 'scheduled')
             AND remote_id IS NULL"#,
        tenant_id,
        id,
        error
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Records the latest error of a post that will be tried again.
pub async fn note_error(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    error: &str,
) -> Result<(), DomainError> {
    let error: String = crate::text::storable(error).chars().take(1000).collect();
    sqlx::query!(
        "UPDATE posts SET error = $3, updated_at = now() WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        id,
        error
    )
    .execute(conn)
    .await?;
    Ok(())
}
