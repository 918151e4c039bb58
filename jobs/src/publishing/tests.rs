//! Publishing against a Mastodon-compatible fake: a wiremock server whose statuses endpoint
//! honours `Idempotency-Key` (the same key gets the same status, creations are counted), sends
//! `X-RateLimit-*` headers, and answers 429, 422, 401, 500 or hangs when told to.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
    time::Duration,
};

use chrono::Utc;
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;
use wiremock::{
    Mock, MockServer, Request, Respond, ResponseTemplate,
    matchers::{header, method, path},
};

use super::{
    PostState,
    accounts::{self, AccountInput},
    posts::{self, NewPost},
};
use crate::{
    audit::Actor,
    kinds::{
        Backoff,
        deliver::DeliverySettings,
        publish_post::{self, PublishContext, PublishPost},
    },
    publishing::mastodon::Mastodon,
    queue::{JobContext, JobError},
    secrets,
    sources::hosts::HostPolicy,
};

/// What the fake does with the next status request.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Next {
    /// Creates (or replays) and answers 200.
    Ok,
    /// Creates (or replays) but answers 500: a lost answer.
    CreateThen500,
    /// 429 with a reset in 30 s.
    TooMany,
    /// 422 with Mastodon's error.
    Invalid,
    /// 401.
    Unauthorized,
    /// Creates, then takes 30 s to answer.
    Hang,
}

#[derive(Default)]
struct State {
    by_key: HashMap<String, String>,
    creations: usize,
    script: VecDeque<Next>,
    remaining: u32,
}

#[derive(Clone, Default)]
struct Fake(Arc<Mutex<State>>);

impl Fake {
    fn creations(&self) -> usize {
        self.0.lock().unwrap().creations
    }
    fn then(&self, next: Next) {
        self.0.lock().unwrap().script.push_back(next);
    }
    fn remaining(&self, n: u32) {
        self.0.lock().unwrap().remaining = n;
    }
}

impl Respond for Fake {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut s = self.0.lock().unwrap();
        let next = s.script.pop_front().unwrap_or(Next::Ok);
        let reset = (Utc::now() + chrono::TimeDelta::seconds(30)).to_rfc3339();
        let remaining = s.remaining.to_string();
        let rated = |t: ResponseTemplate| {
            t.insert_header("X-RateLimit-Limit", "300")
                .insert_header("X-RateLimit-Remaining", remaining.as_str())
                .insert_header("X-RateLimit-Reset", reset.as_str())
        };
        match next {
            Next::TooMany => {
                return rated(
                    ResponseTemplate::new(429).set_body_json(json!({"error": "Too many requests"})),
                );
            }
            Next::Invalid => {
                return rated(ResponseTemplate::new(422).set_body_json(
                    json!({"error": "Validation failed: Text character limit of 500 exceeded"}),
                ));
            }
            Next::Unauthorized => {
                return ResponseTemplate::new(401)
                    .set_body_json(json!({"error": "The access token is invalid"}));
            }
            _ => {}
        }
        let key = request
            .headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .unwrap_or_else(|| Uuid::new_v4().to_string());
        let created = s.creations + 1;
        let id = s
            .by_key
            .entry(key)
            .or_insert_with(|| format!("1099{created}"))
            .clone();
        s.creations = s.by_key.len();
        let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
        let status = json!({ "id": id, "url": format!("https://social.example/@df/{id}"),
                             "content": body["status"], "visibility": body["visibility"],
                             "media_attachments": body["media_ids"] });
        match next {
            Next::CreateThen500 => ResponseTemplate::new(500).set_body_string("oops"),
            Next::Hang => ResponseTemplate::new(200)
                .set_body_json(status)
                .set_delay(Duration::from_secs(30)),
            _ => rated(ResponseTemplate::new(200).set_body_json(status)),
        }
    }
}

