//! Publishing, end to end: the real api and workers post to a Mastodon-compatible fake that
//! keeps one status per `Idempotency-Key`. A worker killed in the middle of a post leaves one
//! status on the server; an approval holds a post until an admin gives it; `publish_at` is
//! kept; hostile posts are refused as problems; the token never comes back out.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use e2e::{App, spawn_app_with, wait_until};
use reqwest::Method;
use serde_json::{Value, json};
use wiremock::{
    Mock, MockServer, Request, Respond, ResponseTemplate,
    matchers::{method, path},
};

const T: Duration = Duration::from_secs(60);
const TOKEN: &str = "e2e-access-token-XYZ";

/// Statuses by idempotency key; the first `slow` answers take 4 s (after the status exists).
#[derive(Clone, Default)]
struct Server {
    statuses: Arc<Mutex<HashMap<String, u64>>>,
    slow: Arc<Mutex<u32>>,
}

impl Respond for Server {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let key = request
            .headers
            .get("idempotency-key")
            .and_then(|k| k.to_str().ok())
            .unwrap_or("none")
            .to_owned();
        let mut statuses = self.statuses.lock().unwrap();
        let next = 1000 + statuses.len() as u64;
        let id = *statuses.entry(key).or_insert(next);
        let answer = ResponseTemplate::new(200)
            .insert_header("X-RateLimit-Remaining", "250")
            .set_body_json(
                json!({"id": id.to_string(), "url": format!("https://fake.social/@a/{id}")}),
            );
        let mut slow = self.slow.lock().unwrap();
        if *slow > 0 {
            *slow -= 1;
            return answer.set_delay(Duration::from_secs(4));
        }
        answer
    }
}

/// A request as another key.
fn keyed(app: &App, key: &str, m: Method, p: &str) -> reqwest::RequestBuilder {
    app.http
        .request(m, format!("{}/api/v1{p}", app.base))
        .header("X-API-Key", key)
}

async fn fake(slow: u32) -> (MockServer, Server) {
    let server = MockServer::start().await;
    let statuses = Server {
        slow: Arc::new(Mutex::new(slow)),
        ..Server::default()
    };
    Mock::given(method("POST"))
        .and(path("/api/v1/statuses"))
        .respond_with(statuses.clone())
        .mount(&server)
        .await;
    (server, statuses)
}

