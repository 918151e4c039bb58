//! Workflows: definitions checked as a whole, runs advanced by the real workers (each step's
//! successors enqueued in the transaction that records its outcome), cancellation, a killed
//! worker, versions pinned by runs in flight.

use std::time::Duration;

use e2e::{App, spawn_app, wait_until};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(60);

async fn create_workflow(app: &App, definition: Value) -> String {
    let res = app
        .request(Method::POST, "/workflows")
        .json(&json!({"name": "pipeline", "definition": definition}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
}

async fn start(app: &App, workflow: &str, input: Value) -> String {
    let res = app
        .request(Method::POST, &format!("/workflows/{workflow}/runs"))
        .json(&json!({ "input": input }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
}

async fn run(app: &App, id: &str) -> Value {
    let res = app
        .request(Method::GET, &format!("/runs/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

fn step<'a>(run: &'a Value, name: &str) -> &'a Value {
    run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no step {name} in {run}"))
}

async fn wait_step_running(app: &App, id: &str, name: &str) {
    wait_until(&format!("step {name} to run"), T, async || {
        let r = run(app, id).await;
        if step(&r, name)["jobs"]["running"].as_i64().unwrap_or(0) > 0 {
            Ok(())
        } else {
            Err(r)
        }
    })
    .await;
}

#[tokio::test]
async fn a_diamond_runs_each_step_once_and_joins_both_branches() {
    let app = spawn_app().await;
    let wf = create_workflow(
        &app,
        json!({"steps": [
            {"name": "a", "kind": "noop", "args": {"output": {"n": "{{ input.n }}"}}},
            {"name": "b", "kind": "noop", "after": ["a"], "args": {"output": "left-{{ steps.a.output.n }}"}},
            {"name": "c", "kind": "noop", "after": ["a"], "args": {"sleep_ms": 200, "output": "right"}},
            {"name": "d", "kind": "noop", "after": ["b", "c"],
             "args": {"output": ["{{ steps.b.output }}", "{{ steps.c.output }}"]}},
            {"name": "e", "kind": "noop", "after": ["d"], "if": "input.n > 100"},
        ]}),
    )
    .await;
    let _worker = app.spawn_worker(&[]);
    let id = start(&app, &wf, json!({"n": 5})).await;
    let done = app.wait_run(&id, &["succeeded", "failed"]).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(step(&done, "d")["output"], json!(["left-5", "right"]));
    assert_eq!(step(&done, "e")["state"], "skipped");
    assert_eq!(done["progress"], json!({"steps_done": 5, "steps_total": 5}));
    assert_eq!(done["version"], 1);
    let jobs: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE run_id = $1::text::uuid")
        .bind(&id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        jobs, 4,
        "each step that ran had exactly one job; e had none"
    );
}

#[tokio::test]
async fn a_fan_out_of_a_thousand_items_fans_in_to_the_next_step() {
    let app = spawn_app().await;
    let items: Vec<i64> = (0..1000).collect();
    let wf = create_workflow(
        &app,
        json!({"steps": [
            {"name": "list", "kind": "noop", "args": {"output": {"items": items}}},
            {"name": "each", "kind": "noop", "after": ["list"],
             "for_each": "steps.list.output.items", "args": {"output": {"double": "{{ item }}"}}},
            {"name": "total", "kind": "noop", "after": ["each"], "args": {"output": "{{ steps.each.output }}"}},
        ]}),
    )
    .await;
    let _worker = app.spawn_worker(&[("WORKER_CONCURRENCY", "64")]);
    let id = start(&app, &wf, json!({})).await;
    let done = app.wait_run(&id, &["succeeded", "failed"]).await;
    assert_eq!(done["status"], "succeeded", "{}", done["error"]);
    let each = step(&done, "each");
    assert_eq!(each["items"], 1000);
    assert_eq!(each["jobs"], json!({"succeeded": 1000}));
    let total = step(&done, "total")["output"].as_array().unwrap().clone();
    assert_eq!(total.len(), 1000);
    let in_order: Vec<i64> = total
        .iter()
        .map(|v| v["double"].as_i64().unwrap())
        .collect();
    assert_eq!(in_order, items, "the fan-in keeps item order");
}

#[tokio::test]
async fn a_dead_step_fails_the_run_naming_it_and_its_successors_never_start() {
    let app = spawn_app().await;
    let wf = create_workflow(
        &app,
        json!({"steps": [
            {"name": "ok", "kind": "noop"},
            {"name": "boom", "kind": "noop", "max_attempts": 1, "args": {"fail_attempts": 5}},
            {"name": "after_boom", "kind": "noop", "after": ["boom", "ok"]},
        ]}),
    )
    .await;
    let _worker = app.spawn_worker(&[]);
    let id = start(&app, &wf, json!({})).await;
    let failed = app.wait_run(&id, &["failed", "succeeded"]).await;
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["failed_step"], "boom");
    assert!(
        failed["error"].as_str().unwrap().contains("on purpose"),
        "{failed}"
    );
    assert_eq!(step(&failed, "boom")["jobs"], json!({"dead": 1}));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let later = run(&app, &id).await;
    assert_eq!(step(&later, "after_boom")["state"], "pending", "{later}");
    assert!(later["finished_at"].is_string());

    let listed: Value = app
        .request(Method::GET, "/runs?status=failed")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"][0]["id"], id.as_str());
}

#[tokio::test]
async fn cancelling_a_run_stops_its_running_step_and_starts_nothing_more() {
    let app = spawn_app().await;
    let wf = create_workflow(
        &app,
        json!({"steps": [
            {"name": "one", "kind": "noop", "args": {"sleep_ms": 30000}},
            {"name": "two", "kind": "noop", "args": {"sleep_ms": 30000}},
            {"name": "next", "kind": "noop", "after": ["one", "two"]},
        ]}),
    )
    .await;
    let _worker = app.spawn_worker(&[("WORKER_CONCURRENCY_NOOP", "1")]);
    let id = start(&app, &wf, json!({})).await;
    // One noop slot: one root step runs, the other waits in the queue.
    wait_until("a root step to run", T, async || {
        let r = run(&app, &id).await;
        let running = ["one", "two"]
            .iter()
            .any(|s| step(&r, s)["jobs"]["running"].as_i64().unwrap_or(0) > 0);
        if running { Ok(()) } else { Err(r) }
    })
    .await;
    let res = app
        .request(Method::POST, &format!("/runs/{id}/cancel"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let cancelled: Value = res.json().await.unwrap();
    assert_eq!(cancelled["status"], "cancelled");
    // The queued step job is cancelled at once; the running one by its worker.
    wait_until("both step jobs to be cancelled", T, async || {
        let states: Vec<String> =
            sqlx::query_scalar("SELECT state FROM jobs WHERE run_id = $1::text::uuid")
                .bind(&id)
                .fetch_all(&app.pool)
                .await
                .unwrap();
        if states.len() == 2 && states.iter().all(|s| s == "cancelled") {
            Ok(())
        } else {
            Err(format!("{states:?}"))
        }
    })
    .await;
    let r = run(&app, &id).await;
    assert_eq!(r["status"], "cancelled");
    assert_eq!(step(&r, "next")["state"], "cancelled");
    assert!(step(&r, "next")["jobs"].as_object().unwrap().is_empty());
    let again = app
        .request(Method::POST, &format!("/runs/{id}/cancel"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn a_run_completes_when_its_worker_is_killed_mid_step() {
    let app = spawn_app().await;
    let wf = create_workflow(
        &app,
        json!({"steps": [
            {"name": "a", "kind": "noop", "args": {"sleep_ms": 2000, "output": {"x": 1}}},
            {"name": "b", "kind": "noop", "after": ["a"], "args": {"output": "{{ steps.a.output.x }}"}},
        ]}),
    )
    .await;
    let first = app.spawn_worker(&[]);
    let id = start(&app, &wf, json!({})).await;
    wait_step_running(&app, &id, "a").await;
    first.signal("KILL");
    let _second = app.spawn_worker(&[]);
    let done = app.wait_run(&id, &["succeeded", "failed"]).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(step(&done, "b")["output"], 1);
}

#[tokio::test]
async fn a_new_version_leaves_runs_in_flight_on_theirs() {
    let app = spawn_app().await;
    let wf = create_workflow(
        &app,
        json!({"steps": [{"name": "a", "kind": "noop", "args": {"output": "v1"}}]}),
    )
    .await;
    let old = start(&app, &wf, json!({})).await;
    let res = app
        .request(Method::POST, &format!("/workflows/{wf}/versions"))
        .json(&json!({"definition": {"steps": [
            {"name": "a", "kind": "noop", "args": {"output": "v2"}},
            {"name": "b", "kind": "noop", "after": ["a"]},
        ]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let new = start(&app, &wf, json!({})).await;
    let _worker = app.spawn_worker(&[]);
    let old = app.wait_run(&old, &["succeeded", "failed"]).await;
    let new = app.wait_run(&new, &["succeeded", "failed"]).await;
    assert_eq!(
        (old["version"].clone(), step(&old, "a")["output"].clone()),
        (json!(1), json!("v1"))
    );
    assert_eq!(old["steps"].as_array().unwrap().len(), 1);
    assert_eq!(
        (new["version"].clone(), step(&new, "a")["output"].clone()),
        (json!(2), json!("v2"))
    );

    // Disabled: no new run.
    let res = app
        .request(Method::POST, &format!("/workflows/{wf}/disable"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .request(Method::POST, &format!("/workflows/{wf}/runs"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn invalid_definitions_answer_422_naming_every_problem() {
    let app = spawn_app().await;
    let res = app
        .request(Method::POST, "/workflows")
        .json(&json!({"name": "bad", "definition": {"steps": [
            {"name": "a", "kind": "noop", "after": ["b"]},
            {"name": "b", "kind": "noop", "after": ["a"]},
            {"name": "c", "kind": "teleport"},
            {"name": "d", "kind": "noop", "if": "steps.c.output.score >>= 70"},
        ]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = res.json().await.unwrap();
    let mut paths: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "definition.steps[0].after",
            "definition.steps[1].after",
            "definition.steps[2].kind",
            "definition.steps[3].if",
        ],
        "{problem}"
    );
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM workflows")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 0);

    // Only admins define workflows; operators run them.
    let operator = app.create_key("acme", "operator").await;
    let res = app
        .http
        .post(format!("{}/api/v1/workflows", app.base))
        .header("X-API-Key", &operator)
        .json(&json!({"name": "x", "definition": {"steps": [{"name": "a", "kind": "noop"}]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}
