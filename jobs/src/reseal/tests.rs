//! Re-sealing stored secrets under a new operator key, against a real database.

use base64::{Engine, engine::general_purpose::STANDARD};
use secrecy::SecretString;
use serde_json::json;

use super::*;

fn ring(spec: &str) -> Keyring {
    Keyring::parse(&SecretString::from(spec.to_owned())).unwrap()
}

#[tokio::test]
async fn a_walk_visits_every_row_once_in_key_order_and_stops_at_an_error() {
    let rows: Vec<i64> = (1..=7).collect();
    let page_of =
        |after: &i64| -> Vec<i64> { rows.iter().copied().filter(|r| r > after).take(3).collect() };
    let mut seen = Vec::new();
    let mut pages = 0;
    let done: Result<(), ()> = walk(
        &mut seen,
        0,
        async |_, after| {
            pages += 1;
            Ok(page_of(after))
        },
        |row| *row,
        async |seen, row| {
            seen.push(row);
            Ok(())
        },
    )
    .await;
    assert_eq!(done, Ok(()));
    assert_eq!(seen, rows);
    assert_eq!(
        pages, 4,
        "three full pages, then the empty one that ends the walk"
    );

    let mut seen = Vec::new();
    let failed = walk(
        &mut seen,
        0,
        async |_, after| Ok(page_of(after)),
        |row| *row,
        async |seen, row| {
            if row == 5 {
                return Err(row);
            }
            seen.push(row);
            Ok(())
        },
    )
    .await;
    assert_eq!(failed, Err(5));
    assert_eq!(seen, [1, 2, 3, 4]);
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn legacy_and_rotated_secrets_are_resealed_once_under_the_active_key(pool: PgPool) {
    let old = ring(&format!("old:{}", STANDARD.encode([1u8; 32])));
    let new = ring(&format!(
        "new:{}, old:{}",
        STANDARD.encode([2u8; 32]),
        STANDARD.encode([1u8; 32])
    ));
    let (tenant, workflow) = (Uuid::now_v7(), Uuid::now_v7());
    let (source, legacy_source, hook, job) = (
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
    );
    sqlx::query("INSERT INTO tenants (id, name) VALUES ($1, 't')")
        .bind(tenant)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO workflows (id, tenant_id, name) VALUES ($1, $2, 'w')")
        .bind(workflow)
        .bind(tenant)
        .execute(&pool)
        .await
        .unwrap();
    for (id, secret) in [
        (legacy_source, "plain-source-secret".to_owned()),
        (
            source,
            old.seal(sources::SECRET_PURPOSE, "sealed-source-secret"),
        ),
    ] {
        sqlx::query("INSERT INTO sources (id, tenant_id, kind, poll_every_secs, secret) VALUES ($1, $2, 'push', 60, $3)")
            .bind(id)
            .bind(tenant)
            .bind(secret)
            .execute(&pool)
            .await
            .unwrap();
    }
    sqlx::query(
        "INSERT INTO workflow_webhooks (id, tenant_id, workflow_id, secret, previous_secret)
         VALUES ($1, $2, $3, 'whsec_plain', $4)",
    )
    .bind(hook)
    .bind(tenant)
    .bind(workflow)
    .bind(old.seal(webhooks::SECRET_PURPOSE, "whsec_previous"))
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO jobs (id, tenant_id, kind, args, max_attempts) VALUES ($1, $2, 'http_request', $3, 3)",
    )
    .bind(job)
    .bind(tenant)
    .bind(json!({"method": "GET", "url": "https://example.com/",
                 "headers": {"Authorization": "Bearer plain", "Accept": "*/*"}}))
    .execute(&pool)
    .await
    .unwrap();
    let (destination, subscription) = (Uuid::now_v7(), Uuid::now_v7());
    sqlx::query(
        r#"INSERT INTO destinations (id, tenant_id, name, kind, config, credentials, rate_limit_per_min)
           VALUES ($1, $2, 'd', 'telegram', '{}', $3, 20)"#,
    )
    .bind(destination)
    .bind(tenant)
    .bind(old.seal(CREDENTIALS_PURPOSE, r#"{"kind":"telegram","bot_token":"1:t"}"#))
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        r#"INSERT INTO subscriptions (id, tenant_id, url, event_types, secrets)
           VALUES ($1, $2, 'https://a.example.com', '{"*"}', $3)"#,
    )
    .bind(subscription)
    .bind(tenant)
    .bind(old.seal(subscriptions::SECRETS_PURPOSE, r#"["whsec_sub"]"#))
    .execute(&pool)
    .await
    .unwrap();

    let done = reseal_with(&pool, &new, 1).await.unwrap();
    assert_eq!(
        (
            done.sources,
            done.webhooks,
            done.deliveries,
            done.jobs,
            done.failed.len()
        ),
        (2, 2, 2, 1, 0),
        "{done:?}"
    );
    let opens = |purpose: &'static str, stored: String, expected: &str| {
        assert!(stored.starts_with("enc:v1:new:"), "{stored}");
        assert_eq!(
            new.open(purpose, &stored).unwrap().expose_secret(),
            expected
        );
    };
    for (id, expected) in [
        (legacy_source, "plain-source-secret"),
        (source, "sealed-source-secret"),
    ] {
        let stored: String = sqlx::query_scalar("SELECT secret FROM sources WHERE id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
        opens(sources::SECRET_PURPOSE, stored, expected);
    }
    let (current, previous): (String, String) =
        sqlx::query_as("SELECT secret, previous_secret FROM workflow_webhooks WHERE id = $1")
            .bind(hook)
            .fetch_one(&pool)
            .await
            .unwrap();
    opens(webhooks::SECRET_PURPOSE, current, "whsec_plain");
    opens(webhooks::SECRET_PURPOSE, previous, "whsec_previous");
    let args: Value = sqlx::query_scalar("SELECT args FROM jobs WHERE id = $1")
        .bind(job)
        .fetch_one(&pool)
        .await
        .unwrap();
    let (credentials, secrets): (String, String) = sqlx::query_as(
        "SELECT d.credentials, s.secrets FROM destinations d, subscriptions s
         WHERE d.id = $1 AND s.id = $2",
    )
    .bind(destination)
    .bind(subscription)
    .fetch_one(&pool)
    .await
    .unwrap();
    opens(
        CREDENTIALS_PURPOSE,
        credentials,
        r#"{"kind":"telegram","bot_token":"1:t"}"#,
    );
    opens(subscriptions::SECRETS_PURPOSE, secrets, r#"["whsec_sub"]"#);
    assert_eq!(args["headers"]["Accept"], "*/*");
    opens(
        http_request::HEADER_PURPOSE,
        args["headers"]["Authorization"]
            .as_str()
            .unwrap()
            .to_owned(),
        "Bearer plain",
    );

    // Idempotent: nothing is left to do.
    assert_eq!(
        reseal_with(&pool, &new, 100).await.unwrap(),
        Resealed::default()
    );

    // A value whose key is gone is reported (by id), left alone, and stops nothing.
    let stranger = ring(&format!("gone:{}", STANDARD.encode([3u8; 32])));
    sqlx::query("UPDATE sources SET secret = $2 WHERE id = $1")
        .bind(legacy_source)
        .bind(stranger.seal(sources::SECRET_PURPOSE, "x"))
        .execute(&pool)
        .await
        .unwrap();
    let done = reseal_with(&pool, &new, 100).await.unwrap();
    assert_eq!(done.total(), 0);
    assert_eq!(done.failed.len(), 1);
    assert_eq!(done.failed[0].0, "sources");
    assert_eq!(done.failed[0].1, legacy_source);
}
