//! What the workflow tests share: starting a run, and playing the worker's part for its jobs.

use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use super::{Definition, Run, Trigger, advance, create, start_run};

/// Finishes every queued job of `run` as a worker would (`ok`: succeeded with its args'
/// `output`, else dead), advancing the run in the same transaction. Returns how many.
pub(super) async fn finish_queued(pool: &PgPool, run: Uuid, ok: bool) -> usize {
    let mut tx = pool.begin().await.unwrap();
    let ids: Vec<Uuid> = sqlx::query_scalar(
        r#"UPDATE jobs SET state = CASE WHEN $2 THEN 'succeeded' ELSE 'dead' END,
                  result = CASE WHEN $2 THEN coalesce(args -> 'output', '{}') END,
                  errors = CASE WHEN $2 THEN errors ELSE '[{"attempt": 1, "at": "2026-01-01T00:00:00Z", "error": "boom"}]' END,
                  finished_at = now()
           WHERE run_id = $1 AND state = 'available' RETURNING id"#,
    )
    .bind(run)
    .bind(ok)
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    advance(&mut tx, &[run]).await.unwrap();
    tx.commit().await.unwrap();
    ids.len()
}

/// Starts a run of a new workflow with `definition` (of a new tenant) with `input`.
pub(super) async fn start(pool: &PgPool, definition: Value, input: Value) -> Run {
    let mut conn = pool.acquire().await.unwrap();
    let tenant = crate::auth::ensure_tenant(&mut conn, "t").await.unwrap();
    Definition::parse(&definition).unwrap();
    let wf = create(&mut conn, tenant, "wf", &definition).await.unwrap();
    start_run(&mut conn, tenant, wf.id, input, Some("req"), &Trigger::Api)
        .await
        .unwrap()
        .0
}

/// The tenant of `run`.
pub(super) async fn tenant_of(pool: &PgPool, run: Uuid) -> Uuid {
    sqlx::query_scalar("SELECT tenant_id FROM workflow_runs WHERE id = $1")
        .bind(run)
        .fetch_one(pool)
        .await
        .unwrap()
}
