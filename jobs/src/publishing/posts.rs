//! Posts: one status to publish on an account, with its images, through its life
//! (`draft` → `scheduled` → `published` | `failed`). This module checks what a user wrote,
//! writes the rows and the `publish_post` job in one transaction, and records what the job
//! learnt; it never speaks to a server (that is [`super::mastodon`]'s).

use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{PostState, Visibility};
use crate::{
    DomainError, FieldError,
    audit::{self, Actor, Change},
    kinds::{from_value, publish_post::PublishPost},
    queue::{self, NewJob},
};

/// Mastodon's default limit: 500 characters, the content warning included.
pub const MAX_CHARS: usize = 500;
/// The most images on one post (Mastodon's limit).
pub const MAX_MEDIA: usize = 4;
/// The largest image, decoded.
pub const MAX_MEDIA_BYTES: usize = 1024 * 1024;
/// The longest image description (Mastodon's limit).
pub const MAX_DESCRIPTION: usize = 1500;
/// How far ahead a post may be scheduled.
pub const MAX_AHEAD_DAYS: i64 = 365;
/// The image types accepted, with the first bytes each must start with.
pub const MEDIA_TYPES: &[(&str, &[u8])] = &[
    ("image/png", b"\x89PNG\r\n\x1a\n"),
    ("image/jpeg", b"\xff\xd8\xff"),
    ("image/gif", b"GIF8"),
    ("image/webp", b"RIFF"),
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    account_id: Uuid,
    text: String,
    #[serde(default)]
    visibility: Option<String>,
    #[serde(default)]
    spoiler_text: Option<String>,
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    publish_at: Option<DateTime<Utc>>,
    #[serde(default)]
    media: Vec<MediaRequest>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MediaRequest {
    content_type: String,
    data: String,
    #[serde(default)]
    description: Option<String>,
}

/// An image to attach, checked and decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMedia {
    /// One of [`MEDIA_TYPES`].
    pub content_type: String,
    /// The image.
    pub bytes: Vec<u8>,
    /// Its description (alt text).
    pub description: Option<String>,
}

/// A post to create, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPost {
    /// The account to post with.
    pub account_id: Uuid,
    /// The status text.
    pub text: String,
    /// Who sees it.
    pub visibility: Visibility,
    /// A content warning shown before the text.
    pub spoiler_text: Option<String>,
    /// ISO 639 language code.
    pub language: Option<String>,
    /// When to publish (none: at once).
    pub publish_at: Option<DateTime<Utc>>,
    /// Images.
    pub media: Vec<NewMedia>,
}

/// Checks a status's text and content warning: Mastodon's limit together, no NUL, no control
/// character but newlines and tabs.
pub fn check_text(text: &str, spoiler: Option<&str>) -> Result<(), FieldError> {
    for (path, t) in [("text", Some(text)), ("spoiler_text", spoiler)] {
        if let Some(t) = t
            && t.chars().any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            return Err(FieldError::new(path, "control characters are not allowed"));
        }
    }
    if text.trim().is_empty() {
        return Err(FieldError::new("text", "required: 1 or more characters"));
    }
    let count = text.chars().count() + spoiler.map_or(0, |s| s.chars().count());
    if count > MAX_CHARS {
        return Err(FieldError::new(
            "text",
            format!("{count} characters with the content warning; the limit is {MAX_CHARS}"),
        ));
    }
    Ok(())
}

impl NewPost {
    /// Parses a request (`account_id`, `text`, optional `visibility`, `spoiler_text`,
    /// `language`, `publish_at`, `media: [{content_type, data (base64), description?}]`).
    pub fn parse(value: Value, now: DateTime<Utc>) -> Result<Self, FieldError> {
        let r: Request = from_value(value)?;
        let spoiler_text = r.spoiler_text.filter(|s| !s.is_empty());
        check_text(&r.text, spoiler_text.as_deref())?;
        let visibility = match &r.visibility {
            None => Visibility::Public,
            Some(v) => Visibility::parse_field("visibility", v)?,
        };
        if let Some(lang) = &r.language
            && (!(2..=3).contains(&lang.len()) || !lang.chars().all(|c| c.is_ascii_lowercase()))
        {
            return Err(FieldError::new(
                "language",
                "expected an ISO 639 code such as en or deu",
            ));
        }
        if let Some(at) = r.publish_at
            && at > now + TimeDelta::days(MAX_AHEAD_DAYS)
        {
            return Err(FieldError::new(
                "publish_at",
                format!("at most {MAX_AHEAD_DAYS} days ahead"),
            ));
        }
        if r.media.len() > MAX_MEDIA {
            return Err(FieldError::new(
                "media",
                format!("at most {MAX_MEDIA} images"),
            ));
        }
        let media = r
            .media
            .into_iter()
            .enumerate()
            .map(|(i, m)| parse_media(m).map_err(|e| e.under(&format!("media[{i}]"))))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            account_id: r.account_id,
            text: r.text,
            visibility,
            spoiler_text,
            language: r.language,
            publish_at: r.publish_at.filter(|at| *at > now),
            media,
        })
    }
}

