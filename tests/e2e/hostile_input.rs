//! Hostile input, end to end: secrets sealed at rest (and re-sealed by `api reseal-secrets`),
//! signed requests accepted once, keyless calls rate-limited, NUL bytes from targets and in
//! args, proxies that would bypass the SSRF guard, the LLM's own allow-list, and credentials in
//! `http_request` headers that reach the target but no reader.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use chrono::Utc;
use e2e::{App, TEST_SECRET_KEY, api_cli, bin, spawn_app, spawn_app_with, wait_until};
use jobs::signing::sign;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{header, method, path},
};

const T: Duration = Duration::from_secs(60);

async fn create(app: &App, path: &str, body: Value) -> Value {
    let (status, created) = app.send(Method::POST, path, Some(body)).await;
    assert_eq!(status, 201, "POST {path}: {created}");
    created
}

/// A workflow with one noop step and its webhook; returns (workflow id, hook URL, secret).
async fn workflow_with_webhook(app: &App) -> (String, String, String) {
    let wf = create(
        app,
        "/workflows",
        json!({"name": "hooked", "definition": {"steps": [{"name": "a", "kind": "noop"}]}}),
    )
    .await;
    let wf = wf["id"].as_str().unwrap().to_owned();
    let hook = create(app, &format!("/workflows/{wf}/webhook"), json!({})).await;
    let url = format!("{}{}", app.base, hook["webhook"]["url"].as_str().unwrap());
    (wf, url, hook["secret"].as_str().unwrap().to_owned())
}

/// A signed, keyless POST of `body` to `url`.
async fn post_signed(
    app: &App,
    url: &str,
    signature: Option<String>,
    body: &[u8],
) -> reqwest::Response {
    let mut req = app
        .http
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(s) = signature {
        req = req.header("X-Demandflow-Signature", s);
    }
    req.send().await.unwrap()
}

async fn problem(res: reqwest::Response) -> (u16, Value) {
    let status = res.status().as_u16();
    let content_type = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(
        content_type.starts_with("application/problem+json"),
        "{content_type}"
    );
    (status, res.json().await.unwrap())
}

