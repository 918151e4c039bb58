use chrono::TimeDelta;
use serde_json::json;
use sqlx::PgPool;

use super::*;
use crate::audit::Actor;

struct Fixture {
    tenant: Uuid,
    destinations: Vec<Uuid>,
}

/// A tenant with `n` webhook destinations (their credentials are never opened here).
async fn fixture(pool: &PgPool, n: usize) -> Fixture {
    let mut conn = pool.acquire().await.unwrap();
    let tenant = crate::auth::ensure_tenant(&mut conn, "t").await.unwrap();
    let mut destinations = vec![];
    for i in 0..n {
        let id = Uuid::now_v7();
        sqlx::query(
            r#"INSERT INTO destinations (id, tenant_id, name, kind, config, credentials, rate_limit_per_min)
               VALUES ($1, $2, $3, 'webhook', '{"kind": "webhook", "url": "https://a.example.com"}', 'x', 600)"#,
        )
        .bind(id)
        .bind(tenant)
        .bind(format!("d{i}"))
        .execute(&mut *conn)
        .await
        .unwrap();
        destinations.push(id);
    }
    Fixture {
        tenant,
        destinations,
    }
}

async fn add_rule(pool: &PgPool, f: &Fixture, spec: Value) -> Uuid {
    let spec = RuleSpec::try_from(spec).unwrap();
    let mut conn = pool.acquire().await.unwrap();
    rules::create(&mut conn, f.tenant, &Actor::default(), spec)
        .await
        .unwrap()
}

async fn emit(pool: &PgPool, tenant: Uuid, kind: EventType, subject: &str, data: Value) {
    let mut conn = pool.acquire().await.unwrap();
    events::emit(&mut conn, tenant, kind, subject, data)
        .await
        .unwrap();
}

