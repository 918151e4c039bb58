//! Template bombs: a small definition that copies a large input many times. Rendering stops at
//! its budget, the run is refused (at the start) or fails (on a worker) naming the budget, and
//! neither process grows for it.

use e2e::{App, Proc, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Most a process may peak at while it meets a bomb (the unbounded renders peaked past 800 MB).
const MAX_PEAK_KB: u64 = 100 * 1024;

/// The peak resident memory of `proc` (its `VmHWM`), in KiB.
fn peak_kb(proc: &Proc) -> u64 {
    let pid = proc.child.id().expect("the process is running");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("its status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmHWM line")
}

/// Asserts that `proc` (named `name`) never peaked past [`MAX_PEAK_KB`].
fn assert_small(name: &str, proc: &Proc) {
    let peak = peak_kb(proc);
    eprintln!("the {name} peaked at {peak} KiB");
    assert!(peak < MAX_PEAK_KB, "the {name} peaked at {peak} KiB");
}

async fn create_workflow(app: &App, definition: Value) -> String {
    let (status, body) = app
        .send(
            Method::POST,
            "/workflows",
            Some(json!({"name": "bomb", "definition": definition})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_template_bomb_is_refused_at_start_and_the_api_stays_small() {
    let app = spawn_app().await;
    // 2,000 copies of a 200 KB input: 400 MB rendered in full.
    let wf = create_workflow(
        &app,
        json!({"steps": [
            {"name": "bomb", "kind": "noop", "args": {"output": "{{ input.a }}".repeat(2000)}},
        ]}),
    )
    .await;
    let input = json!({"a": "x".repeat(200_000)});
    for _ in 0..3 {
        let res = app
            .request(Method::POST, &format!("/workflows/{wf}/runs"))
            .json(&json!({ "input": input }))
            .send()
            .await
            .expect("the api answers");
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let content_type = res.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(content_type.starts_with("application/problem+json"));
        let problem: Value = res.json().await.unwrap();
        assert_eq!(problem["errors"][0]["path"], "input", "{problem}");
        let message = problem["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("step \"bomb\"") && message.contains("budget of 1048576 bytes"),
            "{problem}"
        );
    }
    // Nothing was left behind, the api still serves, and it never grew for the bomb.
    let (status, runs) = app.send(Method::GET, "/runs", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(runs["items"], json!([]), "{runs}");
    assert_small("api", &app.api);
}

#[tokio::test]
async fn a_fan_out_bomb_fails_its_run_on_the_worker_naming_the_budget() {
    let app = spawn_app().await;
    // Each of 1,000 items copies the 200 KB input: 200 MB of args, rendered by the worker
    // that finishes `first`.
    let wf = create_workflow(
        &app,
        json!({"steps": [
            {"name": "first", "kind": "noop"},
            {"name": "fan", "kind": "noop", "after": ["first"], "for_each": "input.list",
             "args": {"output": "{{ input.a }}"}},
        ]}),
    )
    .await;
    let worker = app.spawn_worker(&[]);
    let (status, run) = app
        .send(
            Method::POST,
            &format!("/workflows/{wf}/runs"),
            Some(json!({"input": {"a": "x".repeat(200_000), "list": vec![0; 1000]}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{run}");
    let run = app
        .wait_run(run["id"].as_str().unwrap(), &["failed", "succeeded"])
        .await;
    assert_eq!(run["status"], "failed", "{run}");
    assert_eq!(run["failed_step"], "fan", "{run}");
    let error = run["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("step \"fan\"") && error.contains("budget of 16777216 bytes"),
        "{run}"
    );
    let jobs: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE step = 'fan'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(jobs, 0, "no item was enqueued");
    assert_small("worker", &worker);
    assert_small("api", &app.api);
}