#[tokio::test]
async fn push_and_webhook_secrets_are_sealed_at_rest_and_legacy_ones_are_resealed() {
    let app = spawn_app().await;
    let secret = "push-secret-0123456789";
    let source = create(&app, "/sources", json!({"kind": "push", "secret": secret})).await;
    let id = source["id"].as_str().unwrap().to_owned();
    assert_eq!(source["has_secret"], true);
    assert!(!source.to_string().contains(secret), "never returned");
    let stored = || async {
        sqlx::query_scalar::<_, String>("SELECT secret FROM sources WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.pool)
            .await
            .unwrap()
    };
    let sealed = stored().await;
    assert!(sealed.starts_with("enc:v1:test:"), "{sealed}");
    assert!(!sealed.contains(secret));

    // Verification opens it: a keyless signed push is accepted.
    let url = format!("{}/api/v1/sources/{id}/signals", app.base);
    let push = |n: u32, secret: &'static str| {
        let body = serde_json::to_vec(&json!({"items": [{
            "title": format!("Roof leak number {n}"),
            "content": format!("Water drips through the ceiling of room {n} whenever it rains hard."),
        }]}))
        .unwrap();
        let url = url.clone();
        let app = &app;
        async move {
            let signature = sign(secret, Utc::now(), &body);
            post_signed(app, &url, Some(signature), &body)
                .await
                .status()
        }
    };
    assert_eq!(push(1, secret).await, StatusCode::OK);

    // Webhook secrets: sealed too (current and, after a rotation, previous), and they verify.
    let (wf, hook_url, hook_secret) = workflow_with_webhook(&app).await;
    let rotated = create(&app, &format!("/workflows/{wf}/webhook"), json!({})).await;
    let new_secret = rotated["secret"].as_str().unwrap().to_owned();
    let (current, previous): (String, String) = sqlx::query_as(
        "SELECT secret, previous_secret FROM workflow_webhooks WHERE workflow_id = $1::uuid",
    )
    .bind(&wf)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    for (stored, clear) in [(&current, &new_secret), (&previous, &hook_secret)] {
        assert!(stored.starts_with("enc:v1:test:"), "{stored}");
        assert!(!stored.contains(clear.as_str()));
    }
    for s in [&new_secret, &hook_secret] {
        let body = format!(r#"{{"by": "{}"}}"#, &s[..10]);
        let res = post_signed(
            &app,
            &hook_url,
            Some(sign(s, Utc::now(), body.as_bytes())),
            body.as_bytes(),
        )
        .await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }

    // A row written before sealing existed still verifies, and `api reseal-secrets` seals it
    // (and only it: a second run has nothing to do).
    const LEGACY: &str = "legacy-plain-secret-42";
    sqlx::query("UPDATE sources SET secret = $2 WHERE id = $1::uuid")
        .bind(&id)
        .bind(LEGACY)
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(push(2, LEGACY).await, StatusCode::OK);
    let out = api_cli(&app.db, &["reseal-secrets"]).await.unwrap();
    assert!(out.contains("re-sealed 1 stored secrets"), "{out}");
    let resealed = stored().await;
    assert!(resealed.starts_with("enc:v1:test:"), "{resealed}");
    assert!(!resealed.contains(LEGACY));
    assert_eq!(push(3, LEGACY).await, StatusCode::OK, "still verifies");
    let out = api_cli(&app.db, &["reseal-secrets"]).await.unwrap();
    assert!(out.contains("re-sealed 0 stored secrets"), "{out}");
}

#[tokio::test]
async fn the_binaries_refuse_to_start_without_a_valid_operator_key() {
    let db = e2e::TestDb::create().await.unwrap();
    api_cli(&db, &["migrate"]).await.unwrap();
    for key in [None, Some("not-a-key"), Some("k1:c2hvcnQ=")] {
        for (name, args) in [
            ("api", &["serve"][..]),
            ("api", &["reseal-secrets"]),
            ("worker", &[]),
        ] {
            let mut cmd = tokio::process::Command::new(bin(name));
            cmd.args(args)
                .env("DATABASE_URL", &db.url)
                .env("PORT", "0")
                .env_remove("DEMANDFLOW_SECRET_KEY")
                .kill_on_drop(true);
            if let Some(key) = key {
                cmd.env("DEMANDFLOW_SECRET_KEY", key);
            }
            let out = tokio::time::timeout(T, cmd.output())
                .await
                .expect("exits at once")
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                out.status.code(),
                Some(2),
                "{name} {args:?} {key:?}: {stderr}"
            );
            let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
            assert_eq!(lines.len(), 1, "{stderr}");
            assert!(lines[0].contains("DEMANDFLOW_SECRET_KEY"), "{stderr}");
        }
    }
    // `generate-secret-key` needs nothing, and what it prints is a key the binaries take.
    let out = tokio::process::Command::new(bin("api"))
        .args(["generate-secret-key", "--id", "ops1"])
        .env_clear()
        .output()
        .await
        .unwrap();
    assert!(out.status.success());
    let spec = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(spec.starts_with("ops1:") && spec.len() == 5 + 44, "{spec}");
    let out = tokio::process::Command::new(bin("api"))
        .arg("reseal-secrets")
        .env("DATABASE_URL", &db.url)
        .env("DEMANDFLOW_SECRET_KEY", format!("{spec},{TEST_SECRET_KEY}"))
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn a_signed_webhook_or_push_is_accepted_once() {
    let app = spawn_app().await;
    let (_, hook_url, secret) = workflow_with_webhook(&app).await;
    let body = br#"{"lead": "ada"}"#;
    let signature = sign(&secret, Utc::now(), body);
    let res = post_signed(&app, &hook_url, Some(signature.clone()), body).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    for _ in 0..3 {
        let res = post_signed(&app, &hook_url, Some(signature.clone()), body).await;
        let (status, p) = problem(res).await;
        assert_eq!(status, 409, "{p}");
        assert_eq!(p["detail"], "this signed request was already accepted");
    }
    let runs: i64 = sqlx::query_scalar("SELECT count(*) FROM workflow_runs")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(runs, 1, "a replay starts nothing");
    // Signed anew (another second, so another signature), the same body is a new request.
    let later = Utc::now() + chrono::Duration::seconds(2);
    let res = post_signed(&app, &hook_url, Some(sign(&secret, later, body)), body).await;
    assert_eq!(res.status(), StatusCode::CREATED);

    let push_secret = "push-secret-for-replays";
    let source = create(
        &app,
        "/sources",
        json!({"kind": "push", "secret": push_secret}),
    )
    .await;
    let url = format!(
        "{}/api/v1/sources/{}/signals",
        app.base,
        source["id"].as_str().unwrap()
    );
    let batch = br#"{"items": [{"title": "Fence repair", "content": "Storm knocked two fence panels down; need them replaced this week please."}]}"#;
    let signature = sign(push_secret, Utc::now(), batch);
    let res = post_signed(&app, &url, Some(signature.clone()), batch).await;
    assert_eq!(res.status(), StatusCode::OK);
    // Replayed keyless, or with an operator's key: refused alike.
    let res = post_signed(&app, &url, Some(signature.clone()), batch).await;
    let (status, p) = problem(res).await;
    assert_eq!(status, 409, "{p}");
    let res = app
        .http
        .post(&url)
        .header("X-API-Key", &app.key)
        .header("content-type", "application/json")
        .header("X-Demandflow-Signature", &signature)
        .body(&batch[..])
        .send()
        .await
        .unwrap();
    let (status, p) = problem(res).await;
    assert_eq!(
        (status, p["detail"].as_str()),
        (409, Some("this signed request was already accepted"))
    );
    let remembered: i64 = sqlx::query_scalar("SELECT count(*) FROM seen_signatures")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(remembered, 3, "two hook calls and one push");
}

#[tokio::test]
async fn keyless_calls_to_one_hook_are_rate_limited_with_retry_after() {
    let app = spawn_app_with(&[("HOOK_RATE_PER_MINUTE", "3")]).await;
    let (_, hook_url, secret) = workflow_with_webhook(&app).await;
    let (_, other_url, other_secret) = workflow_with_webhook(&app).await;
    let body = br#"{"n": 1}"#;
    let mut statuses = vec![];
    for i in 0..3 {
        // Forged or genuine, every call counts: the limit comes before the signature.
        let signature = (i == 0).then(|| sign(&secret, Utc::now(), body));
        statuses.push(
            post_signed(&app, &hook_url, signature, body)
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses, [201, 401, 401]);
    let res = post_signed(&app, &hook_url, Some(sign(&secret, Utc::now(), body)), body).await;
    let retry_after: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=20).contains(&retry_after), "{retry_after}");
    let (status, p) = problem(res).await;
    assert_eq!(status, 429, "{p}");
    // Another hook has its own budget.
    let res = post_signed(
        &app,
        &other_url,
        Some(sign(&other_secret, Utc::now(), body)),
        body,
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);

    // Keyless pushes to a source, alike; pushes with a key are the key's business.
    let source = create(
        &app,
        "/sources",
        json!({"kind": "push", "secret": "push-secret-limited"}),
    )
    .await;
    let url = format!(
        "{}/api/v1/sources/{}/signals",
        app.base,
        source["id"].as_str().unwrap()
    );
    for _ in 0..3 {
        assert_eq!(post_signed(&app, &url, None, b"{}").await.status(), 401);
    }
    let res = post_signed(&app, &url, None, b"{}").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));
    let res = app
        .request(
            Method::POST,
            &format!("/sources/{}/signals", source["id"].as_str().unwrap()),
        )
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "with a key: the signature is checked"
    );
}

