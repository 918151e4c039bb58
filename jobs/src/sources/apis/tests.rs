//! Tests of the API dialects: settings, answers in each API's documented shape (hand-written
//! after the public docs' examples), rate-limit headers, and polls against wiremock fakes
//! with real Postgres: paging, cursors, dedupe, a 429 with its reset.

use chrono::{TimeZone, Utc};
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{header, method, path, query_param, query_param_is_missing},
};

use super::*;
use crate::{
    audit::Actor,
    kinds::fetch_source::{self, FetchContext, FetchSource},
    queue::JobError,
    sources::{self, NewSource},
};

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.insert(*k, HeaderValue::from_str(v).unwrap());
    }
    h
}

#[test]
fn rate_limit_headers_are_read_in_every_spelling() {
    let now = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
    // X: epoch seconds.
    let x = rate_limit(
        &headers(&[
            ("x-rate-limit-remaining", "0"),
            ("x-rate-limit-reset", "1700000900"),
        ]),
        now,
    )
    .unwrap();
    assert_eq!(x.remaining, 0);
    assert_eq!(x.reset_at.timestamp(), 1_700_000_900);
    // Mastodon: an ISO 8601 time.
    let m = rate_limit(
        &headers(&[
            ("x-ratelimit-remaining", "299"),
            ("x-ratelimit-reset", "2023-11-14T22:20:00.000Z"),
        ]),
        now,
    )
    .unwrap();
    assert_eq!(m.remaining, 299);
    assert_eq!(m.reset_at.to_rfc3339(), "2023-11-14T22:20:00+00:00");
    // Reddit: seconds from now, with fractions.
    let r = rate_limit(
        &headers(&[
            ("x-ratelimit-remaining", "0.0"),
            ("x-ratelimit-reset", "42"),
        ]),
        now,
    )
    .unwrap();
    assert_eq!(r.reset_at, now + chrono::TimeDelta::seconds(42));
    // Bluesky: the IETF draft's names.
    assert!(
        rate_limit(
            &headers(&[
                ("ratelimit-remaining", "5"),
                ("ratelimit-reset", "1700000060")
            ]),
            now
        )
        .is_some()
    );
    for bad in [
        headers(&[]),
        headers(&[("x-ratelimit-remaining", "1")]),
        headers(&[("x-ratelimit-remaining", "a"), ("x-ratelimit-reset", "5")]),
        headers(&[("x-ratelimit-remaining", "1"), ("x-ratelimit-reset", "-5")]),
        headers(&[("x-ratelimit-remaining", "NaN"), ("x-ratelimit-reset", "5")]),
    ] {
        assert_eq!(rate_limit(&bad, now), None, "{bad:?}");
    }
}

