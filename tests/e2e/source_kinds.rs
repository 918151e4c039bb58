//! API source kinds end to end, with real api and worker processes against wiremock fakes of
//! each API: a new source ingests, polls again without duplicates, and a poll killed between
//! pages resumes from the cursor its first page stored; the preview maps a sample answer and
//! stores nothing.

use std::time::Duration;

use e2e::{App, spawn_app, spawn_app_with, wait_until};
use reqwest::Method;
use serde_json::{Value, json};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path, query_param, query_param_is_missing},
};

const T: Duration = Duration::from_secs(30);

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

async fn create_source(app: &App, body: Value) -> Value {
    let (status, created) = app.send(Method::POST, "/sources", Some(body)).await;
    assert_eq!(status, 201, "create source failed: {created}");
    created
}

async fn count(app: &App, sql: &'static str, source: &str) -> i64 {
    sqlx::query_scalar(sql)
        .bind(source)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

async fn signals(app: &App, source: &str) -> i64 {
    count(
        app,
        "SELECT count(*) FROM signals WHERE source_id = $1::uuid",
        source,
    )
    .await
}

async fn fetch_job_ids(app: &App, source: &str) -> Vec<String> {
    let rows: Vec<(uuid::Uuid,)> = sqlx::query_as(
        "SELECT id FROM jobs WHERE kind = 'fetch_source' AND args->>'source_id' = $1 ORDER BY id",
    )
    .bind(source)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    rows.into_iter().map(|(id,)| id.to_string()).collect()
}

fn hn_hit(id: u64, at: i64) -> Value {
    json!({"objectID": id.to_string(), "title": format!("Ask HN: {}", words(id, 6)),
           "story_text": format!("<p>{}</p>", words(id + 7919, 24)), "author": "dang",
           "points": 10 * id, "num_comments": id, "created_at_i": at, "_tags": ["story"]})
}

fn hn_page(hits: Vec<Value>) -> ResponseTemplate {
    let n = hits.len();
    ResponseTemplate::new(200).set_body_json(
        json!({"hits": hits, "nbHits": n, "page": 0, "nbPages": 1, "hitsPerPage": 100}),
    )
}

#[tokio::test]
async fn an_hn_search_source_ingests_then_polls_again_without_duplicates() {
    let app = spawn_app().await;
    let hn = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/search_by_date"))
        .and(query_param("query", "roofer"))
        .and(query_param_is_missing("numericFilters"))
        .respond_with(hn_page(vec![
            hn_hit(2, 1_700_000_200),
            hn_hit(1, 1_700_000_100),
        ]))
        .expect(1)
        .mount(&hn)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/search_by_date"))
        .and(query_param("numericFilters", "created_at_i>=1700000200"))
        .respond_with(hn_page(vec![
            hn_hit(3, 1_700_000_300),
            hn_hit(2, 1_700_000_200),
        ]))
        .expect(1)
        .mount(&hn)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/search_by_date"))
        .and(query_param("numericFilters", "created_at_i>=1700000300"))
        .respond_with(hn_page(vec![hn_hit(3, 1_700_000_300)]))
        .expect(1)
        .mount(&hn)
        .await;

    let (status, problem) = app
        .send(
            Method::POST,
            "/sources",
            Some(json!({"kind": "hn_search", "settings": {"query": "roofer", "colour": "red"}})),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["path"], "settings.colour", "{problem}");
    let source = create_source(
        &app,
        json!({"kind": "hn_search", "url": hn.uri(), "poll_every": "1d", "rate_limit_per_min": 6000,
               "settings": {"query": "roofer"}}),
    )
    .await;
    assert_eq!(source["settings"], json!({"query": "roofer"}));
    let id = source["id"].as_str().unwrap().to_owned();

    let _worker = app.spawn_worker(&[("SCHEDULER_TICK_MS", "100")]);
    // The scheduler's first poll.
    wait_until("the first poll to store two signals", T, async || {
        signals(&app, &id).await == 2
    })
    .await;
    wait_until("the cursor to be stored", T, async || {
        let (_, s) = app.send(Method::GET, &format!("/sources/{id}"), None).await;
        s["cursor"] == r#"{"after":1700000200}"#
    })
    .await;
    // Two more polls: the first finds one new and the boundary item again, the second only
    // the boundary item.
    for (inserted, duplicates) in [(1, 1), (0, 1)] {
        let job = app
            .enqueue(json!({"kind": "fetch_source", "args": {"source_id": id}}))
            .await;
        let done = app
            .wait_for_state(job["id"].as_str().unwrap(), &["succeeded"], T)
            .await;
        assert_eq!(done["result"]["inserted"], inserted, "{done}");
        assert_eq!(done["result"]["duplicates"], duplicates, "{done}");
    }
    assert_eq!(signals(&app, &id).await, 3, "each story once");
    let engaged = count(
        &app,
        "SELECT count(*) FROM signals WHERE source_id = $1::uuid AND points = 10 * comments AND comments > 0",
        &id,
    )
    .await;
    assert_eq!(engaged, 3, "engagement is kept on every signal");
}

#[tokio::test]
async fn a_poll_killed_between_pages_resumes_from_the_cursor_its_first_page_stored() {
    let app = spawn_app().await;
    let api = MockServer::start().await;
    let page = |ids: &[u64], next: Option<&str>| {
        let items: Vec<Value> = ids
            .iter()
            .map(|i| json!({"id": i, "title": words(*i, 5), "body": words(*i + 31, 20)}))
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({"data": items, "next": next}))
    };
    Mock::given(method("GET"))
        .and(path("/changes"))
        .and(query_param_is_missing("after"))
        .respond_with(page(&[1, 2], Some("c2")))
        .mount(&api)
        .await;
    // The second page hangs the first time it is asked: the worker is killed meanwhile.
    Mock::given(method("GET"))
        .and(query_param("after", "c2"))
        .respond_with(page(&[3, 4], Some("c4")).set_delay(Duration::from_secs(20)))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&api)
        .await;
    Mock::given(method("GET"))
        .and(query_param("after", "c2"))
        .respond_with(page(&[3, 4], Some("c4")))
        .with_priority(2)
        .mount(&api)
        .await;
    Mock::given(method("GET"))
        .and(query_param("after", "c4"))
        .respond_with(page(&[], None))
        .mount(&api)
        .await;
    let source = create_source(
        &app,
        json!({"kind": "json_api", "url": format!("{}/changes", api.uri()), "poll_every": "1d",
               "rate_limit_per_min": 6000,
               "settings": {"items": "/data", "fields": {"id": "/id", "title": "/title", "text": "/body"},
                            "paging": {"cursor": "/next", "param": "after"}}}),
    )
    .await;
    let id = source["id"].as_str().unwrap().to_owned();

    let mut first = app.spawn_worker(&[("SCHEDULER_TICK_MS", "100")]);
    let asked = |q: &'static str| {
        let api = &api;
        async move {
            api.received_requests()
                .await
                .unwrap_or_default()
                .iter()
                .filter(|r| r.url.query().unwrap_or_default().contains(q))
                .count()
        }
    };
    wait_until("the poll to ask for the second page", T, async || {
        asked("after=c2").await == 1
    })
    .await;
    assert_eq!(signals(&app, &id).await, 2, "the first page is stored");
    let (_, stored) = app.send(Method::GET, &format!("/sources/{id}"), None).await;
    assert_eq!(stored["cursor"], r#"{"next":"c2"}"#, "{stored}");
    first.signal("KILL");
    first.wait_exit(T).await.unwrap();

    let _second = app.spawn_worker(&[("SCHEDULER_TICK_MS", "100")]);
    let jobs = fetch_job_ids(&app, &id).await;
    assert_eq!(jobs.len(), 1, "one poll, rescued: {jobs:?}");
    let done = app.wait_for_state(&jobs[0], &["succeeded"], T).await;
    assert_eq!(done["attempts"], 2, "{done}");
    assert_eq!(
        done["result"]["inserted"], 2,
        "only the second page was new: {done}"
    );
    assert_eq!(signals(&app, &id).await, 4, "every item once");
    let from_scratch = api
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| !r.url.query().unwrap_or_default().contains("after="))
        .count();
    assert_eq!(
        from_scratch, 1,
        "the rescued poll resumed from the stored cursor"
    );
    let (_, stored) = app.send(Method::GET, &format!("/sources/{id}"), None).await;
    assert_eq!(stored["cursor"], r#"{"next":"c4"}"#, "{stored}");
}

