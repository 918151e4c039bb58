//! Rulesets as stored: a named, per-tenant series of immutable versions, and the workers' cache
//! of compiled versions.
//!
//! A new version is a new row with its own id; the verdicts and memo entries of older versions
//! are keyed by theirs, so they never change. The compiled automaton of a version is kept in a
//! moka cache keyed by the version's id, which can never go stale (a version never changes).

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use moka::future::Cache;
use serde::Serialize;
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::rules::{Compiled, Rules};
use crate::{
    DomainError, FieldError,
    audit::{self, Actor},
    paging::MAX_PAGE,
};

/// Longest ruleset name.
pub const MAX_NAME: usize = 100;
/// Compiled versions a worker keeps.
const CACHE_CAPACITY: u64 = 1000;
/// How long an unused compiled version stays cached.
const CACHE_IDLE: Duration = Duration::from_secs(3600);

/// One version of a ruleset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RulesetVersion {
    /// The version's own id (what verdicts and memo entries are keyed by).
    pub id: Uuid,
    /// The ruleset.
    pub ruleset_id: Uuid,
    /// 1, 2, ...
    pub version: i32,
    /// The rules.
    pub rules: Value,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// A ruleset and its newest version.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ruleset {
    /// Its id.
    pub id: Uuid,
    /// Its name, unique in the tenant.
    pub name: String,
    /// The newest version's number.
    pub version: i32,
    /// The newest version's id.
    pub version_id: Uuid,
    /// The newest version's rules.
    pub rules: Value,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When its newest version was added.
    pub updated_at: DateTime<Utc>,
}

/// Parses a create (`{name, rules}`) or new-version (`{rules}`) body, naming every problem's
/// path (`rules.terms[3].weight`).
pub fn parse_body(
    body: &Value,
    with_name: bool,
) -> Result<(Option<String>, Rules), Vec<FieldError>> {
    let Value::Object(map) = body else {
        return Err(vec![FieldError::new("", "expected a JSON object")]);
    };
    let allowed: &[&str] = if with_name {
        &["name", "rules"]
    } else {
        &["rules"]
    };
    let mut errors: Vec<FieldError> = map
        .keys()
        .filter(|k| !allowed.contains(&k.as_str()))
        .map(|k| {
            FieldError::new(
                k.as_str(),
                format!("unknown field; expected {}", allowed.join(", ")),
            )
        })
        .collect();
    let name = if with_name {
        match map.get("name") {
            Some(Value::String(n))
                if !n.trim().is_empty()
                    && n.trim().chars().count() <= MAX_NAME
                    && !n.chars().any(char::is_control) =>
            {
                Some(n.trim().to_owned())
            }
            _ => {
                errors.push(FieldError::new(
                    "name",
                    format!("required: 1 to {MAX_NAME} printable characters"),
                ));
                None
            }
        }
    } else {
        None
    };
    let rules = match map.get("rules") {
        None => {
            errors.push(FieldError::new(
                "rules",
                "required: {categories, terms, negative?, thresholds, instructions?}",
            ));
            None
        }
        Some(r) => match Rules::parse(r) {
            Ok(r) => Some(r),
            Err(e) => {
                errors.extend(e.into_iter().map(|e| e.under("rules")));
                None
            }
        },
    };
    match rules {
        Some(rules) if errors.is_empty() => Ok((name, rules)),
        _ => Err(errors),
    }
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.code().as_deref() == Some("23505"))
}

async fn get_on(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    lock: bool,
) -> Result<Ruleset, DomainError> {
    if lock {
        sqlx::query!(
            "SELECT id FROM rulesets WHERE id = $1 AND tenant_id = $2 FOR UPDATE",
            id,
            tenant_id
        )
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(DomainError::NotFound("ruleset"))?;
    }
    sqlx::query_as!(
        Ruleset,
        r#"SELECT r.id, r.name, r.latest_version AS version, v.id AS version_id, v.rules,
                  r.created_at, r.updated_at
           FROM rulesets r
           JOIN ruleset_versions v ON v.ruleset_id = r.id AND v.version = r.latest_version
           WHERE r.id = $1 AND r.tenant_id = $2"#,
        id,
        tenant_id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(DomainError::NotFound("ruleset"))
}

async fn insert_version(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    ruleset_id: Uuid,
    version: i32,
    rules: &Rules,
) -> Result<(), DomainError> {
    let rules = serde_json::to_value(rules).map_err(|e| FieldError::new("rules", e.to_string()))?;
    sqlx::query!(
        "INSERT INTO ruleset_versions (id, ruleset_id, tenant_id, version, rules)
         VALUES ($1, $2, $3, $4, $5)",
        Uuid::now_v7(),
        ruleset_id,
        tenant_id,
        version,
        rules
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Creates a ruleset at version 1, with its audit entry. A name already used in the tenant is
/// a conflict.
pub async fn create(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &Actor,
    name: &str,
    rules: &Rules,
) -> Result<Ruleset, DomainError> {
    let id = Uuid::now_v7();
    sqlx::query!(
        "INSERT INTO rulesets (id, tenant_id, name) VALUES ($1, $2, $3)",
        id,
        tenant_id,
        name
    )
    .execute(&mut *conn)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            DomainError::Conflict(format!("a ruleset named `{name}` exists already"))
        } else {
            e.into()
        }
    })?;
    insert_version(conn, tenant_id, id, 1, rules).await?;
    let ruleset = get_on(conn, tenant_id, id, false).await?;
    audit::record(
        conn,
        tenant_id,
        actor,
        audit::Change {
            action: "ruleset.create",
            target_type: "ruleset",
            target_id: id.to_string(),
            before: None,
            after: serde_json::to_value(&ruleset).ok(),
        },
    )
    .await?;
    Ok(ruleset)
}