/// The first bytes of a PNG: its signature and IHDR chunk, NULs included.
const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

#[tokio::test]
async fn binary_answers_with_nul_bytes_are_stored_and_other_jobs_keep_running() {
    let app = spawn_app().await;
    let target = MockServer::start().await;
    Mock::given(path("/logo.png"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(PNG, "image/png"))
        .mount(&target)
        .await;
    Mock::given(path("/broken"))
        .respond_with(ResponseTemplate::new(400).set_body_raw(&b"bad\0request"[..], "text/plain"))
        .mount(&target)
        .await;
    let _worker = app.spawn_worker(&[("WORKER_CONCURRENCY", "2")]);
    let png = app
        .enqueue(json!({"kind": "http_request", "args": {"method": "GET", "url": format!("{}/logo.png", target.uri())}}))
        .await;
    let broken = app
        .enqueue(json!({"kind": "http_request", "args": {"method": "GET", "url": format!("{}/broken", target.uri())}}))
        .await;
    let mut ids = vec![];
    for i in 0..5 {
        let job = app
            .enqueue(json!({"kind": "noop", "args": {"output": i}}))
            .await;
        ids.push(job["id"].as_str().unwrap().to_owned());
    }
    let job = app
        .wait_for_state(png["id"].as_str().unwrap(), &["succeeded", "dead"], T)
        .await;
    assert_eq!(job["state"], "succeeded", "{job}");
    let excerpt = job["result"]["body_excerpt"].as_str().unwrap();
    assert!(
        excerpt.contains("PNG") && excerpt.contains('\u{FFFD}') && !excerpt.contains('\0'),
        "{excerpt:?}"
    );
    let job = app
        .wait_for_state(broken["id"].as_str().unwrap(), &["succeeded", "dead"], T)
        .await;
    assert_eq!(job["state"], "dead", "a 400 fails for good: {job}");
    assert_eq!(job["last_error"], "HTTP 400: bad\u{FFFD}request");
    for id in &ids {
        let job = app.wait_for_state(id, &["succeeded", "dead"], T).await;
        assert_eq!(job["state"], "succeeded", "{job}");
    }
}

#[tokio::test]
async fn a_nul_in_job_args_is_a_422_naming_the_field() {
    let app = spawn_app().await;
    let (status, p) = app
        .send(
            Method::POST,
            "/jobs",
            Some(json!({"kind": "noop", "args": {"output": {"list": ["ok", "bad\u{0}"]}}})),
        )
        .await;
    assert_eq!(status, 422, "{p}");
    assert_eq!(p["errors"][0]["path"], "args.output.list[1]", "{p}");
    let (status, p) = app
        .send(
            Method::POST,
            "/jobs/batch",
            Some(json!({"jobs": [
                {"kind": "noop"},
                {"kind": "http_request", "args": {"method": "POST", "url": "https://example.com/", "body": "\u{0}"}}
            ]})),
        )
        .await;
    assert_eq!(status, 422, "{p}");
    assert_eq!(p["errors"][0]["path"], "jobs[1].args.body", "{p}");
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, 0);
    // A webhook's signed body with a NUL, alike.
    let (_, hook_url, secret) = workflow_with_webhook(&app).await;
    let body = br#"{"name": "a\u0000b"}"#;
    let res = post_signed(&app, &hook_url, Some(sign(&secret, Utc::now(), body)), body).await;
    let (status, p) = problem(res).await;
    assert_eq!(
        (status, p["errors"][0]["path"].as_str()),
        (422, Some("name")),
        "{p}"
    );
}

