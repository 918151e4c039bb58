//! Deliveries, end to end: real workers send alerts and event webhooks to local servers that
//! answer as the services document (wiremock), and the receivers check what a user would:
//! Standard Webhooks signatures verified by an independent implementation, one message per
//! match however many workers and duplicates, digests, 429 storms paced without loss or double
//! sends, receivers down for a while, a worker killed mid-send, 410 disabling a subscription,
//! credentials that never come back out, roles, tenant walls and bad input.

use std::time::Duration;

use e2e::{App, spawn_app_with, wait_until};
use reqwest::Method;
use serde_json::{Value, json};
use wiremock::{
    Mock, MockServer, Request, ResponseTemplate,
    matchers::{method, path},
};

const T: Duration = Duration::from_secs(60);

/// An app whose destinations may point at this machine (the fakes listen on loopback).
async fn app() -> App {
    spawn_app_with(&[("ALLOW_PRIVATE_NETWORKS", "true")]).await
}

/// A worker with a fast retry schedule and dispatcher.
fn worker(app: &App, extra: &[(&str, &str)]) -> e2e::Proc {
    let mut env = vec![
        ("DELIVERY_RETRY_SCHEDULE", "300ms"),
        ("DISPATCH_TICK_MS", "200"),
    ];
    env.extend_from_slice(extra);
    app.spawn_worker(&env)
}

async fn destination(app: &App, body: Value) -> Value {
    let (status, created) = app.send(Method::POST, "/destinations", Some(body)).await;
    assert_eq!(status, 201, "{created}");
    created
}

async fn rule(app: &App, body: Value) -> String {
    let (status, created) = app.send(Method::POST, "/alert-rules", Some(body)).await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_str().unwrap().to_owned()
}