/// Adds a version, with its audit entry. Verdicts of older versions stay as they are; new
/// classifications that do not pin a version use this one.
pub async fn new_version(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &Actor,
    id: Uuid,
    rules: &Rules,
) -> Result<Ruleset, DomainError> {
    let before = get_on(conn, tenant_id, id, true).await?;
    let version = before.version + 1;
    insert_version(conn, tenant_id, id, version, rules).await?;
    sqlx::query!(
        "UPDATE rulesets SET latest_version = $2, updated_at = now() WHERE id = $1",
        id,
        version
    )
    .execute(&mut *conn)
    .await?;
    let after = get_on(conn, tenant_id, id, false).await?;
    audit::record(
        conn,
        tenant_id,
        actor,
        audit::Change {
            action: "ruleset.new_version",
            target_type: "ruleset",
            target_id: id.to_string(),
            before: serde_json::to_value(&before).ok(),
            after: serde_json::to_value(&after).ok(),
        },
    )
    .await?;
    Ok(after)
}

/// The tenant's ruleset `id`, at its newest version.
pub async fn get(pool: &PgPool, tenant_id: Uuid, id: Uuid) -> Result<Ruleset, DomainError> {
    let mut conn = pool.acquire().await?;
    get_on(&mut conn, tenant_id, id, false).await
}

/// The tenant's rulesets, newest first, at their newest versions (at most [`MAX_PAGE`]).
pub async fn list(pool: &PgPool, tenant_id: Uuid) -> Result<Vec<Ruleset>, DomainError> {
    Ok(sqlx::query_as!(
        Ruleset,
        r#"SELECT r.id, r.name, r.latest_version AS version, v.id AS version_id, v.rules,
                  r.created_at, r.updated_at
           FROM rulesets r
           JOIN ruleset_versions v ON v.ruleset_id = r.id AND v.version = r.latest_version
           WHERE r.tenant_id = $1
           ORDER BY r.id DESC
           LIMIT $2"#,
        tenant_id,
        MAX_PAGE
    )
    .fetch_all(pool)
    .await?)
}

/// Version `version` of the tenant's ruleset `ruleset_id`, or its newest when `None`.
pub async fn version(
    pool: &PgPool,
    tenant_id: Uuid,
    ruleset_id: Uuid,
    version: Option<i32>,
) -> Result<RulesetVersion, DomainError> {
    sqlx::query_as!(
        RulesetVersion,
        r#"SELECT v.id, v.ruleset_id, v.version, v.rules, v.created_at
           FROM rulesets r JOIN ruleset_versions v ON v.ruleset_id = r.id
           WHERE r.id = $1 AND r.tenant_id = $2 AND v.version = coalesce($3, r.latest_version)"#,
        ruleset_id,
        tenant_id,
        version
    )
    .fetch_optional(pool)
    .await?
    .ok_or(DomainError::NotFound("ruleset version"))
}

/// Compiled ruleset versions, by version id. Cheap to clone (shared).
#[derive(Clone)]
pub struct RulesetCache {
    cache: Cache<Uuid, Arc<Compiled>>,
}

impl std::fmt::Debug for RulesetCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RulesetCache")
            .field("compiled", &self.cache.entry_count())
            .finish()
    }
}

impl Default for RulesetCache {
    fn default() -> Self {
        Self {
            cache: Cache::builder()
                .max_capacity(CACHE_CAPACITY)
                .time_to_idle(CACHE_IDLE)
                .build(),
        }
    }
}

impl RulesetCache {
    /// The compiled form of `version`, compiled once per process (concurrent callers wait for
    /// the one compilation).
    pub async fn compiled(&self, version: &RulesetVersion) -> Result<Arc<Compiled>, String> {
        let rules = version.rules.clone();
        self.cache
            .try_get_with(version.id, async move {
                let rules: Rules = serde_json::from_value(rules)
                    .map_err(|e| format!("stored rules do not parse: {e}"))?;
                Compiled::new(rules).map(Arc::new)
            })
            .await
            .map_err(|e: Arc<String>| e.to_string())
    }
}