/// A fake forward proxy that answers every request `200 proxied` and counts connections.
async fn fake_proxy() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf).await;
                let _ = conn
                    .write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\nConnection: close\r\n\r\nproxied",
                    )
                    .await;
            });
        }
    });
    (format!("http://{addr}"), seen)
}

#[tokio::test]
async fn guarded_clients_never_go_through_a_proxy() {
    let app = spawn_app().await;
    let (proxy, seen) = fake_proxy().await;
    let _worker = app.spawn_worker(&[
        ("ALLOW_PRIVATE_NETWORKS", "false"),
        ("HTTP_PROXY", &proxy),
        ("HTTPS_PROXY", &proxy),
        ("ALL_PROXY", &proxy),
        ("http_proxy", &proxy),
        ("https_proxy", &proxy),
        ("all_proxy", &proxy),
        ("NO_PROXY", "nothing.invalid"),
        ("no_proxy", "nothing.invalid"),
    ]);
    // A public-looking name: through a proxy, the proxy would resolve (and reach) it, past the
    // guard; without one, the guarded resolver decides (here: it does not resolve at all).
    let mut ids = vec![];
    for url in [
        "http://internal-admin.example/",
        "https://metadata.example/latest",
    ] {
        let job = app
            .enqueue(json!({"kind": "http_request", "max_attempts": 1,
                            "args": {"method": "GET", "url": url}}))
            .await;
        ids.push(job["id"].as_str().unwrap().to_owned());
    }
    for id in &ids {
        let job = app.wait_for_state(id, &["succeeded", "dead"], T).await;
        assert_eq!(job["state"], "dead", "it must not have been proxied: {job}");
        assert!(!job.to_string().contains("proxied"), "{job}");
    }
    assert_eq!(seen.load(Ordering::SeqCst), 0, "nothing reached the proxy");
}