fn parse_media(m: MediaRequest) -> Result<NewMedia, FieldError> {
    let Some((_, magic)) = MEDIA_TYPES.iter().find(|(t, _)| *t == m.content_type) else {
        let names: Vec<&str> = MEDIA_TYPES.iter().map(|(t, _)| *t).collect();
        return Err(FieldError::new(
            "content_type",
            format!("expected one of {}", names.join(", ")),
        ));
    };
    // A longer text cannot decode to an allowed size: refuse it before decoding.
    if m.data.len() > MAX_MEDIA_BYTES.div_ceil(3) * 4 {
        return Err(FieldError::new(
            "data",
            format!("larger than {MAX_MEDIA_BYTES} bytes"),
        ));
    }
    let bytes = STANDARD
        .decode(m.data.as_bytes())
        .map_err(|_| FieldError::new("data", "expected standard base64"))?;
    if bytes.is_empty() || bytes.len() > MAX_MEDIA_BYTES {
        return Err(FieldError::new(
            "data",
            format!("expected 1 to {MAX_MEDIA_BYTES} bytes"),
        ));
    }
    if !bytes.starts_with(magic) {
        return Err(FieldError::new(
            "data",
            format!("not a {} image", m.content_type),
        ));
    }
    if let Some(d) = &m.description
        && (d.chars().count() > MAX_DESCRIPTION || d.contains('\0'))
    {
        return Err(FieldError::new(
            "description",
            format!("expected at most {MAX_DESCRIPTION} characters, no NUL"),
        ));
    }
    Ok(NewMedia {
        content_type: m.content_type,
        bytes,
        description: m.description,
    })
}

/// A post as readers see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Post {
    /// Its id (also its `Idempotency-Key` towards the server).
    pub id: Uuid,
    /// The account.
    pub account_id: Uuid,
    /// The status text.
    pub text: String,
    /// Who sees it.
    pub visibility: Visibility,
    /// The content warning.
    pub spoiler_text: Option<String>,
    /// The language.
    pub language: Option<String>,
    /// When it is to be published.
    pub publish_at: Option<DateTime<Utc>>,
    /// Where it is in its life.
    pub state: PostState,
    /// When it was approved, and by whom (a key id).
    pub approved_at: Option<DateTime<Utc>>,
    /// The key that approved it.
    pub approved_by: Option<String>,
    /// The server's status id, once published.
    pub remote_id: Option<String>,
    /// The status's URL, once published.
    pub remote_url: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
    /// Attempts so far.
    pub attempts: i32,
    /// How many images it has.
    pub media_count: i64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was published.
    pub published_at: Option<DateTime<Utc>>,
}

