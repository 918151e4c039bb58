//! Keys, roles, tenants, the audit log and request limits: an api you can put on the internet.

use std::time::{Duration, Instant};

use e2e::{spawn_app, spawn_app_with, wait_until};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn call(
    app: &e2e::App,
    key: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut req = app
        .http
        .request(method, format!("{}/api/v1{path}", app.base))
        .header("X-API-Key", key);
    if let Some(body) = body {
        req = req.json(&body);
    }
    req.send().await.unwrap()
}

async fn status_with(base: &str, key: &str) -> StatusCode {
    reqwest::Client::new()
        .get(format!("{base}/api/v1/jobs"))
        .header("X-API-Key", key)
        .send()
        .await
        .unwrap()
        .status()
}

/// Polls until `key` is refused at `base`; returns how long that took.
async fn until_refused(base: &str, key: &str, limit: Duration) -> Duration {
    let start = Instant::now();
    wait_until(&format!("{key:.11}… to be refused"), limit, async || {
        status_with(base, key).await == StatusCode::UNAUTHORIZED
    })
    .await;
    start.elapsed()
}

#[tokio::test]
async fn every_endpoint_refuses_roles_below_its_minimum() {
    let app = spawn_app().await;
    let job = app
        .enqueue(json!({"kind": "noop", "run_at": "2999-01-01T00:00:00Z"}))
        .await;
    let id = job["id"].as_str().unwrap().to_owned();
    let key_id = {
        let keys: Value = call(&app, &app.key, Method::GET, "/keys", None)
            .await
            .json()
            .await
            .unwrap();
        keys["items"][0]["id"].as_str().unwrap().to_owned()
    };
    // (method, path, body, minimum role)
    let table: Vec<(Method, String, Option<Value>, &str)> = vec![
        (Method::GET, "/jobs".into(), None, "viewer"),
        (Method::GET, format!("/jobs/{id}"), None, "viewer"),
        (Method::GET, "/queues".into(), None, "viewer"),
        (Method::GET, "/workers".into(), None, "viewer"),
        (
            Method::POST,
            "/jobs".into(),
            Some(json!({"kind": "noop"})),
            "operator",
        ),
        (
            Method::POST,
            "/jobs/batch".into(),
            Some(json!({"jobs": [{"kind": "noop"}]})),
            "operator",
        ),
        (Method::POST, format!("/jobs/{id}/cancel"), None, "operator"),
        (Method::POST, format!("/jobs/{id}/retry"), None, "operator"),
        (Method::DELETE, format!("/jobs/{id}"), None, "operator"),
        (Method::GET, "/keys".into(), None, "admin"),
        (
            Method::POST,
            "/keys".into(),
            Some(json!({"name": "x", "role": "viewer"})),
            "admin",
        ),
        (
            Method::POST,
            format!("/keys/{key_id}/rotate"),
            None,
            "admin",
        ),
        (
            Method::DELETE,
            format!("/keys/{}", uuid::Uuid::now_v7()),
            None,
            "admin",
        ),
        (Method::GET, "/tenant".into(), None, "admin"),
        (
            Method::PATCH,
            "/tenant".into(),
            Some(json!({"rate_limit_burst": 500})),
            "admin",
        ),
        (Method::GET, "/audit".into(), None, "admin"),
        (Method::GET, "/budgets".into(), None, "viewer"),
        (Method::GET, "/costs".into(), None, "viewer"),
        (
            Method::POST,
            "/budgets".into(),
            Some(json!({"provider": "openai", "period": "day", "limit_micros": 1})),
            "admin",
        ),
        (
            Method::PATCH,
            format!("/budgets/{}", uuid::Uuid::now_v7()),
            Some(json!({"limit_micros": 1})),
            "admin",
        ),
        (
            Method::DELETE,
            format!("/budgets/{}", uuid::Uuid::now_v7()),
            None,
            "admin",
        ),
    ];
    let rank = |r: &str| {
        ["viewer", "operator", "admin"]
            .iter()
            .position(|x| *x == r)
            .unwrap()
    };
    let viewer = app.create_key("acme", "viewer").await;
    let operator = app.create_key("acme", "operator").await;
    for (role, key) in [("viewer", &viewer), ("operator", &operator)] {
        for (method, path, body, min) in &table {
            let status = call(&app, key, method.clone(), path, body.clone())
                .await
                .status();
            if rank(role) < rank(min) {
                assert_eq!(status, 403, "{role} must be refused {method} {path}");
            } else {
                assert!(
                    status != 403 && status != 401,
                    "{role} may {method} {path}: got {status}"
                );
            }
        }
    }
}

