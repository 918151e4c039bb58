//! A workflow run's step jobs finished outside a worker's own outcome — cancelled through
//! `/jobs`, dead-lettered by lease rescue after their worker died on the last attempt — move
//! their run on in the same transaction, like any outcome; retrying one through `/jobs` is
//! refused in favour of retrying the run.

use std::time::Duration;

use e2e::{App, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

const T: Duration = Duration::from_secs(60);

/// Starts a run of a two-step workflow whose first step sleeps.
async fn start_run(app: &App, first: Value) -> String {
    let (status, wf) = app
        .send(
            Method::POST,
            "/workflows",
            Some(json!({"name": "w", "definition": {"steps": [
                first,
                {"name": "b", "kind": "noop", "after": ["a"]},
            ]}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{wf}");
    let (status, run) = app
        .send(
            Method::POST,
            &format!("/workflows/{}/runs", wf["id"].as_str().unwrap()),
            Some(json!({"input": {}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{run}");
    run["id"].as_str().unwrap().to_owned()
}

async fn step_job(app: &App, run: &str, step: &str) -> Uuid {
    sqlx::query_scalar("SELECT id FROM jobs WHERE run_id = $1 AND step = $2")
        .bind(run.parse::<Uuid>().unwrap())
        .bind(step)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn cancelling_a_queued_step_job_fails_its_run_at_once() {
    let app = spawn_app().await;
    // No worker: the step's job stays queued, so only the cancel can move the run.
    let run = start_run(&app, json!({"name": "a", "kind": "noop"})).await;
    let job = step_job(&app, &run, "a").await;
    let (status, body) = app
        .send(Method::POST, &format!("/jobs/{job}/cancel"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, now) = app.send(Method::GET, &format!("/runs/{run}"), None).await;
    assert_eq!(now["status"], "failed", "{now}");
    assert_eq!(now["failed_step"], "a", "{now}");
    let b = now["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "b")
        .unwrap();
    assert_eq!(
        b["state"], "pending",
        "nothing after a failed step starts: {now}"
    );

    // The job cannot be retried on its own; the run can, and then it completes.
    let (status, problem) = app
        .send(Method::POST, &format!("/jobs/{job}/retry"), None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains(&run),
        "{problem}"
    );
    let (status, body) = app
        .send(Method::POST, &format!("/runs/{run}/retry"), None)
        .await;
    assert!(status.is_success(), "{body}");
    let _worker = app.spawn_worker(&[]);
    app.wait_run(&run, &["succeeded"]).await;
}

#[tokio::test]
async fn a_step_job_dead_lettered_by_lease_rescue_fails_its_run() {
    let app = spawn_app().await;
    let lease = [("LEASE_MS", "1500"), ("HEARTBEAT_MS", "300")];
    let first = app.spawn_worker(&lease);
    // One attempt only: when its worker dies, the rescue makes it dead.
    let run = start_run(
        &app,
        json!({"name": "a", "kind": "noop", "max_attempts": 1, "args": {"sleep_ms": 60000}}),
    )
    .await;
    let job = step_job(&app, &run, "a").await;
    app.wait_for_state(&job.to_string(), &["running"], T).await;
    first.signal("KILL");
    // The survivor rescues the expired lease (it does not watch for dead workers' sessions);
    // nothing else of this run will ever finish.
    let _second = app.spawn_worker(&[lease[0], lease[1], ("DEAD_WORKER_CHECK_MS", "0")]);
    let failed = app.wait_run(&run, &["failed"]).await;
    assert_eq!(failed["failed_step"], "a", "{failed}");
    assert!(
        failed["error"].as_str().unwrap().contains("lease expired"),
        "{failed}"
    );
}

#[tokio::test]
async fn a_step_job_dead_lettered_when_its_workers_session_ends_fails_its_run() {
    let app = spawn_app().await;
    // A lease far longer than the test: only seeing the session end rescues the step.
    let lease = [("LEASE_MS", "60000")];
    let first = app.spawn_worker(&lease);
    let run = start_run(
        &app,
        json!({"name": "a", "kind": "noop", "max_attempts": 1, "args": {"sleep_ms": 60000}}),
    )
    .await;
    let job = step_job(&app, &run, "a").await;
    app.wait_for_state(&job.to_string(), &["running"], T).await;
    first.signal("KILL");
    let _second = app.spawn_worker(&lease);
    let failed = app.wait_run(&run, &["failed"]).await;
    assert_eq!(failed["failed_step"], "a", "{failed}");
    assert!(
        failed["error"].as_str().unwrap().contains("session ended"),
        "{failed}"
    );
}
