//! The one multi-row insert every batched enqueue and every workflow step goes through: the
//! jobs column by column ([`Columns`]), unnested into `jobs` with the tenant's kind limits and
//! cap applied, an idempotency key seen before skipped, and what was inserted read back
//! ([`Inserted`]).

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{super::Group, NewJob};

/// The jobs of one insert, column by column, as `unnest` reads them.
pub(in crate::queue) struct Columns {
    pub(in crate::queue) ids: Vec<Uuid>,
    pub(in crate::queue) kinds: Vec<String>,
    pub(in crate::queue) args: Vec<Value>,
    pub(in crate::queue) priorities: Vec<i16>,
    pub(in crate::queue) max_attempts: Vec<i32>,
    pub(in crate::queue) run_ats: Vec<Option<DateTime<Utc>>>,
    pub(in crate::queue) timeouts: Vec<Option<i32>>,
    pub(in crate::queue) keys: Vec<Option<String>>,
    pub(in crate::queue) concurrency_keys: Vec<Option<String>>,
    pub(in crate::queue) concurrency_limits: Vec<Option<i32>>,
}

impl Columns {
    /// The columns of `jobs`, each with a new id (UUIDv7).
    pub(in crate::queue) fn new(jobs: impl IntoIterator<Item = NewJob>) -> Self {
        let jobs = jobs.into_iter();
        let n = jobs.size_hint().0;
        let mut c = Columns {
            ids: Vec::with_capacity(n),
            kinds: Vec::with_capacity(n),
            args: Vec::with_capacity(n),
            priorities: Vec::with_capacity(n),
            max_attempts: Vec::with_capacity(n),
            run_ats: Vec::with_capacity(n),
            timeouts: Vec::with_capacity(n),
            keys: Vec::with_capacity(n),
            concurrency_keys: Vec::with_capacity(n),
            concurrency_limits: Vec::with_capacity(n),
        };
        for j in jobs {
            c.ids.push(Uuid::now_v7());
            c.kinds.push(j.kind.to_owned());
            c.args.push(j.args);
            c.priorities.push(j.priority);
            c.max_attempts.push(j.max_attempts);
            c.run_ats.push(j.run_at);
            c.timeouts.push(j.timeout_ms);
            c.concurrency_limits
                .push(j.concurrency.as_ref().map(|c| c.limit));
            c.concurrency_keys.push(j.concurrency.map(|c| c.key));
            c.keys.push(j.idempotency_key);
        }
        c
    }
}

/// What the database decided for an inserted job.
pub(in crate::queue) struct Inserted {
    pub(in crate::queue) id: Uuid,
    pub(in crate::queue) run_at: DateTime<Utc>,
    pub(in crate::queue) created_at: DateTime<Utc>,
    /// The job's own key, or the tenant's per-kind one.
    pub(in crate::queue) concurrency_key: Option<String>,
    pub(in crate::queue) concurrency_limit: Option<i32>,
}

/// The one statement that puts jobs on the queue, however many: every row of `columns`, for
/// `tenant_id`, in `group` when given (the i-th row as item i). A row whose idempotency key this
/// tenant used before is skipped; only the rows inserted come back.
pub(in crate::queue) async fn insert(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    correlation_id: Option<&str>,
    group: Option<Group<'_>>,
    columns: Columns,
) -> Result<Vec<Inserted>, sqlx::Error> {
    // Only what the database decides comes back; the rest of each job is what was sent.
    sqlx::query_as!(
        Inserted,
        r#"INSERT INTO jobs (id, tenant_id, kind, args, priority, max_attempts, run_at, timeout_ms,
                             idempotency_key, correlation_id, run_id, step, item, concurrency_key,
                             concurrency_limit, tenant_capped)
           SELECT u.id, $2, u.kind, u.args, u.priority, u.max_attempts, coalesce(u.run_at, now()),
                  u.timeout_ms, u.idempotency_key, $3, $11, $12,
                  CASE WHEN $11::uuid IS NOT NULL THEN (u.ord - 1)::int4 END,
                  coalesce(u.ckey, CASE WHEN t.kind_limits ? u.kind THEN 'kind:' || u.kind END),
                  coalesce(u.climit, (t.kind_limits ->> u.kind)::int4),
                  t.max_running IS NOT NULL
           FROM unnest($1::uuid[], $4::text[], $5::jsonb[], $6::int2[], $7::int4[],
                       $8::timestamptz[], $9::int4[], $10::text[], $13::text[], $14::int4[])
                WITH ORDINALITY
                AS u(id, kind, args, priority, max_attempts, run_at, timeout_ms, idempotency_key,
                     ckey, climit, ord)
           CROSS JOIN tenants t
           WHERE t.id = $2
           ON CONFLICT (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
           RETURNING id, run_at, created_at, concurrency_key, concurrency_limit"#,
        &columns.ids,
        tenant_id,
        correlation_id,
        &columns.kinds,
        &columns.args,
        &columns.priorities,
        &columns.max_attempts,
        &columns.run_ats as &[Option<DateTime<Utc>>],
        &columns.timeouts as &[Option<i32>],
        &columns.keys as &[Option<String>],
        group.map(|g| g.id),
        group.map(|g| g.step),
        &columns.concurrency_keys as &[Option<String>],
        &columns.concurrency_limits as &[Option<i32>],
    )
    .fetch_all(&mut *conn)
    .await
}
