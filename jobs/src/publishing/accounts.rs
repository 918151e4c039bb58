//! Accounts: a Mastodon-compatible server and the OAuth access token to post with. The token
//! is sealed with the operator key before it is written ([`TOKEN_PURPOSE`]) and opened only by
//! the `publish_post` job ([`target`]); readers see the server, the pace, the approval flag and
//! whether the account is enabled, never the token.

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{
    DomainError, FieldError,
    audit::{self, Actor, Change},
    deliveries::{channels, destinations::check_name},
    kinds::from_value,
    secrets,
};

/// The purpose an account's token is sealed for ([`crate::secrets::seal`]).
pub const TOKEN_PURPOSE: &str = "publish_accounts.token";
/// Mastodon's pace: 300 requests per 5 minutes per account, i.e. 60 a minute.
pub const DEFAULT_RATE_PER_MIN: i32 = 60;
/// Highest pace an account may be given, requests a minute.
pub const MAX_RATE_PER_MIN: i32 = 6000;
/// Longest access token accepted.
pub const MAX_TOKEN: usize = 512;

/// An account as readers see it (never its token).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Account {
    /// Its id.
    pub id: Uuid,
    /// Its name, unique in the tenant.
    pub name: String,
    /// The server's base URL.
    pub base_url: String,
    /// Whether its posts wait for an approval.
    pub requires_approval: bool,
    /// Requests a minute, across every worker.
    pub rate_limit_per_min: i32,
    /// Whether posts go out.
    pub enabled: bool,
    /// Why it was disabled (by a person, or the server refused the token).
    pub disabled_reason: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    name: Option<String>,
    base_url: Option<String>,
    access_token: Option<String>,
    requires_approval: Option<bool>,
    rate_limit_per_min: Option<i32>,
    enabled: Option<bool>,
}

/// An account to create, or a change of one (every field given replaces the stored one).
#[derive(Debug, Default)]
pub struct AccountInput {
    name: Option<String>,
    base_url: Option<String>,
    token: Option<SecretString>,
    requires_approval: Option<bool>,
    rate_limit_per_min: Option<i32>,
    enabled: Option<bool>,
}

impl AccountInput {
    /// Parses a creation (`name`, `base_url`, `access_token` required; `requires_approval`,
    /// `rate_limit_per_min` optional). `allow_private` lets the server be on a private network.
    pub fn parse_new(value: Value, allow_private: bool) -> Result<Self, FieldError> {
        let input = Self::parse_patch(value, allow_private)?;
        for (field, given) in [
            ("name", input.name.is_some()),
            ("base_url", input.base_url.is_some()),
            ("access_token", input.token.is_some()),
        ] {
            if !given {
                return Err(FieldError::new(field, "required"));
            }
        }
        if input.enabled.is_some() {
            return Err(FieldError::new("enabled", "an account starts enabled"));
        }
        Ok(input)
    }

    /// Parses a change: any of the fields of a creation, and `enabled`.
    pub fn parse_patch(value: Value, allow_private: bool) -> Result<Self, FieldError> {
        let r: Request = from_value(value)?;
        let name = r
            .name
            .map(|n| {
                check_name(&n)
                    .map(|()| n.trim().to_owned())
                    .map_err(|e| e.under("name"))
            })
            .transpose()?;
        let base_url = r
            .base_url
            .map(|u| base_url(&u, allow_private))
            .transpose()?;
        let token = r.access_token.map(|t| check_token(&t)).transpose()?;
        if let Some(n) = r.rate_limit_per_min
            && !(1..=MAX_RATE_PER_MIN).contains(&n)
        {
            return Err(FieldError::new(
                "rate_limit_per_min",
                format!("expected 1 to {MAX_RATE_PER_MIN} requests a minute"),
            ));
        }
        Ok(Self {
            name,
            base_url,
            token,
            requires_approval: r.requires_approval,
            rate_limit_per_min: r.rate_limit_per_min,
            enabled: r.enabled,
        })
    }
}

