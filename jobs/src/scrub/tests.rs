use serde_json::json;

use super::*;

#[test]
fn values_are_replaced_inside_strings_and_keys_ignoring_case() {
    let needles = Needles::new(&["Bob@Example.com".into(), "x".into(), "a\"b".into()]);
    assert_eq!(
        needles.ascii,
        vec!["a\"b".to_owned(), "bob@example.com".to_owned()]
    );
    assert_eq!(
        needles
            .text("mail BOB@example.COM or bob@example.com!")
            .as_deref(),
        Some("mail [erased] or [erased]!")
    );
    assert_eq!(needles.text("nothing here"), None);
    assert_eq!(
        needles.text("é bob@example.comé").as_deref(),
        Some("é [erased]é")
    );
    let mut doc = json!({
        "contact": "bob@example.com",
        "bob@example.com": [1, "say \"a\"b\" to bob@example.com"],
        "true": true,
        "n": 3
    });
    assert!(needles.json(&mut doc));
    assert_eq!(
        doc,
        json!({
            "contact": "[erased]",
            "[erased]": [1, "say \"[erased]\" to [erased]"],
            "true": true,
            "n": 3
        })
    );
    assert!(!needles.json(&mut doc), "nothing left");
    // The prefilter looks for the forms a value takes in a document's text.
    assert!(needles.sql.contains(&"a\\\"b".to_owned()));
    assert!(Needles::new(&["ab".into(), "  ".into()]).is_empty());
}

/// Rows of the tenant, in every table a copy can sit in, each holding `value` somewhere;
/// plus a signal, so the classification and the memo row have something to be about.
async fn seed(pool: &sqlx::PgPool, name: &str, value: &str) -> Uuid {
    let tenant = Uuid::now_v7();
    let ids: Vec<Uuid> = (0..13).map(|_| Uuid::now_v7()).collect();
    let [
        source,
        signal,
        ruleset,
        version,
        workflow,
        run,
        job,
        class,
        event,
        destination,
        rule,
        delivery,
        attempt,
    ] = ids[..]
    else {
        unreachable!()
    };
    let statements: &[&str] = &[
        "INSERT INTO tenants (id, name) VALUES ($1, $11)",
        "INSERT INTO sources (id, tenant_id, kind, poll_every_secs) VALUES ($2, $1, 'push', 60)",
        "INSERT INTO signals (id, tenant_id, source_id, title, body_html, body_text, content_hash, simhash)
         VALUES ($3, $1, $2, 'other', '', '', '\x01', 0)",
        "INSERT INTO rulesets (id, tenant_id, name) VALUES ($4, $1, 'r')",
        "INSERT INTO ruleset_versions (id, ruleset_id, tenant_id, version, rules) VALUES ($5, $4, $1, 1, '{}')",
        "INSERT INTO classifications (id, tenant_id, signal_id, source_id, ruleset_id, ruleset_version_id,
             ruleset_version, relevant, score, keyword_score, confidence, method, reasons, llm)
         VALUES ($9, $1, $3, $2, $4, $5, 1, true, 90, 50, 0.9, 'llm',
                 jsonb_build_array('they wrote from ' || $10), 'paid')",
        "INSERT INTO classification_memo (ruleset_version_id, content_hash, model, tenant_id, state, answer)
         VALUES ($5, '\x01', 'm', $1, 'done', jsonb_build_object('reasons', jsonb_build_array('mail ' || $10)))",
        "INSERT INTO workflows (id, tenant_id, name) VALUES ($6, $1, 'w')",
        "INSERT INTO workflow_versions (workflow_id, version, definition) VALUES ($6, 1, '{}')",
        "INSERT INTO workflow_runs (id, tenant_id, workflow_id, version, input, error)
         VALUES ($7, $1, $6, 1, jsonb_build_object('email', upper($10)), 'step b failed for ' || $10)",
        "INSERT INTO workflow_run_steps (run_id, step, output, error)
         VALUES ($7, 'score', jsonb_build_object('contact', $10), 'HTTP 400: ' || $10)",
        "INSERT INTO workflow_run_events (run_id, type, step, data)
         VALUES ($7, 'step_succeeded', 'score', jsonb_build_object('output', jsonb_build_object('contact', $10)))",
        "INSERT INTO jobs (id, tenant_id, kind, args, result, errors, max_attempts, state)
         VALUES ($8, $1, 'http_request',
                 jsonb_build_object('method', 'POST', 'url', 'https://crm.example/', 'body', 'lead ' || $10),
                 jsonb_build_object('body_excerpt', 'saved ' || $10),
                 jsonb_build_array(jsonb_build_object('attempt', 1, 'at', now(), 'error', 'HTTP 409: ' || $10 || ' exists')),
                 3, 'running')",
        "INSERT INTO events (id, tenant_id, type, subject, data)
         VALUES ($12, $1, 'lead.created', 'lead:1', jsonb_build_object('contact', $10))",
        "INSERT INTO destinations (id, tenant_id, name, kind, config, credentials, rate_limit_per_min)
         VALUES ($13, $1, 'd', 'webhook', '{}', 'x', 60)",
        "INSERT INTO alert_rules (id, tenant_id, name, event) VALUES ($14, $1, 'r', 'lead.created')",
        "INSERT INTO deliveries (id, tenant_id, delivery_key, event_type, subject, destination_id, data)
         VALUES ($15, $1, 'k', 'lead.created', 'lead:1', $13, jsonb_build_object('contact', $10))",
        "INSERT INTO delivery_attempts (id, delivery_id, outcome, status, latency_ms, excerpt)
         VALUES ($16, $15, 'rejected', 409, 5, 'duplicate lead ' || $10)",
        "INSERT INTO digest_items (tenant_id, rule_id, destination_id, subject, window_end, data)
         VALUES ($1, $14, $13, 'lead:1', now(), jsonb_build_object('contact', $10))",
    ];
    for sql in statements {
        sqlx::query(sqlx::AssertSqlSafe(*sql))
            .bind(tenant)
            .bind(source)
            .bind(signal)
            .bind(ruleset)
            .bind(version)
            .bind(workflow)
            .bind(run)
            .bind(job)
            .bind(class)
            .bind(value)
            .bind(name)
            .bind(event)
            .bind(destination)
            .bind(rule)
            .bind(delivery)
            .bind(attempt)
            .execute(pool)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    tenant
}

