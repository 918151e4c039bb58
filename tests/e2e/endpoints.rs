//! The rest of the contract: idempotency, batches, listing, queues, workers, health, metrics,
//! correlation ids.

use std::time::Duration;

use e2e::{spawn_app, wait_until};
use reqwest::Method;
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(30);

#[tokio::test]
async fn the_same_idempotency_key_returns_the_first_job() {
    let app = spawn_app().await;
    let body = json!({"kind": "noop", "idempotency_key": "lead-42"});
    let first = app.enqueue(body.clone()).await;
    let res = app
        .request(Method::POST, "/jobs")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let again: Value = res.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    // Another tenant may use the same key.
    let other = app.create_key("globex", "operator").await;
    let res = app
        .http
        .post(format!("{}/api/v1/jobs", app.base))
        .header("X-API-Key", other)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(rows, 2);
}

#[tokio::test]
async fn a_batch_is_all_or_nothing_and_lists_page_by_cursor() {
    let app = spawn_app().await;
    let jobs: Vec<Value> = (0..5)
        .map(|i| json!({"kind": "noop", "args": {"sleep_ms": i}}))
        .collect();
    let res = app
        .request(Method::POST, "/jobs/batch")
        .json(&json!({ "jobs": jobs }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["items"].as_array().unwrap().len(), 5);

    let mut bad = jobs.clone();
    bad.push(json!({"kind": "noop", "args": {"sleep_ms": "x"}}));
    let res = app
        .request(Method::POST, "/jobs/batch")
        .json(&json!({ "jobs": bad }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(rows, 5, "the failed batch inserted nothing");

    let page: Value = app
        .request(Method::GET, "/jobs?limit=3")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
    let cursor = page["next_cursor"].as_str().expect("a next page");
    let rest: Value = app
        .request(Method::GET, &format!("/jobs?limit=3&cursor={cursor}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rest["items"].as_array().unwrap().len(), 2);
    assert!(rest["next_cursor"].is_null());
    let filtered: Value = app
        .request(Method::GET, "/jobs?state=succeeded&kind=noop")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(filtered["items"].as_array().unwrap().len(), 0);
    let res = app
        .request(Method::GET, "/jobs?state=sleeping")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
}

#[tokio::test]
async fn the_request_id_follows_the_job_into_the_worker_logs() {
    let app = spawn_app().await;
    let worker = app.spawn_worker(&[]);
    let res = app
        .request(Method::POST, "/jobs")
        .header("X-Request-Id", "req-abc-123")
        .json(&json!({"kind": "noop"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["x-request-id"], "req-abc-123");
    let job: Value = res.json().await.unwrap();
    assert_eq!(job["correlation_id"], "req-abc-123");
    app.wait_for_state(job["id"].as_str().unwrap(), &["succeeded"], T)
        .await;
    let line = worker.wait_for_line("job succeeded", T).await;
    assert!(line.contains("req-abc-123"), "{line}");
    // A request without one gets a generated id.
    let res = app.request(Method::GET, "/jobs").send().await.unwrap();
    assert!(!res.headers()["x-request-id"].is_empty());
}

#[tokio::test]
async fn queues_workers_health_and_metrics_report_the_fleet() {
    let app = spawn_app().await;
    let job = app.enqueue(json!({"kind": "noop"})).await;
    let worker = app.spawn_worker(&[]);
    app.wait_for_state(job["id"].as_str().unwrap(), &["succeeded"], T)
        .await;
    worker.wait_for_line("worker running", T).await;

    let queues: Value = app
        .request(Method::GET, "/queues")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let noop = queues["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["kind"] == "noop")
        .unwrap()
        .clone();
    assert_eq!(noop["counts"]["succeeded"], 1, "{queues}");
    assert_eq!(noop["completed_last_minute"], 1);

    let workers = wait_until("the worker to be listed", T, async || {
        let workers: Value = app
            .request(Method::GET, "/workers")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if workers["items"].as_array().unwrap().len() == 1 {
            Ok(workers)
        } else {
            Err(workers)
        }
    })
    .await;
    assert!(
        workers["items"][0]["kinds"]
            .as_array()
            .unwrap()
            .contains(&json!("http_request"))
    );

    let live = app
        .http
        .get(format!("{}/health/live", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200);
    let ready = app
        .http
        .get(format!("{}/health/ready", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let metrics = app.metrics().await;
    assert!(metrics.contains("jobs_enqueued_total"), "{metrics}");
    let spec = app
        .http
        .get(format!("{}/api/v1/openapi.json", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(spec.status(), 200);
    assert_eq!(
        spec.text().await.unwrap(),
        include_str!("../../openapi/openapi.json"),
        "the served document is the committed one"
    );
    let docs = app
        .http
        .get(format!("{}/docs", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(docs.status(), 200);
    let page = docs.text().await.unwrap();
    assert!(
        page.contains("SwaggerUIBundle") && page.contains("x-sse-data"),
        "Swagger UI shows the same (polished) document"
    );
}

#[tokio::test]
async fn readiness_fails_while_migrations_are_missing() {
    let db = e2e::TestDb::create().await.unwrap();
    let mut cmd = tokio::process::Command::new(e2e::bin("api"));
    cmd.arg("serve")
        .env("DATABASE_URL", &db.url)
        .env("PORT", "0")
        .env("DEMANDFLOW_SECRET_KEY", e2e::TEST_SECRET_KEY)
        .kill_on_drop(true);
    cmd.stdout(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stdout));
    let base = loop {
        let line = lines
            .next_line()
            .await
            .unwrap()
            .expect("api prints its address");
        if let Some(addr) = line.split("listening on ").nth(1) {
            break addr.trim().to_owned();
        }
    };
    let ready = reqwest::get(format!("{base}/health/ready")).await.unwrap();
    assert_eq!(ready.status(), 503);
    let live = reqwest::get(format!("{base}/health/live")).await.unwrap();
    assert_eq!(live.status(), 200);
}