/// The server's origin: an https URL (see [`channels::check_url`]) without path, query or
/// fragment, kept without a trailing slash.
fn base_url(raw: &str, allow_private: bool) -> Result<String, FieldError> {
    let url = channels::check_url("base_url", raw, allow_private)?;
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(FieldError::new(
            "base_url",
            "expected the server's address only (https://mastodon.example)",
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

fn check_token(token: &str) -> Result<SecretString, FieldError> {
    let ok = !token.is_empty()
        && token.len() <= MAX_TOKEN
        && token.chars().all(|c| c.is_ascii_graphic());
    if !ok {
        return Err(FieldError::new(
            "access_token",
            format!("expected 1 to {MAX_TOKEN} printable ASCII characters"),
        ));
    }
    Ok(SecretString::from(token.to_owned()))
}

fn seal(token: &SecretString) -> Result<String, DomainError> {
    use secrecy::ExposeSecret;
    Ok(secrets::seal(TOKEN_PURPOSE, token.expose_secret())?)
}

fn view(a: &Account) -> Value {
    json!({ "name": a.name, "base_url": a.base_url, "requires_approval": a.requires_approval,
            "rate_limit_per_min": a.rate_limit_per_min, "enabled": a.enabled })
}

/// Creates an account (parse it with [`AccountInput::parse_new`]).
pub async fn create(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &Actor,
    new: AccountInput,
) -> Result<Account, DomainError> {
    let (Some(name), Some(base_url), Some(token)) = (&new.name, &new.base_url, &new.token) else {
        return Err(FieldError::new("", "name, base_url and access_token are required").into());
    };
    let id = Uuid::now_v7();
    let inserted = sqlx::query_scalar!(
        r#"INSERT INTO publish_accounts (id, tenant_id, name, base_url, token, requires_approval,
                                         rate_limit_per_min)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (tenant_id, name) DO NOTHING
           RETURNING id"#,
        id,
        tenant_id,
        name,
        base_url,
        seal(token)?,
        new.requires_approval.unwrap_or(false),
        new.rate_limit_per_min.unwrap_or(DEFAULT_RATE_PER_MIN)
    )
    .fetch_optional(&mut *conn)
    .await?;
    if inserted.is_none() {
        return Err(DomainError::Conflict(format!(
            "an account named {name:?} exists already"
        )));
    }
    let account = get(&mut *conn, tenant_id, id).await?;
    record(
        conn,
        tenant_id,
        actor,
        "publish_account.create",
        id,
        None,
        Some(view(&account)),
    )
    .await?;
    Ok(account)
}

async fn record(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &Actor,
    action: &'static str,
    id: Uuid,
    before: Option<Value>,
    after: Option<Value>,
) -> Result<(), DomainError> {
    audit::record(
        conn,
        tenant_id,
        actor,
        Change {
            action,
            target_type: "publish_account",
            target_id: id.to_string(),
            before,
            after,
        },
    )
    .await
}

/// The tenant's accounts, by name.
pub async fn list(conn: &mut PgConnection, tenant_id: Uuid) -> Result<Vec<Account>, DomainError> {
    Ok(sqlx::query_as!(
        Account,
        r#"SELECT id, name, base_url, requires_approval, rate_limit_per_min, enabled,
                  disabled_reason, created_at, updated_at
           FROM publish_accounts WHERE tenant_id = $1 ORDER BY name"#,
        tenant_id
    )
    .fetch_all(conn)
    .await?)
}

/// One account.
pub async fn get(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Account, DomainError> {
    sqlx::query_as!(
        Account,
        r#"SELECT id, name, base_url, requires_approval, rate_limit_per_min, enabled,
                  disabled_reason, created_at, updated_at
           FROM publish_accounts WHERE tenant_id = $1 AND id = $2"#,
        tenant_id,
        id
    )
    .fetch_optional(conn)
    .await?
    .ok_or(DomainError::NotFound("account"))
}

/// Changes an account; enabling it again clears the reason it was disabled.
pub async fn update(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &Actor,
    id: Uuid,
    patch: AccountInput,
) -> Result<Account, DomainError> {
    let before = get(&mut *conn, tenant_id, id).await?;
    let sealed = patch.token.as_ref().map(seal).transpose()?;
    let updated = sqlx::query!(
        r#"UPDATE publish_accounts SET
               name = coalesce($3, name),
               base_url = coalesce($4, base_url),
               token = coalesce($5, token),
               requires_approval = coalesce($6, requires_approval),
               rate_limit_per_min = coalesce($7, rate_limit_per_min),
               enabled = coalesce($8, enabled),
               disabled_reason = CASE WHEN $8 IS NULL THEN disabled_reason
                                      WHEN $8 THEN NULL ELSE 'disabled by a person' END,
               updated_at = now()
           WHERE tenant_id = $1 AND id = $2"#,
        tenant_id,
        id,
        patch.name,
        patch.base_url,
        sealed,
        patch.requires_approval,
        patch.rate_limit_per_min,
        patch.enabled
    )
    .execute(&mut *conn)
    .await
    .map_err(|e| match e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            DomainError::Conflict("another account has that name".into())
        }
        e => e.into(),
    });
    updated?;
    let after = get(&mut *conn, tenant_id, id).await?;
    let mut after_view = view(&after);
    after_view["token_replaced"] = json!(patch.token.is_some());
    record(
        conn,
        tenant_id,
        actor,
        "publish_account.update",
        id,
        Some(view(&before)),
        Some(after_view),
    )
    .await?;
    Ok(after)
}

/// Deletes an account and its posts. Refused while one of its posts may be going out.
pub async fn delete(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &Actor,
    id: Uuid,
) -> Result<(), DomainError> {
    let before = get(&mut *conn, tenant_id, id).await?;
    let deleted = sqlx::query_scalar!(
        r#"DELETE FROM publish_accounts a WHERE tenant_id = $1 AND id = $2
             AND NOT EXISTS (SELECT 1 FROM posts p WHERE p.account_id = a.id
                             AND p.state = 'scheduled' AND p.posting_since IS NOT NULL)
           RETURNING id"#,
        tenant_id,
        id
    )
    .fetch_optional(&mut *conn)
    .await?;
    if deleted.is_none() {
        return Err(DomainError::Conflict(
            "a post of this account is being published; try again once it is done".into(),
        ));
    }
    record(
        conn,
        tenant_id,
        actor,
        "publish_account.delete",
        id,
        Some(view(&before)),
        None,
    )
    .await
}

/// What the `publish_post` job needs of an account, its token opened.
#[derive(Debug)]
pub struct Target {
    /// The server's base URL.
    pub base_url: String,
    /// The access token.
    pub token: SecretString,
    /// Requests a minute.
    pub rate_limit_per_min: i32,
    /// Whether posts go out.
    pub enabled: bool,
}

/// Loads an account to post with (`None` when it was deleted).
pub async fn target(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<Target>, DomainError> {
    let Some(row) = sqlx::query!(
        r#"SELECT base_url, token, rate_limit_per_min, enabled
           FROM publish_accounts WHERE tenant_id = $1 AND id = $2"#,
        tenant_id,
        id
    )
    .fetch_optional(conn)
    .await?
    else {
        return Ok(None);
    };
    let token = secrets::open(TOKEN_PURPOSE, &row.token).map_err(|e| {
        DomainError::Conflict(format!("account {id}: the token does not open: {e}"))
    })?;
    Ok(Some(Target {
        base_url: row.base_url,
        token,
        rate_limit_per_min: row.rate_limit_per_min,
        enabled: row.enabled,
    }))
}

/// Disables an account whose token the server refused.
pub async fn disable(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    reason: &str,
) -> Result<(), DomainError> {
    sqlx::query!(
        r#"UPDATE publish_accounts SET enabled = false, disabled_reason = $3, updated_at = now()
           WHERE tenant_id = $1 AND id = $2 AND enabled"#,
        tenant_id,
        id,
        reason
    )
    .execute(conn)
    .await?;
    Ok(())
}
