//! Event subscriptions: a customer's endpoint receives the event types it subscribed to as
//! signed Standard Webhooks, retried on a published schedule.
//!
//! The signing secret (`whsec_…`) is generated here, shown once at creation or rotation, and
//! stored sealed. A rotation keeps the previous secret beside the new one, so every message
//! carries a signature under each until the customer's receiver has switched
//! ([`rotate_secret`] with `keep_previous`). An endpoint that answers 410, or fails every
//! attempt for [`DISABLE_AFTER`], is disabled, and that is itself an event
//! (`subscription.disabled`).

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::{PgConnection, PgPool};
use url::Url;
use uuid::Uuid;

use super::{
    channels,
    events::{self, EventType},
};
use crate::{
    DomainError, FieldError,
    audit::{self, Actor, Change},
    kinds::from_value,
    net, secrets,
};

/// The purpose the secrets are sealed for.
pub const SECRETS_PURPOSE: &str = "subscriptions.secrets";
/// How long an endpoint may fail every attempt before it is disabled.
pub const DISABLE_AFTER: chrono::TimeDelta = chrono::TimeDelta::days(5);
/// Longest URL.
pub const MAX_URL: usize = 2000;
/// Longest description.
pub const MAX_DESCRIPTION: usize = 500;
/// Sends a minute to one endpoint, across the fleet.
pub const RATE_PER_MIN: i32 = 600;

/// A subscription as readers see it (never its secrets).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Subscription {
    /// Its id.
    pub id: Uuid,
    /// The endpoint.
    pub url: String,
    /// What it is for.
    pub description: String,
    /// Event types and families (`lead.*`) it receives.
    pub event_types: Vec<String>,
    /// Whether events go to it.
    pub enabled: bool,
    /// Why it was disabled.
    pub disabled_reason: Option<String>,
    /// Since when every attempt has failed.
    pub failing_since: Option<DateTime<Utc>>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    url: String,
    #[serde(default)]
    description: String,
    event_types: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchRequest {
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    event_types: Option<Vec<String>>,
    #[serde(default)]
    enabled: Option<bool>,
}

/// A subscription to create, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSubscription {
    /// The endpoint.
    pub url: Url,
    /// What it is for.
    pub description: String,
    /// Event types and families.
    pub event_types: Vec<String>,
}

/// A change of a subscription. Enabling it again forgets how long it had been failing.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SubscriptionPatch {
    /// A new endpoint.
    pub url: Option<Url>,
    /// A new description.
    pub description: Option<String>,
    /// New event types.
    pub event_types: Option<Vec<String>>,
    /// Enable or disable.
    pub enabled: Option<bool>,
}

fn check_url(url: &str, allow_private: bool) -> Result<Url, FieldError> {
    if url.len() > MAX_URL {
        return Err(FieldError::new("url", format!("at most {MAX_URL} bytes")));
    }
    let parsed = Url::parse(url).map_err(|e| FieldError::new("url", e.to_string()))?;
    let loopback_http = parsed.scheme() == "http" && allow_private;
    if parsed.scheme() != "https" && !loopback_http {
        return Err(FieldError::new("url", "expected an https URL"));
    }
    net::check_url(&parsed, allow_private).map_err(|e| FieldError::new("url", e))?;
    Ok(parsed)
}

fn check_types(types: &[String]) -> Result<Vec<String>, FieldError> {
    if types.is_empty() || types.len() > events::MAX_PATTERNS {
        return Err(FieldError::new(
            "event_types",
            format!("expected 1 to {} event types", events::MAX_PATTERNS),
        ));
    }
    for (i, t) in types.iter().enumerate() {
        events::check_pattern(t).map_err(|e| e.under(&format!("event_types[{i}]")))?;
    }
    let mut types = types.to_vec();
    types.sort();
    types.dedup();
    Ok(types)
}

fn check_description(d: &str) -> Result<String, FieldError> {
    if d.chars().count() > MAX_DESCRIPTION || d.contains('\0') {
        return Err(FieldError::new(
            "description",
            format!("at most {MAX_DESCRIPTION} characters, no NUL"),
        ));
    }
    Ok(d.trim().to_owned())
}

