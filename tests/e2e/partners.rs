//! Partner export, end to end: real workers offer leads to three local partner fakes
//! (wiremock) that accept, reject, answer duplicate, accept then time out at the gateway, or
//! confirm later by postbacks sent out of order and twice; a worker is killed mid-run. What a
//! user checks: every lead sold at most once, caps kept, revenue equal to the confirmed prices
//! minus the returns, no post after an answer; and hostile input answered with 4xx
//! problem+json.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use chrono::Utc;
use e2e::{App, spawn_app_with, wait_until};
use reqwest::Method;
use serde_json::{Value, json};
use wiremock::{Mock, MockServer, Request, ResponseTemplate, matchers::method};

const T: Duration = Duration::from_secs(120);

async fn app() -> App {
    spawn_app_with(&[("ALLOW_PRIVATE_NETWORKS", "true")]).await
}

/// What a fake partner saw: requests per idempotency key, in order.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<HashMap<String, Vec<String>>>>);

impl Seen {
    fn record(&self, key: &str, answer: &str) -> usize {
        let mut m = self.0.lock().unwrap();
        let v = m.entry(key.to_owned()).or_default();
        v.push(answer.to_owned());
        v.len()
    }
    fn map(&self) -> HashMap<String, Vec<String>> {
        self.0.lock().unwrap().clone()
    }
}

fn key_of(r: &Request) -> String {
    r.headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn score_of(r: &Request) -> i64 {
    let body: Value = serde_json::from_slice(&r.body).unwrap_or_default();
    body["score"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Alpha: rejects scores below 30, says duplicate for scores ending in 7, accepts the rest at
/// 10.00 — the same answer for a key seen before.
async fn alpha(seen: Seen) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(move |r: &Request| {
            let key = key_of(r);
            let score = score_of(r);
            let (status, body, what) = if score < 30 {
                (
                    422,
                    json!({"status": "rejected", "why": "score too low"}),
                    "rejected",
                )
            } else if score % 10 == 7 {
                (200, json!({"status": "duplicate"}), "duplicate")
            } else {
                (
                    200,
                    json!({"status": "accepted", "id": format!("a-{key}"), "price": "10.00"}),
                    "accepted",
                )
            };
            seen.record(&key, what);
            ResponseTemplate::new(status)
                .set_body_json(body)
                .set_delay(Duration::from_millis(30))
        })
        .mount(&server)
        .await;
    server
}

/// Beta: receives everything (202) and confirms later by postback.
async fn beta(seen: Seen) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(move |r: &Request| {
            let key = key_of(r);
            seen.record(&key, "received");
            ResponseTemplate::new(202)
                .set_body_json(json!({"status": "received", "id": format!("b-{key}")}))
                .set_delay(Duration::from_millis(30))
        })
        .mount(&server)
        .await;
    server
}

/// Gamma: accepts at 7.00; for a third of the leads it takes the lead on the first request of
/// the key but answers 504 (the gateway timed out after accepting), and a retry with the same
/// key gets the acceptance.
async fn gamma(seen: Seen) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(move |r: &Request| {
            let key = key_of(r);
            let first = !seen.map().contains_key(&key);
            if first && score_of(r) % 3 == 0 {
                seen.record(&key, "timed_out");
                ResponseTemplate::new(504).set_body_string("upstream timed out")
            } else {
                seen.record(&key, "accepted");
                ResponseTemplate::new(200).set_body_json(
                    json!({"status": "accepted", "id": format!("g-{key}"), "price": 7}),
                )
            }
        })
        .mount(&server)
        .await;
    server
}

fn mapping() -> Value {
    json!({"rules": [
        {"when": {"status": "2xx", "path": "/status", "in": ["accepted", "received"]},
         "outcome": "accepted", "lead_id": "/id", "price": "/price"},
        {"when": {"path": "/status", "equals": "duplicate"}, "outcome": "duplicate"},
        {"when": {"status": "4xx"}, "outcome": "rejected", "reason": "/why"}]})
}