#[test]
fn settings_are_checked_per_kind_with_paths() {
    let ok = |kind, v: Value| {
        NewSource::try_from(
            json!({"kind": kind, "url": "https://api.example.com/x", "settings": v}),
        )
    };
    assert!(
        ok(
            "hn_search",
            json!({"query": "need a plumber", "tags": "story,ask_hn"})
        )
        .is_ok()
    );
    assert!(ok("mastodon", json!({"tag": "#rustlang"})).is_ok());
    assert!(
        ok(
            "bluesky_search",
            json!({"query": "looking for", "lang": "en"})
        )
        .is_ok()
    );
    assert!(
        ok(
            "json_api",
            json!({"items": "", "fields": {"id": "/id", "text": "/body"}, "paging": {"cursor": "/next", "param": "after"}})
        )
        .is_ok()
    );
    // API kinds with a public default need no URL.
    let hn = NewSource::try_from(json!({"kind": "hn_search", "settings": {"query": "x"}})).unwrap();
    assert_eq!(hn.url.unwrap().as_url().as_str(), "https://hn.algolia.com/");
    let cases = [
        (json!({"kind": "hn_search"}), "settings"),
        (
            json!({"kind": "hn_search", "settings": {"query": ""}}),
            "settings.query",
        ),
        (
            json!({"kind": "hn_search", "settings": {"query": "a\u{0}b"}}),
            "settings.query",
        ),
        (
            json!({"kind": "hn_search", "settings": {"query": "x".repeat(501)}}),
            "settings.query",
        ),
        (
            json!({"kind": "hn_search", "settings": {"query": "x", "tags": "stories"}}),
            "settings.tags",
        ),
        (
            json!({"kind": "hn_search", "settings": {"query": "x", "colour": 1}}),
            "settings.colour",
        ),
        (json!({"kind": "mastodon", "settings": {"tag": "x"}}), "url"),
        (
            json!({"kind": "mastodon", "url": "https://m.example", "settings": {"tag": "a b"}}),
            "settings.tag",
        ),
        (
            json!({"kind": "mastodon", "url": "https://m.example", "settings": {"tag": "a", "query": "b"}}),
            "settings",
        ),
        (
            json!({"kind": "mastodon", "url": "https://m.example", "settings": {}}),
            "settings.tag",
        ),
        (
            json!({"kind": "bluesky_search", "settings": {"query": 3}}),
            "settings.query",
        ),
        (
            json!({"kind": "bluesky_search", "settings": {"query": "x", "lang": "english!"}}),
            "settings.lang",
        ),
        (
            json!({"kind": "json_api", "settings": {"items": "", "fields": {"id": "/id", "text": "/t"}}}),
            "url",
        ),
        (
            json!({"kind": "json_api", "url": "https://a.example", "settings": {"fields": {"id": "/id"}}}),
            "settings.items",
        ),
        (
            json!({"kind": "json_api", "url": "https://a.example", "settings": {"items": "data", "fields": {"id": "/id", "text": "/t"}}}),
            "settings.items",
        ),
        (
            json!({"kind": "json_api", "url": "https://a.example", "settings": {"items": "", "fields": {"text": "/t"}}}),
            "settings.fields.id",
        ),
        (
            json!({"kind": "json_api", "url": "https://a.example", "settings": {"items": "", "fields": {"id": "/id"}}}),
            "settings.fields",
        ),
        (
            json!({"kind": "json_api", "url": "https://a.example", "settings": {"items": "", "fields": {"id": "/id", "text": 4}}}),
            "settings.fields.text",
        ),
        (
            json!({"kind": "json_api", "url": "https://a.example", "settings": {"items": "", "fields": {"id": "/id", "colour": "/c"}}}),
            "settings.fields.colour",
        ),
        (
            json!({"kind": "json_api", "url": "https://a.example", "settings": {"items": "", "fields": {"id": "/i", "text": "/t"}, "paging": {"cursor": "/n", "param": "a b"}}}),
            "settings.paging.param",
        ),
        (
            json!({"kind": "json_api", "url": "https://a.example", "settings": {"items": "", "fields": {"id": "/i", "text": "/t"}, "paging": {"param": "p"}}}),
            "settings.paging.cursor",
        ),
        (
            json!({"kind": "json_api", "url": "https://a.example", "settings": "x"}),
            "settings",
        ),
        (
            json!({"kind": "rss", "url": "https://a.example", "settings": {"query": "x"}}),
            "settings",
        ),
    ];
    for (body, path) in cases {
        let e = NewSource::try_from(body.clone()).unwrap_err();
        assert_eq!(e.path, path, "{body} gave {e}");
    }
}

