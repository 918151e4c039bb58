//! Bad input gets a clear 4xx problem+json answer: never a 500, a panic or lost data.

use e2e::spawn_app;
use reqwest::Method;
use serde_json::{Value, json};

async fn problem(res: reqwest::Response) -> (u16, Value) {
    let status = res.status().as_u16();
    let content_type = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    assert!(
        content_type.starts_with("application/problem+json"),
        "status {status} came as {content_type:?}"
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], status, "{body}");
    assert!(
        body["title"].is_string() && body["type"].is_string(),
        "{body}"
    );
    (status, body)
}

fn deep(levels: usize) -> Value {
    (0..levels).fold(json!(1), |inner, _| json!([inner]))
}

#[tokio::test]
async fn bad_requests_get_problem_details_with_the_field_path() {
    // A small body limit, so the oversize body below fits in the socket buffers and the client
    // always reads the 413 instead of racing the server's close.
    let app = e2e::spawn_app_with(&[("MAX_BODY_BYTES", "4096")]).await;
    let raw = |body: &'static str| {
        app.request(Method::POST, "/jobs")
            .header("content-type", "application/json")
            .body(body)
    };
    let json_body = |body: Value| app.request(Method::POST, "/jobs").json(&body);

    let cases: Vec<(&str, reqwest::RequestBuilder, u16, Option<&str>)> = vec![
        ("malformed JSON", raw("{\"kind\": "), 400, None),
        (
            "nested too deep",
            json_body(
                json!({"kind": "http_request", "args": {"method": "POST", "url": "https://e.com", "body": deep(40)}}),
            ),
            400,
            None,
        ),
        (
            "unknown kind",
            json_body(json!({"kind": "mine_bitcoin"})),
            422,
            Some("kind"),
        ),
        (
            "missing kind",
            json_body(json!({"args": {}})),
            422,
            Some("kind"),
        ),
        (
            "wrong arg type",
            json_body(json!({"kind": "noop", "args": {"sleep_ms": "soon"}})),
            422,
            Some("args.sleep_ms"),
        ),
        (
            "arg out of range",
            json_body(json!({"kind": "noop", "args": {"sleep_ms": 600001}})),
            422,
            Some("args.sleep_ms"),
        ),
        (
            "bad url",
            json_body(json!({"kind": "http_request", "args": {"method": "GET", "url": "nope"}})),
            422,
            Some("args.url"),
        ),
        (
            "bad priority",
            json_body(json!({"kind": "noop", "priority": 5000})),
            422,
            Some("priority"),
        ),
        (
            "batch item",
            app.request(Method::POST, "/jobs/batch").json(
                &json!({"jobs": [{"kind": "noop"}, {"kind": "noop", "args": {"sleep_ms": -1}}]}),
            ),
            422,
            Some("jobs[1].args.sleep_ms"),
        ),
        (
            "oversize body",
            json_body(json!({"kind": "noop", "idempotency_key": "x".repeat(16 * 1024)})),
            413,
            None,
        ),
    ];
    for (name, request, status, path) in cases {
        let (got, body) = problem(request.send().await.unwrap()).await;
        assert_eq!(got, status, "{name}: {body}");
        if let Some(path) = path {
            let paths: Vec<&str> = body["errors"]
                .as_array()
                .map(|e| e.iter().filter_map(|e| e["path"].as_str()).collect())
                .unwrap_or_default();
            assert!(
                paths.contains(&path),
                "{name}: expected path {path} in {body}"
            );
        }
    }
    // None of it reached the queue.
    let jobs: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(jobs, 0);
}

#[tokio::test]
async fn missing_or_wrong_keys_are_401_and_weak_roles_are_403() {
    let app = spawn_app().await;
    let url = format!("{}/api/v1/jobs", app.base);
    let (status, _) = problem(app.http.get(&url).send().await.unwrap()).await;
    assert_eq!(status, 401);
    let wrong = format!("df_{}", "0".repeat(64));
    let (status, _) = problem(
        app.http
            .get(&url)
            .header("X-API-Key", &wrong)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 401);
    let (status, _) = problem(
        app.http
            .get(&url)
            .bearer_auth("nonsense")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 401);

    let viewer = app.create_key("acme", "viewer").await;
    let res = app
        .http
        .get(&url)
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "a viewer reads");
    let (status, _) = problem(
        app.http
            .post(&url)
            .bearer_auth(&viewer)
            .json(&json!({"kind": "noop"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 403, "a viewer does not enqueue");
    let operator = app.create_key("acme", "operator").await;
    let res = app
        .http
        .post(&url)
        .bearer_auth(&operator)
        .json(&json!({"kind": "noop"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "an operator enqueues");
}

#[tokio::test]
async fn another_tenants_job_does_not_exist() {
    let app = spawn_app().await;
    let job = app.enqueue(json!({"kind": "noop"})).await;
    let id = job["id"].as_str().unwrap();
    let other = app.create_key("globex", "admin").await;
    for (method, path) in [
        (Method::GET, format!("/jobs/{id}")),
        (Method::POST, format!("/jobs/{id}/cancel")),
        (Method::POST, format!("/jobs/{id}/retry")),
        (Method::DELETE, format!("/jobs/{id}")),
    ] {
        let res = app
            .http
            .request(method.clone(), format!("{}/api/v1{path}", app.base))
            .header("X-API-Key", &other)
            .send()
            .await
            .unwrap();
        let (status, _) = problem(res).await;
        assert_eq!(status, 404, "{method} {path}");
    }
    let list: Value = app
        .http
        .get(format!("{}/api/v1/jobs", app.base))
        .header("X-API-Key", &other)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
    // And nothing changed.
    assert_eq!(app.job(id).await["state"], "available");
}

#[tokio::test]
async fn unknown_routes_are_problem_json_too() {
    let app = spawn_app().await;
    let res = app
        .request(Method::GET, "/nothing-here")
        .send()
        .await
        .unwrap();
    let (status, _) = problem(res).await;
    assert_eq!(status, 404);
}
