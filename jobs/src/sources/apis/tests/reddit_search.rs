//! `reddit_search` and the token step against fakes answering as Reddit documents them:
//! `POST /api/v1/access_token` → `{"access_token", "expires_in", …}`, and a `Listing` of
//! `children[].data` with `after`.

use wiremock::matchers::{basic_auth, bearer_token, body_string, header_regex};

use super::*;
use crate::sources::feed::Engagement;

const CLIENT_ID: &str = "p-jcoLKBynTLew";
const CLIENT_SECRET: &str = "gko_LXELoV07ZBNUXrvWZfzE3aI";

fn credentials() -> String {
    format!("{CLIENT_ID}:{CLIENT_SECRET}")
}

/// `n` in base 36, as Reddit writes ids.
fn b36(mut n: u64) -> String {
    let mut out = Vec::new();
    loop {
        out.push(char::from_digit((n % 36) as u32, 36).unwrap());
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.iter().rev().collect()
}

/// Post `n` (id `b36(n)`), created at `1_700_000_000 + n`.
fn post(n: u64) -> Value {
    let id = b36(n);
    json!({"kind": "t3", "data": {
        "id": id, "name": format!("t3_{id}"), "subreddit": "HomeImprovement",
        "title": format!("Roof <leak> {}", words(n, 5)), "selftext": words(n + 313, 24),
        "author": "homeowner", "permalink": format!("/r/HomeImprovement/comments/{id}/roof_leak/"),
        "url": format!("https://www.reddit.com/r/HomeImprovement/comments/{id}/roof_leak/"),
        "created_utc": (1_700_000_000 + n) as f64, "score": 30, "upvote_ratio": 0.75,
        "num_comments": n % 7, "over_18": false}})
}

fn name(n: u64) -> String {
    format!("t3_{}", b36(n))
}

fn listing(posts: &[u64], after: Option<&str>) -> ResponseTemplate {
    let children: Vec<Value> = posts.iter().map(|n| post(*n)).collect();
    ResponseTemplate::new(200)
        .insert_header("x-ratelimit-used", "4")
        .insert_header("x-ratelimit-remaining", "96.0")
        .insert_header("x-ratelimit-reset", "412")
        .set_body_json(json!({"kind": "Listing", "data": {
            "after": after, "dist": children.len(), "modhash": "", "geo_filter": "",
            "children": children, "before": null}}))
}

fn token(access: &str, expires_in: u64) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "access_token": access, "token_type": "bearer", "expires_in": expires_in, "scope": "*"}))
}