/// Writes `n` events of `kind` for tenant `acme` straight into the outbox, as a change's
/// transaction would; subjects repeat every `distinct`.
async fn events(app: &App, kind: &str, n: usize, distinct: usize) {
    let tenant: uuid::Uuid = sqlx::query_scalar("SELECT id FROM tenants WHERE name = 'acme'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    for i in 0..n {
        let subject = format!("job:{}", i % distinct);
        sqlx::query(
            "INSERT INTO events (id, tenant_id, type, subject, data) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(uuid::Uuid::now_v7())
        .bind(tenant)
        .bind(kind)
        .bind(&subject)
        .bind(json!({"title": format!("Item {}", i % distinct), "score": 90, "job_id": subject}))
        .execute(&app.pool)
        .await
        .unwrap();
    }
    sqlx::query("SELECT pg_notify('demandflow_events', '')")
        .execute(&app.pool)
        .await
        .unwrap();
}

async fn deliveries(app: &App, query: &str) -> Vec<Value> {
    let (status, page) = app
        .send(Method::GET, &format!("/deliveries?limit=500{query}"), None)
        .await;
    assert_eq!(status, 200, "{page}");
    page["items"].as_array().unwrap().clone()
}

/// Waits until every delivery is in one of `states` and there are `n` of them.
async fn settled(app: &App, n: usize, states: &[&str]) -> Vec<Value> {
    wait_until(&format!("{n} deliveries in {states:?}"), T, async || {
        let items = deliveries(app, "").await;
        let done = items.len() == n
            && items
                .iter()
                .all(|d| states.contains(&d["state"].as_str().unwrap_or_default()));
        if done {
            Ok(items)
        } else {
            Err(Value::Array(items))
        }
    })
    .await
}

async fn received(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.unwrap_or_default()
}

fn header(r: &Request, name: &str) -> String {
    r.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn a_relevant_signal_reaches_a_signed_webhook_once_and_is_marked_alerted() {
    let app = app().await;
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&receiver)
        .await;
    let created = destination(
        &app,
        json!({"name": "crm", "kind": "webhook",
               "settings": {"url": format!("{}/hook", receiver.uri())}}),
    )
    .await;
    let secret = created["signing_secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{created}");
    let dest = created["destination"]["id"].as_str().unwrap().to_owned();
    rule(
        &app,
        json!({"name": "hot plumbing", "event": "signal.classified", "min_score": 50,
               "categories": ["plumbing"], "destination_ids": [dest]}),
    )
    .await;

    let (status, ruleset) = app
        .send(
            Method::POST,
            "/rulesets",
            Some(json!({"name": "home", "rules": {
                "categories": ["plumbing"],
                "terms": [{"term": "need a plumber", "weight": 70, "category": "plumbing"}],
                "negative": [{"term": "hiring", "weight": 50}],
                "thresholds": {"relevant": 60, "irrelevant": 20}}})),
        )
        .await;
    assert_eq!(status, 201, "{ruleset}");
    let ruleset = ruleset["id"].as_str().unwrap().to_owned();
    let (_, source) = app
        .send(Method::POST, "/sources", Some(json!({"kind": "push"})))
        .await;
    let source = source["id"].as_str().unwrap().to_owned();
    let (status, report) = app
        .send(
            Method::POST,
            &format!("/sources/{source}/signals"),
            Some(json!({"items": [
                {"title": "Need a plumber today", "content": "Our pipe burst, we need a plumber"},
                {"title": "Hiring plumbers", "content": "We are hiring, no need a plumber here"}
            ]})),
        )
        .await;
    assert_eq!(status, 200, "{report}");
    let mut ids = vec![];
    for title in ["Need a plumber today", "Hiring plumbers"] {
        let id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM signals WHERE title = $1")
            .bind(title)
            .fetch_one(&app.pool)
            .await
            .unwrap();
        ids.push(id.to_string());
    }
    // The relevant signal is classified twice (a retried workflow, say): still one alert.
    for id in [&ids[0], &ids[0], &ids[1]] {
        app.enqueue(json!({"kind": "classify_signal",
                           "args": {"signal_id": id, "ruleset_id": ruleset}}))
            .await;
    }
    let _w = worker(&app, &[]);

    let sent = settled(&app, 1, &["sent"]).await;
    assert_eq!(sent[0]["subject"], format!("signal:{}", ids[0]));
    assert_eq!(sent[0]["attempts"], 1);
    wait_until("the signal to be alerted", T, async || {
        let (_, s) = app
            .send(Method::GET, &format!("/signals/{}", ids[0]), None)
            .await;
        s["state"] == "alerted"
    })
    .await;
    // Every classify job done, and still exactly one request.
    wait_until("the classify jobs to finish", T, async || {
        let (_, jobs) = app
            .send(
                Method::GET,
                "/jobs?kind=classify_signal&state=succeeded",
                None,
            )
            .await;
        jobs["items"].as_array().map(Vec::len) == Some(3)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let requests = received(&receiver).await;
    assert_eq!(requests.len(), 1, "one match, one message");

    let r = &requests[0];
    let verifier = standardwebhooks::Webhook::new(&secret).unwrap();
    verifier
        .verify(&r.body, &r.headers)
        .expect("the signature verifies with an independent implementation");
    assert_eq!(header(r, "webhook-id"), sent[0]["id"].as_str().unwrap());
    let body: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body["type"], "signal.classified", "{body}");
    assert_eq!(body["data"]["title"], "Need a plumber today", "{body}");
    assert_eq!(body["data"]["category"], "plumbing", "{body}");

    let (_, detail) = app
        .send(
            Method::GET,
            &format!("/deliveries/{}", sent[0]["id"].as_str().unwrap()),
            None,
        )
        .await;
    let attempts = detail["attempts_log"].as_array().unwrap();
    assert_eq!(attempts.len(), 1, "{detail}");
    assert_eq!(attempts[0]["outcome"], "delivered");
    assert_eq!(attempts[0]["status"], 204);
}

#[tokio::test]
async fn a_hundred_matches_in_a_digest_window_make_one_slack_message() {
    let app = app().await;
    let slack = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/services/T0/B0/digest"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&slack)
        .await;
    let created = destination(
        &app,
        json!({"name": "ops", "kind": "slack",
               "settings": {"webhook_url": format!("{}/services/T0/B0/digest", slack.uri())}}),
    )
    .await;
    let dest = created["destination"]["id"].as_str().unwrap().to_owned();
    rule(
        &app,
        json!({"name": "dead jobs", "event": "job.dead", "digest_secs": 2,
               "destination_ids": [dest]}),
    )
    .await;
    // A hundred jobs die for real (the trigger writes their events).
    let jobs: Vec<Value> = (0..100)
        .map(|i| json!({"kind": "noop", "args": {"fail_attempts": 5, "output": i}, "max_attempts": 1}))
        .collect();
    let (status, batch) = app
        .send(Method::POST, "/jobs/batch", Some(json!({"jobs": jobs})))
        .await;
    assert!(status.is_success(), "{batch}");
    let _w = worker(&app, &[]);

    let sent = settled(&app, 1, &["sent"]).await;
    assert!(
        sent[0]["subject"].as_str().unwrap().starts_with("digest:"),
        "{}",
        sent[0]
    );
    let requests = received(&slack).await;
    assert_eq!(requests.len(), 1, "a hundred matches, one message");
    let body: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert!(body["blocks"].is_array(), "Block Kit: {body}");
    assert!(body["text"].as_str().unwrap().contains("100"), "{body}");
    let (_, detail) = app
        .send(
            Method::GET,
            &format!("/deliveries/{}", sent[0]["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(detail["data"]["count"], 100, "{detail}");
    assert_eq!(detail["data"]["items"].as_array().unwrap().len(), 50);
    assert_eq!(detail["data"]["more"], 50);
}

#[tokio::test]
async fn the_same_match_from_two_workers_makes_one_message() {
    let app = app().await;
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let created = destination(
        &app,
        json!({"name": "crm", "kind": "webhook", "rate_limit_per_min": 6000,
               "settings": {"url": receiver.uri()}}),
    )
    .await;
    let dest = created["destination"]["id"].as_str().unwrap().to_owned();
    rule(
        &app,
        json!({"name": "all dead", "event": "job.dead", "destination_ids": [dest]}),
    )
    .await;
    let _a = worker(&app, &[]);
    let _b = worker(&app, &[]);
    // Twenty subjects, each announced three times, while two workers dispatch.
    events(&app, "job.dead", 60, 20).await;

    settled(&app, 20, &["sent"]).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let requests = received(&receiver).await;
    assert_eq!(requests.len(), 20, "one message per match");
    let mut ids: Vec<String> = requests.iter().map(|r| header(r, "webhook-id")).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 20);
}

#[tokio::test]
async fn a_429_storm_is_paced_with_nothing_dropped_and_nothing_doubled() {
    let app = app().await;
    let discord = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("X-RateLimit-Limit", "5")
                .insert_header("X-RateLimit-Remaining", "0")
                .insert_header("X-RateLimit-Reset-After", "0.4")
                .insert_header("X-RateLimit-Bucket", "e2e")
                .set_body_json(json!({"message": "You are being rate limited.",
                                      "retry_after": 0.4, "global": false})),
        )
        .up_to_n_times(4)
        .with_priority(1)
        .mount(&discord)
        .await;
    Mock::given(method("POST"))
        .respond_with(move |r: &Request| {
            let body: Value = serde_json::from_slice(&r.body).unwrap_or_default();
            ResponseTemplate::new(200).set_body_json(json!({
                "id": format!("m-{}", body["content"].as_str().unwrap_or_default().len()),
                "content": body["content"],
            }))
        })
        .with_priority(2)
        .mount(&discord)
        .await;
    let created = destination(
        &app,
        json!({"name": "community", "kind": "discord", "rate_limit_per_min": 6000,
               "settings": {"webhook_url": format!("{}/api/webhooks/1/tok", discord.uri())}}),
    )
    .await;
    let dest = created["destination"]["id"].as_str().unwrap().to_owned();
    rule(
        &app,
        json!({"name": "dead", "event": "job.dead", "destination_ids": [dest]}),
    )
    .await;
    events(&app, "job.dead", 12, 12).await;
    let _a = worker(&app, &[]);
    let _b = worker(&app, &[]);

    let sent = settled(&app, 12, &["sent"]).await;
    let requests = received(&discord).await;
    assert!(
        requests.iter().all(|r| r.url.query() == Some("wait=true")),
        "Discord is asked for the message as a receipt"
    );
    assert_eq!(
        requests.len(),
        12 + 4,
        "every 429 was tried again, nothing more"
    );
    let mut titles: Vec<String> = requests[4..]
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    titles.sort();
    titles.dedup();
    assert_eq!(titles.len(), 12, "no message sent twice");
    for d in &sent {
        assert!(
            d["receipt"].as_str().is_some_and(|r| r.starts_with("m-")),
            "{d}"
        );
        assert_eq!(d["attempts"], 1, "a 429 spends no attempt: {d}");
    }
}

#[tokio::test]
async fn a_receiver_down_for_a_while_is_retried_on_schedule_with_one_webhook_id() {
    let app = app().await;
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503).set_body_string("down for maintenance"))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&receiver)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .with_priority(2)
        .mount(&receiver)
        .await;
    let (status, sub) = app
        .send(
            Method::POST,
            "/subscriptions",
            Some(json!({"url": format!("{}/events", receiver.uri()), "event_types": ["job.*"]})),
        )
        .await;
    assert_eq!(status, 201, "{sub}");
    let secret = sub["signing_secret"].as_str().unwrap().to_owned();
    let job = app
        .enqueue(json!({"kind": "noop", "args": {"fail_attempts": 1}, "max_attempts": 1}))
        .await;
    let _w = worker(&app, &[]);

    let sent = settled(&app, 1, &["sent"]).await;
    let requests = received(&receiver).await;
    assert_eq!(requests.len(), 3, "two failures, then success");
    let ids: Vec<String> = requests.iter().map(|r| header(r, "webhook-id")).collect();
    assert!(
        ids.iter().all(|i| *i == ids[0]),
        "the same webhook-id on every retry: {ids:?}"
    );
    let verifier = standardwebhooks::Webhook::new(&secret).unwrap();
    for r in &requests {
        verifier.verify(&r.body, &r.headers).unwrap();
    }
    let body: Value = serde_json::from_slice(&requests[2].body).unwrap();
    assert_eq!(body["type"], "job.dead");
    assert_eq!(body["data"]["job_id"], job["id"]);
    let (_, detail) = app
        .send(
            Method::GET,
            &format!("/deliveries/{}", sent[0]["id"].as_str().unwrap()),
            None,
        )
        .await;
    let outcomes: Vec<&str> = detail["attempts_log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["failed", "failed", "delivered"], "{detail}");
    assert!(
        detail["attempts_log"][0]["excerpt"]
            .as_str()
            .unwrap()
            .contains("maintenance")
    );
}

#[tokio::test]
async fn a_worker_killed_mid_send_delivers_again_with_the_same_webhook_id() {
    let app = app().await;
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(4)))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&receiver)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .with_priority(2)
        .mount(&receiver)
        .await;
    let created = destination(
        &app,
        json!({"name": "crm", "kind": "webhook", "settings": {"url": receiver.uri()}}),
    )
    .await;
    let dest = created["destination"]["id"].as_str().unwrap().to_owned();
    rule(
        &app,
        json!({"name": "dead", "event": "job.dead", "destination_ids": [dest]}),
    )
    .await;
    events(&app, "job.dead", 1, 1).await;
    let mut first = worker(&app, &[]);
    wait_until("the first send to reach the receiver", T, async || {
        !received(&receiver).await.is_empty()
    })
    .await;
    first.signal("KILL");
    let _ = first.wait_exit(Duration::from_secs(10)).await;
    let _second = worker(&app, &[]);

    settled(&app, 1, &["sent"]).await;
    let requests = received(&receiver).await;
    assert_eq!(requests.len(), 2, "sent again after the rescue");
    assert_eq!(
        header(&requests[0], "webhook-id"),
        header(&requests[1], "webhook-id"),
        "the receiver can drop the repeat"
    );
}