#[tokio::test]
async fn a_preview_maps_a_sample_answer_and_stores_nothing() {
    let app = spawn_app_with(&[("ALLOW_PRIVATE_NETWORKS", "true")]).await;
    let api = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/posts"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"result": {"posts": [
            {"uid": 7, "headline": "Need a <b>bookkeeper</b>", "html": "<p>Small shop<script>x()</script></p>",
             "by": {"name": "Ann"}, "at": 1_717_000_000, "votes": {"up": 9}},
            {"uid": 8, "headline": "Second", "at": "2024-06-01T00:00:00Z"}
        ]}, "cursor": {"next": "p2"}})))
        .mount(&api)
        .await;
    Mock::given(method("GET"))
        .and(path("/down"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&api)
        .await;
    let body = |url: String, items: &str| {
        json!({"kind": "json_api", "url": url,
               "settings": {"items": items,
                            "fields": {"id": "/uid", "title": "/headline", "text": "/html", "author": "/by/name",
                                       "published": "/at", "likes": "/votes/up"},
                            "paging": {"cursor": "/cursor/next", "param": "page"}}})
    };
    let (status, preview) = app
        .send(
            Method::POST,
            "/sources/preview",
            Some(body(format!("{}/v2/posts", api.uri()), "/result/posts")),
        )
        .await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["total_items"], 2);
    assert_eq!(preview["cursor"], r#"{"next":"p2"}"#);
    let first = &preview["items"][0];
    assert_eq!(first["external_id"], "7");
    assert_eq!(first["title"], "Need a bookkeeper");
    assert_eq!(
        first["text"], "Small shop",
        "sanitised as it would be stored: {first}"
    );
    assert_eq!(first["author"], "Ann");
    assert_eq!(first["engagement"]["likes"], 9);
    assert!(
        first["published_at"]
            .as_str()
            .unwrap()
            .starts_with("2024-05-29T16:26:40"),
        "epoch seconds: {first}"
    );

    // A mapping that does not fit the answer, an API that fails, a feed kind, hostile input.
    let (status, problem) = app
        .send(
            Method::POST,
            "/sources/preview",
            Some(body(format!("{}/v2/posts", api.uri()), "/result/items")),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["path"], "settings", "{problem}");
    let (status, problem) = app
        .send(
            Method::POST,
            "/sources/preview",
            Some(body(format!("{}/down", api.uri()), "/result/posts")),
        )
        .await;
    assert_eq!(status, 502, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("503"),
        "{problem}"
    );
    let (status, problem) = app
        .send(
            Method::POST,
            "/sources/preview",
            Some(json!({"kind": "rss", "url": format!("{}/v2/posts", api.uri())})),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["path"], "kind", "{problem}");
    for hostile in [
        json!({"kind": "json_api", "url": "https://a.example/x", "settings": {"items": "/a\u{0}", "fields": {"id": "/a", "text": "/b"}}}),
        json!({"kind": "json_api", "url": "https://a.example/x", "settings": {"items": "/a".repeat(5000), "fields": {"id": "/a", "text": "/b"}}}),
        json!({"kind": "json_api", "url": "https://a.example/x", "settings": [1, 2]}),
        json!({"kind": "hn_search", "settings": {"query": {"nested": true}}}),
    ] {
        let (status, problem) = app
            .send(Method::POST, "/sources/preview", Some(hostile.clone()))
            .await;
        assert_eq!(status, 422, "{hostile}: {problem}");
    }
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM sources")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, 0, "a preview stores nothing");

    // Without ALLOW_PRIVATE_NETWORKS, the sample fetch of a private address is refused.
    let guarded = spawn_app().await;
    let (status, problem) = guarded
        .send(
            Method::POST,
            "/sources/preview",
            Some(body(format!("{}/v2/posts", api.uri()), "/result/posts")),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["path"], "url", "{problem}");
}