impl NewSubscription {
    /// Parses a request; `allow_private` lets the endpoint be a private address (and `http`).
    pub fn parse(value: Value, allow_private: bool) -> Result<Self, FieldError> {
        let r: Request = from_value(value)?;
        Ok(Self {
            url: check_url(&r.url, allow_private)?,
            description: check_description(&r.description)?,
            event_types: check_types(&r.event_types)?,
        })
    }
}

impl SubscriptionPatch {
    /// Parses a patch.
    pub fn parse(value: Value, allow_private: bool) -> Result<Self, FieldError> {
        let r: PatchRequest = from_value(value)?;
        Ok(Self {
            url: r.url.map(|u| check_url(&u, allow_private)).transpose()?,
            description: r.description.map(|d| check_description(&d)).transpose()?,
            event_types: r.event_types.map(|t| check_types(&t)).transpose()?,
            enabled: r.enabled,
        })
    }
}

fn seal(secrets_list: &[SecretString]) -> Result<String, DomainError> {
    let plain: Vec<&str> = secrets_list.iter().map(|s| s.expose_secret()).collect();
    let text = serde_json::to_string(&plain).unwrap_or_default();
    Ok(secrets::seal(SECRETS_PURPOSE, &text)?)
}

/// Opens a subscription's stored secrets (newest first).
pub fn open(stored: &str) -> Result<Vec<SecretString>, DomainError> {
    let opened = secrets::open(SECRETS_PURPOSE, stored)
        .map_err(|e| DomainError::Conflict(format!("subscription secrets do not open: {e}")))?;
    let list: Vec<String> = serde_json::from_str(opened.expose_secret())
        .map_err(|_| DomainError::Conflict("subscription secrets are unreadable".into()))?;
    Ok(list.into_iter().map(SecretString::from).collect())
}

