//! The app driven in-process against a fresh database per test: the contract's sharp edges
//! (auth, validation paths, idempotency, tenancy, body size, malformed JSON).

use api::{
    app::{self, AppParts, AppState},
    metrics::Metrics,
};
use jobs::auth::Role;
use metrics_exporter_prometheus::PrometheusBuilder;
use poem::{
    Endpoint, EndpointExt, Request, Response,
    endpoint::BoxEndpoint,
    http::{Method, StatusCode},
};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use sqlx::PgPool;

const MAX_BODY: usize = 64 * 1024;

struct TestApp {
    ep: BoxEndpoint<'static>,
    pool: PgPool,
}

impl TestApp {
    fn new(pool: PgPool) -> Self {
        let parts = AppParts {
            state: AppState::new(pool.clone(), &api::settings::Access::default()),
            metrics: Metrics::new(PrometheusBuilder::new().build_recorder().handle()),
            max_body_bytes: MAX_BODY,
            cors_origins: Vec::new(),
        };
        Self {
            ep: app::build(parts).boxed(),
            pool,
        }
    }

    async fn key(&self, tenant: &str, role: Role) -> String {
        let mut conn = self.pool.acquire().await.unwrap();
        let tenant_id = jobs::auth::ensure_tenant(&mut conn, tenant).await.unwrap();
        let key = jobs::auth::create_key(&mut conn, tenant_id, "test", role, None)
            .await
            .unwrap();
        key.secret.expose_secret().to_owned()
    }

    async fn send(&self, req: Request) -> (StatusCode, Response) {
        let resp = self.ep.get_response(req).await;
        (resp.status(), resp)
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<&str>,
    ) -> (StatusCode, Value, Response) {
        let mut req = Request::builder()
            .method(method)
            .uri(path.parse().unwrap())
            .header("x-request-id", "req-test-1");
        if let Some(key) = key {
            req = req.header("x-api-key", key);
        }
        let req = match body {
            Some(b) => req
                .content_type("application/json")
                .header("content-length", b.len())
                .body(b.to_owned()),
            None => req.finish(),
        };
        let (status, mut resp) = self.send(req).await;
        let bytes = resp.take_body().into_vec().await.unwrap();
        let json = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        (status, json, resp)
    }
}

fn assert_problem(resp: &Response, body: &Value, status: StatusCode) {
    assert_eq!(
        resp.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/problem+json"),
        "{body}"
    );
    assert_eq!(body["status"], status.as_u16(), "{body}");
    assert!(body["type"].is_string() && body["title"].is_string() && body["detail"].is_string());
}