struct Setup {
    pool: PgPool,
    tenant: Uuid,
    account: Uuid,
    server: MockServer,
    fake: Fake,
    ctx: PublishContext,
}

async fn setup(pool: PgPool, requires_approval: bool) -> Setup {
    secrets::install_for_tests();
    let tenant = Uuid::now_v7();
    sqlx::query("INSERT INTO tenants (id, name) VALUES ($1, $2)")
        .bind(tenant)
        .bind(format!("t-{tenant}"))
        .execute(&pool)
        .await
        .unwrap();
    let server = MockServer::start().await;
    let fake = Fake::default();
    fake.remaining(299);
    Mock::given(method("POST"))
        .and(path("/api/v1/statuses"))
        .and(header("authorization", "Bearer tok-SECRET-123"))
        .respond_with(fake.clone())
        .mount(&server)
        .await;
    let input = AccountInput::parse_new(
        json!({ "name": "df", "base_url": server.uri(), "access_token": "tok-SECRET-123",
                "requires_approval": requires_approval, "rate_limit_per_min": 6000 }),
        true,
    )
    .unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let account = accounts::create(&mut conn, tenant, &Actor::default(), input)
        .await
        .unwrap()
        .id;
    let ctx = PublishContext {
        pool: pool.clone(),
        client: Arc::new(Mastodon::new(true)),
        settings: DeliverySettings::default(),
        policy: HostPolicy::default(),
        media_wait: Duration::from_secs(3),
    };
    Setup {
        pool,
        tenant,
        account,
        server,
        fake,
        ctx,
    }
}

impl Setup {
    async fn post(&self, extra: Value) -> posts::Post {
        let mut body = json!({ "account_id": self.account, "text": "Weekly digest: 3 new leads" });
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        let new = NewPost::parse(body, Utc::now()).unwrap();
        let mut tx = self.pool.begin().await.unwrap();
        let post = posts::create(&mut tx, self.tenant, &Actor::default(), new, None)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        post
    }

    fn job(&self, attempt: i32) -> JobContext {
        JobContext {
            id: Uuid::now_v7(),
            tenant_id: self.tenant,
            kind: "publish_post",
            attempt,
            max_attempts: 8,
            timeout: Duration::from_secs(60),
            correlation_id: None,
            cancel: Default::default(),
            backoff: Backoff {
                base: Duration::from_millis(100),
                cap: Duration::from_millis(100),
            },
        }
    }

    async fn run(&self, post: Uuid, attempt: i32) -> Result<Value, JobError> {
        publish_post::run(&PublishPost::of(post), &self.job(attempt), &self.ctx).await
    }

    async fn get(&self, id: Uuid) -> posts::Post {
        let mut conn = self.pool.acquire().await.unwrap();
        posts::get(&mut conn, self.tenant, id).await.unwrap()
    }

