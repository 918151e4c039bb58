use std::time::Duration;

use sqlx::{Connection, PgConnection, PgPool};
use uuid::Uuid;

use super::*;
use crate::queue::{NoHook, NodeSettings, WorkerNode};

/// A session of its own (not the pool's), as a worker's LISTEN connection is.
async fn session(pool: &PgPool) -> PgConnection {
    PgConnection::connect_with(&pool.connect_options())
        .await
        .unwrap()
}

/// Registers worker `id` as holding `held` (or no lock), as `WorkerNode::start` does.
async fn register(pool: &PgPool, id: &str, held: Option<Held>) {
    sqlx::query(
        "INSERT INTO workers (id, host, pid, kinds, lock_key, backend_pid)
         VALUES ($1, 'test', 1, '{noop}', $2, $3)",
    )
    .bind(id)
    .bind(held.map(|h| h.key))
    .bind(held.map(|h| h.backend_pid))
    .execute(pool)
    .await
    .unwrap();
}

/// Ends a backend and waits until it is gone (its locks with it).
async fn end_session(pool: &PgPool, backend_pid: i32) {
    let ended: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1, 10000)")
        .bind(backend_pid)
        .fetch_one(pool)
        .await
        .unwrap();
    assert!(ended, "backend {backend_pid} ended");
}

/// A job of a new tenant, running under `worker` at attempt 1 of `max_attempts`.
async fn running_job(pool: &PgPool, worker: &str, max_attempts: i32) -> Uuid {
    let tenant = Uuid::now_v7();
    sqlx::query("INSERT INTO tenants (id, name) VALUES ($1, $2)")
        .bind(tenant)
        .bind(format!("t-{}", tenant.simple()))
        .execute(pool)
        .await
        .unwrap();
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO jobs (id, tenant_id, kind, args, max_attempts, state, attempt, locked_by,
                           started_at, lease_expires_at)
         VALUES ($1, $2, 'noop', '{}', $3, 'running', 1, $4, now(), now() + interval '1 hour')",
    )
    .bind(id)
    .bind(tenant)
    .bind(max_attempts)
    .bind(worker)
    .execute(pool)
    .await
    .unwrap();
    id
}

