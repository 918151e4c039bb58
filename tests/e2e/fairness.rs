//! Fairness and flow control in the claim, through the real api, two worker processes and the
//! operator's command line: a concurrency key never runs over its limit across processes, a
//! tenant's cap holds, and `/queues` shows each key's waiting and running jobs.

use std::time::Duration;

use e2e::{api_cli, wait_until};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::flow_control::unthrottled;

async fn running(app: &e2e::App, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.pool).await.unwrap()
}

/// Samples `sql` (a count) every 10 ms until `done` says every job finished; the highest count.
async fn most_while_draining(app: &e2e::App, sql: &'static str, done: &'static str) -> i64 {
    let mut most = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        most = most.max(running(app, sql).await);
        if running(app, done).await == 0 {
            return most;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the jobs never finished"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_concurrency_key_holds_across_worker_processes_and_shows_in_queues() {
    let app = unthrottled().await;
    let jobs: Vec<Value> = (0..24)
        .map(|_| {
            json!({"kind": "noop", "args": {"sleep_ms": 150},
                   "concurrency": {"key": "customer-7", "limit": 2}})
        })
        .chain((0..8).map(|_| json!({"kind": "noop", "args": {"sleep_ms": 150}})))
        .collect();
    let (status, body) = app
        .send(Method::POST, "/jobs/batch", Some(json!({ "jobs": jobs })))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["items"][0]["concurrency_key"], "customer-7", "{body}");
    assert_eq!(body["items"][0]["concurrency_limit"], 2, "{body}");
    let (status, queues) = app.send(Method::GET, "/queues", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        queues["keys"],
        json!([{"key": "customer-7", "limit": 2, "running": 0, "waiting": 24}])
    );
    let metrics = app.metrics().await;
    for line in [
        "concurrency_keys_active 1",
        "concurrency_keys_saturated 0",
        "concurrency_key_waiting_jobs 24",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line}: {metrics}");
    }

    let _a = app.spawn_worker(&[("WORKER_CONCURRENCY", "8")]);
    let _b = app.spawn_worker(&[("WORKER_CONCURRENCY", "8")]);
    let most = most_while_draining(
        &app,
        "SELECT count(*) FROM jobs WHERE state = 'running' AND concurrency_key = 'customer-7'",
        "SELECT count(*) FROM jobs WHERE state <> 'succeeded'",
    )
    .await;
    assert_eq!(most, 2, "two at a time across both workers, and no more");
    let (_, queues) = app.send(Method::GET, "/queues", None).await;
    assert_eq!(queues["keys"], json!([]), "nothing left with the key");
}

#[tokio::test]
async fn the_operators_cap_and_weight_hold_for_a_tenant_and_show_on_it() {
    let app = unthrottled().await;
    let out = api_cli(
        &app.db,
        &[
            "set-tenant-queue",
            "--tenant",
            "acme",
            "--weight",
            "3",
            "--max-running",
            "3",
            "--kind-limits",
            "deliver=2",
        ],
    )
    .await
    .unwrap();
    let printed: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(printed["before"]["weight"], 1, "{printed}");
    assert_eq!(printed["after"]["max_running"], 3, "{printed}");
    let (status, tenant) = app.send(Method::GET, "/tenant", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(tenant["queue_weight"], 3, "{tenant}");
    assert_eq!(tenant["max_running"], 3, "{tenant}");
    assert_eq!(tenant["kind_limits"], json!({"deliver": 2}), "{tenant}");
    // The tenant cannot change its own share.
    let (status, body) = app
        .send(
            Method::PATCH,
            "/tenant",
            Some(json!({"queue_weight": 1000})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let bad = api_cli(
        &app.db,
        &["set-tenant-queue", "--tenant", "acme", "--weight", "0"],
    )
    .await;
    assert!(format!("{:?}", bad.unwrap_err()).contains("weight"));

    let jobs: Vec<Value> = (0..12)
        .map(|_| json!({"kind": "noop", "args": {"sleep_ms": 150}}))
        .collect();
    let (status, body) = app
        .send(Method::POST, "/jobs/batch", Some(json!({ "jobs": jobs })))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let _a = app.spawn_worker(&[("WORKER_CONCURRENCY", "8")]);
    let _b = app.spawn_worker(&[("WORKER_CONCURRENCY", "8")]);
    let most = most_while_draining(
        &app,
        "SELECT count(*) FROM jobs WHERE state = 'running'",
        "SELECT count(*) FROM jobs WHERE state <> 'succeeded'",
    )
    .await;
    assert_eq!(most, 3, "the tenant's cap, across both workers");
    wait_until(
        "the slots to be given back",
        Duration::from_secs(10),
        async || {
            let n = running(
                &app,
                "SELECT coalesce(sum(running), 0)::int8 FROM job_slot_use",
            )
            .await;
            if n == 0 { Ok(()) } else { Err(n) }
        },
    )
    .await;
}
