//! The report against a real database: two sources, money written by the real writers
//! (reservations settled with attribution, sales and returns), every figure checked exactly.

use sqlx::PgPool;
use uuid::Uuid;

use super::{GroupBy, Query, Revenue, ratio, report, watch};
use crate::{
    budgets::{self, Attribution, SpendRequest, Usage},
    partners::revenue,
};

struct World {
    tenant: Uuid,
    source_a: Uuid,
    source_b: Uuid,
    ruleset: Uuid,
    workflow: Uuid,
    job_a1: Uuid,
    job_b2: Uuid,
    signal_a1: Uuid,
    signal_b2: Uuid,
    lead_a: Uuid,
    export_a: Uuid,
    export_b1: Uuid,
}

/// Source A: three signals (keywords, a paid LLM call in a workflow run, the memo), one lead
/// sold for $40.00. Source B: two signals (keywords, a paid LLM call asked twice), two leads:
/// one sold for $25.00 and returned, one received and not confirmed yet.
async fn world(pool: &PgPool) -> World {
    let id = Uuid::now_v7;
    let w = World {
        tenant: id(),
        source_a: id(),
        source_b: id(),
        ruleset: id(),
        workflow: id(),
        job_a1: id(),
        job_b2: id(),
        signal_a1: id(),
        signal_b2: id(),
        lead_a: id(),
        export_a: id(),
        export_b1: id(),
    };
    let (version, run, partner) = (id(), id(), id());
    let (a2, a3, b1, lead_b1, lead_b2, export_b2) = (id(), id(), id(), id(), id(), id());
    let signal = |s: Uuid, source: Uuid, n: u8| {
        format!(
            "INSERT INTO signals (id, tenant_id, source_id, title, body_html, body_text, content_hash, simhash)
             VALUES ('{s}', '{t}', '{source}', 't{n}', '', '', '\\x0{n}', {n});",
            t = w.tenant
        )
    };
    let verdict = |s: Uuid,
                   source: Uuid,
                   category: &str,
                   method: &str,
                   llm: &str,
                   job: Option<Uuid>,
                   wf: Option<Uuid>| {
        let job = job.map_or("NULL".to_owned(), |j| format!("'{j}'"));
        let wf = wf.map_or("NULL".to_owned(), |j| format!("'{j}'"));
        format!(
            "INSERT INTO classifications (id, tenant_id, signal_id, source_id, ruleset_id, ruleset_version_id,
                 ruleset_version, category, relevant, score, keyword_score, confidence, method, llm, job_id, workflow_id)
             VALUES ('{}', '{t}', '{s}', '{source}', '{r}', '{version}', 1, '{category}', true, 90, 50, 0.9,
                     '{method}', '{llm}', {job}, {wf});",
            Uuid::now_v7(),
            t = w.tenant,
            r = w.ruleset
        )
    };
    let lead = |l: Uuid, source: Uuid, category: &str, s: Uuid| {
        format!(
            "INSERT INTO leads (id, tenant_id, key_signal_id, score, factors, source_id, category)
             VALUES ('{l}', '{t}', '{s}', 80, '{{}}', '{source}', '{category}');
             INSERT INTO lead_signals (signal_id, lead_id, tenant_id, score, factors)
             VALUES ('{s}', '{l}', '{t}', 80, '{{}}');",
            t = w.tenant
        )
    };
    let export = |e: Uuid, l: Uuid, state: &str, price: &str, confirmed: &str| {
        format!(
            "INSERT INTO partner_exports (id, tenant_id, lead_id, partner_id, exclusive, state, price_cents,
                 currency, confirmed_at)
             VALUES ('{e}', '{t}', '{l}', '{partner}', false, '{state}', {price}, 'USD', {confirmed});",
            t = w.tenant
        )
    };
    let mut sql = format!(
        "INSERT INTO tenants (id, name) VALUES ('{t}', 'econ-{t}');
         INSERT INTO sources (id, tenant_id, kind, url, poll_every_secs)
         VALUES ('{a}', '{t}', 'rss', 'https://a.example/feed', 60), ('{b}', '{t}', 'push', NULL, 60);
         INSERT INTO rulesets (id, tenant_id, name) VALUES ('{r}', '{t}', 'demand');
         INSERT INTO ruleset_versions (id, ruleset_id, tenant_id, version, rules)
         VALUES ('{version}', '{r}', '{t}', 1, '{{}}');
         INSERT INTO workflows (id, tenant_id, name) VALUES ('{wf}', '{t}', 'triage');
         INSERT INTO workflow_versions (workflow_id, version, definition) VALUES ('{wf}', 1, '{{}}');
         INSERT INTO workflow_runs (id, tenant_id, workflow_id, version, input)
         VALUES ('{run}', '{t}', '{wf}', 1, '{{}}');
         INSERT INTO jobs (id, tenant_id, kind, args, max_attempts, state, run_id)
         VALUES ('{ja}', '{t}', 'classify_signal', '{{}}', 3, 'running', '{run}'),
                ('{jb}', '{t}', 'classify_signal', '{{}}', 3, 'running', NULL);
         INSERT INTO partners (id, tenant_id, name, mode, config, credentials, rate_limit_per_min, currency)
         VALUES ('{partner}', '{t}', 'buyer', 'direct', '{{}}', 'x', 60, 'USD');",
        t = w.tenant,
        a = w.source_a,
        b = w.source_b,
        r = w.ruleset,
        wf = w.workflow,
        ja = w.job_a1,
        jb = w.job_b2,
    );
    sql += &signal(w.signal_a1, w.source_a, 1);
    sql += &signal(a2, w.source_a, 2);
    sql += &signal(a3, w.source_a, 3);
    sql += &signal(b1, w.source_b, 4);
    sql += &signal(w.signal_b2, w.source_b, 5);
    sql += &verdict(
        w.signal_a1,
        w.source_a,
        "roofing",
        "llm",
        "paid",
        Some(w.job_a1),
        Some(w.workflow),
    );
    sql += &verdict(
        a2,
        w.source_a,
        "roofing",
        "keyword",
        "not_needed",
        None,
        None,
    );
    sql += &verdict(a3, w.source_a, "roofing", "llm", "memo", None, None);
    sql += &verdict(b1, w.source_b, "solar", "keyword", "not_needed", None, None);
    sql += &verdict(
        w.signal_b2,
        w.source_b,
        "solar",
        "llm",
        "paid",
        Some(w.job_b2),
        None,
    );
    sql += &lead(w.lead_a, w.source_a, "roofing", w.signal_a1);
    sql += &lead(lead_b1, w.source_b, "solar", b1);
    sql += &lead(lead_b2, w.source_b, "solar", w.signal_b2);
    sql += &export(w.export_a, w.lead_a, "converted", "4000", "now()");
    sql += &export(w.export_b1, lead_b1, "returned", "2500", "now()");
    sql += &export(export_b2, lead_b2, "posted", "NULL", "NULL");
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(pool)
        .await
        .unwrap();
    w
}

