//! The audit log: who did what to which row, with the state before and after, written in the
//! same transaction as the change (so a rolled-back change leaves no entry, and a committed one
//! always has one).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{DomainError, auth::Principal};

/// Field names whose values never reach the log.
const SECRET_FIELDS: &[&str] = &[
    "secret",
    "key",
    "password",
    "token",
    "secret_hash",
    "api_key",
];

/// Who made a change, and from where.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    /// The key used (none for the command line).
    pub key_id: Option<Uuid>,
    /// Its role.
    pub role: Option<&'static str>,
    /// The request's id.
    pub request_id: Option<String>,
    /// The client's address.
    pub client_addr: Option<String>,
}

impl Actor {
    /// The actor behind an authenticated request.
    pub fn of(
        principal: &Principal,
        request_id: Option<String>,
        client_addr: Option<String>,
    ) -> Self {
        Self {
            key_id: Some(principal.key_id),
            role: Some(principal.role.as_str()),
            request_id,
            client_addr,
        }
    }
}

/// One change to record.
#[derive(Debug, Clone)]
pub struct Change<'a> {
    /// What was done, e.g. `job.cancel`.
    pub action: &'a str,
    /// The kind of row, e.g. `job`.
    pub target_type: &'a str,
    /// The row's id.
    pub target_id: String,
    /// The row before (none when created).
    pub before: Option<Value>,
    /// The row after (none when deleted).
    pub after: Option<Value>,
}

/// Replaces the values of secret-looking fields, at any depth, with `"[redacted]"`.
pub fn redact(mut value: Value) -> Value {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    if SECRET_FIELDS.contains(&k.to_ascii_lowercase().as_str()) {
                        *v = Value::String("[redacted]".into());
                    } else {
                        walk(v);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut value);
    value
}

/// Records `change` for `tenant_id` on `conn` — the transaction that makes the change.
pub async fn record(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &Actor,
    change: Change<'_>,
) -> Result<(), DomainError> {
    sqlx::query!(
        r#"INSERT INTO audit_log (id, tenant_id, actor_key_id, actor_role, action, target_type,
                                  target_id, before, after, request_id, client_addr)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"#,
        Uuid::now_v7(),
        tenant_id,
        actor.key_id,
        actor.role,
        change.action,
        change.target_type,
        change.target_id,
        change.before.map(redact),
        change.after.map(redact),
        actor.request_id,
        actor.client_addr,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Entry {
    /// Its id.
    pub id: Uuid,
    /// When.
    pub at: DateTime<Utc>,
    /// The key used.
    pub actor_key_id: Option<Uuid>,
    /// Its role.
    pub actor_role: Option<String>,
    /// What was done.
    pub action: String,
    /// The kind of row.
    pub target_type: String,
    /// The row's id.
    pub target_id: String,
    /// Before.
    pub before: Option<Value>,
    /// After.
    pub after: Option<Value>,
    /// The request's id.
    pub request_id: Option<String>,
    /// The client's address.
    pub client_addr: Option<String>,
}

/// Filters of an audit listing.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only entries about this target id.
    pub target: Option<String>,
    /// Only entries by this key.
    pub actor: Option<Uuid>,
    /// Only entries at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Entries older than this one (the previous page's cursor).
    pub before: Option<Uuid>,
    /// Page size (1 to 500).
    pub limit: i64,
}

/// Lists this tenant's audit entries, newest first; returns the entries and the next cursor.
pub async fn list(
    pool: &PgPool,
    tenant_id: Uuid,
    filter: &Filter,
) -> Result<(Vec<Entry>, Option<Uuid>), DomainError> {
    let limit = filter.limit.clamp(1, 500);
    let rows = sqlx::query_as!(
        Entry,
        r#"SELECT id, at, actor_key_id, actor_role, action, target_type, target_id, before, after,
                  request_id, client_addr
           FROM audit_log
           WHERE tenant_id = $1
             AND ($2::text IS NULL OR target_id = $2)
             AND ($3::uuid IS NULL OR actor_key_id = $3)
             AND ($4::timestamptz IS NULL OR at >= $4)
             AND ($5::uuid IS NULL OR (at, id) < (SELECT a.at, a.id FROM audit_log a WHERE a.id = $5 AND a.tenant_id = $1))
           ORDER BY at DESC, id DESC
           LIMIT $6"#,
        tenant_id,
        filter.target,
        filter.actor,
        filter.since,
        filter.before,
        limit + 1
    )
    .fetch_all(pool)
    .await?;
    let more = rows.len() as i64 > limit;
    let rows: Vec<Entry> = rows.into_iter().take(limit as usize).collect();
    let next = if more {
        rows.last().map(|e| e.id)
    } else {
        None
    };
    Ok((rows, next))
}

/// Deletes entries older than `older_than`; returns how many.
pub async fn prune(pool: &PgPool, older_than: std::time::Duration) -> Result<u64, DomainError> {
    let n = sqlx::query!(
        "DELETE FROM audit_log WHERE at < now() - make_interval(secs => $1)",
        older_than.as_secs_f64()
    )
    .execute(pool)
    .await?
    .rows_affected();
    Ok(n)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn secrets_are_redacted_at_any_depth() {
        let v =
            redact(json!({"name": "ci", "secret": "df_x", "nested": [{"token": "t", "ok": 1}]}));
        assert_eq!(
            v,
            json!({"name": "ci", "secret": "[redacted]", "nested": [{"token": "[redacted]", "ok": 1}]})
        );
    }

    #[sqlx::test(migrator = "crate::db::MIGRATOR")]
    async fn entries_commit_and_roll_back_with_the_change(pool: PgPool) {
        let mut conn = pool.acquire().await.unwrap();
        let tenant = crate::auth::ensure_tenant(&mut conn, "t").await.unwrap();
        let change = || Change {
            action: "job.cancel",
            target_type: "job",
            target_id: "j1".into(),
            before: Some(json!({"state": "available"})),
            after: Some(json!({"state": "cancelled"})),
        };
        let mut tx = pool.begin().await.unwrap();
        record(&mut tx, tenant, &Actor::default(), change())
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        let mut tx = pool.begin().await.unwrap();
        record(&mut tx, tenant, &Actor::default(), change())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let (entries, next) = list(
            &pool,
            tenant,
            &Filter {
                target: Some("j1".into()),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(entries.len(), 1);
        assert!(next.is_none());
        assert_eq!(entries[0].after, Some(json!({"state": "cancelled"})));
    }
}