#[tokio::test]
async fn a_gone_endpoint_disables_its_subscription_and_that_is_an_event() {
    let app = app().await;
    let gone = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(410))
        .mount(&gone)
        .await;
    let watcher = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&watcher)
        .await;
    let (_, doomed) = app
        .send(
            Method::POST,
            "/subscriptions",
            Some(json!({"url": gone.uri(), "event_types": ["job.dead"]})),
        )
        .await;
    let doomed = doomed["subscription"]["id"].as_str().unwrap().to_owned();
    let (status, _) = app
        .send(
            Method::POST,
            "/subscriptions",
            Some(json!({"url": watcher.uri(), "event_types": ["subscription.*"]})),
        )
        .await;
    assert_eq!(status, 201);
    app.enqueue(json!({"kind": "noop", "args": {"fail_attempts": 1}, "max_attempts": 1}))
        .await;
    let _w = worker(&app, &[]);

    wait_until(
        "the watcher to hear of the disabled subscription",
        T,
        async || received(&watcher).await.len() == 1,
    )
    .await;
    let body: Value = serde_json::from_slice(&received(&watcher).await[0].body).unwrap();
    assert_eq!(body["type"], "subscription.disabled", "{body}");
    assert_eq!(body["data"]["subscription_id"], doomed.as_str());
    let (_, sub) = app
        .send(Method::GET, &format!("/subscriptions/{doomed}"), None)
        .await;
    assert_eq!(sub["enabled"], false, "{sub}");
    assert!(
        sub["disabled_reason"].as_str().unwrap().contains("410"),
        "{sub}"
    );
    assert_eq!(received(&gone).await.len(), 1, "410 is not retried");
}