/// The token endpoint, asked with the app's credentials as Reddit wants them.
fn token_endpoint() -> wiremock::MockBuilder {
    Mock::given(method("POST"))
        .and(path("/api/v1/access_token"))
        .and(basic_auth(CLIENT_ID, CLIENT_SECRET))
        .and(body_string("grant_type=client_credentials"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(header_regex(
            "user-agent",
            r"^server:demandflow:v[0-9.]+ \(reddit_search sources\)$",
        ))
}

fn search() -> wiremock::MockBuilder {
    Mock::given(method("GET"))
        .and(path("/r/HomeImprovement/search.json"))
        .and(query_param("q", "roof leak"))
        .and(query_param("sort", "new"))
        .and(query_param("restrict_sr", "1"))
        .and(query_param("limit", "100"))
        .and(query_param("raw_json", "1"))
        .and(header_regex("user-agent", r"^server:demandflow:"))
}

async fn reddit_source(pool: &PgPool, server: &MockServer) -> (Uuid, Uuid) {
    crate::secrets::install_for_tests();
    source(
        pool,
        json!({"kind": "reddit_search", "url": server.uri(), "rate_limit_per_min": 6000,
               "secret": credentials(),
               "settings": {"query": "roof leak", "subreddit": "r/HomeImprovement",
                            "auth_base": server.uri()}}),
    )
    .await
}

async fn last_error(pool: &PgPool, id: Uuid) -> Option<String> {
    sqlx::query_scalar("SELECT last_error FROM sources WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[test]
fn reddit_search_settings_and_secrets_are_checked_with_paths() {
    let reddit = NewSource::try_from(json!({"kind": "reddit_search", "secret": credentials(),
        "settings": {"query": "need a roofer", "subreddit": "/r/HomeImprovement/"}}))
    .unwrap();
    assert_eq!(
        reddit.url.unwrap().as_url().as_str(),
        "https://oauth.reddit.com/"
    );
    assert_eq!(
        reddit.settings,
        json!({"query": "need a roofer", "subreddit": "HomeImprovement",
               "auth_base": "https://www.reddit.com"})
    );
    let cases = [
        (
            json!({"kind": "reddit_search", "settings": {"query": "x"}}),
            "secret",
        ),
        (
            json!({"kind": "reddit_search", "secret": "no-colon-in-this-secret", "settings": {"query": "x"}}),
            "secret",
        ),
        (
            json!({"kind": "reddit_search", "secret": ":only-a-client-secret", "settings": {"query": "x"}}),
            "secret",
        ),
        (
            json!({"kind": "reddit_search", "secret": credentials(), "settings": {"query": "x", "subreddit": "a b"}}),
            "settings.subreddit",
        ),
        (
            json!({"kind": "reddit_search", "secret": credentials(), "settings": {"query": "x", "subreddit": "x"}}),
            "settings.subreddit",
        ),
        (
            json!({"kind": "reddit_search", "secret": credentials(), "settings": {"query": "x", "auth_base": "ftp://reddit.com"}}),
            "settings.auth_base",
        ),
        (
            json!({"kind": "reddit_search", "secret": credentials(), "settings": {"query": "x".repeat(513)}}),
            "settings.query",
        ),
        (
            json!({"kind": "reddit_search", "secret": credentials(), "settings": {"query": "x", "sort": "top"}}),
            "settings.sort",
        ),
        (
            json!({"kind": "hn_search", "secret": credentials(), "settings": {"query": "x"}}),
            "secret",
        ),
    ];
    for (body, path) in cases {
        let e = NewSource::try_from(body.clone()).unwrap_err();
        assert_eq!(e.path, path, "{body} gave {e}");
        assert!(
            !e.message.contains(CLIENT_SECRET),
            "no secret in the error: {e}"
        );
    }
}

#[test]
fn a_reddit_listing_reads_into_posts_engagement_and_a_cursor_that_walks_back_to_the_last_post() {
    let settings = json!({"query": "roof leak"});
    let body = |posts: &[u64], after: Option<&str>| {
        let children: Vec<Value> = posts.iter().map(|n| post(*n)).collect();
        json!({"kind": "Listing", "data": {"after": after, "children": children}}).to_string()
    };
    // A first poll: the newest page only, whatever `after` says.
    let first = reddit::RedditSearch
        .page(
            body(&[50, 49], Some(&name(49))).as_bytes(),
            &HeaderMap::new(),
            &settings,
            None,
        )
        .unwrap();
    assert!(!first.more);
    assert_eq!(
        first.cursor.as_deref(),
        Some(r#"{"last":{"name":"t3_1e","created":1700000050}}"#)
    );
    let p = &first.items[0];
    assert_eq!(p.external_id.as_deref(), Some("t3_1e"));
    assert_eq!(
        p.url.as_deref(),
        Some("https://www.reddit.com/r/HomeImprovement/comments/1e/roof_leak/"),
        "the permalink on the site, not on the API host"
    );
    assert!(
        p.title.as_deref().unwrap().starts_with("Roof &lt;leak&gt;"),
        "raw text is escaped: {:?}",
        p.title
    );
    assert_eq!(
        p.engagement,
        Engagement {
            likes: Some(45),
            reposts: None,
            comments: Some(1),
            points: Some(30),
        },
        "score 30 at 75% upvoted: 45 up, 15 down"
    );
    // Later: a page of new posts only asks for the next one...
    let newer = reddit::RedditSearch
        .page(
            body(&[60, 59], Some(&name(59))).as_bytes(),
            &HeaderMap::new(),
            &settings,
            first.cursor.as_deref(),
        )
        .unwrap();
    assert!(newer.more);
    let url = reddit::RedditSearch
        .request(
            &Url::parse("https://oauth.reddit.com").unwrap(),
            &json!({"query": "roof leak", "subreddit": "HomeImprovement"}),
            newer.cursor.as_deref(),
        )
        .unwrap();
    assert_eq!(
        url.as_str(),
        "https://oauth.reddit.com/r/HomeImprovement/search.json?q=roof+leak&sort=new&type=link&limit=100&raw_json=1&restrict_sr=1&after=t3_1n"
    );
    // ...until one reaches the last post stored: then the newest seen becomes the cursor.
    let reached = reddit::RedditSearch
        .page(
            body(&[58, 50, 49], Some(&name(49))).as_bytes(),
            &HeaderMap::new(),
            &settings,
            newer.cursor.as_deref(),
        )
        .unwrap();
    assert!(!reached.more, "the last post stored is on this page");
    assert_eq!(
        reached.cursor.as_deref(),
        Some(r#"{"last":{"name":"t3_1o","created":1700000060}}"#)
    );
    assert_eq!(reached.items.len(), 3, "every post of the page is kept");
    // The end of the listing, or an empty page, stops too and keeps the cursor.
    let empty = reddit::RedditSearch
        .page(
            body(&[], None).as_bytes(),
            &HeaderMap::new(),
            &settings,
            reached.cursor.as_deref(),
        )
        .unwrap();
    assert!(!empty.more);
    assert_eq!(empty.cursor, reached.cursor);
    for bad in [
        &b"{"[..],
        br#"{"kind": "t3"}"#,
        br#"{"kind": "Listing", "data": {}}"#,
        b"[]",
    ] {
        assert!(
            reddit::RedditSearch
                .page(bad, &HeaderMap::new(), &settings, None)
                .is_err()
        );
    }
}

#[test]
fn reddit_token_answers_are_read_with_their_lifetimes_and_no_echo_of_their_content() {
    let now = Utc::now();
    let t = Session::token(
        &reddit::RedditSearch,
        br#"{"access_token": "eyJhbGciOi.reddit", "token_type": "bearer", "expires_in": 86400, "scope": "*"}"#,
        now,
    )
    .unwrap();
    assert_eq!(t.lifetime.as_secs(), 86_400);
    let refused =
        Session::token(&reddit::RedditSearch, br#"{"error": "invalid_grant"}"#, now).unwrap_err();
    assert_eq!(refused, "error invalid_grant");
    assert!(Session::token(&reddit::RedditSearch, b"<html>", now).is_err());
    assert!(
        format!("{t:?}").contains("REDACTED") && !format!("{t:?}").contains("eyJhbGciOi"),
        "a token never prints: {t:?}"
    );
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn reddit_search_exchanges_its_credentials_once_and_pages_back_to_its_cursor(pool: PgPool) {
    let server = MockServer::start().await;
    let (tenant, id) = reddit_source(&pool, &server).await;
    token_endpoint()
        .respond_with(token("tok-1", 86_400))
        .expect(1)
        .mount(&server)
        .await;
    // The first poll sees 20 and 10; later, 40 and 30 are new on the first page, and the
    // second reaches 20, where the walk stops.
    search()
        .and(bearer_token("tok-1"))
        .and(query_param_is_missing("after"))
        .respond_with(listing(&[20, 10], Some(&name(10))))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    search()
        .and(bearer_token("tok-1"))
        .and(query_param_is_missing("after"))
        .respond_with(listing(&[40, 30], Some(&name(30))))
        .with_priority(2)
        .expect(2)
        .mount(&server)
        .await;
    search()
        .and(bearer_token("tok-1"))
        .and(query_param("after", name(30)))
        .respond_with(listing(&[25, 20], Some(&name(20))))
        .expect(1)
        .mount(&server)
        .await;
    search()
        .and(query_param("after", name(20)))
        .respond_with(listing(&[15, 10], None))
        .expect(0)
        .mount(&server)
        .await;

    let ctx = FetchContext::new(pool.clone(), true);
    let first = poll_in(&ctx, tenant, id).await.unwrap();
    assert_eq!(
        (first["inserted"].clone(), first["pages"].clone()),
        (json!(2), json!(1)),
        "the newest page only: {first}"
    );
    assert_eq!(
        cursor_of(&pool, id).await,
        Some(format!(
            r#"{{"last":{{"name":"{}","created":1700000020}}}}"#,
            name(20)
        ))
    );
    let second = poll_in(&ctx, tenant, id).await.unwrap();
    assert_eq!(
        (
            second["inserted"].clone(),
            second["duplicates"].clone(),
            second["pages"].clone()
        ),
        (json!(3), json!(1), json!(2)),
        "down to the cursor and no further: {second}"
    );
    assert_eq!(
        cursor_of(&pool, id).await,
        Some(format!(
            r#"{{"last":{{"name":"{}","created":1700000040}}}}"#,
            name(40)
        ))
    );
    let third = poll_in(&ctx, tenant, id).await.unwrap();
    assert_eq!(
        (third["inserted"].clone(), third["pages"].clone()),
        (json!(0), json!(1)),
        "{third}"
    );
    type Stored = (String, Option<i32>, Option<i32>, Option<i32>);
    let stored: Vec<Stored> = sqlx::query_as(
        "SELECT external_id, likes, comments, points FROM signals WHERE source_id = $1 ORDER BY published_at",
    )
    .bind(id)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        stored.iter().map(|s| s.0.clone()).collect::<Vec<_>>(),
        [10, 20, 25, 30, 40].map(name).to_vec()
    );
    assert_eq!(
        (stored[0].1, stored[0].2, stored[0].3),
        (Some(45), Some(3), Some(30)),
        "score, comments and the upvotes they imply"
    );
    let (sealed, last_error): (String, Option<String>) =
        sqlx::query_as("SELECT secret, last_error FROM sources WHERE id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(!sealed.contains(CLIENT_SECRET), "sealed at rest");
    assert_eq!(last_error, None);
    for result in [first, second, third] {
        let text = result.to_string();
        assert!(
            !text.contains(CLIENT_SECRET) && !text.contains("tok-1"),
            "{text}"
        );
    }
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn a_reddit_token_the_api_refuses_is_exchanged_once_more_before_the_poll_fails(pool: PgPool) {
    let server = MockServer::start().await;
    let (tenant, id) = reddit_source(&pool, &server).await;
    token_endpoint()
        .respond_with(token("tok-revoked", 86_400))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    token_endpoint()
        .respond_with(token("tok-fresh", 86_400))
        .with_priority(2)
        .expect(1)
        .mount(&server)
        .await;
    search()
        .and(bearer_token("tok-revoked"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(json!({"message": "Unauthorized", "error": 401})),
        )
        .expect(1)
        .mount(&server)
        .await;
    search()
        .and(bearer_token("tok-fresh"))
        .respond_with(listing(&[2, 1], None))
        .expect(1)
        .mount(&server)
        .await;
    let ctx = FetchContext::new(pool.clone(), true);
    let out = poll_in(&ctx, tenant, id).await.unwrap();
    assert_eq!(out["inserted"], 2, "{out}");
    server.verify().await;

    // A token refused even fresh: one more exchange, then a clear, permanent failure.
    server.reset().await;
    token_endpoint()
        .respond_with(token("tok-other", 86_400))
        .expect(1)
        .mount(&server)
        .await;
    search()
        .respond_with(ResponseTemplate::new(401))
        .expect(2)
        .mount(&server)
        .await;
    match poll_in(&ctx, tenant, id).await.unwrap_err() {
        JobError::Permanent(m) => assert_eq!(m, "HTTP 401 with a fresh token"),
        other => panic!("expected a permanent failure, got {other:?}"),
    }
    assert_eq!(
        last_error(&pool, id).await.as_deref(),
        Some("HTTP 401 with a fresh token")
    );
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn a_reddit_token_about_to_expire_is_not_reused(pool: PgPool) {
    let server = MockServer::start().await;
    let (tenant, id) = reddit_source(&pool, &server).await;
    // 30 seconds is within the minute kept in hand: each poll exchanges afresh.
    token_endpoint()
        .respond_with(token("tok-short", 30))
        .expect(2)
        .mount(&server)
        .await;
    search()
        .and(bearer_token("tok-short"))
        .respond_with(listing(&[], None))
        .expect(2)
        .mount(&server)
        .await;
    let ctx = FetchContext::new(pool.clone(), true);
    for _ in 0..2 {
        poll_in(&ctx, tenant, id).await.unwrap();
    }
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn a_bad_reddit_client_secret_fails_the_poll_for_good_with_a_clear_error(pool: PgPool) {
    let server = MockServer::start().await;
    let (tenant, id) = reddit_source(&pool, &server).await;
    Mock::given(method("POST"))
        .and(path("/api/v1/access_token"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(json!({"message": "Unauthorized", "error": 401})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(listing(&[1], None))
        .expect(0)
        .mount(&server)
        .await;
    let expected = "the token endpoint refused the source's `secret` (HTTP 401)";
    match poll_once(&pool, tenant, id).await.unwrap_err() {
        JobError::Permanent(m) => assert_eq!(m, expected),
        other => panic!("expected a permanent failure, got {other:?}"),
    }
    assert_eq!(last_error(&pool, id).await.as_deref(), Some(expected));
    server.verify().await;

    // A 200 that refuses (Reddit answers some refusals so) is no token either.
    server.reset().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/access_token"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"error": "unsupported_grant_type"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    match poll_once(&pool, tenant, id).await.unwrap_err() {
        JobError::Permanent(m) => assert_eq!(
            m,
            "the token exchange gave no token: error unsupported_grant_type"
        ),
        other => panic!("expected a permanent failure, got {other:?}"),
    }

    // A token endpoint that is down is not the secret's fault: retried later.
    server.reset().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/access_token"))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;
    match poll_once(&pool, tenant, id).await.unwrap_err() {
        JobError::Retry { message, .. } => {
            assert_eq!(message, "the token exchange failed: HTTP 503")
        }
        other => panic!("expected a retry, got {other:?}"),
    }
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn a_reddit_429_pauses_the_host_for_the_fleet_until_its_ratelimit_reset(pool: PgPool) {
    let server = MockServer::start().await;
    let (tenant, id) = reddit_source(&pool, &server).await;
    sqlx::query("UPDATE sources SET cursor = $2 WHERE id = $1")
        .bind(id)
        .bind(format!(
            r#"{{"last":{{"name":"{}","created":1700000009}}}}"#,
            name(9)
        ))
        .execute(&pool)
        .await
        .unwrap();
    token_endpoint()
        .respond_with(token("tok-1", 86_400))
        .expect(1)
        .mount(&server)
        .await;
    search()
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("x-ratelimit-used", "100")
                .insert_header("x-ratelimit-remaining", "0.0")
                .insert_header("x-ratelimit-reset", "120"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let ctx = FetchContext::new(pool.clone(), true);
    match poll_in(&ctx, tenant, id).await.unwrap_err() {
        JobError::Retry {
            retry_after: Some(wait),
            ..
        } => assert!((115..=121).contains(&wait.as_secs()), "{wait:?}"),
        other => panic!("expected a retry at the reset, got {other:?}"),
    }
    let blocked: Option<chrono::DateTime<Utc>> =
        sqlx::query_scalar("SELECT blocked_until FROM hosts WHERE host = $1")
            .bind(server.address().to_string())
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(blocked.unwrap() > Utc::now() + chrono::TimeDelta::seconds(100));
    // Every worker now waits for the reset, without asking (nor exchanging again).
    for ctx in [ctx, FetchContext::new(pool.clone(), true)] {
        match poll_in(&ctx, tenant, id).await.unwrap_err() {
            JobError::Snooze { .. } => {}
            other => panic!("expected a snooze, got {other:?}"),
        }
    }
    assert_eq!(
        cursor_of(&pool, id).await,
        Some(format!(
            r#"{{"last":{{"name":"{}","created":1700000009}}}}"#,
            name(9)
        ))
    );
}
