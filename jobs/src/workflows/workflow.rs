//! Workflows as stored: a name and immutable, numbered versions of its definition. Creating a
//! workflow, adding a version, disabling it, reading and listing them, and parsing the request
//! bodies that do so. A run pins the version it started with (see `runs`).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{Changed, Definition, MAX_WORKFLOW_NAME};
use crate::{DomainError, FieldError, paging};

/// A workflow: its name and latest definition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Workflow {
    /// Its id.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// The newest version; new runs pin it.
    pub version: i32,
    /// The newest version's definition.
    pub definition: Value,
    /// When it was disabled (it starts no new run).
    pub disabled_at: Option<DateTime<Utc>>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When its latest version or state changed.
    pub updated_at: DateTime<Utc>,
}

/// A checked workflow name.
pub fn parse_name(name: &str) -> Result<String, FieldError> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_WORKFLOW_NAME
        || name.chars().any(char::is_control)
    {
        return Err(FieldError::new(
            "name",
            format!("expected 1 to {MAX_WORKFLOW_NAME} printable characters"),
        ));
    }
    Ok(name.to_owned())
}

/// Parses a create (`{name, definition}`) or new-version (`{definition}`) body, naming every
/// problem's path (`definition.steps[2].after[0]`).
pub fn parse_body(
    body: &Value,
    with_name: bool,
) -> Result<(Option<String>, Value), Vec<FieldError>> {
    let Value::Object(map) = body else {
        return Err(vec![FieldError::new("", "expected a JSON object")]);
    };
    let mut errors = vec![];
    let allowed: &[&str] = if with_name {
        &["name", "definition"]
    } else {
        &["definition"]
    };
    for k in map.keys().filter(|k| !allowed.contains(&k.as_str())) {
        errors.push(FieldError::new(
            k.as_str(),
            format!("unknown field; expected {}", allowed.join(", ")),
        ));
    }
    let name = if with_name {
        match map.get("name") {
            Some(Value::String(n)) => match parse_name(n) {
                Ok(n) => Some(n),
                Err(e) => {
                    errors.push(e);
                    None
                }
            },
            _ => {
                errors.push(FieldError::new("name", "required: a string"));
                None
            }
        }
    } else {
        None
    };
    match map.get("definition") {
        None => errors.push(FieldError::new("definition", "required: {steps: [...]}")),
        Some(d) => {
            if let Err(e) = Definition::parse(d) {
                errors.extend(e.into_iter().map(|e| e.under("definition")));
            }
        }
    }
    if errors.is_empty() {
        Ok((name, map.get("definition").cloned().unwrap_or_default()))
    } else {
        Err(errors)
    }
}

/// Parses a trigger body (`{input?: {...}}`) into the run's input.
pub fn parse_trigger(body: &Value) -> Result<Value, FieldError> {
    let Value::Object(map) = body else {
        return Err(FieldError::new("", "expected a JSON object"));
    };
    if let Some(k) = map.keys().find(|k| *k != "input") {
        return Err(FieldError::new(
            k.as_str(),
            "unknown field; expected `input`",
        ));
    }
    match map.get("input") {
        None | Some(Value::Null) => Ok(Value::Object(Default::default())),
        Some(v @ Value::Object(_)) => Ok(v.clone()),
        Some(_) => Err(FieldError::new("input", "expected a JSON object")),
    }
}

/// The workflow `id` of this tenant on `conn`, its row locked when `lock`.
pub(super) async fn get_on(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    lock: bool,
) -> Result<Workflow, DomainError> {
    let row = if lock {
        sqlx::query_as!(
            Workflow,
            r#"SELECT w.id, w.name, w.latest_version AS version, v.definition, w.disabled_at,
                      w.created_at, w.updated_at
               FROM workflows w JOIN workflow_versions v ON v.workflow_id = w.id AND v.version = w.latest_version
               WHERE w.id = $1 AND w.tenant_id = $2
               FOR UPDATE OF w"#,
            id,
            tenant_id
        )
        .fetch_optional(&mut *conn)
        .await?
    } else {
        sqlx::query_as!(
            Workflow,
            r#"SELECT w.id, w.name, w.latest_version AS version, v.definition, w.disabled_at,
                      w.created_at, w.updated_at
               FROM workflows w JOIN workflow_versions v ON v.workflow_id = w.id AND v.version = w.latest_version
               WHERE w.id = $1 AND w.tenant_id = $2"#,
            id,
            tenant_id
        )
        .fetch_optional(&mut *conn)
        .await?
    };
    row.ok_or(DomainError::NotFound("workflow"))
}

/// Creates a workflow at version 1. `definition` must have passed [`Definition::parse`].
pub async fn create(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    name: &str,
    definition: &Value,
) -> Result<Workflow, DomainError> {
    let id = Uuid::now_v7();
    sqlx::query!(
        "INSERT INTO workflows (id, tenant_id, name) VALUES ($1, $2, $3)",
        id,
        tenant_id,
        name
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO workflow_versions (workflow_id, version, definition) VALUES ($1, 1, $2)",
        id,
        definition
    )
    .execute(&mut *conn)
    .await?;
    get_on(conn, tenant_id, id, false).await
}

/// Adds a version; runs in flight keep the version they pinned.
pub async fn new_version(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    definition: &Value,
) -> Result<Changed<Workflow>, DomainError> {
    let before = get_on(conn, tenant_id, id, true).await?;
    let version = before.version + 1;
    sqlx::query!(
        "INSERT INTO workflow_versions (workflow_id, version, definition) VALUES ($1, $2, $3)",
        id,
        version,
        definition
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE workflows SET latest_version = $2, updated_at = now() WHERE id = $1",
        id,
        version
    )
    .execute(&mut *conn)
    .await?;
    let after = get_on(conn, tenant_id, id, false).await?;
    Ok(Changed { before, after })
}

/// Disables a workflow: it keeps its history and its runs in flight, and starts no new run.
pub async fn disable(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Changed<Workflow>, DomainError> {
    let before = get_on(conn, tenant_id, id, true).await?;
    sqlx::query!(
        "UPDATE workflows SET disabled_at = coalesce(disabled_at, now()), updated_at = now() WHERE id = $1",
        id
    )
    .execute(&mut *conn)
    .await?;
    let after = get_on(conn, tenant_id, id, false).await?;
    Ok(Changed { before, after })
}

/// One workflow of this tenant.
pub async fn get(pool: &PgPool, tenant_id: Uuid, id: Uuid) -> Result<Workflow, DomainError> {
    let mut conn = pool.acquire().await?;
    get_on(&mut conn, tenant_id, id, false).await
}

/// This tenant's workflows, newest first (disabled ones only when asked).
pub async fn list(
    pool: &PgPool,
    tenant_id: Uuid,
    include_disabled: bool,
) -> Result<Vec<Workflow>, DomainError> {
    Ok(sqlx::query_as!(
        Workflow,
        r#"SELECT w.id, w.name, w.latest_version AS version, v.definition, w.disabled_at,
                  w.created_at, w.updated_at
           FROM workflows w JOIN workflow_versions v ON v.workflow_id = w.id AND v.version = w.latest_version
           WHERE w.tenant_id = $1 AND ($2 OR w.disabled_at IS NULL)
           ORDER BY w.id DESC
           LIMIT $3"#,
        tenant_id,
        include_disabled,
        paging::MAX_PAGE
    )
    .fetch_all(pool)
    .await?)
}