fn status(id: u64) -> Value {
    json!({"id": id.to_string(), "uri": format!("https://social.example/users/ann/statuses/{id}"),
           "url": format!("https://social.example/@ann/{id}"), "content": format!("<p>{}</p>", words(id, 20)),
           "account": {"acct": "ann", "username": "ann"}, "created_at": "2024-02-01T10:00:00.000Z",
           "favourites_count": id, "reblogs_count": 1, "replies_count": 2, "spoiler_text": ""})
}

fn post(n: u64, at: &str) -> Value {
    json!({"uri": format!("at://did:plc:ann/app.bsky.feed.post/3k{n}"), "cid": "c",
           "author": {"did": "did:plc:ann", "handle": "ann.bsky.social"},
           "record": {"$type": "app.bsky.feed.post", "text": words(n + 500, 20), "createdAt": at},
           "indexedAt": at, "likeCount": n, "repostCount": 0, "replyCount": 1})
}

/// Polls `id` once more through the queue; the job's result.
async fn poll(app: &App, id: &str) -> Value {
    let job = app
        .enqueue(json!({"kind": "fetch_source", "args": {"source_id": id}}))
        .await;
    let done = app
        .wait_for_state(job["id"].as_str().unwrap(), &["succeeded"], T)
        .await;
    done["result"].clone()
}

