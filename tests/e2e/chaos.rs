//! Failing dependencies: connections cut, a LISTEN connection lost, Postgres restarted under
//! load. Nothing accepted is lost, nothing runs twice at once, and pickup is immediate afterwards.

use std::{collections::HashSet, time::Duration};

use e2e::{App, CuttableProxy, PrivateCluster, spawn_app, spawn_app_on, wait_until};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

const T: Duration = Duration::from_secs(30);

/// The port of a database URL on 127.0.0.1.
fn port_of(url: &str) -> u16 {
    let rest = &url[url.find("127.0.0.1:").expect("a URL on 127.0.0.1") + 10..];
    rest[..rest.find('/').unwrap_or(rest.len())]
        .parse()
        .expect("a port")
}

/// Enqueues `n` noop jobs in one batch; their ids if the api accepted them (201).
async fn enqueue_batch(app: &App, n: usize, args: Value) -> Option<Vec<Uuid>> {
    let jobs: Vec<Value> = (0..n)
        .map(|_| json!({"kind": "noop", "args": args, "max_attempts": 10}))
        .collect();
    let res = app
        .request(Method::POST, "/jobs/batch")
        .json(&json!({ "jobs": jobs }))
        .send()
        .await
        .ok()?;
    if res.status() != 201 {
        return None;
    }
    let body: Value = res.json().await.ok()?;
    Some(
        body["items"]
            .as_array()?
            .iter()
            .map(|j| j["id"].as_str().unwrap().parse().unwrap())
            .collect(),
    )
}

/// Waits until every job of `ids` succeeded; then checks each finished once with every attempt
/// recorded (one error per attempt before the last).
async fn all_succeed_once(app: &App, ids: &[Uuid], timeout: Duration) {
    wait_until(
        &format!("{} accepted jobs to succeed", ids.len()),
        timeout,
        async || {
            let left: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM unnest($1::uuid[]) AS a(id)
                 LEFT JOIN jobs j USING (id) WHERE j.state IS DISTINCT FROM 'succeeded'",
            )
            .bind(ids)
            .fetch_one(&app.pool)
            .await
            .map_err(|e| e.to_string())?;
            if left == 0 {
                Ok(())
            } else {
                Err(format!("{left} not succeeded yet"))
            }
        },
    )
    .await;
    let inconsistent: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM jobs WHERE id = ANY($1)
         AND (attempt <> jsonb_array_length(errors) + 1 OR finished_at IS NULL OR result IS NULL)",
    )
    .bind(ids)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        inconsistent, 0,
        "every attempt but the last is a recorded failure"
    );
}

/// A job enqueued now is picked up at once (well before any poll of `POLL_INTERVAL_MS`).
async fn picked_up_at_once(app: &App, within: Duration) {
    let job = app.enqueue(json!({"kind": "noop"})).await;
    let done = app
        .wait_for_state(job["id"].as_str().unwrap(), &["succeeded"], T)
        .await;
    let at = |field: &str| {
        done[field]
            .as_str()
            .unwrap()
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap()
    };
    let pickup = (at("started_at") - at("created_at")).to_std().unwrap();
    assert!(pickup < within, "picked up after {pickup:?}: {done}");
}

#[tokio::test]
async fn a_lost_listen_connection_is_noticed_and_what_was_sent_meanwhile_is_picked_up_at_once() {
    let app = spawn_app().await;
    // An hour between polls: only a wake-up (or the catch-up after a lost LISTEN) claims.
    let worker = app.spawn_worker(&[("POLL_INTERVAL_MS", "3600000")]);
    worker.wait_for_line("worker running", T).await;
    let first = app.enqueue(json!({"kind": "noop"})).await;
    let first = first["id"].as_str().unwrap().to_owned();
    app.wait_for_state(&first, &["succeeded"], T).await;

    let listener: i32 = wait_until("the worker's LISTEN connection", T, async || {
        sqlx::query_scalar::<_, i32>(
            // The queue's listener (the event dispatcher listens on a connection of its own).
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'LISTEN%'
               AND query NOT LIKE '%demandflow_events%'",
        )
        .bind(&app.db.name)
        .fetch_optional(&app.pool)
        .await
        .unwrap()
    })
    .await;
    // In one transaction: end the listener's backend (waiting until it is gone), then enqueue a
    // job and its wake-up. The commit comes before the worker can have listened again, so the
    // NOTIFY reaches no one: only noticing the loss (and catching up) finds the job.
    let mut tx = app.pool.begin().await.unwrap();
    let ended: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1, 5000)")
        .bind(listener)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert!(ended);
    let id: Uuid = sqlx::query_scalar(
        "INSERT INTO jobs (id, tenant_id, kind, args, max_attempts)
         SELECT gen_random_uuid(), tenant_id, 'noop', '{}', 3 FROM jobs WHERE id = $1::text::uuid
         RETURNING id",
    )
    .bind(&first)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    sqlx::query("SELECT pg_notify('demandflow_jobs', 'noop')")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let enqueued = std::time::Instant::now();
    app.wait_for_state(&id.to_string(), &["succeeded"], Duration::from_secs(10))
        .await;
    assert!(
        enqueued.elapsed() < Duration::from_secs(1),
        "picked up {:?} after the enqueue",
        enqueued.elapsed()
    );
    worker
        .wait_for_line("LISTEN connection lost", Duration::from_secs(5))
        .await;
}