#[tokio::test]
async fn credentials_never_come_back_out_and_a_test_message_says_what_the_service_said() {
    let app = app().await;
    let slack = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&slack)
        .await;
    let url = format!("{}/services/T0/B0/SECRETTOKEN42", slack.uri());
    let created = destination(
        &app,
        json!({"name": "sales", "kind": "slack", "settings": {"webhook_url": url}}),
    )
    .await;
    assert!(!created.to_string().contains("SECRETTOKEN42"), "{created}");
    let id = created["destination"]["id"].as_str().unwrap().to_owned();
    let _w = worker(&app, &[]);

    let (status, test) = app
        .send(Method::POST, &format!("/destinations/{id}/test"), None)
        .await;
    assert_eq!(status, 200, "{test}");
    assert_eq!(test["delivered"], true, "{test}");
    assert_eq!(
        test["delivery"]["attempts_log"][0]["excerpt"], "ok",
        "{test}"
    );
    assert_eq!(received(&slack).await.len(), 1);

    for (what, path) in [
        ("the destination", format!("/destinations/{id}")),
        ("the list", "/destinations".to_owned()),
        ("the audit log", "/audit".to_owned()),
        ("the jobs", "/jobs?kind=deliver".to_owned()),
        ("the deliveries", "/deliveries".to_owned()),
    ] {
        let (status, body) = app.send(Method::GET, &path, None).await;
        assert_eq!(status, 200, "{what}: {body}");
        assert!(
            !body.to_string().contains("SECRETTOKEN42"),
            "{what} shows the token: {body}"
        );
    }
    let stored: String = sqlx::query_scalar("SELECT credentials FROM destinations")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(stored.starts_with("enc:v1:"), "sealed at rest");
    assert!(!stored.contains("SECRETTOKEN42"));
    let args: Vec<Value> = sqlx::query_scalar("SELECT args FROM jobs WHERE kind = 'deliver'")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert!(
        args.iter()
            .all(|a| !a.to_string().contains("SECRETTOKEN42"))
    );
}

