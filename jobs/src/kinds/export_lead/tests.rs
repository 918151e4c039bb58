//! `export_lead` against a real Postgres and wiremock partners: the waterfall, caps,
//! exclusivity under concurrency, retries with one key, ping/post, and postbacks.

use chrono::Utc;
use serde_json::json;
use sqlx::PgPool;
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{body_string_contains, method, path},
};

use super::*;
use crate::{
    audit::Actor,
    kinds::Backoff,
    partners::{
        postback::{self, PostbackError},
        spec as pspec, store,
    },
    signing,
};

fn job(tenant_id: Uuid, attempt: i32) -> JobContext {
    JobContext {
        id: Uuid::now_v7(),
        tenant_id,
        kind: ExportLead::KIND,
        attempt,
        max_attempts: 3,
        timeout: Duration::from_secs(30),
        correlation_id: None,
        cancel: Default::default(),
        backoff: Backoff {
            base: Duration::from_millis(1),
            cap: Duration::from_millis(1),
        },
    }
}

fn context(pool: &PgPool) -> ExportContext {
    ExportContext {
        pool: pool.clone(),
        channels: Arc::new(Channels::new(true)),
        settings: DeliverySettings::default(),
        policy: HostPolicy::default(),
    }
}

async fn tenant(pool: &PgPool) -> Uuid {
    let mut conn = pool.acquire().await.unwrap();
    crate::auth::ensure_tenant(&mut conn, "t").await.unwrap()
}

async fn lead(pool: &PgPool, tenant: Uuid, score: i16) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO leads (id, tenant_id, email, phone, status, score, factors, category)
         VALUES ($1, $2, $3, '+14155550100', 'qualified', $4, '[]', 'solar')",
    )
    .bind(id)
    .bind(tenant)
    .bind(format!("{id}@example.com"))
    .bind(score)
    .execute(pool)
    .await
    .unwrap();
    id
}

/// A partner posting to `server` at `/<name>`, with `extra` settings.
async fn partner(
    pool: &PgPool,
    tenant: Uuid,
    server: &MockServer,
    name: &str,
    extra: Value,
) -> (Uuid, String) {
    crate::secrets::install_for_tests();
    let mut body = json!({
        "name": name, "mode": "direct", "post_url": format!("{}/{name}", server.uri()),
        "template": {"email": "{{ lead.email }}", "ref": "{{ export.id }}", "bid": "{{ bid_id }}"},
        "auth": {"kind": "header", "token": "secret-token-1"}, "rate_limit_per_min": 6000,
        "mapping": {"rules": [
            {"when": {"status": "2xx", "path": "/status", "equals": "accepted"},
             "outcome": "accepted", "lead_id": "/id", "price": "/price", "bid_id": "/bid"},
            {"when": {"status": "2xx", "path": "/status", "equals": "received"},
             "outcome": "accepted", "lead_id": "/id"},
            {"when": {"path": "/status", "equals": "duplicate"}, "outcome": "duplicate"},
            {"when": {"status": "4xx"}, "outcome": "rejected", "reason": "/why"}]},
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let (spec, secrets) = pspec::parse(body, None, true).unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let created = store::create(&mut conn, tenant, &Actor::default(), spec, secrets)
        .await
        .unwrap();
    use secrecy::ExposeSecret;
    (
        created.id,
        created.postback_secret.expose_secret().to_owned(),
    )
}

fn answer(status: u16, body: Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(body)
}

async fn mount(server: &MockServer, name: &str, response: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path(format!("/{name}")))
        .respond_with(response)
        .mount(server)
        .await;
}

async fn states(pool: &PgPool, lead: Uuid) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT p.name, e.state FROM partner_exports e JOIN partners p ON p.id = e.partner_id
         WHERE e.lead_id = $1 ORDER BY p.priority, p.name",
    )
    .bind(lead)
    .fetch_all(pool)
    .await
    .unwrap()
}

