//! Destinations: where alerts go. One row each, with what may be shown (`config`) apart from
//! what may not (`credentials`: webhook URLs that carry tokens, bot tokens, SMTP passwords,
//! signing secrets), which is sealed with the operator key before it is written and opened only
//! by the `deliver` job ([`target`]). Readers see the kind, the public settings and whether the
//! destination is enabled; the audit log names the destination's id, never a credential.

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::channels::{self, ChannelConfig, ChannelKind, Credentials};
use crate::{
    DomainError, FieldError,
    audit::{self, Actor, Change},
    kinds::from_value,
};

/// Longest name.
pub const MAX_NAME: usize = 100;

/// Highest pace a destination may be given, sends a minute across the fleet.
pub const MAX_RATE_PER_MIN: i32 = 6000;

/// The documented pace of each service, sends a minute: Slack's ~1 a second, Discord's 30 a
/// minute per webhook, Telegram's 20 a minute in a group (1 a second in a private chat).
pub fn default_rate_per_min(kind: ChannelKind) -> i32 {
    match kind {
        ChannelKind::Webhook => 600,
        ChannelKind::Slack => 60,
        ChannelKind::Discord => 30,
        ChannelKind::Telegram => 20,
        ChannelKind::Email => 60,
    }
}

/// A destination as readers see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Destination {
    /// Its id.
    pub id: Uuid,
    /// Its name, unique in the tenant.
    pub name: String,
    /// The service.
    pub kind: ChannelKind,
    /// The settings that may be shown (never a token, a password or a secret).
    pub config: Value,
    /// Sends a minute, across every worker.
    pub rate_limit_per_min: i32,
    /// Whether alerts go to it.
    pub enabled: bool,
    /// Why it was disabled (by a person, or because the service said it is gone).
    pub disabled_reason: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// A destination to create.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    name: String,
    kind: String,
    settings: Value,
    #[serde(default)]
    rate_limit_per_min: Option<i32>,
}

/// A destination to create, checked.
#[derive(Debug)]
pub struct NewDestination {
    /// Its name.
    pub name: String,
    /// The service.
    pub kind: ChannelKind,
    /// Public settings.
    pub config: ChannelConfig,
    /// Secret settings.
    pub credentials: Credentials,
    /// Sends a minute.
    pub rate_limit_per_min: i32,
}

impl NewDestination {
    /// Parses a request (`name`, `kind`, `settings` as the kind expects, optional
    /// `rate_limit_per_min`). `allow_private` lets URLs point at private addresses.
    pub fn parse(value: Value, allow_private: bool) -> Result<Self, FieldError> {
        let r: Request = from_value(value)?;
        check_name(&r.name).map_err(|e| e.under("name"))?;
        let kind = ChannelKind::parse(&r.kind).ok_or_else(|| {
            FieldError::new("kind", format!("expected one of {}", ChannelKind::names()))
        })?;
        let (config, credentials) = channels::parse_destination(kind, r.settings, allow_private)
            .map_err(|e| e.under("settings"))?;
        let rate_limit_per_min = check_rate(r.rate_limit_per_min, kind)?;
        Ok(Self {
            name: r.name.trim().to_owned(),
            kind,
            config,
            credentials,
            rate_limit_per_min,
        })
    }
}

/// A change of a destination: each field given replaces the stored one; `settings` replaces
/// public and secret settings together (the kind never changes).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchRequest {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    settings: Option<Value>,
    #[serde(default)]
    rate_limit_per_min: Option<i32>,
    #[serde(default)]
    enabled: Option<bool>,
}

/// A checked change of a destination (parse it with [`DestinationPatch::parse`] once the
/// destination's kind is known).
#[derive(Debug, Default)]
pub struct DestinationPatch {
    name: Option<String>,
    settings: Option<(ChannelConfig, Credentials)>,
    rate_limit_per_min: Option<i32>,
    enabled: Option<bool>,
}

impl DestinationPatch {
    /// Parses a patch for a destination of `kind`.
    pub fn parse(value: Value, kind: ChannelKind, allow_private: bool) -> Result<Self, FieldError> {
        let r: PatchRequest = from_value(value)?;
        if let Some(name) = &r.name {
            check_name(name).map_err(|e| e.under("name"))?;
        }
        let settings = r
            .settings
            .map(|s| channels::parse_destination(kind, s, allow_private))
            .transpose()
            .map_err(|e| e.under("settings"))?;
        let rate_limit_per_min = r
            .rate_limit_per_min
            .map(|n| check_rate(Some(n), kind))
            .transpose()?;
        Ok(Self {
            name: r.name.map(|n| n.trim().to_owned()),
            settings,
            rate_limit_per_min,
            enabled: r.enabled,
        })
    }
}

