//! Tenants, API keys and roles.
//!
//! A key is `df_` followed by 64 hex digits (256 random bits). Only its SHA-256 is stored, with
//! a short visible prefix; a slow password hash would add nothing for keys this long and would
//! cost every request.

use std::fmt;

use chrono::{DateTime, Utc};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{DomainError, FieldError};

crate::named_enum! {
    /// What a key may do. Each role includes the ones before it (roles compare in this order).
    pub enum Role {
        /// Reads.
        Viewer = "viewer",
        /// Reads, enqueues, cancels and retries.
        Operator = "operator",
        /// Everything, including keys and tenant settings.
        Admin = "admin",
    }
}

/// [`Role::parse`], with the error a request body's `role` field answers.
impl std::str::FromStr for Role {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::parse(s).ok_or_else(|| FieldError::new("role", "expected admin, operator or viewer"))
    }
}

/// Who is calling: the tenant and key behind a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Principal {
    /// The key's tenant; every row the caller sees belongs to it.
    pub tenant_id: Uuid,
    /// The key itself.
    pub key_id: Uuid,
    /// What it may do.
    pub role: Role,
}

/// A key just created: the only time its secret exists outside the caller's hands.
pub struct IssuedKey {
    /// The key's id.
    pub id: Uuid,
    /// Its tenant.
    pub tenant_id: Uuid,
    /// The visible prefix.
    pub prefix: String,
    /// The whole key, to show once.
    pub secret: SecretString,
}

impl fmt::Debug for IssuedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedKey")
            .field("id", &self.id)
            .field("prefix", &self.prefix)
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// The SHA-256 of a presented key.
pub fn hash_key(key: &str) -> Vec<u8> {
    Sha256::digest(key.as_bytes()).to_vec()
}

fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("df_{}", hex::encode(bytes))
}

/// Validates a tenant name: 1 to 100 characters, no control characters.
pub fn parse_tenant_name(name: &str) -> Result<&str, FieldError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(FieldError::new(
            "tenant",
            "expected 1 to 100 printable characters",
        ));
    }
    Ok(name)
}

/// A request to create a key: `{name, role, expires_at?}`.
#[derive(Debug, Clone, PartialEq)]
pub struct NewKey {
    /// What the key is for.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
}

impl NewKey {
    /// Parses a request body, naming the offending field.
    pub fn parse(body: serde_json::Value) -> Result<Self, FieldError> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Body {
            name: String,
            role: String,
            #[serde(default)]
            expires_at: Option<DateTime<Utc>>,
        }
        if !body.is_object() {
            return Err(FieldError::new("", "expected a JSON object"));
        }
        let body: Body = crate::kinds::from_value(body)?;
        let name = body.name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(FieldError::new(
                "name",
                "expected 1 to 100 printable characters",
            ));
        }
        if body.expires_at.is_some_and(|at| at <= Utc::now()) {
            return Err(FieldError::new(
                "expires_at",
                "expected a time in the future",
            ));
        }
        Ok(Self {
            name: name.to_owned(),
            role: body.role.parse()?,
            expires_at: body.expires_at,
        })
    }
}

/// The id of tenant `name`, created when missing.
pub async fn ensure_tenant(conn: &mut PgConnection, name: &str) -> Result<Uuid, DomainError> {
    let name = parse_tenant_name(name)?;
    let id = sqlx::query_scalar!(
        r#"INSERT INTO tenants (id, name) VALUES ($1, $2)
           ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name
           RETURNING id"#,
        Uuid::now_v7(),
        name
    )
    .fetch_one(conn)
    .await?;
    Ok(id)
}

/// Creates a key for `tenant_id`; its secret is in the result and nowhere else.
pub async fn create_key(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    name: &str,
    role: Role,
    expires_at: Option<DateTime<Utc>>,
) -> Result<IssuedKey, DomainError> {
    let secret = new_secret();
    let prefix = secret[..11].to_owned();
    let id = Uuid::now_v7();
    sqlx::query!(
        r#"INSERT INTO api_keys (id, tenant_id, name, prefix, secret_hash, role, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)"#,
        id,
        tenant_id,
        name,
        prefix,
        hash_key(&secret),
        role.as_str(),
        expires_at
    )
    .execute(conn)
    .await?;
    Ok(IssuedKey {
        id,
        tenant_id,
        prefix,
        secret: SecretString::from(secret),
    })
}

