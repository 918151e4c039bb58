//! The api under a hostile (or merely crowded) internet: who the client is behind a proxy, bad
//! keys that must not lock out good ones, streams that end and are capped, a `/metrics` that
//! costs the database little however often it is scraped, and a revocation that bites at once.

use std::{net::IpAddr, time::Duration};

use e2e::{App, bin, spawn_app, spawn_app_with, wait_until};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(10);

/// A client whose connections come from `ip` (any 127.0.0.0/8 address is local).
fn client_from(ip: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::from(ip))
        .build()
        .unwrap()
}

async fn get_jobs(
    client: &reqwest::Client,
    app: &App,
    key: Option<&str>,
    forwarded_for: Option<&str>,
) -> reqwest::Response {
    let mut req = client.get(format!("{}/api/v1/jobs", app.base));
    if let Some(key) = key {
        req = req.header("X-API-Key", key);
    }
    if let Some(xff) = forwarded_for {
        req = req.header("X-Forwarded-For", xff);
    }
    req.send().await.unwrap()
}

fn bad_key(n: u8) -> String {
    format!("df_{}", char::from(b'0' + n).to_string().repeat(64))
}

#[tokio::test]
async fn a_valid_key_is_never_refused_for_bad_keys_from_its_address() {
    let app = spawn_app_with(&[("BAD_KEY_LIMIT", "5"), ("BAD_KEY_COOLDOWN_SECS", "60")]).await;
    let client = reqwest::Client::new();
    for n in 0..5 {
        let res = get_jobs(&client, &app, Some(&bad_key(n)), None).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    // The address cools off: bad keys and requests without a key get 429 ...
    let res = get_jobs(&client, &app, Some(&bad_key(7)), None).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));
    assert_eq!(
        get_jobs(&client, &app, None, None).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // ... but a valid key from the same address still answers, a fresh one included (not cached).
    assert_eq!(
        get_jobs(&client, &app, Some(&app.key), None).await.status(),
        StatusCode::OK
    );
    let fresh = app.create_key("acme", "viewer").await;
    assert_eq!(
        get_jobs(&client, &app, Some(&fresh), None).await.status(),
        StatusCode::OK
    );
    let res = client
        .get(format!("{}/api/v1/jobs", app.base))
        .header("Authorization", format!("Bearer {}", app.key))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "as a bearer token too");
    // And the garbage is still throttled.
    assert_eq!(
        get_jobs(&client, &app, Some(&bad_key(8)), None)
            .await
            .status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

async fn audited_client(app: &App, request_id: &str) -> Value {
    let row: Option<String> = sqlx::query_scalar(
        "SELECT client_addr FROM audit_log WHERE request_id = $1 AND action = 'job.create'",
    )
    .bind(request_id)
    .fetch_optional(&app.pool)
    .await
    .unwrap();
    row.map_or(Value::Null, Value::String)
}

async fn enqueue_from(
    client: &reqwest::Client,
    app: &App,
    request_id: &str,
    forwarded_for: &str,
) -> StatusCode {
    client
        .post(format!("{}/api/v1/jobs", app.base))
        .header("X-API-Key", &app.key)
        .header("X-Request-Id", request_id)
        .header("X-Forwarded-For", forwarded_for)
        .json(&json!({"kind": "noop"}))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn forwarded_for_names_the_client_only_when_a_trusted_proxy_sends_it() {
    // 127.0.0.2 plays the load balancer; 127.0.0.1 is someone on the internet.
    let app = spawn_app_with(&[("TRUSTED_PROXIES", "127.0.0.2/32"), ("BAD_KEY_LIMIT", "3")]).await;
    let proxy = client_from([127, 0, 0, 2]);
    let direct = client_from([127, 0, 0, 1]);

    // The audit log records the client the proxy names; a direct caller cannot name one.
    assert_eq!(
        enqueue_from(&proxy, &app, "via-proxy", "198.51.100.99, 203.0.113.7").await,
        StatusCode::CREATED
    );
    assert_eq!(audited_client(&app, "via-proxy").await, "203.0.113.7");
    assert_eq!(
        enqueue_from(&direct, &app, "direct", "203.0.113.8").await,
        StatusCode::CREATED
    );
    assert_eq!(audited_client(&app, "direct").await, "127.0.0.1");
    // The request log says the same.
    app.api
        .wait_for_line(r#""remote_addr":"203.0.113.7""#, T)
        .await;

    // The bad-key throttle counts each client behind the proxy on its own ...
    for n in 0..3 {
        let res = get_jobs(&proxy, &app, Some(&bad_key(n)), Some("198.51.100.1")).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let cooling = get_jobs(&proxy, &app, Some(&bad_key(4)), Some("198.51.100.1")).await;
    assert_eq!(cooling.status(), StatusCode::TOO_MANY_REQUESTS);
    // ... so a neighbour behind the same proxy is not cooling off,
    let neighbour = get_jobs(&proxy, &app, Some(&bad_key(5)), Some("198.51.100.2")).await;
    assert_eq!(neighbour.status(), StatusCode::UNAUTHORIZED);
    // and the cooling client cannot slip out by writing another address in front.
    let forged = get_jobs(
        &proxy,
        &app,
        Some(&bad_key(6)),
        Some("198.51.100.3, 198.51.100.1"),
    )
    .await;
    assert_eq!(forged.status(), StatusCode::TOO_MANY_REQUESTS);
    // A direct caller naming the cooling client is judged by its own address.
    let direct_res = get_jobs(&direct, &app, Some(&bad_key(7)), Some("198.51.100.1")).await;
    assert_eq!(direct_res.status(), StatusCode::UNAUTHORIZED);

    // A list the api cannot read stops it at start, naming the variable.
    let out = tokio::process::Command::new(bin("api"))
        .arg("serve")
        .env("DATABASE_URL", &app.db.url)
        .env("PORT", "0")
        .env("TRUSTED_PROXIES", "10.0.0.0/8,lb.internal")
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("TRUSTED_PROXIES") && stderr.contains("lb.internal"),
        "{stderr}"
    );
}

/// Opens `/stream` with `key`.
async fn open_stream(app: &App, key: &str) -> reqwest::Response {
    app.http
        .get(format!("{}/api/v1/stream?interval_ms=250", app.base))
        .header("X-API-Key", key)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn streams_are_capped_per_key_and_tenant_and_end_at_their_longest_life() {
    let app = spawn_app_with(&[
        ("STREAM_MAX_PER_KEY", "1"),
        ("STREAM_MAX_PER_TENANT", "2"),
        ("STREAM_MAX_LIFETIME_SECS", "2"),
    ])
    .await;
    let mut first = open_stream(&app, &app.key).await;
    assert_eq!(first.status(), StatusCode::OK);
    let refused = open_stream(&app, &app.key).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );
    let second_key = app.create_key("acme", "viewer").await;
    let second = open_stream(&app, &second_key).await;
    assert_eq!(second.status(), StatusCode::OK);
    let third_key = app.create_key("acme", "viewer").await;
    let body: Value = open_stream(&app, &third_key).await.json().await.unwrap();
    assert_eq!(body["status"], 429, "the tenant's cap: {body}");
    assert!(
        body["detail"].as_str().unwrap().contains("tenant"),
        "{body}"
    );
    // Another tenant has its own.
    let other = app.create_key("globex", "viewer").await;
    assert_eq!(open_stream(&app, &other).await.status(), StatusCode::OK);

    // The stream ends by itself after its longest life (the client would reconnect).
    let started = tokio::time::Instant::now();
    let mut events = 0;
    while let Some(chunk) = tokio::time::timeout(T, first.chunk())
        .await
        .expect("the stream ends within 10 s")
        .unwrap()
    {
        events += String::from_utf8_lossy(&chunk).matches("data: ").count();
    }
    assert!(events >= 2, "{events} snapshots before the end");
    assert!(started.elapsed() < T);
    // Its slot is back: the key may open a stream again.
    wait_until("the key's stream slot to come back", T, async || {
        open_stream(&app, &app.key).await.status() == StatusCode::OK
    })
    .await;
    drop(second);
}

/// `jobs_queue_depth{kind="noop",state="available"}` as `/metrics` shows it now.
async fn noop_depth(app: &App) -> Option<f64> {
    let text = app.metrics().await;
    text.lines()
        .find(|l| {
            l.starts_with("jobs_queue_depth{")
                && l.contains(r#"kind="noop""#)
                && l.contains(r#"state="available""#)
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn metrics_scrapes_read_the_queue_depth_at_most_every_few_seconds() {
    let app = spawn_app().await;
    assert_eq!(noop_depth(&app).await, Some(0.0));
    app.enqueue(json!({"kind": "noop"})).await;
    // Scraped again at once: the value read a moment ago, not a new query ...
    assert_eq!(noop_depth(&app).await, Some(0.0));
    // ... until it is old enough (5 s), then the new depth.
    wait_until("the depth gauge to refresh", T, async || {
        noop_depth(&app).await == Some(1.0)
    })
    .await;
}

#[tokio::test]
async fn a_revoked_key_is_refused_at_once_by_the_api_that_revoked_it() {
    let app = spawn_app().await;
    let (status, created) = app
        .send(
            Method::POST,
            "/keys",
            Some(json!({"name": "ci", "role": "viewer"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let secret = created["key"].as_str().unwrap();
    let client = reqwest::Client::new();
    // Checked once, so cached as live.
    assert_eq!(
        get_jobs(&client, &app, Some(secret), None).await.status(),
        StatusCode::OK
    );
    let (status, _) = app
        .send(
            Method::DELETE,
            &format!("/keys/{}", created["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        get_jobs(&client, &app, Some(secret), None).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_operators_ceilings_bind_tenant_admins() {
    let app = spawn_app_with(&[
        ("TENANT_MAX_RATE_PER_SECOND", "10"),
        ("TENANT_MAX_KEYS", "1"),
        ("JOB_PRIORITY_MAX", "0"),
    ])
    .await;
    let (status, problem) = app
        .send(
            Method::PATCH,
            "/tenant",
            Some(json!({"rate_limit_per_second": 11})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["path"], "rate_limit_per_second");
    let (status, problem) = app
        .send(
            Method::POST,
            "/keys",
            Some(json!({"name": "second", "role": "viewer"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    let (status, problem) = app
        .send(
            Method::POST,
            "/jobs",
            Some(json!({"kind": "noop", "priority": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["path"], "priority");
    let (status, _) = app
        .send(
            Method::POST,
            "/jobs",
            Some(json!({"kind": "noop", "priority": -5})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "lowering one's own priority is fine"
    );
}
