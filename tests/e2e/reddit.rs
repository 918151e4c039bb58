//! `reddit_search` end to end, with real api and worker processes against a wiremock fake of
//! Reddit's token endpoint and search: the preview exchanges the app's credentials (a refused
//! secret is a 422 on `secret`), a new source ingests, polls again without duplicates with the
//! token its worker exchanged once, and neither the secret nor a token is in any answer, audit
//! entry or log line.

use std::time::Duration;

use e2e::{App, spawn_app_with, wait_until};
use reqwest::Method;
use serde_json::{Value, json};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{basic_auth, bearer_token, body_string, header_regex, method, path, query_param},
};

const T: Duration = Duration::from_secs(30);

const CLIENT_ID: &str = "Yx2p9QkWm4Lr7A";
const CLIENT_SECRET: &str = "u8VnR3kT0sQ_b1cZ9dEfGh2JkLmN";
const TOKEN: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6IlNIQTI1NjpzS3dsMnlsV0VtMjVmcXhwTU40cWY4MXE2OWFFdWFyMnpLMUdhVGxjdWNZIn0";

/// Post `n`: id `p{n}`, created at `1_700_000_000 + n`, with words of its own.
fn post(n: u64) -> Value {
    const W: &[&str] = &[
        "roof",
        "leak",
        "gutter",
        "attic",
        "storm",
        "quote",
        "urgent",
        "shingle",
        "chimney",
        "ladder",
        "insurance",
        "ceiling",
        "mould",
        "slate",
        "repair",
        "budget",
        "contractor",
        "estimate",
        "warranty",
        "flashing",
    ];
    let mut x = n
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let text: Vec<&str> = (0..24)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            W[(x >> 33) as usize % W.len()]
        })
        .collect();
    json!({"kind": "t3", "data": {
        "id": format!("p{n}"), "name": format!("t3_p{n}"), "subreddit": "HomeImprovement",
        "title": format!("Who fixes a {} in {}?", text[0], text[1]), "selftext": text.join(" "),
        "author": "homeowner", "permalink": format!("/r/HomeImprovement/comments/p{n}/help/"),
        "created_utc": (1_700_000_000 + n) as f64, "score": 12, "upvote_ratio": 1.0,
        "num_comments": 2}})
}

fn listing(posts: &[u64], after: Option<&str>) -> ResponseTemplate {
    let children: Vec<Value> = posts.iter().map(|n| post(*n)).collect();
    ResponseTemplate::new(200)
        .insert_header("x-ratelimit-used", "3")
        .insert_header("x-ratelimit-remaining", "97.0")
        .insert_header("x-ratelimit-reset", "300")
        .set_body_json(json!({"kind": "Listing", "data": {"after": after, "children": children}}))
}