#[tokio::test]
async fn a_worker_cut_off_from_postgres_stops_its_job_before_its_lease_ends_and_resumes_after() {
    let app = spawn_app().await;
    let proxy = CuttableProxy::start(port_of(&app.db.url)).await.unwrap();
    let through_proxy = proxy.url(&app.db.url);
    let cut_off = app.spawn_worker(&[
        ("DATABASE_URL", &through_proxy),
        ("LEASE_MS", "6000"),
        ("HEARTBEAT_MS", "500"),
        ("FENCE_AFTER_MS", "3000"),
    ]);
    let job = app
        .enqueue(json!({"kind": "noop", "args": {"sleep_ms": 6000}, "max_attempts": 3}))
        .await;
    let id = job["id"].as_str().unwrap().to_owned();
    let running = app.wait_for_state(&id, &["running"], T).await;
    let holder = running["worker"].as_str().unwrap().to_owned();

    proxy.cut();
    cut_off
        .wait_for_line("attempt abandoned", Duration::from_secs(10))
        .await;
    // Stopped while its lease still holds: nobody else can have started it yet.
    let (state, locked_by, lease_holds): (String, Option<String>, bool) = sqlx::query_as(
        "SELECT state, locked_by, lease_expires_at > now() FROM jobs WHERE id = $1::text::uuid",
    )
    .bind(&id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        (state.as_str(), locked_by.as_deref(), lease_holds),
        ("running", Some(holder.as_str()), true),
        "the cut-off worker stopped its job before the lease ended"
    );

    // Another worker rescues it, and completes it: once. The cut closed the worker's
    // connections, so its session is seen gone (its lease need not run out first).
    let mut rescuer = app.spawn_worker(&[]);
    let done = app.wait_for_state(&id, &["succeeded"], T).await;
    assert_eq!(done["attempts"], 2, "{done}");
    let errors = done["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{done}");
    let error = errors[0]["error"].as_str().unwrap();
    assert!(
        error.contains("session ended") && error.contains(&holder),
        "{done}"
    );
    rescuer.signal("KILL");
    rescuer.wait_exit(T).await.unwrap();

    // Back in touch, the cut-off worker claims again, and never records the abandoned attempt.
    proxy.restore();
    cut_off.wait_for_line("the database answers again", T).await;
    picked_up_at_once(&app, Duration::from_secs(2)).await;
    let after = app.job(&id).await;
    assert_eq!(
        (after["state"].as_str(), after["attempts"].as_i64()),
        (Some("succeeded"), Some(2)),
        "{after}"
    );
    assert!(
        !cut_off
            .output()
            .iter()
            .any(|l| l.contains(&id) && l.contains("job succeeded")),
        "the abandoned attempt never completed"
    );
}

#[tokio::test]
async fn ending_every_connection_under_load_loses_no_accepted_job() {
    let app = spawn_app().await;
    let _workers = [app.spawn_worker(&[]), app.spawn_worker(&[])];
    let mut accepted: Vec<Uuid> = Vec::new();
    let mut terminated = 0i64;
    for round in 0..6 {
        // Enqueue while the previous round's jobs run, then end every connection of the test
        // database but this one: the api's, the workers' (pool, LISTEN, completer, claims).
        if let Some(ids) = enqueue_batch(&app, 50, json!({"sleep_ms": 20})).await {
            accepted.extend(ids);
        }
        tokio::time::sleep(Duration::from_millis(100 * round)).await;
        terminated += sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))
             FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        )
        .bind(&app.db.name)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    }
    assert!(terminated > 6, "connections were ended: {terminated}");
    assert!(accepted.len() >= 200, "accepted: {}", accepted.len());
    let unique: HashSet<&Uuid> = accepted.iter().collect();
    assert_eq!(unique.len(), accepted.len());
    all_succeed_once(&app, &accepted, Duration::from_secs(45)).await;
    picked_up_at_once(&app, Duration::from_secs(1)).await;
}

#[tokio::test]
async fn a_postgres_restart_under_load_loses_no_accepted_job() {
    let cluster = PrivateCluster::start().await.expect("a private cluster");
    let app = spawn_app_on(&cluster.url(), &[]).await;
    let _workers = [app.spawn_worker(&[]), app.spawn_worker(&[])];
    let mut accepted: Vec<Uuid> = Vec::new();
    for _ in 0..4 {
        accepted.extend(
            enqueue_batch(&app, 50, json!({"sleep_ms": 300}))
                .await
                .expect("accepted before the restart"),
        );
    }
    // Some are running, most are queued: restart the server under them.
    wait_until("jobs to run", T, async || {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM jobs WHERE state = 'succeeded'")
            .fetch_one(&app.pool)
            .await
            .unwrap()
            > 10
    })
    .await;
    cluster.restart().await.expect("pg_ctl restart");
    // Accepted after the restart too, once the api reaches the server again.
    let more = wait_until("the api to accept jobs again", T, async || {
        enqueue_batch(&app, 50, json!({"sleep_ms": 5})).await
    })
    .await;
    accepted.extend(more);
    all_succeed_once(&app, &accepted, Duration::from_secs(45)).await;
    picked_up_at_once(&app, Duration::from_secs(1)).await;
}