#[tokio::test]
async fn keys_are_shown_once_listed_without_secrets_rotated_and_revoked() {
    let app = spawn_app().await;
    let res = call(
        &app,
        &app.key,
        Method::POST,
        "/keys",
        Some(json!({"name": "partner", "role": "operator"})),
    )
    .await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    let secret = created["key"].as_str().unwrap().to_owned();
    assert!(secret.starts_with(created["prefix"].as_str().unwrap()));
    assert_eq!(status_with(&app.base, &secret).await, 200);

    let list = call(&app, &app.key, Method::GET, "/keys", None)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        list.contains("partner") && !list.contains(&secret),
        "{list}"
    );
    assert!(
        !list.contains("\"key\""),
        "no secrets in the listing: {list}"
    );

    let id = created["id"].as_str().unwrap();
    let rotated: Value = call(
        &app,
        &app.key,
        Method::POST,
        &format!("/keys/{id}/rotate"),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let new_secret = rotated["key"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, secret);
    assert!(rotated["previous_expires_at"].is_string());
    assert_eq!(status_with(&app.base, &new_secret).await, 200);
    assert_eq!(
        status_with(&app.base, &secret).await,
        200,
        "the old secret works during the grace period"
    );

    let res = call(&app, &app.key, Method::DELETE, &format!("/keys/{id}"), None).await;
    assert_eq!(res.status(), 200);
    until_refused(&app.base, &new_secret, Duration::from_secs(7)).await;
    until_refused(&app.base, &secret, Duration::from_secs(7)).await;
    let res = call(&app, &app.key, Method::DELETE, &format!("/keys/{id}"), None).await;
    assert_eq!(res.status(), 409, "revoking twice");
    let list: Value = call(&app, &app.key, Method::GET, "/keys", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        1,
        "revoked keys are hidden: {list}"
    );
    let all: Value = call(
        &app,
        &app.key,
        Method::GET,
        "/keys?include_revoked=true",
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_rotated_keys_old_secret_stops_after_the_grace_period() {
    let app = spawn_app_with(&[("KEY_ROTATION_GRACE_SECS", "1")]).await;
    let created: Value = call(
        &app,
        &app.key,
        Method::POST,
        "/keys",
        Some(json!({"name": "ci", "role": "viewer"})),
    )
    .await
    .json()
    .await
    .unwrap();
    let old = created["key"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap();
    assert_eq!(status_with(&app.base, &old).await, 200);
    let rotated: Value = call(
        &app,
        &app.key,
        Method::POST,
        &format!("/keys/{id}/rotate"),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    // 1 s of grace, then at most the 5 s the api trusts a cached key.
    until_refused(&app.base, &old, Duration::from_secs(8)).await;
    assert_eq!(
        status_with(&app.base, rotated["key"].as_str().unwrap()).await,
        200
    );
}

#[tokio::test]
async fn a_revoked_key_is_refused_by_every_api_process_within_five_seconds() {
    let app = spawn_app().await;
    let (_second, second_base) = app.spawn_another_api(&[]).await;
    let created: Value = call(
        &app,
        &app.key,
        Method::POST,
        "/keys",
        Some(json!({"name": "ci", "role": "viewer"})),
    )
    .await
    .json()
    .await
    .unwrap();
    let secret = created["key"].as_str().unwrap().to_owned();
    // Both processes have checked (and cached) the key.
    assert_eq!(status_with(&app.base, &secret).await, 200);
    assert_eq!(status_with(&second_base, &secret).await, 200);
    let res = call(
        &app,
        &app.key,
        Method::DELETE,
        &format!("/keys/{}", created["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(res.status(), 200);
    // 5 s is the promise; the polling adds at most its own step.
    let first = until_refused(&app.base, &secret, Duration::from_millis(5500)).await;
    let second = until_refused(&second_base, &secret, Duration::from_millis(5500)).await;
    assert!(first <= Duration::from_millis(5500) && second <= Duration::from_millis(5500));
}

#[tokio::test]
async fn an_expired_key_is_refused() {
    let app = spawn_app().await;
    let at = chrono::Utc::now() + chrono::Duration::seconds(2);
    let created: Value = call(
        &app,
        &app.key,
        Method::POST,
        "/keys",
        Some(json!({"name": "temp", "role": "viewer", "expires_at": at.to_rfc3339()})),
    )
    .await
    .json()
    .await
    .unwrap();
    let secret = created["key"].as_str().unwrap().to_owned();
    assert_eq!(status_with(&app.base, &secret).await, 200);
    until_refused(&app.base, &secret, Duration::from_secs(9)).await;
    let past = call(
        &app,
        &app.key,
        Method::POST,
        "/keys",
        Some(json!({"name": "x", "role": "viewer", "expires_at": "2000-01-01T00:00:00Z"})),
    )
    .await;
    assert_eq!(past.status(), 422);
}

#[tokio::test]
async fn bad_keys_from_one_address_are_throttled_without_locking_out_other_addresses() {
    let app = spawn_app_with(&[("BAD_KEY_LIMIT", "5"), ("BAD_KEY_COOLDOWN_SECS", "60")]).await;
    let bad = format!("df_{}", "1".repeat(64));
    for _ in 0..5 {
        assert_eq!(status_with(&app.base, &bad).await, 401);
    }
    let res = app
        .http
        .get(format!("{}/api/v1/jobs", app.base))
        .header("X-API-Key", &bad)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    let retry_after: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after));
    // The same address is cooling off, though a good key still answers ...
    assert_eq!(status_with(&app.base, &bad).await, 429);
    assert_eq!(status_with(&app.base, &app.key).await, 200);
    // ... and another address is not cooling off.
    let other = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .unwrap();
    let res = other
        .get(format!("{}/api/v1/jobs", app.base))
        .header("X-API-Key", &app.key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn a_key_over_its_rate_gets_429_with_retry_after_and_ratelimit_headers() {
    let app = spawn_app().await;
    let res = call(
        &app,
        &app.key,
        Method::PATCH,
        "/tenant",
        Some(json!({"rate_limit_per_second": 1, "rate_limit_burst": 3})),
    )
    .await;
    assert_eq!(res.status(), 200);
    let mut statuses = vec![];
    let mut last = None;
    for _ in 0..5 {
        let res = call(&app, &app.key, Method::GET, "/queues", None).await;
        statuses.push(res.status().as_u16());
        last = Some(res);
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    let limited = last.unwrap();
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
    assert_eq!(limited.headers()["ratelimit-limit"], "3");
    assert_eq!(limited.headers()["ratelimit-remaining"], "0");
    let body: Value = limited.json().await.unwrap();
    assert_eq!(body["status"], 429);
    // Health, metrics and the spec are never limited.
    let health = app
        .http
        .get(format!("{}/health/live", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    // Settings are validated with paths.
    let res = call(
        &app,
        &app.key,
        Method::PATCH,
        "/tenant",
        Some(json!({"rate_limit_burst": 0})),
    )
    .await;
    assert!(res.status() == 422 || res.status() == 429);
}

#[tokio::test]
async fn every_mutating_call_is_audited_and_a_failed_one_is_not() {
    let app = spawn_app().await;
    let later = "2999-01-01T00:00:00Z";
    let job = app.enqueue(json!({"kind": "noop", "run_at": later})).await;
    let id = job["id"].as_str().unwrap().to_owned();
    let ok = |s: StatusCode| assert!(s.is_success(), "{s}");
    ok(call(
        &app,
        &app.key,
        Method::POST,
        &format!("/jobs/{id}/cancel"),
        None,
    )
    .await
    .status());
    // Cancelling a cancelled job fails: its transaction, audit entry included, rolls back.
    assert_eq!(
        call(
            &app,
            &app.key,
            Method::POST,
            &format!("/jobs/{id}/cancel"),
            None
        )
        .await
        .status(),
        409
    );
    ok(call(
        &app,
        &app.key,
        Method::POST,
        &format!("/jobs/{id}/retry"),
        None,
    )
    .await
    .status());
    ok(call(
        &app,
        &app.key,
        Method::POST,
        &format!("/jobs/{id}/cancel"),
        None,
    )
    .await
    .status());
    ok(
        call(&app, &app.key, Method::DELETE, &format!("/jobs/{id}"), None)
            .await
            .status(),
    );
    ok(call(
        &app,
        &app.key,
        Method::POST,
        "/jobs/batch",
        Some(json!({"jobs": [{"kind": "noop"}, {"kind": "noop"}]})),
    )
    .await
    .status());
    let key: Value = call(
        &app,
        &app.key,
        Method::POST,
        "/keys",
        Some(json!({"name": "k", "role": "viewer"})),
    )
    .await
    .json()
    .await
    .unwrap();
    let key_id = key["id"].as_str().unwrap();
    ok(call(
        &app,
        &app.key,
        Method::POST,
        &format!("/keys/{key_id}/rotate"),
        None,
    )
    .await
    .status());
    ok(call(
        &app,
        &app.key,
        Method::DELETE,
        &format!("/keys/{key_id}"),
        None,
    )
    .await
    .status());
    ok(call(
        &app,
        &app.key,
        Method::PATCH,
        "/tenant",
        Some(json!({"job_retention_secs": 3600})),
    )
    .await
    .status());

    let log: Value = call(&app, &app.key, Method::GET, "/audit?limit=100", None)
        .await
        .json()
        .await
        .unwrap();
    let actions: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        vec![
            "tenant.update",
            "key.revoke",
            "key.rotate",
            "key.create",
            "job.create_batch",
            "job.delete",
            "job.cancel",
            "job.retry",
            "job.cancel",
            "job.create"
        ],
        "{log}"
    );
    let entries = log["items"].as_array().unwrap();
    for e in entries {
        assert!(
            e["actor_key_id"].is_string() && e["actor_role"] == "admin",
            "{e}"
        );
        assert!(
            e["request_id"].is_string() && e["client_addr"] == "127.0.0.1",
            "{e}"
        );
    }
    let cancel = entries
        .iter()
        .find(|e| e["action"] == "job.cancel")
        .unwrap();
    assert_eq!(cancel["before"]["state"], "available");
    assert_eq!(cancel["after"]["state"], "cancelled");
    let text = log.to_string();
    assert!(
        !text.contains(key["key"].as_str().unwrap()),
        "no secret reaches the log"
    );
    // Filters.
    let about_job: Value = call(
        &app,
        &app.key,
        Method::GET,
        &format!("/audit?target={id}"),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(about_job["items"].as_array().unwrap().len(), 5);
    let bad = call(&app, &app.key, Method::GET, "/audit?since=yesterday", None).await;
    assert_eq!(bad.status(), 422);
}

#[tokio::test]
async fn another_tenant_gets_404_on_every_endpoint_with_an_id_and_changes_nothing() {
    let app = spawn_app().await;
    // One of everything in tenant acme.
    let job = app
        .enqueue(json!({"kind": "noop", "run_at": "2999-01-01T00:00:00Z"}))
        .await;
    let job_id = job["id"].as_str().unwrap().to_owned();
    let keys: Value = call(&app, &app.key, Method::GET, "/keys", None)
        .await
        .json()
        .await
        .unwrap();
    let key_id = keys["items"][0]["id"].as_str().unwrap().to_owned();
    let created = |res: reqwest::Response| async move {
        assert!(res.status().is_success(), "{}", res.status());
        let body: Value = res.json().await.unwrap();
        body["id"].as_str().unwrap().to_owned()
    };
    let source_id = created(
        call(
            &app,
            &app.key,
            Method::POST,
            "/sources",
            Some(json!({"kind": "push"})),
        )
        .await,
    )
    .await;
    let pushed = call(
        &app,
        &app.key,
        Method::POST,
        &format!("/sources/{source_id}/signals"),
        Some(json!({"items": [{"title": "Looking for a solar installer", "content": "We need quotes for a barn roof this spring, please call."}]})),
    )
    .await;
    assert!(pushed.status().is_success());
    let signals: Value = call(&app, &app.key, Method::GET, "/signals", None)
        .await
        .json()
        .await
        .unwrap();
    let signal_id = signals["items"][0]["id"]
        .as_str()
        .expect("a pushed signal")
        .to_owned();
    let workflow_id = created(
        call(
            &app,
            &app.key,
            Method::POST,
            "/workflows",
            Some(json!({"name": "w", "definition": {"steps": [{"name": "a", "kind": "noop"}]}})),
        )
        .await,
    )
    .await;
    let run_id = created(
        call(
            &app,
            &app.key,
            Method::POST,
            &format!("/workflows/{workflow_id}/runs"),
            Some(json!({"input": {}})),
        )
        .await,
    )
    .await;
    let budget_id = created(
        call(
            &app,
            &app.key,
            Method::POST,
            "/budgets",
            Some(json!({"provider": "openai", "period": "month", "limit_micros": 5_000_000})),
        )
        .await,
    )
    .await;
    let _worker = app.spawn_worker(&[]);
    let scored = app
        .enqueue(json!({"kind": "score_lead", "args": {"signal_id": signal_id}}))
        .await;
    let scored = app
        .wait_for_state(
            scored["id"].as_str().unwrap(),
            &["succeeded", "dead"],
            std::time::Duration::from_secs(30),
        )
        .await;
    let lead_id = scored["result"]["lead_id"]
        .as_str()
        .unwrap_or_else(|| panic!("a lead: {scored}"))
        .to_owned();
    let schedule_id = created(
        call(
            &app,
            &app.key,
            Method::POST,
            &format!("/workflows/{workflow_id}/schedules"),
            Some(json!({"cron": "0 0 1 1 *"})),
        )
        .await,
    )
    .await;
    let rules = json!({"categories": ["solar"], "terms": [{"term": "solar", "weight": 50}],
                       "thresholds": {"relevant": 40, "irrelevant": 10}});
    let ruleset_id = created(
        call(
            &app,
            &app.key,
            Method::POST,
            "/rulesets",
            Some(json!({"name": "r", "rules": rules})),
        )
        .await,
    )
    .await;
    let hook = call(
        &app,
        &app.key,
        Method::POST,
        &format!("/workflows/{workflow_id}/webhook"),
        None,
    )
    .await;
    assert!(hook.status().is_success());
    let hook: Value = hook.json().await.unwrap();
    let hook_id = hook["webhook"]["id"].as_str().unwrap().to_owned();
    let body_of = |res: reqwest::Response| async move {
        let status = res.status();
        let body = res.json::<Value>().await.unwrap();
        assert!(status.is_success(), "{status}: {body}");
        body
    };
    let destination_id = body_of(
        call(
            &app,
            &app.key,
            Method::POST,
            "/destinations",
            Some(json!({"name": "crm", "kind": "webhook",
                        "settings": {"url": "https://crm.example.com/hook"}})),
        )
        .await,
    )
    .await["destination"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let rule_id = created(
        call(
            &app,
            &app.key,
            Method::POST,
            "/alert-rules",
            Some(json!({"name": "r", "event": "job.dead", "destination_ids": [destination_id]})),
        )
        .await,
    )
    .await;
    let subscription_id = body_of(
        call(
            &app,
            &app.key,
            Method::POST,
            "/subscriptions",
            Some(json!({"url": "https://partner.example.com/events", "event_types": ["*"]})),
        )
        .await,
    )
    .await["subscription"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let account_id = body_of(
        call(
            &app,
            &app.key,
            Method::POST,
            "/accounts",
            Some(
                json!({"name": "social", "base_url": "https://social.example.com",
                        "access_token": "token-of-acme"}),
            ),
        )
        .await,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let post_id = body_of(
        call(
            &app,
            &app.key,
            Method::POST,
            "/posts",
            Some(
                json!({"account_id": account_id, "text": "hello", "visibility": "public",
                        "publish_at": (chrono::Utc::now() + chrono::TimeDelta::days(30)).to_rfc3339()}),
            ),
        )
        .await,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let partner_id = body_of(
        call(
            &app,
            &app.key,
            Method::POST,
            "/partners",
            Some(json!({"name": "buyer", "mode": "direct",
                        "post_url": "https://buyer.example.com/leads",
                        "template": {"email": "{{ lead.email }}"},
                        "mapping": {"rules": [{"when": {"status": "2xx"}, "outcome": "accepted"}]},
                        "auth": {"kind": "header", "header": "X-Api-Key", "token": "buyer-token"}})),
        )
        .await,
    )
    .await["partner"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let delivery_id = uuid::Uuid::now_v7().to_string();
    sqlx::query(
        "INSERT INTO deliveries (id, tenant_id, delivery_key, event_type, subject, destination_id, data, state)
         SELECT $1::uuid, tenant_id, 'k', 'job.dead', 'job:1', id, '{}', 'dead' FROM destinations WHERE id = $2::uuid",
    )
    .bind(&delivery_id)
    .bind(&destination_id)
    .execute(&app.pool)
    .await
    .unwrap();
    let intruder = app.create_key("globex", "admin").await;

    // Walk the committed spec: every operation with an {id}, with acme's id of that resource.
    let spec: Value = serde_json::from_str(include_str!("../../openapi/openapi.json")).unwrap();
    let mut walked = 0;
    for (path, ops) in spec["paths"].as_object().unwrap() {
        if !path.contains("{id}") {
            continue;
        }
        let id = [
            ("/keys", &key_id),
            ("/jobs", &job_id),
            ("/sources", &source_id),
            ("/signals", &signal_id),
            ("/workflows", &workflow_id),
            ("/runs", &run_id),
            ("/budgets", &budget_id),
            ("/leads", &lead_id),
            ("/schedules", &schedule_id),
            ("/hooks", &hook_id),
            ("/rulesets", &ruleset_id),
            ("/destinations", &destination_id),
            ("/alert-rules", &rule_id),
            ("/subscriptions", &subscription_id),
            ("/deliveries", &delivery_id),
            ("/accounts", &account_id),
            ("/posts", &post_id),
            ("/partners", &partner_id),
        ]
        .iter()
        .find(|(prefix, _)| path.starts_with(prefix))
        .map(|(_, id)| (*id).clone())
        .unwrap_or_else(|| panic!("no acme id for {path}: add the resource to this test"));
        for (method, op) in ops.as_object().unwrap() {
            // A well-formed body where the operation takes one, so the id is what is refused.
            let body = op.get("requestBody").is_some().then(|| {
                if path.ends_with("/state") {
                    json!({"state": "classified"})
                } else if path.ends_with("/status") {
                    json!({"status": "contacted"})
                } else if path.ends_with("/signals") {
                    json!({"items": [{"title": "a title"}]})
                } else if path.starts_with("/rulesets") {
                    json!({ "rules": rules })
                } else if path.ends_with("/versions") {
                    json!({"definition": {"steps": [{"name": "a", "kind": "noop"}]}})
                } else if path.ends_with("/runs") {
                    json!({"input": {}})
                } else if path.starts_with("/budgets") {
                    json!({"limit_micros": 1})
                } else if path.ends_with("/schedules") {
                    json!({"cron": "* * * * *"})
                } else if path.starts_with("/alert-rules") {
                    json!({"name": "x", "event": "job.dead", "destination_ids": [destination_id]})
                } else {
                    json!({})
                }
            });
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let res = call(
                &app,
                &intruder,
                method.clone(),
                &path.replace("{id}", &id).replace("{version}", "1"),
                body,
            )
            .await;
            // A webhook or a partner's postback takes no key: the signature is the credential,
            // and without one every caller gets the same 401.
            let signed = path.starts_with("/hooks") || path.ends_with("/postback");
            let expected = if signed { 401 } else { 404 };
            assert_eq!(res.status(), expected, "{method} {path}");
            walked += 1;
        }
    }
    assert!(walked >= 6, "the spec has the id endpoints ({walked})");
    // Lists show nothing of acme's.
    for path in [
        "/jobs",
        "/keys",
        "/audit",
        "/sources",
        "/signals",
        "/workflows",
        "/runs",
        "/budgets",
        "/leads",
        "/rulesets",
        "/destinations",
        "/alert-rules",
        "/subscriptions",
        "/deliveries",
        "/accounts",
        "/posts",
        "/partners",
    ] {
        let list: Value = call(&app, &intruder, Method::GET, path, None)
            .await
            .json()
            .await
            .unwrap();
        let text = list.to_string();
        for id in [
            &job_id,
            &key_id,
            &source_id,
            &signal_id,
            &workflow_id,
            &run_id,
            &budget_id,
            &lead_id,
            &ruleset_id,
            &destination_id,
            &rule_id,
            &subscription_id,
            &delivery_id,
            &account_id,
            &post_id,
            &partner_id,
        ] {
            assert!(
                !text.contains(id.as_str()),
                "{path} shows acme's {id}: {text}"
            );
        }
    }
    // And nothing changed.
    assert_eq!(app.job(&job_id).await["state"], "scheduled");
    assert_eq!(status_with(&app.base, &app.key).await, 200);
    for path in [
        format!("/sources/{source_id}"),
        format!("/signals/{signal_id}"),
        format!("/workflows/{workflow_id}"),
        format!("/runs/{run_id}"),
        format!("/budgets/{budget_id}"),
        format!("/leads/{lead_id}"),
        format!("/rulesets/{ruleset_id}"),
        format!("/destinations/{destination_id}"),
        format!("/alert-rules/{rule_id}"),
        format!("/subscriptions/{subscription_id}"),
        format!("/deliveries/{delivery_id}"),
    ] {
        let res = call(&app, &app.key, Method::GET, &path, None).await;
        assert_eq!(res.status(), 200, "acme still has {path}");
    }
    let workflow: Value = call(
        &app,
        &app.key,
        Method::GET,
        &format!("/workflows/{workflow_id}"),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(workflow["disabled_at"].is_null(), "{workflow}");
    let budget: Value = call(
        &app,
        &app.key,
        Method::GET,
        &format!("/budgets/{budget_id}"),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(budget["limit_micros"], 5_000_000, "{budget}");
}