async fn signals(app: &App, source: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM signals WHERE source_id = $1::uuid")
        .bind(source)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

async fn fetch_jobs(app: &App, source: &str) -> Vec<String> {
    let rows: Vec<(uuid::Uuid,)> = sqlx::query_as(
        "SELECT id FROM jobs WHERE kind = 'fetch_source' AND args->>'source_id' = $1 ORDER BY id",
    )
    .bind(source)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    rows.into_iter().map(|(id,)| id.to_string()).collect()
}

/// Polls `id` once more through the queue; the finished job.
async fn poll(app: &App, id: &str) -> Value {
    let job = app
        .enqueue(json!({"kind": "fetch_source", "args": {"source_id": id}}))
        .await;
    app.wait_for_state(job["id"].as_str().unwrap(), &["succeeded"], T)
        .await
}

fn assert_no_credentials(what: &str, text: &str) {
    assert!(
        !text.contains(CLIENT_SECRET) && !text.contains(TOKEN),
        "a credential in {what}: {text}"
    );
}

#[tokio::test]
async fn a_reddit_search_source_ingests_then_polls_again_without_duplicates_and_never_shows_its_secret()
 {
    let app = spawn_app_with(&[("ALLOW_PRIVATE_NETWORKS", "true")]).await;
    let reddit = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/access_token"))
        .and(basic_auth(CLIENT_ID, CLIENT_SECRET))
        .and(body_string("grant_type=client_credentials"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": TOKEN, "token_type": "bearer", "expires_in": 86400, "scope": "*"}),
        ))
        .mount(&reddit)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/access_token"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(json!({"message": "Unauthorized", "error": 401})),
        )
        .with_priority(10)
        .mount(&reddit)
        .await;
    let search = || {
        Mock::given(method("GET"))
            .and(path("/r/HomeImprovement/search.json"))
            .and(query_param("q", "roof leak"))
            .and(query_param("sort", "new"))
            .and(query_param("restrict_sr", "1"))
            .and(bearer_token(TOKEN))
            .and(header_regex("user-agent", r"^server:demandflow:v"))
    };
    // The preview and the first poll see 2 and 1; the next poll 3 (new) and 2, the cursor;
    // the last one 3 only.
    search()
        .respond_with(listing(&[2, 1], Some("t3_p1")))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&reddit)
        .await;
    search()
        .respond_with(listing(&[3, 2], Some("t3_p2")))
        .up_to_n_times(1)
        .with_priority(2)
        .mount(&reddit)
        .await;
    search()
        .respond_with(listing(&[3], None))
        .with_priority(3)
        .mount(&reddit)
        .await;
    let body = |secret: &str| {
        json!({"kind": "reddit_search", "url": reddit.uri(), "poll_every": "1d",
               "rate_limit_per_min": 6000, "secret": secret,
               "settings": {"query": "roof leak", "subreddit": "HomeImprovement",
                            "auth_base": reddit.uri()}})
    };
    let good = format!("{CLIENT_ID}:{CLIENT_SECRET}");
    let wrong = format!("{CLIENT_ID}:not-the-secret-at-all");

    let (status, problem) = app
        .send(
            Method::POST,
            "/sources",
            Some(json!({"kind": "reddit_search", "settings": {"query": "roof leak"}})),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["path"], "secret", "{problem}");
    let (status, problem) = app
        .send(
            Method::POST,
            "/sources",
            Some(body("a-secret-without-its-client-id")),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["path"], "secret", "{problem}");

    // The preview exchanges the credentials first: a refused secret is the caller's to fix.
    let (status, problem) = app
        .send(Method::POST, "/sources/preview", Some(body(&wrong)))
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["path"], "secret", "{problem}");
    assert!(
        problem.to_string().contains("HTTP 401"),
        "the refusal is named: {problem}"
    );
    assert!(!problem.to_string().contains("not-the-secret-at-all"));
    let (status, preview) = app
        .send(Method::POST, "/sources/preview", Some(body(&good)))
        .await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["total_items"], 2, "{preview}");
    assert_eq!(
        preview["items"][0]["url"],
        "https://www.reddit.com/r/HomeImprovement/comments/p2/help/"
    );
    assert_eq!(preview["items"][0]["engagement"]["points"], 12);
    assert_no_credentials("the preview", &preview.to_string());

    let (status, source) = app.send(Method::POST, "/sources", Some(body(&good))).await;
    assert_eq!(status, 201, "{source}");
    assert_eq!(source["has_secret"], true);
    assert_eq!(source["kind"], "reddit_search");
    assert_eq!(
        source["settings"],
        json!({"query": "roof leak", "subreddit": "HomeImprovement", "auth_base": reddit.uri()})
    );
    assert_no_credentials("the created source", &source.to_string());
    let id = source["id"].as_str().unwrap().to_owned();

    let worker = app.spawn_worker(&[("SCHEDULER_TICK_MS", "100")]);
    wait_until("the first poll", T, async || signals(&app, &id).await == 2).await;
    let first = wait_until("the first poll to finish", T, async || {
        let jobs = fetch_jobs(&app, &id).await;
        let job = app.job(jobs.first()?).await;
        (job["state"] == "succeeded").then_some(job)
    })
    .await;
    let again = poll(&app, &id).await;
    assert_eq!(
        (
            again["result"]["inserted"].clone(),
            again["result"]["duplicates"].clone()
        ),
        (json!(1), json!(1)),
        "down to the cursor: {again}"
    );
    let quiet = poll(&app, &id).await;
    assert_eq!(quiet["result"]["inserted"], 0, "{quiet}");
    assert_eq!(signals(&app, &id).await, 3, "each post once");

    let (_, stored) = app.send(Method::GET, &format!("/sources/{id}"), None).await;
    assert_eq!(
        stored["cursor"], r#"{"last":{"name":"t3_p3","created":1700000003}}"#,
        "{stored}"
    );
    assert_eq!(stored["last_error"], Value::Null, "{stored}");
    let exchanges = reddit
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/api/v1/access_token")
        .count();
    assert_eq!(
        exchanges, 3,
        "the two previews, then one for every poll of the worker (its token is cached)"
    );

    assert_no_credentials("the source", &stored.to_string());
    for job in [&first, &again, &quiet] {
        assert_no_credentials("a job", &job.to_string());
    }
    let (status, audit) = app.send(Method::GET, "/audit?limit=100", None).await;
    assert_eq!(status, 200, "{audit}");
    assert!(audit.to_string().contains("source.create"), "{audit}");
    assert_no_credentials("the audit", &audit.to_string());
    for line in app.api.output().iter().chain(&worker.output()) {
        assert_no_credentials("a log line", line);
    }
}