#[test]
fn a_json_api_mapping_reads_nested_fields_numbers_and_epoch_times() {
    let settings = json_api::JsonApi
        .settings(&json!({
            "items": "/data/posts",
            "fields": {"id": "/id", "title": "/title", "text": "/body/html", "author": "/user/name",
                       "url": "/link", "published": "/ts", "likes": "/stats/likes", "points": "/score"},
            "paging": {"cursor": "/meta/next", "param": "cursor"}
        }))
        .unwrap();
    let body = json!({"data": {"posts": [
        {"id": 17, "title": "Need a CPA", "body": {"html": "<p>Taxes <b>due</b></p>"}, "user": {"name": "ann"},
         "link": "https://forum.example/t/17", "ts": 1_700_000_000_123u64, "stats": {"likes": 4}, "score": -2},
        {"id": "s-18", "text": "no title", "ts": "2024-05-01T10:00:00+02:00"},
        {"title": "no id: skipped"}
    ]}, "meta": {"next": 9001}});
    let page = json_api::JsonApi
        .page(
            body.to_string().as_bytes(),
            &HeaderMap::new(),
            &settings,
            None,
        )
        .unwrap();
    assert_eq!(page.items.len(), 2);
    let a = &page.items[0];
    assert_eq!(a.external_id.as_deref(), Some("17"));
    assert_eq!(a.content.as_deref(), Some("<p>Taxes <b>due</b></p>"));
    assert_eq!(a.author.as_deref(), Some("ann"));
    assert_eq!(
        a.published_at.unwrap().timestamp_millis(),
        1_700_000_000_123
    );
    assert_eq!(a.engagement.likes, Some(4));
    assert_eq!(a.engagement.points, Some(-2));
    assert_eq!(
        page.items[1].published_at.unwrap().to_rfc3339(),
        "2024-05-01T08:00:00+00:00"
    );
    assert!(page.more);
    let url = json_api::JsonApi
        .request(
            &Url::parse("https://api.example/posts?cursor=old&x=1").unwrap(),
            &settings,
            page.cursor.as_deref(),
        )
        .unwrap();
    assert_eq!(url.as_str(), "https://api.example/posts?x=1&cursor=9001");
    // The same cursor again: the end of the feed, the stored cursor is kept.
    let again = json_api::JsonApi
        .page(
            body.to_string().as_bytes(),
            &HeaderMap::new(),
            &settings,
            page.cursor.as_deref(),
        )
        .unwrap();
    assert!(!again.more);
    assert_eq!(again.cursor, None);
    for bad in [&b"{"[..], b"[]", b"{\"data\": {\"posts\": 3}}", b"\xff"] {
        assert!(
            json_api::JsonApi
                .page(bad, &HeaderMap::new(), &settings, None)
                .is_err()
        );
    }
}