struct Row {
    id: Uuid,
    url: String,
    description: String,
    event_types: Vec<String>,
    enabled: bool,
    disabled_reason: Option<String>,
    failing_since: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<Row> for Subscription {
    fn from(r: Row) -> Self {
        Self {
            id: r.id,
            url: r.url,
            description: r.description,
            event_types: r.event_types,
            enabled: r.enabled,
            disabled_reason: r.disabled_reason,
            failing_since: r.failing_since,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// Creates a subscription; returns its id and its signing secret (shown this once).
pub async fn create(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &Actor,
    new: NewSubscription,
) -> Result<(Uuid, SecretString), DomainError> {
    let id = Uuid::now_v7();
    let secret = channels::generate_signing_secret();
    let sealed = seal(std::slice::from_ref(&secret))?;
    sqlx::query!(
        r#"INSERT INTO subscriptions (id, tenant_id, url, description, event_types, secrets)
           VALUES ($1, $2, $3, $4, $5, $6)"#,
        id,
        tenant_id,
        new.url.as_str(),
        new.description,
        &new.event_types,
        sealed
    )
    .execute(&mut *conn)
    .await?;
    audit::record(
        conn,
        tenant_id,
        actor,
        Change {
            action: "subscription.create",
            target_type: "subscription",
            target_id: id.to_string(),
            before: None,
            after: Some(json!({ "url": new.url.as_str(), "event_types": new.event_types })),
        },
    )
    .await?;
    Ok((id, secret))
}

/// The tenant's subscriptions, newest first.
pub async fn list(pool: &PgPool, tenant_id: Uuid) -> Result<Vec<Subscription>, DomainError> {
    let rows = sqlx::query_as!(
        Row,
        r#"SELECT id, url, description, event_types, enabled, disabled_reason, failing_since,
                  created_at, updated_at
           FROM subscriptions WHERE tenant_id = $1 ORDER BY id DESC"#,
        tenant_id
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// One subscription.
pub async fn get(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Subscription, DomainError> {
    sqlx::query_as!(
        Row,
        r#"SELECT id, url, description, event_types, enabled, disabled_reason, failing_since,
                  created_at, updated_at
           FROM subscriptions WHERE tenant_id = $1 AND id = $2"#,
        tenant_id,
        id
    )
    .fetch_optional(conn)
    .await?
    .map(Into::into)
    .ok_or(DomainError::NotFound("subscription"))
}

/// Changes a subscription.
pub async fn update(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &Actor,
    id: Uuid,
    patch: SubscriptionPatch,
) -> Result<(), DomainError> {
    let before = get(&mut *conn, tenant_id, id).await?;
    sqlx::query!(
        r#"UPDATE subscriptions SET
               url = coalesce($3, url),
               description = coalesce($4, description),
               event_types = coalesce($5, event_types),
               enabled = coalesce($6, enabled),
               disabled_reason = CASE WHEN $6 IS NULL THEN disabled_reason
                                      WHEN $6 THEN NULL ELSE 'disabled by a person' END,
               failing_since = CASE WHEN $6 THEN NULL ELSE failing_since END,
               updated_at = now()
           WHERE tenant_id = $1 AND id = $2"#,
        tenant_id,
        id,
        patch.url.as_ref().map(Url::as_str),
        patch.description,
        patch.event_types.as_deref(),
        patch.enabled
    )
    .execute(&mut *conn)
    .await?;
    let after = get(&mut *conn, tenant_id, id).await?;
    audit::record(
        conn,
        tenant_id,
        actor,
        Change {
            action: "subscription.update",
            target_type: "subscription",
            target_id: id.to_string(),
            before: Some(
                json!({ "url": before.url, "event_types": before.event_types,
                                 "enabled": before.enabled }),
            ),
            after: Some(json!({ "url": after.url, "event_types": after.event_types,
                                "enabled": after.enabled })),
        },
    )
    .await?;
    Ok(())
}

/// Gives a subscription a new signing secret (returned, shown this once). With
/// `keep_previous`, the newest old secret keeps signing beside it until the next rotation.
pub async fn rotate_secret(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &Actor,
    id: Uuid,
    keep_previous: bool,
) -> Result<SecretString, DomainError> {
    let stored = sqlx::query_scalar!(
        "SELECT secrets FROM subscriptions WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
        tenant_id,
        id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(DomainError::NotFound("subscription"))?;
    let secret = channels::generate_signing_secret();
    let mut list = vec![secret.clone()];
    if keep_previous && let Some(previous) = open(&stored)?.into_iter().next() {
        list.push(previous);
    }
    sqlx::query!(
        "UPDATE subscriptions SET secrets = $3, updated_at = now() WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        id,
        seal(&list)?
    )
    .execute(&mut *conn)
    .await?;
    audit::record(
        conn,
        tenant_id,
        actor,
        Change {
            action: "subscription.rotate_secret",
            target_type: "subscription",
            target_id: id.to_string(),
            before: None,
            after: Some(json!({ "keep_previous": keep_previous })),
        },
    )
    .await?;
    Ok(secret)
}

/// Deletes a subscription and its deliveries.
pub async fn delete(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &Actor,
    id: Uuid,
) -> Result<(), DomainError> {
    let url = sqlx::query_scalar!(
        "DELETE FROM subscriptions WHERE tenant_id = $1 AND id = $2 RETURNING url",
        tenant_id,
        id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(DomainError::NotFound("subscription"))?;
    audit::record(
        conn,
        tenant_id,
        actor,
        Change {
            action: "subscription.delete",
            target_type: "subscription",
            target_id: id.to_string(),
            before: Some(json!({ "url": url })),
            after: None,
        },
    )
    .await?;
    Ok(())
}

/// What the `deliver` job needs to send to a subscription.
#[derive(Debug)]
pub struct Endpoint {
    /// The URL.
    pub url: Url,
    /// Signing secrets, newest first.
    pub secrets: Vec<SecretString>,
    /// Whether events go to it.
    pub enabled: bool,
}

/// Loads a subscription to send to (`None` when it was deleted).
pub async fn endpoint(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<Endpoint>, DomainError> {
    let Some(row) = sqlx::query!(
        "SELECT url, secrets, enabled FROM subscriptions WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        id
    )
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let url = Url::parse(&row.url)
        .map_err(|_| DomainError::Conflict(format!("subscription {id}: unreadable URL")))?;
    Ok(Some(Endpoint {
        url,
        secrets: open(&row.secrets)?,
        enabled: row.enabled,
    }))
}

/// Records a successful delivery: the endpoint is healthy again.
pub async fn record_success(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE subscriptions SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL",
        id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Records a failed attempt at `now`; disables the subscription (and says so as an event)
/// when it has failed every attempt for [`DISABLE_AFTER`], or at once when `gone` (a 410).
/// Returns whether it is disabled now.
pub async fn record_failure(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    gone: bool,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let row = sqlx::query!(
        r#"UPDATE subscriptions SET failing_since = coalesce(failing_since, $2)
           WHERE id = $1 RETURNING failing_since AS "failing_since!", enabled, url"#,
        id,
        now
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(false) };
    if !row.enabled {
        return Ok(true);
    }
    let reason = if gone {
        "the endpoint answered 410 Gone".to_owned()
    } else if now - row.failing_since >= DISABLE_AFTER {
        format!(
            "every attempt failed since {}",
            row.failing_since.to_rfc3339()
        )
    } else {
        return Ok(false);
    };
    sqlx::query!(
        "UPDATE subscriptions SET enabled = false, disabled_reason = $2, updated_at = $3 WHERE id = $1",
        id,
        reason,
        now
    )
    .execute(&mut *conn)
    .await?;
    events::emit(
        conn,
        tenant_id,
        EventType::SubscriptionDisabled,
        &format!("subscription:{id}"),
        json!({ "subscription_id": id, "url": row.url, "reason": reason }),
    )
    .await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use sqlx::PgPool;

    use super::*;

    #[sqlx::test(migrator = "crate::db::MIGRATOR")]
    async fn an_endpoint_failing_for_five_days_is_disabled_and_that_is_an_event(pool: PgPool) {
        let mut conn = pool.acquire().await.unwrap();
        let tenant = crate::auth::ensure_tenant(&mut conn, "t").await.unwrap();
        let id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO subscriptions (id, tenant_id, url, event_types, secrets)
             VALUES ($1, $2, 'https://a.example.com', '{\"*\"}', 'x')",
        )
        .bind(id)
        .bind(tenant)
        .execute(&mut *conn)
        .await
        .unwrap();
        let start = "2026-11-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap();
        for hours in [0, 24, 72, 119] {
            let now = start + chrono::TimeDelta::hours(hours);
            assert!(
                !record_failure(&mut conn, tenant, id, false, now)
                    .await
                    .unwrap()
            );
        }
        // A success in between forgets the failures.
        record_success(&mut conn, id).await.unwrap();
        let restart = start + chrono::TimeDelta::hours(120);
        assert!(
            !record_failure(&mut conn, tenant, id, false, restart)
                .await
                .unwrap()
        );
        let later = restart + DISABLE_AFTER - chrono::TimeDelta::minutes(1);
        assert!(
            !record_failure(&mut conn, tenant, id, false, later)
                .await
                .unwrap()
        );
        let at = restart + DISABLE_AFTER;
        assert!(
            record_failure(&mut conn, tenant, id, false, at)
                .await
                .unwrap()
        );
        let sub = get(&mut conn, tenant, id).await.unwrap();
        assert!(!sub.enabled);
        assert!(
            sub.disabled_reason
                .unwrap()
                .contains("every attempt failed since")
        );
        let events: Vec<(String, Value)> =
            sqlx::query_as("SELECT type, data FROM events WHERE tenant_id = $1")
                .bind(tenant)
                .fetch_all(&mut *conn)
                .await
                .unwrap();
        assert_eq!(events.len(), 1, "disabled once: {events:?}");
        assert_eq!(events[0].0, "subscription.disabled");
        assert_eq!(events[0].1["subscription_id"], id.to_string());
        // Already disabled: no second event.
        assert!(
            record_failure(&mut conn, tenant, id, false, at)
                .await
                .unwrap()
        );
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(n, 1);
    }
}