#[tokio::test]
async fn deliveries_are_role_checked_tenant_walled_and_refuse_bad_input() {
    let app = app().await;
    let viewer = app.create_key("acme", "viewer").await;
    let other = app.create_key("globex", "admin").await;
    let created = destination(
        &app,
        json!({"name": "crm", "kind": "webhook", "settings": {"url": "https://crm.example.com/hook"}}),
    )
    .await;
    let id = created["destination"]["id"].as_str().unwrap().to_owned();
    let call = async |key: &str, m: Method, p: &str, body: Option<Value>| {
        let mut req = app
            .http
            .request(m, format!("{}/api/v1{p}", app.base))
            .header("X-API-Key", key);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let ct = res
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        (status, ct, res.json::<Value>().await.unwrap_or(Value::Null))
    };
    let (s, _, _) = call(&viewer, Method::GET, &format!("/destinations/{id}"), None).await;
    assert_eq!(s, 200);
    let (s, _, _) = call(
        &viewer,
        Method::POST,
        "/destinations",
        Some(json!({"name": "x", "kind": "webhook", "settings": {"url": "https://a.example.com"}})),
    )
    .await;
    assert_eq!(s, 403);
    let (s, _, _) = call(&other, Method::GET, &format!("/destinations/{id}"), None).await;
    assert_eq!(s, 404, "another tenant's destination does not exist");
    let (s, _, body) = call(
        &other,
        Method::POST,
        "/alert-rules",
        Some(json!({"name": "steal", "event": "job.dead", "destination_ids": [id]})),
    )
    .await;
    assert_eq!(
        s, 422,
        "a rule cannot name another tenant's destination: {body}"
    );
    assert_eq!(body["errors"][0]["path"], "destination_ids[0]");

    for (body, path) in [
        (json!({"name": "x", "kind": "fax", "settings": {}}), "kind"),
        (
            json!({"name": "x", "kind": "webhook", "settings": {"url": "ftp://x.example.com"}}),
            "settings.url",
        ),
        (
            json!({"name": "x", "kind": "webhook", "settings": {"url": "https://x.example.com"}, "rate_limit_per_min": 0}),
            "rate_limit_per_min",
        ),
        (
            json!({"name": "x\u{0}y", "kind": "webhook", "settings": {"url": "https://x.example.com"}}),
            "name",
        ),
    ] {
        let (s, ct, problem) =
            call(&app.key, Method::POST, "/destinations", Some(body.clone())).await;
        assert!(s == 422 || s == 400, "{body}: {s} {problem}");
        assert_eq!(ct.as_deref(), Some("application/problem+json"), "{body}");
        if s == 422 {
            assert!(
                problem["errors"][0]["path"]
                    .as_str()
                    .unwrap()
                    .starts_with(path),
                "{body}: {problem}"
            );
        }
    }
    let (s, _, problem) = call(
        &app.key,
        Method::POST,
        "/subscriptions",
        Some(json!({"url": "https://a.example.com", "event_types": ["lead.deleted"]})),
    )
    .await;
    assert_eq!(s, 422);
    assert_eq!(problem["errors"][0]["path"], "event_types[0]");
    let (s, _, problem) = call(
        &app.key,
        Method::POST,
        "/alert-rules",
        Some(json!({"name": "loop", "event": "job.dead", "destination_ids": [id],
                    "templates": {"webhook": "{% for i in range(100000000) %}{{ i }}{% endfor %}"}})),
    )
    .await;
    assert!(
        s == 201 || s == 422,
        "a runaway template is bounded, never a 500: {problem}"
    );
    let (s, _, _) = call(&app.key, Method::GET, "/deliveries?state=lost", None).await;
    assert_eq!(s, 422);
}