const MODEL: &str = "gpt-4o-mini";

fn llm_env(server: &MockServer) -> Vec<(&'static str, String)> {
    vec![
        ("LLM_BASE_URL", format!("{}/v1", server.uri())),
        ("LLM_MODEL", MODEL.to_owned()),
        (
            "LLM_PRICES",
            r#"{"gpt-4o-mini": {"input_per_mtok_micros": 150000, "output_per_mtok_micros": 600000}}"#
                .to_owned(),
        ),
        ("LLM_TIMEOUT_MS", "5000".to_owned()),
        ("ALLOW_PRIVATE_NETWORKS", "false".to_owned()),
    ]
}

/// A push source with one signal the keyword rules cannot decide, and a ruleset; returns
/// (signal id, ruleset id).
async fn undecided_signal(app: &App, n: u32) -> (String, String) {
    let rules = json!({
        "categories": ["solar"],
        "terms": [{"term": "solar", "weight": 20, "category": "solar"}, {"term": "heat pump", "weight": 25}],
        "thresholds": {"relevant": 60, "irrelevant": 20}
    });
    let rs = match app
        .send(
            Method::POST,
            "/rulesets",
            Some(json!({"name": "home", "rules": rules})),
        )
        .await
    {
        (StatusCode::CREATED, rs) => rs["id"].as_str().unwrap().to_owned(),
        (_, _) => {
            let (_, list) = app.send(Method::GET, "/rulesets", None).await;
            list["items"][0]["id"].as_str().unwrap().to_owned()
        }
    };
    let source = create(app, "/sources", json!({"kind": "push"})).await;
    let title = format!("Thinking about solar, take {n}");
    let (status, report) = app
        .send(
            Method::POST,
            &format!("/sources/{}/signals", source["id"].as_str().unwrap()),
            Some(json!({"items": [{"title": title, "content": format!("Would a heat pump and panels make sense for house number {n} in a cold town?")}]})),
        )
        .await;
    assert_eq!(
        (status, report["inserted"].as_u64()),
        (StatusCode::OK, Some(1)),
        "{report}"
    );
    let id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM signals WHERE title = $1")
        .bind(&title)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    (id.to_string(), rs)
}