/// A paid call as `classify_signal` makes it: reserved with its attribution, then settled.
async fn paid(pool: &PgPool, w: &World, job: Uuid, signal: Uuid, source: Uuid, cost: i64) {
    let r = budgets::reserve(
        pool,
        &SpendRequest {
            tenant_id: w.tenant,
            provider: "openai",
            model: "gpt-test",
            job_id: Some(job),
            estimate_micros: 9_000,
            attribution: Attribution {
                signal_id: Some(signal),
                source_id: Some(source),
                ruleset_id: Some(w.ruleset),
            },
        },
    )
    .await
    .unwrap();
    r.settle(
        pool,
        &Usage {
            cost_micros: cost,
            prompt_tokens: 100,
            completion_tokens: 10,
        },
    )
    .await
    .unwrap();
}

async fn money(pool: &PgPool, w: &World) {
    paid(pool, w, w.job_a1, w.signal_a1, w.source_a, 1_500).await;
    paid(pool, w, w.job_b2, w.signal_b2, w.source_b, 2_500).await;
    paid(pool, w, w.job_b2, w.signal_b2, w.source_b, 700).await;
    // A call that failed: released, costs nothing.
    let r = budgets::reserve(
        pool,
        &SpendRequest {
            tenant_id: w.tenant,
            provider: "openai",
            model: "gpt-test",
            job_id: Some(w.job_b2),
            estimate_micros: 9_000,
            attribution: Attribution {
                signal_id: Some(w.signal_b2),
                source_id: Some(w.source_b),
                ruleset_id: Some(w.ruleset),
            },
        },
    )
    .await
    .unwrap();
    r.release(pool, "HTTP 503").await.unwrap();
    // The verdicts' transactions name the categories the calls decided.
    let mut conn = pool.acquire().await.unwrap();
    budgets::attribute_category(&mut conn, w.job_a1, w.signal_a1, Some("roofing"))
        .await
        .unwrap();
    budgets::attribute_category(&mut conn, w.job_b2, w.signal_b2, Some("solar"))
        .await
        .unwrap();
    assert!(revenue::record_sale(&mut conn, w.export_a).await.unwrap());
    assert!(revenue::record_sale(&mut conn, w.export_b1).await.unwrap());
    assert!(
        revenue::record_return(&mut conn, w.export_b1, Some("bad number"))
            .await
            .unwrap()
    );
    // Repeats write nothing.
    assert!(!revenue::record_sale(&mut conn, w.export_a).await.unwrap());
}