#[sqlx::test(migrator = "jobs::db::MIGRATOR")]
async fn a_request_without_a_live_key_is_a_401_problem(pool: PgPool) {
    let app = TestApp::new(pool);
    let (status, body, resp) = app.call(Method::GET, "/api/v1/jobs", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_problem(&resp, &body, status);
    assert_eq!(resp.headers()["www-authenticate"], "Bearer");
    assert_eq!(resp.headers()["x-request-id"], "req-test-1");
    let wrong = format!("df_{}", "0".repeat(64));
    let (status, body, resp) = app
        .call(Method::GET, "/api/v1/jobs", Some(&wrong), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_problem(&resp, &body, status);

    let viewer = app.key("acme", Role::Viewer).await;
    let (status, _, _) = app
        .call(Method::GET, "/api/v1/jobs", Some(&viewer), None)
        .await;
    assert_eq!(status, StatusCode::OK, "a viewer reads");
    let (status, body, resp) = app
        .call(
            Method::POST,
            "/api/v1/jobs",
            Some(&viewer),
            Some(r#"{"kind":"noop"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a viewer does not enqueue");
    assert_problem(&resp, &body, status);
}

#[sqlx::test(migrator = "jobs::db::MIGRATOR")]
async fn a_bad_arg_is_a_422_naming_its_path(pool: PgPool) {
    let app = TestApp::new(pool);
    let key = app.key("acme", Role::Operator).await;
    let body = r#"{"kind":"http_request","args":{"method":"GET","url":"nope"}}"#;
    let (status, problem, resp) = app
        .call(Method::POST, "/api/v1/jobs", Some(&key), Some(body))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_problem(&resp, &problem, status);
    assert_eq!(problem["errors"][0]["path"], "args.url", "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("args.url"));

    let batch = r#"{"jobs":[{"kind":"noop"},{"kind":"noop","args":{"sleep_ms":-1}}]}"#;
    let (status, problem, _) = app
        .call(Method::POST, "/api/v1/jobs/batch", Some(&key), Some(batch))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["path"], "jobs[1].args.sleep_ms");

    let (status, problem, _) = app
        .call(Method::GET, "/api/v1/jobs?state=sleeping", Some(&key), None)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["path"], "state");
}

#[sqlx::test(migrator = "jobs::db::MIGRATOR")]
async fn the_same_idempotency_key_replays_the_first_job_with_200(pool: PgPool) {
    let app = TestApp::new(pool);
    let key = app.key("acme", Role::Operator).await;
    let body = r#"{"kind":"noop","args":{"sleep_ms":5},"idempotency_key":"lead-42"}"#;
    let (status, first, resp) = app
        .call(Method::POST, "/api/v1/jobs", Some(&key), Some(body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["correlation_id"], "req-test-1");
    assert_eq!(first["state"], "available");
    assert_eq!(
        resp.headers()["location"],
        format!("/api/v1/jobs/{}", first["id"].as_str().unwrap()).as_str()
    );
    let (status, again, _) = app
        .call(Method::POST, "/api/v1/jobs", Some(&key), Some(body))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["id"], first["id"]);
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(rows, 1);
}

#[sqlx::test(migrator = "jobs::db::MIGRATOR")]
async fn another_tenants_job_is_404_like_a_missing_one(pool: PgPool) {
    let app = TestApp::new(pool);
    let acme = app.key("acme", Role::Admin).await;
    let globex = app.key("globex", Role::Admin).await;
    let (status, job, _) = app
        .call(
            Method::POST,
            "/api/v1/jobs",
            Some(&acme),
            Some(r#"{"kind":"noop"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let id = job["id"].as_str().unwrap();
    for (method, path) in [
        (Method::GET, format!("/api/v1/jobs/{id}")),
        (Method::POST, format!("/api/v1/jobs/{id}/cancel")),
        (Method::POST, format!("/api/v1/jobs/{id}/retry")),
        (Method::DELETE, format!("/api/v1/jobs/{id}")),
        (
            Method::GET,
            "/api/v1/jobs/01a20187-0000-7000-8000-000000000000".to_owned(),
        ),
    ] {
        let (status, body, resp) = app.call(method.clone(), &path, Some(&globex), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}");
        assert_problem(&resp, &body, status);
        assert_eq!(body["detail"], "job not found");
    }
    let (status, job, _) = app
        .call(
            Method::GET,
            &format!("/api/v1/jobs/{id}"),
            Some(&acme),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(job["state"], "available", "nothing changed");
}

#[sqlx::test(migrator = "jobs::db::MIGRATOR")]
async fn an_oversize_body_is_a_413_problem(pool: PgPool) {
    let app = TestApp::new(pool);
    let key = app.key("acme", Role::Operator).await;
    let big = json!({"kind": "noop", "idempotency_key": "x".repeat(MAX_BODY)}).to_string();
    let (status, body, resp) = app
        .call(Method::POST, "/api/v1/jobs", Some(&key), Some(&big))
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_problem(&resp, &body, status);

    // Without a Content-Length (a chunked upload) the body is read up to the limit only.
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/jobs".parse().unwrap())
        .header("x-api-key", &key)
        .content_type("application/json")
        .body(poem::Body::from_bytes_stream(futures::stream::iter(
            big.into_bytes()
                .chunks(4096)
                .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
                .collect::<Vec<_>>(),
        )));
    let (status, _) = app.send(req).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(rows, 0);
}

#[sqlx::test(migrator = "jobs::db::MIGRATOR")]
async fn malformed_json_and_unknown_routes_are_problems_too(pool: PgPool) {
    let app = TestApp::new(pool);
    let key = app.key("acme", Role::Operator).await;
    let (status, body, resp) = app
        .call(
            Method::POST,
            "/api/v1/jobs",
            Some(&key),
            Some(r#"{"kind": "#),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_problem(&resp, &body, status);

    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/jobs".parse().unwrap())
        .header("x-api-key", &key)
        .content_type("text/plain")
        .body(r#"{"kind":"noop"}"#);
    let (status, _) = app.send(req).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a body that is not JSON");

    let (status, body, resp) = app
        .call(Method::GET, "/api/v1/nothing-here", Some(&key), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_problem(&resp, &body, status);
    let (status, body, resp) = app
        .call(Method::PUT, "/api/v1/jobs", Some(&key), None)
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_problem(&resp, &body, status);
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    assert_eq!(resp.headers()["cache-control"], "no-store");
}