async fn count(pool: &PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

use super::rules::RuleSpec;

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn a_match_delivers_once_per_destination_ever(pool: PgPool) {
    let f = fixture(&pool, 2).await;
    add_rule(
        &pool,
        &f,
        json!({"name": "r", "event": "lead.created", "min_score": 50, "destination_ids": f.destinations}),
    )
    .await;
    emit(
        &pool,
        f.tenant,
        EventType::LeadCreated,
        "lead:1",
        json!({"score": 80}),
    )
    .await;
    emit(
        &pool,
        f.tenant,
        EventType::LeadCreated,
        "lead:2",
        json!({"score": 10}),
    )
    .await;
    let done = tick(&pool, 100, Utc::now()).await.unwrap();
    assert_eq!(done.events, 2);
    assert_eq!(done.deliveries, 2, "one match, two destinations: {done:?}");
    // The same subject again (a second scoring, a second worker): nothing new.
    emit(
        &pool,
        f.tenant,
        EventType::LeadCreated,
        "lead:1",
        json!({"score": 95}),
    )
    .await;
    let again = tick(&pool, 100, Utc::now()).await.unwrap();
    assert_eq!((again.events, again.deliveries), (1, 0));
    assert_eq!(count(&pool, "SELECT count(*) FROM deliveries").await, 2);
    assert_eq!(
        count(&pool, "SELECT count(*) FROM jobs WHERE kind = 'deliver'").await,
        2,
        "one deliver job per delivery"
    );
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM events WHERE dispatched_at IS NULL"
        )
        .await,
        0
    );
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn a_digest_gathers_a_window_into_one_delivery(pool: PgPool) {
    let f = fixture(&pool, 1).await;
    add_rule(
        &pool,
        &f,
        json!({"name": "r", "event": "job.dead", "digest_secs": 600, "destination_ids": f.destinations}),
    )
    .await;
    let now = Utc::now();
    for i in 0..60 {
        emit(
            &pool,
            f.tenant,
            EventType::JobDead,
            &format!("job:{i}"),
            json!({"n": i}),
        )
        .await;
    }
    let done = tick(&pool, 500, now).await.unwrap();
    assert_eq!((done.deliveries, done.digested), (0, 60));
    assert_eq!(
        flush_digests(&pool, now).await.unwrap(),
        0,
        "the window is open"
    );
    assert_eq!(
        flush_digests(&pool, now + TimeDelta::seconds(601))
            .await
            .unwrap(),
        1
    );
    let data: Value = sqlx::query_scalar("SELECT data FROM deliveries")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(data["count"], 60);
    assert_eq!(data["items"].as_array().unwrap().len(), DIGEST_MAX_ITEMS);
    assert_eq!(data["more"], 10);
    assert_eq!(data["items"][0]["n"], 0, "oldest first");
    // A subject already digested never joins another digest.
    emit(
        &pool,
        f.tenant,
        EventType::JobDead,
        "job:3",
        json!({"n": 3}),
    )
    .await;
    emit(
        &pool,
        f.tenant,
        EventType::JobDead,
        "job:new",
        json!({"n": 99}),
    )
    .await;
    let later = now + TimeDelta::seconds(700);
    assert_eq!(tick(&pool, 500, later).await.unwrap().digested, 1);
    assert_eq!(
        flush_digests(&pool, later + TimeDelta::seconds(601))
            .await
            .unwrap(),
        1
    );
    assert_eq!(count(&pool, "SELECT count(*) FROM deliveries").await, 2);
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn a_throttle_suppresses_what_exceeds_its_window(pool: PgPool) {
    let f = fixture(&pool, 1).await;
    add_rule(
        &pool,
        &f,
        json!({"name": "r", "event": "job.dead", "throttle": {"max": 2, "per_secs": 3600},
               "destination_ids": f.destinations}),
    )
    .await;
    for i in 0..5 {
        emit(
            &pool,
            f.tenant,
            EventType::JobDead,
            &format!("job:{i}"),
            json!({}),
        )
        .await;
    }
    let done = tick(&pool, 500, Utc::now()).await.unwrap();
    assert_eq!((done.deliveries, done.suppressed), (2, 3), "{done:?}");
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM deliveries WHERE state = 'suppressed' AND reason = 'throttled'"
        )
        .await,
        3
    );
    assert_eq!(count(&pool, "SELECT count(*) FROM jobs").await, 2);
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn quiet_hours_hold_the_job_until_they_end(pool: PgPool) {
    let f = fixture(&pool, 1).await;
    add_rule(
        &pool,
        &f,
        json!({"name": "r", "event": "job.dead", "destination_ids": f.destinations,
               "quiet_hours": {"start": "00:00:00", "end": "23:59:59", "time_zone": "UTC"}}),
    )
    .await;
    emit(&pool, f.tenant, EventType::JobDead, "job:1", json!({})).await;
    let now = "2026-11-30T12:00:00Z".parse::<DateTime<Utc>>().unwrap();
    assert_eq!(tick(&pool, 10, now).await.unwrap().deliveries, 1);
    let run_at: DateTime<Utc> = sqlx::query_scalar("SELECT run_at FROM jobs")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        run_at,
        "2026-11-30T23:59:59Z".parse::<DateTime<Utc>>().unwrap()
    );
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn subscriptions_receive_the_types_and_families_they_name(pool: PgPool) {
    let f = fixture(&pool, 0).await;
    let mut ids = vec![];
    for (types, enabled) in [
        (vec!["lead.*"], true),
        (vec!["job.dead", "run.failed"], true),
        (vec!["*"], false),
    ] {
        let id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO subscriptions (id, tenant_id, url, event_types, secrets, enabled) VALUES ($1, $2, 'https://a.example.com', $3, 'x', $4)",
        )
        .bind(id)
        .bind(f.tenant)
        .bind(types)
        .bind(enabled)
        .execute(&pool)
        .await
        .unwrap();
        ids.push(id);
    }
    emit(&pool, f.tenant, EventType::LeadCreated, "lead:1", json!({})).await;
    emit(&pool, f.tenant, EventType::LeadScored, "lead:1", json!({})).await;
    emit(&pool, f.tenant, EventType::JobDead, "job:1", json!({})).await;
    emit(
        &pool,
        f.tenant,
        EventType::BudgetAlert,
        "budget:1",
        json!({}),
    )
    .await;
    let done = tick(&pool, 10, Utc::now()).await.unwrap();
    assert_eq!(done.deliveries, 3, "{done:?}");
    let per: Vec<(Uuid, i64)> = sqlx::query_as(
        "SELECT subscription_id, count(*) FROM deliveries GROUP BY subscription_id ORDER BY subscription_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        per,
        vec![(ids[0], 2), (ids[1], 1)],
        "the disabled one gets nothing"
    );
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn concurrent_dispatchers_take_each_event_once(pool: PgPool) {
    let f = fixture(&pool, 1).await;
    add_rule(
        &pool,
        &f,
        json!({"name": "r", "event": "job.dead", "destination_ids": f.destinations}),
    )
    .await;
    for i in 0..300 {
        // Every subject twice: a duplicate match must not make a second delivery.
        emit(
            &pool,
            f.tenant,
            EventType::JobDead,
            &format!("job:{}", i % 150),
            json!({}),
        )
        .await;
    }
    let mut tasks = vec![];
    for _ in 0..6 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            let mut total = Dispatched::default();
            loop {
                let d = tick(&pool, 25, Utc::now()).await.unwrap();
                if d.events == 0 {
                    return total;
                }
                total.events += d.events;
                total.deliveries += d.deliveries;
            }
        }));
    }
    let mut events_seen = 0;
    let mut deliveries = 0;
    for t in tasks {
        let d = t.await.unwrap();
        events_seen += d.events;
        deliveries += d.deliveries;
    }
    assert_eq!(events_seen, 300, "each event claimed once");
    assert_eq!(deliveries, 150, "each subject delivered once");
    assert_eq!(count(&pool, "SELECT count(*) FROM deliveries").await, 150);
    assert_eq!(count(&pool, "SELECT count(*) FROM jobs").await, 150);
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn dead_jobs_and_finished_runs_write_their_events_but_dead_deliveries_do_not(pool: PgPool) {
    let f = fixture(&pool, 0).await;
    let dead = Uuid::now_v7();
    let delivery_job = Uuid::now_v7();
    for (id, kind) in [(dead, "noop"), (delivery_job, "deliver")] {
        sqlx::query(
            "INSERT INTO jobs (id, tenant_id, kind, args, max_attempts) VALUES ($1, $2, $3, '{}', 1)",
        )
        .bind(id)
        .bind(f.tenant)
        .bind(kind)
        .execute(&pool)
        .await
        .unwrap();
    }
    sqlx::query(
        r#"UPDATE jobs SET state = 'dead', attempt = 1,
                  errors = '[{"attempt": 1, "at": "2026-01-01T00:00:00Z", "error": "boom"}]'"#,
    )
    .execute(&pool)
    .await
    .unwrap();
    let events: Vec<(String, String, Value)> =
        sqlx::query_as("SELECT type, subject, data FROM events")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].0, "job.dead");
    assert_eq!(events[0].1, format!("job:{dead}"));
    assert_eq!(events[0].2["error"], "boom");
    assert_eq!(events[0].2["kind"], "noop");
}