/// Creates a key for `tenant_id` like [`create_key`], unless the tenant already holds
/// `max_live` live keys (neither revoked nor expired): then a conflict. The tenant's row is locked
/// for the rest of the transaction, so concurrent creations take turns and cannot both pass the
/// count.
pub async fn create_key_within(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    new: &NewKey,
    max_live: i64,
) -> Result<IssuedKey, DomainError> {
    sqlx::query_scalar!("SELECT id FROM tenants WHERE id = $1 FOR UPDATE", tenant_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(DomainError::NotFound("tenant"))?;
    let live = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM api_keys
           WHERE tenant_id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())"#,
        tenant_id
    )
    .fetch_one(&mut *conn)
    .await?;
    if live >= max_live {
        return Err(DomainError::Conflict(format!(
            "the tenant holds {live} live keys, the most this server allows ({max_live}); \
             revoke one first"
        )));
    }
    create_key(conn, tenant_id, &new.name, new.role, new.expires_at).await
}

/// The principal behind `key`, if it is a live key: not revoked, not expired, and either its
/// current secret or its previous one within the rotation grace period.
pub async fn authenticate(
    pool: &PgPool,
    key: &SecretString,
) -> Result<Option<Principal>, DomainError> {
    let key = key.expose_secret();
    if !key.starts_with("df_") || key.len() != 67 {
        return Ok(None);
    }
    let hash = hash_key(key);
    let row = sqlx::query!(
        r#"UPDATE api_keys SET last_used_at = now()
           WHERE (secret_hash = $1 OR (previous_secret_hash = $1 AND previous_expires_at > now()))
             AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
           RETURNING id, tenant_id, role"#,
        hash
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| Principal {
        tenant_id: r.tenant_id,
        key_id: r.id,
        role: r.role.parse().unwrap_or(Role::Viewer),
    }))
}