fn usd(sales: i64, sales_cents: i64, returns: i64, returns_cents: i64) -> Vec<Revenue> {
    vec![Revenue {
        currency: "USD".into(),
        sales,
        sales_cents,
        returns,
        returns_cents,
        net_cents: sales_cents + returns_cents,
    }]
}

fn all(group_by: GroupBy) -> Query {
    Query {
        group_by,
        since: None,
        until: None,
    }
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn every_figure_per_source_and_in_total_is_exact(pool: PgPool) {
    let w = world(&pool).await;
    money(&pool, &w).await;
    let r = report(&pool, w.tenant, &all(GroupBy::Source))
        .await
        .unwrap();
    let by = |s: Uuid| {
        r.groups
            .iter()
            .find(|g| g.key.as_deref() == Some(&s.to_string()))
            .unwrap()
            .figures
            .clone()
    };
    let a = by(w.source_a);
    assert_eq!(
        (
            a.signals,
            a.classified_keyword,
            a.classified_llm,
            a.classified_memo
        ),
        (3, 1, 1, 1)
    );
    assert_eq!(
        (a.leads, a.leads_exported, a.leads_confirmed, a.returns),
        (1, 1, 1, 0)
    );
    assert_eq!((a.paid_calls, a.cost_micros), (1, 1_500));
    assert_eq!(a.revenue, usd(1, 4_000, 0, 0));
    assert_eq!(a.cost_per_lead_micros, Some(1_500));
    assert_eq!(a.cost_per_confirmed_lead_micros, Some(1_500));
    // ($40.00 = 40,000,000 µ$ − 1,500 µ$) / 1,500 µ$ = 26,665.6667 → 266,656,667 bp
    assert_eq!(a.roi_basis_points, Some(266_656_667));
    let b = by(w.source_b);
    assert_eq!(
        (
            b.signals,
            b.classified_keyword,
            b.classified_llm,
            b.classified_memo
        ),
        (2, 1, 1, 0)
    );
    assert_eq!(
        (b.leads, b.leads_exported, b.leads_confirmed, b.returns),
        (2, 2, 1, 1)
    );
    assert_eq!((b.paid_calls, b.cost_micros), (2, 3_200));
    assert_eq!(b.revenue, usd(1, 2_500, 1, -2_500));
    assert_eq!(b.cost_per_lead_micros, Some(1_600));
    assert_eq!(b.cost_per_confirmed_lead_micros, Some(3_200));
    assert_eq!(b.roi_basis_points, Some(-10_000));
    let t = &r.totals;
    assert_eq!(
        (t.signals, t.leads, t.leads_confirmed, t.returns),
        (5, 3, 2, 1)
    );
    assert_eq!((t.paid_calls, t.cost_micros), (3, 4_700));
    assert_eq!(t.revenue, usd(2, 6_500, 1, -2_500));
    assert_eq!(t.cost_per_lead_micros, Some(1_567));
    assert_eq!(t.cost_per_confirmed_lead_micros, Some(2_350));
    assert_eq!(t.roi_basis_points, Some(85_096_383));
    assert!(r.groups[0].name.is_some());

    // Per category and ruleset the money lands where the writers put it.
    let c = report(&pool, w.tenant, &all(GroupBy::Category))
        .await
        .unwrap();
    let cost: Vec<_> = c
        .groups
        .iter()
        .map(|g| (g.key.clone(), g.figures.cost_micros, g.figures.leads))
        .collect();
    assert_eq!(
        cost,
        [
            (Some("roofing".into()), 1_500, 1),
            (Some("solar".into()), 3_200, 2),
            (None, 0, 0)
        ]
    );
    let rs = report(&pool, w.tenant, &all(GroupBy::Ruleset))
        .await
        .unwrap();
    let demand = &rs.groups[0];
    assert_eq!(demand.key, Some(w.ruleset.to_string()));
    assert_eq!(demand.name.as_deref(), Some("demand"));
    assert_eq!(demand.figures.cost_micros, 4_700);
    assert_eq!(demand.figures.revenue, usd(2, 6_500, 1, -2_500));
    // The workflow comes from the job's run, found when the reservation was written.
    let wf = report(&pool, w.tenant, &all(GroupBy::Workflow))
        .await
        .unwrap();
    let triage = &wf.groups[0];
    assert_eq!(triage.key, Some(w.workflow.to_string()));
    assert_eq!(
        (triage.figures.cost_micros, triage.figures.classified_llm),
        (1_500, 1)
    );
    assert_eq!(triage.figures.revenue, usd(1, 4_000, 0, 0));
    // Per day: today only; a range before today is empty.
    let d = report(&pool, w.tenant, &all(GroupBy::Day)).await.unwrap();
    assert_eq!(d.groups.len(), 1);
    assert_eq!(d.totals, r.totals);
    let before = Query {
        group_by: GroupBy::Day,
        since: Some(chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap()),
        until: Some(chrono::NaiveDate::from_ymd_opt(2020, 1, 2).unwrap()),
    };
    assert!(
        report(&pool, w.tenant, &before)
            .await
            .unwrap()
            .groups
            .is_empty()
    );
    // Another tenant sees nothing of it.
    let other = report(&pool, Uuid::now_v7(), &all(GroupBy::Source))
        .await
        .unwrap();
    assert!(other.groups.is_empty());
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn an_erase_keeps_the_money_and_drops_the_personal_link(pool: PgPool) {
    let w = world(&pool).await;
    money(&pool, &w).await;
    sqlx::query("DELETE FROM leads WHERE id = $1")
        .bind(w.lead_a)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM signals WHERE id = $1")
        .bind(w.signal_a1)
        .execute(&pool)
        .await
        .unwrap();
    let linked: (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM revenue_ledger WHERE lead_id = $1),
                (SELECT count(*) FROM cost_ledger WHERE signal_id = $2)",
    )
    .bind(w.lead_a)
    .bind(w.signal_a1)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(linked, (0, 0));
    let r = report(&pool, w.tenant, &all(GroupBy::Source))
        .await
        .unwrap();
    let a = &r
        .groups
        .iter()
        .find(|g| g.key.as_deref() == Some(&w.source_a.to_string()))
        .unwrap()
        .figures;
    assert_eq!(a.cost_micros, 1_500);
    assert_eq!(a.revenue, usd(1, 4_000, 0, 0));
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn the_csv_has_a_row_per_group_and_currency_then_the_totals(pool: PgPool) {
    let w = world(&pool).await;
    money(&pool, &w).await;
    let r = report(&pool, w.tenant, &all(GroupBy::Category))
        .await
        .unwrap();
    let text = String::from_utf8(super::csv(&r)).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("group_by,key,name,signals,"));
    assert_eq!(lines.len(), 5, "{text}");
    assert!(
        lines[1].starts_with(
            "category,roofing,,0,1,1,1,1,1,1,0,1,1500,1500,1500,266656667,USD,1,4000,0,4000"
        ),
        "{text}"
    );
    assert!(lines[4].starts_with("total,,,5,"), "{text}");
}

#[test]
fn ratios_round_halves_away_from_zero() {
    assert_eq!(ratio(3, 2), Some(2));
    assert_eq!(ratio(-3, 2), Some(-2));
    assert_eq!(ratio(4700, 3), Some(1567));
    assert_eq!(ratio(1, 3), Some(0));
    assert_eq!(ratio(5, 0), None);
}

#[test]
fn a_range_is_ordered_and_bounded() {
    let d = |y, m, day| chrono::NaiveDate::from_ymd_opt(y, m, day);
    let q = |s, u| Query {
        group_by: GroupBy::Day,
        since: s,
        until: u,
    };
    assert!(q(d(2026, 1, 2), d(2026, 1, 1)).validate().is_err());
    assert!(q(d(2000, 1, 1), d(2026, 1, 1)).validate().is_err());
    assert!(q(d(2026, 1, 1), d(2026, 1, 1)).validate().is_ok());
    assert!(q(None, None).validate().is_ok());
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn the_forecast_reads_the_sources_history_or_the_tenants(pool: PgPool) {
    use super::forecast::{ExpectedRevenue, ForecastBasis, forecast};
    let w = world(&pool).await;
    money(&pool, &w).await;
    // A: 3 signals, 1 lead, 1 confirmed, $40.00 net.
    let f = forecast(&pool, w.tenant, w.source_a, 30, 6_000)
        .await
        .unwrap();
    assert_eq!(f.basis, ForecastBasis::Source);
    assert_eq!(
        (
            f.history_signals,
            f.history_leads,
            f.history_confirmed_leads
        ),
        (3, 1, 1)
    );
    assert_eq!((f.expected_leads, f.expected_confirmed_leads), (10, 10));
    assert_eq!(f.cost_per_lead_micros, Some(600));
    assert_eq!(
        f.expected_revenue,
        [ExpectedRevenue {
            currency: "USD".into(),
            net_cents: 40_000
        }]
    );
    // A new source: the tenant's 5 signals, 3 leads, 2 confirmed, $40.00 net.
    let c = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO sources (id, tenant_id, kind, poll_every_secs) VALUES ($1, $2, 'push', 60)",
    )
    .bind(c)
    .bind(w.tenant)
    .execute(&pool)
    .await
    .unwrap();
    let f = forecast(&pool, w.tenant, c, 10, 600).await.unwrap();
    assert_eq!(f.basis, ForecastBasis::Tenant);
    assert_eq!((f.expected_leads, f.expected_confirmed_leads), (6, 4));
    assert_eq!(f.cost_per_lead_micros, Some(100));
    assert_eq!(
        f.expected_revenue,
        [ExpectedRevenue {
            currency: "USD".into(),
            net_cents: 8_000
        }]
    );
    assert!(f.assumptions.iter().any(|a| a.contains("no lead yet")));
    // A tenant without history: nothing forecast.
    let empty = forecast(&pool, Uuid::now_v7(), c, 10, 600).await.unwrap();
    assert_eq!(
        (
            empty.basis,
            empty.expected_leads,
            empty.cost_per_lead_micros
        ),
        (ForecastBasis::None, 0, None)
    );
}

fn watch_spec(ceiling: Option<i64>, negative_roi: bool) -> watch::WatchSpec {
    watch::WatchSpec {
        window_days: 7,
        max_cost_per_confirmed_lead_micros: ceiling,
        negative_roi,
        min_cost_micros: 0,
    }
}

async fn put_watch(pool: &PgPool, tenant: Uuid, spec: &watch::WatchSpec) -> watch::Watch {
    let mut conn = pool.acquire().await.unwrap();
    watch::put(&mut conn, tenant, spec).await.unwrap()
}

/// The `source.economics` events written, as (source id, condition).
async fn economics_events(pool: &PgPool, tenant: Uuid) -> Vec<(String, String)> {
    sqlx::query!(
        r#"SELECT data->>'source_id' AS "source!", data->>'condition' AS "condition!"
           FROM events WHERE tenant_id = $1 AND type = 'source.economics' ORDER BY id"#,
        tenant
    )
    .fetch_all(pool)
    .await
    .unwrap()
    .into_iter()
    .map(|r| (r.source, r.condition))
    .collect()
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn a_watch_alerts_once_per_breach_and_again_only_after_it_ended(pool: PgPool) {
    let w = world(&pool).await;
    money(&pool, &w).await;
    // A: $0.0015 per confirmed lead and a large ROI. B: $0.0032 per confirmed lead, its one sale
    // returned: ROI −100 %.
    put_watch(&pool, w.tenant, &watch_spec(Some(2_000), true)).await;
    let now = chrono::Utc::now();
    let j = watch::tick(&pool, now, 10).await.unwrap();
    assert_eq!((j.watches, j.began, j.ended), (1, 2, 0));
    let b = w.source_b.to_string();
    assert_eq!(
        economics_events(&pool, w.tenant).await,
        vec![
            (b.clone(), "cost_per_confirmed_lead".to_owned()),
            (b.clone(), "negative_roi".to_owned())
        ]
    );
    let data: serde_json::Value = sqlx::query_scalar!(
        "SELECT data FROM events WHERE tenant_id = $1 AND type = 'source.economics' ORDER BY id LIMIT 1",
        w.tenant
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(data["cost_per_confirmed_lead_micros"], 3_200);
    assert_eq!(data["max_cost_per_confirmed_lead_micros"], 2_000);
    assert_eq!(data["window_days"], 7);
    assert!(
        data["title"].as_str().unwrap().contains("$0.0032"),
        "{data}"
    );

    // Not due again until the recheck; due then, the breaches still hold: nothing new.
    assert_eq!(watch::tick(&pool, now, 10).await.unwrap().watches, 0);
    let later = now + watch::RECHECK;
    assert_eq!(
        watch::tick(&pool, later, 10).await.unwrap(),
        watch::Judged {
            watches: 1,
            began: 0,
            ended: 0
        }
    );
    assert_eq!(economics_events(&pool, w.tenant).await.len(), 2);

    // A higher ceiling ends the cost breach (the ROI one holds); lowering it again alerts anew.
    let watched = put_watch(&pool, w.tenant, &watch_spec(Some(5_000), true)).await;
    assert_eq!(watched.breaches.len(), 2, "kept until judged");
    let j = watch::tick(&pool, later, 10).await.unwrap();
    assert_eq!((j.began, j.ended), (0, 1));
    put_watch(&pool, w.tenant, &watch_spec(Some(3_000), true)).await;
    let j = watch::tick(&pool, later, 10).await.unwrap();
    assert_eq!((j.began, j.ended), (1, 0));
    assert_eq!(economics_events(&pool, w.tenant).await.len(), 3);
    let subjects: std::collections::HashSet<String> = sqlx::query_scalar!(
        "SELECT subject FROM events WHERE tenant_id = $1 AND type = 'source.economics'",
        w.tenant
    )
    .fetch_all(&pool)
    .await
    .unwrap()
    .into_iter()
    .collect();
    assert_eq!(
        subjects.len(),
        3,
        "each breach is its own subject: {subjects:?}"
    );

    // A source that spent less than the floor is not judged: both of B's breaches end.
    let mut floor = watch_spec(Some(1_000), true);
    floor.min_cost_micros = 5_000;
    put_watch(&pool, w.tenant, &floor).await;
    let j = watch::tick(&pool, later, 10).await.unwrap();
    assert_eq!((j.began, j.ended), (0, 2));
    let mut conn = pool.acquire().await.unwrap();
    assert!(watch::delete(&mut conn, w.tenant).await.unwrap());
    assert!(watch::get(&pool, w.tenant).await.unwrap().is_none());
    assert!(!watch::delete(&mut conn, w.tenant).await.unwrap());
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn concurrent_judges_alert_once(pool: PgPool) {
    let w = world(&pool).await;
    money(&pool, &w).await;
    put_watch(&pool, w.tenant, &watch_spec(None, true)).await;
    let now = chrono::Utc::now();
    let ticks = (0..6).map(|_| {
        let pool = pool.clone();
        tokio::spawn(async move { watch::tick(&pool, now, 10).await.unwrap() })
    });
    let mut judged = 0;
    for t in ticks {
        judged += t.await.unwrap().watches;
    }
    assert_eq!(judged, 1, "one judge per due watch");
    assert_eq!(
        economics_events(&pool, w.tenant).await,
        vec![(w.source_b.to_string(), "negative_roi".to_owned())]
    );
}

#[test]
fn a_source_past_the_ceiling_without_a_sale_is_in_breach_and_bad_watches_name_their_field() {
    let spec = watch_spec(Some(1_000), false);
    let unsold = super::Figures {
        cost_micros: 1_001,
        ..Default::default()
    };
    assert_eq!(
        watch::breaches(&spec, &unsold),
        vec![watch::Condition::CostPerConfirmedLead]
    );
    let cheap = super::Figures {
        cost_micros: 999,
        ..Default::default()
    };
    assert!(watch::breaches(&spec, &cheap).is_empty());
    for (bad, field) in [
        (
            watch::WatchSpec {
                window_days: 0,
                ..spec.clone()
            },
            "window_days",
        ),
        (
            watch::WatchSpec {
                window_days: 91,
                ..spec.clone()
            },
            "window_days",
        ),
        (
            watch_spec(Some(0), true),
            "max_cost_per_confirmed_lead_micros",
        ),
        (watch_spec(None, false), "negative_roi"),
        (
            watch::WatchSpec {
                min_cost_micros: -1,
                ..spec.clone()
            },
            "min_cost_micros",
        ),
    ] {
        assert_eq!(bad.validate().unwrap_err().path, field, "{bad:?}");
    }
}