/// Creates a post; when its account needs no approval it is scheduled at once (its job is
/// enqueued on `conn`; wake the `publish_post` workers after the commit). `step_key` makes a
/// workflow step's post once: a second call with the same key returns the first post.
pub async fn create(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &Actor,
    new: NewPost,
    step_key: Option<&str>,
) -> Result<Post, DomainError> {
    let account = sqlx::query!(
        r#"SELECT requires_approval, enabled FROM publish_accounts
           WHERE tenant_id = $1 AND id = $2 FOR SHARE"#,
        tenant_id,
        new.account_id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(DomainError::NotFound("account"))?;
    if !account.enabled {
        return Err(DomainError::Conflict("the account is disabled".into()));
    }
    let id = Uuid::now_v7();
    let state = if account.requires_approval {
        PostState::Draft
    } else {
        PostState::Scheduled
    };
    let inserted = sqlx::query_scalar!(
        r#"INSERT INTO posts (id, tenant_id, account_id, text, visibility, spoiler_text, language,
                              publish_at, state, step_key)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (tenant_id, step_key) DO NOTHING RETURNING id"#,
        id,
        tenant_id,
        new.account_id,
        new.text,
        new.visibility.as_str(),
        new.spoiler_text,
        new.language,
        new.publish_at,
        state.as_str(),
        step_key
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(id) = inserted else {
        let existing = sqlx::query_scalar!(
            "SELECT id FROM posts WHERE tenant_id = $1 AND step_key = $2",
            tenant_id,
            step_key
        )
        .fetch_one(&mut *conn)
        .await?;
        return get(conn, tenant_id, existing).await;
    };
    for (i, m) in new.media.iter().enumerate() {
        sqlx::query!(
            r#"INSERT INTO post_media (post_id, position, content_type, bytes, description)
               VALUES ($1, $2, $3, $4, $5)"#,
            id,
            i16::try_from(i).unwrap_or(i16::MAX),
            m.content_type,
            m.bytes,
            m.description
        )
        .execute(&mut *conn)
        .await?;
    }
    if state == PostState::Scheduled {
        schedule(conn, tenant_id, actor, id, new.publish_at).await?;
    }
    audit::record(
        conn,
        tenant_id,
        actor,
        Change {
            action: "post.create",
            target_type: "post",
            target_id: id.to_string(),
            before: None,
            after: Some(json!({ "account_id": new.account_id, "state": state,
                                "publish_at": new.publish_at, "media": new.media.len() })),
        },
    )
    .await?;
    get(conn, tenant_id, id).await
}

/// Enqueues the post's job, to run at `publish_at` (or at once).
async fn schedule(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &Actor,
    id: Uuid,
    publish_at: Option<DateTime<Utc>>,
) -> Result<(), DomainError> {
    let mut job = NewJob::new(&PublishPost::of(id))?;
    if let Some(at) = publish_at {
        job = job.run_at(at);
    }
    let enqueued = queue::enqueue(conn, tenant_id, actor.request_id.as_deref(), &[job]).await?;
    let job_id = enqueued.first().map(|e| e.job.id);
    sqlx::query!(
        "UPDATE posts SET job_id = $3, updated_at = now() WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        id,
        job_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Approves a draft: it is scheduled (its job enqueued on `conn`).
pub async fn approve(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &Actor,
    id: Uuid,
) -> Result<Post, DomainError> {
    let approver = actor.key_id.map(|k| k.to_string());
    let row = sqlx::query!(
        r#"UPDATE posts SET state = 'scheduled', approved_at = now(), approved_by = $3,
                  updated_at = now()
           WHERE tenant_id = $1 AND id = $2 AND state = 'draft'
           RETURNING publish_at"#,
        tenant_id,
        id,
        approver
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        let post = get(&mut *conn, tenant_id, id).await?;
        return Err(DomainError::Conflict(format!(
            "the post is {}; only a draft is approved",
            post.state
        )));
    };
    schedule(conn, tenant_id, actor, id, row.publish_at).await?;
    audit::record(
        conn,
        tenant_id,
        actor,
        Change {
            action: "post.approve",
            target_type: "post",
            target_id: id.to_string(),
            before: Some(json!({ "state": "draft" })),
            after: Some(json!({ "state": "scheduled" })),
        },
    )
    .await?;
    get(conn, tenant_id, id).await
}

/// Deletes (cancels) a post that is not published and not going out now; its job, if it
/// runs, finds nothing to do.
pub async fn delete(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &Actor,
    id: Uuid,
) -> Result<(), DomainError> {
    let post = get(&mut *conn, tenant_id, id).await?;
    let deleted = sqlx::query_scalar!(
        r#"DELETE FROM posts WHERE tenant_id = $1 AND id = $2
             AND state <> 'published' AND posting_since IS NULL AND remote_id IS NULL
           RETURNING id"#,
        tenant_id,
        id
    )
    .fetch_optional(&mut *conn)
    .await?;
    if deleted.is_none() {
        return Err(DomainError::Conflict(
            "the post is published or being published; delete it on the server".into(),
        ));
    }
    audit::record(
        conn,
        tenant_id,
        actor,
        Change {
            action: "post.delete",
            target_type: "post",
            target_id: id.to_string(),
            before: Some(json!({ "state": post.state, "account_id": post.account_id })),
            after: None,
        },
    )
    .await
}

/// One post.
pub async fn get(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> Result<Post, DomainError> {
    sqlx::query_as!(
        Post,
        r#"SELECT id, account_id, text, visibility AS "visibility: Visibility", spoiler_text,
                  language, publish_at, state AS "state: PostState", approved_at, approved_by,
                  remote_id, remote_url, error, attempts,
                  (SELECT count(*) FROM post_media m WHERE m.post_id = p.id) AS "media_count!",
                  created_at, published_at
           FROM posts p WHERE tenant_id = $1 AND id = $2"#,
        tenant_id,
        id
    )
    .fetch_optional(conn)
    .await?
    .ok_or(DomainError::NotFound("post"))
}

/// The tenant's posts, newest first, optionally of one account or in one state, `limit` of
/// them before `before` (an id).
pub async fn list(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    account_id: Option<Uuid>,
    state: Option<PostState>,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Post>, DomainError> {
    Ok(sqlx::query_as!(
        Post,
        r#"SELECT id, account_id, text, visibility AS "visibility: Visibility", spoiler_text,
                  language, publish_at, state AS "state: PostState", approved_at, approved_by,
                  remote_id, remote_url, error, attempts,
                  (SELECT count(*) FROM post_media m WHERE m.post_id = p.id) AS "media_count!",
                  created_at, published_at
           FROM posts p
           WHERE tenant_id = $1 AND ($2::uuid IS NULL OR account_id = $2)
             AND ($3::text IS NULL OR state = $3) AND ($4::uuid IS NULL OR id < $4)
           ORDER BY id DESC LIMIT $5"#,
        tenant_id,
        account_id,
        state.map(PostState::as_str),
        before,
        limit.clamp(1, 200)
    )
    .fetch_all(conn)
    .await?)
}