    async fn blocked_until(&self) -> Option<chrono::DateTime<Utc>> {
        sqlx::query_scalar("SELECT blocked_until FROM hosts WHERE host = $1")
            .bind(format!("account:{}", self.account))
            .fetch_optional(&self.pool)
            .await
            .unwrap()
            .flatten()
    }
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn a_post_is_published_once_under_retries_and_lost_answers(pool: PgPool) {
    let s = setup(pool, false).await;
    let post = s
        .post(json!({"visibility": "unlisted", "spoiler_text": "cw"}))
        .await;
    assert_eq!(post.state, PostState::Scheduled, "no approval needed");
    let job_id: Option<Uuid> = sqlx::query_scalar("SELECT job_id FROM posts WHERE id = $1")
        .bind(post.id)
        .fetch_one(&s.pool)
        .await
        .unwrap();
    let kind: String = sqlx::query_scalar("SELECT kind FROM jobs WHERE id = $1")
        .bind(job_id.unwrap())
        .fetch_one(&s.pool)
        .await
        .unwrap();
    assert_eq!(kind, "publish_post");

    // The server makes the status but the answer is lost: a retry with the same key.
    s.fake.then(Next::CreateThen500);
    let e = s.run(post.id, 1).await.unwrap_err();
    assert!(matches!(e, JobError::Retry { .. }), "{e:?}");
    assert_eq!(s.get(post.id).await.state, PostState::Scheduled);
    let out = s.run(post.id, 2).await.unwrap();
    assert_eq!(
        s.fake.creations(),
        1,
        "the Idempotency-Key made it one status"
    );
    let published = s.get(post.id).await;
    assert_eq!(published.state, PostState::Published);
    assert_eq!(published.remote_id.as_deref(), out["remote_id"].as_str());
    assert!(
        published
            .remote_url
            .unwrap()
            .starts_with("https://social.example/@df/")
    );
    // A late duplicate job sends nothing at all.
    let before = s.server.received_requests().await.unwrap().len();
    let out = s.run(post.id, 1).await.unwrap();
    assert_eq!(out["skipped"], "published already");
    assert_eq!(s.server.received_requests().await.unwrap().len(), before);
    // What went out: the key, the visibility, the content warning; never the token in a row.
    let requests = s.server.received_requests().await.unwrap();
    let key = requests[0].headers.get("idempotency-key").unwrap();
    assert_eq!(key.to_str().unwrap(), post.id.to_string());
    let sent: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(sent["visibility"], "unlisted");
    assert_eq!(sent["spoiler_text"], "cw");
    let stored: String = sqlx::query_scalar("SELECT token FROM publish_accounts WHERE id = $1")
        .bind(s.account)
        .fetch_one(&s.pool)
        .await
        .unwrap();
    assert!(secrets::is_sealed(&stored) && !stored.contains("tok-SECRET"));
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn past_the_keys_hour_an_unrecorded_post_is_left_to_a_person(pool: PgPool) {
    let s = setup(pool, false).await;
    let post = s.post(json!({})).await;
    // A worker was killed mid-call an hour ago: it may have posted.
    sqlx::query("UPDATE posts SET posting_since = now() - interval '61 minutes' WHERE id = $1")
        .bind(post.id)
        .execute(&s.pool)
        .await
        .unwrap();
    let e = s.run(post.id, 2).await.unwrap_err();
    assert!(matches!(e, JobError::Permanent(ref m) if m.contains("may have been published")));
    assert_eq!(
        s.server.received_requests().await.unwrap().len(),
        0,
        "never posted blindly"
    );
    let failed = s.get(post.id).await;
    assert_eq!(failed.state, PostState::Failed);
    // Within the hour the same key covers a retry.
    let post = s.post(json!({})).await;
    sqlx::query("UPDATE posts SET posting_since = now() - interval '10 minutes' WHERE id = $1")
        .bind(post.id)
        .execute(&s.pool)
        .await
        .unwrap();
    s.run(post.id, 2).await.unwrap();
    assert_eq!(s.get(post.id).await.state, PostState::Published);
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn images_are_uploaded_once_and_polled_while_processed(pool: PgPool) {
    let s = setup(pool, false).await;
    Mock::given(method("POST"))
        .and(path("/api/v2/media"))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({"id": "777", "url": null})))
        .expect(1)
        .mount(&s.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/media/777"))
        .respond_with(ResponseTemplate::new(206).set_body_json(json!({"id": "777", "url": null})))
        .up_to_n_times(1)
        .mount(&s.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/media/777"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": "777", "url": "https://x/1.png"})),
        )
        .mount(&s.server)
        .await;
    let png = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        b"\x89PNG\r\n\x1a\nrest-of-image",
    );
    let post = s
        .post(
            json!({"media": [{"content_type": "image/png", "data": png, "description": "chart"}]}),
        )
        .await;
    assert_eq!(post.media_count, 1);
    s.fake.then(Next::CreateThen500);
    s.run(post.id, 1).await.unwrap_err();
    s.run(post.id, 2).await.unwrap();
    assert_eq!(s.fake.creations(), 1);
    let requests = s.server.received_requests().await.unwrap();
    let uploads: Vec<_> = requests
        .iter()
        .filter(|r| r.url.path() == "/api/v2/media")
        .collect();
    assert_eq!(uploads.len(), 1, "the retry did not upload again");
    let multipart = String::from_utf8_lossy(&uploads[0].body);
    assert!(multipart.contains("filename=\"image.png\"") && multipart.contains("chart"));
    let status = requests
        .iter()
        .rfind(|r| r.url.path() == "/api/v1/statuses")
        .unwrap();
    let sent: Value = serde_json::from_slice(&status.body).unwrap();
    assert_eq!(sent["media_ids"], json!(["777"]));
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn rate_limits_pause_the_account_for_every_worker(pool: PgPool) {
    let s = setup(pool, false).await;
    let post = s.post(json!({})).await;
    s.fake.then(Next::TooMany);
    let e = s.run(post.id, 1).await.unwrap_err();
    assert!(
        matches!(e, JobError::Snooze { .. }),
        "a 429 spends no attempt: {e:?}"
    );
    assert!(s.blocked_until().await.unwrap() > Utc::now() + chrono::TimeDelta::seconds(20));
    // While paused, the job snoozes without calling the server.
    let before = s.server.received_requests().await.unwrap().len();
    let e = s.run(post.id, 1).await.unwrap_err();
    assert!(matches!(e, JobError::Snooze { .. }), "{e:?}");
    assert_eq!(s.server.received_requests().await.unwrap().len(), before);
    assert_eq!(s.fake.creations(), 0);

    // A success that spends the window pauses the account until the reset, too.
    sqlx::query("UPDATE hosts SET blocked_until = NULL WHERE host = $1")
        .bind(format!("account:{}", s.account))
        .execute(&s.pool)
        .await
        .unwrap();
    s.fake.remaining(0);
    s.run(post.id, 1).await.unwrap();
    assert_eq!(s.get(post.id).await.state, PostState::Published);
    assert!(s.blocked_until().await.unwrap() > Utc::now() + chrono::TimeDelta::seconds(20));
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn refusals_fail_the_post_and_a_refused_token_disables_the_account(pool: PgPool) {
    let s = setup(pool, false).await;
    let post = s.post(json!({})).await;
    s.fake.then(Next::Invalid);
    let e = s.run(post.id, 1).await.unwrap_err();
    assert!(matches!(e, JobError::Permanent(_)), "{e:?}");
    let failed = s.get(post.id).await;
    assert_eq!(failed.state, PostState::Failed);
    assert!(failed.error.unwrap().contains("character limit of 500"));

    let post = s.post(json!({})).await;
    s.fake.then(Next::Unauthorized);
    s.run(post.id, 1).await.unwrap_err();
    assert_eq!(s.get(post.id).await.state, PostState::Failed);
    let mut conn = s.pool.acquire().await.unwrap();
    let account = accounts::get(&mut conn, s.tenant, s.account).await.unwrap();
    assert!(!account.enabled);
    assert!(account.disabled_reason.as_deref().unwrap().contains("401"));
    assert!(
        !serde_json::to_string(&account)
            .unwrap()
            .contains("tok-SECRET")
    );
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn server_errors_retry_until_the_attempts_run_out(pool: PgPool) {
    let s = setup(pool, false).await;
    let post = s.post(json!({})).await;
    s.fake.then(Next::CreateThen500);
    let e = s.run(post.id, 1).await.unwrap_err();
    assert!(
        matches!(e, JobError::Retry { retry_after: Some(d), .. } if d >= Duration::from_secs(4))
    );
    assert!(s.get(post.id).await.error.unwrap().contains("500"));
    s.fake.then(Next::CreateThen500);
    let e = s.run(post.id, 8).await.unwrap_err();
    assert!(
        matches!(e, JobError::Permanent(_)),
        "the last attempt: {e:?}"
    );
    let failed = s.get(post.id).await;
    assert_eq!(failed.state, PostState::Failed);
    assert!(failed.error.unwrap().contains("out of attempts"));
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn approval_holds_a_post_until_approved_then_schedules_it_at_its_time(pool: PgPool) {
    let s = setup(pool, true).await;
    let at = Utc::now() + chrono::TimeDelta::hours(2);
    let post = s.post(json!({ "publish_at": at })).await;
    assert_eq!(post.state, PostState::Draft);
    let jobs: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE tenant_id = $1")
        .bind(s.tenant)
        .fetch_one(&s.pool)
        .await
        .unwrap();
    assert_eq!(jobs, 0, "a draft has no job");
    // A job that runs anyway (a stale one) publishes nothing.
    let out = s.run(post.id, 1).await.unwrap();
    assert_eq!(out["skipped"], "the post is draft");

    let mut tx = s.pool.begin().await.unwrap();
    let approved = posts::approve(&mut tx, s.tenant, &Actor::default(), post.id)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(approved.state, PostState::Scheduled);
    assert!(approved.approved_at.is_some());
    let run_at: chrono::DateTime<Utc> = sqlx::query_scalar(
        "SELECT j.run_at FROM jobs j JOIN posts p ON p.job_id = j.id WHERE p.id = $1",
    )
    .bind(post.id)
    .fetch_one(&s.pool)
    .await
    .unwrap();
    assert!(
        (run_at - at).num_milliseconds().abs() < 5,
        "runs at publish_at"
    );
    // Approving twice is a conflict; a scheduled post is cancelled by deleting it.
    let mut conn = s.pool.acquire().await.unwrap();
    let again = posts::approve(&mut conn, s.tenant, &Actor::default(), post.id).await;
    assert!(matches!(again, Err(crate::DomainError::Conflict(_))));
    posts::delete(&mut conn, s.tenant, &Actor::default(), post.id)
        .await
        .unwrap();
    let out = s.run(post.id, 1).await.unwrap();
    assert_eq!(out["skipped"], "the post was deleted");
    assert_eq!(s.fake.creations(), 0);
    // Another tenant sees none of it.
    let other = posts::get(&mut conn, Uuid::now_v7(), post.id).await;
    assert!(matches!(other, Err(crate::DomainError::NotFound(_))));
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn a_post_being_published_cannot_be_deleted(pool: PgPool) {
    let s = setup(pool, false).await;
    let post = s.post(json!({})).await;
    s.fake.then(Next::Hang);
    let ctx = s.ctx.clone();
    let id = post.id;
    let job = s.job(1);
    let running =
        tokio::spawn(async move { publish_post::run(&PublishPost::of(id), &job, &ctx).await });
    tokio::time::sleep(Duration::from_millis(800)).await;
    let mut conn = s.pool.acquire().await.unwrap();
    let refused = posts::delete(&mut conn, s.tenant, &Actor::default(), post.id).await;
    assert!(
        matches!(refused, Err(crate::DomainError::Conflict(_))),
        "{refused:?}"
    );
    running.abort();
    assert_eq!(s.fake.creations(), 1);
}

#[test]
fn hostile_posts_are_refused_with_the_field_named() {
    let account = Uuid::now_v7();
    let now = Utc::now();
    let parse = |extra: Value| {
        let mut body = json!({ "account_id": account, "text": "hello" });
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        NewPost::parse(body, now)
    };
    let png =
        |bytes: &[u8]| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes);
    let cases = [
        (json!({"text": "x".repeat(501)}), "text"),
        (
            json!({"text": "x".repeat(490), "spoiler_text": "y".repeat(20)}),
            "text",
        ),
        (json!({"text": "   "}), "text"),
        (json!({"text": "a\u{0}b"}), "text"),
        (json!({"spoiler_text": "cw\u{7}"}), "spoiler_text"),
        (json!({"visibility": "everyone"}), "visibility"),
        (json!({"language": "english"}), "language"),
        (
            json!({"publish_at": now + chrono::TimeDelta::days(400)}),
            "publish_at",
        ),
        (json!({"extra": 1}), ""),
        (
            json!({"media": [{"content_type": "image/svg+xml", "data": png(b"<svg/>")}]}),
            "media[0].content_type",
        ),
        (
            json!({"media": [{"content_type": "image/png", "data": "!!not base64!!"}]}),
            "media[0].data",
        ),
        (
            json!({"media": [{"content_type": "image/png", "data": png(b"GIF89a...")}]}),
            "media[0].data",
        ),
        (
            json!({"media": [{"content_type": "image/png", "data": "A".repeat(2_000_000)}]}),
            "media[0].data",
        ),
        (
            json!({"media": [{"content_type": "image/gif", "data": png(b"GIF89a"), "description": "a\u{0}"}]}),
            "media[0].description",
        ),
        (
            json!({"media": vec![json!({"content_type": "image/gif", "data": png(b"GIF89a")}); 5]}),
            "media",
        ),
    ];
    for (extra, path) in cases {
        let e = parse(extra.clone()).expect_err(&extra.to_string());
        assert!(e.path.starts_with(path), "{extra}: {e:?}");
    }
    let ok = parse(
        json!({"text": "é".repeat(500), "language": "de", "visibility": "direct",
                         "publish_at": now - chrono::TimeDelta::minutes(1),
                         "media": [{"content_type": "image/gif", "data": png(b"GIF89a")}]}),
    )
    .unwrap();
    assert_eq!(ok.publish_at, None, "a past time is now");
    assert_eq!(ok.media[0].bytes, b"GIF89a");
}

#[test]
fn accounts_need_an_https_server_and_a_token_and_refuse_private_networks() {
    let parse = |v: Value| AccountInput::parse_new(v, false);
    let ok = json!({"name": "n", "base_url": "https://mastodon.example/", "access_token": "abc"});
    assert!(parse(ok.clone()).is_ok());
    let bad = [
        (
            json!({"name": "n", "base_url": "http://mastodon.example", "access_token": "abc"}),
            "base_url",
        ),
        (
            json!({"name": "n", "base_url": "https://10.0.0.1", "access_token": "abc"}),
            "base_url",
        ),
        (
            json!({"name": "n", "base_url": "https://127.0.0.1", "access_token": "abc"}),
            "base_url",
        ),
        (
            json!({"name": "n", "base_url": "https://m.example/api", "access_token": "abc"}),
            "base_url",
        ),
        (
            json!({"name": "n", "base_url": "https://m.example", "access_token": "a b"}),
            "access_token",
        ),
        (
            json!({"name": "n", "base_url": "https://m.example", "access_token": "x".repeat(600)}),
            "access_token",
        ),
        (
            json!({"name": "n", "base_url": "https://m.example"}),
            "access_token",
        ),
        (
            json!({"name": "\u{0}", "base_url": "https://m.example", "access_token": "a"}),
            "name",
        ),
        (
            json!({"name": "n", "base_url": "https://m.example", "access_token": "a", "rate_limit_per_min": 0}),
            "rate_limit_per_min",
        ),
    ];
    for (v, path) in bad {
        let e = parse(v.clone()).expect_err(&v.to_string());
        assert_eq!(e.path, path, "{v}");
        assert!(!e.message.contains("x".repeat(600).as_str()));
    }
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn reseal_covers_account_tokens(pool: PgPool) {
    use base64::{Engine, engine::general_purpose::STANDARD};
    let s = setup(pool, false).await;
    let ring = |spec: String| secrets::Keyring::parse(&secrecy::SecretString::from(spec)).unwrap();
    let old = ring(format!("old:{}", STANDARD.encode([1u8; 32])));
    let new = ring(format!(
        "new:{},old:{}",
        STANDARD.encode([2u8; 32]),
        STANDARD.encode([1u8; 32])
    ));
    sqlx::query("UPDATE publish_accounts SET token = $2 WHERE id = $1")
        .bind(s.account)
        .bind(old.seal(accounts::TOKEN_PURPOSE, "tok-rotated"))
        .execute(&s.pool)
        .await
        .unwrap();
    let done = crate::reseal::reseal_with(&s.pool, &new, 10).await.unwrap();
    assert_eq!(done.accounts, 1, "{done:?}");
    let stored: String = sqlx::query_scalar("SELECT token FROM publish_accounts WHERE id = $1")
        .bind(s.account)
        .fetch_one(&s.pool)
        .await
        .unwrap();
    assert!(stored.starts_with("enc:v1:new:"));
    use secrecy::ExposeSecret;
    assert_eq!(
        new.open(accounts::TOKEN_PURPOSE, &stored)
            .unwrap()
            .expose_secret(),
        "tok-rotated"
    );
    assert_eq!(
        crate::reseal::reseal_with(&s.pool, &new, 10)
            .await
            .unwrap()
            .accounts,
        0
    );
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn a_workflow_step_renders_its_digest_into_one_post_which_its_own_job_publishes(
    pool: PgPool,
) {
    let s = setup(pool, false).await;
    let step = PublishPost {
        post_id: None,
        account_id: Some(s.account),
        template: Some(
            "Top signals this week:\n{% for s in data.signals %}- {{ s.title }} ({{ s.score }})\n{% endfor %}"
                .into(),
        ),
        data: Some(json!({"signals": [
            {"title": "Heat pump quotes wanted", "score": 91},
            {"title": "Solar installer in Leeds?", "score": 84}
        ]})),
        visibility: Some(super::Visibility::Unlisted),
    };
    crate::kinds::parse_args::<PublishPost>(serde_json::to_value(&step).unwrap()).unwrap();
    let job = s.job(1);
    let first = publish_post::run(&step, &job, &s.ctx).await.unwrap();
    let again = publish_post::run(&step, &job, &s.ctx).await.unwrap();
    assert_eq!(first["post_id"], again["post_id"], "one post per step job");
    assert_eq!(first["state"], "scheduled");
    let id: Uuid = first["post_id"].as_str().unwrap().parse().unwrap();
    let post = s.get(id).await;
    assert_eq!(
        post.text,
        "Top signals this week:\n- Heat pump quotes wanted (91)\n- Solar installer in Leeds? (84)"
    );
    let jobs: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM jobs WHERE kind = 'publish_post' AND args->>'post_id' = $1",
    )
    .bind(id.to_string())
    .fetch_one(&s.pool)
    .await
    .unwrap();
    assert_eq!(jobs, 1, "the post's own job, enqueued once");
    s.run(id, 1).await.unwrap();
    assert_eq!(s.get(id).await.state, PostState::Published);
    assert_eq!(s.fake.creations(), 1);

    // A digest too long for a status is cut to 500 characters; bad steps are refused up front.
    let long = PublishPost {
        data: Some(json!({"signals": vec![json!({"title": "x".repeat(200), "score": 1}); 10]})),
        ..step.clone()
    };
    let out = publish_post::run(&long, &s.job(1), &s.ctx).await.unwrap();
    let id: Uuid = out["post_id"].as_str().unwrap().parse().unwrap();
    assert_eq!(s.get(id).await.text.chars().count(), 500);
    for bad in [
        json!({"account_id": s.account, "template": "{{ data.x }}"}),
        json!({"account_id": s.account, "template": "{{ 2 ** 64 }}", "data": {}}),
        json!({"post_id": id, "data": {}}),
        json!({}),
    ] {
        assert!(
            crate::kinds::parse_args::<PublishPost>(bad.clone()).is_err(),
            "{bad}"
        );
    }
}