#[tokio::test]
async fn mastodon_and_bluesky_sources_ingest_then_poll_again_without_duplicates() {
    let app = spawn_app().await;
    let server = MockServer::start().await;
    let link = |min_id: u64| {
        format!(
            "<{}/api/v1/timelines/tag/roofing?max_id=1>; rel=\"next\", <{}/api/v1/timelines/tag/roofing?min_id={min_id}>; rel=\"prev\"",
            server.uri(),
            server.uri()
        )
    };
    Mock::given(method("GET"))
        .and(path("/api/v1/timelines/tag/roofing"))
        .and(query_param_is_missing("min_id"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("link", link(108).as_str())
                .set_body_json(json!([status(108), status(107)])),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/timelines/tag/roofing"))
        .and(query_param("min_id", "108"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("link", link(109).as_str())
                .set_body_json(json!([status(109)])),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/timelines/tag/roofing"))
        .and(query_param("min_id", "109"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/xrpc/app.bsky.feed.searchPosts"))
        .and(query_param_is_missing("since"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"posts": [
            post(2, "2024-03-01T10:00:02.000Z"), post(1, "2024-03-01T10:00:01.000Z")]})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/xrpc/app.bsky.feed.searchPosts"))
        .and(query_param("since", "2024-03-01T10:00:02.000Z"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"posts": [
            post(3, "2024-03-01T10:00:03.000Z"), post(2, "2024-03-01T10:00:02.000Z")]})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/xrpc/app.bsky.feed.searchPosts"))
        .and(query_param("since", "2024-03-01T10:00:03.000Z"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"posts": []})))
        .expect(1)
        .mount(&server)
        .await;
    let mastodon = create_source(
        &app,
        json!({"kind": "mastodon", "url": server.uri(), "poll_every": "1d", "rate_limit_per_min": 6000,
               "settings": {"tag": "#roofing"}}),
    )
    .await;
    assert_eq!(mastodon["settings"], json!({"tag": "roofing"}));
    let bluesky = create_source(
        &app,
        json!({"kind": "bluesky_search", "url": server.uri(), "poll_every": "1d", "rate_limit_per_min": 6000,
               "settings": {"query": "roofer"}}),
    )
    .await;
    let (mastodon, bluesky) = (
        mastodon["id"].as_str().unwrap().to_owned(),
        bluesky["id"].as_str().unwrap().to_owned(),
    );
    let _worker = app.spawn_worker(&[("SCHEDULER_TICK_MS", "100")]);
    wait_until("the first polls", T, async || {
        signals(&app, &mastodon).await == 2 && signals(&app, &bluesky).await == 2
    })
    .await;
    wait_until("the first polls to finish", T, async || {
        let mut done = true;
        for id in [&mastodon, &bluesky] {
            for job in fetch_job_ids(&app, id).await {
                done &= app.job(&job).await["state"] == "succeeded";
            }
        }
        done
    })
    .await;
    let again = poll(&app, &mastodon).await;
    assert_eq!(
        (again["inserted"].clone(), again["duplicates"].clone()),
        (json!(1), json!(0)),
        "{again}"
    );
    let again = poll(&app, &bluesky).await;
    assert_eq!(
        (again["inserted"].clone(), again["duplicates"].clone()),
        (json!(1), json!(1)),
        "{again}"
    );
    for id in [&mastodon, &bluesky] {
        let quiet = poll(&app, id).await;
        assert_eq!(quiet["inserted"], 0, "{quiet}");
        assert_eq!(signals(&app, id).await, 3);
    }
    let (_, m) = app
        .send(Method::GET, &format!("/sources/{mastodon}"), None)
        .await;
    assert_eq!(
        m["cursor"], r#"{"min_id":"109"}"#,
        "kept over an empty page: {m}"
    );
    let (_, b) = app
        .send(Method::GET, &format!("/sources/{bluesky}"), None)
        .await;
    assert_eq!(b["cursor"], r#"{"since":"2024-03-01T10:00:03Z"}"#, "{b}");
    let liked = count(
        &app,
        "SELECT count(*) FROM signals WHERE source_id = $1::uuid AND likes > 0 AND comments = 1",
        &bluesky,
    )
    .await;
    assert_eq!(liked, 3, "engagement is kept");
}

#[tokio::test]
async fn an_x_search_source_sends_its_token_ingests_and_polls_again_without_duplicates() {
    let app = spawn_app().await;
    let x = MockServer::start().await;
    let token = "AAAAAAAAAAAAAAAAAAAAAE2eToken%2Bfor%2Btests";
    let answer = |ids: &[u64]| {
        let data: Vec<Value> = ids
            .iter()
            .map(|id| json!({"id": id.to_string(), "text": words(*id, 20), "author_id": "7",
                             "created_at": "2024-04-01T12:00:00.000Z",
                             "public_metrics": {"retweet_count": 0, "reply_count": 1, "like_count": 3, "quote_count": 0}}))
            .collect();
        let meta = match (ids.first(), ids.last()) {
            (Some(n), Some(o)) => {
                json!({"result_count": ids.len(), "newest_id": n.to_string(), "oldest_id": o.to_string()})
            }
            _ => json!({"result_count": 0}),
        };
        ResponseTemplate::new(200)
            .insert_header("x-rate-limit-remaining", "440")
            .insert_header("x-rate-limit-reset", "1900000000")
            .set_body_json(json!({"data": data, "includes": {"users": [{"id": "7", "username": "bo", "name": "Bo"}]}, "meta": meta}))
    };
    let bearer = format!("Bearer {token}");
    Mock::given(method("GET"))
        .and(path("/2/tweets/search/recent"))
        .and(wiremock::matchers::header("authorization", bearer.as_str()))
        .and(query_param_is_missing("since_id"))
        .respond_with(answer(&[20, 10]))
        .expect(1)
        .mount(&x)
        .await;
    Mock::given(method("GET"))
        .and(path("/2/tweets/search/recent"))
        .and(wiremock::matchers::header("authorization", bearer.as_str()))
        .and(query_param("since_id", "20"))
        .respond_with(answer(&[30]))
        .expect(1)
        .mount(&x)
        .await;
    Mock::given(method("GET"))
        .and(path("/2/tweets/search/recent"))
        .and(query_param("since_id", "30"))
        .respond_with(answer(&[]))
        .expect(1)
        .mount(&x)
        .await;
    let (status, problem) = app
        .send(
            Method::POST,
            "/sources",
            Some(json!({"kind": "x_search", "settings": {"query": "need a plumber"}})),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(
        problem["errors"][0]["path"], "secret",
        "a token is required: {problem}"
    );
    let source = create_source(
        &app,
        json!({"kind": "x_search", "url": x.uri(), "poll_every": "1d", "rate_limit_per_min": 6000,
               "secret": token, "settings": {"query": "need a plumber"}}),
    )
    .await;
    assert_eq!(source["has_secret"], true);
    assert!(
        !source.to_string().contains(token),
        "the token is never shown"
    );
    let id = source["id"].as_str().unwrap().to_owned();
    let _worker = app.spawn_worker(&[("SCHEDULER_TICK_MS", "100")]);
    wait_until("the first poll", T, async || signals(&app, &id).await == 2).await;
    wait_until("the first poll to finish", T, async || {
        let mut done = true;
        for job in fetch_job_ids(&app, &id).await {
            done &= app.job(&job).await["state"] == "succeeded";
        }
        done
    })
    .await;
    assert_eq!(poll(&app, &id).await["inserted"], 1);
    assert_eq!(poll(&app, &id).await["inserted"], 0);
    assert_eq!(signals(&app, &id).await, 3);
    let (_, s) = app.send(Method::GET, &format!("/sources/{id}"), None).await;
    assert_eq!(s["cursor"], r#"{"since_id":"30"}"#, "{s}");
    let (status, audit) = app.send(Method::GET, "/audit?limit=100", None).await;
    assert_eq!(status, 200, "{audit}");
    assert!(audit.to_string().contains("source.create"), "{audit}");
    assert!(
        !audit.to_string().contains(token),
        "the token is in no audit entry"
    );
}