async fn partner(app: &App, name: &str, server: &MockServer, extra: Value) -> (String, String) {
    let mut body = json!({
        "name": name, "mode": "direct", "post_url": format!("{}/leads", server.uri()),
        "template": {"email": "{{ lead.email }}", "score": "{{ lead.score }}", "ref": "{{ export.id }}"},
        "mapping": mapping(), "rate_limit_per_min": 6000,
        "auth": {"kind": "header", "header": "X-Api-Key", "token": format!("{name}-token-secret")},
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let (status, created) = app.send(Method::POST, "/partners", Some(body)).await;
    assert_eq!(status, 201, "{created}");
    assert!(!created.to_string().contains("token-secret"), "{created}");
    (
        created["partner"]["id"].as_str().unwrap().to_owned(),
        created["postback_secret"].as_str().unwrap().to_owned(),
    )
}

async fn qualified_leads(app: &App, n: usize) -> Vec<uuid::Uuid> {
    let tenant: uuid::Uuid = sqlx::query_scalar("SELECT id FROM tenants WHERE name = 'acme'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let mut ids = vec![];
    for i in 0..n {
        let id = uuid::Uuid::now_v7();
        sqlx::query(
            "INSERT INTO leads (id, tenant_id, email, status, score, factors, category)
             VALUES ($1, $2, $3, 'qualified', $4, '[]', 'solar')",
        )
        .bind(id)
        .bind(tenant)
        .bind(format!("lead{i}@example.com"))
        .bind((i % 100) as i16)
        .execute(&app.pool)
        .await
        .unwrap();
        ids.push(id);
    }
    ids
}

async fn postback(app: &App, partner: &str, secret: &str, body: Value) -> (u16, Value) {
    let body = body.to_string();
    let sig = jobs::signing::sign(secret, Utc::now(), body.as_bytes());
    let res = app
        .http
        .post(format!("{}/api/v1/partners/{partner}/postback", app.base))
        .header("content-type", "application/json")
        .header("X-Demandflow-Signature", sig)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn count(app: &App, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.pool).await.unwrap()
}

#[tokio::test]
async fn two_hundred_leads_down_a_capped_waterfall_are_sold_once_and_revenue_adds_up() {
    let app = app().await;
    let (sa, sb, sg) = (Seen::default(), Seen::default(), Seen::default());
    let (a, b, g) = (
        alpha(sa.clone()).await,
        beta(sb.clone()).await,
        gamma(sg.clone()).await,
    );
    partner(
        &app,
        "alpha",
        &a,
        json!({"routing": {"priority": 1}, "daily_cap": 60}),
    )
    .await;
    let (beta_id, beta_secret) = partner(
        &app,
        "beta",
        &b,
        json!({"routing": {"priority": 2, "min_score": 20}, "daily_cap": 50,
               "confirmation": "postback", "currency": "USD"}),
    )
    .await;
    partner(&app, "gamma", &g, json!({"routing": {"priority": 3}})).await;

    let leads = qualified_leads(&app, 200).await;
    let env = [("DELIVERY_RETRY_SCHEDULE", "200ms")];
    let mut first = app.spawn_worker(&env);
    let _second = app.spawn_worker(&env);
    for id in &leads {
        // Paced by the key's request rate: a 429 is waited out.
        loop {
            let (status, body) = app
                .send(Method::POST, &format!("/leads/{id}/export"), None)
                .await;
            if status == 429 {
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
            assert_eq!(status, 202, "{body}");
            break;
        }
    }
    wait_until("a quarter of the exports to be answered", T, async || {
        count(
            &app,
            "SELECT count(*) FROM partner_exports WHERE state <> 'pending'",
        )
        .await
            >= 50
    })
    .await;
    first.signal("KILL");
    let _ = first.wait_exit(Duration::from_secs(10)).await;
    let _third = app.spawn_worker(&env);
    wait_until("every export_lead job to succeed", T, async || {
        let states: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT j.state, coalesce(e.state, '-'), count(*) FROM jobs j
             LEFT JOIN partner_exports e ON e.lead_id = (j.args->>'lead_id')::uuid
             WHERE j.kind = 'export_lead' GROUP BY 1, 2 ORDER BY 1, 2",
        )
        .fetch_all(&app.pool)
        .await
        .unwrap();
        let done = count(
            &app,
            "SELECT count(*) FROM jobs WHERE kind = 'export_lead' AND state = 'succeeded'",
        )
        .await;
        (done == 200)
            .then_some(())
            .ok_or(format!("{done} of 200: {states:?}"))
    })
    .await;

    // Beta confirms by postback: ten returns first (out of order), then every acceptance,
    // then every acceptance again.
    let posted: Vec<(String, uuid::Uuid)> = sqlx::query_as(
        "SELECT partner_lead_id, id FROM partner_exports WHERE state = 'posted' ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert!(posted.len() >= 20, "beta took some leads: {}", posted.len());
    for (lead, _) in posted.iter().take(10) {
        let (s, r) = postback(
            &app,
            &beta_id,
            &beta_secret,
            json!({"event": "returned", "lead_id": lead, "price": "25.00", "reason": "bad phone"}),
        )
        .await;
        assert_eq!((s, r["changed"].clone()), (200, json!(true)), "{r}");
    }
    for round in 0..2 {
        for (i, (lead, _)) in posted.iter().enumerate() {
            let (s, r) = postback(
                &app,
                &beta_id,
                &beta_secret,
                json!({"event": "accepted", "lead_id": lead, "price": "25.00"}),
            )
            .await;
            assert_eq!(s, 200, "{r}");
            assert_eq!(r["changed"], json!(round == 0 && i >= 10), "{r}");
        }
    }

    // Every lead sold at most once (every partner buys exclusively).
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM (SELECT lead_id FROM partner_exports
                     WHERE state IN ('accepted', 'converted', 'posted', 'returned')
                     GROUP BY lead_id HAVING count(*) > 1) x"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM partner_exports WHERE state = 'pending'"
        )
        .await,
        0
    );
    // Caps kept.
    for (name, cap) in [("alpha", 60), ("beta", 50)] {
        let used: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM partner_exports e JOIN partners p ON p.id = e.partner_id
             WHERE p.name = $1 AND e.state IN ('accepted', 'converted', 'posted', 'returned')",
        )
        .bind(name)
        .fetch_one(&app.pool)
        .await
        .unwrap();
        assert!(used <= cap, "{name}: {used} > {cap}");
    }
    // No post after an answer: each key was posted as many times as its export recorded,
    // plus at most one resend of a post whose answer died with the killed worker.
    let attempts: HashMap<String, i32> =
        sqlx::query_as::<_, (uuid::Uuid, i32)>("SELECT id, attempts FROM partner_exports")
            .fetch_all(&app.pool)
            .await
            .unwrap()
            .into_iter()
            .map(|(id, n)| (id.to_string(), n))
            .collect();
    let mut resent = 0;
    for seen in [&sa, &sb, &sg] {
        for (key, answers) in seen.map() {
            let recorded = attempts.get(&key).copied().unwrap_or(0) as usize;
            assert!(
                answers.len() <= recorded + 1,
                "{key}: {answers:?}, {recorded} recorded"
            );
            resent += answers.len() - recorded.min(answers.len());
        }
    }
    assert!(resent <= 10, "{resent} posts resent after the kill");

    // Revenue: what the fakes accepted, plus beta's confirmed postbacks, minus its returns.
    let accepted = |s: &Seen, last: &str| {
        s.map()
            .values()
            .filter(|v| v.last().map(String::as_str) == Some(last))
            .count() as i64
    };
    let alpha_sold = accepted(&sa, "accepted");
    let gamma_sold = accepted(&sg, "accepted");
    let expected = alpha_sold * 1000 + gamma_sold * 700 + posted.len() as i64 * 2500 - 10 * 2500;
    let (status, report) = app.send(Method::GET, "/revenue", None).await;
    assert_eq!(status, 200, "{report}");
    let net: i64 = report["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["net_cents"].as_i64().unwrap())
        .sum();
    assert_eq!(net, expected, "{report}");
    assert_eq!(
        count(&app, "SELECT count(*) FROM leads WHERE status = 'exported'").await,
        alpha_sold + gamma_sold + posted.len() as i64 - 10
    );
    assert_eq!(
        count(&app, "SELECT count(*) FROM leads WHERE status = 'returned'").await,
        10
    );
    let csv = app.text("/revenue/export").await;
    assert!(csv.starts_with("day,partner_id,partner_name"), "{csv}");
    assert_eq!(
        csv.lines().count(),
        report["items"].as_array().unwrap().len() + 1
    );
}

#[tokio::test]
async fn hostile_partner_input_gets_4xx_problems_and_secrets_never_come_back() {
    // A small body limit, so the oversize body below fits in the socket buffers and the client
    // always reads the 413 instead of racing the server's close (a 3 MiB body against the
    // default 1 MiB limit sometimes met a broken pipe while still being written).
    let app = spawn_app_with(&[
        ("ALLOW_PRIVATE_NETWORKS", "true"),
        ("MAX_BODY_BYTES", "65536"),
    ])
    .await;
    let server = MockServer::start().await;
    let (id, secret) = partner(&app, "p", &server, json!({})).await;

    let bad = [
        json!({"name": "x", "mode": "direct", "post_url": "https://b.example.com", "template": {"a": "{{ x"}}),
        json!({"name": "x", "mode": "direct", "post_url": "https://b.example.com",
               "template": {"a": "{% for i in range(99999999) %}x{% endfor %}"}}),
        json!({"name": "x", "mode": "direct", "post_url": "https://b.example.com", "template": {"a": "x"},
               "mapping": {"rules": [{"when": {"status": 999}, "outcome": "accepted"}]}}),
        json!({"name": "x", "mode": "direct", "post_url": "https://b.example.com", "template": {"a": "x"},
               "mapping": {"rules": [{"outcome": "accepted", "price": "price"}]}}),
        json!({"name": "x", "mode": "direct", "post_url": "ftp://b.example.com", "template": {"a": "x"}}),
        json!({"name": "x", "mode": "direct", "post_url": "https://b.example.com", "template": {"a": "x"},
               "auth": {"kind": "magic"}}),
    ];
    for body in bad {
        let res = app
            .request(Method::POST, "/partners")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 422, "{body}");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
    }
    let huge = json!({"name": "x", "template": {"a": "y".repeat(80 * 1024)}});
    // A client of its own: the server closes the connection without reading the body.
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/partners", app.base))
        .header("X-API-Key", &app.key)
        .json(&huge)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);

    let (_, got) = app
        .send(Method::GET, &format!("/partners/{id}"), None)
        .await;
    assert!(!got.to_string().contains("token-secret"), "{got}");
    assert!(got["postback_url"].as_str().unwrap().ends_with("/postback"));
    let viewer = app.create_key("acme", "viewer").await;
    let res = app
        .http
        .post(format!("{}/api/v1/partners", app.base))
        .header("X-API-Key", viewer)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    // Postbacks: unsigned, forged, stale, to an unknown partner: the same 401.
    let body = json!({"event": "accepted", "lead_id": "nope"}).to_string();
    let stale = jobs::signing::sign(
        &secret,
        Utc::now() - chrono::TimeDelta::minutes(30),
        body.as_bytes(),
    );
    let forged = jobs::signing::sign("whsec_guess", Utc::now(), body.as_bytes());
    let fresh = jobs::signing::sign(&secret, Utc::now(), body.as_bytes());
    for (partner, sig) in [
        (id.clone(), None),
        (id.clone(), Some(stale)),
        (id.clone(), Some(forged)),
        (uuid::Uuid::now_v7().to_string(), Some(fresh.clone())),
    ] {
        let mut req = app
            .http
            .post(format!("{}/api/v1/partners/{partner}/postback", app.base))
            .header("content-type", "application/json")
            .body(body.clone());
        if let Some(sig) = sig {
            req = req.header("X-Demandflow-Signature", sig);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 401);
        assert_eq!(res.headers()["content-type"], "application/problem+json");
    }
    // Signed, but about no export of this partner: 404; not a postback: 422.
    let (s, _) = postback(
        &app,
        &id,
        &secret,
        json!({"event": "accepted", "lead_id": "nope"}),
    )
    .await;
    assert_eq!(s, 404);
    let (s, p) = postback(
        &app,
        &id,
        &secret,
        json!({"event": "refunded", "lead_id": "x"}),
    )
    .await;
    assert_eq!(s, 422, "{p}");
    // Exporting a lead that is not qualified is a conflict; another tenant's lead is not found.
    let lead = qualified_leads(&app, 1).await[0];
    sqlx::query("UPDATE leads SET status = 'new' WHERE id = $1")
        .bind(lead)
        .execute(&app.pool)
        .await
        .unwrap();
    let (s, _) = app
        .send(Method::POST, &format!("/leads/{lead}/export"), None)
        .await;
    assert_eq!(s, 409);
    let other = app.create_key("globex", "admin").await;
    let res = app
        .http
        .post(format!("{}/api/v1/leads/{lead}/export", app.base))
        .header("X-API-Key", other)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let (s, _) = app
        .send(
            Method::GET,
            "/revenue?since=2026-12-01&until=2026-11-01",
            None,
        )
        .await;
    assert_eq!(s, 422);
}