async fn lead_status(pool: &PgPool, lead: Uuid) -> String {
    sqlx::query_scalar("SELECT status FROM leads WHERE id = $1")
        .bind(lead)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn ledger(pool: &PgPool, lead: Uuid) -> Vec<(String, i64)> {
    sqlx::query_as(
        "SELECT kind, amount_cents FROM revenue_ledger WHERE lead_id = $1 ORDER BY kind DESC",
    )
    .bind(lead)
    .fetch_all(pool)
    .await
    .unwrap()
}

async fn posts(server: &MockServer, name: &str) -> Vec<wiremock::Request> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.url.path() == format!("/{name}"))
        .collect()
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn a_lead_goes_down_the_waterfall_until_one_accepts(pool: PgPool) {
    let server = MockServer::start().await;
    let t = tenant(&pool).await;
    for (i, name) in ["a", "b", "c"].iter().enumerate() {
        partner(&pool, t, &server, name, json!({"routing": {"priority": i}})).await;
    }
    // Out of range: never asked.
    partner(
        &pool,
        t,
        &server,
        "d",
        json!({"routing": {"priority": 0, "min_score": 95}}),
    )
    .await;
    mount(&server, "a", answer(400, json!({"why": "no solar here"}))).await;
    mount(&server, "b", answer(200, json!({"status": "duplicate"}))).await;
    mount(
        &server,
        "c",
        answer(
            200,
            json!({"status": "accepted", "id": "c-9", "price": "31.50"}),
        ),
    )
    .await;
    let l = lead(&pool, t, 70).await;

    let out = run(&ExportLead { lead_id: l }, &job(t, 1), &context(&pool))
        .await
        .unwrap();
    assert_eq!(out["sold"], json!(true), "{out}");
    assert_eq!(
        states(&pool, l).await,
        vec![
            ("a".into(), "rejected".into()),
            ("b".into(), "duplicate".into()),
            ("c".into(), "accepted".into())
        ]
    );
    assert_eq!(lead_status(&pool, l).await, "exported");
    assert_eq!(ledger(&pool, l).await, vec![("sale".into(), 3150)]);
    assert!(posts(&server, "d").await.is_empty());
    let c = posts(&server, "c").await;
    assert_eq!(c.len(), 1);
    let key = c[0]
        .headers
        .get("idempotency-key")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let sent: Value = serde_json::from_slice(&c[0].body).unwrap();
    assert_eq!(
        sent["ref"],
        json!(key),
        "the key is the export's id, in the body too"
    );
    assert_eq!(
        c[0].headers.get("authorization").unwrap(),
        "Bearer secret-token-1"
    );

    // Again: every partner has answered; nothing is posted twice.
    let out = run(&ExportLead { lead_id: l }, &job(t, 1), &context(&pool))
        .await
        .unwrap();
    assert_eq!(out["sold"], json!(true));
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn a_full_daily_cap_sends_leads_to_the_next_partner(pool: PgPool) {
    let server = MockServer::start().await;
    let t = tenant(&pool).await;
    partner(
        &pool,
        t,
        &server,
        "a",
        json!({"daily_cap": 2, "routing": {"priority": 1}}),
    )
    .await;
    partner(&pool, t, &server, "b", json!({"routing": {"priority": 2}})).await;
    mount(
        &server,
        "a",
        answer(200, json!({"status": "accepted", "price": 10})),
    )
    .await;
    mount(
        &server,
        "b",
        answer(200, json!({"status": "accepted", "price": 5})),
    )
    .await;
    let mut leads = vec![];
    for _ in 0..5 {
        leads.push(lead(&pool, t, 50).await);
    }
    let ctx = context(&pool);
    let runs = leads
        .iter()
        .map(|l| {
            let ctx = ctx.clone();
            let l = *l;
            async move {
                // As the queue does: a snoozed job (paced, or its lead busy) runs again later.
                loop {
                    match run(&ExportLead { lead_id: l }, &job(t, 1), &ctx).await {
                        Err(JobError::Snooze { delay, .. }) => tokio::time::sleep(delay).await,
                        other => return other,
                    }
                }
            }
        })
        .collect::<Vec<_>>();
    for out in futures::future::join_all(runs).await {
        assert_eq!(out.unwrap()["sold"], json!(true));
    }
    assert_eq!(
        posts(&server, "a").await.len(),
        2,
        "the cap holds across concurrent jobs"
    );
    assert_eq!(posts(&server, "b").await.len(), 3);
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn two_concurrent_exports_of_one_exclusive_lead_sell_it_once(pool: PgPool) {
    let server = MockServer::start().await;
    let t = tenant(&pool).await;
    partner(&pool, t, &server, "a", json!({"routing": {"priority": 1}})).await;
    partner(&pool, t, &server, "b", json!({"routing": {"priority": 2}})).await;
    for name in ["a", "b"] {
        mount(
            &server,
            name,
            answer(200, json!({"status": "accepted", "price": 1}))
                .set_delay(Duration::from_millis(300)),
        )
        .await;
    }
    let l = lead(&pool, t, 50).await;
    let ctx = context(&pool);
    let args = ExportLead { lead_id: l };
    let (j1, j2) = (job(t, 1), job(t, 1));
    let (one, two) = tokio::join!(run(&args, &j1, &ctx), run(&args, &j2, &ctx));
    let snoozed = [&one, &two]
        .iter()
        .filter(|r| matches!(r, Err(JobError::Snooze { .. })))
        .count();
    assert_eq!(snoozed, 1, "{one:?} {two:?}");
    // The snoozed job, run later, finds the lead sold.
    let again = run(&ExportLead { lead_id: l }, &job(t, 1), &ctx)
        .await
        .unwrap();
    assert_eq!(again["sold"], json!(true));
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    assert_eq!(ledger(&pool, l).await.len(), 1);

    // And the database itself refuses a second live exclusive export of the lead.
    let b: Uuid = sqlx::query_scalar("SELECT id FROM partners WHERE name = 'b'")
        .fetch_one(&pool)
        .await
        .unwrap();
    let e = sqlx::query(
        "INSERT INTO partner_exports (id, tenant_id, lead_id, partner_id, exclusive, currency)
         VALUES ($1, $2, $3, $4, true, 'USD')",
    )
    .bind(Uuid::now_v7())
    .bind(t)
    .bind(l)
    .bind(b)
    .execute(&pool)
    .await
    .unwrap_err();
    assert!(e.as_database_error().unwrap().is_unique_violation());
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn errors_retry_with_the_same_key_and_nothing_is_posted_after_an_answer(pool: PgPool) {
    let server = MockServer::start().await;
    let t = tenant(&pool).await;
    partner(&pool, t, &server, "a", json!({})).await;
    Mock::given(method("POST"))
        .and(path("/a"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    mount(
        &server,
        "a",
        answer(200, json!({"status": "accepted", "price": 2})),
    )
    .await;
    let l = lead(&pool, t, 50).await;
    let ctx = context(&pool);
    let first = run(&ExportLead { lead_id: l }, &job(t, 1), &ctx).await;
    assert!(matches!(first, Err(JobError::Retry { .. })), "{first:?}");
    assert_eq!(states(&pool, l).await, vec![("a".into(), "pending".into())]);
    assert_eq!(
        lead_status(&pool, l).await,
        "qualified",
        "not exported before a sale"
    );
    run(&ExportLead { lead_id: l }, &job(t, 2), &ctx)
        .await
        .unwrap();
    run(&ExportLead { lead_id: l }, &job(t, 3), &ctx)
        .await
        .unwrap();
    let sent = posts(&server, "a").await;
    assert_eq!(sent.len(), 2, "one failed try, one sale, nothing after");
    assert_eq!(
        sent[0].headers.get("idempotency-key"),
        sent[1].headers.get("idempotency-key")
    );
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn the_last_failed_attempt_moves_on_to_the_next_partner(pool: PgPool) {
    let server = MockServer::start().await;
    let t = tenant(&pool).await;
    partner(&pool, t, &server, "a", json!({"routing": {"priority": 1}})).await;
    partner(&pool, t, &server, "b", json!({"routing": {"priority": 2}})).await;
    mount(&server, "a", ResponseTemplate::new(500)).await;
    mount(
        &server,
        "b",
        answer(200, json!({"status": "accepted", "price": 4})),
    )
    .await;
    let l = lead(&pool, t, 50).await;
    let out = run(&ExportLead { lead_id: l }, &job(t, 3), &context(&pool))
        .await
        .unwrap();
    assert_eq!(out["sold"], json!(true));
    assert_eq!(
        states(&pool, l).await,
        vec![
            ("a".into(), "failed".into()),
            ("b".into(), "accepted".into())
        ]
    );
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn ping_post_pings_anonymised_then_posts_with_the_bid(pool: PgPool) {
    let server = MockServer::start().await;
    let t = tenant(&pool).await;
    partner(
        &pool,
        t,
        &server,
        "p",
        json!({"mode": "ping_post", "ping_url": format!("{}/p-ping", server.uri())}),
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/p-ping"))
        .respond_with(answer(
            200,
            json!({"status": "accepted", "bid": "bid-42", "price": "7.25"}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/p"))
        .and(body_string_contains("bid-42"))
        .respond_with(answer(200, json!({"status": "accepted", "id": "p-1"})))
        .mount(&server)
        .await;
    let l = lead(&pool, t, 50).await;
    let out = run(&ExportLead { lead_id: l }, &job(t, 1), &context(&pool))
        .await
        .unwrap();
    assert_eq!(out["sold"], json!(true), "{out}");
    let ping = posts(&server, "p-ping").await;
    let ping: Value = serde_json::from_slice(&ping[0].body).unwrap();
    assert_eq!(
        ping,
        json!({"score": "50", "category": "solar", "region": "US"})
    );
    assert!(
        !ping.to_string().contains("example.com"),
        "the ping is anonymised"
    );
    assert_eq!(
        ledger(&pool, l).await,
        vec![("sale".into(), 725)],
        "the bid's price"
    );
}

async fn send_postback(
    pool: &PgPool,
    partner: Uuid,
    secret: &str,
    body: Value,
) -> Result<postback::Applied, PostbackError> {
    let body = body.to_string();
    let sig = signing::sign(secret, Utc::now(), body.as_bytes());
    postback::apply(pool, partner, Some(&sig), body.as_bytes(), Utc::now(), None).await
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn postbacks_move_forward_only_and_repeats_change_nothing(pool: PgPool) {
    let server = MockServer::start().await;
    let t = tenant(&pool).await;
    let (p, secret) = partner(&pool, t, &server, "a", json!({"confirmation": "postback"})).await;
    mount(
        &server,
        "a",
        answer(202, json!({"status": "received", "id": "a-7"})),
    )
    .await;
    let l = lead(&pool, t, 50).await;
    let out = run(&ExportLead { lead_id: l }, &job(t, 1), &context(&pool))
        .await
        .unwrap();
    assert_eq!(
        out["sold"],
        json!(true),
        "an exclusive lead in the partner's hands is taken"
    );
    assert_eq!(states(&pool, l).await, vec![("a".into(), "posted".into())]);
    assert_eq!(
        lead_status(&pool, l).await,
        "qualified",
        "not exported before confirmation"
    );
    assert!(ledger(&pool, l).await.is_empty());

    // The return overtakes the acceptance: the sale and its reversal are both written.
    let returned =
        json!({"event": "returned", "lead_id": "a-7", "price": "20", "reason": "wrong number"});
    let a = send_postback(&pool, p, &secret, returned.clone())
        .await
        .unwrap();
    assert!(a.changed);
    assert_eq!(lead_status(&pool, l).await, "returned");
    assert_eq!(
        ledger(&pool, l).await,
        vec![("sale".into(), 2000), ("return".into(), -2000)]
    );
    // The late acceptance, and the return again (newly signed), change nothing.
    let late = send_postback(
        &pool,
        p,
        &secret,
        json!({"event": "accepted", "lead_id": "a-7"}),
    )
    .await
    .unwrap();
    assert!(!late.changed);
    let again = send_postback(&pool, p, &secret, returned).await.unwrap();
    assert!(!again.changed);
    assert_eq!(ledger(&pool, l).await.len(), 2);
    assert_eq!(lead_status(&pool, l).await, "returned");
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn a_postback_confirms_the_sale_and_replays_or_forgeries_are_refused(pool: PgPool) {
    let server = MockServer::start().await;
    let t = tenant(&pool).await;
    let (p, secret) = partner(&pool, t, &server, "a", json!({"confirmation": "postback"})).await;
    mount(
        &server,
        "a",
        answer(202, json!({"status": "received", "id": "a-8"})),
    )
    .await;
    let l = lead(&pool, t, 50).await;
    run(&ExportLead { lead_id: l }, &job(t, 1), &context(&pool))
        .await
        .unwrap();

    let body = json!({"event": "accepted", "lead_id": "a-8", "price": 12}).to_string();
    let sig = signing::sign(&secret, Utc::now(), body.as_bytes());
    let ok = postback::apply(&pool, p, Some(&sig), body.as_bytes(), Utc::now(), None)
        .await
        .unwrap();
    assert!(ok.changed);
    assert_eq!(lead_status(&pool, l).await, "exported");
    assert_eq!(ledger(&pool, l).await, vec![("sale".into(), 1200)]);
    // The same signed request again: received, nothing changes.
    let replay = postback::apply(&pool, p, Some(&sig), body.as_bytes(), Utc::now(), None)
        .await
        .unwrap();
    assert!(!replay.changed);

    let forged = signing::sign("whsec_not-the-secret", Utc::now(), body.as_bytes());
    let stale = signing::sign(
        &secret,
        Utc::now() - chrono::TimeDelta::minutes(10),
        body.as_bytes(),
    );
    for sig in [
        Some(forged.as_str()),
        Some(stale.as_str()),
        Some("t=1,v1=zz"),
        None,
    ] {
        let e = postback::apply(&pool, p, sig, body.as_bytes(), Utc::now(), None)
            .await
            .unwrap_err();
        assert!(matches!(e, PostbackError::Unsigned(_)), "{sig:?}: {e}");
    }
    let e = send_postback(
        &pool,
        Uuid::now_v7(),
        &secret,
        json!({"event": "accepted", "lead_id": "a-8"}),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(e, PostbackError::Unsigned(_)),
        "an unknown partner looks the same"
    );
    let e = send_postback(
        &pool,
        p,
        &secret,
        json!({"event": "accepted", "lead_id": "nope"}),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, PostbackError::UnknownLead));
    let e = send_postback(
        &pool,
        p,
        &secret,
        json!({"event": "paid", "lead_id": "a-8"}),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, PostbackError::Invalid(_)));
}