#[test]
fn mastodon_reads_its_link_header_and_bluesky_its_cursor() {
    let link = headers(&[(
        "link",
        "<https://m.example/api/v1/timelines/tag/rust?max_id=100>; rel=\"next\", <https://m.example/api/v1/timelines/tag/rust?min_id=109>; rel=\"prev\"",
    )]);
    let body = json!([
        {"id": "108", "uri": "https://m.example/users/a/statuses/108", "url": "https://m.example/@a/108",
         "content": "<p>Who can fix my <a href=\"https://m.example/tags/rust\">#rust</a> build?</p>",
         "account": {"acct": "a@m.example", "username": "a"}, "created_at": "2023-11-14T22:13:20.000Z",
         "favourites_count": 3, "reblogs_count": 1, "replies_count": 2, "spoiler_text": ""},
        {"id": "107", "uri": "https://m.example/users/b/statuses/107", "content": "<p>hi</p>", "account": {"acct": "b"}}
    ]);
    let page = mastodon::Mastodon
        .page(
            body.to_string().as_bytes(),
            &link,
            &json!({"tag": "rust"}),
            None,
        )
        .unwrap();
    assert_eq!(page.items.len(), 2);
    assert_eq!(page.items[0].engagement.likes, Some(3));
    assert_eq!(page.items[0].engagement.comments, Some(2));
    assert_eq!(page.items[0].title, None, "an empty spoiler is no title");
    assert_eq!(page.cursor.as_deref(), Some(r#"{"min_id":"109"}"#));
    assert!(!page.more, "a first poll takes one page");
    let url = mastodon::Mastodon
        .request(
            &Url::parse("https://m.example").unwrap(),
            &json!({"tag": "rust"}),
            page.cursor.as_deref(),
        )
        .unwrap();
    assert_eq!(
        url.as_str(),
        "https://m.example/api/v1/timelines/tag/rust?limit=40&min_id=109"
    );

    let posts: Vec<Value> = (0..bluesky::LIMIT)
        .map(|i| json!({"uri": format!("at://did:plc:abc/app.bsky.feed.post/3k{i}"), "cid": "c",
                         "author": {"did": "did:plc:abc", "handle": "ann.bsky.social"},
                         "record": {"$type": "app.bsky.feed.post", "text": format!("need <a> roofer {i}"), "createdAt": "2024-01-02T03:04:05.000Z"},
                         "indexedAt": "2024-01-02T03:04:06.000Z", "likeCount": i, "repostCount": 1, "quoteCount": 1, "replyCount": 0}))
        .collect();
    let body = json!({"posts": posts, "cursor": "100"});
    let stored = r#"{"since":"2024-01-01T00:00:00Z"}"#;
    let page = bluesky::BlueskySearch
        .page(
            body.to_string().as_bytes(),
            &HeaderMap::new(),
            &json!({"query": "roofer"}),
            Some(stored),
        )
        .unwrap();
    assert!(page.more, "a full page with a cursor: more are new");
    assert_eq!(page.items[3].engagement.reposts, Some(2));
    assert_eq!(
        page.items[0].url.as_deref(),
        Some("https://bsky.app/profile/ann.bsky.social/post/3k0")
    );
    assert!(
        page.items[0]
            .content
            .as_deref()
            .unwrap()
            .contains("&lt;a&gt;"),
        "text is escaped"
    );
    let url = bluesky::BlueskySearch
        .request(
            &Url::parse("https://public.api.bsky.app").unwrap(),
            &json!({"query": "roofer"}),
            page.cursor.as_deref(),
        )
        .unwrap();
    assert!(
        url.as_str().contains("since=2024-01-01T00%3A00%3A00.000Z"),
        "{url}"
    );
    assert!(url.as_str().contains("cursor=100"), "{url}");
}

// ---------------------------------------------------------------------------------------------
// Polls against fakes, with Postgres.

async fn source(pool: &PgPool, body: Value) -> (Uuid, Uuid) {
    let mut conn = pool.acquire().await.unwrap();
    let tenant = crate::auth::ensure_tenant(&mut conn, "t").await.unwrap();
    let new = NewSource::try_from(body).unwrap();
    let id = sources::create(&mut conn, tenant, &Actor::default(), new)
        .await
        .unwrap()
        .id;
    (tenant, id)
}

async fn poll_once(pool: &PgPool, tenant: Uuid, id: Uuid) -> Result<Value, JobError> {
    poll_in(&FetchContext::new(pool.clone(), true), tenant, id).await
}

/// A poll with a context kept across polls, as a worker keeps it (its tokens with it).
async fn poll_in(ctx: &FetchContext, tenant: Uuid, id: Uuid) -> Result<Value, JobError> {
    fetch_source::run(&FetchSource { source_id: id }, tenant, ctx).await
}

async fn cursor_of(pool: &PgPool, id: Uuid) -> Option<String> {
    sqlx::query_scalar("SELECT cursor FROM sources WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn signals_of(pool: &PgPool, id: Uuid) -> Vec<(String, Option<i32>, Option<i32>)> {
    sqlx::query_as(
        "SELECT external_id, points, comments FROM signals WHERE source_id = $1 ORDER BY external_id",
    )
    .bind(id)
    .fetch_all(pool)
    .await
    .unwrap()
}

/// Words picked by `seed`: texts that share no near-duplicate fingerprint.
fn words(seed: u64, n: usize) -> String {
    const W: &[&str] = &[
        "roof",
        "leak",
        "gutter",
        "tile",
        "attic",
        "storm",
        "quote",
        "price",
        "urgent",
        "week",
        "shingle",
        "flash",
        "chimney",
        "moss",
        "ladder",
        "insurance",
        "crack",
        "drip",
        "beam",
        "ceiling",
        "paint",
        "mould",
        "vent",
        "slate",
        "felt",
        "repair",
        "budget",
        "local",
        "review",
        "warranty",
        "estimate",
        "contractor",
    ];
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            W[(x >> 33) as usize % W.len()]
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn hn_hit(id: u64, at: i64) -> Value {
    json!({"objectID": id.to_string(), "title": format!("Ask HN: {}", words(id, 6)),
           "story_text": format!("<p>{}</p>", words(id + 7919, 24)),
           "author": "pg", "points": id % 50, "num_comments": 3, "created_at_i": at,
           "created_at": "2023-11-14T22:13:20.000Z", "_tags": ["story", "ask_hn"]})
}

fn hn_page(hits: Vec<Value>, nb_hits: usize) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "hits": hits, "nbHits": nb_hits, "page": 0, "nbPages": nb_hits.div_ceil(hn::HITS_PER_PAGE),
        "hitsPerPage": hn::HITS_PER_PAGE, "processingTimeMS": 1, "query": "roofer"}))
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn hn_polls_again_from_its_cursor_without_duplicates(pool: PgPool) {
    let server = MockServer::start().await;
    let (tenant, id) = source(
        &pool,
        json!({"kind": "hn_search", "url": server.uri(), "rate_limit_per_min": 6000,
               "settings": {"query": "roofer", "tags": "story"}}),
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/search_by_date"))
        .and(query_param("query", "roofer"))
        .and(query_param("tags", "story"))
        .and(query_param_is_missing("numericFilters"))
        .respond_with(hn_page(
            vec![hn_hit(2, 1_700_000_200), hn_hit(1, 1_700_000_100)],
            2,
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/search_by_date"))
        .and(query_param("numericFilters", "created_at_i>=1700000200"))
        .respond_with(hn_page(
            vec![hn_hit(3, 1_700_000_300), hn_hit(2, 1_700_000_200)],
            2,
        ))
        .expect(1)
        .mount(&server)
        .await;

    let first = poll_once(&pool, tenant, id).await.unwrap();
    assert_eq!(first["inserted"], 2, "{first}");
    assert_eq!(
        cursor_of(&pool, id).await.as_deref(),
        Some(r#"{"after":1700000200}"#)
    );
    let second = poll_once(&pool, tenant, id).await.unwrap();
    assert_eq!(second["inserted"], 1, "{second}");
    assert_eq!(
        second["duplicates"], 1,
        "the boundary item is asked again, stored once"
    );
    assert_eq!(
        cursor_of(&pool, id).await.as_deref(),
        Some(r#"{"after":1700000300}"#)
    );
    let stored = signals_of(&pool, id).await;
    assert_eq!(
        stored,
        vec![
            ("hn:1".to_owned(), Some(1), Some(3)),
            ("hn:2".to_owned(), Some(2), Some(3)),
            ("hn:3".to_owned(), Some(3), Some(3)),
        ],
        "engagement is kept"
    );
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn hn_catches_up_page_by_page_back_to_its_cursor(pool: PgPool) {
    let server = MockServer::start().await;
    let (tenant, id) = source(
        &pool,
        json!({"kind": "hn_search", "url": server.uri(), "rate_limit_per_min": 6000,
               "settings": {"query": "roofer"}}),
    )
    .await;
    sqlx::query("UPDATE sources SET cursor = '{\"after\":1000}' WHERE id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    // 150 new since the cursor: the newest 100 (times 1051..1150), then 50 older (1001..1050).
    let newest: Vec<Value> = (51..=150u64)
        .rev()
        .map(|i| hn_hit(i, 1000 + i as i64))
        .collect();
    let older: Vec<Value> = (1..=51u64)
        .rev()
        .map(|i| hn_hit(i, 1000 + i as i64))
        .collect();
    Mock::given(method("GET"))
        .and(query_param("numericFilters", "created_at_i>=1000"))
        .respond_with(hn_page(newest, 150))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(query_param(
            "numericFilters",
            "created_at_i>=1000,created_at_i<=1051",
        ))
        .respond_with(hn_page(older, 51))
        .expect(1)
        .mount(&server)
        .await;
    let out = poll_once(&pool, tenant, id).await.unwrap();
    assert_eq!(out["pages"], 2, "{out}");
    assert_eq!(out["inserted"], 150, "{out}");
    assert_eq!(out["more"], false);
    assert_eq!(
        cursor_of(&pool, id).await.as_deref(),
        Some(r#"{"after":1150}"#)
    );
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn a_429_blocks_the_host_until_its_announced_reset_and_keeps_the_cursor(pool: PgPool) {
    let server = MockServer::start().await;
    let (tenant, id) = source(
        &pool,
        json!({"kind": "mastodon", "url": server.uri(), "rate_limit_per_min": 6000,
               "settings": {"tag": "plumbing"}}),
    )
    .await;
    sqlx::query("UPDATE sources SET cursor = '{\"min_id\":\"55\"}' WHERE id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    let reset = (Utc::now() + chrono::TimeDelta::seconds(120)).to_rfc3339();
    Mock::given(method("GET"))
        .and(path("/api/v1/timelines/tag/plumbing"))
        .and(query_param("min_id", "55"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("x-ratelimit-limit", "300")
                .insert_header("x-ratelimit-remaining", "0")
                .insert_header("x-ratelimit-reset", reset.as_str())
                .set_body_json(json!({"error": "Too many requests"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = poll_once(&pool, tenant, id).await.unwrap_err();
    match err {
        JobError::Retry {
            retry_after: Some(wait),
            ..
        } => assert!((110..=121).contains(&wait.as_secs()), "{wait:?}"),
        other => panic!("expected a retry after the reset, got {other:?}"),
    }
    let blocked: Option<chrono::DateTime<Utc>> =
        sqlx::query_scalar("SELECT blocked_until FROM hosts WHERE host = $1")
            .bind(server.address().to_string())
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(blocked.unwrap() > Utc::now() + chrono::TimeDelta::seconds(100));
    // Every worker now waits for the reset, without asking.
    match poll_once(&pool, tenant, id).await.unwrap_err() {
        JobError::Snooze { .. } => {}
        other => panic!("expected a snooze, got {other:?}"),
    }
    assert_eq!(
        cursor_of(&pool, id).await.as_deref(),
        Some(r#"{"min_id":"55"}"#)
    );
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn a_spent_budget_on_a_good_answer_blocks_the_host_for_the_fleet(pool: PgPool) {
    let server = MockServer::start().await;
    let (tenant, id) = source(
        &pool,
        json!({"kind": "bluesky_search", "url": server.uri(), "rate_limit_per_min": 6000,
               "settings": {"query": "accountant"}}),
    )
    .await;
    let reset = (Utc::now() + chrono::TimeDelta::seconds(300)).timestamp();
    Mock::given(method("GET"))
        .and(path("/xrpc/app.bsky.feed.searchPosts"))
        .and(query_param("q", "accountant"))
        .and(query_param("sort", "latest"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("ratelimit-limit", "3000")
                .insert_header("ratelimit-remaining", "0")
                .insert_header("ratelimit-reset", reset.to_string().as_str())
                .set_body_json(json!({"posts": [
                    {"uri": "at://did:plc:x/app.bsky.feed.post/1", "author": {"did": "did:plc:x", "handle": "x.bsky.social"},
                     "record": {"text": "any accountant for a small shop?", "createdAt": "2024-03-01T10:00:00Z"},
                     "indexedAt": "2024-03-01T10:00:01Z", "likeCount": 5, "replyCount": 1, "repostCount": 0}]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let out = poll_once(&pool, tenant, id).await.unwrap();
    assert_eq!(out["inserted"], 1, "{out}");
    assert_eq!(
        cursor_of(&pool, id).await.as_deref(),
        Some(r#"{"since":"2024-03-01T10:00:00Z"}"#)
    );
    match poll_once(&pool, tenant, id).await.unwrap_err() {
        JobError::Snooze { .. } => {}
        other => panic!("expected a snooze until the reset, got {other:?}"),
    }
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn a_json_api_follows_its_cursor_and_resumes_from_the_last_one(pool: PgPool) {
    let server = MockServer::start().await;
    let (tenant, id) = source(
        &pool,
        json!({"kind": "json_api", "url": format!("{}/v1/changes?size=2", server.uri()),
               "rate_limit_per_min": 6000,
               "settings": {"items": "/items", "fields": {"id": "/id", "title": "/t", "text": "/b"},
                            "paging": {"cursor": "/next", "param": "since"}}}),
    )
    .await;
    let page = |ids: &[u32], next: Option<&str>| {
        let items: Vec<Value> = ids
            .iter()
            .map(|i| json!({"id": i, "t": words(u64::from(*i), 5), "b": words(u64::from(*i) + 31, 20)}))
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({"items": items, "next": next}))
    };
    Mock::given(method("GET"))
        .and(path("/v1/changes"))
        .and(query_param_is_missing("since"))
        .respond_with(page(&[1, 2], Some("c2")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(query_param("since", "c2"))
        .and(query_param("size", "2"))
        .respond_with(page(&[3, 4], Some("c4")))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(query_param("since", "c4"))
        .respond_with(page(&[], None))
        .expect(2)
        .mount(&server)
        .await;
    let first = poll_once(&pool, tenant, id).await.unwrap();
    assert_eq!(first["pages"], 3, "{first}");
    assert_eq!(first["inserted"], 4, "{first}");
    assert_eq!(
        cursor_of(&pool, id).await.as_deref(),
        Some(r#"{"next":"c4"}"#)
    );
    // Rewind the stored cursor to the first page's (a worker killed after storing it).
    sqlx::query("UPDATE sources SET cursor = '{\"next\":\"c2\"}' WHERE id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    let again = poll_once(&pool, tenant, id).await.unwrap();
    assert_eq!(again["inserted"], 0, "{again}");
    assert_eq!(again["duplicates"], 2, "{again}");
    assert_eq!(signals_of(&pool, id).await.len(), 4);
}

#[test]
fn a_source_whose_first_polls_found_nothing_does_not_walk_history() {
    let full: Vec<Value> = (0..hn::HITS_PER_PAGE as u64)
        .map(|i| hn_hit(i + 1, 5000 - i as i64))
        .collect();
    let body = json!({"hits": full, "nbHits": 900}).to_string();
    let page = hn::HnSearch
        .page(
            body.as_bytes(),
            &HeaderMap::new(),
            &json!({"query": "x"}),
            Some("{}"),
        )
        .unwrap();
    assert!(!page.more, "no `after` yet: the newest page only");
    assert_eq!(page.cursor.as_deref(), Some(r#"{"after":5000}"#));
    let page = hn::HnSearch
        .page(
            body.as_bytes(),
            &HeaderMap::new(),
            &json!({"query": "x"}),
            Some(r#"{"after":10}"#),
        )
        .unwrap();
    assert!(page.more, "with `after`: walk back to it");
    assert_eq!(
        page.cursor.as_deref(),
        Some(r#"{"after":10,"before":4901,"newest":5000}"#)
    );

    let posts: Vec<Value> = (0..bluesky::LIMIT)
        .map(|i| json!({"uri": format!("at://did:plc:a/app.bsky.feed.post/{i}"), "record": {"text": "t", "createdAt": "2024-01-01T00:00:00Z"}}))
        .collect();
    let body = json!({"posts": posts, "cursor": "next"}).to_string();
    let page = bluesky::BlueskySearch
        .page(
            body.as_bytes(),
            &HeaderMap::new(),
            &json!({"query": "x"}),
            Some("{}"),
        )
        .unwrap();
    assert!(!page.more);
    assert_eq!(
        page.cursor.as_deref(),
        Some(r#"{"since":"2024-01-01T00:00:00Z"}"#)
    );
}

fn x_post(id: u64) -> Value {
    json!({"id": id.to_string(), "text": words(id + 99, 20), "author_id": "42",
           "created_at": "2024-04-01T12:00:00.000Z", "edit_history_tweet_ids": [id.to_string()],
           "public_metrics": {"retweet_count": 1, "reply_count": 2, "like_count": id, "quote_count": 1}})
}

fn x_answer(ids: &[u64], next_token: Option<&str>) -> ResponseTemplate {
    let data: Vec<Value> = ids.iter().map(|i| x_post(*i)).collect();
    let mut meta = json!({"result_count": ids.len()});
    if let (Some(first), Some(last)) = (ids.first(), ids.last()) {
        meta["newest_id"] = json!(first.to_string());
        meta["oldest_id"] = json!(last.to_string());
    }
    if let Some(t) = next_token {
        meta["next_token"] = json!(t);
    }
    let mut body = json!({"meta": meta});
    if !ids.is_empty() {
        body["data"] = json!(data);
        body["includes"] =
            json!({"users": [{"id": "42", "name": "Ann", "username": "ann_builds"}]});
    }
    ResponseTemplate::new(200)
        .insert_header("x-rate-limit-limit", "450")
        .insert_header("x-rate-limit-remaining", "449")
        .insert_header("x-rate-limit-reset", "1900000000")
        .set_body_json(body)
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn x_search_sends_its_sealed_token_pages_since_its_cursor_and_honours_its_reset(
    pool: PgPool,
) {
    crate::secrets::install_for_tests();
    let server = MockServer::start().await;
    let token = "AAAAAAAAAAAAAAAAAAAAAMLheAAAAAAA0%2BuSeid";
    let (tenant, id) = source(
        &pool,
        json!({"kind": "x_search", "url": server.uri(), "rate_limit_per_min": 6000, "secret": token,
               "settings": {"query": "\"looking for\" accountant -is:retweet"}}),
    )
    .await;
    let sealed: String = sqlx::query_scalar("SELECT secret FROM sources WHERE id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(!sealed.contains(token), "the token is sealed at rest");
    let bearer = format!("Bearer {token}");
    Mock::given(method("GET"))
        .and(path("/2/tweets/search/recent"))
        .and(header("authorization", bearer.as_str()))
        .and(query_param("expansions", "author_id"))
        .and(query_param_is_missing("since_id"))
        .respond_with(x_answer(&[1002, 1001], Some("older")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(header("authorization", bearer.as_str()))
        .and(query_param("since_id", "1002"))
        .and(query_param_is_missing("next_token"))
        .respond_with(x_answer(&[1005, 1004], Some("t2")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(header("authorization", bearer.as_str()))
        .and(query_param("since_id", "1002"))
        .and(query_param("next_token", "t2"))
        .respond_with(x_answer(&[1003], None))
        .expect(1)
        .mount(&server)
        .await;
    let first = poll_once(&pool, tenant, id).await.unwrap();
    assert_eq!(
        (first["inserted"].clone(), first["pages"].clone()),
        (json!(2), json!(1)),
        "the newest page only: {first}"
    );
    assert_eq!(
        cursor_of(&pool, id).await.as_deref(),
        Some(r#"{"since_id":"1002"}"#)
    );
    let second = poll_once(&pool, tenant, id).await.unwrap();
    assert_eq!(
        (second["inserted"].clone(), second["pages"].clone()),
        (json!(3), json!(2)),
        "{second}"
    );
    assert_eq!(
        cursor_of(&pool, id).await.as_deref(),
        Some(r#"{"since_id":"1005"}"#)
    );
    let (author, likes, reposts): (Option<String>, Option<i32>, Option<i32>) = sqlx::query_as(
        "SELECT author, likes, reposts FROM signals WHERE source_id = $1 AND external_id = 'x:1004'",
    )
    .bind(id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (author.as_deref(), likes, reposts),
        (Some("ann_builds"), Some(1004), Some(2))
    );

    // A 429 without Retry-After waits for the announced reset (epoch seconds).
    server.reset().await;
    let reset = Utc::now().timestamp() + 600;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("x-rate-limit-remaining", "0")
                .insert_header("x-rate-limit-reset", reset.to_string().as_str()),
        )
        .expect(1)
        .mount(&server)
        .await;
    match poll_once(&pool, tenant, id).await.unwrap_err() {
        JobError::Retry {
            retry_after: Some(wait),
            ..
        } => assert!((590..=601).contains(&wait.as_secs()), "{wait:?}"),
        other => panic!("expected a retry at the reset, got {other:?}"),
    }
    assert_eq!(
        cursor_of(&pool, id).await.as_deref(),
        Some(r#"{"since_id":"1005"}"#)
    );
}

mod bluesky_session;
mod reddit_search;