#[tokio::test]
async fn llm_allow_private_opens_private_networks_to_the_llm_alone() {
    let app = spawn_app().await;
    let llm = MockServer::start().await;
    let answer =
        r#"{"relevant": true, "category": "solar", "confidence": 0.8, "reasons": ["asks"]}"#;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "choices": [{"index": 0, "message": {"role": "assistant", "content": answer}}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 10}
        })))
        .mount(&llm)
        .await;
    let mut env = llm_env(&llm);
    env.push(("LLM_ALLOW_PRIVATE", "true".to_owned()));
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let worker = app.spawn_worker(&env_refs);

    // The local model answers; a tenant's request to the same loopback server is refused.
    let (signal, rs) = undecided_signal(&app, 1).await;
    let classify = app
        .enqueue(
            json!({"kind": "classify_signal", "args": {"signal_id": signal, "ruleset_id": rs}}),
        )
        .await;
    let tenant_call = app
        .enqueue(json!({"kind": "http_request", "args": {"method": "POST", "url": format!("{}/v1/chat/completions", llm.uri())}}))
        .await;
    let job = app
        .wait_for_state(classify["id"].as_str().unwrap(), &["succeeded", "dead"], T)
        .await;
    assert_eq!(
        (job["state"].as_str(), job["result"]["llm"].as_str()),
        (Some("succeeded"), Some("paid")),
        "{job}"
    );
    let job = app
        .wait_for_state(
            tenant_call["id"].as_str().unwrap(),
            &["succeeded", "dead"],
            T,
        )
        .await;
    assert_eq!(job["state"], "dead", "{job}");
    assert!(
        job["last_error"].as_str().unwrap().starts_with("refused: "),
        "{job}"
    );
    assert_eq!(
        llm.received_requests().await.unwrap().len(),
        1,
        "only the LLM's own call"
    );

    // Without LLM_ALLOW_PRIVATE, the same local model is refused too.
    drop(worker);
    let env = llm_env(&llm);
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let _worker = app.spawn_worker(&env_refs);
    let (signal, rs) = undecided_signal(&app, 2).await;
    let classify = app
        .enqueue(
            json!({"kind": "classify_signal", "args": {"signal_id": signal, "ruleset_id": rs}}),
        )
        .await;
    let job = app
        .wait_for_state(classify["id"].as_str().unwrap(), &["succeeded", "dead"], T)
        .await;
    assert_eq!(job["state"], "dead", "{job}");
    assert!(
        job["last_error"].as_str().unwrap().starts_with("refused: "),
        "{job}"
    );
    assert_eq!(
        llm.received_requests().await.unwrap().len(),
        1,
        "nothing more reached it"
    );
}

#[tokio::test]
async fn credentials_in_headers_reach_the_target_and_no_reader() {
    let app = spawn_app().await;
    let target = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/crm"))
        .and(header("authorization", "Bearer s3cr3t-t0ken"))
        .and(header("x-api-key", "k-998877"))
        .and(header("x-trace", "visible"))
        .respond_with(ResponseTemplate::new(200).set_body_string("saved"))
        .mount(&target)
        .await;
    let worker = app.spawn_worker(&[]);
    let created = app
        .enqueue(json!({"kind": "http_request", "args": {
            "method": "POST", "url": format!("{}/crm", target.uri()), "body": {"lead": 1},
            "headers": {"Authorization": "Bearer s3cr3t-t0ken", "X-Api-Key": "k-998877", "X-Trace": "visible"}
        }}))
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let secrets = ["s3cr3t-t0ken", "k-998877"];
    let check = |what: &str, shown: &Value| {
        let text = shown.to_string();
        for s in secrets {
            assert!(!text.contains(s), "{what} shows {s}: {text}");
        }
        assert!(
            !text.contains("enc:v1:"),
            "{what} shows the sealed value: {text}"
        );
    };
    check("the enqueue answer", &created);
    assert_eq!(created["args"]["headers"]["Authorization"], "[redacted]");
    let job = app.wait_for_state(&id, &["succeeded", "dead"], T).await;
    assert_eq!(
        job["state"], "succeeded",
        "the target got the real headers: {job}"
    );
    assert_eq!(job["args"]["headers"]["Authorization"], "[redacted]");
    assert_eq!(job["args"]["headers"]["X-Api-Key"], "[redacted]");
    assert_eq!(job["args"]["headers"]["X-Trace"], "visible");
    check("GET /jobs/{id}", &job);
    let (_, list) = app.send(Method::GET, "/jobs?kind=http_request", None).await;
    check("GET /jobs", &list);
    let (_, audit) = app.send(Method::GET, "/audit", None).await;
    check("GET /audit", &audit);
    // At rest, sealed; the worker's log never carries them either.
    let args: String = sqlx::query_scalar("SELECT args::text FROM jobs WHERE id = $1::uuid")
        .bind(&id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    for s in secrets {
        assert!(!args.contains(s), "stored in clear: {args}");
    }
    assert!(args.contains("enc:v1:test:"), "{args}");
    for line in app.api.output().iter().chain(&worker.output()) {
        for s in secrets {
            assert!(!line.contains(s), "a process logged {s}: {line}");
        }
    }
    wait_until("the target to have been called once", T, async || {
        target.received_requests().await.unwrap().len() == 1
    })
    .await;
}