async fn account(app: &App, server: &MockServer, requires_approval: bool) -> String {
    let (status, created) = app
        .send(
            Method::POST,
            "/accounts",
            Some(
                json!({"name": "social", "base_url": server.uri(), "access_token": TOKEN,
                        "requires_approval": requires_approval, "rate_limit_per_min": 600}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert!(!created.to_string().contains(TOKEN));
    created["id"].as_str().unwrap().to_owned()
}

async fn post(app: &App, body: Value) -> Value {
    let (status, created) = app.send(Method::POST, "/posts", Some(body)).await;
    assert_eq!(status, 201, "{created}");
    created
}

async fn published(app: &App, id: &str) -> Value {
    wait_until(&format!("post {id} to be published"), T, async || {
        let (_, p) = app.send(Method::GET, &format!("/posts/{id}"), None).await;
        (p["state"] == "published").then_some(p)
    })
    .await
}

#[tokio::test]
async fn a_worker_killed_mid_publish_leaves_one_status_on_the_server() {
    let app = spawn_app_with(&[("ALLOW_PRIVATE_NETWORKS", "true")]).await;
    let (server, statuses) = fake(1).await;
    let account = account(&app, &server, false).await;
    let created = post(
        &app,
        json!({"account_id": account, "text": "Top signals this week"}),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let mut first = app.spawn_worker(&[]);
    wait_until("the first status request", T, async || {
        !server
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
    })
    .await;
    first.signal("KILL");
    let _ = first.wait_exit(Duration::from_secs(10)).await;
    let _second = app.spawn_worker(&[]);

    let p = published(&app, &id).await;
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2, "posted again after the rescue");
    assert_eq!(
        statuses.statuses.lock().unwrap().len(),
        1,
        "one status on the server"
    );
    assert_eq!(p["remote_id"], "1000");
    assert_eq!(p["remote_url"], "https://fake.social/@a/1000");
    for r in &requests {
        assert_eq!(
            r.headers.get("idempotency-key").unwrap().to_str().unwrap(),
            id
        );
        let auth = r.headers.get("authorization").unwrap().to_str().unwrap();
        assert_eq!(auth, format!("Bearer {TOKEN}"));
    }
    // The token is in no job, no log line, no answer.
    let args: Vec<Value> = sqlx::query_scalar("SELECT args FROM jobs")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert!(!format!("{args:?}").contains(TOKEN));
    assert!(!app.api.output().join("\n").contains(TOKEN));
}

#[tokio::test]
async fn an_approval_holds_a_post_and_publish_at_is_kept() {
    let app = spawn_app_with(&[("ALLOW_PRIVATE_NETWORKS", "true")]).await;
    let (server, _) = fake(0).await;
    let account = account(&app, &server, true).await;
    let _worker = app.spawn_worker(&[]);
    let at = chrono::Utc::now() + chrono::TimeDelta::seconds(3);
    let draft = post(
        &app,
        json!({"account_id": account, "text": "later", "publish_at": at}),
    )
    .await;
    assert_eq!(draft["state"], "draft");
    let id = draft["id"].as_str().unwrap();
    // An operator may write posts but not approve them.
    let operator = app.create_key("acme", "operator").await;
    let res = keyed(
        &app,
        &operator,
        Method::POST,
        &format!("/posts/{id}/approve"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(res.status(), 403);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        server.received_requests().await.unwrap().is_empty(),
        "a draft waits"
    );

    let (status, approved) = app
        .send(Method::POST, &format!("/posts/{id}/approve"), None)
        .await;
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["state"], "scheduled");
    let p = published(&app, id).await;
    let at_published: chrono::DateTime<chrono::Utc> =
        p["published_at"].as_str().unwrap().parse().unwrap();
    assert!(at_published >= at, "not before publish_at");
    let (status, _) = app
        .send(Method::DELETE, &format!("/posts/{id}"), None)
        .await;
    assert_eq!(
        status, 409,
        "a published post is deleted on the server, not here"
    );
}

#[tokio::test]
async fn hostile_posts_and_accounts_are_problems_and_other_tenants_see_nothing() {
    let app = spawn_app_with(&[]).await;
    // A private server is refused unless private networks are allowed.
    let (status, problem) = app
        .send(
            Method::POST,
            "/accounts",
            Some(json!({"name": "x", "base_url": "https://10.1.2.3", "access_token": "t"})),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["path"], "base_url");
    let (status, created) = app
        .send(
            Method::POST,
            "/accounts",
            Some(
                json!({"name": "x", "base_url": "https://mastodon.example", "access_token": TOKEN}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let account = created["id"].as_str().unwrap().to_owned();
    let cases = [
        (
            json!({"account_id": account, "text": "x".repeat(100_000)}),
            "text",
        ),
        (
            json!({"account_id": account, "text": "nul \u{0} here"}),
            "text",
        ),
        (
            json!({"account_id": account, "text": "hi", "visibility": "world"}),
            "visibility",
        ),
        (
            json!({"account_id": account, "text": "hi",
                "media": [{"content_type": "image/png", "data": "%%%"}]}),
            "media[0].data",
        ),
        (
            json!({"account_id": account, "text": "hi",
                "media": [{"content_type": "text/html", "data": "PGI+"}]}),
            "media[0].content_type",
        ),
        (json!({"account_id": account, "text": 5}), "text"),
    ];
    for (body, field) in cases {
        let res = app
            .request(Method::POST, "/posts")
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let kind = res.headers()["content-type"].to_str().unwrap().to_owned();
        let problem: Value = res.json().await.unwrap();
        assert_eq!(status, 422, "{field}: {problem}");
        assert!(kind.starts_with("application/problem+json"));
        assert_eq!(problem["errors"][0]["path"], field, "{problem}");
    }
    let res = app
        .request(Method::POST, "/posts")
        .header("content-type", "application/json")
        .body(vec![0u8; 64])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let (_, listed) = app.send(Method::GET, "/accounts", None).await;
    assert!(!listed.to_string().contains(TOKEN));

    let other = app.create_key("globex", "admin").await;
    let res = keyed(&app, &other, Method::GET, &format!("/accounts/{account}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let res = keyed(&app, &other, Method::POST, "/posts")
        .json(&json!({"account_id": account, "text": "not yours"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let viewer = app.create_key("acme", "viewer").await;
    let res = keyed(&app, &viewer, Method::POST, "/accounts")
        .json(&json!({"name": "v", "base_url": "https://m.example", "access_token": "t"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
}
