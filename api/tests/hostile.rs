//! A hostile (or merely careless) caller, in-process against a fresh database per test: open
//! streams are capped and share their snapshots, the operator's ceilings hold, a revoked key is
//! refused at once, and signed endpoints refuse without saying whether the id exists.

use std::time::Duration;

use api::{
    app::{self, AppParts, AppState},
    metrics::Metrics,
    settings::Access,
    streams::StreamLimits,
};
use futures::StreamExt;
use jobs::{auth::Role, tenants::Ceilings};
use metrics_exporter_prometheus::PrometheusBuilder;
use poem::{
    Endpoint, EndpointExt, Request, Response,
    endpoint::BoxEndpoint,
    http::{Method, StatusCode},
};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use sqlx::PgPool;

struct TestApp {
    ep: BoxEndpoint<'static>,
    state: AppState,
    pool: PgPool,
}

impl TestApp {
    fn new(pool: PgPool, access: Access) -> Self {
        jobs::secrets::install_for_tests();
        let state = AppState::new(pool.clone(), &access);
        let parts = AppParts {
            state: state.clone(),
            metrics: Metrics::new(PrometheusBuilder::new().build_recorder().handle()),
            max_body_bytes: 64 * 1024,
            cors_origins: Vec::new(),
        };
        Self {
            ep: app::build(parts).boxed(),
            state,
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

    /// The raw response (for streams).
    async fn open(&self, method: Method, path: &str, key: Option<&str>) -> Response {
        let mut req = Request::builder().method(method).uri(path.parse().unwrap());
        if let Some(key) = key {
            req = req.header("x-api-key", key);
        }
        self.ep.get_response(req.finish()).await
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        headers: &[(&str, String)],
        body: Option<&[u8]>,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(path.parse().unwrap());
        if let Some(key) = key {
            req = req.header("x-api-key", key);
        }
        for (name, value) in headers {
            req = req.header(*name, value.as_str());
        }
        let req = match body {
            Some(b) => req
                .content_type("application/json")
                .header("content-length", b.len())
                .body(b.to_vec()),
            None => req.finish(),
        };
        let mut resp = self.ep.get_response(req).await;
        let bytes = resp.take_body().into_vec().await.unwrap();
        (
            resp.status(),
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn json(
        &self,
        method: Method,
        path: &str,
        key: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        let body = body.to_string();
        self.call(method, path, Some(key), &[], Some(body.as_bytes()))
            .await
    }
}

/// Reads `n` SSE `data:` payloads from a stream's body.
async fn read_events(resp: Response, n: usize) -> Vec<Value> {
    let mut body = resp.into_body().into_bytes_stream();
    let mut text = String::new();
    let mut events = Vec::new();
    while events.len() < n {
        let chunk = tokio::time::timeout(Duration::from_secs(10), body.next())
            .await
            .expect("an event within 10 s")
            .expect("the stream goes on")
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = text.find("\n\n") {
            let event: String = text.drain(..end + 2).collect();
            if let Some(data) = event.lines().find_map(|l| l.strip_prefix("data: ")) {
                events.push(serde_json::from_str(data).unwrap());
            }
        }
    }
    events
}

async fn start_run(app: &TestApp, key: &str) -> String {
    let (status, wf) = app
        .json(
            Method::POST,
            "/api/v1/workflows",
            key,
            json!({"name": "w", "definition": {"steps": [{"name": "a", "kind": "noop"}]}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{wf}");
    let (status, run) = app
        .json(
            Method::POST,
            &format!("/api/v1/workflows/{}/runs", wf["id"].as_str().unwrap()),
            key,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{run}");
    run["id"].as_str().unwrap().to_owned()
}

fn assert_stream_refused(resp: &Response) {
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        resp.headers()["content-type"],
        "application/problem+json",
        "a problem"
    );
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);
}

#[sqlx::test(migrator = "jobs::db::MIGRATOR")]
async fn a_key_and_its_tenant_hold_a_capped_number_of_streams(pool: PgPool) {
    let app = TestApp::new(
        pool,
        Access {
            streams: StreamLimits {
                per_key: 2,
                per_tenant: 3,
                ..StreamLimits::default()
            },
            ..Access::default()
        },
    );
    let a = app.key("acme", Role::Admin).await;
    let b = app.key("acme", Role::Viewer).await;
    let run = start_run(&app, &a).await;
    let events = format!("/api/v1/runs/{run}/events");
    // Both kinds of stream count.
    let a1 = app.open(Method::GET, "/api/v1/stream", Some(&a)).await;
    let a2 = app.open(Method::GET, &events, Some(&a)).await;
    assert_eq!((a1.status(), a2.status()), (StatusCode::OK, StatusCode::OK));
    assert_stream_refused(&app.open(Method::GET, "/api/v1/stream", Some(&a)).await);
    assert_stream_refused(&app.open(Method::GET, &events, Some(&a)).await);
    // Another key of the tenant: one more, then the tenant's cap.
    let b1 = app.open(Method::GET, "/api/v1/stream", Some(&b)).await;
    assert_eq!(b1.status(), StatusCode::OK);
    assert_stream_refused(&app.open(Method::GET, "/api/v1/stream", Some(&b)).await);
    // Another tenant is not affected.
    let c = app.key("globex", Role::Viewer).await;
    let c1 = app.open(Method::GET, "/api/v1/stream", Some(&c)).await;
    assert_eq!(c1.status(), StatusCode::OK);
    assert_eq!(app.state.streams.open_count(), 4);
    // A client that goes away gives its slot back.
    drop(a1);
    assert_eq!(app.state.streams.open_count(), 3);
    let again = app.open(Method::GET, "/api/v1/stream", Some(&a)).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert!(read_events(again, 1).await[0]["queues"].is_array());
    drop((a2, b1, c1));
}

#[sqlx::test(migrator = "jobs::db::MIGRATOR")]
async fn the_streams_of_a_tenant_share_their_snapshots(pool: PgPool) {
    const STREAMS: usize = 8;
    const EVENTS: usize = 3;
    let app = TestApp::new(pool, Access::default());
    let key = app.key("acme", Role::Viewer).await;
    let mut opened = Vec::new();
    for _ in 0..STREAMS {
        let resp = app
            .open(Method::GET, "/api/v1/stream?interval_ms=250", Some(&key))
            .await;
        assert_eq!(resp.status(), StatusCode::OK);
        opened.push(resp);
    }
    let all = futures::future::join_all(opened.into_iter().map(|r| read_events(r, EVENTS))).await;
    assert!(all.iter().all(|events| events.len() == EVENTS));
    // Each stream alone would read the queues and the workers at every tick: 48 reads. Shared,
    // it is one pair per 250 ms window (the events span about three).
    let reads = app.state.fleet.reads();
    assert!(
        reads <= 2 * (EVENTS as u64 + 2),
        "{reads} reads for {STREAMS} streams of {EVENTS} events"
    );
}

#[sqlx::test(migrator = "jobs::db::MIGRATOR")]
async fn a_revoked_key_is_refused_at_once_by_the_process_that_revoked_it(pool: PgPool) {
    let app = TestApp::new(pool, Access::default());
    let admin = app.key("acme", Role::Admin).await;
    let (status, created) = app
        .json(
            Method::POST,
            "/api/v1/keys",
            &admin,
            json!({"name": "ci", "role": "viewer"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let secret = created["key"].as_str().unwrap();
    // Checked, so cached as live.
    let (status, _) = app
        .call(Method::GET, "/api/v1/jobs", Some(secret), &[], None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/keys/{}", created["id"].as_str().unwrap()),
            Some(&admin),
            &[],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .call(Method::GET, "/api/v1/jobs", Some(secret), &[], None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "at once, not within 5 s");
    // The admin's own key is still cached and still works.
    let (status, _) = app
        .call(Method::GET, "/api/v1/jobs", Some(&admin), &[], None)
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[sqlx::test(migrator = "jobs::db::MIGRATOR")]
async fn a_tenant_admin_cannot_exceed_the_operators_ceilings(pool: PgPool) {
    let app = TestApp::new(
        pool,
        Access {
            ceilings: Ceilings {
                max_rate_per_second: 100,
                max_burst: 200,
                max_keys: 3,
                max_priority: 10,
            },
            ..Access::default()
        },
    );
    let admin = app.key("acme", Role::Admin).await;

    // Rates: above a ceiling, a 422 naming the field and the ceiling; at it, fine.
    for (field, over) in [
        ("rate_limit_per_second", 101),
        ("rate_limit_burst", 100_000),
    ] {
        let (status, problem) = app
            .json(
                Method::PATCH,
                "/api/v1/tenant",
                &admin,
                json!({ field: over }),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert_eq!(problem["errors"][0]["path"], field);
        let ceiling = if field == "rate_limit_burst" {
            "200"
        } else {
            "100"
        };
        assert!(
            problem["detail"].as_str().unwrap().contains(ceiling),
            "{problem}"
        );
    }
    let (status, _) = app
        .json(
            Method::PATCH,
            "/api/v1/tenant",
            &admin,
            json!({"rate_limit_per_second": 100, "rate_limit_burst": 200}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // A value stored above the ceiling (before it was lowered) counts as the ceiling.
    sqlx::query("UPDATE tenants SET rate_limit_burst = 100000")
        .execute(&app.pool)
        .await
        .unwrap();
    app.state
        .limits
        .forget_tenant(
            sqlx::query_scalar("SELECT id FROM tenants WHERE name = 'acme'")
                .fetch_one(&app.pool)
                .await
                .unwrap(),
        )
        .await;
    let resp = app.open(Method::GET, "/api/v1/jobs", Some(&admin)).await;
    assert_eq!(resp.headers()["ratelimit-limit"], "200");

    // Keys: the tenant holds one; two more, then a 409.
    for i in 0..2 {
        let (status, body) = app
            .json(
                Method::POST,
                "/api/v1/keys",
                &admin,
                json!({"name": format!("k{i}"), "role": "viewer"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, problem) = app
        .json(
            Method::POST,
            "/api/v1/keys",
            &admin,
            json!({"name": "one too many", "role": "viewer"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("(3)"),
        "{problem}"
    );

    // Priority: refused above the ceiling (not clamped), alone and in a batch.
    let (status, problem) = app
        .json(
            Method::POST,
            "/api/v1/jobs",
            &admin,
            json!({"kind": "noop", "priority": 11}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["path"], "priority");
    assert!(
        problem["detail"].as_str().unwrap().contains("10"),
        "{problem}"
    );
    let (status, problem) = app
        .json(
            Method::POST,
            "/api/v1/jobs/batch",
            &admin,
            json!({"jobs": [{"kind": "noop", "priority": 10}, {"kind": "noop", "priority": 50}]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["path"], "jobs[1].priority");
    let (status, job) = app
        .json(
            Method::POST,
            "/api/v1/jobs",
            &admin,
            json!({"kind": "noop", "priority": 10}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    assert_eq!(job["priority"], 10);
}

#[sqlx::test(migrator = "jobs::db::MIGRATOR")]
async fn unknown_and_known_webhooks_and_push_sources_refuse_alike(pool: PgPool) {
    let app = TestApp::new(pool, Access::default());
    let admin = app.key("acme", Role::Admin).await;
    let body = br#"{"lead": "x"}"#;
    let now = chrono::Utc::now();
    let stale = now - chrono::Duration::minutes(10);

    let (_, wf) = app
        .json(
            Method::POST,
            "/api/v1/workflows",
            &admin,
            json!({"name": "w", "definition": {"steps": [{"name": "a", "kind": "noop"}]}}),
        )
        .await;
    let (status, hook) = app
        .json(
            Method::POST,
            &format!("/api/v1/workflows/{}/webhook", wf["id"].as_str().unwrap()),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{hook}");
    let secret = hook["secret"].as_str().unwrap();
    let known = format!("/api/v1/hooks/{}", hook["webhook"]["id"].as_str().unwrap());
    let unknown = format!("/api/v1/hooks/{}", uuid::Uuid::now_v7());
    let sig = |s: &str, at| vec![("x-demandflow-signature", jobs::signing::sign(s, at, body))];
    let mut answers = Vec::new();
    for (path, headers) in [
        (&known, vec![]),
        (&known, sig("whsec_not_the_secret", now)),
        (&known, sig(secret, stale)),
        (
            &known,
            vec![("x-demandflow-signature", "t=1,v1=zz".to_owned())],
        ),
        (&unknown, vec![]),
        (&unknown, sig(secret, now)),
    ] {
        answers.push(
            app.call(Method::POST, path, None, &headers, Some(body))
                .await,
        );
    }
    assert_eq!(answers[0].0, StatusCode::UNAUTHORIZED, "{:?}", answers[0]);
    assert!(
        answers.iter().all(|a| a == &answers[0]),
        "every refusal is the same: {answers:#?}"
    );

    let push_body = br#"{"items": [{"title": "hello"}]}"#;
    let source = |b: Value| app.json(Method::POST, "/api/v1/sources", &admin, b);
    let (status, signed) = source(json!({"kind": "push", "secret": "whsec_test_0123456789"})).await;
    assert_eq!(status, StatusCode::CREATED, "{signed}");
    let (_, open) = source(json!({"kind": "push"})).await;
    let push = |id: &str| format!("/api/v1/sources/{id}/signals");
    let known = push(signed["id"].as_str().unwrap());
    let psig = |s: &str, at| {
        vec![(
            "x-demandflow-signature",
            jobs::signing::sign(s, at, push_body),
        )]
    };
    let mut answers = Vec::new();
    for (path, headers) in [
        (known.clone(), vec![]),
        (known.clone(), psig("wrong-secret-value!!", now)),
        (known.clone(), psig("whsec_test_0123456789", stale)),
        (push(&uuid::Uuid::now_v7().to_string()), vec![]),
        (
            push(&uuid::Uuid::now_v7().to_string()),
            psig("whsec_test_0123456789", now),
        ),
        (push(open["id"].as_str().unwrap()), psig("anything", now)),
    ] {
        answers.push(
            app.call(Method::POST, &path, None, &headers, Some(push_body))
                .await,
        );
    }
    assert_eq!(answers[0].0, StatusCode::UNAUTHORIZED, "{:?}", answers[0]);
    assert!(
        answers.iter().all(|a| a == &answers[0]),
        "every refusal is the same: {answers:#?}"
    );
    // Signed correctly, it is accepted.
    let (status, report) = app
        .call(
            Method::POST,
            &known,
            None,
            &psig("whsec_test_0123456789", now),
            Some(push_body),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
}