/// `(state, attempt, locked_by, errors)` of job `id`.
async fn job(pool: &PgPool, id: Uuid) -> (String, i32, Option<String>, serde_json::Value) {
    sqlx::query_as("SELECT state, attempt, locked_by, errors FROM jobs WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// A node that rescues only when a test asks it to (no watch, no kinds, no polls).
async fn idle_node(pool: &PgPool) -> WorkerNode {
    let settings = NodeSettings {
        poll_interval: Duration::from_secs(3600),
        dead_worker_check: None,
        ..Default::default()
    };
    WorkerNode::start(pool.clone(), settings, &[], Arc::new(NoHook))
        .await
        .unwrap()
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn a_registered_worker_whose_session_ended_is_found_dead_and_a_live_one_is_not(pool: PgPool) {
    let mut a = session(&pool).await;
    let mut b = session(&pool).await;
    let held_a = hold(&mut a).await.unwrap();
    let held_b = hold(&mut b).await.unwrap();
    assert_ne!(held_a.key, held_b.key, "every session gets its own key");
    register(&pool, "a", Some(held_a)).await;
    register(&pool, "b", Some(held_b)).await;
    // Neither kind of worker is ever looked at: one that takes no lock, one that stopped.
    register(&pool, "no-lock", None).await;
    let mut c = session(&pool).await;
    let held_c = hold(&mut c).await.unwrap();
    register(&pool, "stopped", Some(held_c)).await;
    sqlx::query("UPDATE workers SET stopped_at = now() WHERE id = 'stopped'")
        .execute(&pool)
        .await
        .unwrap();
    end_session(&pool, held_c.backend_pid).await;
    drop(c);

    assert!(dead_workers(&pool, "me").await.unwrap().is_empty());

    end_session(&pool, held_a.backend_pid).await;
    assert_eq!(dead_workers(&pool, "me").await.unwrap(), vec!["a"]);
    // Looking changes nothing and keeps no lock: the next look finds it again.
    assert_eq!(dead_workers(&pool, "me").await.unwrap(), vec!["a"]);
    assert!(
        dead_workers(&pool, "a").await.unwrap().is_empty(),
        "a worker never looks at itself"
    );
    // The live worker still holds its lock: no other session can take it.
    let free: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1, $2)")
        .bind(LOCK_NAMESPACE)
        .bind(held_b.key)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(!free);
    drop(b);
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn a_dead_workers_running_jobs_are_rescued_once_as_failed_attempts(pool: PgPool) {
    let mut dead_session = session(&pool).await;
    let mut live_session = session(&pool).await;
    let dead = hold(&mut dead_session).await.unwrap();
    let live = hold(&mut live_session).await.unwrap();
    register(&pool, "dead-worker", Some(dead)).await;
    register(&pool, "live-worker", Some(live)).await;
    let retried = running_job(&pool, "dead-worker", 3).await;
    let last_attempt = running_job(&pool, "dead-worker", 1).await;
    let untouched = running_job(&pool, "live-worker", 3).await;
    end_session(&pool, dead.backend_pid).await;

    // Two live workers look at once: one rescues, the other finds nothing left to do.
    let (one, two) = (idle_node(&pool).await, idle_node(&pool).await);
    let (a, b) = tokio::join!(rescue_dead(one.inner()), rescue_dead(two.inner()));
    let mut found: Vec<String> = a.unwrap().into_iter().chain(b.unwrap()).collect();
    found.sort();
    assert_eq!(found, vec!["dead-worker"], "found dead exactly once");

    let (state, attempt, holder, errors) = job(&pool, retried).await;
    assert_eq!(
        (state.as_str(), attempt, holder),
        ("failed", 1, None),
        "{errors}"
    );
    let recorded = errors.as_array().unwrap();
    assert_eq!(recorded.len(), 1, "one failed attempt recorded: {errors}");
    assert_eq!(recorded[0]["attempt"], 1);
    let error = recorded[0]["error"].as_str().unwrap();
    assert!(
        error.contains("dead-worker") && error.contains("session ended"),
        "{error}"
    );
    let (state, _, _, _) = job(&pool, last_attempt).await;
    assert_eq!(state, "dead", "its last attempt was spent");
    let (state, _, holder, _) = job(&pool, untouched).await;
    assert_eq!(
        (state.as_str(), holder.as_deref()),
        ("running", Some("live-worker"))
    );
    let stopped: Vec<String> =
        sqlx::query_scalar("SELECT id FROM workers WHERE stopped_at IS NOT NULL ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(stopped, vec!["dead-worker"]);
    assert!(rescue_dead(one.inner()).await.unwrap().is_empty());
    one.shutdown().await.unwrap();
    two.shutdown().await.unwrap();
    drop(live_session);
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn a_worker_that_loses_its_session_stops_its_jobs_and_returns_them_under_a_new_lock(
    pool: PgPool,
) {
    let settings = NodeSettings {
        poll_interval: Duration::from_secs(3600),
        ..Default::default()
    };
    let node = WorkerNode::start(pool.clone(), settings, &[], Arc::new(NoHook))
        .await
        .unwrap();
    let (key, backend_pid): (i32, i32) =
        sqlx::query_as("SELECT lock_key, backend_pid FROM workers WHERE id = $1")
            .bind(node.id())
            .fetch_one(&pool)
            .await
            .unwrap();
    let id = running_job(&pool, node.id(), 3).await;
    let token = node.inner().track("noop", id);

    end_session(&pool, backend_pid).await;
    tokio::time::timeout(Duration::from_secs(10), token.cancelled())
        .await
        .expect("the held job was stopped when the session was lost");
    assert!(
        node.inner().take_abandoned(id),
        "nothing is recorded for it"
    );

    // Back with a new lock, the worker returns the job it let go of, and claims again.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (state, _, _, _) = job(&pool, id).await;
        if state == "failed" && !node.inner().is_fenced() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the job was not returned: {state}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (_, attempt, holder, errors) = job(&pool, id).await;
    assert_eq!((attempt, holder), (1, None));
    assert!(
        errors[0]["error"]
            .as_str()
            .unwrap()
            .contains("lost its database session"),
        "{errors}"
    );
    let (new_key, stopped): (i32, bool) =
        sqlx::query_as("SELECT lock_key, stopped_at IS NOT NULL FROM workers WHERE id = $1")
            .bind(node.id())
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_ne!(new_key, key, "a new session holds a new key");
    assert!(!stopped);
    assert!(
        dead_workers(&pool, "someone-else")
            .await
            .unwrap()
            .is_empty(),
        "its new lock is held"
    );
    node.shutdown().await.unwrap();
}