/// Checks a name: 1 to [`MAX_NAME`] printable characters once trimmed (the error's path is
/// empty: the caller nests it).
pub(crate) fn check_name(name: &str) -> Result<(), FieldError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(FieldError::new(
            "",
            format!("expected 1 to {MAX_NAME} printable characters"),
        ));
    }
    Ok(())
}

fn check_rate(rate: Option<i32>, kind: ChannelKind) -> Result<i32, FieldError> {
    match rate {
        None => Ok(default_rate_per_min(kind)),
        Some(n) if (1..=MAX_RATE_PER_MIN).contains(&n) => Ok(n),
        Some(_) => Err(FieldError::new(
            "rate_limit_per_min",
            format!("expected 1 to {MAX_RATE_PER_MIN} sends a minute"),
        )),
    }
}

fn seal(credentials: &Credentials) -> Result<String, DomainError> {
    Ok(credentials.seal()?)
}

struct Row {
    id: Uuid,
    name: String,
    kind: String,
    config: Value,
    rate_limit_per_min: i32,
    enabled: bool,
    disabled_reason: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl Row {
    fn into_destination(self) -> Destination {
        let kind = ChannelKind::parse(&self.kind).unwrap_or(ChannelKind::Webhook);
        let config = serde_json::from_value::<ChannelConfig>(self.config.clone())
            .map(|c| channels::public_view(&c))
            .unwrap_or(self.config);
        Destination {
            id: self.id,
            name: self.name,
            kind,
            config,
            rate_limit_per_min: self.rate_limit_per_min,
            enabled: self.enabled,
            disabled_reason: self.disabled_reason,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// What a creation returns: the id, and for a webhook the signing secret it was given or
/// generated — shown this once.
#[derive(Debug)]
pub struct Created {
    /// The destination's id.
    pub id: Uuid,
    /// A webhook's `whsec_…` signing secret.
    pub signing_secret: Option<SecretString>,
}

/// Creates a destination.
pub async fn create(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &Actor,
    new: NewDestination,
) -> Result<Created, DomainError> {
    let id = Uuid::now_v7();
    let sealed = seal(&new.credentials)?;
    let config = serde_json::to_value(&new.config).unwrap_or_default();
    let inserted = sqlx::query_scalar!(
        r#"INSERT INTO destinations (id, tenant_id, name, kind, config, credentials, rate_limit_per_min)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (tenant_id, name) DO NOTHING
           RETURNING id"#,
        id,
        tenant_id,
        new.name,
        new.kind.as_str(),
        config,
        sealed,
        new.rate_limit_per_min
    )
    .fetch_optional(&mut *conn)
    .await?;
    if inserted.is_none() {
        return Err(DomainError::Conflict(format!(
            "a destination named {:?} exists already",
            new.name
        )));
    }
    audit::record(
        conn,
        tenant_id,
        actor,
        Change {
            action: "destination.create",
            target_type: "destination",
            target_id: id.to_string(),
            before: None,
            after: Some(json!({
                "name": new.name,
                "kind": new.kind,
                "config": channels::public_view(&new.config),
                "rate_limit_per_min": new.rate_limit_per_min,
            })),
        },
    )
    .await?;
    let signing_secret = match &new.credentials {
        Credentials::Webhook { signing_secrets } => signing_secrets.first().cloned(),
        _ => None,
    };
    Ok(Created { id, signing_secret })
}

/// The tenant's destinations, by name.
pub async fn list(pool: &PgPool, tenant_id: Uuid) -> Result<Vec<Destination>, DomainError> {
    let rows = sqlx::query_as!(
        Row,
        r#"SELECT id, name, kind, config, rate_limit_per_min, enabled, disabled_reason,
                  created_at, updated_at
           FROM destinations WHERE tenant_id = $1 ORDER BY name"#,
        tenant_id
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(Row::into_destination).collect())
}

/// One destination.
pub async fn get(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Destination, DomainError> {
    sqlx::query_as!(
        Row,
        r#"SELECT id, name, kind, config, rate_limit_per_min, enabled, disabled_reason,
                  created_at, updated_at
           FROM destinations WHERE tenant_id = $1 AND id = $2"#,
        tenant_id,
        id
    )
    .fetch_optional(conn)
    .await?
    .map(Row::into_destination)
    .ok_or(DomainError::NotFound("destination"))
}

/// Changes a destination (parse the patch with its kind: [`get`] first). Enabling it again
/// clears the reason it was disabled.
pub async fn update(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &Actor,
    id: Uuid,
    patch: DestinationPatch,
) -> Result<(), DomainError> {
    let before = get(&mut *conn, tenant_id, id).await?;
    let (config, sealed) = match &patch.settings {
        Some((config, credentials)) => (
            Some(serde_json::to_value(config).unwrap_or_default()),
            Some(seal(credentials)?),
        ),
        None => (None, None),
    };
    let updated = sqlx::query!(
        r#"UPDATE destinations SET
               name = coalesce($3, name),
               config = coalesce($4, config),
               credentials = coalesce($5, credentials),
               rate_limit_per_min = coalesce($6, rate_limit_per_min),
               enabled = coalesce($7, enabled),
               disabled_reason = CASE WHEN $7 IS NULL THEN disabled_reason
                                      WHEN $7 THEN NULL ELSE 'disabled by a person' END,
               updated_at = now()
           WHERE tenant_id = $1 AND id = $2"#,
        tenant_id,
        id,
        patch.name,
        config,
        sealed,
        patch.rate_limit_per_min,
        patch.enabled
    )
    .execute(&mut *conn)
    .await;
    match updated {
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            return Err(DomainError::Conflict(
                "another destination has that name".into(),
            ));
        }
        other => {
            other?;
        }
    }
    let after = get(&mut *conn, tenant_id, id).await?;
    audit::record(
        conn,
        tenant_id,
        actor,
        Change {
            action: "destination.update",
            target_type: "destination",
            target_id: id.to_string(),
            before: Some(json!({ "name": before.name, "config": before.config,
                                 "rate_limit_per_min": before.rate_limit_per_min,
                                 "enabled": before.enabled })),
            after: Some(json!({ "name": after.name, "config": after.config,
                                "rate_limit_per_min": after.rate_limit_per_min,
                                "enabled": after.enabled,
                                "credentials_replaced": patch.settings.is_some() })),
        },
    )
    .await?;
    Ok(())
}

/// Deletes a destination; its deliveries go with it, and the rules that named it no longer do.
pub async fn delete(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &Actor,
    id: Uuid,
) -> Result<(), DomainError> {
    let row = sqlx::query!(
        "DELETE FROM destinations WHERE tenant_id = $1 AND id = $2 RETURNING name, kind",
        tenant_id,
        id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(DomainError::NotFound("destination"))?;
    audit::record(
        conn,
        tenant_id,
        actor,
        Change {
            action: "destination.delete",
            target_type: "destination",
            target_id: id.to_string(),
            before: Some(json!({ "name": row.name, "kind": row.kind })),
            after: None,
        },
    )
    .await?;
    Ok(())
}

/// Everything the `deliver` job needs to send to a destination, credentials opened.
#[derive(Debug)]
pub struct Target {
    /// The service.
    pub kind: ChannelKind,
    /// Public settings.
    pub config: ChannelConfig,
    /// Secret settings.
    pub credentials: Credentials,
    /// Sends a minute.
    pub rate_limit_per_min: i32,
    /// Whether alerts go to it.
    pub enabled: bool,
}

/// Loads a destination to send to (`None` when it was deleted).
pub async fn target(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<Target>, DomainError> {
    let Some(row) = sqlx::query!(
        r#"SELECT kind, config, credentials, rate_limit_per_min, enabled
           FROM destinations WHERE tenant_id = $1 AND id = $2"#,
        tenant_id,
        id
    )
    .fetch_optional(conn)
    .await?
    else {
        return Ok(None);
    };
    let broken = |what: &str| DomainError::Conflict(format!("destination {id}: {what}"));
    let kind = ChannelKind::parse(&row.kind).ok_or_else(|| broken("unknown kind"))?;
    let config: ChannelConfig =
        serde_json::from_value(row.config).map_err(|_| broken("unreadable settings"))?;
    let credentials = Credentials::open(&row.credentials)
        .map_err(|e| broken(&format!("credentials do not open: {e}")))?;
    Ok(Some(Target {
        kind,
        config,
        credentials,
        rate_limit_per_min: row.rate_limit_per_min,
        enabled: row.enabled,
    }))
}

/// Disables a destination the service said is gone, and says so as an event.
pub async fn disable(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    reason: &str,
) -> Result<(), DomainError> {
    let changed = sqlx::query!(
        r#"UPDATE destinations SET enabled = false, disabled_reason = $3, updated_at = now()
           WHERE tenant_id = $1 AND id = $2 AND enabled RETURNING name"#,
        tenant_id,
        id,
        reason
    )
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(row) = changed {
        super::events::emit(
            conn,
            tenant_id,
            super::events::EventType::DestinationDisabled,
            &format!("destination:{id}"),
            json!({ "destination_id": id, "name": row.name, "reason": reason }),
        )
        .await?;
    }
    Ok(())
}