/// The tables in which a row of `tenant` still holds `value` (ignoring case), as written or
/// as escaped inside JSON.
async fn holding(pool: &sqlx::PgPool, tenant: Uuid, value: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT t FROM (
             SELECT 'jobs' AS t, args::text || coalesce(result::text, '') || errors::text AS x
             FROM jobs WHERE tenant_id = $1
             UNION ALL SELECT 'workflow_runs', input::text || coalesce(error, '')
             FROM workflow_runs WHERE tenant_id = $1
             UNION ALL SELECT 'workflow_run_steps', coalesce(s.output::text, '') || coalesce(s.error, '')
             FROM workflow_run_steps s JOIN workflow_runs r ON r.id = s.run_id WHERE r.tenant_id = $1
             UNION ALL SELECT 'workflow_run_events', e.data::text
             FROM workflow_run_events e JOIN workflow_runs r ON r.id = e.run_id WHERE r.tenant_id = $1
             UNION ALL SELECT 'classifications', reasons::text FROM classifications WHERE tenant_id = $1
             UNION ALL SELECT 'classification_memo', coalesce(answer::text, '')
             FROM classification_memo WHERE tenant_id = $1
             UNION ALL SELECT 'events', data::text FROM events WHERE tenant_id = $1
             UNION ALL SELECT 'deliveries', data::text FROM deliveries WHERE tenant_id = $1
             UNION ALL SELECT 'delivery_attempts', a.excerpt
             FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE d.tenant_id = $1
             UNION ALL SELECT 'digest_items', data::text FROM digest_items WHERE tenant_id = $1
         ) rows WHERE strpos(lower(x), lower($2)) > 0 OR strpos(lower(x), lower($3)) > 0
         ORDER BY t",
    )
    .bind(tenant)
    .bind(value)
    // As it reads inside a JSON document's text.
    .bind(json!(value).to_string().trim_matches('"').to_owned())
    .fetch_all(pool)
    .await
    .unwrap()
}

const EVERY_TABLE: [&str; 10] = [
    "classification_memo",
    "classifications",
    "deliveries",
    "delivery_attempts",
    "digest_items",
    "events",
    "jobs",
    "workflow_run_events",
    "workflow_run_steps",
    "workflow_runs",
];

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn a_gdpr_erase_leaves_the_contact_in_no_copy_of_that_tenant(pool: sqlx::PgPool) {
    let contact = "bob@brightwater.io";
    let target = seed(&pool, "target", contact).await;
    let other = seed(&pool, "other", contact).await;
    assert_eq!(holding(&pool, target, contact).await, EVERY_TABLE);
    let parsed = crate::leads::contacts::Contact::parse(
        crate::leads::contacts::ContactKind::Email,
        "Bob@BrightWater.io",
        None,
    )
    .unwrap();
    let mut tx = pool.begin().await.unwrap();
    let erased =
        crate::leads::gdpr::erase(&mut tx, target, &crate::audit::Actor::default(), &parsed)
            .await
            .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(erased.scrubbed, 10, "{erased:?}");
    assert_eq!(holding(&pool, target, contact).await, Vec::<String>::new());
    assert_eq!(
        holding(&pool, other, contact).await,
        EVERY_TABLE,
        "another tenant's copies are theirs"
    );
    // What was around the contact is kept.
    let error: String =
        sqlx::query_scalar("SELECT errors -> 0 ->> 'error' FROM jobs WHERE tenant_id = $1")
            .bind(target)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(error, "HTTP 409: [erased] exists");
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn erasing_an_author_scrubs_the_engines_copies_too(pool: sqlx::PgPool) {
    let author = "Jane \"JR\" Roe";
    let target = seed(&pool, "target", author).await;
    assert_eq!(holding(&pool, target, author).await, EVERY_TABLE);
    let mut tx = pool.begin().await.unwrap();
    crate::sources::signals::erase_author(&mut tx, target, &crate::audit::Actor::default(), author)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(holding(&pool, target, author).await, Vec::<String>::new());
}