#[tokio::test]
async fn dead_deliveries_are_recovered_and_a_sent_one_is_sent_again_only_when_forced() {
    let app = app().await;
    let receiver = MockServer::start().await;
    // The receiver refuses (a 400 is permanent: dead at once) until it is fixed.
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_string("bad schema"))
        .up_to_n_times(3)
        .with_priority(1)
        .mount(&receiver)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .with_priority(2)
        .mount(&receiver)
        .await;
    let created = destination(
        &app,
        json!({"name": "crm", "kind": "webhook", "settings": {"url": receiver.uri()}}),
    )
    .await;
    let dest = created["destination"]["id"].as_str().unwrap().to_owned();
    rule(
        &app,
        json!({"name": "dead", "event": "job.dead", "destination_ids": [dest]}),
    )
    .await;
    let since = chrono::Utc::now() - chrono::TimeDelta::seconds(5);
    events(&app, "job.dead", 3, 3).await;
    let _w = worker(&app, &[]);
    let dead = settled(&app, 3, &["dead"]).await;
    assert!(
        dead[0]["reason"].as_str().unwrap().contains("bad schema"),
        "{}",
        dead[0]
    );

    let (status, body) = app
        .send(
            Method::POST,
            "/deliveries/recover",
            Some(json!({"since": since, "destination_id": dest})),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["deliveries"], 3);
    let sent = settled(&app, 3, &["sent"]).await;
    assert_eq!(
        received(&receiver).await.len(),
        6,
        "three refusals, three deliveries"
    );

    // A sent delivery is not sent again by accident...
    let id = sent[0]["id"].as_str().unwrap();
    let (status, problem) = app
        .send(
            Method::POST,
            &format!("/deliveries/{id}/redeliver"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 409, "{problem}");
    // ... only on purpose, with the same webhook-id.
    let (status, _) = app
        .send(
            Method::POST,
            &format!("/deliveries/{id}/redeliver"),
            Some(json!({"force": true})),
        )
        .await;
    assert_eq!(status, 202);
    let again = wait_until("the forced redelivery", T, async || {
        let requests = received(&receiver).await;
        (requests.len() == 7).then_some(requests)
    })
    .await;
    assert_eq!(header(&again[6], "webhook-id"), id);
    let (_, audit) = app.send(Method::GET, "/audit", None).await;
    assert!(
        audit.to_string().contains("delivery.recover")
            && audit.to_string().contains("delivery.redeliver"),
        "both are audited"
    );
}
