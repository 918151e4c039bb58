//! Partners as rows: create, list, read, change and delete them (tenant-scoped, audited), and
//! load one with its secrets opened for the `export_lead` job and the postback check.

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::spec::{self, Config, Mode, PartnerSpec, Routing, Secrets};
use crate::{
    DomainError,
    audit::{self, Actor, Change},
};

/// A partner as readers see it (never a secret).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Partner {
    /// Its id.
    pub id: Uuid,
    /// Its name, unique in the tenant.
    pub name: String,
    /// Direct or ping/post.
    pub mode: Mode,
    /// URLs, body format and templates, mappings, confirmation, auth kind.
    pub config: Value,
    /// Requests a minute, across every worker.
    pub rate_limit_per_min: i32,
    /// Leads a UTC day (none: no cap).
    pub daily_cap: Option<i32>,
    /// The currency of its prices.
    pub currency: String,
    /// Which leads go to it, in which order.
    pub routing: Routing,
    /// Whether leads go to it.
    pub enabled: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

struct Row {
    id: Uuid,
    name: String,
    mode: Mode,
    config: Value,
    rate_limit_per_min: i32,
    daily_cap: Option<i32>,
    currency: String,
    priority: i32,
    min_score: i16,
    max_score: i16,
    categories: Vec<String>,
    regions: Vec<String>,
    exclusive: bool,
    enabled: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl Row {
    fn into_partner(self) -> Partner {
        Partner {
            id: self.id,
            name: self.name,
            mode: self.mode,
            config: self.config,
            rate_limit_per_min: self.rate_limit_per_min,
            daily_cap: self.daily_cap,
            currency: self.currency,
            routing: Routing {
                priority: self.priority,
                min_score: self.min_score,
                max_score: self.max_score,
                categories: self.categories,
                regions: self.regions,
                exclusive: self.exclusive,
            },
            enabled: self.enabled,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

impl Partner {
    /// The partner's settings as a spec (to apply a patch over).
    pub fn spec(&self) -> Result<PartnerSpec, DomainError> {
        let config: Config = serde_json::from_value(self.config.clone()).map_err(|_| {
            DomainError::Conflict(format!("partner {}: unreadable settings", self.id))
        })?;
        Ok(PartnerSpec {
            name: self.name.clone(),
            mode: self.mode,
            config,
            rate_limit_per_min: self.rate_limit_per_min,
            daily_cap: self.daily_cap,
            currency: self.currency.clone(),
            routing: self.routing.clone(),
            enabled: self.enabled,
        })
    }
}

fn seal(secrets: &Secrets) -> Result<String, DomainError> {
    Ok(secrets.seal()?)
}

fn view(spec: &PartnerSpec) -> Value {
    json!({
        "name": spec.name, "mode": spec.mode, "config": spec.config,
        "rate_limit_per_min": spec.rate_limit_per_min, "daily_cap": spec.daily_cap,
        "currency": spec.currency, "routing": spec.routing, "enabled": spec.enabled,
    })
}

/// What a creation returns: the id, and the postback secret — shown this once.
#[derive(Debug)]
pub struct Created {
    /// The partner's id.
    pub id: Uuid,
    /// The key postbacks are signed with.
    pub postback_secret: SecretString,
}

/// Creates a partner.
pub async fn create(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &Actor,
    spec: PartnerSpec,
    secrets: Secrets,
) -> Result<Created, DomainError> {
    let id = Uuid::now_v7();
    let sealed = seal(&secrets)?;
    let config = serde_json::to_value(&spec.config).unwrap_or_default();
    let r = &spec.routing;
    let inserted = sqlx::query_scalar!(
        r#"INSERT INTO partners (id, tenant_id, name, mode, config, credentials,
                                 rate_limit_per_min, daily_cap, currency, priority, min_score,
                                 max_score, categories, regions, exclusive, enabled)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
           ON CONFLICT (tenant_id, name) DO NOTHING
           RETURNING id"#,
        id,
        tenant_id,
        spec.name,
        spec.mode.as_str(),
        config,
        sealed,
        spec.rate_limit_per_min,
        spec.daily_cap,
        spec.currency,
        r.priority,
        r.min_score,
        r.max_score,
        &r.categories,
        &r.regions,
        r.exclusive,
        spec.enabled
    )
    .fetch_optional(&mut *conn)
    .await?;
    if inserted.is_none() {
        return Err(DomainError::Conflict(format!(
            "a partner named {:?} exists already",
            spec.name
        )));
    }
    audit::record(
        conn,
        tenant_id,
        actor,
        Change {
            action: "partner.create",
            target_type: "partner",
            target_id: id.to_string(),
            before: None,
            after: Some(view(&spec)),
        },
    )
    .await?;
    Ok(Created {
        id,
        postback_secret: secrets.postback_secret,
    })
}

/// The tenant's partners, in waterfall order.
pub async fn list(pool: &PgPool, tenant_id: Uuid) -> Result<Vec<Partner>, DomainError> {
    let rows = sqlx::query_as!(
        Row,
        r#"SELECT id, name, mode AS "mode: Mode", config, rate_limit_per_min, daily_cap, currency,
                  priority, min_score, max_score, categories, regions, exclusive, enabled,
                  created_at, updated_at
           FROM partners WHERE tenant_id = $1 ORDER BY priority, id"#,
        tenant_id
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(Row::into_partner).collect())
}

/// One partner.
pub async fn get(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Partner, DomainError> {
    sqlx::query_as!(
        Row,
        r#"SELECT id, name, mode AS "mode: Mode", config, rate_limit_per_min, daily_cap, currency,
                  priority, min_score, max_score, categories, regions, exclusive, enabled,
                  created_at, updated_at
           FROM partners WHERE tenant_id = $1 AND id = $2"#,
        tenant_id,
        id
    )
    .fetch_optional(conn)
    .await?
    .map(Row::into_partner)
    .ok_or(DomainError::NotFound("partner"))
}

/// The partner's secrets, opened.
pub async fn secrets(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Secrets, DomainError> {
    let stored = sqlx::query_scalar!(
        "SELECT credentials FROM partners WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        id
    )
    .fetch_optional(conn)
    .await?
    .ok_or(DomainError::NotFound("partner"))?;
    Secrets::open(&stored)
        .map_err(|e| DomainError::Conflict(format!("partner {id}: secrets do not open: {e}")))
}

/// Changes a partner: `body` is a patch over its settings ([`spec::parse`]).
pub async fn update(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &Actor,
    id: Uuid,
    body: Value,
    allow_private: bool,
) -> Result<Partner, DomainError> {
    let before = get(&mut *conn, tenant_id, id).await?;
    let before_spec = before.spec()?;
    let old_secrets = secrets(&mut *conn, tenant_id, id).await?;
    let (spec, secrets) = spec::parse(body, Some((&before_spec, old_secrets)), allow_private)?;
    let sealed = seal(&secrets)?;
    let config = serde_json::to_value(&spec.config).unwrap_or_default();
    let r = &spec.routing;
    let updated = sqlx::query!(
        r#"UPDATE partners SET name = $3, mode = $4, config = $5, credentials = $6,
               rate_limit_per_min = $7, daily_cap = $8, currency = $9, priority = $10,
               min_score = $11, max_score = $12, categories = $13, regions = $14,
               exclusive = $15, enabled = $16, updated_at = now()
           WHERE tenant_id = $1 AND id = $2"#,
        tenant_id,
        id,
        spec.name,
        spec.mode.as_str(),
        config,
        sealed,
        spec.rate_limit_per_min,
        spec.daily_cap,
        spec.currency,
        r.priority,
        r.min_score,
        r.max_score,
        &r.categories,
        &r.regions,
        r.exclusive,
        spec.enabled
    )
    .execute(&mut *conn)
    .await;
    match updated {
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            return Err(DomainError::Conflict(
                "another partner has that name".into(),
            ));
        }
        other => {
            other?;
        }
    }
    audit::record(
        conn,
        tenant_id,
        actor,
        Change {
            action: "partner.update",
            target_type: "partner",
            target_id: id.to_string(),
            before: Some(view(&before_spec)),
            after: Some(view(&spec)),
        },
    )
    .await?;
    get(conn, tenant_id, id).await
}

/// Deletes a partner; its exports go with it, its ledger rows stay (with its name).
pub async fn delete(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &Actor,
    id: Uuid,
) -> Result<(), DomainError> {
    let name = sqlx::query_scalar!(
        "DELETE FROM partners WHERE tenant_id = $1 AND id = $2 RETURNING name",
        tenant_id,
        id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(DomainError::NotFound("partner"))?;
    audit::record(
        conn,
        tenant_id,
        actor,
        Change {
            action: "partner.delete",
            target_type: "partner",
            target_id: id.to_string(),
            before: Some(json!({ "name": name })),
            after: None,
        },
    )
    .await
}

/// The tenant of partner `id`, and its postback secret (for the postback check, which has no
/// API key: the partner's id is all the caller names).
pub async fn postback_key(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<(Uuid, Secrets)>, DomainError> {
    let Some(row) = sqlx::query!(
        "SELECT tenant_id, credentials FROM partners WHERE id = $1",
        id
    )
    .fetch_optional(conn)
    .await?
    else {
        return Ok(None);
    };
    let secrets = Secrets::open(&row.credentials)
        .map_err(|e| DomainError::Conflict(format!("partner {id}: secrets do not open: {e}")))?;
    Ok(Some((row.tenant_id, secrets)))
}
