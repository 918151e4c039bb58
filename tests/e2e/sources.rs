//! Sources and signals, end to end: feeds in every format with real-world quirks served by
//! wiremock, polled by real workers; duplicates, near duplicates and gates; politeness (rate
//! limit, Retry-After, the circuit breaker) shared by the fleet; failures that must be clear;
//! push with signatures; the signals api, export, GDPR erase and retention.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use e2e::{App, spawn_app, wait_until};
use reqwest::Method;
use serde_json::{Value, json};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{header, method, path},
};

const T: Duration = Duration::from_secs(30);

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/feeds")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn feed(name: &str, content_type: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(fixture(name), content_type)
}

async fn create_source(app: &App, body: Value) -> Value {
    let res = app
        .request(Method::POST, "/sources")
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 201, "create source failed: {body}");
    body
}

async fn get(app: &App, path: &str) -> Value {
    let res = app.request(Method::GET, path).send().await.unwrap();
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

async fn scalar(app: &App, sql: &'static str, source: &str) -> i64 {
    sqlx::query_scalar(sql)
        .bind(source)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// Jobs of `source` in `states`.
async fn fetch_jobs(app: &App, source: &str) -> Vec<Value> {
    let rows: Vec<(uuid::Uuid,)> = sqlx::query_as(
        "SELECT id FROM jobs WHERE kind = 'fetch_source' AND args->>'source_id' = $1 ORDER BY id",
    )
    .bind(source)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let mut jobs = vec![];
    for (id,) in rows {
        jobs.push(app.job(&id.to_string()).await);
    }
    jobs
}

async fn enqueue_fetch(app: &App, source: &str) -> String {
    let job = app
        .enqueue(json!({"kind": "fetch_source", "args": {"source_id": source}}))
        .await;
    job["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn sources_are_validated_tenant_scoped_role_checked_and_audited() {
    let app = spawn_app().await;
    let res = app
        .request(Method::POST, "/sources")
        .json(&json!({"kind": "rss", "url": "ftp://example.com/feed", "tags": ["a"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let problem: Value = res.json().await.unwrap();
    assert_eq!(problem["errors"][0]["path"], "url", "{problem}");
    let res = app
        .request(Method::POST, "/sources")
        .json(&json!({"kind": "rss", "url": "https://e.example/f", "tags": ["ok", ""]}))
        .send()
        .await
        .unwrap();
    let problem: Value = res.json().await.unwrap();
    assert_eq!(problem["errors"][0]["path"], "tags[1]", "{problem}");

    let source = create_source(
        &app,
        json!({"kind": "atom", "url": "https://Blog.example/feed.atom#x", "poll_every": "2h",
               "enabled": false, "tags": ["blogs"], "rate_limit_per_min": 30}),
    )
    .await;
    let id = source["id"].as_str().unwrap();
    assert_eq!(source["url"], "https://blog.example/feed.atom");
    assert_eq!(source["host"], "blog.example");
    assert_eq!(source["poll_every_secs"], 7200);
    assert_eq!(source["rate_limit_per_min"], 30);
    let push = create_source(
        &app,
        json!({"kind": "push", "secret": "a-long-enough-secret"}),
    )
    .await;
    assert_eq!(push["has_secret"], true);
    assert!(push.get("secret").is_none(), "the secret is never shown");

    let listed = get(&app, "/sources?tag=blogs").await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    let page = get(&app, "/sources?limit=1").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert!(page["next_cursor"].is_string());

    let res = app
        .request(Method::PATCH, &format!("/sources/{id}"))
        .json(&json!({"enabled": true, "poll_every": 600}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let changed: Value = res.json().await.unwrap();
    assert_eq!(
        (
            changed["enabled"].clone(),
            changed["poll_every_secs"].clone()
        ),
        (json!(true), json!(600))
    );
    let res = app
        .request(Method::PATCH, &format!("/sources/{id}"))
        .json(&json!({"kind": "rss"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);

    // Another tenant sees nothing; a viewer reads but cannot write.
    let other = app.create_key("globex", "admin").await;
    let res = app
        .http
        .get(format!("{}/api/v1/sources/{id}", app.base))
        .header("X-API-Key", &other)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let res = app
        .http
        .delete(format!("{}/api/v1/sources/{id}", app.base))
        .header("X-API-Key", &other)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let viewer = app.create_key("acme", "viewer").await;
    let res = app
        .http
        .get(format!("{}/api/v1/sources/{id}", app.base))
        .header("X-API-Key", &viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = app
        .http
        .post(format!("{}/api/v1/sources", app.base))
        .header("X-API-Key", &viewer)
        .json(&json!({"kind": "push"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    let res = app
        .request(Method::DELETE, &format!("/sources/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let res = app
        .request(Method::GET, &format!("/sources/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);

    let actions: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit_log WHERE target_id = $1 ORDER BY at")
            .bind(id)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(actions, ["source.create", "source.update", "source.delete"]);
    let redacted: Value = sqlx::query_scalar(
        "SELECT after FROM audit_log WHERE target_id = $1 AND action = 'source.create'",
    )
    .bind(push["id"].as_str().unwrap())
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(!redacted.to_string().contains("a-long-enough-secret"));
}

#[tokio::test]
async fn feeds_in_every_format_become_sanitised_signals_once() {
    let app = spawn_app().await;
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/forum/rss"))
        .and(header("if-none-match", "\"v1\""))
        .respond_with(ResponseTemplate::new(304))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/forum/rss"))
        .respond_with(feed("rss_quirks.xml", "application/rss+xml").insert_header("etag", "\"v1\""))
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/blog/atom"))
        .respond_with(feed("atom.xml", "application/atom+xml"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/solar/feed.json"))
        .respond_with(
            // Served gzipped: the client decompresses (and caps what it decompresses).
            feed("feed.json.gz", "application/feed+json").insert_header("content-encoding", "gzip"),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/r/HomeImprovement/new.json"))
        .respond_with(feed("reddit.json", "application/json; charset=UTF-8"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/cafe/rss"))
        .respond_with(feed(
            "latin1.xml",
            "application/rss+xml; charset=ISO-8859-1",
        ))
        .mount(&server)
        .await;

    let mut ids = std::collections::BTreeMap::new();
    for (kind, p) in [
        ("rss", "/forum/rss"),
        ("atom", "/blog/atom"),
        ("json_feed", "/solar/feed.json"),
        ("reddit_listing", "/r/HomeImprovement/new.json"),
        ("rss", "/cafe/rss"),
    ] {
        let s = create_source(
            &app,
            json!({"kind": kind, "url": format!("{}{p}", server.uri()), "poll_every": "1h", "rate_limit_per_min": 6000}),
        )
        .await;
        ids.insert(p, s["id"].as_str().unwrap().to_owned());
    }
    let worker = app.spawn_worker(&[("SCHEDULER_TICK_MS", "100")]);
    // Every source is due at once: one poll each.
    for id in ids.values() {
        wait_until("the first poll", T, async || {
            let jobs = fetch_jobs(&app, id).await;
            jobs.len() == 1 && jobs[0]["state"] == "succeeded"
        })
        .await;
    }
    let rss = &ids["/forum/rss"];
    let job = &fetch_jobs(&app, rss).await[0];
    assert_eq!(job["result"]["items"], 5, "{job}");
    assert_eq!(job["result"]["inserted"], 3, "{job}");
    assert_eq!(job["result"]["near_duplicates"], 1, "the repost: {job}");
    assert_eq!(job["result"]["rejected"]["too_short"], 1, "{job}");

    let all = get(&app, "/signals?state=new&limit=100").await;
    let items = all["items"].as_array().unwrap();
    let text = all.to_string();
    for bad in [
        "<script",
        "onclick",
        "onmouseover",
        "onerror",
        "<style",
        "<iframe",
        "alert(",
        "utm_source",
        "fbclid",
    ] {
        assert!(!text.contains(bad), "{bad} survived ingest");
    }
    let by_title = |needle: &str| -> Value {
        items
            .iter()
            .find(|s| s["title"].as_str().unwrap_or_default().contains(needle))
            .unwrap_or_else(|| panic!("no signal titled {needle:?} in {all}"))
            .clone()
    };
    // CDATA with HTML in the title, a relative link resolved, tracking parameters dropped.
    let plumber = by_title("Need a plumber in Austin");
    assert_eq!(
        plumber["title"],
        "Need a plumber in Austin — water heater leaking"
    );
    assert_eq!(plumber["url"], format!("{}/threads/101", server.uri()));
    assert_eq!(plumber["author"], "alice");
    assert!(
        plumber["body_html"]
            .as_str()
            .unwrap()
            .contains(&format!("href=\"{}/members/alice\"", server.uri()))
    );
    assert!(
        plumber["body_text"]
            .as_str()
            .unwrap()
            .contains("who shows up on time? my profile")
    );
    assert_eq!(plumber["language"], "eng");
    // Entities, a fragment dropped, a missing date.
    let roof = by_title("Roof repair quotes");
    assert_eq!(roof["title"], "Roof repair quotes – are these fair?");
    assert!(
        roof["body_text"]
            .as_str()
            .unwrap()
            .contains("Tom & Jerry's Roofing")
    );
    assert_eq!(roof["url"], "https://forum.example/threads/102");
    let garage = by_title("electrician");
    assert!(garage["published_at"].is_null());
    assert_eq!(garage["url"], format!("{}/forum/threads/103", server.uri()));
    // Atom with xml:base, gzipped JSON Feed, Reddit, and Latin-1 by the HTTP charset.
    let heat = by_title("heat pump");
    assert_eq!(heat["title"], "Choosing a heat pump installer");
    assert_eq!(heat["url"], "https://blog.example/posts/heat-pumps");
    assert_eq!(heat["author"], "Bob Builder");
    assert_eq!(
        by_title("battery backup")["url"],
        "https://solar.example/posts/1"
    );
    let denver = by_title("roofer in Denver");
    assert!(
        denver["body_text"]
            .as_str()
            .unwrap()
            .contains("reliable & licensed")
    );
    assert_eq!(denver["author"], "denver_dad");
    let cafe = by_title("espresso");
    assert_eq!(
        cafe["title"],
        "Café owner needs a new espresso machine installed"
    );
    assert_eq!(cafe["language"], "fra");
    assert!(
        items.iter().all(|s| s["state"] == "new"),
        "listings show what was kept: {all}"
    );
    let spam = scalar(
        &app,
        "SELECT count(*) FROM signals WHERE source_id = $1::uuid AND discard_reason = 'repeated_chars'",
        &ids["/r/HomeImprovement/new.json"],
    )
    .await;
    assert_eq!(spam, 1, "the spam post is discarded with its reason");

    // Polling again: the RSS server answers 304 to the stored ETag; the others repeat
    // themselves and nothing is stored twice.
    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM signals")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    for id in ids.values() {
        let job = enqueue_fetch(&app, id).await;
        let done = app.wait_for_state(&job, &["succeeded"], T).await;
        if id == rss {
            assert_eq!(done["result"]["status"], 304, "{done}");
        } else {
            assert_eq!(done["result"]["inserted"], 0, "{done}");
        }
    }
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM signals")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(before, after);
    let quality = get(&app, "/signals/quality").await;
    let total: i64 = quality["rejections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["count"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 2, "each refused item is counted once: {quality}");
    drop(worker);
}

#[tokio::test]
async fn concurrent_fetches_of_the_same_feed_store_each_item_once() {
    let app = spawn_app().await;
    let server = MockServer::start().await;
    let body: String = {
        let mut items = String::new();
        for i in 0..200 {
            items.push_str(&format!(
                "<item><title>Request {i} for a contractor</title><guid>g{i}</guid><link>/p/{i}</link>\
                 <description>Homeowner number {i} describes job {} in enough words to pass the gates, case {}.</description></item>",
                i * 7919 % 997,
                i * 31
            ));
        }
        format!("<rss version=\"2.0\"><channel><title>big</title>{items}</channel></rss>")
    };
    Mock::given(method("GET"))
        .and(path("/feed"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(body, "application/rss+xml")
                .set_delay(Duration::from_millis(300)),
        )
        .mount(&server)
        .await;
    // Two sources of one tenant on the same feed, fetched by two workers at once.
    let mut sources = vec![];
    for _ in 0..2 {
        let s = create_source(
            &app,
            json!({"kind": "rss", "url": format!("{}/feed", server.uri()), "poll_every": "1d", "rate_limit_per_min": 6000}),
        )
        .await;
        sources.push(s["id"].as_str().unwrap().to_owned());
    }
    let _w1 = app.spawn_worker(&[]);
    let _w2 = app.spawn_worker(&[]);
    let jobs: Vec<Value> = (0..8)
        .map(|i| json!({"kind": "fetch_source", "args": {"source_id": sources[i % 2]}}))
        .collect();
    let res = app
        .request(Method::POST, "/jobs/batch")
        .json(&json!({"jobs": jobs}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    // With the two scheduled polls, ten fetches of one feed race.
    let mut inserted = 0;
    let mut ids = vec![];
    for s in &sources {
        ids.extend(
            fetch_jobs(&app, s)
                .await
                .iter()
                .map(|j| j["id"].as_str().unwrap().to_owned()),
        );
    }
    assert!(ids.len() >= 8);
    for id in &ids {
        let done = app.wait_for_state(id, &["succeeded", "dead"], T).await;
        assert_eq!(done["state"], "succeeded", "{done}");
        inserted += done["result"]["inserted"].as_i64().unwrap_or(0);
    }
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM signals")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(rows, 200, "every item once");
    assert!(
        inserted <= 200,
        "no two fetches claimed the same item ({inserted})"
    );
}

#[tokio::test]
async fn failures_are_clear_and_recorded_on_the_source() {
    let app = spawn_app().await;
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/malformed"))
        .respond_with(feed("malformed.xml", "application/rss+xml"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/loop"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "/loop"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/huge"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(vec![b'a'; 300_000], "application/rss+xml"),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/slow"))
        .respond_with(feed("atom.xml", "application/atom+xml").set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/gone"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let _worker = app.spawn_worker(&[("FETCH_TIMEOUT_MS", "500"), ("FETCH_MAX_BYTES", "100000")]);
    for (p, expect_state, expect_error) in [
        ("/malformed", "dead", "malformed feed"),
        ("/loop", "dead", "redirect"),
        ("/huge", "dead", "larger than 100000 bytes"),
        ("/gone", "dead", "HTTP 404"),
        ("/slow", "failed", "timed out"),
    ] {
        let s = create_source(
            &app,
            json!({"kind": "rss", "url": format!("{}{p}", server.uri()), "poll_every": "1d", "rate_limit_per_min": 6000}),
        )
        .await;
        let id = s["id"].as_str().unwrap().to_owned();
        wait_until(p, T, async || {
            fetch_jobs(&app, &id)
                .await
                .first()
                .is_some_and(|j| j["state"] == expect_state)
        })
        .await;
        let job = &fetch_jobs(&app, &id).await[0];
        if expect_state == "dead" {
            assert_eq!(
                job["attempts"], 1,
                "{p}: a permanent failure spends one attempt: {job}"
            );
        } else {
            // A retry may have started by now (the backoff is short): read the first attempt.
            assert!(job["attempts"].as_i64() >= Some(1), "{p}: {job}");
        }
        let error = job["errors"][0]["error"].as_str().unwrap_or_default();
        assert!(error.contains(expect_error), "{p}: {error}");
        let source = get(&app, &format!("/sources/{id}")).await;
        assert!(
            source["last_error"]
                .as_str()
                .unwrap_or_default()
                .contains(expect_error),
            "{p}: {source}"
        );
    }
    let hosts = get(&app, "/hosts").await;
    let host = &hosts["items"][0];
    assert!(
        host["last_error"].as_str().unwrap().contains("timed out"),
        "{hosts}"
    );
}

#[tokio::test]
async fn a_rate_limited_fetch_waits_for_its_slot_without_spending_an_attempt() {
    let app = spawn_app().await;
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/feed"))
        .respond_with(feed("atom.xml", "application/atom+xml"))
        .mount(&server)
        .await;
    // 30 a minute: one request every 2 s to this host, across both workers.
    let s = create_source(
        &app,
        json!({"kind": "atom", "url": format!("{}/feed", server.uri()), "poll_every": "1d", "rate_limit_per_min": 30}),
    )
    .await;
    let id = s["id"].as_str().unwrap().to_owned();
    let _w1 = app.spawn_worker(&[]);
    let _w2 = app.spawn_worker(&[]);
    for _ in 0..3 {
        enqueue_fetch(&app, &id).await;
    }
    // The scheduled poll and the three fetches all compete for the host's slots.
    wait_until("the scheduled poll", T, async || {
        fetch_jobs(&app, &id).await.len() == 4
    })
    .await;
    for job in fetch_jobs(&app, &id).await {
        let done = app
            .wait_for_state(job["id"].as_str().unwrap(), &["succeeded"], T)
            .await;
        assert_eq!(done["attempts"], 1, "waiting spent no attempt: {done}");
        assert_eq!(done["errors"], json!([]), "{done}");
    }
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 4, "the scheduled poll and three fetches");
    let started: Vec<_> = fetch_jobs(&app, &id)
        .await
        .iter()
        .map(|j| chrono::DateTime::parse_from_rfc3339(j["started_at"].as_str().unwrap()).unwrap())
        .collect();
    let mut started = started;
    started.sort();
    for pair in started.windows(2) {
        let gap = (pair[1] - pair[0]).num_milliseconds();
        // The spacing less the catch-up window (200 ms) and the gap between a job's start
        // and its request.
        assert!(gap >= 1700, "requests about 2 s apart, got {gap} ms");
    }
}

#[tokio::test]
async fn a_429_blocks_the_host_for_its_retry_after() {
    let app = spawn_app().await;
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/feed"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "3"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/feed"))
        .respond_with(feed("atom.xml", "application/atom+xml"))
        .with_priority(2)
        .mount(&server)
        .await;
    let s = create_source(
        &app,
        json!({"kind": "atom", "url": format!("{}/feed", server.uri()), "poll_every": "1d", "rate_limit_per_min": 6000}),
    )
    .await;
    let id = s["id"].as_str().unwrap().to_owned();
    let _worker = app.spawn_worker(&[]);
    wait_until("the 429", T, async || {
        fetch_jobs(&app, &id)
            .await
            .first()
            .is_some_and(|j| j["state"] == "failed")
    })
    .await;
    let hosts = get(&app, "/hosts").await;
    assert!(hosts["items"][0]["blocked_until"].is_string(), "{hosts}");
    assert_eq!(
        hosts["items"][0]["circuit"], "closed",
        "a 429 is not a failure of the host"
    );
    // Another fetch of the same host waits too (no attempt spent), then both succeed.
    let other = enqueue_fetch(&app, &id).await;
    let first = fetch_jobs(&app, &id).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let t0 = Instant::now();
    let done = app.wait_for_state(&first, &["succeeded"], T).await;
    assert_eq!(done["attempts"], 2, "{done}");
    let done = app.wait_for_state(&other, &["succeeded"], T).await;
    assert_eq!(
        done["attempts"], 1,
        "it waited without spending an attempt: {done}"
    );
    assert!(
        t0.elapsed() >= Duration::from_millis(1500),
        "it waited for Retry-After"
    );
}

#[tokio::test]
async fn a_500_storm_opens_the_circuit_and_a_probe_closes_it() {
    let app = spawn_app().await;
    let server = MockServer::start().await;
    // When each request reached the host.
    let arrivals = Arc::new(Mutex::new(Vec::<DateTime<Utc>>::new()));
    let arriving = |answer: ResponseTemplate| {
        let arrivals = arrivals.clone();
        move |_: &wiremock::Request| {
            arrivals.lock().unwrap().push(Utc::now());
            answer.clone()
        }
    };
    Mock::given(method("GET"))
        .and(path("/feed"))
        .respond_with(arriving(ResponseTemplate::new(500)))
        .up_to_n_times(3)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/feed"))
        .respond_with(arriving(feed("atom.xml", "application/atom+xml")))
        .with_priority(2)
        .mount(&server)
        .await;
    let s = create_source(
        &app,
        json!({"kind": "atom", "url": format!("{}/feed", server.uri()), "poll_every": "1d", "rate_limit_per_min": 6000}),
    )
    .await;
    let id = s["id"].as_str().unwrap().to_owned();
    let cooldown = chrono::Duration::milliseconds(4000);
    let _worker = app.spawn_worker(&[
        ("CIRCUIT_FAILURE_THRESHOLD", "3"),
        ("CIRCUIT_COOLDOWN_MS", "4000"),
        ("WORKER_CONCURRENCY_FETCH_SOURCE", "1"),
    ]);
    // The scheduled poll and two more: three 500s in a row.
    for _ in 0..2 {
        enqueue_fetch(&app, &id).await;
    }
    let host = wait_until("the circuit to open", T, async || {
        let hosts = get(&app, "/hosts").await;
        if hosts["items"][0]["circuit"] == "open" {
            Ok(hosts["items"][0].clone())
        } else {
            Err(hosts)
        }
    })
    .await;
    assert_eq!(host["consecutive_failures"], 3, "{host}");
    let opened_at: DateTime<Utc> = host["opened_at"].as_str().unwrap().parse().unwrap();
    // A new fetch waits for the circuit without spending attempts…
    let waiting = enqueue_fetch(&app, &id).await;
    let job = wait_until("the fetch to wait", T, async || {
        let job = app.job(&waiting).await;
        if job["state"] == "scheduled" {
            Ok(job)
        } else {
            Err(job)
        }
    })
    .await;
    assert_eq!(
        job["attempts"], 0,
        "no attempt spent while the circuit is open: {job}"
    );
    // …then the probe succeeds, the circuit closes and everything completes.
    let done = app.wait_for_state(&waiting, &["succeeded"], T).await;
    assert_eq!(done["attempts"], 1, "{done}");
    for job in fetch_jobs(&app, &id).await {
        app.wait_for_state(job["id"].as_str().unwrap(), &["succeeded"], T)
            .await;
    }
    let host = wait_until("the probe to close the circuit", T, async || {
        let hosts = get(&app, "/hosts").await;
        if hosts["items"][0]["circuit"] == "closed" {
            Ok(hosts["items"][0].clone())
        } else {
            Err(hosts)
        }
    })
    .await;
    assert_eq!(host["consecutive_failures"], 0, "{host}");
    // Nothing reached the host while its circuit was open: the storm came before, the probe
    // and everything else after the cooldown.
    let arrivals = arrivals.lock().unwrap().clone();
    let reopened_at = opened_at + cooldown;
    assert_eq!(
        arrivals.iter().filter(|at| **at < opened_at).count(),
        3,
        "the storm: {arrivals:?}, the circuit opened at {opened_at}"
    );
    assert!(
        arrivals
            .iter()
            .all(|at| *at < opened_at || *at >= reopened_at),
        "nothing reaches an open host (open from {opened_at} to {reopened_at}): {arrivals:?}"
    );
}

#[tokio::test]
async fn sources_are_polled_once_per_interval_however_many_workers_run() {
    const POLLS: usize = 4;
    let interval_ms: i64 = 2000;
    let app = spawn_app().await;
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/feed"))
        .respond_with(feed("atom.xml", "application/atom+xml"))
        .mount(&server)
        .await;
    let workers: Vec<_> = (0..3)
        .map(|_| app.spawn_worker(&[("SCHEDULER_TICK_MS", "50")]))
        .collect();
    for worker in &workers {
        worker.wait_for_line("worker running", T).await;
    }
    let s = create_source(
        &app,
        json!({"kind": "atom", "url": format!("{}/feed", server.uri()), "poll_every": 2, "rate_limit_per_min": 6000}),
    )
    .await;
    let id = s["id"].as_str().unwrap().to_owned();
    let jobs = wait_until(&format!("{POLLS} polls"), T, async || {
        let jobs = fetch_jobs(&app, &id).await;
        if jobs.len() >= POLLS {
            Ok(jobs)
        } else {
            Err(format!("{} polls", jobs.len()))
        }
    })
    .await;
    let keys: std::collections::HashSet<_> = jobs
        .iter()
        .map(|j| j["idempotency_key"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(keys.len(), jobs.len());
    // Each poll is its slot's (the key ends with the slot, in ms): slots follow one another one
    // interval apart, none skipped and none polled twice, and each poll was enqueued within its
    // own slot.
    let mut polls: Vec<(i64, DateTime<Utc>)> = jobs
        .iter()
        .map(|j| {
            let key = j["idempotency_key"].as_str().unwrap();
            let slot = key.rsplit(':').next().unwrap().parse().unwrap();
            let created = j["created_at"].as_str().unwrap().parse().unwrap();
            (slot, created)
        })
        .collect();
    polls.sort();
    for pair in polls.windows(2) {
        assert_eq!(
            pair[1].0 - pair[0].0,
            interval_ms,
            "one poll per 2 s slot: {polls:?}"
        );
    }
    for (slot, created) in &polls {
        // The slot is rounded to the millisecond; the enqueue is at or after it.
        let into_slot = created.timestamp_micros() - slot * 1000;
        assert!(
            (-500..interval_ms * 1000).contains(&into_slot),
            "the poll of slot {slot} was enqueued {into_slot} µs into it: {polls:?}"
        );
    }
    // Every request is some poll's: read the requests, then the polls made by then.
    let requests = server.received_requests().await.unwrap().len();
    let polled = fetch_jobs(&app, &id).await.len();
    assert!(requests <= polled, "{requests} requests for {polled} polls");
}

#[tokio::test]
async fn push_sources_verify_signatures_and_ingest_batches() {
    let app = spawn_app().await;
    let secret = "whsec_test_0123456789";
    let signed = create_source(&app, json!({"kind": "push", "secret": secret})).await;
    let open = create_source(&app, json!({"kind": "push"})).await;
    let rss = create_source(
        &app,
        json!({"kind": "rss", "url": "https://e.example/f", "enabled": false}),
    )
    .await;
    let batch = json!({"items": [
        {"external_id": "m1", "title": "Need an HVAC tech", "content": "<p>AC died in the heat wave, need someone <b>today</b> in Dallas.</p><script>x()</script>", "author": "dana", "url": "https://chat.example/m1?utm_campaign=z"},
        {"external_id": "m2", "title": "Kitchen remodel", "content": "Looking for quotes on a full kitchen remodel with new cabinets and counters.", "author": "eve"}
    ]});
    let body = serde_json::to_vec(&batch).unwrap();
    let push = |id: &str, sig: Option<String>, body: Vec<u8>| {
        let mut req = app
            .request(Method::POST, &format!("/sources/{id}/signals"))
            .header("content-type", "application/json")
            .body(body);
        if let Some(sig) = sig {
            req = req.header("X-Demandflow-Signature", sig);
        }
        req.send()
    };
    let sid = signed["id"].as_str().unwrap();
    let res = push(sid, None, body.clone()).await.unwrap();
    assert_eq!(res.status(), 401);
    let res = push(
        sid,
        Some(jobs::sources::push::sign(
            "wrong-secret-value!!",
            chrono::Utc::now(),
            &body,
        )),
        body.clone(),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 401);
    let stale = chrono::Utc::now() - chrono::Duration::minutes(10);
    let res = push(
        sid,
        Some(jobs::sources::push::sign(secret, stale, &body)),
        body.clone(),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 401);
    let problem: Value = res.json().await.unwrap();
    assert!(
        problem["detail"].as_str().unwrap().contains("too far"),
        "{problem}"
    );
    let res = push(
        sid,
        Some(jobs::sources::push::sign(secret, chrono::Utc::now(), &body)),
        body.clone(),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    let report: Value = res.json().await.unwrap();
    assert_eq!(
        (report["inserted"].clone(), report["items"].clone()),
        (json!(2), json!(2)),
        "{report}"
    );
    // The same batch again (unsigned source): held already.
    let res = push(open["id"].as_str().unwrap(), None, body.clone())
        .await
        .unwrap();
    let report: Value = res.json().await.unwrap();
    assert_eq!(
        report["duplicates"], 2,
        "one content, one signal per tenant: {report}"
    );
    // Not a push source; invalid items; another tenant.
    let res = push(rss["id"].as_str().unwrap(), None, body.clone())
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    let res = push(
        open["id"].as_str().unwrap(),
        None,
        br#"{"items": [{"title": "ok"}, {"url": 5}]}"#.to_vec(),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 422);
    let problem: Value = res.json().await.unwrap();
    assert_eq!(problem["errors"][0]["path"], "items[1].url", "{problem}");
    let other = app.create_key("globex", "operator").await;
    let res = app
        .http
        .post(format!(
            "{}/api/v1/sources/{}/signals",
            app.base,
            open["id"].as_str().unwrap()
        ))
        .header("X-API-Key", other)
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let signals = get(&app, "/signals").await;
    let text = signals.to_string();
    assert!(
        !text.contains("<script") && !text.contains("utm_campaign"),
        "{text}"
    );

    // A webhook sender without an API key: the signature alone is the credential, and only
    // for a source that has a secret; every other case is the same 401.
    let anonymous = |id: String, sig: Option<String>, body: Vec<u8>| {
        let mut req = app
            .http
            .post(format!("{}/api/v1/sources/{id}/signals", app.base))
            .header("content-type", "application/json")
            .body(body);
        if let Some(sig) = sig {
            req = req.header("X-Demandflow-Signature", sig);
        }
        req.send()
    };
    let fresh = serde_json::to_vec(&json!({"items": [
        {"title": "Gutter cleaning before winter", "content": "Two storey house, gutters full of leaves, need them cleaned and checked for leaks.", "author": "hank"}
    ]}))
    .unwrap();
    let now = chrono::Utc::now();
    let res = anonymous(
        sid.to_owned(),
        Some(jobs::sources::push::sign(secret, now, &fresh)),
        fresh.clone(),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    let report: Value = res.json().await.unwrap();
    assert_eq!(report["inserted"], 1, "{report}");
    for (id, sig) in [
        (sid.to_owned(), None),
        (
            sid.to_owned(),
            Some(jobs::sources::push::sign(
                "not-the-secret-at-all",
                now,
                &fresh,
            )),
        ),
        (
            open["id"].as_str().unwrap().to_owned(),
            Some(jobs::sources::push::sign(secret, now, &fresh)),
        ),
        (
            uuid::Uuid::now_v7().to_string(),
            Some(jobs::sources::push::sign(secret, now, &fresh)),
        ),
    ] {
        let res = anonymous(id.clone(), sig, fresh.clone()).await.unwrap();
        assert_eq!(res.status(), 401, "{id}");
    }
}

#[tokio::test]
async fn signals_are_searched_moved_exported_erased_and_purged() {
    let app = spawn_app().await;
    let src = create_source(&app, json!({"kind": "push"})).await;
    let sid = src["id"].as_str().unwrap().to_owned();
    let texts = [
        (
            "Solar panels on a barn roof",
            "A dairy farmer wants quotes for covering the big red barn with panels before spring.",
        ),
        (
            "Leaking basement wall after storms",
            "Water seeps through the north foundation wall every time it rains heavily here.",
        ),
        (
            "Barn conversion with solar",
            "We are turning an old hay barn into a studio and want solar plus a small battery.",
        ),
        (
            "Basement smells damp",
            "Musty odour downstairs, dehumidifier runs nonstop, considering a french drain install.",
        ),
        (
            "Community solar for the barn co-op",
            "Our cooperative of twelve farms is pooling money for shared arrays on barn rooftops.",
        ),
        (
            "Cracked basement floor slab",
            "Hairline cracks appeared in the concrete slab and one corner has started to sink.",
        ),
        (
            "Window replacement estimate",
            "Three bedrooms need double glazed windows, the frames are rotting around the sills.",
        ),
    ];
    let items: Vec<Value> = texts
        .iter()
        .enumerate()
        .map(|(i, (title, content))| {
            json!({"title": title, "content": content, "author": if i < 3 { "frank" } else { "grace" }})
        })
        .collect();
    let res = app
        .request(Method::POST, &format!("/sources/{sid}/signals"))
        .json(&json!({"items": items}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let solar = get(&app, "/signals?q=solar%20barn").await;
    assert_eq!(solar["items"].as_array().unwrap().len(), 3, "{solar}");
    let page = get(&app, &format!("/signals?source_id={sid}&state=new&limit=5")).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 5);
    let rest = get(
        &app,
        &format!(
            "/signals?limit=5&cursor={}",
            page["next_cursor"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 2);
    let res = app
        .request(Method::GET, "/signals?state=bogus")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let future = get(&app, "/signals?since=2999-01-01T00:00:00Z").await;
    assert_eq!(future["items"].as_array().unwrap().len(), 0);

    // The state machine.
    let id = page["items"][0]["id"].as_str().unwrap().to_owned();
    let mv = async |to: &str| {
        app.request(Method::POST, &format!("/signals/{id}/state"))
            .json(&json!({"state": to}))
            .send()
            .await
            .unwrap()
    };
    assert_eq!(
        mv("scored").await.status(),
        409,
        "no skipping classification"
    );
    assert_eq!(mv("classified").await.status(), 200);
    assert_eq!(mv("new").await.status(), 409, "no going back");
    assert_eq!(mv("scored").await.status(), 200);
    assert_eq!(mv("alerted").await.status(), 200);
    assert_eq!(mv("discarded").await.status(), 409, "alerted is final");
    assert_eq!(mv("sideways").await.status(), 422);
    assert_eq!(
        get(&app, &format!("/signals/{id}")).await["state"],
        "alerted"
    );

    // Soft delete hides it.
    let res = app
        .request(Method::DELETE, &format!("/signals/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let res = app
        .request(Method::GET, &format!("/signals/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);

    // Exports stream every match.
    let res = app
        .request(Method::GET, "/signals/export?format=csv")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = res.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("id,source_id,state,"), "{csv}");
    assert_eq!(
        lines.len(),
        1 + 6,
        "a header and the six live signals: {csv}"
    );
    let ndjson = app.text("/signals/export?format=ndjson&q=basement").await;
    let lines: Vec<Value> = ndjson
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        !lines.is_empty()
            && lines.iter().all(|s| s["title"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains("basement"))
    );

    // GDPR: everything about frank (including the soft-deleted one), then erase.
    let frank = app.text("/signals/export?author=frank").await;
    let held = frank.lines().count();
    let frank_total = scalar(
        &app,
        "SELECT count(*) FROM signals WHERE author = $1",
        "frank",
    )
    .await;
    assert_eq!(held as i64, frank_total, "{frank}");
    let res = app
        .request(Method::POST, "/signals/erase")
        .json(&json!({"author": "frank"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let erased: Value = res.json().await.unwrap();
    assert_eq!(erased["erased"], frank_total);
    assert_eq!(
        scalar(
            &app,
            "SELECT count(*) FROM signals WHERE author = $1",
            "frank"
        )
        .await,
        0
    );
    let audit: String =
        sqlx::query_scalar("SELECT target_id FROM audit_log WHERE action = 'signal.erase_author'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(audit.starts_with("sha256:") && !audit.contains("frank"));

    // Retention and expiry: with a TTL set, old signals are purged by the workers; with an
    // expiry, signals nobody acted on become `expired`.
    let res = app
        .request(Method::PATCH, "/signals/quality")
        .json(&json!({"retention_secs": 36000, "expire_after_secs": 3600}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let res = app
        .request(Method::PATCH, "/signals/quality")
        .json(&json!({"languages": ["english"]}))
        .send()
        .await
        .unwrap();
    let problem: Value = res.json().await.unwrap();
    assert_eq!(problem["errors"][0]["path"], "languages[0]", "{problem}");
    let res = app
        .request(Method::PATCH, "/signals/quality")
        .json(&json!({"expire_after_secs": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    sqlx::query(
        "UPDATE signals SET created_at = now() - interval '20 hours' WHERE title LIKE 'Window%'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query(
        "UPDATE signals SET created_at = now() - interval '2 hours' WHERE title LIKE 'Cracked%'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let before = scalar(
        &app,
        "SELECT count(*) FROM signals WHERE author = $1",
        "grace",
    )
    .await;
    let _worker = app.spawn_worker(&[("SIGNAL_PURGE_INTERVAL_MS", "200")]);
    wait_until("the purge", T, async || {
        scalar(
            &app,
            "SELECT count(*) FROM signals WHERE author = $1",
            "grace",
        )
        .await
            == before - 1
    })
    .await;
    wait_until("the expiry", T, async || {
        let page = get(&app, "/signals?state=expired").await;
        page["items"].as_array().unwrap().len() == 1
    })
    .await;
    let expired = get(&app, "/signals?state=expired").await;
    assert!(
        expired["items"][0]["title"]
            .as_str()
            .unwrap()
            .starts_with("Cracked"),
        "{expired}"
    );
    assert_eq!(
        scalar(
            &app,
            "SELECT count(*) FROM signals WHERE state = 'expired' AND author = $1",
            "grace"
        )
        .await,
        1,
        "only the old open signal expires"
    );
}

#[tokio::test]
async fn a_feed_on_a_private_network_is_refused_unless_allowed() {
    let app = spawn_app().await;
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(feed("atom.xml", "application/atom+xml"))
        .mount(&server)
        .await;
    let s = create_source(
        &app,
        json!({"kind": "atom", "url": format!("{}/feed", server.uri()), "poll_every": "1d"}),
    )
    .await;
    let id = s["id"].as_str().unwrap().to_owned();
    let _worker = app.spawn_worker(&[("ALLOW_PRIVATE_NETWORKS", "false")]);
    wait_until("the refusal", T, async || {
        fetch_jobs(&app, &id)
            .await
            .first()
            .is_some_and(|j| j["state"] == "dead")
    })
    .await;
    let job = &fetch_jobs(&app, &id).await[0];
    assert!(
        job["last_error"].as_str().unwrap().starts_with("refused:"),
        "{job}"
    );
    assert_eq!(job["attempts"], 1);
    assert!(
        server.received_requests().await.unwrap().is_empty(),
        "nothing was sent"
    );
}