/// A key as its tenant sees it: never the secret.
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct KeyInfo {
    /// Its id.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// The visible start of the key.
    pub prefix: String,
    /// Its role.
    pub role: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last used.
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it stops working.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was last rotated.
    pub rotated_at: Option<DateTime<Utc>>,
    /// Until when the secret before the last rotation still works.
    pub previous_expires_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// This tenant's keys, newest first; revoked ones only when asked.
pub async fn list_keys(
    pool: &PgPool,
    tenant_id: Uuid,
    include_revoked: bool,
) -> Result<Vec<KeyInfo>, DomainError> {
    Ok(sqlx::query_as!(
        KeyInfo,
        r#"SELECT id, name, prefix, role, created_at, last_used_at, expires_at, rotated_at,
                  previous_expires_at, revoked_at
           FROM api_keys WHERE tenant_id = $1 AND ($2 OR revoked_at IS NULL)
           ORDER BY id DESC"#,
        tenant_id,
        include_revoked
    )
    .fetch_all(pool)
    .await?)
}

/// One key of this tenant.
pub async fn get_key(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<KeyInfo, DomainError> {
    sqlx::query_as!(
        KeyInfo,
        r#"SELECT id, name, prefix, role, created_at, last_used_at, expires_at, rotated_at,
                  previous_expires_at, revoked_at
           FROM api_keys WHERE tenant_id = $1 AND id = $2"#,
        tenant_id,
        id
    )
    .fetch_optional(conn)
    .await?
    .ok_or(DomainError::NotFound("key"))
}

/// Gives a live key a new secret; the old one keeps working for `grace`.
pub async fn rotate_key(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    grace: std::time::Duration,
) -> Result<IssuedKey, DomainError> {
    let secret = new_secret();
    let prefix = secret[..11].to_owned();
    let rotated = sqlx::query_scalar!(
        r#"UPDATE api_keys SET previous_secret_hash = secret_hash,
                  previous_expires_at = now() + make_interval(secs => $4),
                  secret_hash = $3, prefix = $5, rotated_at = now()
           WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL
             AND (expires_at IS NULL OR expires_at > now())
           RETURNING id"#,
        tenant_id,
        id,
        hash_key(&secret),
        grace.as_secs_f64(),
        prefix
    )
    .fetch_optional(conn)
    .await?;
    match rotated {
        Some(id) => Ok(IssuedKey {
            id,
            tenant_id,
            prefix,
            secret: SecretString::from(secret),
        }),
        None => Err(DomainError::NotFound("key")),
    }
}

/// Revokes a key (kept, marked revoked, for the history). Revoking twice is a conflict.
pub async fn revoke_key(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<KeyInfo, DomainError> {
    let key = get_key(conn, tenant_id, id).await?;
    if key.revoked_at.is_some() {
        return Err(DomainError::Conflict("the key is already revoked".into()));
    }
    sqlx::query!("UPDATE api_keys SET revoked_at = now() WHERE id = $1", id)
        .execute(&mut *conn)
        .await?;
    get_key(conn, tenant_id, id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_by_power() {
        assert!(Role::Admin > Role::Operator && Role::Operator > Role::Viewer);
        assert_eq!("operator".parse::<Role>().unwrap(), Role::Operator);
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn secrets_are_long_random_and_prefixed() {
        let a = new_secret();
        let b = new_secret();
        assert_eq!(a.len(), 67);
        assert!(a.starts_with("df_"));
        assert_ne!(a, b);
    }

    #[test]
    fn tenant_names_are_checked() {
        assert_eq!(parse_tenant_name("  acme ").unwrap(), "acme");
        assert!(parse_tenant_name("").is_err());
        assert!(parse_tenant_name(&"x".repeat(101)).is_err());
        assert!(parse_tenant_name("a\u{7}b").is_err());
    }

    #[sqlx::test(migrator = "crate::db::MIGRATOR")]
    async fn a_rotated_key_keeps_its_old_secret_for_the_grace_period_only(pool: PgPool) {
        let mut conn = pool.acquire().await.unwrap();
        let tenant = ensure_tenant(&mut conn, "acme").await.unwrap();
        let old = create_key(&mut conn, tenant, "ci", Role::Admin, None)
            .await
            .unwrap();
        let new = rotate_key(
            &mut conn,
            tenant,
            old.id,
            std::time::Duration::from_secs(3600),
        )
        .await
        .unwrap();
        assert_eq!(new.id, old.id);
        assert!(
            authenticate(&pool, &old.secret).await.unwrap().is_some(),
            "within the grace period"
        );
        assert!(authenticate(&pool, &new.secret).await.unwrap().is_some());
        sqlx::query!(
            "UPDATE api_keys SET previous_expires_at = now() - interval '1 second' WHERE id = $1",
            old.id
        )
        .execute(&pool)
        .await
        .unwrap();
        assert!(
            authenticate(&pool, &old.secret).await.unwrap().is_none(),
            "after the grace period"
        );
        assert!(authenticate(&pool, &new.secret).await.unwrap().is_some());
        let other = ensure_tenant(&mut conn, "globex").await.unwrap();
        assert!(matches!(
            rotate_key(&mut conn, other, old.id, std::time::Duration::ZERO).await,
            Err(DomainError::NotFound(_))
        ));
    }

    #[sqlx::test(migrator = "crate::db::MIGRATOR")]
    async fn a_tenant_cannot_hold_more_live_keys_than_the_ceiling(pool: PgPool) {
        let mut conn = pool.acquire().await.unwrap();
        let tenant = ensure_tenant(&mut conn, "acme").await.unwrap();
        let new = NewKey {
            name: "ci".into(),
            role: Role::Viewer,
            expires_at: None,
        };
        let first = create_key_within(&mut conn, tenant, &new, 2).await.unwrap();
        create_key_within(&mut conn, tenant, &new, 2).await.unwrap();
        assert!(matches!(
            create_key_within(&mut conn, tenant, &new, 2).await,
            Err(DomainError::Conflict(m)) if m.contains("(2)")
        ));
        // Another tenant's keys do not count; a revoked key frees its place.
        let other = ensure_tenant(&mut conn, "globex").await.unwrap();
        create_key_within(&mut conn, other, &new, 2).await.unwrap();
        revoke_key(&mut conn, tenant, first.id).await.unwrap();
        create_key_within(&mut conn, tenant, &new, 2).await.unwrap();
    }

    #[sqlx::test(migrator = "crate::db::MIGRATOR")]
    async fn a_created_key_authenticates_until_revoked(pool: PgPool) {
        let mut conn = pool.acquire().await.unwrap();
        let tenant = ensure_tenant(&mut conn, "acme").await.unwrap();
        assert_eq!(ensure_tenant(&mut conn, "acme").await.unwrap(), tenant);
        let key = create_key(&mut conn, tenant, "ci", Role::Operator, None)
            .await
            .unwrap();
        let p = authenticate(&pool, &key.secret).await.unwrap().unwrap();
        assert_eq!((p.tenant_id, p.role), (tenant, Role::Operator));
        revoke_key(&mut conn, tenant, key.id).await.unwrap();
        assert!(authenticate(&pool, &key.secret).await.unwrap().is_none());
        assert!(matches!(
            revoke_key(&mut conn, tenant, key.id).await,
            Err(DomainError::Conflict(_))
        ));
        let wrong = SecretString::from(format!("df_{}", "0".repeat(64)));
        assert!(authenticate(&pool, &wrong).await.unwrap().is_none());
    }
}
