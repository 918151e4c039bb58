//! Flow control at enqueue: a debounced burst runs once with its newest args, and a singleton
//! key keeps one job queued or running at a time, through the real api and worker.

use std::time::Duration;

use e2e::{App, spawn_app_with};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(60);

/// An app whose key may call as fast as a burst needs.
pub(crate) async fn unthrottled() -> App {
    let app = spawn_app_with(&[
        ("TENANT_MAX_RATE_PER_SECOND", "100000"),
        ("TENANT_MAX_BURST", "100000"),
    ])
    .await;
    let (status, body) = app
        .send(
            Method::PATCH,
            "/tenant",
            Some(json!({"rate_limit_per_second": 100000, "rate_limit_burst": 100000})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app
}

async fn jobs_with(app: &App, column: &str, key: &str) -> Vec<(String, Value, i32)> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT state, result, attempt FROM jobs WHERE {column} = $1 ORDER BY id"
    )))
    .bind(key)
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_thousand_debounced_enqueues_run_once_with_the_last_args() {
    let app = unthrottled().await;
    let _worker = app.spawn_worker(&[]);
    let mut id = None;
    for n in 0..1000 {
        let (status, job) = app
            .send(
                Method::POST,
                "/jobs",
                Some(json!({"kind": "noop", "args": {"output": n},
                            "debounce": {"key": "weekly-digest", "window_ms": 5000}})),
            )
            .await;
        let expected = if n == 0 {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        assert_eq!(status, expected, "enqueue {n}: {job}");
        assert_eq!(job["debounce_key"], "weekly-digest");
        assert_eq!(job["args"]["output"], n);
        let this = job["id"].as_str().unwrap().to_owned();
        assert_eq!(id.get_or_insert_with(|| this.clone()), &this, "enqueue {n}");
    }
    let done = app
        .wait_for_state(id.as_deref().unwrap(), &["succeeded"], T)
        .await;
    assert_eq!(done["result"], 999, "{done}");
    assert_eq!(done["attempts"], 1, "{done}");
    assert_eq!(
        jobs_with(&app, "debounce_key", "weekly-digest").await,
        [("succeeded".to_owned(), json!(999), 1)],
        "one job, one run"
    );
}

#[tokio::test]
async fn a_singleton_key_holds_one_job_until_it_finishes() {
    let app = unthrottled().await;
    let enqueue = async |sleep_ms: u64| {
        app.send(
            Method::POST,
            "/jobs",
            Some(json!({"kind": "noop", "args": {"sleep_ms": sleep_ms},
                        "singleton_key": "sync:crm"})),
        )
        .await
    };
    let (status, first) = enqueue(1500).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let _worker = app.spawn_worker(&[]);
    app.wait_for_state(first["id"].as_str().unwrap(), &["running"], T)
        .await;
    // While it runs, the key answers with it.
    let (status, same) = enqueue(0).await;
    assert_eq!(status, StatusCode::OK, "{same}");
    assert_eq!(same["id"], first["id"]);
    assert_eq!(same["state"], "running");
    app.wait_for_state(first["id"].as_str().unwrap(), &["succeeded"], T)
        .await;
    // Finished: the key makes a new job.
    let (status, next) = enqueue(0).await;
    assert_eq!(status, StatusCode::CREATED, "{next}");
    assert_ne!(next["id"], first["id"]);
    app.wait_for_state(next["id"].as_str().unwrap(), &["succeeded"], T)
        .await;
    assert_eq!(jobs_with(&app, "singleton_key", "sync:crm").await.len(), 2);
    // Bad input is a 422 naming the field.
    let (status, problem) = app
        .send(
            Method::POST,
            "/jobs",
            Some(json!({"kind": "noop", "singleton_key": "a", "idempotency_key": "b"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["path"], "singleton_key", "{problem}");
}
